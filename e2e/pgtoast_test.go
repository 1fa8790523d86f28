//go:build e2e

package e2e

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// An update that changes the primary key of a row whose TOASTed column is
// unchanged: the create under the new key carries the value when the server
// sent the whole old row (REPLICA IDENTITY FULL), and otherwise the
// unavailable marker, never NULL (the database holds the value).
func TestPostgresKeyChangeKeepsToast(t *testing.T) {
	name := uniq("pgtoast")
	db := pgConnect(t)
	pgExec(t, db,
		"CREATE SCHEMA "+name,
		"CREATE TABLE "+name+".dflt (id int PRIMARY KEY, big text, small text)",
		"CREATE TABLE "+name+".full (id int PRIMARY KEY, big text, small text)",
		"ALTER TABLE "+name+".full REPLICA IDENTITY FULL",
	)
	dropSlotAtEnd(t, db, name, name)
	p := startCDC(t, writeConfig(t, pgConfig(name, "  batch:\n    linger: 20ms\n")))
	waitStreaming(t, p)

	// 12,800 incompressible characters: stored out of line.
	var big string
	if err := db.QueryRow(context.Background(), "SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) i").Scan(&big); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"dflt", "full"} {
		pgExec(t, db,
			"INSERT INTO "+name+"."+tbl+" VALUES (1, '"+big+"', 'a')",
			"UPDATE "+name+"."+tbl+" SET id = 2 WHERE id = 1",
			"UPDATE "+name+"."+tbl+" SET id = 3, small = 'b' WHERE id = 2",
		)
	}
	c := newConsumer(t, "^"+name+`\.`)
	// Per table: create, (delete, tombstone, create) twice.
	es := c.atLeast(14, 60*time.Second)
	es = c.settle(time.Second)

	for _, tc := range []struct {
		tbl  string
		want any
	}{{"dflt", "__cdc_unavailable_value"}, {"full", big}} {
		got := byKey(es, name+"."+name+"."+tc.tbl)
		want := map[string][]string{
			`{"id":1}`: {"c", "d", "tombstone"},
			`{"id":2}`: {"c", "d", "tombstone"},
			`{"id":3}`: {"c"},
		}
		for k, w := range want {
			if s := summary(t, got[k]); !reflect.DeepEqual(s, w) {
				t.Fatalf("%s key %s: got %v, want %v", tc.tbl, k, s, w)
			}
		}
		if v := got[`{"id":1}`][0].env(t).After["big"]; v != big {
			t.Errorf("%s: insert big = %v", tc.tbl, trimBig(map[string]any{"big": v}))
		}
		for _, k := range []string{`{"id":2}`, `{"id":3}`} {
			after := got[k][0].env(t).After
			if after["big"] != tc.want {
				t.Errorf("%s: create of %s after the key change: big = %v, want %v", tc.tbl, k, trimBig(after)["big"], trimBig(map[string]any{"w": tc.want})["w"])
			}
		}
		if s := got[`{"id":3}`][0].env(t).After["small"]; s != "b" {
			t.Errorf("%s: small = %v", tc.tbl, s)
		}
		// The delete and the create of one key change are consecutive events
		// of one transaction.
		del, ins := got[`{"id":1}`][1].env(t), got[`{"id":2}`][0].env(t)
		if del.Transaction.ID != ins.Transaction.ID || ins.Transaction.TotalOrder != del.Transaction.TotalOrder+1 {
			t.Errorf("%s: delete %+v and create %+v of one key change are not consecutive events of one transaction", tc.tbl, del.Transaction, ins.Transaction)
		}
	}
	p.stopOK()
}
