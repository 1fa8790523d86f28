//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Faults after which cdc must halt (issue 13): going on would skip
// changes. Each test checks the documented message, and that what reached
// Kafka is exactly a prefix of what committed, nothing of it past the
// fault.

// The replication slot dropped under a streaming connector (its walsender
// terminated, then the slot dropped): cdc stops, exit 1, saying the slot
// does not exist any more. The restart (a supervisor's) does not start
// over from a new slot, which would skip every change since the
// checkpoint: cdc creates the slot, sees it starts after the checkpoint,
// and halts (exit 3), saying what to do. (Exit 1 first, not 3: with
// snapshot.mode when_needed the restart goes on by itself, snapshotting.)
func TestFaultPGSlotDropped(t *testing.T) {
	r := faultDBs[0].start(t, faultOpts{prefix: "slotdrop", extra: "  batch:\n    linger: 50ms\n"})
	r.p.logOnFailure()
	r.awaitProgress(t, 60*time.Second)
	time.Sleep(time.Second) // some changes streamed, not only the seed
	r.awaitProgress(t, 60*time.Second)
	slot, _, _ := strings.Cut(r.topics, ".")
	db := pgConnect(t)
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := db.Exec(ctx, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL", slot); err != nil {
			t.Fatal(err)
		}
		_, err := db.Exec(ctx, "SELECT pg_drop_replication_slot($1)", slot)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "is active") || time.Now().After(deadline) {
			t.Fatalf("dropping slot %s: %v", slot, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	limit := r.book.snapshot()
	if code := r.p.waitExit(60 * time.Second); code != 1 {
		t.Fatalf("slot dropped: exit code %d, want 1; log:\n%s", code, r.p.Log())
	}
	assertOneLineError(t, r.p.Log(), "does not exist any more (was it dropped?)")
	r.stopWriting()
	r.book.verifyHalted(t, r.c.settle(2*time.Second), r.topics, limit)

	p := startCDC(t, r.cfg)
	p.logOnFailure()
	if code := p.waitExit(60 * time.Second); code != 3 {
		t.Fatalf("restart without the slot: exit code %d, want 3 (halted); log:\n%s", code, p.Log())
	}
	assertOneLineError(t, p.Log(), "did not exist when cdc started (was it dropped?), so cdc created it")
	for _, want := range []string{"snapshot.mode: when_needed", "delete this connector's checkpoint"} {
		if !strings.Contains(p.Log(), want) {
			t.Errorf("restart without the slot: the message does not say %q:\n%s", want, p.Log())
		}
	}
	r.book.verifyHalted(t, r.c.settle(2*time.Second), r.topics, limit)
}

// A connector whose checkpoint was written from one server, started with
// source.dsn pointing at another that holds the same tables (a restored
// copy, a replica promoted without telling cdc, a wrong DSN), on both
// databases: cdc halts at start (exit 3), naming both servers, and emits
// nothing. Resuming at the checkpoint's position on another server would
// skip or invent changes.
func TestFaultOtherServer(t *testing.T) {
	for _, db := range faultDBs {
		t.Run(db.name, func(t *testing.T) {
			r := db.start(t, faultOpts{prefix: "othersrv", extra: "  batch:\n    linger: 50ms\n"})
			r.p.logOnFailure()
			r.awaitProgress(t, 60*time.Second)
			r.finish(t)
			before := len(r.c.settle(time.Second))

			db.other(t, r)
			p := startCDC(t, r.cfg)
			p.logOnFailure()
			if code := p.waitExit(60 * time.Second); code != 3 {
				t.Fatalf("pointed at another server: exit code %d, want 3 (halted); log:\n%s", code, p.Log())
			}
			assertOneLineError(t, p.Log(), "server")
			if !strings.Contains(p.Log(), "belongs to") || !strings.Contains(p.Log(), "but source.dsn points at") {
				t.Errorf("the message does not name both servers:\n%s", p.Log())
			}
			if after := len(r.c.settle(2 * time.Second)); after != before {
				t.Errorf("%d events arrived after the connector was pointed at another server, want none", after-before)
			}
		})
	}
}

// A MariaDB failover under the writes: a primary and a replica of it
// (log_slave_updates, GTIDs), the writer and cdc reaching the primary
// through an address that then moves to the replica (a virtual IP),
// after the replica caught up and was promoted. cdc notices on its next
// binlog connection that the server changed and halts (exit 3) rather
// than resume one server's position on another; told that the new server
// is of the same lineage (source.failover: gtid), the restart resumes at
// the checkpoint's GTIDs there. Every committed change arrives exactly
// once, across the failover.
func TestFaultMariaDBFailover(t *testing.T) {
	primary := startPrivateMariaDB(t)
	replica := startPrivateMariaDB(t, "--server-id=2", "--log-slave-updates=ON")
	pdb, rdb := sqlOpen(t, primary.dsn), sqlOpen(t, replica.dsn)
	pcfg, err := mysql.ParseDSN(primary.dsn)
	if err != nil {
		t.Fatal(err)
	}
	rcfg, err := mysql.ParseDSN(replica.dsn)
	if err != nil {
		t.Fatal(err)
	}
	gtidPos := func() string {
		var pos string
		if err := pdb.QueryRow("SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos); err != nil {
			t.Fatal(err)
		}
		return pos
	}
	host, port, _ := strings.Cut(pcfg.Addr, ":")
	myExec(t, rdb, "RESET MASTER", "SET GLOBAL gtid_slave_pos = '"+gtidPos()+"'",
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%s, MASTER_USER='cdc', MASTER_PASSWORD='cdc', MASTER_USE_GTID=slave_pos", host, port),
		"START SLAVE")

	vip := newTCPProxy(t, pcfg.Addr)
	vcfg := pcfg.Clone()
	vcfg.Addr = vip.addr
	saved := mariaDSN
	mariaDSN = vcfg.FormatDSN()
	t.Cleanup(func() { mariaDSN = saved })
	t.Setenv("CDC_MYSQL_DSN", mariaDSN)

	r := faultDBs[1].start(t, faultOpts{prefix: "failover", extra: "  batch:\n    linger: 50ms\n", restartable: true})
	r.p.logOnFailure()
	time.Sleep(time.Second)
	r.awaitProgress(t, 60*time.Second)

	// The failover: the address stops answering, the replica applies
	// everything the primary has, is promoted, and the address moves.
	vip.cut()
	var caught int
	if err := rdb.QueryRow("SELECT MASTER_GTID_WAIT(?, 60)", gtidPos()).Scan(&caught); err != nil || caught != 0 {
		t.Fatalf("replica did not catch up with the primary (%d): %v", caught, err)
	}
	myExec(t, rdb, "STOP SLAVE", "RESET SLAVE ALL")
	atFailover := r.book.snapshot()
	vip.retarget(rcfg.Addr)
	vip.restore()

	if code := r.p.waitExit(60 * time.Second); code != 3 {
		t.Fatalf("address moved to another server: exit code %d, want 3 (halted); log:\n%s", code, r.p.Log())
	}
	assertOneLineError(t, r.p.Log(), "source.dsn now reaches mariadb server")

	cfg, err := os.ReadFile(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	told := strings.Replace(string(cfg), "  heartbeat: 1s\n", "  heartbeat: 1s\n  failover: gtid\n", 1)
	if told == string(cfg) {
		t.Fatal("could not add source.failover to the config")
	}
	if err := os.WriteFile(r.cfg, []byte(told), 0o644); err != nil {
		t.Fatal(err)
	}
	r.p = startCDC(t, r.cfg)
	r.p.logOnFailure()
	waitStreaming(t, r.p)
	if !strings.Contains(r.p.Log(), "resuming on another server of the same GTID lineage") {
		t.Errorf("the restart does not say it resumes on another server; log:\n%s", r.p.Log())
	}
	time.Sleep(2 * time.Second)
	r.awaitProgress(t, 60*time.Second)
	moved := false
	for k, v := range r.book.snapshot() {
		moved = moved || v > atFailover[k]
	}
	if !moved {
		t.Fatal("nothing was written on the new primary")
	}
	r.finish(t)
}

// The address cdc reaches Postgres by moves to another server under the
// writes (a DNS change, a virtual IP moved to a server that is no copy of
// this one): on its next connection cdc sees another system identifier
// and halts (exit 3) rather than stream that server's slot from this
// one's position. What arrived is a prefix of what committed.
func TestFaultPGAddressMoves(t *testing.T) {
	vip := faultDBs[0].proxy(t)
	r := faultDBs[0].start(t, faultOpts{prefix: "pgmoves", extra: "  batch:\n    linger: 50ms\n"})
	r.p.logOnFailure()
	r.awaitProgress(t, 60*time.Second)
	otherDSN := privatePostgres(t)
	other, err := url.Parse(otherDSN)
	if err != nil {
		t.Fatal(err)
	}
	// The other server has the connector's database too.
	here, err := url.Parse(pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), otherDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+strings.TrimPrefix(here.Path, "/")); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	vip.cut()
	limit := r.book.snapshot()
	vip.retarget(other.Host)
	vip.restore()
	if code := r.p.waitExit(60 * time.Second); code != 3 {
		t.Fatalf("address moved to another server: exit code %d, want 3 (halted); log:\n%s", code, r.p.Log())
	}
	assertOneLineError(t, r.p.Log(), "source.dsn now reaches postgres server")
	r.stopWriting()
	r.book.verifyHalted(t, r.c.settle(2*time.Second), r.topics, limit)
}
