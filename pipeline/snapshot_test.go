package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/sink/kafka"
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
	if got := strings.Join(refs, " "); got != "&{initial 1} &{initial 1} &{initial 1} &{initial 1} <nil>" {
		t.Fatalf("checkpoints name snapshots %s; want it named until the last chunk", got)
	}
	if done[0] != fmt.Sprint(len(strings.Split(want, "\n"))) {
		t.Fatalf("OnSnapshotDone after %s committed lines, want after the last commit", done[0])
	}
}
