//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgConfigTables is pgConfig with another source.tables and publication.
func pgConfigTables(name, tables, pub, extra string) string {
	c := strings.Replace(pgConfig(name, extra), `tables: ["`+name+`.*"]`, "tables: "+tables, 1)
	return strings.Replace(c, "publication: "+name+"\n", "publication: "+pub+"\n", 1)
}

// waitLogLine waits until the connector's log holds every one of parts on one line.
func waitLogLine(t *testing.T, p *proc, timeout time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.Log(), "\n") {
			ok := true
			for _, s := range parts {
				ok = ok && strings.Contains(line, s)
			}
			if ok {
				return
			}
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("no log line with %q; log:\n%s", parts, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pubTables lists what a publication publishes, sorted.
func pubTables(t *testing.T, db *pgx.Conn, pub string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1", pub)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// topicsOf counts events per topic.
func topicsOf(es []event) map[string]int {
	m := map[string]int{}
	for _, e := range es {
		m[e.Topic]++
	}
	return m
}

// A publication cdc did not create is used as it is: cdc neither drops the
// tables it has beyond source.tables nor adds any, and captures only the
// configured tables from it.
func TestPostgresForeignPublicationUnchanged(t *testing.T) {
	name := uniq("pgfpub")
	pub := name + "_pub"
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name)
	for _, tbl := range []string{"a", "b", "c"} {
		pgExec(t, db, "CREATE TABLE "+name+"."+tbl+" (id int PRIMARY KEY)")
	}
	pgExec(t, db, fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %[2]s.a, %[2]s.b, %[2]s.c", pub, name))
	dropSlotAtEnd(t, db, name, pub)
	p := startCDC(t, writeConfig(t, pgConfigTables(name, fmt.Sprintf(`[%[1]s.a, "%[1]s.b"]`, name), pub, "  batch:\n    linger: 20ms\n")))
	waitStreaming(t, p)
	want := []string{name + ".a", name + ".b", name + ".c"}
	if got := pubTables(t, db, pub); !reflect.DeepEqual(got, want) {
		t.Fatalf("publication tables after start: %v, want %v (unchanged)", got, want)
	}
	for _, tbl := range []string{"a", "b", "c"} {
		pgExec(t, db, "INSERT INTO "+name+"."+tbl+" VALUES (1), (2)")
	}
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(4, 60*time.Second)
	got := topicsOf(c.settle(2 * time.Second))
	if w := map[string]int{name + "." + name + ".a": 2, name + "." + name + ".b": 2}; !reflect.DeepEqual(got, w) {
		t.Errorf("events per topic: %v, want %v (table c is published but not configured)", got, w)
	}
	p.stopOK()
	if got := pubTables(t, db, pub); !reflect.DeepEqual(got, want) {
		t.Errorf("publication tables after the run: %v, want %v", got, want)
	}
}

// A publication cdc did not create that lacks a configured table: check
// fails with the ALTER PUBLICATION to run, run refuses to start, and the
// publication stays as it was. A table only a glob matches is a warning.
func TestPostgresForeignPublicationMissingTable(t *testing.T) {
	name := uniq("pgfmiss")
	pub := name + "_pub"
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name,
		"CREATE TABLE "+name+".a (id int PRIMARY KEY)", "CREATE TABLE "+name+".b (id int PRIMARY KEY)", "CREATE TABLE "+name+".x1 (id int PRIMARY KEY)",
		fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s.a", pub, name))
	dropSlotAtEnd(t, db, name, pub)
	fix := fmt.Sprintf(`ALTER PUBLICATION %q ADD TABLE %q.%q`, pub, name, "b")

	cfg := writeConfig(t, pgConfigTables(name, fmt.Sprintf(`[%[1]s.a, %[1]s.b]`, name), pub, ""))
	code, out, _ := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
	if code == 0 || !strings.Contains(out, fix) || !strings.Contains(out, "not created by cdc") {
		t.Errorf("check: exit %d, want non-zero and the fix %s; output:\n%s", code, fix, out)
	}
	code, _, errOut := runCDC(t, 60*time.Second, nil, "run", "-c", cfg)
	if code != 1 || !strings.Contains(errOut, fix) {
		t.Errorf("run: exit %d, want 1 and the fix %s; stderr:\n%s", code, fix, errOut)
	}
	if got := pubTables(t, db, pub); !reflect.DeepEqual(got, []string{name + ".a"}) {
		t.Errorf("publication tables: %v, want it unchanged", got)
	}

	cfg = writeConfig(t, pgConfigTables(name, fmt.Sprintf(`[%[1]s.a, "%[1]s.x*"]`, name), pub, ""))
	code, out, _ = runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
	if code != 0 || !strings.Contains(out, "warning: ") || !strings.Contains(out, name+".x1") {
		t.Errorf("check with a glob: exit %d, want 0 and a warning about %s.x1; output:\n%s", code, name, out)
	}
}

// A FOR ALL TABLES publication (in a database of its own: it makes every
// table without a replica identity refuse updates) passes check and
// streams the configured tables only.
func TestPostgresAllTablesPublication(t *testing.T) {
	name := uniq("pgall")
	admin := pgConnect(t)
	db := pgCreateDatabase(t, admin, name, "")
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".a (id int PRIMARY KEY)", "CREATE TABLE public.z (id int PRIMARY KEY)",
		"CREATE PUBLICATION "+name+" FOR ALL TABLES")
	dropSlotAtEnd(t, db, name, name)
	cfg := writeConfig(t, strings.Replace(pgConfigTables(name, `["`+name+`.a"]`, name, "  transaction_topic: "+name+".transactions\n  batch:\n    linger: 20ms\n"),
		"${CDC_PG_DSN}", pgDatabaseDSN(t, name, ""), 1))
	if code, out, errOut := runCDC(t, 60*time.Second, nil, "check", "-c", cfg); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	p := startCDC(t, cfg)
	waitStreaming(t, p)
	pgExec(t, db, "INSERT INTO "+name+".a VALUES (1)", "INSERT INTO public.z VALUES (1)", "INSERT INTO "+name+".a VALUES (2)")
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(6, 60*time.Second)
	// The transaction that wrote only public.z is no transaction downstream.
	if got, w := topicsOf(c.settle(2*time.Second)), map[string]int{name + "." + name + ".a": 2, name + ".transactions": 4}; !reflect.DeepEqual(got, w) {
		t.Errorf("events per topic: %v, want %v", got, w)
	}
	var all bool
	if err := db.QueryRow(context.Background(), "SELECT puballtables FROM pg_publication WHERE pubname = $1", name).Scan(&all); err != nil || !all {
		t.Errorf("publication is no longer FOR ALL TABLES (%v)", err)
	}
	p.stopOK()
}

// A table created while cdc runs, in a schema that source.tables covers
// whole: published by the schema publication, captured from its first row.
func TestPostgresNewTableInSchema(t *testing.T) {
	name := uniq("pgnew")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".old (id int PRIMARY KEY)")
	dropSlotAtEnd(t, db, name, name)
	p := startCDC(t, writeConfig(t, pgConfig(name, "  batch:\n    linger: 20ms\n")))
	waitStreaming(t, p)
	pgExec(t, db, "CREATE TABLE "+name+".fresh (id int PRIMARY KEY, v text)",
		"INSERT INTO "+name+".fresh SELECT i, 'x' FROM generate_series(1, 5) i",
		"BEGIN", "CREATE TABLE "+name+".fresh2 (id int PRIMARY KEY)", "INSERT INTO "+name+".fresh2 VALUES (1)", "COMMIT")
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(6, 60*time.Second)
	if got, w := topicsOf(c.settle(time.Second)), map[string]int{name + "." + name + ".fresh": 5, name + "." + name + ".fresh2": 1}; !reflect.DeepEqual(got, w) {
		t.Errorf("events per topic: %v, want %v", got, w)
	}
	waitLogLine(t, p, 30*time.Second, "table added", name+".fresh2")
	var comment string
	if err := db.QueryRow(context.Background(), "SELECT coalesce(obj_description(oid, 'pg_publication'), '') FROM pg_publication WHERE pubname = $1", name).Scan(&comment); err != nil || !strings.HasPrefix(comment, "managed by cdc") {
		t.Errorf("publication comment %q (%v), want the cdc marker", comment, err)
	}
	p.stopOK()
}

// A table created while cdc runs that a glob matches: cdc adds it to its
// publication and logs it; the rows written after that arrive.
func TestPostgresNewTableGlob(t *testing.T) {
	name := uniq("pgglob")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name)
	dropSlotAtEnd(t, db, name, name)
	p := startCDC(t, writeConfig(t, pgConfigTables(name, `["`+name+`.part_*"]`, name, "  batch:\n    linger: 20ms\n")))
	waitStreaming(t, p)
	pgExec(t, db, "CREATE TABLE "+name+".part_1 (id int PRIMARY KEY)", "CREATE TABLE "+name+".other (id int PRIMARY KEY)")
	waitLogLine(t, p, 30*time.Second, "table added", "table="+name+".part_1")
	pgExec(t, db, "INSERT INTO "+name+".part_1 SELECT generate_series(1, 5)", "INSERT INTO "+name+".other VALUES (1)")
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(5, 60*time.Second)
	if got, w := topicsOf(c.settle(time.Second)), map[string]int{name + "." + name + ".part_1": 5}; !reflect.DeepEqual(got, w) {
		t.Errorf("events per topic: %v, want %v", got, w)
	}
	if got := pubTables(t, db, name); !reflect.DeepEqual(got, []string{name + ".part_1"}) {
		t.Errorf("publication tables: %v", got)
	}
	p.stopOK()

	// Created while cdc is stopped: added, and logged, at the next start.
	pgExec(t, db, "CREATE TABLE "+name+".part_2 (id int PRIMARY KEY)")
	p = startCDC(t, writeConfig(t, pgConfigTables(name, `["`+name+`.part_*"]`, name, "  batch:\n    linger: 20ms\n")))
	waitLogLine(t, p, 30*time.Second, "table added", "table="+name+".part_2")
	waitStreaming(t, p)
	pgExec(t, db, "INSERT INTO "+name+".part_2 SELECT generate_series(1, 3)")
	c.atLeast(8, 60*time.Second)
	if got, w := topicsOf(c.settle(time.Second)), map[string]int{name + "." + name + ".part_1": 5, name + "." + name + ".part_2": 3}; !reflect.DeepEqual(got, w) {
		t.Errorf("events per topic after the restart: %v, want %v", got, w)
	}
	p.stopOK()
}

