package config

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/transform"
)

// routesBase captures public.* with kafka on line 6; routes start on line 8.
const routesBase = "name: shop\nsource:\n  type: postgres\n  dsn: postgres://cdc@127.0.0.1/shop\n  tables: [\"public.*\"]\nkafka:\n  brokers: [127.0.0.1:9092]\n"

const fullRoutes = routesBase + `routes:
  - table: public.outbox_event
    outbox:
      aggregate_version: version
      headers: [created_at, trace_id]
      on_delete: dlt
  - table: public.outbox
    outbox: {preset: debezium, topic: "outbox.{aggregate_type}", version_check: "off"}
  - table: "public.orders_*"
    topic_regex: '^shop\.public\.orders_\d+$'
    topic_replacement: shop.orders
  - table: public.customers
    topic: "{prefix}.{schema}.people"
    key: [region, id]
    tombstones: false
    exclude: [note]
    mask: {email: hash, card_no: "truncate:4", ssn: null}
    salt: ${MASK_SALT}
messages:
  - prefix: outbox
    aggregate_id: aggId
    headers: [trace]
`

func TestRoutesParse(t *testing.T) {
	c, err := Parse("shop.yaml", []byte(fullRoutes), env(map[string]string{"MASK_SALT": "pepper"}))
	if err != nil {
		t.Fatal(err)
	}
	f := false
	want := []Route{
		{Table: "public.outbox_event", Outbox: &Outbox{Preset: PresetDefault, AggregateVersion: "version", Topic: "{aggregate_type}.events",
			Headers: []string{"created_at", "trace_id"}, OnDelete: DeleteDLT, OnUpdate: UpdateWarn, VersionCheck: VersionFlag}},
		{Table: "public.outbox", Outbox: &Outbox{Preset: PresetDebezium, Topic: "outbox.{aggregate_type}", OnDelete: DeleteIgnore, OnUpdate: UpdateWarn, VersionCheck: VersionOff}},
		{Table: "public.orders_*", TopicRegex: `^shop\.public\.orders_\d+$`, TopicReplacement: "shop.orders"},
		// Pins that "ssn: null" keeps its key, as the null mask.
		{Table: "public.customers", Topic: "{prefix}.{schema}.people", Key: []string{"region", "id"}, Tombstones: &f, Exclude: []string{"note"},
			Mask: map[string]string{"email": "hash", "card_no": "truncate:4", "ssn": ""}, Salt: "pepper"},
	}
	if !reflect.DeepEqual(c.Routes, want) {
		t.Errorf("routes\n got %#v\nwant %#v", c.Routes, want)
	}
	wantMsg := []MessageRoute{{Prefix: "outbox", Format: FormatJSONMessage, Preset: PresetDefault, AggregateID: "aggId", Topic: "{aggregate_type}.events", Headers: []string{"trace"}, VersionCheck: VersionFlag}}
	if !reflect.DeepEqual(c.Messages, wantMsg) {
		t.Errorf("messages\n got %#v\nwant %#v", c.Messages, wantMsg)
	}

	rc := c.RouterConfig()
	if rc.Prefix != "shop" || !rc.Tombstones || len(rc.Routes) != 4 || rc.Routes[3].Name != "routes[3]" || rc.Routes[3].Tombstones ||
		!rc.Routes[2].Tombstones || rc.Routes[3].Salt != "pepper" || rc.Routes[0].Outbox.Fields.AggregateVersion != "version" ||
		rc.Messages[0].Name != "messages[0]" || rc.Messages[0].Fields.AggregateID != "aggId" {
		t.Errorf("RouterConfig %+v", rc)
	}
	if _, err := transform.NewRouter(rc); err != nil {
		t.Errorf("NewRouter: %v", err)
	}

	// The salt is a secret: never printed, never logged; the rest reads back.
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "salt", c.Routes[3].Salt)
	for how, s := range map[string]string{"Redacted": c.Redacted(), "log": logged.String()} {
		if strings.Contains(s, "pepper") {
			t.Errorf("%s shows the salt:\n%s", how, s)
		}
	}
	back, err := Parse("shop.yaml", []byte(c.Redacted()), nil)
	if err != nil {
		t.Fatalf("Redacted does not parse: %v\n%s", err, c.Redacted())
	}
	back.Routes[3].Salt = "pepper"
	if !reflect.DeepEqual(back.Routes, c.Routes) || !reflect.DeepEqual(back.Messages, c.Messages) {
		t.Errorf("Redacted does not read back:\n%s", c.Redacted())
	}
}

func TestRoutesErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string // each a whole error line
	}{{
		name: "unknown key in a route",
		data: routesBase + "routes:\n  - table: public.orders\n    topik: x\n",
		want: []string{`shop.yaml:10: unknown key "topik" in routes[0] (did you mean "topic"? valid keys: table, outbox, topic, topic_regex, topic_replacement, key, tombstones, include, exclude, mask, salt, compatibility, on_incompatible)`},
	}, {
		name: "unknown key in an outbox",
		data: routesBase + "routes:\n  - table: public.outbox_event\n    outbox:\n      aggregatetype: agg\n",
		want: []string{`shop.yaml:11: unknown key "aggregatetype" in routes[0].outbox (did you mean "aggregate_type"? valid keys: preset, id, aggregate_type, aggregate_id, aggregate_version, event_type, payload, topic, headers, on_delete, on_update, version_check)`},
	}, {
		name: "unknown enum values",
		data: routesBase + "routes:\n  - table: public.outbox_event\n    outbox:\n      preset: debezum\n      on_update: ignore\n",
		want: []string{
			`shop.yaml:11: routes[0].outbox.preset: unknown outbox preset "debezum" (did you mean "debezium"? valid values: default, debezium)`,
			`shop.yaml:12: routes[0].outbox.on_update: unknown on_update action "ignore" (valid values: warn, dlt)`,
		},
	}, {
		name: "template and regex errors name the route and line",
		data: routesBase + "routes:\n  - table: public.a\n    topic: \"{prefix}.{tabel}\"\n  - table: public.b\n    topic_regex: \"(\"\n    topic_replacement: x\n  - table: public.c\n    outbox:\n      topic: \"{aggregate_type.events\"\n",
		want: []string{
			`shop.yaml:10: routes[0].topic: template "{prefix}.{tabel}" uses unknown variable {tabel} (valid: {prefix}, {schema}, {table}, {db})`,
			"shop.yaml:12: routes[1].topic_regex: error parsing regexp: missing closing ): `(`",
			`shop.yaml:16: routes[2].outbox.topic: template "{aggregate_type.events": "{" at offset 0 is not closed (write "{{" for a literal brace)`,
		},
	}, {
		name: "conflicting routes",
		data: routesBase + "routes:\n  - table: \"public.*\"\n  - table: public.orders\n    topic: x\n",
		want: []string{`shop.yaml:10: routes[1].table: "public.orders" conflicts with routes[0] (table "public.*"): a table may match one route only; narrow one of the patterns`},
	}, {
		name: "masks",
		data: routesBase + "routes:\n  - table: public.customers\n    mask:\n      email: hash\n      card: trunc:4\n",
		want: []string{
			`shop.yaml:9: routes[0].salt: is required by hash masks: an unsalted hash of a short value is easy to reverse (e.g. salt: ${MASK_SALT})`,
			`shop.yaml:12: routes[0].mask.card: unknown mask "trunc:4" (valid: hash, truncate:N, null)`,
		},
	}, {
		name: "table keys on an outbox route",
		data: routesBase + "routes:\n  - table: public.outbox_event\n    outbox: {}\n    key: [id]\n    tombstones: true\n",
		want: []string{
			`shop.yaml:11: routes[0].key: does not apply to an outbox route (remove it)`,
			`shop.yaml:12: routes[0].tombstones: does not apply to an outbox route (remove it)`,
		},
	}, {
		name: "empty outbox",
		data: routesBase + "routes:\n  - table: public.outbox_event\n    outbox:\n",
		want: []string{`shop.yaml:10: routes[0].outbox: is empty; write outbox: {} for the default outbox_event shape`},
	}, {
		name: "route for a table not captured",
		data: routesBase + "routes:\n  - table: sales.outbox_event\n    outbox: {}\n",
		want: []string{`shop.yaml:9: routes[0].table: sales.outbox_event is not captured: add it to source.tables`},
	}, {
		name: "route without a table",
		data: routesBase + "routes:\n  - topic: x\n",
		want: []string{`shop.yaml:9: routes[0].table: is required ("namespace.table", e.g. public.outbox_event)`},
	}, {
		name: "mask is a mapping",
		data: routesBase + "routes:\n  - table: public.a\n    mask: [email]\n",
		want: []string{`shop.yaml:10: routes[0].mask: expected a mapping, got a list`},
	}, {
		name: "messages",
		data: routesBase + "messages:\n  - prefix: outbox\n  - prefix: outbox\n    format: avro\n",
		want: []string{`shop.yaml:11: messages[1].format: unknown message format "avro" (valid values: json)`},
	}, {
		name: "duplicate message prefix",
		data: routesBase + "messages:\n  - prefix: outbox\n  - prefix: outbox\n",
		want: []string{`shop.yaml:10: messages[1].prefix: "outbox" is already routed by messages[0]; a prefix may have one route`},
	}, {
		name: "messages on mysql",
		data: mysqlBase + "messages:\n  - prefix: outbox\n",
		want: []string{`shop.yaml:9: messages: applies only to postgres sources (remove it, or set source.type: postgres)`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("shop.yaml", []byte(tt.data), nil)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			got := errLines(t, err, "shop.yaml")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
