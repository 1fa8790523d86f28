package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/source"
)

// posOrder orders the fake source's positions: transaction n ends at pos(n).
type posOrder struct{}

func (posOrder) Covers(until source.Position, b *source.Begin) bool {
	n, err := strconv.Atoi(b.TxID)
	return err == nil && pos(n) <= until.(pos)
}

func (posOrder) Reached(until, p source.Position) bool { return p.(pos) >= until.(pos) }

// marked returns "topic key" of each committed record with its replay mark.
func marked(sink *journal) []string {
	var out []string
	for _, r := range sink.records {
		line := r.Topic + " " + string(r.Key)
		for _, h := range r.Headers {
			if h.Key == ReplayHeader {
				line += " replay=" + string(h.Value)
			}
		}
		out = append(out, line)
	}
	return out
}

func TestReplayMarksEventsUpToTheBound(t *testing.T) {
	src := &script{msgs: concat(tx(2, 20), tx(3, 30), tx(4, 40), tx(5, 50))}
	sink := &journal{}
	var replays []string // the bound each checkpoint carried
	opt := Options{MaxEvents: 3, Linger: time.Hour, MinLinger: time.Hour, TransactionTopic: "txs",
		Replay: &Replay{Until: pos(3), Bound: kafka.ReplayBound{Until: []byte("p3")}, Order: posOrder{}}}
	err := runFrom(t, src, wrapCommits(sink, &replays), tables(), pos(1), opt, func() bool { return slices.Contains(src.ackedPositions(), "p5") })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`txs {"id":"2"} replay=true`, `x.s.t {"id":20} replay=true`, `txs {"id":"2"} replay=true`,
		`txs {"id":"3"} replay=true`, `x.s.t {"id":30} replay=true`, `txs {"id":"3"} replay=true`,
		`txs {"id":"4"}`, `x.s.t {"id":40}`, `txs {"id":"4"}`,
		`txs {"id":"5"}`, `x.s.t {"id":50}`, `txs {"id":"5"}`,
	}
	if got := marked(sink); !slices.Equal(got, want) {
		t.Fatalf("committed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The checkpoint before the bound carries it, so that a restart there
	// goes on marking; the one at the bound and later ones do not.
	if got := strings.Join(replays, " "); got != "p2:p3 p3: p4: p5:" {
		t.Fatalf("checkpoints (position:replay bound) %s", got)
	}
}

// The replaced checkpoint was inside transaction 3, with 2 of its changes
// committed: those two are replays, the rest of it is new.
func TestReplayBoundInsideATransaction(t *testing.T) {
	src := &script{msgs: concat(tx(2, 20), tx(3, 30, 31, 32, 33), tx(4, 40))}
	sink := &journal{}
	var replays []string
	opt := Options{MaxEvents: 100, Linger: 0, TransactionTopic: "txs",
		Replay: &Replay{Until: pos(2), Bound: kafka.ReplayBound{Until: []byte("p2"), Tx: "3", Changes: 2}, Order: posOrder{}}}
	err := runFrom(t, src, wrapCommits(sink, &replays), tables(), pos(1), opt, func() bool { return slices.Contains(src.ackedPositions(), "p4") })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`txs {"id":"2"} replay=true`, `x.s.t {"id":20} replay=true`, `txs {"id":"2"} replay=true`,
		`txs {"id":"3"} replay=true`, `x.s.t {"id":30} replay=true`, `x.s.t {"id":31} replay=true`, `x.s.t {"id":32}`, `x.s.t {"id":33}`, `txs {"id":"3"}`,
		`txs {"id":"4"}`, `x.s.t {"id":40}`, `txs {"id":"4"}`,
	}
	if got := marked(sink); !slices.Equal(got, want) {
		t.Fatalf("committed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A start at or past the bound replays nothing.
func TestReplayBoundAlreadyPassed(t *testing.T) {
	src := &script{msgs: tx(4, 40)}
	sink := &journal{}
	opt := Options{Linger: 0, Replay: &Replay{Until: pos(3), Bound: kafka.ReplayBound{Until: []byte("p3")}, Order: posOrder{}}}
	if err := runFrom(t, src, sink, tables(), pos(3), opt, func() bool { return slices.Contains(src.ackedPositions(), "p4") }); err != nil {
		t.Fatal(err)
	}
	if got := marked(sink); !slices.Equal(got, []string{`x.s.t {"id":40}`}) || sink.last.Replay != nil {
		t.Fatalf("committed %v, last checkpoint replay %+v", got, sink.last.Replay)
	}
}

// wrapCommits records "position:replay until" of every checkpoint.
func wrapCommits(j *journal, out *[]string) *journal {
	j.onCommit = func(cp kafka.Checkpoint) {
		until := ""
		if cp.Replay != nil {
			until = string(cp.Replay.Until)
		}
		*out = append(*out, fmt.Sprintf("%s:%s", cp.Position, until))
	}
	return j
}
