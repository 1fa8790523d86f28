package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/transform"
)

// chunk is a snapshot transaction of rows, committed at pos with a progress
// record; open is how many tables are left after it.
func chunk(id string, at int, open int, rows ...int64) []source.Message {
	txID := "snapshot:" + id
	ms := []source.Message{{Begin: &source.Begin{TxID: txID, Snapshot: true}}}
	for i, r := range rows {
		ms = append(ms, source.Message{Change: &source.Change{Op: source.OpRead, Table: tbl, After: []any{r}, Tx: source.Tx{ID: txID, Order: i + 1}}})
	}
	return append(ms, source.Message{Commit: &source.Commit{TxID: txID, Pos: pos(at),
		Snapshot: &source.SnapshotStep{Table: "s.t", Progress: []byte("progress " + id), ID: "initial", Open: open}}})
}

// A snapshot chunk is never split, however large: its rows, its progress
// record and the checkpoint naming the snapshot commit together; the first
// Kafka transaction carries the pending records; the checkpoint stops
// naming the snapshot with the chunk that closes it, and OnSnapshotDone
// runs after that commit.
func TestSnapshotChunksCommitWithProgressAndAreNotSplit(t *testing.T) {
	src := &script{msgs: concat(tx(1, 1), chunk("a-1", 1, 1, ids(1, 5)...), tx(2, 2), chunk("a-2", 2, 0))}
	sink := &journal{}
	var done []string
	opt := Options{MaxEvents: 2, Linger: 0, TransactionTopic: "txs", SnapshotTopic: "x._snapshots",
		Snapshot:       &kafka.SnapshotRef{ID: "initial", Open: 1},
		SnapshotInit:   []transform.Record{{Topic: "x._snapshots", Key: []byte("s.t"), Value: []byte("pending")}},
		OnSnapshotDone: func() { done = append(done, fmt.Sprint(len(sink.lines()))) },
	}
	err := runFrom(t, src, sink, tables(), pos(0), opt, func() bool {
		return slices.Contains(src.ackedPositions(), "p2") && len(done) == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		// The pending record and the BEGIN fill the first Kafka transaction.
		"x._snapshots s.t", `txs {"id":"1"}`, "checkpoint p0 partial=1:0", `x.s.t {"id":1}`, `txs {"id":"1"}`, "checkpoint p1",
		`x.s.t {"id":1}`, `x.s.t {"id":2}`, `x.s.t {"id":3}`, `x.s.t {"id":4}`, `x.s.t {"id":5}`, "x._snapshots s.t", "checkpoint p1",
		`txs {"id":"2"}`, `x.s.t {"id":2}`, `txs {"id":"2"}`, "checkpoint p2",
		"x._snapshots s.t", "checkpoint p2",
	}, "\n")
	if got := strings.Join(sink.lines(), "\n"); got != want {
		t.Fatalf("committed:\n%s\nwant:\n%s", got, want)
	}
	var refs []string
	for _, cp := range sink.cps {
		refs = append(refs, fmt.Sprint(cp.Snapshot))
	}
	if got := strings.Join(refs, " "); got != "&{initial [] 1} &{initial [] 1} &{initial [] 1} &{initial [] 1} <nil>" {
		t.Fatalf("checkpoints name snapshots %s; want it named until the last chunk", got)
	}
	if done[0] != fmt.Sprint(len(strings.Split(want, "\n"))) {
		t.Fatalf("OnSnapshotDone after %s committed lines, want after the last commit", done[0])
	}
}

// An on-demand request taken by the reader (an empty snapshot transaction
// from Driver.Accept) commits the pending records of its tables, the answer
// on the signals topic and the checkpoint naming both snapshots with the
// signals offset after the request, all in one Kafka transaction; later
// checkpoints keep the offset, also after the snapshot ends.
func TestOnDemandRequestCommitsWithSignalsOffset(t *testing.T) {
	d, err := snapshot.NewDriver(snapshot.Plan{ID: snapshot.Initial, ChunkSize: 10, Requests: make(chan snapshot.Request),
		Tables: []snapshot.Progress{{Table: "s.t", Snapshot: snapshot.Initial, State: snapshot.StatePending}}})
	if err != nil {
		t.Fatal(err)
	}
	req := snapshot.Request{Signal: snapshot.Signal{Type: snapshot.SignalSnapshot, ID: "r1", Tables: []string{"s.u"}}, Offset: 8}
	accept, err := d.Accept(req, []string{"s.u"}, "", pos(1), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	reject, err := d.Accept(snapshot.Request{Signal: snapshot.Signal{Type: snapshot.SignalSnapshot, ID: "r2", Tables: []string{"nope"}}, Offset: 9},
		nil, "not captured: nope", pos(2), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	src := &script{msgs: concat(tx(1, 1), accept, tx(2, 2), reject, tx(3, 3))}
	sink := &journal{}
	opt := Options{MaxEvents: 100, Linger: 0, SnapshotTopic: "x._snapshots", SignalsTopic: "x._signals", Signals: 5,
		Snapshot: &kafka.SnapshotRef{ID: snapshot.Initial, Open: 1}}
	err = runFrom(t, src, sink, tables(), pos(0), opt, func() bool {
		return slices.Contains(src.ackedPositions(), "p3")
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`x.s.t {"id":1}`, "checkpoint p1",
		"x._snapshots s.u", "x._signals r1", "checkpoint p1",
		`x.s.t {"id":2}`, "checkpoint p2",
		"x._signals r2", "checkpoint p2",
		`x.s.t {"id":3}`, "checkpoint p3",
	}, "\n")
	if got := strings.Join(sink.lines(), "\n"); got != want {
		t.Fatalf("committed:\n%s\nwant:\n%s", got, want)
	}
	var got []string
	for _, cp := range sink.cps {
		got = append(got, fmt.Sprintf("%d %v", cp.Signals, cp.Snapshot))
	}
	if s := strings.Join(got, ", "); s != "5 &{initial [] 1}, 8 &{initial [r1] 2}, 8 &{initial [r1] 2}, 9 &{initial [r1] 2}, 9 &{initial [r1] 2}" {
		t.Fatalf("checkpoints (signals, snapshot): %s", s)
	}
	for _, r := range sink.records {
		if r.Topic != "x._signals" {
			continue
		}
		sig, err := snapshot.ParseSignal(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if k := string(r.Key); k == "r1" && (sig.Type != snapshot.SignalAccepted || !slices.Equal(sig.Tables, []string{"s.u"})) ||
			k == "r2" && (sig.Type != snapshot.SignalRejected || sig.Reason != "not captured: nope") {
			t.Errorf("answer %s: %+v", k, sig)
		}
	}
}

// A request at a signals offset the checkpoint has passed was taken
// already: committing it again would take it twice, so the run stops.
func TestOnDemandRequestBehindCheckpointFails(t *testing.T) {
	d, err := snapshot.NewDriver(snapshot.Plan{ID: snapshot.Initial, ChunkSize: 10, Requests: make(chan snapshot.Request)})
	if err != nil {
		t.Fatal(err)
	}
	accept, err := d.Accept(snapshot.Request{Signal: snapshot.Signal{Type: snapshot.SignalSnapshot, ID: "r1"}, Offset: 3}, []string{"s.u"}, "", pos(1), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	src := &script{msgs: concat(tx(1, 1), accept)}
	opt := Options{MaxEvents: 100, SnapshotTopic: "x._snapshots", SignalsTopic: "x._signals", Signals: 7}
	err = runFrom(t, src, &journal{}, tables(), pos(0), opt, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "taken already") {
		t.Fatalf("run: %v; want the request refused", err)
	}
}
