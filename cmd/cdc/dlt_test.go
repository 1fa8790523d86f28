package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/pipeline"
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// A row dead-lettered because a value did not convert holds the source's
// raw form of that value (base64 bytes in a text column, say): replay must
// refuse it rather than publish the raw form as the value. A row the routes
// rejected is replayed.
func TestReplayRefusesConversionDeadLetters(t *testing.T) {
	cfg, err := config.Parse("shop.yaml", []byte(routedConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	router, fallback, err := newRouter(cfg, "postgresql", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tbl := &schema.Table{Namespace: "public", Name: "customers", Columns: []schema.Column{
		{Name: "id", Kind: schema.KindInt, Key: true}, {Name: "name", Kind: schema.KindString}}}
	recs, err := fallback.Route(&source.Change{Op: source.OpCreate, Table: tbl, After: []any{int64(1), "QYE="}})
	if err != nil || len(recs) != 1 {
		t.Fatalf("encoding the dead-lettered row: %v, %v", recs, err)
	}
	r := &replayer{cfg: cfg, router: router}
	dead := func(kind pipeline.DeadLetterKind) *kgo.Record {
		return &kgo.Record{Topic: "shop.public.customers.DLT", Key: recs[0].Key, Value: recs[0].Value, Headers: []kgo.RecordHeader{
			{Key: "cdc.dlt.kind", Value: []byte(kind)},
			{Key: "cdc.dlt.reason", Value: []byte(`column "name": byte 0x81 at offset 1 has no character in cp1250`)},
			{Key: "cdc.dlt.position", Value: []byte("0/16B3748")},
		}}
	}
	if out, err := r.replay(dead(pipeline.DeadLetterConversion)); err == nil || !strings.Contains(err.Error(), "not replayable") || !strings.Contains(err.Error(), "0x81") {
		t.Errorf("conversion dead letter: %d records, %v; want it refused with the reason", len(out), err)
	}
	out, err := r.replay(dead(pipeline.DeadLetterRouting))
	if err != nil || len(out) != 1 || out[0].Topic != "shop.public.customers" {
		t.Fatalf("routing dead letter: %v, %v; want it replayed to its table topic", out, err)
	}
}
