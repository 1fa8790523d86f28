package transform

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

var customers = &schema.Table{Namespace: "public", Name: "customers", Columns: []schema.Column{
	{Name: "id", Kind: schema.KindInt, Key: true},
	{Name: "region", Kind: schema.KindString},
	{Name: "email", Kind: schema.KindString},
	{Name: "card_no", Kind: schema.KindString},
	{Name: "ssn", Kind: schema.KindString},
	{Name: "note", Kind: schema.KindString},
}}

func tableRouter(t *testing.T, routes ...Route) *Router {
	t.Helper()
	for i := range routes {
		if routes[i].Name == "" {
			routes[i].Name = "routes[" + string(rune('0'+i)) + "]"
		}
	}
	r, err := NewRouter(RouterConfig{Envelope: testRouter().Envelope, Prefix: "shop", Tombstones: true, Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func custChange(op source.Op, before, after []any) *source.Change {
	ch := change(op, before, after)
	ch.Table = customers
	return ch
}

func afterOf(t *testing.T, rec Record) map[string]any {
	t.Helper()
	var v struct {
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
	}
	if err := json.Unmarshal(rec.Value, &v); err != nil {
		t.Fatalf("%v: %s", err, rec.Value)
	}
	if v.After != nil {
		return v.After
	}
	return v.Before
}

var ann = []any{int64(1), "eu", "ann@example.com", "4111111111111111", "123-45-6789", "hi"}

func TestTableRouteTopicKeyMask(t *testing.T) {
	r := tableRouter(t, Route{
		Table:      "public.cust*",
		Topic:      "{prefix}.{schema}.people",
		Key:        []string{"region", "id"},
		Tombstones: false,
		Exclude:    []string{"note"},
		Mask:       map[string]string{"email": "hash", "card_no": "truncate:4", "ssn": ""},
		Salt:       "pepper",
	})
	recs, err := r.Route(custChange(source.OpCreate, nil, ann))
	if err != nil {
		t.Fatal(err)
	}
	rec := recs[0]
	if rec.Topic != "shop.public.people" || string(rec.Key) != `{"region":"eu","id":1}` {
		t.Errorf("topic %q key %s", rec.Topic, rec.Key)
	}
	after := afterOf(t, rec)
	if after["email"] != sha("pepperann@example.com") || after["card_no"] != "4111" || after["ssn"] != nil || after["region"] != "eu" {
		t.Errorf("masked row %v", after)
	}
	if _, ok := after["note"]; ok {
		t.Error("excluded column in the event")
	}
	if strings.Contains(string(rec.Value), "ann@example.com") || strings.Contains(string(rec.Value), "6789") {
		t.Errorf("clear value leaked: %s", rec.Value)
	}

	// Masks apply to the before image too, and no tombstone follows.
	recs, _ = r.Route(custChange(source.OpDelete, ann, nil))
	if len(recs) != 1 || strings.Contains(string(recs[0].Value), "ann@example.com") {
		t.Errorf("delete: %d records: %s", len(recs), recs[0].Value)
	}
}

// A masked key column is masked in the key too: the key must not leak
// what the value hides.
func TestTableRouteMaskedKey(t *testing.T) {
	r := tableRouter(t, Route{Table: "public.customers", Key: []string{"email"}, Mask: map[string]string{"email": "hash"}, Salt: "s", Tombstones: true})
	recs, _ := r.Route(custChange(source.OpDelete, ann, nil))
	want := `{"email":"` + sha("sann@example.com") + `"}`
	if len(recs) != 2 || string(recs[0].Key) != want || string(recs[1].Key) != want || recs[1].Value != nil {
		t.Errorf("records %+v, want delete and tombstone keyed %s", recs, want)
	}
}

func TestTableRouteKeyChange(t *testing.T) {
	r := tableRouter(t, Route{Table: "public.customers", Key: []string{"region", "id"}, Include: []string{"id", "region"}, Tombstones: true})
	moved := []any{int64(1), "us", "ann@example.com", "", "", ""}
	recs, err := r.Route(custChange(source.OpUpdate, ann, moved))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range recs {
		v := "tombstone"
		if rec.Value != nil {
			v = string(rec.Value[:0]) + afterOf(t, rec)["region"].(string)
		}
		got = append(got, string(rec.Key)+" "+v)
	}
	want := []string{`{"region":"eu","id":1} eu`, `{"region":"eu","id":1} tombstone`, `{"region":"us","id":1} us`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("records\n got %q\nwant %q", got, want)
	}
	if strings.Contains(string(recs[2].Value), "email") {
		t.Error("include did not drop email")
	}
}

func TestTableRouteRegexMergesShards(t *testing.T) {
	r := tableRouter(t, Route{Table: "public.orders_*", TopicRegex: `^(\w+)\.public\.orders_\d+$`, TopicReplacement: "$1.orders", Tombstones: true})
	for _, name := range []string{"orders_1", "orders_22"} {
		tbl := *orders
		tbl.Name = name
		ch := change(source.OpCreate, nil, []any{int64(1), nil, nil, nil, nil, nil})
		ch.Table = &tbl
		recs, err := r.Route(ch)
		if err != nil || recs[0].Topic != "shop.orders" {
			t.Errorf("%s: %v %v", name, recs[0].Topic, err)
		}
	}
	// A table the regex does not match keeps its default topic.
	tbl := *orders
	tbl.Name = "orders_eu"
	ch := change(source.OpCreate, nil, []any{int64(1), nil, nil, nil, nil, nil})
	ch.Table = &tbl
	if recs, _ := r.Route(ch); recs[0].Topic != "shop.public.orders_eu" {
		t.Errorf("unmatched: %s", recs[0].Topic)
	}
}

func TestTableRouteDefaultsAndUnrouted(t *testing.T) {
	r := tableRouter(t, Route{Table: "public.customers", Tombstones: true})
	recs, _ := r.Route(custChange(source.OpDelete, ann, nil))
	if len(recs) != 2 || recs[0].Topic != "shop.public.customers" || string(recs[0].Key) != `{"id":1}` {
		t.Errorf("route with no settings differs from the default: %+v", recs)
	}
	// Unrouted tables take the default route, byte for byte.
	ch := change(source.OpCreate, nil, []any{int64(1), "new", nil, nil, nil, nil})
	got, _ := r.Route(ch)
	want := testRouter().recs(ch)
	if len(got) != 1 || string(got[0].Value) != string(want[0].Value) || got[0].Topic != want[0].Topic {
		t.Errorf("default route differs:\n got %+v\nwant %+v", got, want)
	}
}

// Columns are known only from the stream: a route naming columns the table
// lacks rejects its changes with a reason naming the route and columns.
func TestTableRouteUnknownColumns(t *testing.T) {
	tests := []struct {
		route Route
		err   []string
	}{
		{Route{Key: []string{"cust_id"}}, []string{`key column "cust_id" does not exist (columns: id, region, email, card_no, ssn, note)`}},
		{Route{Include: []string{"id", "mail"}}, []string{`included column "mail"`}},
		{Route{Exclude: []string{"x"}, Mask: map[string]string{"y": "null"}}, []string{`excluded column "x"`, `masked column "y"`}},
		{Route{Exclude: []string{"id"}}, []string{`key column "id" is excluded`}},
		{Route{Topic: "{db}.t"}, nil}, // fine: db comes from the source
	}
	for _, tt := range tests {
		tt.route.Table = "public.customers"
		r := tableRouter(t, tt.route)
		// Check, as `cdc check` calls it with the catalog's table, says
		// what routing a change would.
		cerr := tableRouter(t, tt.route).Check(customers)
		_, err := r.Route(custChange(source.OpCreate, nil, ann))
		if (cerr == nil) != (err == nil) || cerr != nil && cerr.Error() != err.Error() {
			t.Errorf("%+v: Check says %v, Route %v", tt.route, cerr, err)
		}
		if len(tt.err) == 0 {
			if err != nil {
				t.Errorf("%+v: %v", tt.route, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), `routes[0] (table "public.customers") does not fit table public.customers(`) {
			t.Errorf("%+v: error %v", tt.route, err)
			continue
		}
		for _, w := range tt.err {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
}

func TestCheckUnroutedTableFits(t *testing.T) {
	r := tableRouter(t, Route{Table: "public.orders", Key: []string{"nope"}})
	if err := r.Check(customers); err != nil {
		t.Errorf("a table no route matches: %v", err)
	}
}

func TestTableMatchingTwoGlobRoutes(t *testing.T) {
	r := tableRouter(t, Route{Table: "public.cust*"}, Route{Table: "public.*ers"})
	if err := r.Check(customers); err == nil || !strings.Contains(err.Error(), "matches routes[0]") {
		t.Errorf("Check: %v", err)
	}
	_, err := r.Route(custChange(source.OpCreate, nil, ann))
	if err == nil || !strings.Contains(err.Error(), `table public.customers matches routes[0] ("public.cust*") and routes[1] ("public.*ers")`) {
		t.Errorf("error %v", err)
	}
}

func TestRouterConfigValidate(t *testing.T) {
	ob := &Outbox{}
	tests := []struct {
		name string
		cfg  RouterConfig
		want []string // each a *ConfigError text
	}{
		{"ok", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "public.outbox_event", Outbox: ob}, {Name: "routes[1]", Table: "public.orders_*", Topic: "{prefix}.orders"}}}, nil},
		{"bad pattern", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "orders"}, {Name: "routes[1]", Table: "public.[x"}}},
			[]string{`routes[0].table: "orders" is not "namespace.table"`, `routes[1].table: "public.[x" is not a valid pattern`}},
		{"conflicting routes", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "public.*"}, {Name: "routes[1]", Table: "public.orders"}, {Name: "routes[2]", Table: "public.*"}}},
			[]string{`routes[1].table: "public.orders" conflicts with routes[0] (table "public.*")`, `routes[2].table: "public.*" conflicts with routes[0]`, `routes[2].table: "public.*" conflicts with routes[1]`}},
		{"template errors", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "a.b", Topic: "{prefix}.{tabel}"}, {Name: "routes[1]", Table: "a.c", Outbox: &Outbox{Topic: "{aggregate_type"}}}},
			[]string{`routes[0].topic: template "{prefix}.{tabel}" uses unknown variable {tabel}`, `routes[1].outbox.topic: template "{aggregate_type": "{" at offset 0 is not closed`}},
		{"regex errors", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "a.b", TopicRegex: "(", TopicReplacement: "x"}, {Name: "routes[1]", Table: "a.c", TopicRegex: "x"}, {Name: "routes[2]", Table: "a.d", TopicReplacement: "x"}}},
			[]string{"routes[0].topic_regex: error parsing regexp", "routes[1].topic_replacement: is required with topic_regex", "routes[2].topic_replacement: applies only with topic_regex"}},
		{"topic and regex", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "a.b", Topic: "x", TopicRegex: "y", TopicReplacement: "z"}}},
			[]string{"routes[0].topic_regex: set either topic"}},
		{"columns", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "a.b", Key: []string{"id", "id"}, Include: []string{"x"}, Exclude: []string{"id", ""}}}},
			[]string{`routes[0].key: lists "id" twice`, `routes[0].exclude: has an empty column name`, "routes[0].exclude: set either include or exclude", `routes[0].exclude: excludes key column "id"`, `routes[0].include: leaves out key column "id"`}},
		{"masks", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "a.b", Mask: map[string]string{"email": "hash", "card": "trunc:4", "note": "null"}, Exclude: []string{"note"}}}},
			[]string{`routes[0].mask.card: unknown mask "trunc:4"`, `routes[0].mask.note: masks column "note", which is not in the events`, "routes[0].salt: is required by hash masks"}},
		{"table keys on an outbox route", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "a.b", Outbox: ob, Topic: "x", Mask: map[string]string{"a": "null"}}}},
			[]string{"routes[0].topic: does not apply to an outbox route (remove it; set routes[0].outbox.topic for the events' topic)", "routes[0].mask: does not apply to an outbox route"}},
		{"outbox enums and headers", RouterConfig{Routes: []Route{{Name: "routes[0]", Table: "a.b", Outbox: &Outbox{Fields: OutboxFields{Preset: "dbz"}, OnDelete: "drop", OnUpdate: "ignore", VersionCheck: "warn", Headers: []string{"id", "x", "x"}}}}},
			[]string{`routes[0].outbox.preset: unknown preset "dbz"`, `routes[0].outbox.headers: lists "x" twice`, `routes[0].outbox.headers: "id" is a header the outbox router sets itself`, `routes[0].outbox.version_check: unknown value "warn"`, `routes[0].outbox.on_delete: unknown value "drop"`, `routes[0].outbox.on_update: unknown value "ignore"`}},
		{"messages", RouterConfig{Messages: []MessageRoute{{Name: "messages[0]", Prefix: "outbox"}, {Name: "messages[1]", Prefix: "outbox", Format: "avro"}, {Name: "messages[2]"}}},
			[]string{`messages[1].format: unknown format "avro"`, `messages[1].prefix: "outbox" is already routed by messages[0]`, "messages[2].prefix: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var ce *ConfigError
					if !errors.As(e, &ce) {
						t.Errorf("not a *ConfigError: %T %v", e, e)
					}
					got = append(got, e.Error())
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors\n got %q\nwant %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d\n got %q\nwant %q...", i, got[i], tt.want[i])
				}
			}
			if _, err := NewRouter(tt.cfg); (err == nil) != (len(tt.want) == 0) {
				t.Errorf("NewRouter error %v", err)
			}
		})
	}
}
