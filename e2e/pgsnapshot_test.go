//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// snapshotRecords reads the progress records of a connector's snapshot
// topic: table -> newest record.
func snapshotRecords(t *testing.T, name string, want func(map[string]map[string]any) bool) map[string]map[string]any {
	t.Helper()
	c := newSchemaConsumer(t, "^"+name+`\._snapshots$`)
	latest := map[string]map[string]any{}
	c.until(60*time.Second, func(es []event) bool {
		for _, e := range es {
			var v map[string]any
			if err := json.Unmarshal(e.Value, &v); err != nil {
				t.Fatalf("progress record %s: %v", e.Value, err)
			}
			latest[e.Key] = v
		}
		return want(latest)
	})
	return latest
}

// snapDB is what a snapshot scenario needs of one database: the scenario
// is written once, against both.
type snapDB struct {
	kind string
	// exec runs statements in order on one connection.
	exec func(t *testing.T, sqls ...string)
	// create makes the test's schema (database), dropped at the end with
	// the connector's slot where there is one.
	create func(t *testing.T, name string)
	// start starts a connector capturing every table of the schema.
	start func(t *testing.T, name, extra string) (*proc, string)
	// series is a row source of the integers 1..n, column "i".
	series func(n int) string
	// text is the column type for short strings.
	text string
}

func pgSnapDB(t *testing.T) snapDB {
	db := pgConnect(t)
	return snapDB{
		kind: "postgres",
		exec: func(t *testing.T, sqls ...string) { pgExec(t, db, sqls...) },
		create: func(t *testing.T, name string) {
			pgExec(t, db, "CREATE SCHEMA "+name)
			dropSlotAtEnd(t, db, name, name)
		},
		start:  pgStartCDC,
		series: func(n int) string { return fmt.Sprintf("(SELECT generate_series(1, %d) AS i) s", n) },
		text:   "text",
	}
}

func mySnapDB(t *testing.T) snapDB {
	db := myConnect(t)
	return snapDB{
		kind:   "mariadb",
		exec:   func(t *testing.T, sqls ...string) { myExec(t, db, sqls...) },
		create: func(t *testing.T, name string) { myDatabase(t, db, name) },
		start:  myStartCDC,
		series: func(n int) string { return fmt.Sprintf("(SELECT seq AS i FROM seq_1_to_%d) s", n) },
		text:   "varchar(100)",
	}
}

func TestPGSnapshotExistingRows(t *testing.T) {
	t.Parallel()
	testSnapshotExistingRows(t, pgSnapDB(t), uniq("pgsnap"))
}

func TestMySnapshotExistingRows(t *testing.T) {
	t.Parallel()
	testSnapshotExistingRows(t, mySnapDB(t), uniq("mysnap"))
}

