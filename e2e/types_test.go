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

// Dates and timestamps Postgres can store beyond four-digit AD years, and
// its infinities, arrive in the documented forms (docs/types.md), both
// streamed and read by a snapshot; never Postgres's own text ("... BC").
func TestPostgresTemporalForms(t *testing.T) {
	name := uniq("pgtemporal")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, d date, ts timestamp(6), tz timestamptz(6))")
	rows := []struct {
		id          int
		d, ts, tz   string // SQL literals
		wd, wts, wz string // event values
	}{
		{1, "'2024-02-29'", "'2024-02-29 13:14:15.5'", "'2024-02-29 13:14:15.5+02'", "2024-02-29", "2024-02-29T13:14:15.5", "2024-02-29T11:14:15.5Z"},
		{2, "'0044-03-15 BC'", "'0044-03-15 12:00:00.25 BC'", "'4713-11-24 00:00:00+00 BC'", "-000043-03-15", "-000043-03-15T12:00:00.25", "-004712-11-24T00:00:00Z"},
		{3, "'0001-01-01 BC'", "'0001-12-31 23:59:59.999999 BC'", "'0001-01-01 00:00:00+00'", "0000-01-01", "0000-12-31T23:59:59.999999", "0001-01-01T00:00:00Z"},
		{4, "'10000-01-01'", "'10000-01-01 00:00:00'", "'294276-12-31 23:59:59.999999+00'", "+010000-01-01", "+010000-01-01T00:00:00", "+294276-12-31T23:59:59.999999Z"},
		{5, "'infinity'", "'-infinity'", "'infinity'", "infinity", "-infinity", "infinity"},
	}
	insert := func(from, to int) {
		for _, r := range rows[from:to] {
			pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (%d, %s, %s, %s)", name, r.id, r.d, r.ts, r.tz))
		}
	}
	insert(0, 3) // read by the snapshot
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "")
	insert(3, len(rows)) // streamed
	c := newConsumer(t, "^"+name+`\.`)
	es := c.atLeast(len(rows), 60*time.Second)
	got := map[float64]map[string]any{}
	ops := map[float64]string{}
	for _, e := range es {
		env := e.env(t)
		id := env.After["id"].(float64)
		got[id], ops[id] = env.After, env.Op
	}
	for _, r := range rows {
		a := got[float64(r.id)]
		if a == nil {
			t.Errorf("row %d: no event", r.id)
			continue
		}
		if a["d"] != r.wd || a["ts"] != r.wts || a["tz"] != r.wz {
			t.Errorf("row %d (%s): d %q ts %q tz %q; want %q %q %q", r.id, ops[float64(r.id)], a["d"], a["ts"], a["tz"], r.wd, r.wts, r.wz)
		}
	}
	if ops[1] != "r" || ops[5] != "c" {
		t.Errorf("ops: row 1 %q (want r, the snapshot), row 5 %q (want c, streamed)", ops[1], ops[5])
	}
	p.stopOK()
}

// Postgres arrays of built-in types are JSON arrays of typed elements,
// nested per dimension, NULL elements as null: each event equals what
// Postgres's own to_jsonb makes of the same row (numeric as exact strings:
// to_jsonb of its text[] cast), for snapshot reads, inserts and updates.
func TestPostgresArrays(t *testing.T) {
	name := uniq("pgarr")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, i int4[], ii int8[][], tx text[], b bool[], n numeric[], j jsonb[], e text[])")
	row := func(id int) string {
		return fmt.Sprintf(`INSERT INTO %s.t VALUES (%d, '{1,2,%d}', '{{1,NULL},{3,4}}', ARRAY['plain', 'with space', 'q"uote', 'back\slash', 'NULL', NULL, '', 'é{},'],
			'{t,f,NULL}', '{1.10,NaN,-0.000001,123456789012345678901234567890.5}', ARRAY['{"a": [1, 2]}'::jsonb, 'null', '"s"'], '{}')`, name, id, id)
	}
	pgExec(t, db, row(1))
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "")
	pgExec(t, db, row(2), "UPDATE "+name+".t SET i = '{}', n = '{Infinity}' WHERE id = 1")
	c := newConsumer(t, "^"+name+`\.`)
	es := c.atLeast(3, 60*time.Second)
	latest := map[float64]map[string]any{}
	for _, e := range es {
		env := e.env(t)
		latest[env.After["id"].(float64)] = env.After
	}
	for id, after := range latest {
		var want []byte
		err := db.QueryRow(context.Background(), `SELECT jsonb_build_object('id', id, 'i', to_jsonb(i), 'ii', to_jsonb(ii), 'tx', to_jsonb(tx), 'b', to_jsonb(b),
			'n', to_jsonb(n::text[]), 'j', to_jsonb(j), 'e', to_jsonb(e))::text FROM `+name+`.t WHERE id = $1`, int(id)).Scan(&want)
		if err != nil {
			t.Fatal(err)
		}
		var w map[string]any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after, w) {
			t.Errorf("row %v:\nevent    %v\npostgres %v", id, after, w)
		}
	}
	if len(latest) != 2 {
		t.Errorf("rows: %v", latest)
	}
	p.stopOK()
}

