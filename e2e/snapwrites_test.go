//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// snapLoad is what the scenarios under concurrent writes need besides
// snapDB: statements from a goroutine, an upsert, and the table's content.
type snapLoad struct {
	snapDB
	// conn opens a connection for a writer goroutine; exec on it returns
	// errors instead of failing the test.
	conn func(t *testing.T) func(ctx context.Context, sqls ...string) error
	// upsert inserts the row or, when its key exists, bumps it.
	upsert func(table string, id int, note string) string
	// dump returns the table as envelope key -> "note|qty".
	dump func(t *testing.T, table string) map[string]string
	// startRaw starts a connector and waits only until it streams (not
	// for its snapshot).
	startRaw func(t *testing.T, name, extra string) *proc
}

func pgSnapLoad(t *testing.T) snapLoad {
	d := pgSnapDB(t)
	db := pgConnect(t)
	return snapLoad{
		snapDB: d,
		conn: func(t *testing.T) func(ctx context.Context, sqls ...string) error {
			c := pgConnect(t)
			return func(ctx context.Context, sqls ...string) error {
				for _, q := range sqls {
					if _, err := c.Exec(ctx, q); err != nil {
						c.Exec(context.Background(), "ROLLBACK")
						return fmt.Errorf("%s: %w", q, err)
					}
				}
				return nil
			}
		},
		upsert: func(table string, id int, note string) string {
			return fmt.Sprintf("INSERT INTO %[1]s AS t VALUES (%[2]d, '%[3]s', 0) ON CONFLICT (id) DO UPDATE SET qty = t.qty + 1, note = EXCLUDED.note", table, id, note)
		},
		dump: func(t *testing.T, table string) map[string]string {
			rows, err := db.Query(context.Background(), "SELECT id, note, qty FROM "+table)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]string{}
			var id, qty int64
			var note string
			_, err = pgx.ForEachRow(rows, []any{&id, &note, &qty}, func() error {
				out[fmt.Sprintf(`{"id":%d}`, id)] = fmt.Sprintf("%s|%d", note, qty)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		},
		startRaw: func(t *testing.T, name, extra string) *proc {
			p := startCDC(t, writeConfig(t, pgConfig(name, extra)))
			waitLog(t, p, "replication started")
			return p
		},
	}
}

func mySnapLoad(t *testing.T) snapLoad {
	d := mySnapDB(t)
	db := myConnect(t)
	return snapLoad{
		snapDB: d,
		conn: func(t *testing.T) func(ctx context.Context, sqls ...string) error {
			return func(ctx context.Context, sqls ...string) error {
				c, err := db.Conn(ctx)
				if err != nil {
					return err
				}
				defer c.Close()
				for _, q := range sqls {
					if _, err := c.ExecContext(ctx, q); err != nil {
						c.ExecContext(context.Background(), "ROLLBACK")
						return fmt.Errorf("%s: %w", q, err)
					}
				}
				return nil
			}
		},
		upsert: func(table string, id int, note string) string {
			return fmt.Sprintf("INSERT INTO %s VALUES (%d, '%s', 0) ON DUPLICATE KEY UPDATE qty = qty + 1, note = VALUES(note)", table, id, note)
		},
		dump: func(t *testing.T, table string) map[string]string {
			rows, err := db.Query("SELECT id, note, qty FROM " + table)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string]string{}
			for rows.Next() {
				var id, qty int64
				var note sql.NullString
				if err := rows.Scan(&id, &note, &qty); err != nil {
					t.Fatal(err)
				}
				out[fmt.Sprintf(`{"id":%d}`, id)] = fmt.Sprintf("%s|%d", note.String, qty)
			}
			return out
		},
		startRaw: func(t *testing.T, name, extra string) *proc {
			p := startCDC(t, writeConfig(t, myConfig(name, newServerID(), extra)))
			waitLog(t, p, "replication started")
			return p
		},
	}
}

// snapWriters change random rows of table until stopped: updates, deletes
// and upserts, one to three per transaction, half of them on a hot range
// at the start of the key order (the first chunks), so that chunks and
// streamed changes of the same keys overlap. touched records every key
// they wrote.
type snapWriters struct {
	table   string
	keys    int
	mu      sync.Mutex
	touched map[int]bool
	writes  int
	stop    context.CancelFunc
	wg      sync.WaitGroup
	err     error
}

