package transform

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

var outboxTable = &schema.Table{Namespace: "public", Name: "outbox_event", Columns: []schema.Column{
	{Name: "id", Type: "uuid", Kind: schema.KindUUID, Key: true},
	{Name: "aggregate_type", Type: "text", Kind: schema.KindString},
	{Name: "aggregate_id", Type: "text", Kind: schema.KindString},
	{Name: "aggregate_version", Type: "int8", Kind: schema.KindInt, Nullable: true},
	{Name: "event_type", Type: "text", Kind: schema.KindString},
	{Name: "payload", Type: "jsonb", Kind: schema.KindJSON, Nullable: true},
	{Name: "created_at", Type: "timestamptz", Kind: schema.KindTimestampTZ},
}}

// debeziumTable is Debezium's outbox shape, with a text payload.
var debeziumTable = &schema.Table{Namespace: "public", Name: "outbox", Columns: []schema.Column{
	{Name: "id", Type: "uuid", Kind: schema.KindUUID, Key: true},
	{Name: "aggregatetype", Type: "varchar", Kind: schema.KindString},
	{Name: "aggregateid", Type: "varchar", Kind: schema.KindString},
	{Name: "type", Type: "varchar", Kind: schema.KindString},
	{Name: "payload", Type: "text", Kind: schema.KindString, Nullable: true},
}}

