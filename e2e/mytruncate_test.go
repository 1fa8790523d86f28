//go:build e2e

package e2e

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TRUNCATE on MariaDB is a statement in the binlog, not rows: it becomes a
// truncate event (op "t", no before, no after, no key), in a transaction of
// its own, as on Postgres; "TRUNCATE t" with the statement's default
// database, and "TRUNCATE db.t". After a restart, a TRUNCATE of a table
// whose rows the connector has not read again still carries the table's
// schema version.
func TestMySQLTruncate(t *testing.T) {
	name := uniq("mytrunc")
	db := myConnect(t)
	myDatabase(t, db, name)
	myDatabase(t, db, name+"_off")
	myExec(t, db,
		"CREATE TABLE "+name+".t (id int PRIMARY KEY, v varchar(10))",
		"CREATE TABLE "+name+".u (id int PRIMARY KEY)",
		"CREATE TABLE "+name+"_off.t (id int PRIMARY KEY)",
	)
	p, cfg := myStartCDC(t, name, "  transaction_topic: "+name+".transactions\n  batch:\n    linger: 20ms\n")
	c := newConsumer(t, "^"+name+`\.(`+name+`(_off)?\..+|transactions)$`)

	myExec(t, db, "INSERT INTO "+name+".t VALUES (1, 'a'), (2, 'b')", "INSERT INTO "+name+".u VALUES (1)", "INSERT INTO "+name+"_off.t VALUES (1)")
	tTopic, uTopic := name+"."+name+".t", name+"."+name+".u"
	c.until(60*time.Second, func(es []event) bool { return len(byKey(es, tTopic)) == 2 && len(byKey(es, uTopic)) == 1 })
	myExec(t, db, "USE "+name, "TRUNCATE TABLE t", "INSERT INTO t VALUES (3, 'c')")
	myExec(t, db, "USE "+name+"_off", "TRUNCATE "+name+".u", "TRUNCATE t")
	c.until(60*time.Second, func(es []event) bool { return len(byKey(es, tTopic)[""]) == 1 && len(byKey(es, uTopic)[""]) == 1 })
	es := c.settle(2 * time.Second)

	ts := byKey(es, tTopic)
	want := map[string][]string{`{"id":1}`: {"c"}, `{"id":2}`: {"c"}, `{"id":3}`: {"c"}, "": {"t"}}
	got := map[string][]string{}
	for k, evs := range ts {
		got[k] = summary(t, evs)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events of t by key: got %v, want %v", got, want)
	}
	tr := ts[""][0]
	v := tr.env(t)
	if v.Before != nil || v.After != nil || v.Source["table"] != "t" || v.Source["db"] != name || v.Source["gtid"] == nil {
		t.Errorf("truncate event: %s", tr.Value)
	}
	if tr.Headers["cdc.schema.version"] != "1" {
		t.Errorf("truncate event headers %v, want cdc.schema.version 1", tr.Headers)
	}
	// In commit order: after rows 1 and 2, before row 3.
	seq := gtidSeq(t, v.Source["gtid"])
	if s := gtidSeq(t, ts[`{"id":1}`][0].env(t).Source["gtid"]); s >= seq {
		t.Errorf("truncate at GTID seq %d, row 1 at %d", seq, s)
	}
	if s := gtidSeq(t, ts[`{"id":3}`][0].env(t).Source["gtid"]); s <= seq {
		t.Errorf("truncate at GTID seq %d, row 3 at %d", seq, s)
	}
	if u := byKey(es, uTopic); len(u[""]) != 1 || len(u) != 2 {
		t.Errorf("events of u by key: %v", keys(u))
	}
	for _, e := range es {
		if e.Topic == name+"."+name+"_off.t" {
			t.Errorf("uncaptured table on topic %s", e.Topic)
		}
	}
	// Each truncate is a transaction: 2 inserts, 1 truncate, 1 insert, 1 truncate.
	if begins, ends := txMarkers(es, name+".transactions"); begins != 5 || ends != 5 {
		t.Errorf("transaction topic: %d BEGIN, %d END; want 5 each", begins, ends)
	}
	p.stopOK()

	// After a restart the connector has read no rows of u: the truncate
	// still carries u's schema version.
	p = startCDC(t, cfg)
	waitStreaming(t, p)
	myExec(t, db, "TRUNCATE TABLE "+name+".u")
	es = c.until(60*time.Second, func(es []event) bool { return len(byKey(es, uTopic)[""]) == 2 })
	if h := byKey(es, uTopic)[""][1].Headers; h["cdc.schema.version"] != "1" {
		t.Errorf("truncate after a restart: headers %v, want cdc.schema.version 1", h)
	}
	p.stopOK()
}

// A table created while the connector runs, matching a source.tables
// pattern, is captured from its first row; one that does not match is not.
func TestMySQLNewTableLive(t *testing.T) {
	name := uniq("mylive")
	db := myConnect(t)
	myDatabase(t, db, name)
	text := myConfig(name, newServerID(), "  batch:\n    linger: 20ms\n")
	cfg := writeConfig(t, strings.Replace(text, `tables: ["`+name+`.*"]`, `tables: ["`+name+`.live_*"]`, 1))
	p := startCDC(t, cfg)
	waitStreaming(t, p)
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	myExec(t, db,
		"CREATE TABLE "+name+".live_a (id int PRIMARY KEY, v varchar(10))",
		"INSERT INTO "+name+".live_a VALUES (1, 'first')",
		"INSERT INTO "+name+".live_a VALUES (2, 'x'), (3, 'y')",
		"CREATE TABLE "+name+".other (id int PRIMARY KEY)",
		"INSERT INTO "+name+".other VALUES (1)",
		"CREATE TABLE "+name+".live_b (id int PRIMARY KEY)",
		"BEGIN", "INSERT INTO "+name+".live_b VALUES (1)", "UPDATE "+name+".live_a SET v = 'z' WHERE id = 3", "COMMIT",
	)
	live := name + "." + name + ".live_a"
	es := c.until(60*time.Second, func(es []event) bool { return len(byKey(es, name+"."+name+".live_b")) == 1 })
	es = c.settle(2 * time.Second)
	got := map[string][]string{}
	for k, evs := range byKey(es, live) {
		got[k] = summary(t, evs)
	}
	if want := map[string][]string{`{"id":1}`: {"c"}, `{"id":2}`: {"c"}, `{"id":3}`: {"c", "u"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("live_a by key: got %v, want %v", got, want)
	}
	for _, e := range es {
		if e.Topic == name+"."+name+".other" {
			t.Errorf("table not matching the pattern on topic %s", e.Topic)
		}
	}
	p.stopOK()
}