func startSnapWriters(t *testing.T, l snapLoad, table string, keys, n int) *snapWriters {
	ctx, cancel := context.WithCancel(context.Background())
	w := &snapWriters{table: table, keys: keys, touched: map[int]bool{}, stop: cancel}
	for g := 0; g < n; g++ {
		exec := l.conn(t)
		w.wg.Add(1)
		go func(seed uint64) {
			defer w.wg.Done()
			rnd := rand.New(rand.NewPCG(seed, 7))
			for ctx.Err() == nil {
				var stmts []string
				var ks []int
				for j := 0; j < 1+rnd.IntN(3); j++ {
					k := 1 + rnd.IntN(keys+keys/10) // some keys beyond the table: inserts
					if rnd.IntN(2) == 0 {
						k = 1 + rnd.IntN(keys/20)
					}
					ks = append(ks, k)
					switch rnd.IntN(4) {
					case 0:
						stmts = append(stmts, fmt.Sprintf("DELETE FROM %s WHERE id = %d", table, k))
					case 1:
						stmts = append(stmts, l.upsert(table, k, fmt.Sprintf("ins%d", rnd.IntN(1000))))
					default:
						stmts = append(stmts, fmt.Sprintf("UPDATE %s SET qty = qty + 1, note = 'upd%d' WHERE id = %d", table, rnd.IntN(1000), k))
					}
				}
				if len(stmts) > 1 {
					stmts = append(append([]string{"BEGIN"}, stmts...), "COMMIT")
				}
				// Keys are recorded before the write: a write that fails
				// half way may still have changed them.
				w.mu.Lock()
				for _, k := range ks {
					w.touched[k] = true
				}
				w.mu.Unlock()
				if err := exec(ctx, stmts...); err != nil {
					if ctx.Err() != nil {
						return
					}
					if strings.Contains(err.Error(), "deadlock") || strings.Contains(err.Error(), "Deadlock") {
						continue
					}
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
					return
				}
				w.mu.Lock()
				w.writes++
				w.mu.Unlock()
				// About 300 transactions a second per writer: a steady load
				// that leaves the 2-core test machine room for the rest.
				time.Sleep(3 * time.Millisecond)
			}
		}(uint64(g) + uint64(time.Now().UnixNano()))
	}
	return w
}

func (w *snapWriters) finish(t *testing.T) {
	t.Helper()
	w.stop()
	w.wg.Wait()
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	t.Logf("writers committed %d transactions touching %d keys", w.writes, len(w.touched))
}

// latestState folds the events of topic into key -> "note|qty" of the
// newest event per key (absent after a delete), and counts the snapshot
// reads per key.
func latestState(t *testing.T, es []event, topic string) (map[string]string, map[string]int) {
	state, reads := map[string]string{}, map[string]int{}
	for _, e := range es {
		if e.Topic != topic {
			continue
		}
		if e.Value == nil {
			delete(state, e.Key)
			continue
		}
		env := e.env(t)
		switch env.Op {
		case "d":
			delete(state, e.Key)
		case "r":
			reads[e.Key]++
			fallthrough
		default:
			state[e.Key] = fmt.Sprintf("%v|%v", env.After["note"], env.After["qty"])
		}
	}
	return state, reads
}

// waitConverged reads until the newest event per key equals the table row
// for row (nothing stale won, nothing missed), or fails with the first
// differences.
func waitConverged(t *testing.T, c *consumer, l snapLoad, table, topic string) ([]event, map[string]int) {
	t.Helper()
	want := l.dump(t, table)
	var got map[string]string
	var reads map[string]int
	deadline := time.Now().Add(120 * time.Second)
	for {
		es := c.settle(2 * time.Second)
		got, reads = latestState(t, es, topic)
		diff := stateDiff(want, got)
		if len(diff) == 0 {
			t.Logf("converged: %d rows, %d events", len(want), len(es))
			return es, reads
		}
		if time.Now().After(deadline) {
			t.Fatalf("the newest event per key differs from the table for %d keys (table %d rows, events say %d), e.g.:\n%s",
				len(diff), len(want), len(got), strings.Join(diff[:min(len(diff), 10)], "\n"))
		}
	}
}

func stateDiff(want, got map[string]string) []string {
	var diff []string
	for k, v := range want {
		if got[k] != v {
			diff = append(diff, fmt.Sprintf("%s: table %q, events %q", k, v, got[k]))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s: not in the table, events %q", k, v))
		}
	}
	sort.Strings(diff)
	return diff
}

