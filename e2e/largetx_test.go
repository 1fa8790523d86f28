//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// One source transaction far larger than one Kafka transaction may be (a
// short kafka.transaction_timeout, small batch limits), with the connector
// SIGKILLed several times while it streams: it must be committed in parts,
// each restart must skip exactly the committed part, and in the end every
// change is in Kafka exactly once, in order per key, with one BEGIN and one
// END (counting every event) on the transaction topic. Before cdc could
// commit inside a source transaction, the broker aborted the Kafka
// transaction at its timeout and every restart hit the same wall.
//
// It runs with 100k (Postgres) or 200k (MariaDB) row changes; CDC_E2E_LONG=1 runs it with 1M and reports
// the peak RSS of cdc (the log line at the end).

// largeTxShape is the size of the big transaction: rounds x keys ledger
// inserts and as many counter updates. MariaDB streams much faster than
// Postgres decodes, so it gets more rows: either must take longer than the
// 2 s transaction timeout to stream (an unsplit Kafka transaction fails).
func largeTxShape(mariadb bool) (keys, rounds, cycles int) {
	switch {
	case os.Getenv("CDC_E2E_LONG") == "1":
		return 500, 1000, 6 // 500k inserts + 500k updates
	case mariadb:
		return 100, 1000, 4 // 100k + 100k
	}
	return 100, 500, 4 // 50k + 50k
}

const largeTxKafka = `  transaction_timeout: 2s
  transaction_topic: %s.transactions
  batch:
    linger: 50ms
    max_events: 2000
`

func TestPostgresLargeTransactionKillRestart(t *testing.T) {
	lt := startLargeTx(t, false, []string{brokers}, 0)
	lt.faults(t, largeTxShapeCycles(false), lt.killRestart)
}

func TestMySQLLargeTransactionKillRestart(t *testing.T) {
	lt := startLargeTx(t, true, []string{brokers}, 0)
	lt.faults(t, largeTxShapeCycles(true), lt.killRestart)
}

// The broker of a private cluster killed and restarted while one huge
// source transaction (60k changes; 1M with CDC_E2E_LONG=1) streams, and
// then the connector SIGKILLed, on each database: the Kafka transaction open at each broker kill outlives
// the 2 s transaction timeout, so the broker aborts it and cdc exits 1
// (or, if it committed just before, rides the restart); each restart
// resumes inside the source transaction, and every change arrives exactly
// once with one BEGIN and one END.
func TestFaultLargeTransactionBrokerRestart(t *testing.T) {
	k := privateKafka(t, 1)
	t.Setenv("CDC_KAFKA_BROKERS", k.brokers())
	seeds := strings.Split(k.brokers(), ",")
	for _, mariadb := range []bool{false, true} {
		t.Run(map[bool]string{false: "postgres", true: "mariadb"}[mariadb], func(t *testing.T) {
			// 60k changes: enough to outlast a broker restart, and short
			// enough for CI.
			lt := startLargeTx(t, mariadb, seeds, 300)
			lt.restartOnExit, lt.ridden = true, true
			lt.faults(t, 2, func(t *testing.T, i int) {
				if i == 1 {
					lt.killRestart(t, i)
					return
				}
				t.Logf("fault %d: killing the broker", i)
				k.kill(1)
				time.Sleep(time.Second)
				k.start(t, 1)
				k.waitBrokers(t, 1, 120*time.Second)
			})
		})
	}
}

// largeTxShapeCycles is how many faults land in the big transaction.
func largeTxShapeCycles(mariadb bool) int { _, _, cycles := largeTxShape(mariadb); return cycles }

// largeTx is a connector streaming one big source transaction (largeTxShape)
// after a seed of keys rows.
type largeTx struct {
	name         string
	keys, rounds int
	c            *consumer
	cfg          string
	p            *proc
	done         func([]event) bool
	verify       func([]event)
	// restartOnExit restarts a connector that exits 1 by itself (as a
	// supervisor would), instead of failing.
	restartOnExit bool
	restarts      int // restartOnExit restarts
	// ridden: a fault may be ridden in the process to the transaction's
	// end, so that no restart resumes inside it.
	ridden        bool
	resumedInside int // runs that resumed inside the big transaction
}

