//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// SIGTERM between bursts of writes: every stop exits 0, and across the
// restarts nothing is lost or repeated.
func TestPostgresGracefulRestart(t *testing.T) {
	name := uniq("pgstop")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, v int)")
	dropSlotAtEnd(t, db, name, name)
	cfg := writeConfig(t, pgConfig(name, "  batch:\n    linger: 200ms\n"))
	c := newConsumer(t, "^"+name+`\.`)
	n := 0
	for round := 0; round < 4; round++ {
		p := startCDC(t, cfg)
		waitStreaming(t, p)
		for i := 0; i < 50; i++ {
			n++
			pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (%d, %d)", name, n, round))
		}
		// Stop while changes may still be in flight.
		if code := p.stop(30 * time.Second); code != 0 {
			t.Fatalf("round %d: exit code %d; log:\n%s", round, code, p.Log())
		}
		// Written while stopped.
		n++
		pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (%d, -1)", name, n))
	}
	p := startCDC(t, cfg)
	c.atLeast(n, 60*time.Second)
	es := c.settle(2 * time.Second)
	keys := byKey(es, name+"."+name+".t")
	for i := 1; i <= n; i++ {
		if got := len(keys[fmt.Sprintf(`{"id":%d}`, i)]); got != 1 {
			t.Errorf("id %d: %d events, want 1", i, got)
		}
	}
	if len(es) != n {
		t.Errorf("%d events, want %d", len(es), n)
	}
	p.stopOK()
}

// The slot's confirmed position and the Kafka checkpoint differ:
//   - slot behind the checkpoint (the crash window between Kafka commit and
//     acknowledgement): resume from the checkpoint, no duplicates;
//   - slot ahead of the checkpoint (someone advanced it): refuse to start,
//     naming both positions, rather than silently skip changes.
func TestPostgresSlotVersusCheckpoint(t *testing.T) {
	name := uniq("pgslot")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	dropSlotAtEnd(t, db, name, name)
	// A long status interval: the slot hears of Kafka commits late, so a
	// SIGKILL leaves it behind the checkpoint.
	cfg := writeConfig(t, replaceStatus(pgConfig(name, "  batch:\n    linger: 0s\n"), "60s"))
	c := newConsumer(t, "^"+name+`\.`)

	p := startCDC(t, cfg)
	waitStreaming(t, p)
	for i := 1; i <= 10; i++ {
		pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (%d)", name, i))
	}
	c.atLeast(10, 60*time.Second)
	p.kill()
	var confirmed string
	if err := db.QueryRow(context.Background(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", name).Scan(&confirmed); err != nil {
		t.Fatal(err)
	}
	t.Logf("slot confirmed %s after the kill", confirmed)

	p = startCDC(t, cfg)
	waitStreaming(t, p)
	pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (11)", name))
	c.atLeast(11, 60*time.Second)
	if es := c.settle(2 * time.Second); len(es) != 11 {
		t.Fatalf("%d events after restart with the slot behind the checkpoint, want 11 (no duplicates); log:\n%s", len(es), p.Log())
	}
	p.stopOK()

	// Advance the slot past the checkpoint behind the connector's back.
	// The test server runs with synchronous_commit=off: commit this row
	// durably, so that the WAL position the slot moves to covers it.
	pgExec(t, db, "SET synchronous_commit = on", fmt.Sprintf("INSERT INTO %s.t VALUES (12)", name))
	var advanced string
	if err := db.QueryRow(context.Background(), "SELECT end_lsn::text FROM pg_replication_slot_advance($1, pg_current_wal_lsn())", name).Scan(&advanced); err != nil {
		t.Fatal(err)
	}
	t.Logf("slot advanced to %s", advanced)
	p = startCDC(t, cfg)
	if code := p.waitExit(60 * time.Second); code == 0 {
		t.Fatalf("started although the slot is ahead of the checkpoint; log:\n%s", p.Log())
	}
	assertOneLineError(t, p.Log(), "ahead of the checkpoint")
}

// A second instance with the same name fences the first: the first stops
// with an error that says so, the second carries on, and under continuous
// writes the handover neither loses nor repeats a change.
func TestPostgresSecondInstanceFencesFirst(t *testing.T) {
	l := startLedger(t, "pgfence", 10, "  batch:\n    linger: 20ms\n")
	first := l.p
	time.Sleep(time.Second)

	second := startCDC(t, l.cfg)
	if code := first.waitExit(60 * time.Second); code != 3 { // halted: restarting it would fence the second
		t.Fatalf("first instance: exit code %d, want 3; log:\n%s", code, first.Log())
	}
	assertOneLineError(t, first.Log(), "took over")
	waitStreaming(t, second)
	time.Sleep(time.Second)
	l.stopWriting()
	l.await(t)
	if code := second.stop(30 * time.Second); code != 0 {
		t.Fatalf("second instance: exit code %d; log:\n%s", code, second.Log())
	}
}

// The server ends the connector's connections (pg_terminate_backend, as a
// failover or an admin would): the connector resumes from its checkpoint
// without exiting, and nothing is lost or repeated.
func TestPostgresConnectionLossResumes(t *testing.T) {
	l := startLedger(t, "pgterm", 10, "  batch:\n    linger: 20ms\n")
	db, p, name := l.db, l.p, l.w.schema
	for i := 0; i < 3; i++ {
		time.Sleep(700 * time.Millisecond)
		// Every backend of the connector: the walsender and the catalog connection.
		if _, err := db.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 OR (usename = current_user AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND query ILIKE '%pg_attribute%')", "cdc:"+name); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	l.stopWriting()
	l.await(t)
	if p.exited() {
		t.Fatalf("connector exited instead of resuming; log:\n%s", p.Log())
	}
	if !strings.Contains(p.Log(), "resuming from the last checkpoint") {
		t.Errorf("no resume logged; log:\n%s", p.Log())
	}
	p.stopOK()
}
