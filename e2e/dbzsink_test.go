//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 10's acceptance test for events.format: debezium. Debezium's own
// JDBC sink connector, on Kafka Connect, reads cdc's topics (Debezium
// values, Connect schemas on keys and values) from PostgreSQL and MariaDB
// and applies inserts, updates, key changes and deletes into Postgres
// tables created beforehand with the source's own column types. Afterwards
// each target table equals its source, row for row and value for value.

// sinkColumn is one column of the sink test: its type in the source and in
// the Postgres target, and SQL that reads it as comparable text on each
// side.
type sinkColumn struct {
	name      string
	src, dst  string // column types
	srcRead   string // SQL for the source's value as text; "" means name::text (Postgres)
	dstRead   string // SQL for the target's value as text; "" means name::text
	values    []string
	streamSet string // the value an update sets
	// norm, when set, brings both sides' text to one form (JSON spacing,
	// float exponents) before they are compared.
	norm func(string) string
}

// normJSON re-encodes JSON text compactly, keys sorted.
func normJSON(s string) string {
	var v any
	if s == "NULL" || json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// normFloat writes a float's text in Go's shortest form.
func normFloat(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// pgSinkColumns: a source Postgres table and the same types in the target.
var pgSinkColumns = []sinkColumn{
	{name: "i2", src: "smallint", values: []string{"-32768", "32767", "0"}, streamSet: "7"},
	{name: "i8", src: "bigint", values: []string{"-9223372036854775808", "9223372036854775807", "0"}, streamSet: "-1"},
	{name: "r4", src: "real", values: []string{"1.5", "-3.4028235e38", "0"}, streamSet: "0.25"},
	{name: "f8", src: "double precision", values: []string{"0.1", "-1.7976931348623157e308", "5e-324"}, streamSet: "2.5"},
	{name: "n", src: "numeric(12,3)", values: []string{"123456789.123", "-0.001", "0"}, streamSet: "42.5"},
	{name: "nv", src: "numeric", values: []string{"12345678901234567890.000000000001", "-1.10", "0"}, streamSet: "3.14159"},
	{name: "t", src: "text", values: []string{"'héllo wörld ✓'", "''", "'line\nbreak \"quoted\"'"}, streamSet: "'changed'"},
	{name: "vc", src: "varchar(20)", values: []string{"'abc'", "'ünï'", "''"}, streamSet: "'x'"},
	{name: "c3", src: "char(3)", values: []string{"'ab'", "'xyz'", "' '"}, streamSet: "'q'"},
	{name: "b", src: "boolean", values: []string{"true", "false", "true"}, streamSet: "false"},
	{name: "by", src: "bytea", values: []string{`'\xdeadbeef'`, `'\x'`, `'\x00ff00'`}, streamSet: `'\x01'`},
	{name: "j", src: "json", values: []string{`'{"a": [1, 2.50]}'`, `'[]'`, `'"s"'`}, streamSet: `'{"b": null}'`},
	{name: "jb", src: "jsonb", values: []string{`'{"a": {"b": [true, null]}}'`, `'{}'`, `'1.5'`}, streamSet: `'[1]'`},
	{name: "u", src: "uuid", values: []string{"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"}, streamSet: "'123e4567-e89b-12d3-a456-426614174000'"},
	{name: "d", src: "date", values: []string{"'2024-02-29'", "'1970-01-01'", "'1900-03-01'"}, streamSet: "'2038-01-19'"},
	{name: "tm", src: "time", values: []string{"'13:14:15.123456'", "'00:00:00'", "'23:59:59.999999'"}, streamSet: "'12:00:00.5'"},
	{name: "tm3", src: "time(3)", values: []string{"'13:14:15.123'", "'00:00:00'", "'23:59:59.999'"}, streamSet: "'01:02:03.4'"},
	{name: "ts", src: "timestamp", values: []string{"'2024-02-29 13:14:15.123456'", "'1970-01-01 00:00:00'", "'1969-12-31 23:59:59.999999'"}, streamSet: "'2001-02-03 04:05:06.7'"},
	{name: "ts3", src: "timestamp(3)", values: []string{"'2024-02-29 13:14:15.123'", "'1900-01-01 00:00:00'", "'2099-12-31 23:59:59.999'"}, streamSet: "'2001-02-03 04:05:06.7'"},
	{name: "tz", src: "timestamptz", values: []string{"'2024-02-29 13:14:15.123456+02'", "'1970-01-01 00:00:00+00'", "'1999-12-31 23:59:59.999999-08'"}, streamSet: "'2030-06-15 12:00:00+00'"},
	{name: "ia", src: "int[]", values: []string{"'{1,2,3}'", "'{}'", "'{-1,NULL,0}'"}, streamSet: "'{9}'"},
	{name: "ta", src: "text[]", values: []string{`'{"a b","c,d"}'`, "'{}'", `'{"é",NULL}'`}, streamSet: "'{x}'"},
}

// mySinkColumns: a source MariaDB table, the matching Postgres types in
// the target, and how each side reads a value as the same text.
var mySinkColumns = []sinkColumn{
	{name: "ti", src: "tinyint", dst: "smallint", values: []string{"-128", "127", "0"}, streamSet: "5"},
	{name: "tu", src: "tinyint unsigned", dst: "smallint", values: []string{"0", "255", "1"}, streamSet: "6"},
	{name: "si", src: "smallint", dst: "smallint", values: []string{"-32768", "32767", "0"}, streamSet: "7"},
	{name: "su", src: "smallint unsigned", dst: "integer", values: []string{"0", "65535", "1"}, streamSet: "8"},
	{name: "mi", src: "mediumint", dst: "integer", values: []string{"-8388608", "8388607", "0"}, streamSet: "9"},
	{name: "ii", src: "int", dst: "integer", values: []string{"-2147483648", "2147483647", "0"}, streamSet: "10"},
	{name: "iu", src: "int unsigned", dst: "bigint", values: []string{"0", "4294967295", "1"}, streamSet: "11"},
	{name: "bi", src: "bigint", dst: "bigint", values: []string{"-9223372036854775808", "9223372036854775807", "0"}, streamSet: "12"},
	{name: "f8", src: "double", dst: "double precision", norm: normFloat, values: []string{"0.1", "-1.5e300", "0"}, streamSet: "2.5"},
	{name: "dc", src: "decimal(20,6)", dst: "numeric(20,6)", values: []string{"-12345678901234.000001", "0.5", "0"}, streamSet: "99.999999"},
	{name: "vc", src: "varchar(20)", dst: "varchar(20)", values: []string{"'héllo ✓'", "''", "'x'"}, streamSet: "'changed'"},
	{name: "tx", src: "text", dst: "text", values: []string{"'line\nbreak'", "''", "'😀'"}, streamSet: "'t'"},
	{name: "vb", src: "varbinary(8)", dst: "bytea", srcRead: "LOWER(HEX(vb))", dstRead: "encode(vb, 'hex')",
		values: []string{"X'DEADBEEF'", "X''", "X'00FF00'"}, streamSet: "X'01'"},
	{name: "d", src: "date", dst: "date", values: []string{"'2024-02-29'", "'1970-01-01'", "'1900-03-01'"}, streamSet: "'2038-01-19'"},
	{name: "dt", src: "datetime", dst: "timestamp(0)", srcRead: "DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s')", dstRead: "to_char(dt, 'YYYY-MM-DD HH24:MI:SS')",
		values: []string{"'2024-02-29 13:14:15'", "'1970-01-01 00:00:00'", "'1900-01-01 00:00:00'"}, streamSet: "'2001-02-03 04:05:06'"},
	{name: "dt3", src: "datetime(3)", dst: "timestamp(3)", srcRead: "DATE_FORMAT(dt3, '%Y-%m-%d %H:%i:%s.%f')", dstRead: "to_char(dt3, 'YYYY-MM-DD HH24:MI:SS.US')",
		values: []string{"'2024-02-29 13:14:15.123'", "'1970-01-01 00:00:00'", "'2099-12-31 23:59:59.999'"}, streamSet: "'2001-02-03 04:05:06.7'"},
	{name: "dt6", src: "datetime(6)", dst: "timestamp(6)", srcRead: "DATE_FORMAT(dt6, '%Y-%m-%d %H:%i:%s.%f')", dstRead: "to_char(dt6, 'YYYY-MM-DD HH24:MI:SS.US')",
		values: []string{"'2024-02-29 13:14:15.123456'", "'1969-12-31 23:59:59.999999'", "'1000-01-01 00:00:00'"}, streamSet: "'2001-02-03 04:05:06.000007'"},
	{name: "ts", src: "timestamp(6) NULL", dst: "timestamptz", srcRead: "DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f')", dstRead: "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
		values: []string{"'2024-02-29 13:14:15.123456'", "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999999'"}, streamSet: "'2001-02-03 04:05:06.5'"},
	{name: "tm", src: "time(6)", dst: "time(6)", srcRead: "TIME_FORMAT(tm, '%H:%i:%s.%f')", dstRead: "to_char(tm, 'HH24:MI:SS.US')",
		values: []string{"'13:14:15.123456'", "'00:00:00'", "'23:59:59.999999'"}, streamSet: "'12:00:00.5'"},
	{name: "yr", src: "year", dst: "integer", values: []string{"2024", "1901", "2155"}, streamSet: "1999"},
	{name: "e", src: "enum('new','paid','shipped')", dst: "text", values: []string{"'new'", "'paid'", "'shipped'"}, streamSet: "'paid'"},
	{name: "st", src: "set('a','b','c')", dst: "text", values: []string{"'a,c'", "''", "'b'"}, streamSet: "'a,b,c'"},
	{name: "j", src: "json", dst: "jsonb", norm: normJSON,
		values: []string{`'{"a":[1,2.5]}'`, `'[]'`, `'"s"'`}, streamSet: `'{"b":1}'`},
}

// sinkRows is the workload both sources run: rows 1-3 exist before cdc
// starts (its snapshot reads them), row 4 is all NULL; then rows 5-6 are
// inserted, row 1 updated, row 2 set to NULL, row 3 deleted, row 5's key
// changed to 50, and row 6 deleted and inserted again.
func sinkInserts(table string, cols []sinkColumn, ids []int) []string {
	var out []string
	for _, id := range ids {
		names := []string{"id"}
		vals := []string{fmt.Sprint(id)}
		for _, c := range cols {
			names = append(names, c.name)
			if id == 4 {
				vals = append(vals, "NULL")
			} else {
				vals = append(vals, c.values[id%len(c.values)])
			}
		}
		out = append(out, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(names, ", "), strings.Join(vals, ", ")))
	}
	return out
}

func sinkStreamed(table string, cols []sinkColumn) []string {
	out := sinkInserts(table, cols, []int{5, 6})
	var set, null []string
	for _, c := range cols {
		set = append(set, c.name+" = "+c.streamSet)
		null = append(null, c.name+" = NULL")
	}
	return append(out,
		"UPDATE "+table+" SET "+strings.Join(set, ", ")+" WHERE id = 1",
		"UPDATE "+table+" SET "+strings.Join(null, ", ")+" WHERE id = 2",
		"DELETE FROM "+table+" WHERE id = 3",
		"UPDATE "+table+" SET id = 50 WHERE id = 5",
		"DELETE FROM "+table+" WHERE id = 6",
		sinkInserts(table, cols, []int{6})[0],
		"UPDATE "+table+" SET "+cols[0].name+" = "+cols[0].streamSet+" WHERE id = 6",
	)
}

func sinkDDL(table string, cols []sinkColumn, target bool) string {
	defs := []string{"id int PRIMARY KEY"}
	for _, c := range cols {
		typ := c.src
		if target && c.dst != "" {
			typ = c.dst
		}
		defs = append(defs, c.name+" "+typ)
	}
	return "CREATE TABLE " + table + " (" + strings.Join(defs, ", ") + ")"
}

func sinkSelect(table string, cols []sinkColumn, target, mysql bool) string {
	exprs := []string{"id"}
	for _, c := range cols {
		e := c.name + "::text"
		if mysql {
			e = "CAST(" + c.name + " AS CHAR)"
		}
		switch {
		case target && c.dstRead != "":
			e = c.dstRead
		case !target && c.srcRead != "":
			e = c.srcRead
		}
		exprs = append(exprs, e)
	}
	return "SELECT " + strings.Join(exprs, ", ") + " FROM " + table + " ORDER BY id"
}

func myRows(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// jdbcSink is Debezium's JDBC sink applying topic to the Postgres table
// target: upserts and deletes by the record key, no schema evolution.
func jdbcSink(name, topic, target string, pg pgConnParts) connectorConfig {
	return connectorConfig{Name: name, Props: map[string]string{
		"connector.class":        "io.debezium.connector.jdbc.JdbcSinkConnector",
		"tasks.max":              "1",
		"topics":                 topic,
		"connection.url":         pg.jdbcURL(),
		"connection.username":    pg.User,
		"connection.password":    pg.Password,
		"insert.mode":            "upsert",
		"primary.key.mode":       "record_key",
		"delete.enabled":         "true",
		"schema.evolution":       "none",
		"collection.name.format": target,
	}}
}

const debeziumMode = `  schema_in_payload: true
events:
  format: debezium
`

func TestDebeziumModeJDBCSink(t *testing.T) {
	requireConnect(t)
	t.Parallel()
	pgc := pgConnect(t)
	mydb := myConnect(t)

	// Postgres source and its target.
	pgName := uniq("dbzsinkpg")
	pgTable, pgTarget := pgName+".items", pgName+"_dst.items"
	pgExec(t, pgc, "CREATE SCHEMA "+pgName, "CREATE SCHEMA "+pgName+"_dst",
		sinkDDL(pgTable, pgSinkColumns, false), sinkDDL(pgTarget, pgSinkColumns, true),
		"ALTER TABLE "+pgTable+" REPLICA IDENTITY FULL")
	pgExec(t, pgc, sinkInserts(pgTable, pgSinkColumns, []int{1, 2, 3, 4})...)
	t.Cleanup(func() {
		pgc.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgName+"_dst CASCADE")
	})
	dropSlotAtEnd(t, pgc, pgName, pgName)

	// MariaDB source; its target is in Postgres.
	myName := uniq("dbzsinkmy")
	myDatabase(t, mydb, myName)
	myTable, myTarget := myName+".items", myName+"_dst.items"
	myExec(t, mydb, sinkDDL(myTable, mySinkColumns, false))
	myExec(t, mydb, sinkInserts(myTable, mySinkColumns, []int{1, 2, 3, 4})...)
	pgExec(t, pgc, "CREATE SCHEMA "+myName+"_dst", sinkDDL(myTarget, mySinkColumns, true))
	t.Cleanup(func() {
		pgc.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+myName+"_dst CASCADE")
	})

	pgTopic, myTopic := pgName+"."+pgTable, myName+"."+myTable
	createTopics(t, pgTopic, myTopic)
	deleteTopicsAtEnd(t, pgTopic, myTopic)

	pgProc, _ := pgStartCDC(t, pgName, debeziumMode)
	myProc, _ := myStartCDC(t, myName, debeziumMode)

	pg := pgParts(t)
	pgSink := jdbcSink(pgName+"-sink", pgTopic, pgTarget, pg)
	mySink := jdbcSink(myName+"-sink", myTopic, myTarget, pg)
	w := startConnect(t, []connectorConfig{pgSink, mySink})
	w.waitRunning(2*time.Minute, pgSink.Name, mySink.Name)

	pgExec(t, pgc, sinkStreamed(pgTable, pgSinkColumns)...)
	myExec(t, mydb, sinkStreamed(myTable, mySinkColumns)...)

	compare := func(what string, cols []sinkColumn, want func() [][]string, got func() [][]string) {
		t.Helper()
		norm := func(rows [][]string) [][]string {
			for _, r := range rows {
				for i, c := range cols {
					if c.norm != nil {
						r[i+1] = c.norm(r[i+1])
					}
				}
			}
			return rows
		}
		const applyTimeout = 90 * time.Second
		deadline := time.Now().Add(applyTimeout)
		for {
			w, g := norm(want()), norm(got())
			if fmt.Sprint(g) == fmt.Sprint(w) {
				t.Logf("%s: target equals source (%d rows)", what, len(g))
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: target differs from the source after %v\n%s", what, applyTimeout, diffRows(w, g))
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	compare("postgres", pgSinkColumns, func() [][]string { return pgRows(t, pgc, sinkSelect(pgTable, pgSinkColumns, false, false)) },
		func() [][]string { return pgRows(t, pgc, sinkSelect(pgTarget, pgSinkColumns, true, false)) })
	compare("mariadb", mySinkColumns, func() [][]string { return myRows(t, mydb, sinkSelect(myTable, mySinkColumns, false, true)) },
		func() [][]string { return pgRows(t, pgc, sinkSelect(myTarget, mySinkColumns, true, false)) })
	w.checkHealthy(pgSink.Name, mySink.Name)
	pgProc.stopOK()
	myProc.stopOK()
}

// diffRows lists the rows and cells in which got differs from want.
func diffRows(want, got [][]string) string {
	var b strings.Builder
	byID := func(rows [][]string) map[string][]string {
		m := map[string][]string{}
		for _, r := range rows {
			m[r[0]] = r
		}
		return m
	}
	w, g := byID(want), byID(got)
	for id, wr := range w {
		gr, ok := g[id]
		if !ok {
			fmt.Fprintf(&b, "row %s missing from the target: %q\n", id, wr)
			continue
		}
		for i := range wr {
			if i < len(gr) && wr[i] != gr[i] {
				fmt.Fprintf(&b, "row %s column %d: source %q, target %q\n", id, i, wr[i], gr[i])
			}
		}
	}
	for id, gr := range g {
		if _, ok := w[id]; !ok {
			fmt.Fprintf(&b, "row %s only in the target: %q\n", id, gr)
		}
	}
	return b.String()
}

// In Debezium mode the Connect schemas carry what Debezium's carry: a
// user enum's logical name, a decimal's scale and precision, a NOT NULL
// column required, the key as a struct of the key columns. (A Postgres
// enum's labels, Debezium's "allowed", are not read: pgoutput sends no new
// relation message when ALTER TYPE adds one, so they would go stale.)
func TestDebeziumModeSchemas(t *testing.T) {
	t.Parallel()
	name := uniq("dbzschema")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TYPE "+name+".mood AS ENUM ('sad', 'ok', 'happy')",
		"CREATE TABLE "+name+".t (id int PRIMARY KEY, m "+name+".mood, n numeric(12,3), d date NOT NULL)",
		"INSERT INTO "+name+".t VALUES (1, 'ok', 1.5, '2024-02-29')")
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, debeziumMode)
	es := newConsumer(t, "^"+name+`\.`+name+`\.t$`).atLeast(1, 60*time.Second)
	var value struct {
		Schema struct {
			Fields []struct {
				Field  string `json:"field"`
				Fields []struct {
					Field      string            `json:"field"`
					Type       string            `json:"type"`
					Optional   bool              `json:"optional"`
					Name       string            `json:"name"`
					Parameters map[string]string `json:"parameters"`
				} `json:"fields"`
			} `json:"fields"`
		} `json:"schema"`
		Payload struct {
			After map[string]any `json:"after"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(es[0].Value, &value); err != nil {
		t.Fatalf("%v: %s", err, es[0].Value)
	}
	after := value.Schema.Fields[1]
	got := map[string]string{}
	for _, f := range after.Fields {
		got[f.Field] = fmt.Sprintf("%s %s %v optional=%v", f.Type, f.Name, f.Parameters, f.Optional)
	}
	want := map[string]string{
		"id": "int32  map[] optional=false",
		"m":  "string io.debezium.data.Enum map[] optional=true",
		"n":  "bytes org.apache.kafka.connect.data.Decimal map[connect.decimal.precision:12 scale:3] optional=true",
		"d":  "int32 io.debezium.time.Date map[] optional=false",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("column %s: schema %q, want %q", k, got[k], w)
		}
	}
	if a := value.Payload.After; a["m"] != "ok" || a["n"] != "Bdw=" || a["d"] != 19782.0 {
		t.Errorf("after %v", a)
	}
	if want := `{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"` + name + `.` + name + `.t.Key"},"payload":{"id":1}}`; es[0].Key != want {
		t.Errorf("key %s\nwant %s", es[0].Key, want)
	}
	p.stopOK()
}

// A value Debezium's form cannot hold sends its change to the dead-letter
// topic, with a reason naming the column and the setting that keeps it,
// in cdc's own format; the stream goes on. With the setting changed,
// `cdc dlt replay` sends it to the table's topic in Debezium's form.
func TestDebeziumModeDLTReplay(t *testing.T) {
	t.Parallel()
	name := uniq("dbzdlt")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, n numeric(10,2))")
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, debeziumMode)
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1, 1.50)", "INSERT INTO "+name+".t VALUES (2, 'NaN')", "INSERT INTO "+name+".t VALUES (3, 2.25)")
	topic := name + "." + name + ".t"
	c := newConsumer(t, "^"+regexp.QuoteMeta(topic)+`(\.DLT)?$`)
	es := c.until(60*time.Second, func(es []event) bool { return len(es) >= 3 })
	payload := func(e event) map[string]any {
		var v struct {
			Payload struct {
				After map[string]any `json:"after"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(e.Value, &v); err != nil {
			t.Fatalf("%v: %s", err, e.Value)
		}
		return v.Payload.After
	}
	got := map[string]string{}
	for _, e := range es {
		a := payload(e)
		got[e.Topic+" "+fmt.Sprint(a["id"])] = fmt.Sprint(a["n"])
		if e.Topic == topic+".DLT" && !strings.Contains(e.Headers["cdc.dlt.reason"], "column n (numeric(10,2))") ||
			e.Topic == topic+".DLT" && !strings.Contains(e.Headers["cdc.dlt.reason"], "decimal_handling_mode: string") {
			t.Errorf("dead letter reason %q", e.Headers["cdc.dlt.reason"])
		}
	}
	want := map[string]string{topic + " 1": "AJY=", topic + " 3": "AOE=", topic + ".DLT 2": "NaN"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	p.stopOK()

	fixed := writeConfig(t, pgConfig(name, debeziumMode+"  decimal_handling_mode: string\n"))
	code, stdout, stderr := runCDC(t, 90*time.Second, nil, "dlt", "replay", "-c", fixed)
	if code != 0 || !strings.Contains(stdout, "replayed 1 dead-lettered rows as 1 records") {
		t.Fatalf("replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	es = c.until(30*time.Second, func(es []event) bool { return len(byKey(es, topic)) >= 3 })
	for _, e := range byKey(es, topic) {
		if a := payload(e[len(e)-1]); a["id"] == 2.0 && a["n"] != "NaN" {
			t.Errorf("replayed row 2: n %v, want the string NaN (decimal_handling_mode: string)", a["n"])
		}
	}
	if len(byKey(es, topic)) != 3 {
		t.Errorf("keys on the table topic after the replay: %v", byKey(es, topic))
	}
}
