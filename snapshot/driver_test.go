package snapshot

import (
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/schema"
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
	msgs, err := d.Emit(Chunk{ID: d.NextID(), Table: drvTable, Rows: [][]any{{int64(1)}, {int64(2)}}, Read: 2, Last: last, Estimate: 9, Meta: map[string]any{"db": "x"}}, testPos("p1"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 || !msgs[0].Begin.Snapshot || msgs[1].Change.Meta["snapshot"] != "true" || msgs[3].Commit.Snapshot.Open != 2 {
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
	msgs, _ = d.Skip(testPos("p3"), time.Now(), "no such table")
	if st := msgs[len(msgs)-1].Commit.Snapshot; st.Open != 0 || !strings.Contains(string(st.Progress), `"state":"cancelled"`) || d.Current() != nil {
		t.Fatalf("skip: %+v, current %+v", st, d.Current())
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