// Rows that exist before the connector's first start arrive once each as
// snapshot reads, chunk by chunk, then streamed changes follow on the same
// topics; a restart does not snapshot again.
func testSnapshotExistingRows(t *testing.T, d snapDB, name string) {
	const n = 10000
	d.create(t, name)
	d.exec(t,
		"CREATE TABLE "+name+".orders (id bigint PRIMARY KEY, note "+d.text+", qty int)",
		fmt.Sprintf("INSERT INTO %s.orders SELECT i, CONCAT('row ', i), i %% 7 FROM %s", name, d.series(n)),
		// A composite key in another order than the columns, with a text part.
		"CREATE TABLE "+name+".line (b varchar(20), a int, v int, PRIMARY KEY (a, b))",
		"INSERT INTO "+name+".line SELECT CONCAT(CHR(65 + i % 26), i), i % 13, i FROM "+d.series(500),
		"CREATE TABLE "+name+".empty (id int PRIMARY KEY)",
	)
	extra := "  batch:\n    linger: 20ms\nsnapshot:\n  chunk_size: 100\n"
	p, _ := d.start(t, name, extra)
	p.logOnFailure()

	orders, lines := name+"."+name+".orders", name+"."+name+".line"
	c := newConsumer(t, "^"+name+`\.`)
	es := c.atLeast(n+500, 120*time.Second)
	seen := map[string]int{}
	for _, e := range es {
		env := e.env(t)
		if env.Op != "r" {
			t.Fatalf("event %s %s before the snapshot's rows were all read: op %q", e.Topic, e.Key, env.Op)
		}
		if env.Source["snapshot"] != "true" {
			t.Fatalf("snapshot row %s: source.snapshot = %v, want \"true\"", e.Key, env.Source["snapshot"])
		}
		seen[e.Topic+" "+e.Key]++
	}
	for i := 1; i <= n; i++ {
		k := fmt.Sprintf(`%s {"id":%d}`, orders, i)
		if seen[k] != 1 {
			t.Fatalf("orders row %d: %d snapshot events, want 1", i, seen[k])
		}
	}
	for i := 1; i <= 500; i++ {
		k := fmt.Sprintf(`%s {"b":"%c%d","a":%d}`, lines, 65+i%26, i, i%13)
		if seen[k] != 1 {
			t.Fatalf("line row %d (%s): %d snapshot events, want 1", i, k, seen[k])
		}
	}
	if len(seen) != n+500 {
		t.Fatalf("%d distinct snapshot rows, want %d", len(seen), n+500)
	}
	recs := snapshotRecords(t, name, func(m map[string]map[string]any) bool {
		return len(m) == 3 && m[name+".orders"]["state"] == "done" && m[name+".line"]["state"] == "done" && m[name+".empty"]["state"] == "done"
	})
	if r := recs[name+".orders"]; r["rows"] != float64(n) || r["chunks"] != float64(n/100) {
		t.Errorf("orders progress %v: want %d rows in %d chunks", r, n, n/100)
	}
	waitLog(t, p, "snapshot done")

	// The stream goes on after the snapshot.
	d.exec(t,
		"UPDATE "+name+".orders SET note = 'changed' WHERE id = 5",
		"DELETE FROM "+name+".orders WHERE id = 6",
		"INSERT INTO "+name+".orders VALUES (20000, 'new', 1)",
	)
	es = c.atLeast(n+500+4, 60*time.Second)
	var ops []string
	for _, e := range es[n+500:] {
		if e.Value == nil {
			ops = append(ops, "tombstone")
			continue
		}
		env := e.env(t)
		if env.Source["snapshot"] != "false" {
			t.Errorf("streamed event %s: source.snapshot = %v, want \"false\"", e.Key, env.Source["snapshot"])
		}
		ops = append(ops, env.Op)
	}
	// Three keys on three partitions: their order is per key only.
	sort.Strings(ops)
	if strings.Join(ops, ",") != "c,d,tombstone,u" {
		t.Errorf("streamed after the snapshot: %v, want c, d, tombstone, u", ops)
	}
	p.stopOK()

	// A restart does not snapshot again.
	p2, _ := d.start(t, name, extra)
	p2.logOnFailure()
	d.exec(t, "INSERT INTO "+name+".orders VALUES (20001, 'after restart', 1)")
	c.atLeast(n+500+5, 60*time.Second)
	es = c.settle(2 * time.Second)
	if len(es) != n+500+5 {
		t.Errorf("after a restart: %d events, want %d (no second snapshot)", len(es), n+500+5)
	}
	p2.stopOK()
}

// afterJSON returns the raw "after" object of an event's value.
func afterJSON(t *testing.T, e event) []byte {
	t.Helper()
	var v struct {
		After json.RawMessage `json:"after"`
	}
	if err := json.Unmarshal(e.Value, &v); err != nil {
		t.Fatalf("decoding %s: %v", e.Value, err)
	}
	return v.After
}

