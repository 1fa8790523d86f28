package snapshot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxChunkID bounds a chunk id, so that a mark fits the MySQL signal
// table's VARCHAR(255) column with room to spare.
const maxChunkID = 200

// NewChunkID returns the id of chunk n of a run: "<run>-<n>". run is the
// process's random nonce (for example 16 hex digits), fixed for its
// lifetime, so that marks replayed from an earlier run never match a window
// of this one.
func NewChunkID(run string, n uint64) (ChunkID, error) {
	id := ChunkID(run + "-" + strconv.FormatUint(n, 10))
	if err := id.validate(); err != nil {
		return "", err
	}
	if run == "" || strings.Contains(run, "-") {
		return "", fmt.Errorf("chunk id: run %q is empty or contains '-'", run)
	}
	return id, nil
}

// Run returns the run part of an id made by NewChunkID ("" for another
// form): the reader skips marks of other runs, and fails on marks of its own
// run that match no window.
func (c ChunkID) Run() string {
	run, n, ok := strings.Cut(string(c), "-")
	if !ok || run == "" {
		return ""
	}
	if _, err := strconv.ParseUint(n, 10, 64); err != nil {
		return ""
	}
	return run
}

func (c ChunkID) String() string { return string(c) }

// validate accepts 1 to maxChunkID bytes of letters, digits and . _ : / -.
func (c ChunkID) validate() error {
	if len(c) == 0 || len(c) > maxChunkID {
		return fmt.Errorf("chunk id of %d bytes, want 1 to %d", len(c), maxChunkID)
	}
	for _, r := range c {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("._:/-", r):
		default:
			return fmt.Errorf("chunk id %q: want letters, digits and . _ : / - only", string(c))
		}
	}
	return nil
}

// Mark is a watermark as cdc writes it into the log: the content of a
// Postgres logical message (prefix "cdc:<connector>") or the mark of a
// signal-table row. Its one text form is "<kind> <chunk id>":
//
//	low 9f86d081884c7d65-12
//	high 9f86d081884c7d65-12
type Mark struct {
	Kind  MarkKind
	Chunk ChunkID
}

// MarshalText implements encoding.TextMarshaler; it fails for a mark
// ParseMark would reject.
func (m Mark) MarshalText() ([]byte, error) {
	if m.Kind != Low && m.Kind != High {
		return nil, fmt.Errorf("encoding watermark: kind %v", m.Kind)
	}
	if err := m.Chunk.validate(); err != nil {
		return nil, fmt.Errorf("encoding watermark: %w", err)
	}
	return []byte(m.Kind.String() + " " + string(m.Chunk)), nil
}

// ParseMark parses the form MarshalText writes, exactly: a message with
// another content under cdc's prefix is an error, which the reader reports
// (someone else writes under the prefix) instead of guessing.
func ParseMark(b []byte) (Mark, error) {
	kind, id, ok := strings.Cut(string(b), " ")
	if !ok {
		return Mark{}, fmt.Errorf("parsing watermark %q: want \"low <chunk id>\" or \"high <chunk id>\"", b)
	}
	var m Mark
	switch kind {
	case "low":
		m.Kind = Low
	case "high":
		m.Kind = High
	default:
		return Mark{}, fmt.Errorf("parsing watermark %q: %w", b, errors.New("kind is not low or high"))
	}
	m.Chunk = ChunkID(id)
	if err := m.Chunk.validate(); err != nil {
		return Mark{}, fmt.Errorf("parsing watermark %q: %w", b, err)
	}
	return m, nil
}
