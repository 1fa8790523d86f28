//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// myConnect opens a connection pool to the MariaDB of e2e/services.sh
// (CDC_MYSQL_DSN), closed at test end.
func myConnect(t *testing.T) *sql.DB {
	t.Helper()
	dsn := mariaDSN
	if dsn == "" {
		t.Fatal("CDC_MYSQL_DSN is not set; run: eval \"$(e2e/services.sh env)\"")
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("connecting to mariadb: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// myExec runs statements in order on one connection, so that BEGIN ...
// COMMIT sequences and session settings hold.
func myExec(t *testing.T, db *sql.DB, sqls ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range sqls {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// myDatabase creates a database for the test and drops it at the end.
func myDatabase(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	myExec(t, db, "CREATE DATABASE "+name)
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
}

var serverIDSeq atomic.Uint32

// newServerID returns a replica server_id unlikely to clash with other test
// runs on the same server: derived from the clock, never the server's own.
func newServerID() uint32 {
	return 100_000 + uint32(time.Now().UnixNano()/1000%1_000_000_000) + serverIDSeq.Add(1)*7919
}

// myConfig returns a connector config capturing every table of database name.
func myConfig(name string, serverID uint32, extra string) string {
	return fmt.Sprintf(`name: %[1]s
source:
  type: mysql
  dsn: ${CDC_MYSQL_DSN}
  server_id: %[2]d
  tables: ["%[1]s.*"]
  status_interval: 1s
  heartbeat: 1s
kafka:
  brokers: ["${CDC_KAFKA_BROKERS}"]
  topic_prefix: %[1]s
  checkpoint_topic: _cdc_checkpoints_e2e
  partitions: 3
%[3]s`, name, serverID, extra)
}

// myStartCDC writes myConfig(name, a new server id, extra), starts cdc on
// it and waits until it streams.
func myStartCDC(t *testing.T, name, extra string) (*proc, string) {
	t.Helper()
	cfg := writeConfig(t, myConfig(name, newServerID(), extra))
	p := startCDC(t, cfg)
	waitStreaming(t, p)
	return p, cfg
}

// myDSNFor returns CDC_MYSQL_DSN with another user and password.
func myDSNFor(t *testing.T, user, pass string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(mariaDSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Passwd = user, pass
	return cfg.FormatDSN()
}

// myLedgerWriter is ledgerWriter (pgcrash_test.go) for MariaDB: it runs
// transactions against <db>.counters and <db>.ledger until stopped; each
// committed transaction bumps the counter of one to three keys and inserts
// one ledger row per bump (some with a multi-row INSERT, so several rows
// share a rows event); one in ten does the same work and rolls back. It
// remembers what committed.
type myLedgerWriter struct {
	// resilient makes the writer ride a server restart.
	resilient bool
	db        string
	ledgerBook
}

func (w *myLedgerWriter) setup(t *testing.T, db *sql.DB) {
	myDatabase(t, db, w.db)
	myExec(t, db,
		"CREATE TABLE "+w.db+".counters (k int PRIMARY KEY, v int NOT NULL)",
		"CREATE TABLE "+w.db+".ledger (k int, seq int, note varchar(20), PRIMARY KEY (k, seq))",
	)
}

// seed inserts the counter rows (call once streaming runs, so the inserts are captured).
func (w *myLedgerWriter) seed(t *testing.T, db *sql.DB) {
	var vals []string
	for k := 1; k <= w.keys; k++ {
		vals = append(vals, fmt.Sprintf("(%d, 0)", k))
	}
	myExec(t, db, "INSERT INTO "+w.db+".counters VALUES "+strings.Join(vals, ", "))
	w.seeded()
}

func (w *myLedgerWriter) run(ctx context.Context, db *sql.DB) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for ctx.Err() == nil {
		vals, rollback, atCommit, err := w.tx(db, rng)
		if err != nil {
			if !w.resilient {
				return err
			}
			// The server went away (a restart under the writes): retry
			// until it is back, settling a commit whose answer was lost
			// from the counter it set.
			if atCommit {
				if err := w.settle(ctx, db, vals); err != nil {
					return err
				}
			}
			time.Sleep(100 * time.Millisecond)
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
func (w *myLedgerWriter) tx(db *sql.DB, rng *rand.Rand) (vals map[int]int, rollback, atCommit bool, err error) {
	bg := context.Background()
	n := 1 + rng.IntN(3)
	ks := map[int]bool{}
	for len(ks) < n {
		ks[1+rng.IntN(w.keys)] = true
	}
	var keys []int
	for k := range ks {
		keys = append(keys, k)
	}
	sort.Ints(keys) // fixed lock order: no deadlocks
	rollback = rng.IntN(10) == 0
	multi, single := "multi", "single"
	if rollback {
		multi, single = "rollback", "rollback"
	}
	tx, err := db.BeginTx(bg, nil)
	if err != nil {
		return nil, false, false, err
	}
	defer tx.Rollback()
	vals = map[int]int{}
	for _, k := range keys {
		if _, err := tx.ExecContext(bg, fmt.Sprintf("UPDATE %s.counters SET v = v + 1 WHERE k = ?", w.db), k); err != nil {
			return nil, false, false, err
		}
		var v int
		if err := tx.QueryRowContext(bg, fmt.Sprintf("SELECT v FROM %s.counters WHERE k = ?", w.db), k).Scan(&v); err != nil {
			return nil, false, false, err
		}
		vals[k] = v
	}
	if rng.IntN(2) == 0 {
		q := fmt.Sprintf("INSERT INTO %s.ledger VALUES ", w.db)
		for i, k := range keys {
			if i > 0 {
				q += ", "
			}
			q += fmt.Sprintf("(%d, %d, '%s')", k, vals[k], multi)
		}
		if _, err := tx.ExecContext(bg, q); err != nil {
			return nil, false, false, err
		}
	} else {
		for _, k := range keys {
			if _, err := tx.ExecContext(bg, fmt.Sprintf("INSERT INTO %s.ledger VALUES (?, ?, ?)", w.db), k, vals[k], single); err != nil {
				return nil, false, false, err
			}
		}
	}
	if rollback {
		return vals, true, false, tx.Rollback()
	}
	if err := tx.Commit(); err != nil {
		return vals, false, true, err
	}
	return vals, false, false, nil
}

// settle records the transaction that set vals as committed if the
// counters say it did (the writer alone moves them, by one each time),
// asking until the server answers, for up to a minute.
func (w *myLedgerWriter) settle(ctx context.Context, db *sql.DB, vals map[int]int) error {
	deadline := time.Now().Add(time.Minute)
	for k, v := range vals {
		for {
			var now int
			err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT v FROM %s.counters WHERE k = ?", w.db), k).Scan(&now)
			if err == nil {
				if now == v {
					w.committed(vals)
				}
				return nil
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// verify checks that Kafka holds every committed change exactly once, in
// order per key, and nothing that rolled back.
func (w *myLedgerWriter) verify(t *testing.T, es []event, prefix string) {
	t.Helper()
	w.ledgerBook.verify(t, es, prefix+"."+w.db)
}

// done reports whether every committed counter value has arrived.
func (w *myLedgerWriter) done(t *testing.T, es []event, prefix string) bool {
	return w.ledgerBook.done(es, prefix+"."+w.db)
}

// waitLog waits until the process logs want.
func waitLog(t *testing.T, p *proc, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.Log(), want) {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("connector did not log %q; log:\n%s", want, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
