//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// pgConfig returns a connector config capturing every table of schema name.
func pgConfig(name string, extra string) string {
	return fmt.Sprintf(`name: %[1]s
source:
  type: postgres
  dsn: ${CDC_PG_DSN}
  slot: %[1]s
  publication: %[1]s
  tables: ["%[1]s.*"]
  status_interval: 1s
kafka:
  brokers: ["${CDC_KAFKA_BROKERS}"]
  topic_prefix: %[1]s
  checkpoint_topic: _cdc_checkpoints_e2e
  partitions: 3
%[2]s`, name, extra)
}

// pgStartCDC writes pgConfig(name, extra), starts cdc on it and waits
// until it streams.
func pgStartCDC(t *testing.T, name, extra string) (*proc, string) {
	t.Helper()
	cfg := writeConfig(t, pgConfig(name, extra))
	p := startCDC(t, cfg)
	waitStreaming(t, p)
	return p, cfg
}

// waitStreaming waits until the connector logs that replication started
// and, when it started a snapshot, that the snapshot is done: tests that do
// not look at snapshots then see only streamed changes of the rows they
// write.
func waitStreaming(t *testing.T, p *proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		log := p.Log()
		if strings.Contains(log, "replication started") &&
			(!strings.Contains(log, "snapshot of existing rows starts") || strings.Contains(log, "snapshot done")) {
			return
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("connector did not start streaming; log:\n%s", p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// byKey groups the events of one topic by key, keeping log order per key.
func byKey(es []event, topic string) map[string][]event {
	m := map[string][]event{}
	for _, e := range es {
		if e.Topic == topic {
			m[e.Key] = append(m[e.Key], e)
		}
	}
	return m
}

// summary renders a key's events compactly: "c", "u", "d", "tombstone".
func summary(t *testing.T, es []event) []string {
	var out []string
	for _, e := range es {
		if e.Value == nil {
			out = append(out, "tombstone")
			continue
		}
		out = append(out, e.env(t).Op)
	}
	return out
}

func TestPostgresRowEvents(t *testing.T) {
	name := uniq("pgrows")
	db := pgConnect(t)
	pgExec(t, db,
		"CREATE SCHEMA "+name,
		"CREATE TABLE "+name+".orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(10,2), meta jsonb, created timestamptz, flag boolean, big text)",
		"CREATE TABLE "+name+".items (order_id bigint, line int, sku text, PRIMARY KEY (order_id, line))",
		"CREATE TABLE "+name+".notes (body text)",
		"ALTER TABLE "+name+".notes REPLICA IDENTITY FULL",
	)
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "  transaction_topic: "+name+".transactions\n  batch:\n    linger: 20ms\n")

	// Incompressible text, stored out of line (TOAST): an update that leaves
	// it alone must not turn it into NULL.
	var big string
	if err := db.QueryRow(context.Background(), "SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) i").Scan(&big); err != nil {
		t.Fatal(err)
	}
	pgExec(t, db,
		"BEGIN",
		"INSERT INTO "+name+".orders VALUES (1, 'new', 12.50, '{\"tags\":[\"a\"]}', '2024-02-29 13:14:15.123456+00', true, '"+big+"'), (2, 'new', 0.10, NULL, NULL, false, NULL)",
		"INSERT INTO "+name+".items VALUES (1, 1, 'sku-1'), (1, 2, 'sku-2')",
		"COMMIT",
		"UPDATE "+name+".orders SET status = 'paid' WHERE id = 1",
		"DELETE FROM "+name+".orders WHERE id = 2",
		"BEGIN",
		"INSERT INTO "+name+".orders VALUES (99, 'rolled back', 1, NULL, NULL, NULL, NULL)",
		"ROLLBACK",
		"UPDATE "+name+".orders SET id = 3 WHERE id = 1",
		"INSERT INTO "+name+".notes VALUES ('hello')",
		"UPDATE "+name+".notes SET body = 'bye'",
		"DELETE FROM "+name+".notes",
		"TRUNCATE "+name+".items",
	)

	c := newConsumer(t, "^"+name+`\.`)
	// 2+2 (tx1) + 1 + 2 (delete+tombstone) + 3 (key change) + 3 notes + 1 truncate = 14 row records,
	// plus BEGIN/END for 8 committed transactions.
	es := c.atLeast(14+16, 60*time.Second)
	es = c.settle(2 * time.Second)

	orders := name + "." + name + ".orders"
	got := byKey(es, orders)
	want := map[string][]string{
		`{"id":1}`: {"c", "u", "d", "tombstone"},
		`{"id":2}`: {"c", "d", "tombstone"},
		`{"id":3}`: {"c"},
	}
	for k, w := range want {
		if s := summary(t, got[k]); !reflect.DeepEqual(s, w) {
			t.Errorf("orders key %s: got %v, want %v", k, s, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("orders keys: got %d keys (%v), want %d (the rolled-back row must be absent)", len(got), keys(got), len(want))
	}

	// Typed values of the first insert.
	first := got[`{"id":1}`][0].env(t)
	if first.After["amount"] != "12.50" || first.After["status"] != "new" || first.After["flag"] != true ||
		first.After["created"] != "2024-02-29T13:14:15.123456Z" || first.After["big"] != big {
		t.Errorf("insert values: %v", trimBig(first.After))
	}
	if tags, ok := first.After["meta"].(map[string]any); !ok || !reflect.DeepEqual(tags["tags"], []any{"a"}) {
		t.Errorf("jsonb must be embedded JSON, got %#v", first.After["meta"])
	}
	if first.Before != nil {
		t.Errorf("insert has before: %v", first.Before)
	}
	src := first.Source
	if src["connector"] != "postgresql" || src["name"] != name || src["schema"] != name || src["table"] != "orders" || src["lsn"] == nil || src["txId"] == nil ||
		src["ts_us"] == nil || src["ts_ns"] == nil {
		t.Errorf("source block: %v", src)
	}
	upd := got[`{"id":1}`][1].env(t)
	if upd.After["status"] != "paid" || (upd.After["big"] != big && upd.After["big"] != "__cdc_unavailable_value") {
		t.Errorf("update after: %v (unchanged TOAST column must keep its value or be marked unavailable, never null)", trimBig(upd.After))
	}
	del := got[`{"id":2}`][1].env(t)
	if del.Before == nil || del.Before["id"] != float64(2) || del.After != nil {
		t.Errorf("delete: before %v after %v", del.Before, del.After)
	}

	items := byKey(es, name+"."+name+".items")
	if s := summary(t, items[`{"order_id":1,"line":1}`]); !reflect.DeepEqual(s, []string{"c"}) {
		t.Errorf("items (1,1): %v", s)
	}
	if s := summary(t, items[""]); !reflect.DeepEqual(s, []string{"t"}) {
		t.Errorf("items truncate: %v", s)
	}
	// Both items rows share one transaction with the orders rows: same id, orders 1..4.
	tx := got[`{"id":1}`][0].env(t).Transaction.ID
	it := items[`{"order_id":1,"line":2}`][0].env(t).Transaction
	if it.ID != tx || it.TotalOrder != 4 {
		t.Errorf("transaction block of the 4th change of tx %s: %+v", tx, it)
	}

	notes := byKey(es, name+"."+name+".notes")
	if s := summary(t, notes[""]); !reflect.DeepEqual(s, []string{"c", "u", "d"}) {
		t.Errorf("notes (no primary key, replica identity full): %v", s)
	}
	if u := notes[""][1].env(t); u.Before["body"] != "hello" || u.After["body"] != "bye" {
		t.Errorf("notes update with REPLICA IDENTITY FULL must carry before: %v -> %v", u.Before, u.After)
	}

	begins, ends := txMarkers(es, name+".transactions")
	if begins != 8 || ends != 8 {
		t.Errorf("transaction topic: %d BEGIN, %d END; want 8 each", begins, ends)
	}

	p.stopOK()
}

func keys(m map[string][]event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func trimBig(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if s, ok := v.(string); ok && len(s) > 40 {
			v = s[:20] + fmt.Sprintf("...(%d chars)", len(s))
		}
		out[k] = v
	}
	return out
}

// txMarkers counts the BEGIN and END records on a transaction topic.
func txMarkers(es []event, topic string) (begins, ends int) {
	for _, e := range es {
		if e.Topic != topic {
			continue
		}
		var v struct {
			Status string `json:"status"`
		}
		json.Unmarshal(e.Value, &v)
		switch v.Status {
		case "BEGIN":
			begins++
		case "END":
			ends++
		}
	}
	return begins, ends
}
