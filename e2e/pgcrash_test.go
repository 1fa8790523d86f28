//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ledgerWriter runs transactions against <schema>.counters and
// <schema>.ledger until stopped: each committed transaction bumps the
// counter of one to three keys and inserts one ledger row per bump (some
// with a multi-row INSERT, so several rows share a statement); one in ten
// transactions does the same work and rolls back. It remembers what
// committed.
type ledgerWriter struct {
	// redial, when set, makes the writer ride a server restart: it
	// returns the DSN to connect to again.
	redial func() string
	schema string
	ledgerBook
}

func (w *ledgerWriter) setup(t *testing.T, db *pgx.Conn) {
	pgExec(t, db,
		"CREATE SCHEMA "+w.schema,
		"CREATE TABLE "+w.schema+".counters (k int PRIMARY KEY, v int NOT NULL)",
		"CREATE TABLE "+w.schema+".ledger (k int, seq int, note text, PRIMARY KEY (k, seq))",
	)
}

// seed inserts the counter rows (call once streaming runs, so the inserts are captured).
func (w *ledgerWriter) seed(t *testing.T, db *pgx.Conn) {
	pgExec(t, db, fmt.Sprintf("INSERT INTO %s.counters SELECT g, 0 FROM generate_series(1, %d) g", w.schema, w.keys))
	w.seeded()
}

func (w *ledgerWriter) run(ctx context.Context, t *testing.T, db *pgx.Conn) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for ctx.Err() == nil {
		vals, rollback, atCommit, err := w.tx(db, rng)
		if err != nil {
			if w.redial == nil {
				return err
			}
			// The server went away (a restart under the writes): dial
			// until it is back, then settle a commit whose answer was lost
			// from the counter it set.
			db.Close(context.Background())
			if db, err = w.reconnect(ctx); err != nil {
				return err
			}
			if atCommit {
				if err := w.settle(db, vals); err != nil {
					return err
				}
			}
			continue
		}
		if rollback {
			w.rolledBack()
			continue
		}
		w.committed(vals)
		time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
	}
	return nil
}

// tx runs one transaction of the ledger writer. atCommit tells that err is
// the commit's: the transaction may have committed.
func (w *ledgerWriter) tx(db *pgx.Conn, rng *rand.Rand) (vals map[int]int, rollback, atCommit bool, err error) {
	n := 1 + rng.IntN(3)
	ks := map[int]bool{}
	for len(ks) < n {
		ks[1+rng.IntN(w.keys)] = true
	}
	var keys []int
	for k := range ks {
		keys = append(keys, k)
	}
	sort.Ints(keys) // fixed lock order: no deadlocks between writers
	rollback = rng.IntN(10) == 0
	multi, single := "multi", "single"
	if rollback {
		multi, single = "rollback", "rollback"
	}
	bg := context.Background()
	tx, err := db.Begin(bg)
	if err != nil {
		return nil, false, false, err
	}
	defer tx.Rollback(bg)
	vals = map[int]int{}
	for _, k := range keys {
		var v int
		if err := tx.QueryRow(bg, fmt.Sprintf("UPDATE %s.counters SET v = v + 1 WHERE k = $1 RETURNING v", w.schema), k).Scan(&v); err != nil {
			return nil, false, false, err
		}
		vals[k] = v
	}
	if rng.IntN(2) == 0 {
		// One multi-row statement.
		q := fmt.Sprintf("INSERT INTO %s.ledger VALUES ", w.schema)
		for i, k := range keys {
			if i > 0 {
				q += ", "
			}
			q += fmt.Sprintf("(%d, %d, '%s')", k, vals[k], multi)
		}
		if _, err := tx.Exec(bg, q); err != nil {
			return nil, false, false, err
		}
	} else {
		for _, k := range keys {
			if _, err := tx.Exec(bg, fmt.Sprintf("INSERT INTO %s.ledger VALUES ($1, $2, $3)", w.schema), k, vals[k], single); err != nil {
				return nil, false, false, err
			}
		}
	}
	if rollback {
		return vals, true, false, tx.Rollback(bg)
	}
	if err := tx.Commit(bg); err != nil {
		return vals, false, true, err
	}
	return vals, false, false, nil
}