// A row read by the snapshot and the same row streamed have byte-identical
// "after" values, for every type: the snapshot decodes with the stream's
// decoder and the stream's session settings.
func TestPGSnapshotAfterEqualsStream(t *testing.T) {
	name := uniq("pgsnapeq")
	db := pgConnect(t)
	cols := []struct{ typ, val string }{
		{"smallint", "-32768"}, {"integer", "2147483647"}, {"bigint", "-9223372036854775808"},
		{"numeric(20,5)", "12345.67890"}, {"numeric", "'NaN'"}, {"real", "1.5e-7"}, {"double precision", "'-Infinity'"},
		{"double precision", "0.1"}, {"money", "'-12.34'"},
		{"boolean", "true"}, {"text", "'héllo \"quoted\" \\ back'"}, {"varchar(10)", "'abc'"}, {"char(5)", "'ab'"},
		{"bytea", "'\\x00ff10'::bytea"}, {"uuid", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"},
		{"json", `'{"b": 1,  "a": [1,2]}'`}, {"jsonb", `'{"b": 1, "a": [1, 2.50]}'`},
		{"date", "'2024-02-29'"}, {"date", "'infinity'"}, {"time", "'23:59:59.999999'"}, {"timetz", "'10:00:00+05:30'"},
		{"timestamp", "'1999-12-31 23:59:59.5'"}, {"timestamptz", "'2024-02-29 13:14:15.123456+02'"},
		{"interval", "'1 year 2 mons -3 days 04:05:06.7'"}, {"inet", "'192.168.0.1/24'"}, {"cidr", "'10.0.0.0/8'"},
		{"macaddr", "'08:00:2b:01:02:03'"}, {"bit(4)", "B'1010'"}, {"varbit", "B'101'"},
		{"int[]", "'{1,NULL,3}'"}, {"text[]", `'{"a b","c,d"}'`}, {"point", "'(1.5,2)'"}, {"xml", "'<a>x</a>'"},
		{"tsvector", "'a fat cat'"}, {"int4range", "'[1,10)'"}, {"oid", "42"}, {"text", "NULL"},
	}
	var defs, vals []string
	for i, c := range cols {
		defs = append(defs, fmt.Sprintf("c%d %s", i, c.typ))
		vals = append(vals, c.val)
	}
	pgExec(t, db,
		"CREATE SCHEMA "+name,
		"CREATE TABLE "+name+".t (id int PRIMARY KEY, "+strings.Join(defs, ", ")+")",
		"INSERT INTO "+name+".t VALUES (1, "+strings.Join(vals, ", ")+")",
	)
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "  batch:\n    linger: 20ms\n")
	p.logOnFailure()
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(1, 60*time.Second)
	// Rewrite every column with its own value: the stream carries the full row.
	pgExec(t, db, "UPDATE "+name+".t SET id = id")
	es := c.atLeast(2, 60*time.Second)
	if a, b := es[0].env(t).Op, es[1].env(t).Op; a != "r" || b != "u" {
		t.Fatalf("ops %s, %s; want r, u", a, b)
	}
	snap, streamed := afterJSON(t, es[0]), afterJSON(t, es[1])
	if !bytes.Equal(snap, streamed) {
		var a, b map[string]json.RawMessage
		json.Unmarshal(snap, &a)
		json.Unmarshal(streamed, &b)
		for i, col := range cols {
			k := fmt.Sprintf("c%d", i)
			if !bytes.Equal(a[k], b[k]) {
				t.Errorf("%s (%s = %s): snapshot %s, stream %s", k, col.typ, col.val, a[k], b[k])
			}
		}
		t.Fatalf("after differs:\nsnapshot %s\nstream   %s", snap, streamed)
	}
	if len(es[0].Headers) == 0 || es[0].Headers["cdc.schema.version"] != es[1].Headers["cdc.schema.version"] {
		t.Errorf("schema version headers: snapshot %v, stream %v", es[0].Headers, es[1].Headers)
	}
	p.stopOK()
}