// Domains have their base type's values, user enums their labels, hstore
// is a JSON object and point {"x","y"}: each event equals Postgres's own
// to_jsonb of the row (numeric domains as exact strings, point by hand).
func TestPostgresDomainsEnumsHstore(t *testing.T) {
	name := uniq("pgdom")
	db := pgConnect(t)
	pgExec(t, db,
		"CREATE EXTENSION IF NOT EXISTS hstore",
		"CREATE SCHEMA "+name,
		"CREATE DOMAIN "+name+".posint AS int CHECK (VALUE > 0)",
		"CREATE DOMAIN "+name+".small AS "+name+".posint CHECK (VALUE < 100)",
		"CREATE DOMAIN "+name+".email AS text",
		"CREATE DOMAIN "+name+".price AS numeric(10,2)",
		"CREATE DOMAIN "+name+".day AS date",
		"CREATE TYPE "+name+".status AS ENUM ('new', 'paid', 'shipped')",
		"CREATE TABLE "+name+".t (id int PRIMARY KEY, p "+name+".posint, s "+name+".small, e "+name+".email, pr "+name+".price, d "+name+".day, st "+name+".status, h hstore, pt point, r box)",
	)
	ins := func(id int) string {
		return fmt.Sprintf(`INSERT INTO %s.t VALUES (%d, %d, 7, 'a@b.c', 12.50, '2024-02-29', 'paid', '"k"=>"v", "n"=>NULL, "q\"x"=>"1"', '(1.5,-2)', '((1,1),(0,0))')`, name, id, id)
	}
	pgExec(t, db, ins(1))
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "")
	pgExec(t, db, ins(2))
	c := newConsumer(t, "^"+name+`\.`)
	es := c.atLeast(2, 60*time.Second)
	for _, e := range es {
		after := e.env(t).After
		var want []byte
		err := db.QueryRow(context.Background(), `SELECT jsonb_build_object('id', id, 'p', to_jsonb(p), 's', to_jsonb(s), 'e', to_jsonb(e), 'pr', to_jsonb(pr::text),
			'd', to_jsonb(d), 'st', to_jsonb(st), 'h', to_jsonb(h), 'pt', jsonb_build_object('x', pt[0], 'y', pt[1]), 'r', r::text)::text FROM `+name+`.t WHERE id = $1`, int(after["id"].(float64))).Scan(&want)
		if err != nil {
			t.Fatal(err)
		}
		var w map[string]any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after, w) {
			t.Errorf("row %v:\nevent    %v\npostgres %v", after["id"], after, w)
		}
	}
	// The box has no mapping: its text, and one warning for the column
	// (the snapshot and the stream each described the table).
	if n := strings.Count(p.Log(), "column type has no mapping"); n != 1 || !strings.Contains(p.Log(), "column=r type=box") {
		t.Errorf("%d warnings about the unmapped column; log:\n%s", n, p.Log())
	}
	p.stopOK()
}

// Ranges of built-in types are objects whose bounds equal what Postgres's
// lower(), upper(), lower_inc(), upper_inc() and isempty() say of the row.
func TestPostgresRanges(t *testing.T) {
	name := uniq("pgrange")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, i int4range, n numrange, d daterange, tz tstzrange)")
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1, '[1,5)', '(1.5,2.25]', '[2024-01-01,)', '[\"2024-01-01 00:00:00+00\",\"2024-02-01 12:00:00.5+00\")')")
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "")
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (2, 'empty', '(,)', '[2024-01-01,infinity)', '(,\"2024-01-01 00:00:00+00\"]')")
	c := newConsumer(t, "^"+name+`\.`)
	es := c.atLeast(2, 60*time.Second)
	for _, e := range es {
		after := e.env(t).After
		id := int(after["id"].(float64))
		for _, col := range []string{"i", "n", "d", "tz"} {
			var empty, linc, uinc bool
			var lower, upper *string
			bounds := "lower(%[1]s)::text, upper(%[1]s)::text"
			if col == "tz" {
				bounds = `to_char(lower(%[1]s) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), to_char(upper(%[1]s) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`
			}
			err := db.QueryRow(context.Background(), fmt.Sprintf(`SELECT isempty(%[1]s), lower_inc(%[1]s), upper_inc(%[1]s), `+bounds+`
				FROM %[2]s.t WHERE id = $1`, col, name), id).Scan(&empty, &linc, &uinc, &lower, &upper)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := after[col].(map[string]any)
			if empty {
				if !reflect.DeepEqual(got, map[string]any{"empty": true}) {
					t.Errorf("row %d %s: %v, want empty", id, col, after[col])
				}
				continue
			}
			bound := func(b *string) any {
				if b == nil {
					return nil
				}
				s := *b
				if strings.Contains(s, "T") { // timestamptz, to_char'd: trim the fraction's zeros, add Z
					s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".") + "Z"
				}
				if col == "i" {
					var n float64
					fmt.Sscan(s, &n)
					return n
				}
				return s
			}
			want := map[string]any{"lower": bound(lower), "upper": bound(upper), "lower_inclusive": linc, "upper_inclusive": uinc}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("row %d %s: event %v, postgres %v", id, col, after[col], want)
			}
		}
	}
	p.stopOK()
}