// startLargeTx creates the ledger on the database (MariaDB or Postgres),
// starts cdc on the brokers seeds (CDC_KAFKA_BROKERS must name them),
// waits for the seed and commits the big transaction (largeTxShape, with
// rounds rounds unless 0; CDC_E2E_LONG keeps its own).
func startLargeTx(t *testing.T, mariadb bool, seeds []string, rounds int) *largeTx {
	t.Helper()
	keys, shaped, _ := largeTxShape(mariadb)
	if rounds == 0 || os.Getenv("CDC_E2E_LONG") == "1" {
		rounds = shaped
	}
	lt := &largeTx{keys: keys, rounds: rounds}
	if !mariadb {
		lt.name = uniq("pglargetx")
		name := lt.name
		db := pgConnect(t)
		w := &ledgerWriter{schema: name, ledgerBook: newLedgerBook(keys)}
		w.setup(t, db)
		dropSlotAtEnd(t, db, name, name)
		createTopicsAt(t, seeds, name+"."+name+".counters", name+"."+name+".ledger", name+".transactions")
		lt.p, lt.cfg = pgStartCDC(t, name, fmt.Sprintf(largeTxKafka, name))
		w.seed(t, db)
		lt.c = newConsumerAt(t, seeds, "^"+name+`\.`)
		seeded(t, lt.c, lt.p, keys)
		pgExec(t, db, fmt.Sprintf(`DO $$ BEGIN FOR s IN 1..%d LOOP
		INSERT INTO %[2]s.ledger SELECT k, s, 'bulk' FROM generate_series(1, %[3]d) k;
		UPDATE %[2]s.counters SET v = s;
	END LOOP; END $$`, rounds, name, keys))
		w.committed(allKeys(keys, rounds))
		lt.done = func(es []event) bool { return w.done(t, es, name) }
		lt.verify = func(es []event) { w.verify(t, es, name) }
		return lt
	}
	lt.name = uniq("mylargetx")
	name := lt.name
	db := myConnect(t)
	w := &myLedgerWriter{db: name, ledgerBook: newLedgerBook(keys)}
	w.setup(t, db)
	createTopicsAt(t, seeds, name+"."+name+".counters", name+"."+name+".ledger", name+".transactions")
	lt.p, lt.cfg = myStartCDC(t, name, fmt.Sprintf(largeTxKafka, name))
	w.seed(t, db)
	lt.c = newConsumerAt(t, seeds, "^"+name+`\.`)
	seeded(t, lt.c, lt.p, keys)
	sqls := []string{"BEGIN"}
	for s := 1; s <= rounds; s++ {
		sqls = append(sqls,
			fmt.Sprintf("INSERT INTO %s.ledger SELECT seq, %d, 'bulk' FROM seq_1_to_%d", name, s, keys),
			fmt.Sprintf("UPDATE %s.counters SET v = %d", name, s))
	}
	myExec(t, db, append(sqls, "COMMIT")...)
	w.committed(allKeys(keys, rounds))
	lt.done = func(es []event) bool { return w.done(t, es, name) }
	lt.verify = func(es []event) { w.verify(t, es, name) }
	return lt
}

// allKeys is the counters of keys keys, each set to v.
func allKeys(keys, v int) map[int]int {
	m := map[int]int{}
	for k := 1; k <= keys; k++ {
		m[k] = v
	}
	return m
}

// killRestart is the fault of the kill tests: SIGKILL the connector and
// start it again.
func (lt *largeTx) killRestart(t *testing.T, i int) {
	t.Logf("fault %d: killing the connector", i)
	lt.p.kill()
	lt.retire()
	lt.p = startCDC(t, lt.cfg)
}

// retire counts whether the connector's run resumed inside the big
// transaction; call it once the run ended.
func (lt *largeTx) retire() {
	if strings.Contains(lt.p.Log(), "resuming from checkpoint inside a source transaction") {
		lt.resumedInside++
	}
}

