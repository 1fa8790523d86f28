package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// The wire form of pgoutput tuples and row messages, for the tests.
func text(s string) tupleCol { return tupleCol{kind: 't', data: []byte(s)} }

var (
	null  = tupleCol{kind: 'n'}
	toast = tupleCol{kind: 'u'}
)

func appendTuple(b []byte, cols []tupleCol) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(cols)))
	for _, c := range cols {
		b = append(b, c.kind)
		if c.kind == 't' || c.kind == 'b' {
			b = binary.BigEndian.AppendUint32(b, uint32(len(c.data)))
			b = append(b, c.data...)
		}
	}
	return b
}

// rowMessage encodes an Insert, Update or Delete: oldKind 'K' or 'O' with
// old, or 0 for none; newCols nil for a delete.
func rowMessage(kind byte, rel uint32, oldKind byte, old, newCols []tupleCol) []byte {
	b := binary.BigEndian.AppendUint32([]byte{kind}, rel)
	if oldKind != 0 {
		b = appendTuple(append(b, oldKind), old)
	}
	if kind != 'D' {
		b = appendTuple(append(b, 'N'), newCols)
	}
	return b
}

// An update's unchanged TOAST column ('u') inherits the old value only from
// a full old row; a key-only old row's NULLs are not its value.
func TestUpdateUnchangedToast(t *testing.T) {
	cases := []struct {
		name      string
		oldKind   byte
		old       []tupleCol
		newTuple  []tupleCol
		wantAfter []any
	}{
		{"no old row (DEFAULT, key unchanged)", 0, nil, []tupleCol{text("1"), toast}, []any{int64(1), schema.Unavailable{}}},
		{"key-only old row (DEFAULT, key changed)", 'K', []tupleCol{text("1"), null}, []tupleCol{text("2"), toast}, []any{int64(2), schema.Unavailable{}}},
		{"full old row (FULL)", 'O', []tupleCol{text("1"), text("big")}, []tupleCol{text("2"), toast}, []any{int64(2), "big"}},
		{"full old row holding NULL", 'O', []tupleCol{text("1"), null}, []tupleCol{text("1"), toast}, []any{int64(1), nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, out := testReader()
			if err := r.handleRow(context.Background(), 1, rowMessage('U', 7, c.oldKind, c.old, c.newTuple)); err != nil {
				t.Fatal(err)
			}
			if b := (<-out).Begin; b == nil {
				t.Fatal("first message is not the transaction's begin")
			}
			ch := (<-out).Change
			if !reflect.DeepEqual(ch.After, c.wantAfter) {
				t.Errorf("after = %#v, want %#v", ch.After, c.wantAfter)
			}
			if (ch.Before != nil) != (c.oldKind != 0) {
				t.Errorf("before = %#v with old row kind %q", ch.Before, c.oldKind)
			}
		})
	}
}

func testReader() (*reader, chan source.Message) {
	tbl := &schema.Table{Namespace: "s", Name: "t", Columns: []schema.Column{
		{Name: "id", TypeID: oidInt4, Kind: kindOf(oidInt4), Key: true},
		{Name: "big", TypeID: oidText, Kind: kindOf(oidText), Nullable: true},
	}}
	out := make(chan source.Message, 4)
	return &reader{src: &Source{cfg: Config{StatusInterval: time.Second}}, out: out, rel: map[uint32]*schema.Table{7: tbl}}, out
}