func outboxRouter(t *testing.T, o Outbox, notices *[]Notice) *Router {
	t.Helper()
	r, err := NewRouter(RouterConfig{
		Envelope: Envelope{Connector: "postgresql", Name: "shop", Version: "test", Now: func() time.Time { return time.UnixMilli(1700000000123) }},
		Prefix:   "shop", Tombstones: true,
		Routes: []Route{
			{Name: "routes[0]", Table: "public.outbox_event", Outbox: &o},
			{Name: "routes[1]", Table: "public.outbox", Outbox: &Outbox{Fields: OutboxFields{Preset: PresetDebezium}}},
		},
		Notify: func(n Notice) {
			if notices != nil {
				*notices = append(*notices, n)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func outboxChange(op source.Op, t *schema.Table, row []any) *source.Change {
	ch := &source.Change{Op: op, Table: t, Tx: source.Tx{ID: "771", Order: 2}, Pos: lsn(0), Meta: source.MetaOf(map[string]any{"db": "shop"})}
	if op == source.OpDelete {
		ch.Before = row
	} else {
		ch.After = row
	}
	return ch
}

func outboxRow(id, aggType, aggID string, version any, payload any) []any {
	return []any{id, aggType, aggID, version, "OrderCreated", payload, "2026-01-02T03:04:05Z"}
}

func headers(r Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

func TestOutboxInsert(t *testing.T) {
	r := outboxRouter(t, Outbox{Headers: []string{"created_at"}}, nil)
	recs, err := r.Route(outboxChange(source.OpCreate, outboxTable,
		outboxRow("e-1", "order", "o-42", int64(1), json.RawMessage(`{"total":12.5,"lines":[1,2]}`))))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	rec := recs[0]
	// The payload is the value itself, not a JSON string inside JSON; the
	// key is the aggregate id as plain text.
	if rec.Topic != "order.events" || string(rec.Key) != "o-42" || string(rec.Value) != `{"total":12.5,"lines":[1,2]}` {
		t.Errorf("record = %s %q %s", rec.Topic, rec.Key, rec.Value)
	}
	want := map[string]string{"id": "e-1", "eventType": "OrderCreated", "aggregateType": "order", "aggregateVersion": "1",
		"created_at": "2026-01-02T03:04:05Z", "cdc.tx.id": "771", "cdc.source.position": "0/16B3748"}
	if got := headers(rec); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("headers\n got %v\nwant %v", got, want)
	}
	if s := r.Stats(); s.OutboxEvents != 1 || s.Rejected != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestOutboxPayload(t *testing.T) {
	tests := []struct {
		name    string
		payload any
		want    string // value; "<nil>" for a tombstone
		err     string
	}{
		{"jsonb arrives as RawMessage and is embedded", json.RawMessage(`{"a":1}`), `{"a":1}`, ""},
		{"text holding JSON is checked and embedded", ` {"a": "ü"} `, `{"a": "ü"}`, ""},
		{"text holding a JSON scalar", `"hello"`, `"hello"`, ""},
		{"bytes holding JSON", []byte(`[1,2]`), `[1,2]`, ""},
		{"invalid JSON text is rejected", `{"a":`, "", `payload column "payload": holds invalid JSON`},
		{"plain text is not JSON", `hello`, "", `holds invalid JSON`},
		{"NULL payload is a tombstone", nil, "<nil>", ""},
		{"unavailable payload is rejected", schema.Unavailable{}, "", "did not send"},
		{"integer payload is JSON", int64(7), "7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := outboxRouter(t, Outbox{}, nil)
			recs, err := r.Route(outboxChange(source.OpCreate, outboxTable, outboxRow("e", "order", "1", nil, tt.payload)))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				if !strings.HasPrefix(err.Error(), "routes[0]: ") {
					t.Errorf("error does not name the route: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := "<nil>"
			if recs[0].Value != nil {
				got = string(recs[0].Value)
			}
			if got != tt.want {
				t.Errorf("value %s, want %s", got, tt.want)
			}
		})
	}
}

func TestOutboxRejects(t *testing.T) {
	tests := []struct {
		name string
		row  []any
		err  []string
	}{
		{"NULL aggregate id", outboxRow("e", "order", "", nil, nil), []string{`aggregate_id column "aggregate_id" is empty`}},
		{"NULL aggregate type and id", []any{"e", nil, nil, nil, "T", nil, nil}, []string{`aggregate_type column "aggregate_type" is NULL`, `aggregate_id column "aggregate_id" is NULL`}},
		{"NULL event id", []any{nil, "order", "1", nil, "T", nil, nil}, []string{`id column "id" is NULL`}},
		{"version not a number", outboxRow("e", "order", "1", "v2", nil), []string{`aggregate_version column "aggregate_version": "v2" is not an integer`}},
		{"topic from an aggregate type Kafka cannot name", outboxRow("e", "or der", "1", nil, nil), []string{`topic name "or der.events"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := outboxRouter(t, Outbox{}, nil)
			_, err := r.Route(outboxChange(source.OpCreate, outboxTable, tt.row))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if r.Stats().Rejected != 1 {
				t.Errorf("Rejected = %d", r.Stats().Rejected)
			}
		})
	}
}

func TestOutboxDeletesAndUpdates(t *testing.T) {
	row := outboxRow("e", "order", "1", int64(1), json.RawMessage(`{}`))
	var notices []Notice
	r := outboxRouter(t, Outbox{}, &notices)
	for _, op := range []source.Op{source.OpDelete, source.OpTruncate} {
		recs, err := r.Route(outboxChange(op, outboxTable, row))
		if err != nil || len(recs) != 0 {
			t.Errorf("%v: %d records, %v; want none, ignored", op, len(recs), err)
		}
	}
	recs, err := r.Route(outboxChange(source.OpUpdate, outboxTable, row))
	if err != nil || len(recs) != 0 {
		t.Errorf("update: %d records, %v; want none, warned", len(recs), err)
	}
	if s := r.Stats(); s.DeletesIgnored != 2 || s.UpdatesIgnored != 1 {
		t.Errorf("stats %+v", s)
	}
	if len(notices) != 1 || notices[0].Kind != NoticeUpdateIgnored || notices[0].Source != "public.outbox_event" || notices[0].Position == "" {
		t.Errorf("notices %+v, want one update notice", notices)
	}

	strict := outboxRouter(t, Outbox{OnDelete: DeleteDLT, OnUpdate: UpdateDLT}, nil)
	if _, err := strict.Route(outboxChange(source.OpDelete, outboxTable, row)); err == nil || !strings.Contains(err.Error(), "on_delete: dlt") {
		t.Errorf("delete with on_delete: dlt: %v", err)
	}
	if _, err := strict.Route(outboxChange(source.OpUpdate, outboxTable, row)); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("update with on_update: dlt: %v", err)
	}
}

func TestOutboxVersionCheck(t *testing.T) {
	ins := func(r *Router, agg string, v int64) ([]Record, error) {
		return r.Route(outboxChange(source.OpCreate, outboxTable, outboxRow("e", "order", agg, v, nil)))
	}
	var notices []Notice
	r := outboxRouter(t, Outbox{}, &notices) // flag
	var anomalies []string
	for _, v := range []int64{1, 2, 4, 4, 5} {
		recs, err := ins(r, "7", v)
		if err != nil {
			t.Fatal(err)
		}
		anomalies = append(anomalies, headers(recs[0])["cdc.version.anomaly"])
	}
	if got := strings.Join(anomalies, ","); got != ",,gap,repeat," {
		t.Errorf("anomaly headers %q, want \",,gap,repeat,\"", got)
	}
	if s := r.Stats(); s.VersionGaps != 1 || s.VersionRepeats != 1 {
		t.Errorf("stats %+v", s)
	}
	if len(notices) != 2 || notices[0].Anomaly != AnomalyGap || notices[0].Version != 4 || notices[0].Last != 2 || notices[0].AggregateID != "7" {
		t.Errorf("notices %+v", notices)
	}

	dlt := outboxRouter(t, Outbox{VersionCheck: VersionDLT}, nil)
	ins(dlt, "7", 1)
	if _, err := ins(dlt, "7", 3); err == nil || !strings.Contains(err.Error(), "version 3 after 1 (gap") {
		t.Errorf("gap with version_check: dlt: %v", err)
	}
	if _, err := ins(dlt, "7", 4); err != nil { // the gap's version became the baseline
		t.Errorf("after the gap: %v", err)
	}

	off := outboxRouter(t, Outbox{VersionCheck: VersionOff}, nil)
	ins(off, "7", 1)
	if recs, _ := ins(off, "7", 1); headers(recs[0])["cdc.version.anomaly"] != "" {
		t.Error("version_check: off flagged a repeat")
	}
}

func TestOutboxDebeziumPresetAndTextPayload(t *testing.T) {
	r := outboxRouter(t, Outbox{}, nil)
	recs, err := r.Route(outboxChange(source.OpCreate, debeziumTable, []any{"e-9", "customer", "c-1", "CustomerCreated", `{"name":"Ann"}`}))
	if err != nil {
		t.Fatal(err)
	}
	h := headers(recs[0])
	if recs[0].Topic != "customer.events" || string(recs[0].Key) != "c-1" || string(recs[0].Value) != `{"name":"Ann"}` ||
		h["eventType"] != "CustomerCreated" || h["id"] != "e-9" {
		t.Errorf("record %s %s %s %v", recs[0].Topic, recs[0].Key, recs[0].Value, h)
	}
	if _, ok := h["aggregateVersion"]; ok {
		t.Error("aggregateVersion header without a version column")
	}
}

// Columns are known only from the stream: a route naming a column the
// table lacks rejects the table's changes, naming the route and the column.
func TestOutboxUnknownColumns(t *testing.T) {
	tests := []struct {
		name string
		o    Outbox
		err  string
	}{
		{"renamed column", Outbox{Fields: OutboxFields{AggregateID: "agg_id"}}, `aggregate_id column "agg_id" does not exist`},
		{"explicit version column", Outbox{Fields: OutboxFields{AggregateVersion: "ver"}}, `aggregate_version column "ver" does not exist`},
		{"header column", Outbox{Headers: []string{"trace_id"}}, `header column "trace_id" does not exist`},
		{"topic template column", Outbox{Topic: "{tenant}.{aggregate_type}"}, `topic template column "tenant" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := outboxRouter(t, tt.o, nil)
			_, err := r.Route(outboxChange(source.OpCreate, outboxTable, outboxRow("e", "order", "1", nil, nil)))
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), `routes[0] (table "public.outbox_event") does not fit table public.outbox_event(`) {
				t.Errorf("error = %v, want %q", err, tt.err)
			}
		})
	}
	// The default version column is optional: a table without it works.
	noVersion := &schema.Table{Namespace: "public", Name: "outbox_event", Columns: []schema.Column{
		{Name: "id"}, {Name: "aggregate_type"}, {Name: "aggregate_id"}, {Name: "event_type"}, {Name: "payload"}}}
	r := outboxRouter(t, Outbox{}, nil)
	if _, err := r.Route(outboxChange(source.OpCreate, noVersion, []any{"e", "order", "1", "T", nil})); err != nil {
		t.Errorf("table without aggregate_version: %v", err)
	}
}

func TestOutboxTopicTemplate(t *testing.T) {
	tbl := &schema.Table{Namespace: "sales", Name: "outbox_event", Columns: append(append([]schema.Column(nil), outboxTable.Columns...), schema.Column{Name: "tenant"})}
	r, err := NewRouter(RouterConfig{Prefix: "shop", Routes: []Route{{Name: "routes[0]", Table: "*.outbox_event",
		Outbox: &Outbox{Topic: "{prefix}.{schema}.{tenant}.{aggregate_type}.v{aggregate_version}"}}}})
	if err != nil {
		t.Fatal(err)
	}
	row := append(outboxRow("e", "order", "1", int64(3), nil), "acme")
	recs, err := r.Route(outboxChange(source.OpCreate, tbl, row))
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Topic != "shop.sales.acme.order.v3" {
		t.Errorf("topic %q", recs[0].Topic)
	}
	row[7] = nil
	if _, err := r.Route(outboxChange(source.OpCreate, tbl, row)); err == nil || !strings.Contains(err.Error(), `{tenant}: column "tenant" is NULL`) {
		t.Errorf("NULL template column: %v", err)
	}
}

// A change the source could not convert goes to the dead-letter topic as
// the original row: the router gives the default route's records, the
// pipeline dead-letters them with the change's error.
func TestOutboxSourceConversionError(t *testing.T) {
	r := outboxRouter(t, Outbox{}, nil)
	ch := outboxChange(source.OpCreate, outboxTable, outboxRow("e", "order", "1", nil, nil))
	ch.Err = errors.New("bad value")
	recs, err := r.Route(ch)
	if err != nil || len(recs) != 1 || recs[0].Topic != "shop.public.outbox_event" {
		t.Errorf("got %+v, %v", recs, err)
	}
}

func messageRouter(t *testing.T, m MessageRoute) *Router {
	t.Helper()
	m.Name, m.Prefix = "messages[0]", "outbox"
	r, err := NewRouter(RouterConfig{Prefix: "shop", Messages: []MessageRoute{m}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func message(prefix, content string) *source.Change {
	return &source.Change{Op: source.OpMessage, Tx: source.Tx{ID: "900"}, Pos: lsn(0),
		Message: &source.LogicalMessage{Prefix: prefix, Content: []byte(content)}, Meta: source.MetaOf(map[string]any{"db": "shop"})}
}

func TestMessageRoute(t *testing.T) {
	r := messageRouter(t, MessageRoute{Headers: []string{"trace"}})
	recs, err := r.Route(message("outbox", `{"id":"m-1","aggregate_type":"order","aggregate_id":42,"aggregate_version":1,"event_type":"OrderPaid","payload":{"paid":true},"trace":"t-9"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"id": "m-1", "eventType": "OrderPaid", "aggregateType": "order", "aggregateVersion": "1", "trace": "t-9", "cdc.tx.id": "900", "cdc.source.position": "0/16B3748"}
	if recs[0].Topic != "order.events" || string(recs[0].Key) != "42" || string(recs[0].Value) != `{"paid":true}` || fmt.Sprint(headers(recs[0])) != fmt.Sprint(want) {
		t.Errorf("record %s %s %s %v", recs[0].Topic, recs[0].Key, recs[0].Value, headers(recs[0]))
	}

	// Other prefixes keep the default route.
	recs, err = r.Route(message("audit", `not json`))
	if err != nil || recs[0].Topic != "shop.message" {
		t.Errorf("unrouted prefix: %+v %v", recs, err)
	}

	for _, tt := range []struct{ content, err string }{
		{`not json`, "content is not a JSON object"},
		{`[1]`, "content is not a JSON object"},
		{`null`, "JSON null"},
		{`{"id":"1","aggregate_type":"order","event_type":"X","payload":{}}`, `aggregate_id field "aggregate_id" is missing`},
		{`{"id":"1","aggregate_type":"order","aggregate_id":null,"event_type":"X","payload":{}}`, `aggregate_id field "aggregate_id": is null`},
		{`{"id":"1","aggregate_type":{"x":1},"aggregate_id":"1","event_type":"X","payload":{}}`, "is an object or array"},
		{`{"id":"1","aggregate_type":"order","aggregate_id":"1","event_type":"X"}`, `payload field "payload" is missing`},
		{`{"id":"1","aggregate_type":"order","aggregate_id":"1","event_type":"X","payload":{}} {}`, "data after"},
	} {
		if _, err := r.Route(message("outbox", tt.content)); err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), `messages[0]: message with prefix "outbox": `) {
			t.Errorf("%s: error %v, want %q", tt.content, err, tt.err)
		}
	}
}

func TestMessageRouteFieldNames(t *testing.T) {
	r := messageRouter(t, MessageRoute{Fields: OutboxFields{Preset: PresetDebezium, Payload: "data"}, Topic: "{prefix}.{aggregate_type}"})
	recs, err := r.Route(message("outbox", `{"id":"1","aggregatetype":"order","aggregateid":"9","type":"X","data":"plain"}`))
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Topic != "shop.order" || string(recs[0].Value) != `"plain"` || string(recs[0].Key) != "9" {
		t.Errorf("record %s %s %s", recs[0].Topic, recs[0].Key, recs[0].Value)
	}
}
