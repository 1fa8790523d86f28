//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// On-demand snapshots (cdc snapshot): a request written to the signals
// topic is taken by the running connector (or the next one to start),
// exactly once, and re-reads the table with the chunk mechanism while the
// stream goes on.

func TestPGOnDemandSnapshotWhileStreaming(t *testing.T) {
	t.Parallel()
	testOnDemandWhileStreaming(t, pgSnapLoad(t), uniq("pgondem"))
}

func TestMyOnDemandSnapshotWhileStreaming(t *testing.T) {
	t.Parallel()
	testOnDemandWhileStreaming(t, mySnapLoad(t), uniq("myondem"))
}

func TestPGOnDemandSnapshotKill(t *testing.T) {
	t.Parallel()
	testOnDemandKill(t, pgSnapLoad(t), uniq("pgondek"))
}

func TestMyOnDemandSnapshotKill(t *testing.T) {
	t.Parallel()
	testOnDemandKill(t, mySnapLoad(t), uniq("myondek"))
}

// requestSnapshot runs `cdc snapshot` and returns its output; ok says
// whether it exited 0.
func requestSnapshot(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	code, out, errOut := runCDC(t, 90*time.Second, nil, append([]string{"snapshot"}, args...)...)
	t.Logf("cdc snapshot %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	return out + errOut, code == 0
}

// onDemandReads checks the snapshot reads among es for topic: each has
// source.snapshot "incremental", and it returns the key -> reads counts.
func onDemandReads(t *testing.T, es []event, topic string) int {
	t.Helper()
	n := 0
	for _, e := range es {
		if e.Topic != topic || e.Value == nil {
			continue
		}
		env := e.env(t)
		if env.Op != "r" {
			continue
		}
		n++
		if env.Source["snapshot"] != "incremental" {
			t.Fatalf("on-demand snapshot row %s: source.snapshot = %v, want \"incremental\"", e.Key, env.Source["snapshot"])
		}
	}
	return n
}

// A connector that streams (snapshot.mode never: no initial snapshot)
// while writers change rows takes `cdc snapshot -c f t1`: a request for a
// table it does not capture is rejected (the command shows why); the
// accepted one re-reads every row of t1 as op r with source.snapshot
// "incremental", streamed changes keep arriving between the chunks, the
// newest event per key equals the table, and a second start of the
// connector does not take the request again.
func testOnDemandWhileStreaming(t *testing.T, l snapLoad, name string) {
	const keys = 3000
	l.create(t, name)
	table := name + ".orders"
	l.exec(t,
		"CREATE TABLE "+table+" (id bigint PRIMARY KEY, note "+l.text+", qty int)",
		fmt.Sprintf("INSERT INTO %s SELECT i, CONCAT('row ', i), 0 FROM %s", table, l.series(keys)),
		"CREATE TABLE "+name+".other (id int PRIMARY KEY)",
		"INSERT INTO "+name+".other VALUES (1), (2)",
	)
	extra := "  batch:\n    linger: 10ms\nsnapshot:\n  mode: never\n  chunk_size: 100\n"
	p, cfg := l.start(t, name, extra)
	p.logOnFailure()
	w := startSnapWriters(t, l, table, keys, 1)
	c := newConsumer(t, "^"+name+`\.`)
	c.atLeast(20, 60*time.Second) // streamed changes of the writers

	out, ok := requestSnapshot(t, "-c", cfg, "-id", "nope-1", "-wait", "60s", name+".nope")
	if ok || !strings.Contains(out, "rejected") || !strings.Contains(out, name+".nope") || !strings.Contains(out, "not captured") {
		t.Fatalf("request for an uncaptured table: want it rejected with the reason; got:\n%s", out)
	}
	waitLog(t, p, "snapshot request rejected")

	out, ok = requestSnapshot(t, "-c", cfg, "-id", "orders-1", "-wait", "60s", table)
	if !ok || !strings.Contains(out, "accepted: "+table) || !strings.Contains(out, "is running") {
		t.Fatalf("cdc snapshot: want the request accepted by the running connector; got:\n%s", out)
	}
	waitLogTimeout(t, p, "snapshot done", 3*time.Minute)
	time.Sleep(time.Second) // writers go on after the snapshot
	w.finish(t)

	es, reads := waitConverged(t, c, l, table, name+"."+table)
	checkReads(t, l, table, reads, w)
	// checkReads proved every row no writer touched read once; the
	// others may have been made stale by the stream.
	if n := onDemandReads(t, es, name+"."+table); n == 0 {
		t.Fatalf("no on-demand snapshot row")
	}
	for _, e := range es {
		if e.Topic == name+"."+name+".other" && e.Value != nil && e.env(t).Op == "r" {
			t.Fatalf("row of a table not requested was read: %s", e.Key)
		}
	}
	// The stream was not held: streamed changes arrived between the first
	// and the last snapshot row.
	first, last, between := -1, -1, 0
	for i, e := range es {
		if e.Topic == name+"."+table && e.Value != nil && e.env(t).Op == "r" {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	for _, e := range es[first:last] {
		if e.Topic == name+"."+table && e.Value != nil && e.env(t).Op != "r" {
			between++
		}
	}
	if between == 0 {
		t.Errorf("no streamed change between the snapshot's first and last row: the stream was held")
	}
	t.Logf("%d streamed changes between the first and the last snapshot row", between)
	recs := snapshotRecords(t, name, func(m map[string]map[string]any) bool { return m[table]["state"] == "done" })
	if r := recs[table]; r["snapshot"] != "orders-1" {
		t.Errorf("progress record %v: want snapshot orders-1", r)
	}
	p.stopOK()

	// A second start does not take the request again.
	total := len(es)
	p2 := l.startRaw(t, name, extra)
	p2.logOnFailure()
	l.exec(t, "INSERT INTO "+table+" VALUES (999999, 'after restart', 0)")
	es = c.atLeast(total+1, 60*time.Second)
	time.Sleep(3 * time.Second)
	es = c.settle(2 * time.Second)
	if n := onDemandReads(t, es[total:], name+"."+table); n != 0 || strings.Contains(p2.Log(), "snapshot request accepted") {
		t.Fatalf("after a restart: %d more snapshot rows (the request was taken again)", n)
	}
	p2.stopOK()
}

// A request written while no connector runs waits in the topic and the
// next start takes it; SIGKILLs during the on-demand snapshot resume it at
// the last committed chunk: no row missing, none read twice, the newest
// event per key equals the table.
func testOnDemandKill(t *testing.T, l snapLoad, name string) {
	const keys = 60000
	l.create(t, name)
	table := name + ".orders"
	l.exec(t,
		"CREATE TABLE "+table+" (id bigint PRIMARY KEY, note "+l.text+", qty int)",
		fmt.Sprintf("INSERT INTO %s SELECT i, CONCAT('row ', i), 0 FROM %s", table, l.series(keys)),
	)
	extra := "  batch:\n    linger: 10ms\nsnapshot:\n  mode: never\n  chunk_size: 50\n"
	p, cfg := l.start(t, name, extra)
	p.stopOK()

	out, ok := requestSnapshot(t, "-c", cfg, "-id", "kill-1", table)
	if !ok || !strings.Contains(out, "not running") {
		t.Fatalf("cdc snapshot with the connector stopped: want the request written and the connector reported stopped; got:\n%s", out)
	}
	w := startSnapWriters(t, l, table, keys, 1)
	kills := 0
	for kills < 4 {
		p := l.startRaw(t, name, extra)
		if kills == 0 {
			waitLog(t, p, "snapshot request accepted")
		}
		time.Sleep(time.Duration(400+rand.IntN(800)) * time.Millisecond)
		if strings.Contains(p.Log(), "snapshot done") {
			p.stopOK()
			t.Fatalf("the snapshot finished after %d kills; want at least 4 (a bigger table)", kills)
		}
		p.kill()
		kills++
	}
	p = l.startRaw(t, name, extra)
	p.logOnFailure()
	waitLogTimeout(t, p, "snapshot done", 5*time.Minute)
	if !strings.Contains(p.Log(), "resuming the snapshot") || strings.Contains(p.Log(), "snapshot request accepted") {
		t.Errorf("the last run did not resume the on-demand snapshot (or took the request again)")
	}
	w.finish(t)
	c := newConsumer(t, "^"+name+`\.`)
	es, reads := waitConverged(t, c, l, table, name+"."+table)
	checkReads(t, l, table, reads, w)
	onDemandReads(t, es, name+"."+table)
	t.Logf("%d kills", kills)
	p.stopOK()
}
