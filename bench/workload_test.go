package main

import (
	"context"
	"strings"
	"testing"
)

// recordingWriter keeps what a workload writes, as statements.
type recordingWriter struct {
	stmts []string // "c", "u" or "d" per statement
	rows  int
	txs   [][]string // Tx's statements, as SQL
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

func (w *recordingWriter) Tx(_ context.Context, stmts []string) error {
	w.txs = append(w.txs, append([]string(nil), stmts...))
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

// TestWideBacklogSpreadsOverTables pins the wide workload's writer: rows go
// round-robin over the tables, a transaction has one statement per table
// it touches, keys count per table, rows are about 4 KiB, and the
// expected changes carry their table in the key.
func TestWideBacklogSpreadsOverTables(t *testing.T) {
	b := backlog{Rows: 250, TxRows: 20, Tables: 7}
	tr := &tracker{}
	r := &runCtx{ns: "ns", tables: append([]string{"t"}, wideTableNames(b.Tables)...), tr: tr, progress: func(string, ...any) {}}
	w := &recordingWriter{}
	bytes, err := b.writeWide(context.Background(), r, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.txs) != 13 { // 250 rows in transactions of 20
		t.Errorf("%d transactions, want 13", len(w.txs))
	}
	for i, tx := range w.txs {
		if want := min(7, 20); i < 12 && len(tx) != want {
			t.Errorf("transaction %d: %d statements, want %d (one per table)", i, len(tx), want)
		}
		for _, q := range tx {
			if !strings.HasPrefix(q, "INSERT INTO ns.t0") {
				t.Fatalf("statement %.40q, want an insert into a wide table", q)
			}
		}
	}
	if per := float64(bytes) / float64(b.Rows); per < 3900 || per > 4300 {
		t.Errorf("%.0f source bytes a row, want about 4 KiB", per)
	}
	exp := tr.chk.expected
	if int64(len(exp)) != b.Rows {
		t.Fatalf("%d changes expected, want %d", len(exp), b.Rows)
	}
	perTable := map[int]int64{}
	for i, c := range exp {
		table, id := int(c.Key>>40), c.Key&(1<<40-1)
		if want := i%b.Tables + 1; table != want {
			t.Fatalf("change %d in table index %d, want %d (round-robin, t is 0)", i, table, want)
		}
		perTable[table]++
		if id != perTable[table] {
			t.Fatalf("change %d: id %d in its table, want %d", i, id, perTable[table])
		}
	}
	// The same id in another table is another key: read under the wrong
	// table's topic, a change is unexpected.
	for _, c := range exp[:len(exp)-1] {
		tr.chk.Observe(c)
	}
	last := exp[len(exp)-1]
	tr.chk.Observe(change{Key: tableKey(1, last.Key&(1<<40-1)), Seq: last.Seq, Op: 'c'})
	if res := tr.chk.Result(); res.Unexpected != 1 || res.OK(false) {
		t.Errorf("a change read from another table: %+v, want 1 unexpected, not ok", res)
	}
}
