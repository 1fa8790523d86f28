package main

import (
	"context"
	"testing"
)

// recordingWriter keeps what a workload writes, as statements.
type recordingWriter struct {
	stmts []string // "c", "u" or "d" per statement
	rows  int
}

func (w *recordingWriter) Insert(_ context.Context, rows []row) error {
	w.stmts, w.rows = append(w.stmts, "c"), w.rows+len(rows)
	return nil
}

func (w *recordingWriter) Update(_ context.Context, rows []row) error {
	w.stmts, w.rows = append(w.stmts, "u"), w.rows+len(rows)
	return nil
}

func (w *recordingWriter) Delete(_ context.Context, ids []int64) error {
	w.stmts, w.rows = append(w.stmts, "d"), w.rows+len(ids)
	return nil
}

func (w *recordingWriter) Close() error { return nil }

// TestMixedChangesAreConsistent pins the mixed workload's generator: about
// 60/30/10 inserts/updates/deletes, an update or delete only of a present
// key, each delete naming the seq of the key's current row, and a
// checker that reads exactly the expected changes finds nothing wrong.
func TestMixedChangesAreConsistent(t *testing.T) {
	b := backlog{Rows: 20000, TxRows: 10, Mixed: true, Keys: 10000}
	tr := &tracker{}
	r := &runCtx{tr: tr, progress: func(string, ...any) {}}
	w := &recordingWriter{}
	if err := b.writeMixed(context.Background(), r, w); err != nil {
		t.Fatal(err)
	}
	exp := tr.chk.expected
	if int64(len(exp)) != b.Rows || int64(w.rows) != b.Rows {
		t.Fatalf("%d changes expected, %d rows written; want %d", len(exp), w.rows, b.Rows)
	}
	count := map[byte]int{}
	cur := map[int64]int64{}
	for i, c := range exp {
		count[c.Op]++
		seq, present := cur[c.Key]
		switch c.Op {
		case 'c':
			if present {
				t.Fatalf("change %d: insert of present key %d", i, c.Key)
			}
			cur[c.Key] = c.Seq
		case 'u':
			if !present || c.Seq <= seq {
				t.Fatalf("change %d: update of key %d (present %v, seq %d after %d)", i, c.Key, present, c.Seq, seq)
			}
			cur[c.Key] = c.Seq
		case 'd':
			if !present || c.Seq != seq {
				t.Fatalf("change %d: delete of key %d names seq %d, the row has %d (present %v)", i, c.Key, c.Seq, seq, present)
			}
			delete(cur, c.Key)
		}
		if c.Key < 1 || c.Key > b.Keys {
			t.Fatalf("change %d: key %d outside 1..%d", i, c.Key, b.Keys)
		}
	}
	for op, want := range map[byte]float64{'c': 0.6, 'u': 0.3, 'd': 0.1} {
		if got := float64(count[op]) / float64(b.Rows); got < want-0.05 || got > want+0.05 {
			t.Errorf("op %c: %.2f of the changes, want about %.2f", op, got, want)
		}
	}
	for _, c := range exp {
		tr.chk.Observe(c)
	}
	if res := tr.chk.Result(); !res.OK(true) {
		t.Errorf("the expected changes read back once, in order: %v", res.Problems(true))
	}
}
