//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// planLines returns the plan's step lines of a kind ("create", "alter",
// "keep", "later", "drift").
func planLines(out, kind string) []string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == kind {
			got = append(got, strings.TrimSpace(l))
		}
	}
	return got
}

// `cdc plan` on a fresh database lists the slot, publication and topics
// run would create (exit 3); after `cdc run`, nothing (exit 0); after a
// table is added to source.tables, exactly that change. Drift: an inactive
// cdc_ slot is reported, and changes nothing.
func TestPlanPostgres(t *testing.T) {
	name := uniq("plan")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t1 (id int PRIMARY KEY)", "CREATE TABLE "+name+".t2 (id int PRIMARY KEY)")
	dropSlotAtEnd(t, db, name, name)
	orphan := "cdc_" + name
	pgExec(t, db, fmt.Sprintf("SELECT pg_create_logical_replication_slot('%s', 'pgoutput')", orphan))
	t.Cleanup(func() { pgExec(t, db, fmt.Sprintf("SELECT pg_drop_replication_slot('%s')", orphan)) })
	conf := func(tables string) string {
		return writeConfig(t, strings.Replace(pgConfig(name, ""), `tables: ["`+name+`.*"]`, "tables: "+tables, 1))
	}
	one := conf(fmt.Sprintf("[%s.t1]", name))

	code, out, errOut := runCDC(t, 60*time.Second, nil, "plan", "-c", one)
	if code != 4 {
		t.Fatalf("plan on a fresh database: exit %d, want 4\n%s%s", code, out, errOut)
	}
	creates := strings.Join(planLines(out, "create"), "\n")
	if !strings.Contains(out, `sql: CREATE PUBLICATION "`+name+`" FOR TABLE "`+name+`"."t1"`) {
		t.Errorf("plan on a fresh database does not show the CREATE PUBLICATION statement:\n%s", out)
	}
	for _, want := range []string{"slot " + name + ":", "publication " + name + ":", "topic " + name + "._schemas:"} {
		if !strings.Contains(creates, want) {
			t.Errorf("plan on a fresh database does not create %q:\n%s", want, out)
		}
	}
	if l := strings.Join(planLines(out, "later"), "\n"); !strings.Contains(l, "topic "+name+"."+name+".t1:") || strings.Contains(l, ".t2") {
		t.Errorf("plan's later topics: want t1's only:\n%s", out)
	}
	if d := strings.Join(planLines(out, "drift"), "\n"); !strings.Contains(d, "slot "+orphan+":") {
		t.Errorf("plan does not report the inactive slot %s as drift:\n%s", orphan, out)
	}

	p := startCDC(t, one)
	waitStreaming(t, p)
	pgExec(t, db, "INSERT INTO "+name+".t1 VALUES (1)")
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(1, 30*time.Second)
	p.stopOK()

	code, out, errOut = runCDC(t, 60*time.Second, nil, "plan", "-c", one)
	if code != 0 || !strings.Contains(out, "no change pending") {
		t.Fatalf("plan after run: exit %d, want 0 and no change\n%s%s", code, out, errOut)
	}
	if n := len(planLines(out, "create")) + len(planLines(out, "alter")); n != 0 {
		t.Errorf("plan after run: %d create/alter steps:\n%s", n, out)
	}
	if !strings.Contains(out, `checkpoint "`+name+`": seq`) {
		t.Errorf("plan after run does not show the checkpoint:\n%s", out)
	}

	two := conf(fmt.Sprintf("[%s.t1, %s.t2]", name, name))
	code, out, errOut = runCDC(t, 60*time.Second, nil, "plan", "-c", two)
	if code != 4 {
		t.Fatalf("plan with a table added: exit %d, want 4\n%s%s", code, out, errOut)
	}
	alters, creates2 := planLines(out, "alter"), planLines(out, "create")
	if len(alters) != 1 || len(creates2) != 0 || !strings.Contains(alters[0], "adds table "+name+".t2") || strings.Contains(alters[0], "t1") {
		t.Errorf("plan with a table added: want exactly one alter adding %s.t2, got alters %q creates %q:\n%s", name, alters, creates2, out)
	}
	if l := strings.Join(planLines(out, "later"), "\n"); !strings.Contains(l, name+"."+name+".t2") {
		t.Errorf("plan with a table added: t2's topic is not listed for later:\n%s", out)
	}
}

// On MariaDB nothing is created on the server: a fresh connector's plan
// creates only Kafka topics; after a run, nothing.
func TestPlanMySQL(t *testing.T) {
	name := uniq("myplan")
	db := myConnect(t)
	myExec(t, db, "CREATE DATABASE "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	cfg := writeConfig(t, myConfig(name, newServerID(), ""))
	code, out, errOut := runCDC(t, 60*time.Second, nil, "plan", "-c", cfg)
	if code != 4 || !strings.Contains(out, "nothing is created on it") || !strings.Contains(strings.Join(planLines(out, "create"), "\n"), "topic "+name+"._schemas") {
		t.Fatalf("plan on a fresh MariaDB connector: exit %d\n%s%s", code, out, errOut)
	}
	p := startCDC(t, cfg)
	waitStreaming(t, p)
	myExec(t, db, "INSERT INTO "+name+".t VALUES (1)")
	newConsumer(t, "^"+name+`\.`).atLeast(1, 30*time.Second)
	p.stopOK()
	code, out, errOut = runCDC(t, 60*time.Second, nil, "plan", "-c", cfg)
	if code != 0 {
		t.Fatalf("plan after run: exit %d\n%s%s", code, out, errOut)
	}
}
