//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// metricValue reads the sample named name (with its labels, as printed:
// `cdc_reconnects_total{component="kafka"}`) from /metrics.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(httpGet(t, base+"/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s %q: %v", name, v, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// waitReady polls /readyz until it answers want, and returns the body.
func waitReady(t *testing.T, p *proc, base string, want int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := httpStatus(t, base+"/readyz")
		if code == want {
			return body
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("/readyz answers %d %s, want %d within %v; log:\n%s", code, body, want, timeout, p.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Kafka unreachable for 30 s while rows are written: /readyz answers 503
// naming Kafka (the state says reconnecting) and /healthz stays 200 for
// the whole outage; once Kafka is back /readyz answers 200 again, the
// reconnect is counted, and every row written meanwhile arrives exactly
// once.
func TestReadinessKafkaDown(t *testing.T) {
	name := uniq("readyk")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	dropSlotAtEnd(t, db, name, name)
	proxy := newKafkaProxy(t, brokers)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := strings.Replace(pgConfig(name, "  batch:\n    linger: 0s\n"), "${CDC_KAFKA_BROKERS}", proxy.addr, 1)
	p := startCDC(t, writeConfig(t, cfg+fmt.Sprintf("metrics:\n  listen: 127.0.0.1:%d\n", port)))
	p.logOnFailure()
	waitStreaming(t, p)
	c := newConsumer(t, "^"+name+`\.`)
	n := 0
	insert := func() {
		n++
		pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (%d)", name, n))
	}
	insert()
	c.atLeast(1, 30*time.Second)
	if body := waitReady(t, p, base, 200, 10*time.Second); !strings.Contains(body, `"ready":true`) {
		t.Errorf("/readyz with kafka up: %s", body)
	}

	proxy.cut()
	cutAt := time.Now()
	body := waitReady(t, p, base, 503, 20*time.Second)
	t.Logf("/readyz %v after the cut: %s", time.Since(cutAt).Round(100*time.Millisecond), strings.TrimSpace(body))
	for _, want := range []string{`"ready":false`, `"state":"reconnecting"`, `"component":"kafka"`, "kafka unreachable since", `"since":"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz with kafka down lacks %q: %s", want, body)
		}
	}
	for time.Since(cutAt) < 30*time.Second {
		insert()
		if code, body := httpStatus(t, base+"/readyz"); code != 503 {
			t.Fatalf("/readyz %v into the outage: %d %s, want 503", time.Since(cutAt).Round(time.Second), code, body)
		}
		if code, body := httpStatus(t, base+"/healthz"); code != 200 {
			t.Fatalf("/healthz during the outage: %d %s, want 200", code, body)
		}
		time.Sleep(time.Second)
	}
	if v := metricValue(t, base, `cdc_connector_state{state="reconnecting"}`); v != 1 {
		t.Errorf(`cdc_connector_state{state="reconnecting"} = %v during the outage, want 1`, v)
	}

	proxy.restore()
	restoredAt := time.Now()
	body = waitReady(t, p, base, 200, 30*time.Second)
	t.Logf("/readyz %v after the restore: %s", time.Since(restoredAt).Round(100*time.Millisecond), strings.TrimSpace(body))
	insert()
	keys := byKey(c.until(60*time.Second, func(es []event) bool { return len(es) >= n }), name+"."+name+".t")
	keys = byKey(c.settle(2*time.Second), name+"."+name+".t")
	for id := 1; id <= n; id++ {
		if got := len(keys[fmt.Sprintf(`{"id":%d}`, id)]); got != 1 {
			t.Errorf("id %d: %d events, want exactly 1", id, got)
		}
	}
	if v := metricValue(t, base, `cdc_reconnects_total{component="kafka"}`); v < 1 {
		t.Errorf(`cdc_reconnects_total{component="kafka"} = %v after the outage, want >= 1`, v)
	}
	if v := metricValue(t, base, `cdc_connector_state{state="streaming"}`); v != 1 {
		t.Errorf(`cdc_connector_state{state="streaming"} = %v after the outage, want 1`, v)
	}
	t.Logf("%d rows, %d written while kafka was unreachable", n, n-2)
	p.stopOK()
}

// slotLag returns the WAL written after the slot's confirmed position.
func slotLag(t *testing.T, db *pgx.Conn, slot string) (confirmed string, lag int64) {
	t.Helper()
	err := db.QueryRow(context.Background(),
		"SELECT confirmed_flush_lsn::text, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&confirmed, &lag)
	if err != nil {
		t.Fatal(err)
	}
	return confirmed, lag
}

// A captured schema stays idle while another database of the same server
// writes a lot: the slot's confirmed position keeps advancing (the
// connector checkpoints and acknowledges the server's keepalive
// positions), so the WAL the slot retains stays bounded instead of growing
// with the other database's writes.
func TestPostgresIdleSlotAdvances(t *testing.T) {
	name := uniq("pgidle")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)", "CREATE DATABASE "+name+"_busy")
	t.Cleanup(func() { db.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+"_busy WITH (FORCE)") })
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "")
	p.logOnFailure()

	cc, err := pgx.ParseConfig(pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	cc.Database = name + "_busy"
	busy, err := pgx.ConnectConfig(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close(context.Background()) })
	pgExec(t, busy, "CREATE TABLE filler (id bigserial PRIMARY KEY, pad text)")

	start, _ := slotLag(t, db, name)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var written int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			// About half a megabyte of WAL per statement, some 10 MB/s.
			if _, err := busy.Exec(context.Background(), "INSERT INTO filler (pad) SELECT repeat(md5(g::text), 8) FROM generate_series(1, 1500) g"); err != nil {
				t.Errorf("busy writer: %v", err)
				return
			}
			written++
			time.Sleep(30 * time.Millisecond)
		}
	}()
	const burst = 20 * time.Second
	var maxLag int64
	deadline := time.Now().Add(burst)
	var first, last string
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		conf, lag := slotLag(t, db, name)
		if first == "" {
			first = conf
		}
		last = conf
		if time.Until(deadline) < burst-5*time.Second { // past the first checkpoints
			maxLag = max(maxLag, lag)
		}
	}
	stop()
	wg.Wait()
	var total int64
	if err := db.QueryRow(context.Background(), "SELECT (pg_current_wal_lsn() - $1::pg_lsn)::bigint", start).Scan(&total); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d statements in the other database: %d MB of WAL; slot confirmed %s -> %s; largest lag after 5s: %d MB", written, total>>20, start, last, maxLag>>20)
	if total < 64<<20 {
		t.Fatalf("the other database wrote only %d MB of WAL; the test needs more to mean something", total>>20)
	}
	if last == start {
		t.Errorf("the idle slot's confirmed position stayed at %s while %d MB of WAL were written", start, total>>20)
	}
	// The slot trails by a few status intervals of writes at most.
	if bound := total / 3; maxLag > bound {
		t.Errorf("the idle slot lagged up to %d MB behind, want well under the %d MB written (bounded)", maxLag>>20, total>>20)
	}
	p.stopOK()
}

// A slot the server invalidated (max_slot_wal_keep_size exceeded while the
// connector was stopped): cdc check names it, and cdc run stops at once
// with exit code 3 (halted: restarting does not help) and the documented
// message, instead of retrying for minutes.
func TestPostgresSlotLostHalts(t *testing.T) {
	dsn := privatePostgres(t, "max_slot_wal_keep_size=1MB", "max_wal_size=32MB", "min_wal_size=32MB", "wal_keep_size=0")
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	name := uniq("pglost")
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)", "CREATE TABLE filler (pad text)")
	cfg := writeConfig(t, strings.Replace(pgConfig(name, "  batch:\n    linger: 0s\n"), "${CDC_PG_DSN}", dsn, 1))
	p := startCDC(t, cfg)
	p.logOnFailure()
	waitStreaming(t, p)
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1)")
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(1, 60*time.Second)
	p.stopOK()

	// Write WAL and recycle it until the server invalidates the slot.
	var status string
	deadline := time.Now().Add(90 * time.Second)
	for status != "lost" {
		if time.Now().After(deadline) {
			t.Fatalf("slot still %q after 90s of WAL", status)
		}
		pgExec(t, db, "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 5000)", "SELECT pg_switch_wal()", "CHECKPOINT")
		if err := db.QueryRow(ctx, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", name).Scan(&status); err != nil {
			t.Fatal(err)
		}
	}

	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
	if code != 1 || !strings.Contains(stdout, "was invalidated by the server") || !strings.Contains(stdout, "pg_drop_replication_slot") {
		t.Errorf("check with a lost slot: exit %d, want 1 naming the invalidated slot and the fix; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	started := time.Now()
	code, _, stderr = runCDC(t, 60*time.Second, nil, "run", "-c", cfg)
	if code != 3 {
		t.Errorf("run with a lost slot: exit %d, want 3 (halted); stderr:\n%s", code, stderr)
	}
	if took := time.Since(started); took > 30*time.Second {
		t.Errorf("run took %v to give up on a lost slot, want it to stop at once", took)
	}
	assertOneLineError(t, stderr, fmt.Sprintf("replication slot %q was invalidated by the server", name))
	for _, want := range []string{"max_slot_wal_keep_size", "Restarting will not help", "pg_drop_replication_slot", "snapshot.mode: when_needed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "resuming from the last checkpoint") {
		t.Errorf("run retried a lost slot:\n%s", stderr)
	}
}

// A MariaDB with a short binlog expiry and a connector stopped for more
// than half of it: cdc check warns, and on start the retention guard warns
// that the checkpoint's binlog may soon be purged (before streaming from
// it), then says it is safe again once the connector has caught up.
func TestMySQLRetentionWarning(t *testing.T) {
	const expire = 30 * time.Second
	dsn := privateMariaDB(t, fmt.Sprintf("--binlog-expire-logs-seconds=%d", int(expire.Seconds())))
	db := sqlOpen(t, dsn)
	name := uniq("myretain")
	myExec(t, db, "CREATE DATABASE "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := writeConfig(t, strings.Replace(myConfig(name, newServerID(), "  batch:\n    linger: 0s\n"), "${CDC_MYSQL_DSN}", dsn, 1)+
		fmt.Sprintf("metrics:\n  listen: 127.0.0.1:%d\n", port))
	p := startCDC(t, cfg)
	p.logOnFailure()
	waitStreaming(t, p)
	myExec(t, db, "INSERT INTO "+name+".t VALUES (1)")
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	c.atLeast(1, 60*time.Second)
	if strings.Contains(p.Log(), "retention guard") {
		t.Errorf("a connector that keeps up was warned about retention:\n%s", p.Log())
	}
	p.stopOK()
	stopped := time.Now()

	// Written while stopped, then a new binlog: the checkpoint's file is
	// no longer the one the server writes to, and ages.
	myExec(t, db, "INSERT INTO "+name+".t VALUES (2)", "FLUSH BINARY LOGS")
	time.Sleep(time.Until(stopped.Add(expire/2 + 2*time.Second)))

	// cdc check says so too, as a warning: the connector can still resume.
	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
	if code != 0 || !strings.Contains(stdout, "warning: retention warning: the checkpoint is close to falling off") || !strings.Contains(stdout, "may be purged in") {
		t.Errorf("check with the checkpoint's binlog near expiry: exit %d, want 0 with a retention warning; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	p = startCDC(t, cfg)
	p.logOnFailure()
	waitLogLine(t, p, 30*time.Second, "retention guard: the checkpoint is close to falling off the source's log", "may be purged in", "binlog_expire_logs_seconds 30")
	if i, j := strings.Index(p.Log(), "retention guard"), strings.Index(p.Log(), "replication started"); j >= 0 && j < i {
		t.Errorf("the warning came after streaming started, want it before:\n%s", p.Log())
	}
	c.atLeast(2, 60*time.Second)
	waitLogLine(t, p, 30*time.Second, "retention guard: the checkpoint is safe again")
	if v := metricValue(t, base, "cdc_retention_state"); v != 0 {
		t.Errorf("cdc_retention_state = %v once caught up, want 0", v)
	}
	if v := metricValue(t, base, "cdc_retention_headroom_seconds"); v != expire.Seconds() {
		t.Errorf("cdc_retention_headroom_seconds = %v once caught up (in the active binlog), want %v", v, expire.Seconds())
	}
	if v := metricValue(t, base, "cdc_source_lag_bytes"); v < 0 || v > 1<<20 {
		t.Errorf("cdc_source_lag_bytes = %v once caught up", v)
	}
	p.stopOK()
}

// The database stops for 15 s (a restart, a failover) while the connector
// runs: /readyz answers 503 naming the source, the state is reconnecting,
// /healthz stays 200; once the database is back the stream resumes from
// the checkpoint, /readyz answers 200, the reconnect is counted, and every
// row arrives exactly once.
func TestReadinessSourceDown(t *testing.T) {
	pg := startPrivatePG(t)
	ctx := context.Background()
	connect := func() *pgx.Conn {
		db, err := pgx.Connect(ctx, pg.dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close(context.Background()) })
		return db
	}
	db := connect()
	name := uniq("readysrc")
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := strings.Replace(pgConfig(name, "  batch:\n    linger: 0s\n"), "${CDC_PG_DSN}", pg.dsn, 1)
	p := startCDC(t, writeConfig(t, cfg+fmt.Sprintf("metrics:\n  listen: 127.0.0.1:%d\n", port)))
	p.logOnFailure()
	waitStreaming(t, p)
	c := newConsumer(t, "^"+name+`\.`)
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1)")
	c.atLeast(1, 30*time.Second)
	waitReady(t, p, base, 200, 10*time.Second)

	pgExec(t, db, "INSERT INTO "+name+".t VALUES (2)")
	pg.stop()
	stoppedAt := time.Now()
	body := waitReady(t, p, base, 503, 20*time.Second)
	t.Logf("/readyz %v after the stop: %s", time.Since(stoppedAt).Round(100*time.Millisecond), strings.TrimSpace(body))
	for _, want := range []string{`"state":"reconnecting"`, `"component":"source"`, "source connection lost since"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz with the database down lacks %q: %s", want, body)
		}
	}
	for time.Since(stoppedAt) < 15*time.Second {
		if code, body := httpStatus(t, base+"/readyz"); code != 503 {
			t.Fatalf("/readyz %v into the outage: %d %s, want 503", time.Since(stoppedAt).Round(time.Second), code, body)
		}
		if code, body := httpStatus(t, base+"/healthz"); code != 200 {
			t.Fatalf("/healthz during the outage: %d %s, want 200", code, body)
		}
		time.Sleep(time.Second)
	}
	pg.start()
	db = connect()
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (3)")
	waitReady(t, p, base, 200, 60*time.Second)
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (4)")
	c.atLeast(4, 60*time.Second)
	keys := byKey(c.settle(2*time.Second), name+"."+name+".t")
	for id := 1; id <= 4; id++ {
		if got := len(keys[fmt.Sprintf(`{"id":%d}`, id)]); got != 1 {
			t.Errorf("id %d: %d events, want exactly 1", id, got)
		}
	}
	if v := metricValue(t, base, `cdc_reconnects_total{component="source"}`); v < 1 {
		t.Errorf(`cdc_reconnects_total{component="source"} = %v after the outage, want >= 1`, v)
	}
	p.stopOK()
}

// A running connector whose slot nears max_slot_wal_keep_size (Kafka is
// unreachable, so nothing is acknowledged while another table writes
// WAL): the retention guard warns, then /readyz names the retention
// emergency beside Kafka; once Kafka is back the slot catches up and the
// guard says it is safe again.
func TestPostgresRetentionEmergency(t *testing.T) {
	const keep = 64 << 20
	dsn := privatePostgres(t, "max_slot_wal_keep_size=64MB", "max_wal_size=1GB", "checkpoint_timeout=1h")
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	name := uniq("pgkeep")
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)", "CREATE TABLE filler (pad text)")
	proxy := newKafkaProxy(t, brokers)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := strings.Replace(strings.Replace(pgConfig(name, "  batch:\n    linger: 0s\n"), "${CDC_PG_DSN}", dsn, 1), "${CDC_KAFKA_BROKERS}", proxy.addr, 1)
	p := startCDC(t, writeConfig(t, cfg+fmt.Sprintf("metrics:\n  listen: 127.0.0.1:%d\n", port)))
	p.logOnFailure()
	waitStreaming(t, p)
	c := newConsumer(t, "^"+name+`\.`)
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1)")
	c.atLeast(1, 30*time.Second)
	waitReady(t, p, base, 200, 10*time.Second)

	proxy.cut()
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (2)")
	safe := int64(keep)
	for safe > keep/20 {
		pgExec(t, db, "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 1000)") // about 1 MB
		if err := db.QueryRow(ctx, "SELECT safe_wal_size FROM pg_replication_slots WHERE slot_name = $1", name).Scan(&safe); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("safe_wal_size %d MB of max_slot_wal_keep_size %d MB", safe>>20, keep>>20)
	waitLogLine(t, p, 30*time.Second, "retention guard: the checkpoint is close to falling off the source's log", "max_slot_wal_keep_size", "level=emergency")
	body := waitReady(t, p, base, 503, time.Second)
	for _, want := range []string{`"component":"retention"`, "retention emergency", `"component":"kafka"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz near the slot's limit lacks %q: %s", want, body)
		}
	}
	if v := metricValue(t, base, "cdc_retention_state"); v != 2 {
		t.Errorf("cdc_retention_state = %v, want 2 (emergency)", v)
	}
	if v := metricValue(t, base, "cdc_retention_headroom_bytes"); v < 0 || v > keep/10 {
		t.Errorf("cdc_retention_headroom_bytes = %v, want under a tenth of %d", v, keep)
	}
	if v := metricValue(t, base, "cdc_source_lag_bytes"); v < keep/2 {
		t.Errorf("cdc_source_lag_bytes = %v, want most of the WAL written since the cut", v)
	}

	proxy.restore()
	waitLogLine(t, p, 60*time.Second, "retention guard: the checkpoint is safe again")
	waitReady(t, p, base, 200, 30*time.Second)
	c.atLeast(2, 30*time.Second)
	p.stopOK()
}
