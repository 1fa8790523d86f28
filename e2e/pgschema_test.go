//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// versionOf returns the schema version an event carries, checking that the
// header and the source block agree.
func versionOf(t *testing.T, e event) int {
	t.Helper()
	h, err := strconv.Atoi(e.Headers["cdc.schema.version"])
	if err != nil {
		t.Fatalf("event at %s/%d has no cdc.schema.version header: %v", e.Topic, e.Offset, e.Headers)
	}
	if e.Value != nil {
		if s, ok := e.env(t).Source["schema_version"].(float64); !ok || int(s) != h {
			t.Fatalf("source.schema_version %v differs from header %d", e.env(t).Source["schema_version"], h)
		}
	}
	if e.Headers["cdc.schema.fingerprint"] == "" {
		t.Fatalf("event without cdc.schema.fingerprint header")
	}
	return h
}

func resetCheckpoint(t *testing.T, connector string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "_cdc_checkpoints_e2e", Key: []byte(connector)}).FirstErr(); err != nil {
		t.Fatalf("writing checkpoint tombstone: %v", err)
	}
}

func TestPostgresSchemaVersions(t *testing.T) {
	name := uniq("pgschema")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, a int)")
	dropSlotAtEnd(t, db, name, name)
	// A long status interval keeps the slot at the start of each run, so
	// that resetting the checkpoint replays the run.
	// No snapshot: part B deletes the checkpoint to replay from the slot,
	// which would otherwise start a snapshot of the table.
	cfg := writeConfig(t, replaceStatus(pgConfig(name, "  batch:\n    linger: 20ms\nsnapshot:\n  mode: never\n"), "5m"))
	topic := name + "." + name + ".t"
	c := newSchemaConsumer(t, "^"+name+`\.`)
	rows := func(es []event) []event { return rowsByID(es, topic) }
	waitRows := func(n int) []event {
		t.Helper()
		return rows(c.until(60*time.Second, func(es []event) bool { return len(rows(es)) >= n }))
	}

	// Part A: one run, five shapes of t and a table created mid-stream.
	p := startCDC(t, cfg)
	waitStreaming(t, p)
	ins := func(id int, cols, vals string) {
		pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t (id%s) VALUES (%d%s)", name, cols, id, vals))
	}
	ins(1, ", a", ", 10")
	pgExec(t, db, "ALTER TABLE "+name+".t ADD COLUMN b text")
	ins(2, ", a, b", ", 20, '20'")
	pgExec(t, db, "ALTER TABLE "+name+".t DROP COLUMN a")
	ins(3, ", b", ", '30'")
	pgExec(t, db, "ALTER TABLE "+name+".t ALTER COLUMN b TYPE int USING b::int")
	ins(4, ", b", ", 40")
	pgExec(t, db, "ALTER TABLE "+name+".t RENAME COLUMN b TO c")
	ins(5, ", c", ", 50")
	pgExec(t, db, "CREATE TABLE "+name+".t2 (id int PRIMARY KEY)", "ALTER PUBLICATION "+name+" ADD TABLE "+name+".t2",
		"INSERT INTO "+name+".t2 VALUES (1)")
	es := waitRows(5)
	for i, e := range es {
		if v := versionOf(t, e); v != i+1 {
			t.Errorf("row %d carries schema version %d, want %d", i+1, v, i+1)
		}
	}
	p.stopOK()

	// Part B: replay the run from an older position: the same rows come
	// again with their original versions, and no new version appears.
	resetCheckpoint(t, name)
	p = startCDC(t, cfg)
	es = waitRows(10)
	for i := 0; i < 5; i++ {
		if v := versionOf(t, es[2*i+1]); v != i+1 {
			t.Errorf("replayed row %d carries schema version %d, want its original %d", i+1, v, i+1)
		}
	}
	p.stopOK()

	// Part C: DDL while the connector is down.
	pgExec(t, db, "ALTER TABLE "+name+".t ADD COLUMN d bool")
	ins(6, ", c, d", ", 60, true")
	p = startCDC(t, cfg)
	es = waitRows(11)
	if v := versionOf(t, es[10]); v != 6 {
		t.Errorf("row after DDL while down: version %d, want 6", v)
	}

	// Part D: SIGKILL between a DDL and the next row.
	pgExec(t, db, "ALTER TABLE "+name+".t ADD COLUMN e text")
	p.kill()
	ins(7, ", c, e", ", 70, 'e'")
	p = startCDC(t, cfg)
	es = waitRows(12)
	if v := versionOf(t, es[11]); v != 7 {
		t.Errorf("row after DDL and SIGKILL: version %d, want 7", v)
	}
	all := c.settle(2 * time.Second)
	p.stopOK()

	checkSchemaHistory(t, all, name, nil)

	code, out, stderr := runCDC(t, 60*time.Second, nil, "schemas", "-c", cfg, name+".t")
	if code != 0 || !strings.Contains(out, name+".t v7") || !strings.Contains(out, name+".t v1") {
		t.Errorf("cdc schemas: exit %d\n%s\n%s", code, out, stderr)
	}
}

