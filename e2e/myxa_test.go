//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gtidSeq is the sequence number of a MariaDB GTID "domain-server-seq".
func gtidSeq(t *testing.T, gtid any) int {
	t.Helper()
	s, _ := gtid.(string)
	i := strings.LastIndexByte(s, '-')
	n, err := strconv.Atoi(s[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("source.gtid %v is not a MariaDB GTID", gtid)
	}
	return n
}

// myXA runs statements on a connection of its own and closes it: a
// prepared XA transaction stays on the server, detached, for another
// connection to commit or roll back. XA transactions left prepared are
// rolled back at test end.
func myXA(t *testing.T, xids []string, sqls ...string) {
	t.Helper()
	db := myConnect(t)
	db.SetMaxIdleConns(0)
	myExec(t, db, sqls...)
	db.Close()
	t.Cleanup(func() {
		for _, x := range xids {
			myConnect(t).Exec("XA ROLLBACK " + x) // fails when committed or rolled back: fine
		}
	})
}

// myXAEnd runs an XA COMMIT or XA ROLLBACK of a transaction that myXA
// prepared. The server detaches a prepared XA transaction from its session
// only once it has processed the disconnect, which the client does not wait
// for: until then another session gets XAER_NOTA (1397), so that is retried.
func myXAEnd(t *testing.T, db *sql.DB, stmt string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := db.Exec(stmt)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "1397") || time.Now().After(deadline) {
			t.Fatalf("%s: %v", stmt, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// xaRows returns the events of topic by id: id -> ops, with the GTID,
// transaction id and total_order of each.
type xaRow struct {
	op    string
	seq   int
	tx    string
	order int
}

func xaRowsByID(t *testing.T, es []event, topic string) map[int][]xaRow {
	out := map[int][]xaRow{}
	for _, e := range es {
		if e.Topic != topic || e.Value == nil {
			continue
		}
		v := e.env(t)
		row := v.After
		if row == nil {
			row = v.Before
		}
		id := int(row["id"].(float64))
		out[id] = append(out[id], xaRow{op: v.Op, seq: gtidSeq(t, v.Source["gtid"]), tx: v.Transaction.ID, order: v.Transaction.TotalOrder})
	}
	return out
}

// XA transactions on MariaDB: the prepared part is binlogged at XA PREPARE,
// its XA COMMIT or XA ROLLBACK later as a group of its own. A rolled-back XA
// transaction publishes nothing; a committed one is published once, after
// the transactions that committed between its PREPARE and COMMIT, as one
// transaction; XA COMMIT ... ONE PHASE is an ordinary transaction.
func TestMySQLXA(t *testing.T) {
	name := uniq("myxa")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY, v varchar(20))")
	p, _ := myStartCDC(t, name, "  transaction_topic: "+name+".transactions\n  batch:\n    linger: 20ms\n")
	tbl := name + "." + name + ".t"
	c := newConsumer(t, "^"+name+`\.(`+name+`\.t|transactions)$`)

	myExec(t, db, "INSERT INTO "+name+".t VALUES (1, 'seed')")
	c.until(60*time.Second, func(es []event) bool { return len(xaRowsByID(t, es, tbl)[1]) > 0 })

	// Rolled back after another transaction committed.
	myXA(t, []string{"'r1'"}, "XA START 'r1'", "INSERT INTO "+name+".t VALUES (100, 'rolled back')", "XA END 'r1'", "XA PREPARE 'r1'")
	myExec(t, db, "INSERT INTO "+name+".t VALUES (101, 'between')")
	myXAEnd(t, db, "XA ROLLBACK 'r1'")
	// Committed after another transaction committed.
	myXA(t, []string{"'c1','b1',7"}, "XA START 'c1','b1',7", "INSERT INTO "+name+".t VALUES (200, 'xa'), (201, 'xa')", "UPDATE "+name+".t SET v = 'xa upd' WHERE id = 1",
		"XA END 'c1','b1',7", "XA PREPARE 'c1','b1',7")
	myExec(t, db, "INSERT INTO "+name+".t VALUES (202, 'between')")
	// Prepared and not committed yet: nothing of it published.
	c.until(60*time.Second, func(es []event) bool { return len(xaRowsByID(t, es, tbl)[202]) > 0 })
	es := c.settle(time.Second)
	if got := xaRowsByID(t, es, tbl); len(got[200]) > 0 || len(got[100]) > 0 {
		t.Fatalf("prepared XA transactions published before their XA COMMIT: %v", got)
	}
	myXAEnd(t, db, "XA COMMIT 'c1','b1',7")
	myExec(t, db, "XA START 'o1'", "INSERT INTO "+name+".t VALUES (300, 'one phase')", "XA END 'o1'", "XA COMMIT 'o1' ONE PHASE")
	myExec(t, db, "INSERT INTO "+name+".t VALUES (301, 'after')")

	c.until(60*time.Second, func(es []event) bool { return len(xaRowsByID(t, es, tbl)[301]) > 0 })
	es = c.settle(2 * time.Second)
	got := xaRowsByID(t, es, tbl)
	ops := map[int][]string{}
	for id, rows := range got {
		for _, r := range rows {
			ops[id] = append(ops[id], r.op)
		}
	}
	want := map[int][]string{1: {"c", "u"}, 101: {"c"}, 200: {"c"}, 201: {"c"}, 202: {"c"}, 300: {"c"}, 301: {"c"}}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("events by id: got %v, want %v (nothing of the rolled-back XA transaction, each committed row once)", ops, want)
	}
	if t.Failed() {
		t.FailNow()
	}
	// The committed XA transaction is one transaction, committed at its XA
	// COMMIT: after 202, before 300.
	xa := []xaRow{got[200][0], got[201][0], got[1][1]}
	for i, r := range xa {
		if r.tx != xa[0].tx || r.order != i+1 || r.seq != xa[0].seq {
			t.Errorf("XA transaction's change %d: %+v, want transaction %s, total_order %d", i+1, r, xa[0].tx, i+1)
		}
	}
	if s := xa[0].seq; s <= got[202][0].seq || s >= got[300][0].seq {
		t.Errorf("XA transaction committed at GTID seq %d, want between %d (committed before its XA COMMIT) and %d", s, got[202][0].seq, got[300][0].seq)
	}
	// seed, 101, 202, c1, o1, 301; nothing for r1.
	begins, ends := txMarkers(es, name+".transactions")
	if begins != 6 || ends != 6 {
		t.Errorf("transaction topic: %d BEGIN, %d END; want 6 each (none for the rolled-back XA transaction)", begins, ends)
	}
	p.stopOK()
}

// A kill -9 between XA PREPARE and XA COMMIT, with other transactions
// committed and checkpointed meanwhile: after the restart the XA
// transaction is published once, at its XA COMMIT, and every other
// transaction exactly once (the ledger writer runs throughout).
func TestMySQLXAKillRestart(t *testing.T) {
	name := uniq("myxakill")
	db := myConnect(t)
	w := &myLedgerWriter{db: name, ledgerBook: newLedgerBook(10)}
	w.setup(t, db)
	myExec(t, db, "CREATE TABLE "+name+".xa (id int PRIMARY KEY)")
	p, cfg := myStartCDC(t, name, "  batch:\n    linger: 30ms\n    max_events: 200\n")
	w.seed(t, db)
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	c.atLeast(w.keys, 60*time.Second)
	xaTopic := name + "." + name + ".xa"
	ledger := func(es []event) int {
		n := 0
		for _, e := range es {
			if e.Topic == name+"."+name+".ledger" {
				n++
			}
		}
		return n
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- w.run(ctx, db) }()

	var ids []string
	for i := 1; i <= 5; i++ {
		ids = append(ids, fmt.Sprintf("(%d)", i))
	}
	myXA(t, []string{"'k1'"}, "XA START 'k1'", "INSERT INTO "+name+".xa VALUES "+strings.Join(ids, ", "), "XA END 'k1'", "XA PREPARE 'k1'")
	// Other transactions commit and are checkpointed (read_committed sees
	// them only once their Kafka transaction, checkpoint included, committed).
	before := ledger(c.settle(0))
	c.until(60*time.Second, func(es []event) bool { return ledger(es) >= before+50 })
	p.kill()
	if n := len(byKey(c.settle(time.Second), xaTopic)); n != 0 {
		t.Fatalf("%d rows of the prepared XA transaction published before its XA COMMIT", n)
	}
	time.Sleep(300 * time.Millisecond) // the writer goes on while cdc is down
	myXAEnd(t, db, "XA COMMIT 'k1'")
	time.Sleep(300 * time.Millisecond)

	p = startCDC(t, cfg)
	waitStreaming(t, p)
	time.Sleep(time.Second)
	cancel()
	if err := <-werr; err != nil {
		t.Fatalf("writer: %v", err)
	}
	t.Logf("writer committed %d transactions, rolled back %d", w.txs, w.rolled)
	c.until(120*time.Second, func(es []event) bool { return w.done(t, es, name) && len(byKey(es, xaTopic)) == 5 })
	es := c.settle(3 * time.Second)
	w.verify(t, es, name)
	rows := byKey(es, xaTopic)
	var got []string
	for k, evs := range rows {
		got = append(got, fmt.Sprintf("%s:%d", k, len(evs)))
	}
	sort.Strings(got)
	if want := []string{`{"id":1}:1`, `{"id":2}:1`, `{"id":3}:1`, `{"id":4}:1`, `{"id":5}:1`}; !reflect.DeepEqual(got, want) {
		t.Errorf("XA rows (key:events): got %v, want %v", got, want)
	}
	if !strings.Contains(p.Log(), "re-reading the binlog for prepared XA transactions") {
		t.Errorf("the restart did not re-read the prepared XA transaction; log:\n%s", p.Log())
	}
	p.stopOK()
}

// A new connector does not start while an XA transaction is prepared (its
// changes are before the start position): it retries until the transaction
// ends. `cdc check` says so beforehand, with the xid, instead of ok.
func TestMySQLCheckPreparedXA(t *testing.T) {
	name := uniq("myxacheck")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	xid := "'" + name + "'"
	myXA(t, []string{xid}, "XA START "+xid, "INSERT INTO "+name+".t VALUES (1)", "XA END "+xid, "XA PREPARE "+xid)
	cfg := writeConfig(t, myConfig(name, newServerID(), ""))
	_, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
	if !strings.Contains(stdout, "XA transactions are prepared") || !strings.Contains(stdout, fmt.Sprintf("X'%x'", name)) {
		t.Errorf("check with a prepared XA transaction does not warn about it; stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	p := startCDC(t, cfg)
	p.logOnFailure()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.Log(), "while XA transactions are prepared and not committed") {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("run with a prepared XA transaction did not wait for it; log:\n%s", p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(p.Log(), "replication started") {
		t.Fatalf("streaming started while an XA transaction is prepared")
	}
	myXAEnd(t, db, "XA ROLLBACK "+xid)
	waitStreaming(t, p)
	p.stopOK()
}