// The row messages parsed in place read what pglogrepl's parser reads.
func TestParseRowMatchesPglogrepl(t *testing.T) {
	bin := tupleCol{kind: 'b', data: []byte{0, 1, 2}}
	long := text(string(bytes.Repeat([]byte("x"), 70000)))
	msgs := [][]byte{
		rowMessage('I', 7, 0, nil, []tupleCol{text("1"), text("")}),
		rowMessage('I', 9, 0, nil, []tupleCol{text("1"), null, toast, bin, long}),
		rowMessage('U', 7, 0, nil, []tupleCol{text("1"), toast}),
		rowMessage('U', 7, 'K', []tupleCol{text("1"), null}, []tupleCol{text("2"), text("b")}),
		rowMessage('U', 7, 'O', []tupleCol{text("1"), text("a")}, []tupleCol{text("1"), text("b")}),
		rowMessage('D', 7, 'K', []tupleCol{text("1"), null}, nil),
		rowMessage('D', 7, 'O', []tupleCol{text("1"), long}, nil),
	}
	same := func(t *testing.T, theirs *pglogrepl.TupleData, ours []tupleCol) {
		t.Helper()
		if theirs == nil {
			t.Fatalf("pglogrepl found no tuple where ours has %d columns", len(ours))
		}
		if len(theirs.Columns) != len(ours) {
			t.Fatalf("%d columns, pglogrepl %d", len(ours), len(theirs.Columns))
		}
		for i, c := range theirs.Columns {
			if c.DataType != ours[i].kind || !bytes.Equal(c.Data, ours[i].data) {
				t.Errorf("column %d: kind %q data %d bytes, pglogrepl %q %d bytes", i, ours[i].kind, len(ours[i].data), c.DataType, len(c.Data))
			}
		}
	}
	for _, m := range msgs {
		t.Run(string(m[:1]), func(t *testing.T) {
			theirs, err := pglogrepl.Parse(m)
			if err != nil {
				t.Fatal(err)
			}
			rest := m[5:]
			var old []tupleCol
			if m[0] != 'I' && (rest[0] == 'K' || rest[0] == 'O') {
				if old, rest, err = parseTuple(rest[1:], nil); err != nil {
					t.Fatal(err)
				}
			}
			var newCols []tupleCol
			if m[0] != 'D' {
				if rest[0] != 'N' {
					t.Fatalf("no new tuple marker: %q", rest[0])
				}
				if newCols, rest, err = parseTuple(rest[1:], nil); err != nil {
					t.Fatal(err)
				}
			}
			if len(rest) != 0 {
				t.Errorf("%d bytes left over", len(rest))
			}
			switch tm := theirs.(type) {
			case *pglogrepl.InsertMessage:
				same(t, tm.Tuple, newCols)
			case *pglogrepl.UpdateMessage:
				if tm.OldTuple != nil || old != nil {
					same(t, tm.OldTuple, old)
				}
				same(t, tm.NewTuple, newCols)
			case *pglogrepl.DeleteMessage:
				same(t, tm.OldTuple, old)
			default:
				t.Fatalf("pglogrepl parsed %T", theirs)
			}
		})
	}
}

// A truncated or malformed row message is an error, never a panic or a
// row made up from what is there.
func TestHandleRowMalformed(t *testing.T) {
	full := rowMessage('U', 7, 'O', []tupleCol{text("1"), text("abc")}, []tupleCol{text("1"), text("def")})
	for n := 1; n < len(full); n++ {
		r, out := testReader()
		if err := r.handleRow(context.Background(), 1, full[:n]); err == nil {
			t.Errorf("%d of %d bytes: no error (%d messages sent)", n, len(full), len(out))
		}
	}
	r, _ := testReader()
	bad := rowMessage('I', 7, 0, nil, []tupleCol{text("1"), {kind: 'x'}})
	if err := r.handleRow(context.Background(), 1, bad); err == nil {
		t.Error("unknown column kind: no error")
	}
	if err := r.handleRow(context.Background(), 1, rowMessage('D', 7, 0, nil, nil)); err == nil {
		t.Error("delete without an old row: no error")
	}
	// A relation that is not captured is skipped before its tuples are
	// read.
	r.skip = map[uint32]bool{8: true}
	if err := r.handleRow(context.Background(), 1, rowMessage('I', 8, 0, nil, []tupleCol{{kind: 'x'}})); err != nil {
		t.Errorf("skipped relation: %v", err)
	}
}

func FuzzParseTuple(f *testing.F) {
	f.Add(appendTuple(nil, []tupleCol{text("1"), null, toast, {kind: 'b', data: []byte{1}}}))
	f.Add([]byte{0xff, 0xff, 't', 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		cols, rest, err := parseTuple(b, nil)
		if err != nil {
			return
		}
		if got := appendTuple(nil, cols); !bytes.Equal(got, b[:len(b)-len(rest)]) {
			t.Fatalf("re-encoded %x, parsed from %x", got, b[:len(b)-len(rest)])
		}
	})
}