// checkReads: no key has two snapshot reads (a chunk committed twice), and
// every key no writer touched that is in the table has exactly one.
func checkReads(t *testing.T, l snapLoad, table string, reads map[string]int, w *snapWriters) {
	t.Helper()
	for k, n := range reads {
		if n > 1 {
			t.Errorf("key %s: %d snapshot reads, want at most 1", k, n)
		}
	}
	missing := 0
	for k := range l.dump(t, table) {
		var id int
		fmt.Sscanf(k, `{"id":%d}`, &id)
		if !w.touched[id] && reads[k] != 1 {
			missing++
			if missing <= 10 {
				t.Errorf("key %s, never written while streaming: %d snapshot reads, want 1", k, reads[k])
			}
		}
	}
}

func TestPGSnapshotUnderWrites(t *testing.T) {
	t.Parallel()
	testSnapshotUnderWrites(t, pgSnapLoad(t), uniq("pgsnapw"))
}

func TestMySnapshotUnderWrites(t *testing.T) {
	t.Parallel()
	testSnapshotUnderWrites(t, mySnapLoad(t), uniq("mysnapw"))
}

// A snapshot while writers insert, update and delete throughout: when the
// connector has caught up, the newest event per key equals the table.
//
// CDC_E2E_LONG=1 runs it on 1M rows with the default chunk size and logs
// rows/s and the connector's peak RSS (docs/benchmarks.md).
func testSnapshotUnderWrites(t *testing.T, l snapLoad, name string) {
	keys, extra := 30000, "  batch:\n    linger: 10ms\nsnapshot:\n  chunk_size: 50\n"
	if os.Getenv("CDC_E2E_LONG") == "1" {
		keys, extra = 1_000_000, "  batch:\n    linger: 10ms\n"
	}
	l.create(t, name)
	table := name + ".orders"
	l.exec(t,
		"CREATE TABLE "+table+" (id bigint PRIMARY KEY, note "+l.text+", qty int)",
		fmt.Sprintf("INSERT INTO %s SELECT i, CONCAT('row ', i), 0 FROM %s", table, l.series(keys)),
	)
	w := startSnapWriters(t, l, table, keys, 2)
	time.Sleep(300 * time.Millisecond) // writes before the connector's start too
	started := time.Now()
	p := l.startRaw(t, name, extra)
	p.logOnFailure()
	waitLogTimeout(t, p, "snapshot done", 10*time.Minute)
	took := time.Since(started)
	time.Sleep(time.Second) // and after the snapshot
	w.finish(t)
	t.Logf("%s: snapshot of %d rows under writes in %v (%.0f rows/s, from the start of the process), peak RSS %d MiB",
		l.kind, keys, took.Round(time.Millisecond), float64(keys)/took.Seconds(), vmHWM(t, p)/1024)
	c := newConsumer(t, "^"+name+`\.`)
	_, reads := waitConverged(t, c, l, table, name+"."+table)
	checkReads(t, l, table, reads, w)
	p.stopOK()
}