// A role that is not a superuser cannot create schema publications: a
// whole-schema pattern becomes a table list, and tables it creates while
// cdc runs are added by cdc and logged.
func TestPostgresNewTableNonSuperuser(t *testing.T) {
	name := uniq("pgnosu")
	admin := pgConnect(t)
	pgExec(t, admin,
		"CREATE ROLE "+name+" LOGIN REPLICATION PASSWORD 'pw'",
		"GRANT CREATE ON DATABASE cdc TO "+name,
		"CREATE SCHEMA "+name+" AUTHORIZATION "+name,
	)
	t.Cleanup(func() {
		ctx := context.Background()
		admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE")
		admin.Exec(ctx, "REVOKE CREATE ON DATABASE cdc FROM "+name)
		admin.Exec(ctx, "DROP ROLE IF EXISTS "+name)
	})
	u, err := url.Parse(pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(name, "pw")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	pgExec(t, db, "CREATE TABLE "+name+".old (id int PRIMARY KEY)")
	dropSlotAtEnd(t, admin, name, name)
	cfg := strings.Replace(pgConfig(name, "  batch:\n    linger: 20ms\n"), "${CDC_PG_DSN}", u.String(), 1)
	p := startCDC(t, writeConfig(t, cfg))
	waitStreaming(t, p)
	var schemaPub bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid WHERE p.pubname = $1)", name).Scan(&schemaPub); err != nil || schemaPub {
		t.Fatalf("a non-superuser's publication has a schema (%v)", err)
	}
	pgExec(t, db, "CREATE TABLE "+name+".fresh (id int PRIMARY KEY)")
	waitLogLine(t, p, 30*time.Second, "table added", "table="+name+".fresh")
	pgExec(t, db, "INSERT INTO "+name+".fresh SELECT generate_series(1, 4)", "INSERT INTO "+name+".old VALUES (1)")
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(5, 60*time.Second)
	if got, w := topicsOf(c.settle(time.Second)), map[string]int{name + "." + name + ".fresh": 4, name + "." + name + ".old": 1}; !reflect.DeepEqual(got, w) {
		t.Errorf("events per topic: %v, want %v", got, w)
	}
	p.stopOK()
}
