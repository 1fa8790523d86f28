package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// Row messages (Insert, Update, Delete) are the stream's bulk, so they are
// parsed here rather than by pglogrepl, which allocates a struct and a copy
// of the data for every column of every tuple: a tuple's columns alias the
// WAL message instead, in a slice the reader reuses. The next receive
// overwrites the message, so every column is decoded before that, and
// decodeText copies what it keeps.

// tupleCol is one column of a tuple: its kind ('n' null, 'u' unchanged
// TOAST, 't' text, 'b' binary) and, for 't' and 'b', its data.
type tupleCol struct {
	kind byte
	data []byte
}

var errShortRow = errors.New("message ends early")

// parseTuple parses the TupleData at the start of src into cols (reused)
// and returns them and the rest of src.
func parseTuple(src []byte, cols []tupleCol) ([]tupleCol, []byte, error) {
	if len(src) < 2 {
		return cols, nil, errShortRow
	}
	n := int(binary.BigEndian.Uint16(src))
	src = src[2:]
	cols = cols[:0]
	for range n {
		if len(src) < 1 {
			return cols, nil, errShortRow
		}
		kind := src[0]
		src = src[1:]
		switch kind {
		case 'n', 'u':
			cols = append(cols, tupleCol{kind: kind})
		case 't', 'b':
			if len(src) < 4 {
				return cols, nil, errShortRow
			}
			l := uint64(binary.BigEndian.Uint32(src))
			src = src[4:]
			if l > uint64(len(src)) {
				return cols, nil, errShortRow
			}
			cols = append(cols, tupleCol{kind: kind, data: src[:l:l]})
			src = src[l:]
		default:
			return cols, nil, fmt.Errorf("unknown tuple column kind %q", kind)
		}
	}
	return cols, src, nil
}

// handleRow decodes and sends a pgoutput Insert ('I'), Update ('U') or
// Delete ('D') message: its type byte, the relation id, then tuples, each
// after a byte that says which: 'N' the new row, 'K' the old key, 'O' the
// whole old row (REPLICA IDENTITY FULL).
func (r *reader) handleRow(ctx context.Context, at LSN, data []byte) error {
	if len(data) < 6 {
		return fmt.Errorf("parsing pgoutput message %q at %s: %w", data[0], at, errShortRow)
	}
	t, err := r.table(binary.BigEndian.Uint32(data[1:5]))
	if err != nil || t == nil {
		return err
	}
	kind, rest := data[0], data[5:]
	malformed := func(err error) error {
		return fmt.Errorf("parsing pgoutput message %q at %s: %w", kind, at, err)
	}
	// before is the old row as sent (key-only or whole); full is it when
	// whole. A key-only old row (a key change under DEFAULT or USING
	// INDEX) has NULL in every other column: those NULLs are not the
	// values of the unchanged TOAST columns.
	var before, full []any
	if kind != 'I' && len(rest) > 0 && (rest[0] == 'K' || rest[0] == 'O') {
		var cols []tupleCol
		cols, rest, err = parseTuple(rest[1:], r.oldCols)
		r.oldCols = cols
		if err != nil {
			return malformed(err)
		}
		if before, err = r.tuple(t, cols, nil); err != nil {
			return err
		}
		if data[5] == 'O' {
			full = before
		}
	}
	if kind == 'D' {
		if before == nil {
			return malformed(errors.New("no old row"))
		}
		return r.change(ctx, at, source.OpDelete, t, before, nil)
	}
	if len(rest) == 0 || rest[0] != 'N' {
		return malformed(errors.New("no new row"))
	}
	cols, _, err := parseTuple(rest[1:], r.newCols)
	r.newCols = cols
	if err != nil {
		return malformed(err)
	}
	after, err := r.tuple(t, cols, full)
	if err != nil {
		return err
	}
	if kind == 'I' {
		return r.change(ctx, at, source.OpCreate, t, nil, after)
	}
	return r.change(ctx, at, source.OpUpdate, t, before, after)
}

// tuple decodes a tuple. An unchanged TOAST value is taken from old, the
// full old row (nil unless REPLICA IDENTITY FULL), and is otherwise
// schema.Unavailable: never a fake NULL.
func (r *reader) tuple(t *schema.Table, cols []tupleCol, old []any) ([]any, error) {
	if len(cols) != len(t.Columns) {
		return nil, fmt.Errorf("table %s: tuple has %d columns, relation has %d", t.ID(), len(cols), len(t.Columns))
	}
	row := make([]any, len(cols))
	for i, c := range cols {
		switch c.kind {
		case 'n':
			row[i] = nil
		case 'u':
			row[i] = schema.Unavailable{}
			if old != nil {
				if _, missing := old[i].(schema.Unavailable); !missing {
					row[i] = old[i]
				}
			}
		case 't':
			v, err := decodeText(&t.Columns[i], c.data)
			if err != nil {
				// Keep the raw text; the change goes to the dead-letter topic.
				r.convErr = errors.Join(r.convErr, err)
				v = string(c.data)
			}
			row[i] = v
		default:
			return nil, fmt.Errorf("table %s: column %q has tuple data type %q", t.ID(), t.Columns[i].Name, c.kind)
		}
	}
	return row, nil
}
