package snapshot

import (
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

var drvTable = &schema.Table{Namespace: "s", Name: "t", Columns: []schema.Column{{Name: "id", Kind: schema.KindInt, Key: true}}}

type testPos string

func (p testPos) MarshalText() ([]byte, error) { return []byte(p), nil }
func (p testPos) String() string               { return string(p) }

// The driver walks a plan table by table: a chunk advances the table's
// progress, an empty chunk ends it, a skipped table is cancelled, and each
// transaction's commit says how many tables are left.
func TestDriverProgress(t *testing.T) {
	d, err := NewDriver(Plan{ID: "initial", ChunkSize: 2, Tables: []Progress{
		{Table: "s.t", Snapshot: "initial", State: StatePending},
		{Table: "s.u", Snapshot: "initial", State: StatePending},
	}})
	if err != nil {
		t.Fatal(err)
	}
	last := []KeyValue{{Column: "id", Kind: schema.KindInt, Text: "2"}}
	msgs, err := d.Emit(Chunk{ID: d.NextID(), Table: drvTable, Rows: [][]any{{int64(1)}, {int64(2)}}, Read: 2, Last: last, Estimate: 9, Meta: source.MetaOf(map[string]any{"db": "x"})}, testPos("p1"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 || !msgs[0].Begin.Snapshot || msgs[1].Change.Meta.Get("snapshot") != "true" || msgs[3].Commit.Snapshot.Open != 2 {
		t.Fatalf("messages %+v", msgs)
	}
	p, err := ParseProgress(msgs[3].Commit.Snapshot.Progress)
	if err != nil || p.State != StateRunning || p.Rows != 2 || p.Chunks != 1 || p.Estimate != 9 || p.LastKey[0].Text != "2" {
		t.Fatalf("progress %+v, %v", p, err)
	}
	if cur := d.Current(); cur.Table != "s.t" || cur.Rows != 2 {
		t.Fatalf("current %+v", cur)
	}
	msgs, _ = d.Emit(Chunk{ID: d.NextID(), Table: drvTable}, testPos("p2"), time.Now())
	if st := msgs[len(msgs)-1].Commit.Snapshot; st.Open != 1 || !strings.Contains(string(st.Progress), `"state":"done"`) {
		t.Fatalf("empty chunk: %+v", st)
	}
	if d.Current().Table != "s.u" {
		t.Fatalf("next table %+v", d.Current())
	}
	if _, err := d.Emit(Chunk{ID: d.NextID(), Table: drvTable}, testPos("p3"), time.Now()); err == nil {
		t.Fatal("a chunk of another table than the current one was accepted")
	}
	msgs, _ = d.Skip("s.u", testPos("p3"), time.Now(), "no such table")
	if st := msgs[len(msgs)-1].Commit.Snapshot; st.Open != 0 || !strings.Contains(string(st.Progress), `"state":"cancelled"`) || d.Current() != nil {
		t.Fatalf("skip: %+v, current %+v", st, d.Current())
	}
}

// With Parallel, the first Parallel tables are read at once: chunks of
// each advance their own table, in any order, a table done lets the next
// one in, and a chunk of a table not being read is refused.
func TestDriverParallel(t *testing.T) {
	tbl := func(name string) *schema.Table {
		return &schema.Table{Namespace: "s", Name: name, Columns: drvTable.Columns}
	}
	d, err := NewDriver(Plan{ID: "initial", ChunkSize: 2, Parallel: 2, Tables: []Progress{
		{Table: "s.a", Snapshot: "initial", State: StatePending},
		{Table: "s.b", Snapshot: "initial", State: StatePending},
		{Table: "s.c", Snapshot: "initial", State: StatePending},
	}})
	if err != nil {
		t.Fatal(err)
	}
	names := func() string {
		var out []string
		for _, p := range d.Reading() {
			out = append(out, p.Table)
		}
		return strings.Join(out, ",")
	}
	if got := names(); got != "s.a,s.b" {
		t.Fatalf("Reading = %s, want s.a,s.b", got)
	}
	if _, err := d.Emit(Chunk{ID: d.NextID(), Table: tbl("c")}, testPos("p0"), time.Now()); err == nil {
		t.Fatal("a chunk of s.c, not being read yet, was accepted")
	}
	last := []KeyValue{{Column: "id", Kind: schema.KindInt, Text: "1"}}
	if _, err := d.Emit(Chunk{ID: d.NextID(), Table: tbl("b"), Rows: [][]any{{int64(1)}}, Read: 1, Last: last}, testPos("p1"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := d.Reading(); r[1].Table != "s.b" || r[1].Rows != 1 || r[0].Rows != 0 {
		t.Fatalf("after a chunk of s.b: %+v %+v", *r[0], *r[1])
	}
	msgs, err := d.Emit(Chunk{ID: d.NextID(), Table: tbl("a")}, testPos("p2"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st := msgs[len(msgs)-1].Commit.Snapshot; st.Open != 2 || st.Table != "s.a" {
		t.Fatalf("s.a done: %+v", st)
	}
	if got := names(); got != "s.b,s.c" {
		t.Fatalf("Reading after s.a is done = %s, want s.b,s.c", got)
	}
	if d.Reading()[0].Rows != 1 {
		t.Fatalf("s.b lost its progress: %+v", *d.Reading()[0])
	}
	if _, err := d.Skip("s.c", testPos("p3"), time.Now(), "gone"); err != nil {
		t.Fatal(err)
	}
	if got := names(); got != "s.b" {
		t.Fatalf("Reading after s.c is skipped = %s, want s.b", got)
	}
}

// A one-pass part has no last key; BeginPass starts a cut pass over.
func TestDriverOnePass(t *testing.T) {
	d, _ := NewDriver(Plan{ID: "initial", ChunkSize: 2, Tables: []Progress{{Table: "s.t", Snapshot: "initial", State: StateRunning, Rows: 4, Chunks: 2, OnePass: true}}})
	if n := d.BeginPass(); n != 4 {
		t.Fatalf("BeginPass of a cut pass = %d, want its 4 rows", n)
	}
	if cur := d.Current(); cur.State != StatePending || cur.Rows != 0 {
		t.Fatalf("after BeginPass: %+v", cur)
	}
	if n := d.BeginPass(); n != 0 {
		t.Fatalf("BeginPass of a new pass = %d, want 0", n)
	}
	msgs, err := d.Emit(Chunk{ID: d.NextID(), Table: drvTable, Rows: [][]any{{nil}}, Read: 1, OnePass: true}, testPos("p"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ParseProgress(msgs[len(msgs)-1].Commit.Snapshot.Progress)
	if !p.OnePass || p.Rows != 1 || p.LastKey != nil || p.State != StateRunning {
		t.Fatalf("progress %+v", p)
	}
	if got := Select([]string{"a.x", "a.y", "b.x"}, []string{"a.*", "b.x"}); strings.Join(got, ",") != "a.x,a.y,b.x" {
		t.Fatalf("Select: %v", got)
	}
}