// A route's compatibility: backward with on_incompatible: stop (the global
// default being none) halts before the first row with a breaking shape, says
// why, and commits nothing of it; the compatible change before it flows.
func TestPostgresIncompatibleSchemaStops(t *testing.T) {
	name := uniq("pgcompat")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, a int)")
	dropSlotAtEnd(t, db, name, name)
	cfg := writeConfig(t, pgConfig(name, "  batch:\n    linger: 0s\nroutes:\n  - table: "+name+".t\n    compatibility: backward\n    on_incompatible: stop\n"))
	c := newSchemaConsumer(t, "^"+name+`\.`)
	p := startCDC(t, cfg)
	waitStreaming(t, p)
	pgExec(t, db,
		"INSERT INTO "+name+".t VALUES (1, 1)",
		"ALTER TABLE "+name+".t ADD COLUMN note text", // nullable: backward compatible
		"INSERT INTO "+name+".t VALUES (2, 2, 'x')",
		"ALTER TABLE "+name+".t ADD COLUMN qty int NOT NULL DEFAULT 0", // old events lack a required column
		"INSERT INTO "+name+".t VALUES (3, 3, 'y', 3)",
	)
	if code := p.waitExit(60 * time.Second); code != 3 { // halted until the configuration changes
		t.Fatalf("exit code %d, want 3; log:\n%s", code, p.Log())
	}
	assertOneLineError(t, p.Log(), "breaks backward compatibility")
	es := c.settle(2 * time.Second)
	var ids []float64
	versions := 0
	for _, e := range es {
		switch {
		case e.Topic == name+"._schemas":
			versions++
		case e.Topic == name+"."+name+".t":
			ids = append(ids, e.env(t).After["id"].(float64))
		}
	}
	sort.Float64s(ids) // rows of different keys may sit on different partitions
	if fmt.Sprint(ids) != "[1 2]" || versions != 2 {
		t.Errorf("rows %v and %d stored versions, want rows [1 2] and 2 versions (nothing of the breaking shape)", ids, versions)
	}
	// It stays stopped: the breaking row is still next.
	p = startCDC(t, cfg)
	if code := p.waitExit(60 * time.Second); code != 3 {
		t.Fatalf("restart: exit code %d, want 3", code)
	}
}

