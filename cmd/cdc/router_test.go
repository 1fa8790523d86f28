package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/transform"
)

const routedConfig = `name: shop
source:
  type: postgres
  dsn: postgres://cdc@127.0.0.1/shop
  tables: ["public.*"]
kafka:
  brokers: [127.0.0.1:9092]
routes:
  - table: public.outbox_event
    outbox: {}
`

// Pins that a loaded config builds its router, that the router routes an
// outbox row, and that ignored outbox updates are logged.
func TestNewRouterFromConfig(t *testing.T) {
	cfg, err := config.Parse("shop.yaml", []byte(routedConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	router, fallback, err := newRouter(cfg, "postgresql", slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tbl := &schema.Table{Namespace: "public", Name: "outbox_event", Columns: []schema.Column{
		{Name: "id", Key: true}, {Name: "aggregate_type"}, {Name: "aggregate_id"}, {Name: "event_type"}, {Name: "payload", Kind: schema.KindJSON}}}
	row := []any{"e1", "order", "42", "OrderCreated", []byte(`{"a":1}`)}
	recs, err := router.Route(&source.Change{Op: source.OpCreate, Table: tbl, After: row})
	if err != nil || len(recs) != 1 || recs[0].Topic != "order.events" || string(recs[0].Key) != "42" {
		t.Fatalf("route: %+v, %v", recs, err)
	}
	if fallback.Prefix != "shop" || !fallback.Tombstones || fallback.Envelope.Connector != "postgresql" {
		t.Errorf("fallback %+v", fallback)
	}
	if _, err := router.Route(&source.Change{Op: source.OpUpdate, Table: tbl, After: row}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "outbox row updated") || !strings.Contains(logged.String(), "route=routes[0]") {
		t.Errorf("log: %s", logged.String())
	}
}

func TestNoticeLoggerRateLimits(t *testing.T) {
	var logged bytes.Buffer
	notify := noticeLogger(slog.New(slog.NewTextHandler(&logged, nil)), time.Hour)
	gap := transform.Notice{Kind: transform.NoticeVersionAnomaly, Route: "routes[0]", Anomaly: transform.AnomalyGap, Version: 3, Last: 1}
	for range 5 {
		notify(gap)
	}
	notify(transform.Notice{Kind: transform.NoticeUpdateIgnored, Route: "routes[0]"})
	if n := strings.Count(logged.String(), "\n"); n != 2 {
		t.Errorf("%d lines logged, want one per kind and route:\n%s", n, logged.String())
	}
	if !strings.Contains(logged.String(), "anomaly=gap version=3 last_version=1") {
		t.Errorf("log: %s", logged.String())
	}
}
