package snapshot

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/cdc-go/cdc/schema"
)

// State is where a table's snapshot stands.
type State string

// The states, in the order a table goes through them.
const (
	// StatePending: requested, no chunk committed yet.
	StatePending State = "pending"
	// StateRunning: at least one chunk read; the next starts after LastKey.
	StateRunning State = "running"
	// StateDone: an empty chunk was read; the table is complete.
	StateDone State = "done"
	// StateCancelled: stopped on request (cdc snapshot --cancel) before
	// it was done.
	StateCancelled State = "cancelled"
)

func (s State) valid() bool {
	switch s {
	case StatePending, StateRunning, StateDone, StateCancelled:
		return true
	}
	return false
}

// KeyValue is one column of a chunk's last key, in a typed text form that
// does not depend on Go's types or the driver: Text is canonical for Kind
// (see Progress), so that the stored form is stable and the value goes back
// to the database as a parameter of the next chunk's query (on Postgres with
// the column's type as a cast).
type KeyValue struct {
	Column string
	Kind   schema.Kind
	Text   string
}

// Progress is the state of one table's snapshot, stored with the Kafka
// checkpoint and committed in the same Kafka transaction as the chunk's
// rows: a restart resumes after LastKey and re-reads at most the chunk that
// was not committed.
//
// The text form of LastKey values by kind: int and uint as decimal without
// sign "+" or leading zeros; bool as true or false; decimal as the
// database's digits (-12.50, NaN); float as Go's shortest 'g' form; bytes
// as standard base64 with padding; uuid in lower-case 8-4-4-4-12 form;
// every other kind as the database's text (valid UTF-8).
type Progress struct {
	// Table is the table's "namespace.name".
	Table string
	// Snapshot names the snapshot request: "initial", or the id of an
	// on-demand request. A new request for the table replaces the record.
	Snapshot string
	State    State
	// LastKey is the key of the last row of the last committed chunk, in
	// the primary key's order; nil before the first chunk and for OnePass
	// tables.
	LastKey []KeyValue
	// Rows is how many rows were read (emitted or made stale by the
	// stream), Chunks how many chunks were committed.
	Rows, Chunks uint64
	// Estimate is the database's row estimate when the table's snapshot
	// started (pg_class.reltuples, information_schema TABLE_ROWS); 0 when
	// unknown.
	Estimate uint64
	// OnePass is set for a table without a primary key: it is read in one
	// pass, and read again from the start when a restart interrupts it.
	OnePass bool
}

// progressJSON is the stored form; field order is the output order, pinned
// by testdata/progress.golden.
type progressJSON struct {
	Table    string         `json:"table"`
	Snapshot string         `json:"snapshot"`
	State    State          `json:"state"`
	LastKey  []keyValueJSON `json:"last_key,omitempty"`
	Rows     uint64         `json:"rows"`
	Chunks   uint64         `json:"chunks"`
	Estimate uint64         `json:"estimate"`
	OnePass  bool           `json:"one_pass,omitempty"`
}

type keyValueJSON struct {
	Column string `json:"column"`
	Kind   string `json:"kind"`
	Value  string `json:"value"`
}

// MarshalText returns the stored form, one line of JSON:
//
//	{"table":"public.orders","snapshot":"initial","state":"running","last_key":[{"column":"id","kind":"int","value":"2048"}],"rows":2048,"chunks":2,"estimate":100000}
//
// It fails for a record ParseProgress would reject.
func (p Progress) MarshalText() ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("encoding snapshot progress: %w", err)
	}
	j := progressJSON{Table: p.Table, Snapshot: p.Snapshot, State: p.State, Rows: p.Rows, Chunks: p.Chunks, Estimate: p.Estimate, OnePass: p.OnePass}
	for _, k := range p.LastKey {
		j.LastKey = append(j.LastKey, keyValueJSON{Column: k.Column, Kind: k.Kind.String(), Value: k.Text})
	}
	return json.Marshal(j)
}