// kafka.schema_in_payload: true wraps values for Kafka Connect's
// JsonConverter, with the schema of the version the row was written with.
func TestPostgresSchemaInPayload(t *testing.T) {
	name := uniq("pgconnect")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, doc jsonb, n numeric)")
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "  schema_in_payload: true\n  batch:\n    linger: 0s\n")
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1, '{\"a\": 1}', 2.5)", "ALTER TABLE "+name+".t ADD COLUMN extra text",
		"INSERT INTO "+name+".t VALUES (2, NULL, 3, 'x')")
	c := newConsumer(t, "^"+name+`\.`+name+`\.t$`)
	es := c.atLeast(2, 60*time.Second)
	for _, e := range es {
		var v struct {
			Schema struct {
				Name   string `json:"name"`
				Fields []struct {
					Field   string `json:"field"`
					Version int    `json:"version"`
					Fields  []struct {
						Field string `json:"field"`
						Type  string `json:"type"`
					} `json:"fields"`
				} `json:"fields"`
			} `json:"schema"`
			Payload envelope `json:"payload"`
		}
		if err := json.Unmarshal(e.Value, &v); err != nil {
			t.Fatalf("%v: %s", err, e.Value)
		}
		after := v.Schema.Fields[1]
		var cols []string
		for _, f := range after.Fields {
			cols = append(cols, f.Field)
		}
		switch v.Payload.After["id"] {
		case float64(1):
			if strings.Join(cols, ",") != "id,doc,n" || after.Version != 1 || v.Payload.After["doc"] != `{"a": 1}` {
				t.Errorf("row 1: schema columns %v version %d, doc %#v", cols, after.Version, v.Payload.After["doc"])
			}
		case float64(2):
			if strings.Join(cols, ",") != "id,doc,n,extra" || after.Version != 2 {
				t.Errorf("row 2: schema columns %v version %d", cols, after.Version)
			}
		default:
			t.Errorf("unexpected event %s", e.Value)
		}
	}
	p.stopOK()
}

// rowsByID returns the row events (not tombstones) of topic, ordered by the
// "id" column and, for one id, by arrival (one key stays on one partition).
func rowsByID(es []event, topic string) []event {
	var out []event
	for _, e := range es {
		if e.Topic == topic && e.Value != nil {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		var a, b envelope
		json.Unmarshal(out[i].Value, &a)
		json.Unmarshal(out[j].Value, &b)
		return a.After["id"].(float64) < b.After["id"].(float64)
	})
	return out
}

// checkSchemaHistory checks the schema topic and the schema-change topic of
// connector name after the shared scenario: t at versions 1..7 and t2 at 1,
// each stored once, with one change event each, and the listed steps'
// change lists non-empty. ddl, when set, maps a step to text its DDL holds.
func checkSchemaHistory(t *testing.T, all []event, name string, ddl map[int]string) {
	t.Helper()
	keys := map[string]int{}
	var changes []map[string]any
	for _, e := range all {
		switch e.Topic {
		case name + "._schemas":
			keys[e.Key]++
		case name + ".schema-changes":
			var m map[string]any
			json.Unmarshal(e.Value, &m)
			changes = append(changes, m)
		}
	}
	want := []string{name + ".t2@1"}
	for v := 1; v <= 7; v++ {
		want = append(want, fmt.Sprintf("%s.t@%d", name, v))
	}
	for _, k := range want {
		if keys[k] != 1 {
			t.Errorf("schema topic: key %s appears %d times, want once", k, keys[k])
		}
	}
	if len(keys) != len(want) || len(changes) != len(want) {
		t.Errorf("schema topic keys %v and %d schema-change events, want %v", keys, len(changes), want)
	}
	expect := map[int]string{2: `"added"`, 3: `"dropped"`, 4: `"retyped"`, 5: `"renamed"`}
	for _, ch := range changes {
		if ch["table"] != name+".t" {
			continue
		}
		v := int(ch["version"].(float64))
		if list, ok := expect[v]; ok {
			b, _ := json.Marshal(ch["changes"])
			if !strings.Contains(string(b), list+`:[{`) {
				t.Errorf("schema change to v%d: %s, want a non-empty %s list", v, b, list)
			}
		}
		if text, ok := ddl[v]; ok {
			if got, _ := ch["ddl"].(string); !strings.Contains(got, text) {
				t.Errorf("schema change to v%d: ddl %q, want the %s statement", v, got, text)
			}
		}
	}
}