// alive fails the test if the connector exited by itself, or, with
// restartOnExit, restarts one that exited 1.
func (lt *largeTx) alive(t *testing.T, when string) {
	t.Helper()
	if !lt.p.exited() {
		return
	}
	if code := lt.p.waitExit(time.Second); !lt.restartOnExit || code != 1 {
		t.Fatalf("%s: connector exited by itself (code %d); log:\n%s", when, code, lt.p.Log())
	}
	t.Logf("%s: connector exited 1 (%s); restarting it", when, lastLine(lt.p.Log()))
	lt.retire()
	lt.restarts++
	lt.p = startCDC(t, lt.cfg)
}

// faults causes fault cycles times while the big transaction streams (each
// time after more of it became visible, so that the faults land inside
// it), waits for the rest and verifies.
func (lt *largeTx) faults(t *testing.T, cycles int, fault func(t *testing.T, i int)) {
	t.Helper()
	keys, rounds, c, name := lt.keys, lt.rounds, lt.c, lt.name
	big := 2 * keys * rounds
	rng := rand.New(rand.NewPCG(uint64(keys), uint64(rounds)))
	var peak int64
	started := time.Now()
	for i := range cycles {
		target := keys + (i+1)*big/(cycles+1) + rng.IntN(big/(4*(cycles+1)))
		c.until(180*time.Second, func(es []event) bool {
			lt.alive(t, fmt.Sprintf("cycle %d", i))
			return len(es) >= target
		})
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		lt.alive(t, fmt.Sprintf("cycle %d", i))
		peak = max(peak, vmHWM(t, lt.p))
		t.Logf("cycle %d: %d events after %v", i, len(c.got), time.Since(started).Round(100*time.Millisecond))
		fault(t, i)
	}
	// The seed and the big transaction, with their BEGIN and END (done
	// decodes every event: call it once the count is there).
	c.until(300*time.Second, func(es []event) bool {
		lt.alive(t, "after the faults")
		return len(es) >= keys+big+4 && lt.done(es)
	})
	elapsed := time.Since(started)
	peak = max(peak, vmHWM(t, lt.p))
	lt.retire()
	es := c.settle(2 * time.Second)
	lt.verify(es)
	if lt.resumedInside == 0 && !lt.ridden {
		t.Errorf("no restart resumed inside the large transaction: the test did not exercise partial checkpoints")
	}

	// One BEGIN and one END per source transaction (the seed and the big
	// one), the END of the big one counting all its events.
	begins, ends := txMarkers(es, name+".transactions")
	if begins != 2 || ends != 2 {
		t.Errorf("transaction topic: %d BEGIN, %d END; want 2 each", begins, ends)
	}
	var counts []int
	for _, e := range es {
		if e.Topic != name+".transactions" {
			continue
		}
		var v struct {
			Status     string `json:"status"`
			EventCount int    `json:"event_count"`
		}
		json.Unmarshal(e.Value, &v)
		if v.Status == "END" {
			counts = append(counts, v.EventCount)
		}
	}
	if fmt.Sprint(counts) != fmt.Sprint([]int{keys, big}) {
		t.Errorf("END event counts %v, want [%d %d]", counts, keys, big)
	}
	lt.p.stopOK()
	t.Logf("%d-event source transaction across %d faults (%d runs resumed inside it, %d restarts after an exit 1) in %v; peak RSS of cdc %d MiB",
		big, cycles, lt.resumedInside, lt.restarts, elapsed.Round(time.Second), peak/1024)
}

// seeded waits until the seed's events arrived.
func seeded(t *testing.T, c *consumer, p *proc, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	c.until(90*time.Second, func(es []event) bool {
		if time.Now().After(deadline) || p.exited() {
			t.Fatalf("seed not in Kafka (%d events); log:\n%s", len(es), p.Log())
		}
		return len(es) >= n
	})
}

// createTopics creates topics with 3 partitions (as pgConfig and myConfig
// set), so that the connector's first records to them do not wait for a
// new topic's metadata inside a 2-second Kafka transaction.
func createTopics(t *testing.T, topics ...string) { createTopicsAt(t, []string{brokers}, topics...) }

// createTopicsAt is createTopics on the brokers seeds.
func createTopicsAt(t *testing.T, seeds []string, topics ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, 3, -1, nil, topics...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("creating topics %v: %v", topics, err)
	}
}

// vmHWM is the peak resident set size of a running process, in KiB.
func vmHWM(t *testing.T, p *proc) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0 // exited meanwhile
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