// Multiranges are arrays of their ranges: equal, range by range, to what
// Postgres's unnest, lower(), upper(), lower_inc() and upper_inc() say.
func TestPostgresMultiranges(t *testing.T) {
	name := uniq("pgmrange")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, i int4multirange, d datemultirange)")
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1, '{[1,5),[7,9]}', '{[2024-01-01,2024-02-01),[2025-01-01,infinity)}')")
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "")
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (2, '{}', '{(,2000-01-01]}')", "UPDATE "+name+".t SET i = '{[-3,-1)}' WHERE id = 1")
	es := newConsumer(t, "^"+name+`\.`).atLeast(3, 60*time.Second)
	for _, e := range es {
		env := e.env(t)
		if env.Op == "r" {
			continue // row 1 was updated since the snapshot read it
		}
		after := env.After
		id := int(after["id"].(float64))
		for _, col := range []string{"i", "d"} {
			var want []byte
			err := db.QueryRow(context.Background(), fmt.Sprintf(`SELECT coalesce(jsonb_agg(jsonb_build_object('lower', lower(r), 'upper', upper(r),
				'lower_inclusive', lower_inc(r), 'upper_inclusive', upper_inc(r)) ORDER BY n), '[]')::text
				FROM %[2]s.t, unnest(%[1]s) WITH ORDINALITY AS u(r, n) WHERE id = $1`, col, name), id).Scan(&want)
			if err != nil {
				t.Fatal(err)
			}
			var w any
			json.Unmarshal(want, &w)
			if !reflect.DeepEqual(after[col], w) {
				t.Errorf("row %d %s: event %v, postgres %v", id, col, after[col], w)
			}
		}
	}
	if strings.Contains(p.Log(), "column type has no mapping") {
		t.Errorf("a multirange was logged as unmapped:\n%s", p.Log())
	}
	p.stopOK()
}

// Composite types are objects of their attributes, nested composites and
// arrays too: equal to what Postgres's own to_jsonb makes of the value,
// for snapshot reads, inserts and updates.
func TestPostgresComposites(t *testing.T) {
	name := uniq("pgcomp")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name,
		"CREATE TYPE "+name+".pair AS (a int, b text)",
		"CREATE TYPE "+name+".item AS (n bigint, s text, d date, tags text[], p "+name+".pair, ok boolean, j jsonb)",
		"CREATE TABLE "+name+".t (id int PRIMARY KEY, c "+name+".item, p "+name+".pair)")
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1, ROW(1, 'a b', '2024-02-29', '{x,\"y z\"}', ROW(2, 'q'), true, '{\"k\": [1]}'), ROW(NULL, NULL))")
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "")
	pgExec(t, db,
		"INSERT INTO "+name+".t VALUES (2, ROW(-9223372036854775808, 'q\"u''o\\te, (x)', NULL, '{}', NULL, false, 'null'), ROW(3, ''))",
		"INSERT INTO "+name+".t VALUES (3, NULL, ROW(4, 'é 😀'))",
		"UPDATE "+name+".t SET c = ROW(5, NULL, '0044-03-15 BC', NULL, ROW(6, NULL), NULL, NULL) WHERE id = 2")
	es := newConsumer(t, "^"+name+`\.`).atLeast(4, 60*time.Second)
	final := map[float64]map[string]any{}
	for _, e := range es {
		after := e.env(t).After
		final[after["id"].(float64)] = after
	}
	for id, after := range final {
		var want []byte
		// to_jsonb writes a BC date as Postgres's text; cdc's form is
		// the astronomical year (docs/types.md).
		err := db.QueryRow(context.Background(), "SELECT jsonb_build_object('c', to_jsonb(c), 'p', to_jsonb(p))::text FROM "+name+".t WHERE id = $1", int(id)).Scan(&want)
		if err != nil {
			t.Fatal(err)
		}
		var w map[string]any
		json.Unmarshal(want, &w)
		if c, ok := w["c"].(map[string]any); ok && c["d"] == "0044-03-15 BC" {
			c["d"] = "-000043-03-15"
		}
		got := map[string]any{"c": after["c"], "p": after["p"]}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("row %v:\nevent    %v\npostgres %v", id, got, w)
		}
	}
	if len(final) != 3 {
		t.Errorf("events for %d rows, want 3", len(final))
	}
	if strings.Contains(p.Log(), "column type has no mapping") {
		t.Errorf("a composite was logged as unmapped:\n%s", p.Log())
	}
	p.stopOK()
}