// The MariaDB counterpart of TestPGSnapshotAfterEqualsStream: every type the
// MySQL source decodes, read by a chunk (binary protocol) and by the binlog.
func TestMySnapshotAfterEqualsStream(t *testing.T) {
	t.Parallel()
	name := uniq("mysnapeq")
	db := myConnect(t)
	myDatabase(t, db, name)
	cols := []struct{ typ, val string }{
		{"tinyint", "-128"}, {"tinyint unsigned", "255"}, {"smallint", "-32768"}, {"mediumint unsigned", "16777215"},
		{"int", "-2147483648"}, {"int unsigned", "4294967295"}, {"bigint", "-9223372036854775808"}, {"bigint unsigned", "18446744073709551615"},
		{"decimal(30,10)", "-12345678901234567890.0123456789"}, {"decimal(5,0)", "0"},
		{"float", "16777216"}, {"float", "-1.17549e-38"}, {"double", "0.1"}, {"double", "-1.7976931348623157e308"},
		{"bit(1)", "b'1'"}, {"bit(13)", "b'1010101010101'"}, {"year", "1901"}, {"year", "0"},
		{"date", "'2024-02-29'"}, {"date", "'0000-00-00'"}, {"datetime", "'1000-01-01 00:00:00'"}, {"datetime(6)", "'9999-12-31 23:59:59.999999'"},
		{"datetime(3)", "'2024-02-29 13:14:15.120'"}, {"timestamp(6)", "'2038-01-19 03:14:07.499999'"}, {"timestamp", "'1970-01-01 00:00:01'"},
		{"time", "'-838:59:59'"}, {"time(6)", "'-00:00:00.000001'"}, {"time(2)", "'12:34:56.70'"},
		{"char(5)", "'ab'"}, {"varchar(20)", "'héllo \"q\" \\\\'"}, {"varchar(10) CHARACTER SET latin1", "'caf\xc3\xa9'"},
		{"text", "'long text'"}, {"tinytext CHARACTER SET utf8mb4", "'😀'"}, {"binary(4)", "x'0102'"}, {"varbinary(10)", "x'00ff00'"},
		{"blob", "x'deadbeef'"}, {"enum('a','b','c')", "'b'"}, {"set('x','y','z')", "'x,z'"}, {"json", `'{"b": 1, "a": [1, 2.50, null]}'`},
		{"inet6", "'2001:db8::ff00:42:8329'"}, {"inet4", "'192.168.0.1'"}, {"uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"},
		{"int", "NULL"},
	}
	var defs, vals []string
	for i, c := range cols {
		defs = append(defs, fmt.Sprintf("c%d %s", i, c.typ))
		vals = append(vals, c.val)
	}
	myExec(t, db,
		"SET SESSION sql_mode = 'ALLOW_INVALID_DATES'",
		"CREATE TABLE "+name+".t (id int PRIMARY KEY, touch int, "+strings.Join(defs, ", ")+")",
		"INSERT INTO "+name+".t VALUES (1, 0, "+strings.Join(vals, ", ")+")",
	)
	p, _ := myStartCDC(t, name, "  batch:\n    linger: 20ms\n")
	p.logOnFailure()
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(1, 60*time.Second)
	// The binlog carries the full row image (binlog_row_image=FULL).
	myExec(t, db, "UPDATE "+name+".t SET touch = 1")
	es := c.atLeast(2, 60*time.Second)
	if a, b := es[0].env(t).Op, es[1].env(t).Op; a != "r" || b != "u" {
		t.Fatalf("ops %s, %s; want r, u", a, b)
	}
	var a, b map[string]json.RawMessage
	json.Unmarshal(afterJSON(t, es[0]), &a)
	json.Unmarshal(afterJSON(t, es[1]), &b)
	for i, col := range cols {
		k := fmt.Sprintf("c%d", i)
		if !bytes.Equal(a[k], b[k]) {
			t.Errorf("%s (%s = %s): snapshot %s, stream %s", k, col.typ, col.val, a[k], b[k])
		}
	}
	if len(a) != len(cols)+2 {
		t.Errorf("snapshot after has %d columns, want %d", len(a), len(cols)+2)
	}
	if es[0].Headers["cdc.schema.version"] == "" || es[0].Headers["cdc.schema.version"] != es[1].Headers["cdc.schema.version"] {
		t.Errorf("schema version headers: snapshot %v, stream %v", es[0].Headers, es[1].Headers)
	}
	p.stopOK()
}

// snapshot.mode when_needed: a checkpoint whose binlog is purged starts
// over at the current position with a new snapshot, which reads the rows
// the gap lost; initial (TestMySQLPurgedCheckpoint) stops instead.
func TestMySnapshotWhenNeeded(t *testing.T) {
	name := uniq("mysnapwn")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY, v int)", "INSERT INTO "+name+".t VALUES (1, 1)", "FLUSH BINARY LOGS")
	extra := "  batch:\n    linger: 0s\nsnapshot:\n  mode: when_needed\n"
	p, cfg := myStartCDC(t, name, extra)
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	c.atLeast(1, 60*time.Second)
	p.stopOK()

	myExec(t, db, "UPDATE "+name+".t SET v = 2 WHERE id = 1", "INSERT INTO "+name+".t VALUES (2, 1)", "FLUSH BINARY LOGS")
	purgeBinlogs(t, db)
	myExec(t, db, "INSERT INTO "+name+".t VALUES (3, 1)")

	p = startCDC(t, cfg)
	p.logOnFailure()
	waitLog(t, p, "snapshot done")
	if !strings.Contains(p.Log(), "no longer available; snapshot.mode when_needed snapshots the tables again") {
		t.Errorf("no warning about the purged position")
	}
	myExec(t, db, "INSERT INTO "+name+".t VALUES (4, 1)")
	es := c.atLeast(5, 60*time.Second)
	es = c.settle(2 * time.Second)
	var got []string
	for _, e := range es {
		env := e.env(t)
		got = append(got, fmt.Sprintf("%s %s v=%v", env.Op, e.Key, env.After["v"]))
	}
	sort.Strings(got)
	want := `c {"id":4} v=1,r {"id":1} v=1,r {"id":1} v=2,r {"id":2} v=1,r {"id":3} v=1`
	if strings.Join(got, ",") != want {
		t.Errorf("events:\n%s\nwant (the first run's snapshot, the new snapshot, then the stream):\n%s", strings.Join(got, "\n"), strings.ReplaceAll(want, ",", "\n"))
	}
	p.stopOK()
}