// SIGKILLs at random points of a snapshot under writes: each restart
// resumes at the last committed chunk; no row is missing, none has two
// snapshot reads, and the newest event per key equals the table.
func testSnapshotKill(t *testing.T, l snapLoad, name string) {
	keys := 60000
	if s := os.Getenv("CDC_E2E_SNAPSHOT_KILL_ROWS"); s != "" {
		fmt.Sscan(s, &keys)
	}
	l.create(t, name)
	table := name + ".orders"
	l.exec(t,
		"CREATE TABLE "+table+" (id bigint PRIMARY KEY, note "+l.text+", qty int)",
		fmt.Sprintf("INSERT INTO %s SELECT i, CONCAT('row ', i), 0 FROM %s", table, l.series(keys)),
	)
	extra := "  batch:\n    linger: 10ms\nsnapshot:\n  chunk_size: 50\n"
	w := startSnapWriters(t, l, table, keys, 1)
	kills := 0
	for kills < 10 {
		p := l.startRaw(t, name, extra)
		// Kill while the snapshot runs: counted from the start of
		// streaming, not of the process, whose start-up (joining the
		// presence group after a kill) takes a varying few seconds.
		for start := time.Now(); !strings.Contains(p.Log(), "replication started") && time.Since(start) < 30*time.Second && !p.exited(); {
			time.Sleep(20 * time.Millisecond)
		}
		// 50-350 ms: ten kills must land before the snapshot ends,
		// and a run of a less loaded machine gets further (once 60k
		// rows took only nine runs of 100-700 ms).
		time.Sleep(time.Duration(50+rand.IntN(300)) * time.Millisecond)
		if strings.Contains(p.Log(), "snapshot done") {
			p.stopOK()
			break
		}
		p.kill()
		kills++
	}
	p := l.startRaw(t, name, extra)
	p.logOnFailure()
	// The last kill may have landed after the snapshot's final commit but
	// before its "snapshot done" line: this run then streams without a
	// snapshot to resume (waitConverged below checks the rows either way).
	deadline := time.Now().Add(5 * time.Minute)
	for {
		log := p.Log()
		if strings.Contains(log, "snapshot done") ||
			strings.Contains(log, "replication started") && !strings.Contains(log, "resuming the snapshot") && !strings.Contains(log, "snapshot of existing rows starts") {
			break
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("connector did not finish the snapshot within 5m; log:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if kills < 10 {
		t.Errorf("the snapshot finished after %d kills; want at least 10 (a bigger table: CDC_E2E_SNAPSHOT_KILL_ROWS)", kills)
	}
	resumed := strings.Count(p.Log(), "resuming the snapshot")
	w.finish(t)
	c := newConsumer(t, "^"+name+`\.`)
	_, reads := waitConverged(t, c, l, table, name+"."+table)
	checkReads(t, l, table, reads, w)
	t.Logf("%d kills; the last run resumed the snapshot %d time(s)", kills, resumed)
	p.stopOK()
}

func TestPGSnapshotKill(t *testing.T) {
	t.Parallel()
	testSnapshotKill(t, pgSnapLoad(t), uniq("pgsnapk"))
}

func TestMySnapshotKill(t *testing.T) {
	t.Parallel()
	testSnapshotKill(t, mySnapLoad(t), uniq("mysnapk"))
}

// waitLogTimeout is waitLog with a timeout.
func waitLogTimeout(t *testing.T, p *proc, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.Log(), s) {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("connector did not log %q within %v; log:\n%s", s, timeout, p.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPGSnapshotParallel(t *testing.T) {
	t.Parallel()
	testSnapshotParallel(t, pgSnapLoad(t), uniq("pgsnapp"))
}

func TestMySnapshotParallel(t *testing.T) {
	t.Parallel()
	testSnapshotParallel(t, mySnapLoad(t), uniq("mysnapp"))
}

// snapshot.parallel_tables: 3 reads three tables at once, under writes on
// each: every table starts before the first one is done, and each converges
// with one snapshot read per untouched row.
func testSnapshotParallel(t *testing.T, l snapLoad, name string) {
	const keys = 6000
	l.create(t, name)
	tables := []string{name + ".t0", name + ".t1", name + ".t2"}
	writers := make([]*snapWriters, len(tables))
	for i, table := range tables {
		l.exec(t,
			"CREATE TABLE "+table+" (id bigint PRIMARY KEY, note "+l.text+", qty int)",
			fmt.Sprintf("INSERT INTO %s SELECT i, CONCAT('row ', i), 0 FROM %s", table, l.series(keys)),
		)
		writers[i] = startSnapWriters(t, l, table, keys, 1)
	}
	p := l.startRaw(t, name, "  batch:\n    linger: 10ms\nsnapshot:\n  chunk_size: 50\n  parallel_tables: 3\n")
	p.logOnFailure()
	waitLogTimeout(t, p, "snapshot done", 5*time.Minute)
	time.Sleep(500 * time.Millisecond)
	for _, w := range writers {
		w.finish(t)
	}
	// Every table starts before the first one is done.
	started, done := map[string]bool{}, false
	for _, line := range strings.Split(p.Log(), "\n") {
		if strings.Contains(line, "snapshot of table done") {
			done = true
		}
		for _, table := range tables {
			if !done && strings.Contains(line, "snapshot of table started") && strings.Contains(line, " table="+table+" ") {
				started[table] = true
			}
		}
	}
	for _, table := range tables {
		if !started[table] {
			t.Errorf("table %s did not start before the first table was done", table)
		}
	}
	c := newConsumer(t, "^"+name+`\.`)
	for i, table := range tables {
		_, reads := waitConverged(t, c, l, table, name+"."+table)
		checkReads(t, l, table, reads, writers[i])
	}
	p.stopOK()
}