// ParseProgress parses the form written by MarshalText. Unknown fields are
// ignored (a newer version may add some); a record that could not be
// resumed from is an error, so that a corrupt checkpoint stops the
// connector instead of restarting or skipping a table silently.
func ParseProgress(b []byte) (Progress, error) {
	var j progressJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Progress{}, fmt.Errorf("decoding snapshot progress: %w", err)
	}
	p := Progress{Table: j.Table, Snapshot: j.Snapshot, State: j.State, Rows: j.Rows, Chunks: j.Chunks, Estimate: j.Estimate, OnePass: j.OnePass}
	for _, k := range j.LastKey {
		kind, err := schema.KindFromString(k.Kind)
		if err != nil {
			return Progress{}, fmt.Errorf("decoding snapshot progress of %s: key column %q: %w", j.Table, k.Column, err)
		}
		p.LastKey = append(p.LastKey, KeyValue{Column: k.Column, Kind: kind, Text: k.Value})
	}
	if err := p.validate(); err != nil {
		return Progress{}, fmt.Errorf("decoding snapshot progress: %w", err)
	}
	return p, nil
}

func (p Progress) validate() error {
	switch {
	case p.Table == "" || !utf8.ValidString(p.Table):
		return errors.New("table name empty or not valid UTF-8")
	case p.Snapshot == "" || !utf8.ValidString(p.Snapshot):
		return fmt.Errorf("table %s: snapshot id empty or not valid UTF-8", p.Table)
	case !p.State.valid():
		return fmt.Errorf("table %s: unknown state %q (want pending, running, done or cancelled)", p.Table, p.State)
	case p.State == StatePending && (p.Rows != 0 || p.Chunks != 0 || p.LastKey != nil):
		return fmt.Errorf("table %s: pending with rows, chunks or a last key", p.Table)
	case p.OnePass && p.LastKey != nil:
		return fmt.Errorf("table %s: a one-pass table has no last key", p.Table)
	case !p.OnePass && p.State == StateRunning && p.Chunks > 0 && p.LastKey == nil:
		return fmt.Errorf("table %s: running after %d chunks without a last key", p.Table, p.Chunks)
	case p.Chunks == 0 && p.LastKey != nil:
		return fmt.Errorf("table %s: a last key before the first chunk", p.Table)
	case p.LastKey != nil && len(p.LastKey) == 0:
		return fmt.Errorf("table %s: empty last key", p.Table)
	}
	seen := map[string]bool{}
	for _, k := range p.LastKey {
		if k.Column == "" || !utf8.ValidString(k.Column) || seen[k.Column] {
			return fmt.Errorf("table %s: key column %q empty, not valid UTF-8 or listed twice", p.Table, k.Column)
		}
		seen[k.Column] = true
		if err := canonical(k.Kind, k.Text); err != nil {
			return fmt.Errorf("table %s: key column %q: %w", p.Table, k.Column, err)
		}
	}
	return nil
}

var (
	decimalText = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)
	uuidText    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// canonical reports a text that is not the one form of a value of kind.
func canonical(kind schema.Kind, text string) error {
	bad := func(want string) error { return fmt.Errorf("%s value %q: want %s", kind, text, want) }
	if !utf8.ValidString(text) {
		return bad("valid UTF-8")
	}
	switch kind {
	case schema.KindUnknown:
		return errors.New("key column of unknown kind")
	case schema.KindInt:
		if n, err := strconv.ParseInt(text, 10, 64); err != nil || strconv.FormatInt(n, 10) != text {
			return bad("a decimal integer without leading zeros or +")
		}
	case schema.KindUint:
		if n, err := strconv.ParseUint(text, 10, 64); err != nil || strconv.FormatUint(n, 10) != text {
			return bad("a decimal integer without leading zeros or +")
		}
	case schema.KindBool:
		if text != "true" && text != "false" {
			return bad("true or false")
		}
	case schema.KindDecimal:
		if text != "NaN" && !decimalText.MatchString(text) || text == "-0" {
			return bad("decimal digits (-12.50) or NaN")
		}
	case schema.KindFloat:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || strconv.FormatFloat(f, 'g', -1, 64) != text {
			return bad("the shortest form of a float64")
		}
	case schema.KindBytes:
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil || base64.StdEncoding.EncodeToString(b) != text {
			return bad("standard base64 with padding")
		}
	case schema.KindUUID:
		if !uuidText.MatchString(text) {
			return bad("a lower-case UUID")
		}
	case schema.KindString, schema.KindJSON, schema.KindDate, schema.KindTime, schema.KindTimestamp,
		schema.KindTimestampTZ, schema.KindInterval, schema.KindEnum, schema.KindSet, schema.KindArray, schema.KindBits:
		// The database's text; UTF-8 checked above.
	default:
		// A kind added to package schema needs its text rule here first.
		return fmt.Errorf("key column of kind %s has no stored text form", kind)
	}
	return nil
}