func TestPGSnapshotKeyless(t *testing.T) {
	t.Parallel()
	testSnapshotKeyless(t, pgSnapDB(t), uniq("pgsnapnk"))
}

func TestMySnapshotKeyless(t *testing.T) {
	t.Parallel()
	testSnapshotKeyless(t, mySnapDB(t), uniq("mysnapnk"))
}

// A table without a primary key is read in one pass: every row once, with
// a null key, and a done record marked one_pass. A pass cut by SIGKILL is
// read again from its first row by the next run (the documented fallback:
// the rows of the cut pass that were committed come twice).
func testSnapshotKeyless(t *testing.T, d snapDB, name string) {
	const n = 3000
	d.create(t, name)
	d.exec(t,
		"CREATE TABLE "+name+".log (at int, msg "+d.text+")",
		fmt.Sprintf("INSERT INTO %s.log SELECT i, CONCAT('m', i) FROM %s", name, d.series(n)),
	)
	p, _ := d.start(t, name, "  batch:\n    linger: 10ms\nsnapshot:\n  chunk_size: 100\n")
	p.logOnFailure()
	topic := name + "." + name + ".log"
	c := newConsumer(t, "^"+name+`\.`)
	es := c.atLeast(n, 60*time.Second)
	es = c.settle(time.Second)
	seen := map[float64]int{}
	for _, e := range es {
		env := e.env(t)
		if e.Topic != topic || env.Op != "r" || e.Key != "" {
			t.Fatalf("event %s key %q op %s; want snapshot reads with a null key", e.Topic, e.Key, env.Op)
		}
		seen[env.After["at"].(float64)]++
	}
	for i := 1; i <= n; i++ {
		if seen[float64(i)] != 1 {
			t.Fatalf("row %d read %d times, want 1", i, seen[float64(i)])
		}
	}
	recs := snapshotRecords(t, name, func(m map[string]map[string]any) bool { return m[name+".log"]["state"] == "done" })
	if r := recs[name+".log"]; r["one_pass"] != true || r["rows"] != float64(n) {
		t.Errorf("progress %v: want one_pass and %d rows", r, n)
	}
	if !strings.Contains(p.Log(), "table has no primary key: snapshot in one pass") {
		t.Errorf("the log does not say the table is read in one pass")
	}
	p.stopOK()
}

func TestPGSnapshotKeylessKill(t *testing.T) {
	t.Parallel()
	testSnapshotKeylessKill(t, pgSnapLoad(t), uniq("pgsnapnkk"))
}

func TestMySnapshotKeylessKill(t *testing.T) {
	t.Parallel()
	testSnapshotKeylessKill(t, mySnapLoad(t), uniq("mysnapnkk"))
}

// A one-pass read cut by SIGKILL starts over from the first row in the next
// run; every row arrives, the committed part of the cut pass twice.
func testSnapshotKeylessKill(t *testing.T, l snapLoad, name string) {
	const n = 20000
	l.create(t, name)
	l.exec(t,
		"CREATE TABLE "+name+".log (at int, msg "+l.text+")",
		fmt.Sprintf("INSERT INTO %s.log SELECT i, CONCAT('m', i) FROM %s", name, l.series(n)),
	)
	extra := "  batch:\n    linger: 10ms\nsnapshot:\n  chunk_size: 10\n"
	p := l.startRaw(t, name, extra)
	waitLog(t, p, "snapshot in one pass")
	// Kill once part of the pass is committed.
	snapshotRecords(t, name, func(m map[string]map[string]any) bool { return m[name+".log"]["state"] == "running" })
	if strings.Contains(p.Log(), "snapshot done") {
		t.Skip("the pass ended before the kill; nothing to test on this machine")
	}
	p.kill()
	p = l.startRaw(t, name, extra)
	p.logOnFailure()
	waitLogTimeout(t, p, "snapshot done", 5*time.Minute)
	if !strings.Contains(p.Log(), "was interrupted; reading it again from its first row") {
		t.Errorf("the restart did not say it reads the table again")
	}
	c := newConsumer(t, "^"+name+`\.`)
	es := c.atLeast(n, 60*time.Second)
	es = c.settle(time.Second)
	seen := map[float64]int{}
	for _, e := range es {
		seen[e.env(t).After["at"].(float64)]++
	}
	twice := 0
	for i := 1; i <= n; i++ {
		switch seen[float64(i)] {
		case 1:
		case 2:
			twice++
		default:
			t.Fatalf("row %d read %d times, want 1 or 2", i, seen[float64(i)])
		}
	}
	t.Logf("%d rows, %d of them twice (committed by the cut pass)", n, twice)
	p.stopOK()
}