// PostGIS geometries and geographies are {"srid", "wkb"}, as MariaDB's:
// equal to what PostGIS's own ST_SRID and ST_AsBinary say of the row. It
// needs the postgis extension (Debian's postgresql-15-postgis-3) and skips
// without it.
func TestPostgresPostGIS(t *testing.T) {
	db := pgConnect(t)
	var available bool
	if err := db.QueryRow(context.Background(), "SELECT count(*) > 0 FROM pg_available_extensions WHERE name = 'postgis'").Scan(&available); err != nil {
		t.Fatal(err)
	}
	if !available {
		t.Skip("the postgis extension is not installed (Debian: postgresql-15-postgis-3)")
	}
	if _, err := db.Exec(context.Background(), "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		t.Skipf("the postgis extension is not usable (e2e/services.sh up installs postgresql-15-postgis-3): %v", err)
	}
	name := uniq("pggis")
	pgExec(t, db, "CREATE SCHEMA "+name,
		"CREATE TABLE "+name+".t (id int PRIMARY KEY, g geometry, p geometry(Point,4326), gg geography(Point,4326))")
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1, ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 3857), ST_SetSRID(ST_MakePoint(1.5, -2.5), 4326), 'SRID=4326;POINT(13.4 52.5)')")
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "")
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (2, ST_GeomFromText('LINESTRING(0 0, 1 1, 2 5)'), ST_SetSRID(ST_MakePoint(1e300, 1e-300), 4326), NULL)")
	es := newConsumer(t, "^"+name+`\.`).atLeast(2, 60*time.Second)
	for _, e := range es {
		after := e.env(t).After
		id := int(after["id"].(float64))
		for _, col := range []string{"g", "p", "gg"} {
			var srid *float64
			var wkb *string
			if err := db.QueryRow(context.Background(), fmt.Sprintf("SELECT NULLIF(ST_SRID(%[1]s), 0)::float8, replace(encode(ST_AsBinary(%[1]s), 'base64'), E'\n', '') FROM %[2]s.t WHERE id = $1", col, name), id).Scan(&srid, &wkb); err != nil {
				t.Fatal(err)
			}
			var want any
			if wkb != nil {
				w := map[string]any{"srid": nil, "wkb": *wkb}
				if srid != nil {
					w["srid"] = *srid
				}
				want = w
			}
			if !reflect.DeepEqual(after[col], want) {
				t.Errorf("row %d %s: event %v, postgis %v", id, col, after[col], want)
			}
		}
	}
	if strings.Contains(p.Log(), "column type has no mapping") {
		t.Errorf("a PostGIS column was logged as unmapped:\n%s", p.Log())
	}
	p.stopOK()
}

// MariaDB geometry is {"srid", "wkb"}: equal to what the server's own
// ST_SRID and ST_AsBinary say of the row.
func TestMySQLGeometry(t *testing.T) {
	name := uniq("mygeo")
	db := myConnect(t)
	myExec(t, db, "CREATE DATABASE "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, g geometry, p point)")
	myExec(t, db, "INSERT INTO "+name+".t VALUES (1, ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326), POINT(1.5, -2.5))")
	p, _ := myStartCDC(t, name, "")
	myExec(t, db, "INSERT INTO "+name+".t VALUES (2, ST_GeomFromText('LINESTRING(0 0, 1 1, 2 5)'), ST_PointFromText('POINT(1e300 1e-300)', 3857))")
	c := newConsumer(t, "^"+name+`\.`)
	es := c.atLeast(2, 60*time.Second)
	for _, e := range es {
		after := e.env(t).After
		id := int(after["id"].(float64))
		for _, col := range []string{"g", "p"} {
			var srid float64
			var wkb string
			if err := db.QueryRow(fmt.Sprintf("SELECT ST_SRID(%[1]s), REPLACE(TO_BASE64(ST_AsBinary(%[1]s)), '\\n', '') FROM %[2]s.t WHERE id = ?", col, name), id).Scan(&srid, &wkb); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"srid": srid, "wkb": wkb}
			if !reflect.DeepEqual(after[col], want) {
				t.Errorf("row %d %s: event %v, server %v", id, col, after[col], want)
			}
		}
	}
	p.stopOK()
}
