package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-go/cdc/config"
)

const tailConfig = `name: shop
source:
  type: postgres
  dsn: postgres://cdc:${TAIL_TEST_UNSET_PASSWORD}@127.0.0.1/shop
  tables: [public.orders, public.outbox, public.items]
kafka:
  brokers: ["127.0.0.1:9092"]
  topic_prefix: shop
  transaction_topic: shop-tx
routes:
  - table: public.outbox
    outbox: {topic: "orders.{aggregate_type}.events"}
  - table: public.items
    topic: "catalog.{table}"
`

// tail reads the topics of routes outside the prefix and their dead-letter
// topics, never the checkpoint or history topics, and (without -all) not
// the schema topics; the database password is not needed.
func TestTailSelection(t *testing.T) {
	path := writeFile(t, "shop.yaml", tailConfig)
	if _, err := config.Load(path); err == nil {
		t.Fatal("Load accepted an unset password; the test means nothing")
	}
	cfg, err := config.LoadWithoutSource(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg.Source.DSN, config.UnsetSecret) {
		t.Fatalf("dsn %q", cfg.Source.DSN)
	}
	s := newTailSelection(cfg, false)
	for topic, want := range map[string]bool{
		"shop.public.orders":          true,
		"shop.public.orders.DLT":      true,
		"shop-tx":                     true,
		"orders.Order.events":         true,
		"orders.Order.events.DLT":     true,
		"catalog.items":               true,
		"catalog.items.DLT":           true,
		"_cdc_checkpoints":            false,
		"_cdc_checkpoints.history":    false,
		"shop._schemas":               false,
		"shop.schema-changes":         false,
		"shop._snapshots":             false,
		"shop._signals":               false,
		"shopx.public.orders":         false,
		"other.events":                false,
		"orders.Order.events.archive": false,
	} {
		if got := s.shows(topic); got != want {
			t.Errorf("shows(%q) = %v, want %v (patterns %v)", topic, got, want, s.patterns)
		}
	}
	if !newTailSelection(cfg, true).shows("shop._schemas") {
		t.Error("-all does not show the schema topic")
	}
	if newTailSelection(cfg, true).shows("_cdc_checkpoints") {
		t.Error("-all shows the checkpoint topic")
	}
}

func TestTailFormat(t *testing.T) {
	cfg, err := config.LoadWithoutSource(writeFile(t, "shop.yaml", tailConfig))
	if err != nil {
		t.Fatal(err)
	}
	s := newTailSelection(cfg, false)
	for _, tc := range []struct {
		r                kgo.Record
		offsets, headers bool
		want             string
	}{
		{kgo.Record{Topic: "shop.public.orders", Key: []byte(`{"id":1}`), Value: []byte(`{"op":"c"}`)}, false, false, `shop.public.orders {"id":1} {"op":"c"}`},
		{kgo.Record{Topic: "shop.public.orders", Key: []byte(`{"id":1}`)}, false, false, `shop.public.orders {"id":1} <tombstone>`},
		{kgo.Record{Topic: "shop.public.orders.DLT", Key: []byte(`{"id":1}`), Headers: []kgo.RecordHeader{{Key: "cdc.dlt.reason", Value: []byte("record too large")}}}, false, false,
			`shop.public.orders.DLT {"id":1} <no value: record too large>`},
		{kgo.Record{Topic: "shop.public.orders", Partition: 2, Offset: 7, Key: []byte(`k`), Value: []byte(`v`), Headers: []kgo.RecordHeader{{Key: "cdc.replay", Value: []byte("true")}}}, true, true,
			`shop.public.orders p=2 o=7 k v | cdc.replay=true`},
	} {
		if got := s.format(&tc.r, tc.offsets, tc.headers); got != tc.want {
			t.Errorf("format = %q, want %q", got, tc.want)
		}
	}
	if _, err := tailStart("yesterday"); err == nil {
		t.Error("-from yesterday accepted")
	}
	for _, ok := range []string{"beginning", "end", "2026-12-01T10:00:00Z"} {
		if _, err := tailStart(ok); err != nil {
			t.Errorf("-from %s: %v", ok, err)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
