//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgDatabaseDSN is CDC_PG_DSN pointed at another database, with extra
// query parameters.
func pgDatabaseDSN(t *testing.T, dbname string, query string) string {
	t.Helper()
	u, err := url.Parse(pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbname
	u.RawQuery = query
	return u.String()
}

// pgCreateDatabase creates a database (dropped at test end, after the
// cleanups registered later, such as the slot's) and connects to it.
func pgCreateDatabase(t *testing.T, admin *pgx.Conn, dbname string, createOpts string, settings ...string) *pgx.Conn {
	t.Helper()
	pgExec(t, admin, "CREATE DATABASE "+dbname+" "+createOpts)
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+dbname+" WITH (FORCE)") })
	for _, s := range settings {
		pgExec(t, admin, "ALTER DATABASE "+dbname+" SET "+s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgDatabaseDSN(t, dbname, "client_encoding=UTF8"))
	if err != nil {
		t.Fatalf("connecting to database %s: %v", dbname, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// A database whose defaults change every output format (and whose encoding
// is not UTF-8) yields exactly the events of a database with the defaults:
// values never depend on server, database or role settings.
func TestPostgresSessionSettingsPinned(t *testing.T) {
	name := uniq("pgset")
	admin := pgConnect(t)
	hostile := pgCreateDatabase(t, admin, name, "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
		"bytea_output = 'escape'", "lc_monetary = 'C.utf8'", "DateStyle = 'SQL, DMY'", "IntervalStyle = 'sql_standard'",
		"TimeZone = 'America/New_York'", "extra_float_digits = 0", "search_path = 'pg_catalog'")

	setup := func(db *pgx.Conn) {
		pgExec(t, db,
			"CREATE SCHEMA "+name,
			"CREATE TABLE public."+name+"_ref (x int)",
			"CREATE TABLE "+name+".vals (id int PRIMARY KEY, b bytea, m money, ts timestamptz, tsl timestamp, d date, tm time, tmz timetz, "+
				"iv interval, f8 float8, f4 real, n numeric, txt text, rc regclass)",
		)
	}
	setup(admin)
	setup(hostile)

	type run struct {
		db     *pgx.Conn
		prefix string
		p      *proc
	}
	runs := []*run{{db: admin, prefix: name + "_n"}, {db: hostile, prefix: name + "_h"}}
	for i, r := range runs {
		dsn := "${CDC_PG_DSN}"
		if i == 1 {
			dsn = pgDatabaseDSN(t, name, "")
		}
		dropSlotAtEnd(t, r.db, r.prefix, r.prefix)
		cfg := writeConfig(t, fmt.Sprintf(`name: %[1]s
source:
  type: postgres
  dsn: %[2]s
  tables: ["%[3]s.*"]
  slot: %[1]s
  publication: %[1]s
  status_interval: 1s
kafka:
  brokers: ["${CDC_KAFKA_BROKERS}"]
  topic_prefix: %[1]s
  checkpoint_topic: _cdc_checkpoints_e2e
  batch:
    linger: 20ms
`, r.prefix, dsn, name))
		r.p = startCDC(t, cfg)
	}
	for _, r := range runs {
		waitStreaming(t, r.p)
		pgExec(t, r.db,
			"INSERT INTO "+name+".vals VALUES (1, '\\xdeadbeef00', -92233720368547758.08, '2024-02-29 13:14:15.5+00', '2024-02-29 13:14:15.5', "+
				"'2024-02-29', '13:14:15', '13:14:15+02', '1 day 2 hours 3 minutes 4.5 seconds', 1.0/3, 0.1, 12.50, 'héllo', 'public."+name+"_ref'), "+
				"(2, '', 12.5, '0001-01-01 00:00:00+00 BC', 'infinity', '1999-12-31', '00:00:00', '00:00:00-05', '-1 year -2 months', 'NaN', 3.4e38, 0, '', 'pg_class')",
			"UPDATE "+name+".vals SET m = m + '0.01', iv = iv * 2 WHERE id = 2",
		)
	}

	values := make([]map[string][]map[string]any, len(runs))
	for i, r := range runs {
		c := newConsumer(t, "^"+r.prefix+`\.`)
		c.atLeast(3, 60*time.Second)
		es := c.settle(time.Second)
		values[i] = map[string][]map[string]any{}
		for _, e := range es {
			if strings.HasSuffix(e.Topic, ".DLT") {
				t.Errorf("%s: dead letter on %s: %s %v", r.prefix, e.Topic, e.Value, e.Headers)
				continue
			}
			values[i][e.Key] = append(values[i][e.Key], e.env(t).After)
		}
	}
	if !reflect.DeepEqual(values[0], values[1]) {
		t.Errorf("events differ between default and hostile database settings:\ndefault: %v\nhostile: %v", values[0], values[1])
	}
	want := map[string]any{
		"id": float64(1), "b": "3q2+7wA=", "m": "-92233720368547758.08", "ts": "2024-02-29T13:14:15.5Z",
		"tsl": "2024-02-29T13:14:15.5", "d": "2024-02-29", "tm": "13:14:15", "tmz": "13:14:15+02",
		"iv": "P1DT2H3M4.5S", "f8": 0.3333333333333333, "f4": 0.1, "n": "12.50", "txt": "héllo", "rc": name + "_ref",
	}
	for i, r := range runs {
		got := values[i][`{"id":1}`]
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("%s: row 1:\ngot  %v\nwant %v", r.prefix, got, want)
		}
		if upd := values[i][`{"id":2}`]; len(upd) != 2 || upd[1]["m"] != "12.51" || upd[1]["iv"] != "P-2Y-4M" {
			t.Errorf("%s: row 2: %v", r.prefix, upd)
		}
	}
	for _, r := range runs {
		if code := r.p.stop(30 * time.Second); code != 0 {
			t.Errorf("%s: exit code %d; log:\n%s", r.prefix, code, r.p.Log())
		}
	}
}