// reconnect dials w.redial until it answers, for up to a minute.
func (w *ledgerWriter) reconnect(ctx context.Context) (*pgx.Conn, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		db, err := pgx.Connect(cctx, w.redial())
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return db, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settle records the transaction that set vals as committed if the
// counters say it did (the writer alone moves them, by one each time).
func (w *ledgerWriter) settle(db *pgx.Conn, vals map[int]int) error {
	for k, v := range vals {
		var now int
		if err := db.QueryRow(context.Background(), fmt.Sprintf("SELECT v FROM %s.counters WHERE k = $1", w.schema), k).Scan(&now); err != nil {
			return err
		}
		if now == v {
			w.committed(vals)
		}
		return nil
	}
	return nil
}

// verify checks that Kafka holds every committed change exactly once, in
// order per key, and nothing that rolled back.
func (w *ledgerWriter) verify(t *testing.T, es []event, prefix string) {
	t.Helper()
	w.ledgerBook.verify(t, es, prefix+"."+w.schema)
}

// done reports whether every committed counter value has arrived.
func (w *ledgerWriter) done(t *testing.T, es []event, prefix string) bool {
	return w.ledgerBook.done(es, prefix+"."+w.schema)
}

// Kills the connector right after a transaction whose changes share LSNs
// with their neighbours (one multi-row statement; back-to-back
// transactions) became visible in Kafka, then writes more and restarts.
func TestPostgresKillAfterSharedLSN(t *testing.T) {
	name := uniq("pglsn")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, round int)")
	dropSlotAtEnd(t, db, name, name)
	cfg := writeConfig(t, pgConfig(name, "  batch:\n    linger: 0s\n"))
	c := newConsumer(t, "^"+name+`\.`)
	id := 0
	want := 0
	for round := 0; round < 6; round++ {
		p := startCDC(t, cfg)
		waitStreaming(t, p)
		// A multi-row statement and two back-to-back single-row transactions.
		q := fmt.Sprintf("INSERT INTO %s.t SELECT g, %d FROM generate_series(%d, %d) g", name, round, id+1, id+5)
		id += 5
		pgExec(t, db, q,
			fmt.Sprintf("INSERT INTO %s.t VALUES (%d, %d)", name, id+1, round),
			fmt.Sprintf("INSERT INTO %s.t VALUES (%d, %d)", name, id+2, round))
		id += 2
		want += 7
		c.atLeast(want, 60*time.Second)
		p.kill() // right after the last change is committed in Kafka
		// Written while the connector is down: must arrive after restart.
		pgExec(t, db, fmt.Sprintf("UPDATE %s.t SET round = -1 WHERE id = %d", name, id))
		want++
	}
	p := startCDC(t, cfg)
	c.atLeast(want, 60*time.Second)
	es := c.settle(3 * time.Second)
	keys := byKey(es, name+"."+name+".t")
	for i := 1; i <= id; i++ {
		k := fmt.Sprintf(`{"id":%d}`, i)
		wantOps := []string{"c"}
		if i%7 == 0 {
			wantOps = []string{"c", "u"}
		}
		if s := summary(t, keys[k]); fmt.Sprint(s) != fmt.Sprint(wantOps) {
			t.Errorf("key %s: %v, want %v", k, s, wantOps)
		}
	}
	if len(es) != want {
		t.Errorf("%d events, want %d", len(es), want)
	}
	p.stopOK()
}

// ledgerRun is a connector streaming a ledger schema while a writer runs.
type ledgerRun struct {
	w   *ledgerWriter
	db  *pgx.Conn
	cfg string
	p   *proc
	// stopWriting stops the writer and fails the test on its error.
	stopWriting func()
}

// startLedger creates the ledger schema, starts a connector with the batch
// settings in extra, seeds the counters once it streams, and starts writing.
func startLedger(t *testing.T, prefix string, keys int, extra string) *ledgerRun {
	t.Helper()
	return startLedgerWith(t, prefix, keys, extra, nil)
}

// startLedgerWith is startLedger with the writer's redial set (nil: none).
func startLedgerWith(t *testing.T, prefix string, keys int, extra string, redial func() string) *ledgerRun {
	t.Helper()
	name := uniq(prefix)
	db := pgConnect(t)
	w := &ledgerWriter{schema: name, ledgerBook: newLedgerBook(keys), redial: redial}
	w.setup(t, db)
	dropSlotAtEnd(t, db, name, name)
	p, cfg := pgStartCDC(t, name, extra)
	w.seed(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	wdb := pgConnect(t)
	werr := make(chan error, 1)
	go func() { werr <- w.run(ctx, t, wdb) }()
	stop := func() {
		t.Helper()
		cancel()
		if err := <-werr; err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	return &ledgerRun{w: w, db: db, cfg: cfg, p: p, stopWriting: stop}
}

// await waits until Kafka holds every committed change and verifies them.
func (l *ledgerRun) await(t *testing.T) {
	t.Helper()
	name := l.w.schema
	c := newConsumer(t, "^"+name+`\.`)
	c.until(120*time.Second, func(es []event) bool { return l.w.done(t, es, name) })
	l.w.verify(t, c.settle(2*time.Second), name)
}
