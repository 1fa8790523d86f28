//go:build e2e

package e2e

import (
	"cmp"
	"context"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Fault scenarios (issue 13), each written once and run on both databases
// through a faultDB: a connector streaming a ledger (pgcrash_test.go,
// mysql_helpers_test.go) under continuous writes, whose await proves every
// committed change arrived exactly once, in order per key, and no rolled-
// back one did.

// faultRun is a connector under continuous ledger writes.
type faultRun struct {
	name string // the database's, where runs on both share a test
	cfg  string
	p    *proc
	// stopWriting stops the writer and fails the test on its error.
	stopWriting func()
	// await waits until Kafka holds every committed change and verifies
	// them exactly once.
	await func(t *testing.T)
	// book is what the writer committed; c reads the ledger topics
	// (under topics) back.
	book   *ledgerBook
	c      *consumer
	topics string
	seen   counterScan // awaitProgress's, over c's events
}

// awaitProgress waits until Kafka holds every change committed before the
// call: the connector is moving again.
func (r *faultRun) awaitProgress(t *testing.T, timeout time.Duration) {
	t.Helper()
	want := r.book.snapshot()
	r.c.until(timeout, func(es []event) bool { return r.seen.reached(es, r.topics, want) })
}

// faultDB starts a faultRun on one database. proxy puts a tcpProxy between the connectors started after it and the
// database (the test's own connections go direct).
type faultDB struct {
	name  string
	start func(t *testing.T, o faultOpts) *faultRun
	proxy func(t *testing.T) *tcpProxy
	// other starts a second, private server holding the run's tables
	// (empty) and points the connectors started after it there.
	other func(t *testing.T, r *faultRun)
	// private starts a private server and points the test (its own
	// connections, and the connectors) at it until t ends; restart stops
	// it (crash: abruptly) and starts it again.
	private func(t *testing.T) (restart func(crash bool))
}

// faultOpts shape a faultRun: the names' prefix, YAML under kafka:, and a
// private Kafka cluster to use instead of the shared broker.
type faultOpts struct {
	prefix, extra string
	kafka         *kafkaCluster
	// kafkaVia, when set, is the address the connectors reach o.kafka
	// by (a fault proxy); the test's own reads go to o.kafka directly.
	kafkaVia string
	// pace pauses the writer after each transaction (see ledgerBook).
	pace time.Duration
	// restartable makes the writer ride a restart of the database server.
	restartable bool
}

// seeds points the connectors at o.kafka, if set, and returns the seed
// brokers of the test's own reads.
func (o faultOpts) seeds(t *testing.T) []string {
	if o.kafka == nil {
		return []string{brokers}
	}
	t.Setenv("CDC_KAFKA_BROKERS", cmp.Or(o.kafkaVia, o.kafka.brokers()))
	return strings.Split(o.kafka.brokers(), ",")
}

var faultDBs = []faultDB{
	{"postgres", func(t *testing.T, o faultOpts) *faultRun {
		// A frozen connector's walsender holds the slot until
		// wal_sender_timeout (60 s by default); the fault tests freeze.
		dsn := os.Getenv("CDC_PG_DSN")
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		t.Setenv("CDC_PG_DSN", dsn+sep+"options=-c%20wal_sender_timeout%3D3s")
		seeds := o.seeds(t)
		var redial func() string
		if o.restartable {
			redial = func() string { return pgDSN }
		}
		l := startLedgerWith(t, o.prefix, 10, o.extra, redial)
		name := l.w.schema
		c := newConsumerAt(t, seeds, "^"+name+`\.`)
		return &faultRun{cfg: l.cfg, p: l.p, stopWriting: l.stopWriting,
			await: func(t *testing.T) {
				t.Helper()
				c.until(120*time.Second, func(es []event) bool { return l.w.done(t, es, name) })
				l.w.verify(t, c.settle(2*time.Second), name)
			},
			book: &l.w.ledgerBook, c: c, topics: name + "." + name}
	}, func(t *testing.T) *tcpProxy {
		u, err := url.Parse(os.Getenv("CDC_PG_DSN"))
		if err != nil {
			t.Fatal(err)
		}
		p := newTCPProxy(t, u.Host)
		u.Host = p.addr
		t.Setenv("CDC_PG_DSN", u.String())
		return p
	}, func(t *testing.T, r *faultRun) {
		dsn := privatePostgres(t)
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		ns, _, _ := strings.Cut(r.topics, ".")
		(&ledgerWriter{schema: ns}).setup(t, conn)
		t.Setenv("CDC_PG_DSN", dsn)
	}, func(t *testing.T) func(bool) {
		pg := startPrivatePG(t)
		saved := pgDSN
		pgDSN = pg.dsn
		t.Cleanup(func() { pgDSN = saved })
		t.Setenv("CDC_PG_DSN", pg.dsn)
		return func(crash bool) {
			if crash {
				pg.crash()
			} else {
				pg.stop()
			}
			pg.start()
		}
	}},
	{"mariadb", startMyLedger, func(t *testing.T) *tcpProxy {
		cfg, err := mysql.ParseDSN(os.Getenv("CDC_MYSQL_DSN"))
		if err != nil {
			t.Fatal(err)
		}
		p := newTCPProxy(t, cfg.Addr)
		cfg.Addr = p.addr
		t.Setenv("CDC_MYSQL_DSN", cfg.FormatDSN())
		return p
	}, func(t *testing.T, r *faultRun) {
		dsn := privateMariaDB(t)
		ns, _, _ := strings.Cut(r.topics, ".")
		(&myLedgerWriter{db: ns}).setup(t, sqlOpen(t, dsn))
		t.Setenv("CDC_MYSQL_DSN", dsn)
	}, func(t *testing.T) func(bool) {
		my := startPrivateMariaDB(t)
		saved := mariaDSN
		mariaDSN = my.dsn
		t.Cleanup(func() { mariaDSN = saved })
		t.Setenv("CDC_MYSQL_DSN", my.dsn)
		return func(crash bool) {
			if crash {
				my.kill()
			} else {
				my.stop()
			}
			my.start()
		}
	}},
}

// startMyLedger is startLedger for MariaDB. MariaDB keeps no replication
// slot: until the first checkpoint, a restart starts at the server's
// current position, so the writes start once the seed is in Kafka.
func startMyLedger(t *testing.T, o faultOpts) *faultRun {
	t.Helper()
	seeds := o.seeds(t)
	name := uniq(o.prefix)
	db := myConnect(t)
	w := &myLedgerWriter{db: name, ledgerBook: newLedgerBook(10), resilient: o.restartable}
	w.setup(t, db)
	p, cfg := myStartCDC(t, name, o.extra)
	w.seed(t, db)
	c := newConsumerAt(t, seeds, "^"+name+`\.`+name+`\.`)
	c.atLeast(w.keys, 60*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	werr := make(chan error, 1)
	go func() { werr <- w.run(ctx, db) }()
	return &faultRun{cfg: cfg, p: p,
		stopWriting: func() {
			t.Helper()
			cancel()
			if err := <-werr; err != nil {
				t.Fatalf("writer: %v", err)
			}
		},
		await: func(t *testing.T) {
			t.Helper()
			c.until(120*time.Second, func(es []event) bool { return w.done(t, es, name) })
			w.verify(t, c.settle(2*time.Second), name)
		},
		book: &w.ledgerBook, c: c, topics: name + "." + name,
	}
}

// The connector SIGKILLed again and again at random points (during
// start-up, mid-stream, mid-commit) under the writes, and restarted: every
// committed change arrives exactly once.
func TestFaultKillRestart(t *testing.T) {
	for i, db := range faultDBs {
		t.Run(db.name, func(t *testing.T) {
			r := db.start(t, faultOpts{prefix: "kill", extra: "  batch:\n    linger: 30ms\n    max_events: 200\n"})
			r.p = killCycles(t, r.cfg, r.p, 20, uint64(11+i))
			r.name = db.name
			r.verifyClean(t, 3*time.Minute) // under the writes, across the 20 restarts' checkpoints
			r.finish(t)
		})
	}
}

// A connector frozen (SIGSTOP) while a new instance of it takes over, and
// for longer than its Kafka transaction timeout: when it wakes up it is
// fenced, halts with exit code 3 saying so, and commits nothing; the new
// instance carries on, and across the handover nothing is lost or repeated.
//
// A frozen process sees its transaction timeout and the newer instance's
// fencing at once, from the same answer (PRODUCER_FENCED): cdc then looks
// for the newer instance in the presence group before it decides.
func TestFaultZombieWakesFenced(t *testing.T) {
	for _, db := range faultDBs {
		t.Run(db.name, func(t *testing.T) {
			const timeout = 3 * time.Second
			// Transactions that stay open 2 s under the writes: the freeze
			// lands in one, which is the case that looks like a timeout.
			r := db.start(t, faultOpts{prefix: "zombie", extra: "  transaction_timeout: 3s\n  batch:\n    linger: 2s\n    min_linger: 2s\n"})
			time.Sleep(time.Second)
			pid := r.p.cmd.Process.Pid
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			woken := false
			wake := func() {
				if !woken {
					woken = true
					syscall.Kill(pid, syscall.SIGCONT)
				}
			}
			defer wake()
			frozen := time.Now()

			second := startCDC(t, r.cfg)
			second.logOnFailure()
			waitStreaming(t, second)
			time.Sleep(max(0, 2*timeout-time.Since(frozen)))
			wake()
			if code := r.p.waitExit(60 * time.Second); code != 3 {
				t.Fatalf("zombie: exit code %d, want 3 (halted: fenced); log:\n%s", code, r.p.Log())
			}
			assertOneLineError(t, r.p.Log(), "took over")
			// It must not have taken the transactional id back.
			if strings.Contains(r.p.Log(), reopenedLine) {
				t.Fatalf("zombie made a new producer; log:\n%s", r.p.Log())
			}
			lines := strings.Split(strings.TrimSpace(r.p.Log()), "\n")
			t.Logf("zombie: %s", lines[len(lines)-1])
			time.Sleep(time.Second)
			r.stopWriting()
			r.await(t)
			second.stopOK()
		})
	}
}

// Kafka unreachable (a proxy between cdc and the broker cut) for longer than
// the transaction timeout, a transaction open: the broker aborts it. cdc
// commits no half: it re-initializes its producer in the process (the
// coordinator accepts that only when no other instance took the
// transactional id) and resumes from the checkpoint; every change arrives
// exactly once. A transaction only opened during the cut, which the broker
// never saw, is recovered without a new producer.
func TestFaultKafkaCutPastTransactionTimeout(t *testing.T) {
	proxy := newKafkaProxy(t, brokers)
	t.Setenv("CDC_KAFKA_BROKERS", proxy.addr)
	rs := startFaultRuns(t, faultOpts{prefix: "kcut", extra: "  transaction_timeout: 3s\n  batch:\n    linger: 2s\n    min_linger: 2s\n"})
	time.Sleep(time.Second)
	proxy.cut()
	// The broker aborts timed-out transactions on its cleanup round
	// (transaction.abort.timed.out.transaction.cleanup.interval.ms, 10 s
	// by default).
	time.Sleep(15 * time.Second)
	proxy.restore()
	for _, r := range rs {
		t.Logf("%s:", r.name)
		r.resumeAfterTimeout(t, false)
	}
}

// A connector frozen (SIGSTOP) for longer than its transaction timeout,
// with no other instance: the broker aborts its open transaction. When it
// wakes up it commits no half: it re-initializes its producer in the
// process and resumes from the checkpoint, exactly once. (Both databases'
// connectors at once.)
func TestFaultFrozenPastTransactionTimeout(t *testing.T) {
	rs := startFaultRuns(t, faultOpts{prefix: "frozen", extra: "  transaction_timeout: 3s\n  batch:\n    linger: 2s\n    min_linger: 2s\n"})
	time.Sleep(time.Second)
	for _, r := range rs {
		if err := syscall.Kill(r.p.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(15 * time.Second) // past the broker's cleanup round
	for _, r := range rs {
		if err := syscall.Kill(r.p.cmd.Process.Pid, syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rs {
		t.Logf("%s:", r.name)
		r.resumeAfterTimeout(t, true)
	}
}

// reopenedLine is what cdc logs when it made a new producer after the
// broker aborted its timed-out transaction.
const reopenedLine = "kafka producer re-initialized after the broker aborted its timed-out transaction"

// resumeAfterTimeout follows a fault that outlasted the transaction
// timeout: the connector recovers in the process, with a new producer
// (wantReopen), or without one when the broker never saw the transaction
// (opened during a cut); it must not exit. Then the writes stop and every
// change must arrive exactly once.
func (r *faultRun) resumeAfterTimeout(t *testing.T, wantReopen bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(r.p.Log(), "kafka writer recovered; resuming"); {
		if r.p.exited() {
			t.Fatalf("cdc exited (code %d) instead of recovering in the process; log:\n%s", r.p.waitExit(time.Second), r.p.Log())
		}
		if time.Now().After(deadline) {
			t.Fatalf("60 s after the fault: not resumed; log:\n%s", r.p.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	reopened := strings.Contains(r.p.Log(), reopenedLine)
	if wantReopen && !reopened {
		t.Fatalf("resumed without a new producer; log:\n%s", r.p.Log())
	}
	t.Logf("resumed in the process (new producer: %v)", reopened)
	r.finish(t)
}

// verifyClean runs cdc verify on the run's connector (running): every row
// of its tables must match the events, and the checkpoint history must be
// continuous.
func (r *faultRun) verifyClean(t *testing.T, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	code, stdout, stderr := runCDC(t, timeout, nil, "verify", "-c", r.cfg)
	matched := 0
	for _, m := range regexp.MustCompile(`: (\d+) match,`).FindAllStringSubmatch(stdout, -1) {
		n, _ := strconv.Atoi(m[1])
		matched += n
	}
	if code != 0 || strings.Count(stdout, " 0 differ, 0 missing, 0 extra;") != 2 || !strings.Contains(stdout, " 0 gaps, 0 position regressions;") || matched == 0 {
		t.Fatalf("%s: cdc verify: exit %d, want 0, both tables clean, rows compared and a continuous history; stdout:\n%s\nstderr:\n%s", r.name, code, stdout, stderr)
	}
	t.Logf("%s: cdc verify in %v: %s", r.name, time.Since(start).Round(time.Second), strings.ReplaceAll(strings.TrimSpace(stdout), "\n", "; "))
}

// finish lets the running connector stream a second more, stops the
// writes, checks that every change arrived exactly once and stops the
// connector.
func (r *faultRun) finish(t *testing.T) {
	t.Helper()
	time.Sleep(time.Second)
	r.stopWriting()
	r.await(t)
	r.p.stopOK()
}

// The network between cdc and its database fails under the writes, in
// three ways in turn: latency (30 ms each way), a cut (connections reset,
// new ones refused, for 3 s) and a black hole (the open connections go
// silent for good, as behind a firewall that forgot them; new connections
// work). cdc must ride the latency, reconnect after the cut, and notice the
// black hole by itself (no answer to what it asks the server within three
// status intervals or heartbeats) rather than wait on a dead connection
// for ever. Every change arrives exactly once.
func TestFaultSourceNetwork(t *testing.T) {
	// Both databases at once, each behind its own proxy.
	var proxies []*tcpProxy
	for _, db := range faultDBs {
		proxies = append(proxies, db.proxy(t))
	}
	rs := startFaultRuns(t, faultOpts{prefix: "srcnet", extra: "  batch:\n    linger: 50ms\n"})
	each := func(f func(*tcpProxy)) {
		for _, p := range proxies {
			f(p)
		}
	}
	each(func(p *tcpProxy) { p.delay(30 * time.Millisecond) })
	time.Sleep(3 * time.Second)
	each(func(p *tcpProxy) { p.delay(0) })

	each((*tcpProxy).cut)
	time.Sleep(3 * time.Second)
	each((*tcpProxy).restore)
	awaitAll(t, rs, 60*time.Second, "the network to the database cut and restored")

	drops := func(r *faultRun) int {
		return strings.Count(r.p.Log(), "resuming from the last checkpoint") + strings.Count(r.p.Log(), "binlog connection lost")
	}
	var before []int
	for _, r := range rs {
		before = append(before, drops(r))
	}
	// Let the retention guard (every 10 s) dial its catalog connection
	// again after the cut: the black hole must catch an idle pooled
	// connection too, which a query waits on for ever unless cdc drops it.
	time.Sleep(12 * time.Second)
	each((*tcpProxy).blackhole)
	// Three status intervals or heartbeats (1 s each here): well within
	// 10 s.
	deadline := time.Now().Add(10 * time.Second)
	for i, r := range rs {
		for drops(r) == before[i] {
			if time.Now().After(deadline) || r.p.exited() {
				t.Fatalf("%s: 10 s after the connection went silent, cdc has not dropped it; log:\n%s", r.name, r.p.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	awaitAll(t, rs, 60*time.Second, "the open connections to the database black-holed")
	finishAll(t, rs)
}

// The network between cdc and Kafka fails under the writes, each time for
// less than the transaction timeout: latency (50 ms each way), a stall of
// every connection (5 s), and a black hole of the open connections (new
// ones work). cdc rides the first two, replaces the dead connections of
// the third, and every change arrives exactly once.
func TestFaultKafkaNetwork(t *testing.T) {
	proxy := newKafkaProxy(t, brokers)
	t.Setenv("CDC_KAFKA_BROKERS", proxy.addr)
	rs := startFaultRuns(t, faultOpts{prefix: "kafkanet", extra: "  batch:\n    linger: 50ms\n"})
	proxy.delay(50 * time.Millisecond)
	time.Sleep(3 * time.Second)
	proxy.delay(0)
	proxy.stall()
	time.Sleep(5 * time.Second)
	proxy.unstall()
	awaitAll(t, rs, 60*time.Second, "the connections to Kafka stalled 5 s")
	proxy.blackhole()
	awaitAll(t, rs, 90*time.Second, "the open connections to Kafka black-holed")
	finishAll(t, rs)
}

// The database server restarted under the writes, on both databases
// (private servers): first a clean shutdown, then a crash (PostgreSQL's
// immediate shutdown, MariaDB killed), each followed by a start on the
// same data. cdc reconnects and resumes from its checkpoint in the
// process; the writer reconnects too, settling the commits whose answer
// the restart swallowed. Every committed change arrives exactly once.
func TestFaultSourceRestart(t *testing.T) {
	for _, db := range faultDBs {
		t.Run(db.name, func(t *testing.T) {
			restart := db.private(t)
			r := db.start(t, faultOpts{prefix: "dbrestart", extra: "  batch:\n    linger: 50ms\n", restartable: true})
			r.p.logOnFailure()
			for _, crash := range []bool{false, true} {
				time.Sleep(2 * time.Second)
				restart(crash)
				r.awaitProgress(t, 90*time.Second)
				if r.p.exited() {
					t.Fatalf("server restarted (crash %v): the connector exited; log:\n%s", crash, r.p.Log())
				}
			}
			r.finish(t)
		})
	}
}
