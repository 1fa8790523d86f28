package pipeline

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/transform"
)

// records is a sink that keeps every committed record.
type records struct {
	journal
	mu   sync.Mutex
	kept []transform.Record
}

func (r *records) Write(ctx context.Context, rec transform.Record) error {
	r.mu.Lock()
	r.kept = append(r.kept, rec)
	r.mu.Unlock()
	return r.journal.Write(ctx, rec)
}

func (r *records) all() []transform.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]transform.Record(nil), r.kept...)
}

// A truncate whose table comes without columns (a MySQL TRUNCATE of a table
// the source has not read rows of) gets the table's latest schema version
// and its shape; it never records a new, empty version.
func TestShapelessTruncateTakesLatestVersion(t *testing.T) {
	truncate := func(id int, table *schema.Table) []source.Message {
		return []source.Message{
			{Begin: &source.Begin{TxID: "t"}},
			{Change: &source.Change{Op: source.OpTruncate, Table: table, Tx: source.Tx{ID: "t", Order: 1}}},
			{Commit: &source.Commit{TxID: "t", Pos: pos(id)}},
		}
	}
	src := &script{msgs: concat(tx(1, 10),
		truncate(2, &schema.Table{Namespace: "s", Name: "t"}),
		truncate(3, &schema.Table{Namespace: "s", Name: "never_seen"}))}
	sink := &records{}
	opt := Options{Linger: time.Hour, MinLinger: time.Hour, MaxEvents: 1, Schemas: &Schemas{History: schema.NewHistory(), Topic: "x._schemas"}}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, src, sink, tables(), nil, opt) }()
	for deadline := time.Now().Add(5 * time.Second); len(src.ackedPositions()) < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nothing committed")
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	var versions, truncates int
	for _, r := range sink.all() {
		version := ""
		for _, h := range r.Headers {
			if h.Key == "cdc.schema.version" {
				version = string(h.Value)
			}
		}
		switch {
		case r.Topic == "x._schemas":
			versions++
		case r.Topic == "x.s.t" && strings.Contains(string(r.Value), `"op":"t"`):
			truncates++
			if version != "1" {
				t.Errorf("truncate of s.t carries schema version %q, want 1", version)
			}
		case r.Topic == "x.s.never_seen":
			truncates++
			if version != "" {
				t.Errorf("truncate of a table without versions carries version %q", version)
			}
		}
	}
	if versions != 1 || truncates != 2 {
		t.Errorf("%d schema versions (want 1), %d truncates (want 2)", versions, truncates)
	}
}
