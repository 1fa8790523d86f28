package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/transform"
)

type pos int

func (p pos) MarshalText() ([]byte, error) { return []byte(p.String()), nil }
func (p pos) String() string               { return fmt.Sprintf("p%d", int(p)) }

// script is a fake source: it sends its messages, then blocks (or fails).
type script struct {
	msgs  []source.Message
	fail  error
	mu    sync.Mutex
	acked []string
	from  source.Position
}

func (s *script) Stream(ctx context.Context, from source.Position, out chan<- source.Message) error {
	s.from = from
	for _, m := range s.msgs {
		select {
		case out <- m:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.fail != nil {
		return s.fail
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *script) Ack(p source.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = append(s.acked, p.String())
}

func (s *script) ackedPositions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.acked...)
}

// journal is a fake sink recording what a read_committed consumer would
// see: records of committed transactions only, with their checkpoints.
type journal struct {
	mu        sync.Mutex
	open      []transform.Record
	committed []string // "topic key" or "checkpoint <pos>"
	records   []transform.Record // committed, in order
	aborts    int
	tooLarge  int // records with a Value larger than this fail with ErrRecordTooLarge (0: none)
	// unreachable makes Commit and Abort wait until their ctx ends, as
	// against a broker that does not answer.
	unreachable bool
}

func (j *journal) Begin() error { return nil }
func (j *journal) Write(_ context.Context, r transform.Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.tooLarge > 0 && len(r.Value) > j.tooLarge {
		return fmt.Errorf("record of %d bytes: %w", len(r.Value), kafka.ErrRecordTooLarge)
	}
	j.open = append(j.open, r)
	return nil
}
func (j *journal) Commit(ctx context.Context, cp kafka.Checkpoint) error {
	if j.unreachable {
		<-ctx.Done()
		return ctx.Err()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, r := range j.open {
		line := r.Topic + " " + string(r.Key)
		for _, h := range r.Headers {
			if h.Key == "cdc.dlt.reason" {
				line += " reason=" + string(h.Value)
			}
		}
		j.committed = append(j.committed, line)
	}
	j.committed = append(j.committed, "checkpoint "+string(cp.Position))
	j.records = append(j.records, j.open...)
	j.open = nil
	return nil
}
func (j *journal) Abort(ctx context.Context) error {
	if j.unreachable {
		<-ctx.Done()
		return ctx.Err()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.open = nil
	j.aborts++
	return nil
}
func (j *journal) Pending() (int, int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.open), 0
}
func (j *journal) lines() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.committed...)
}

var tbl = &schema.Table{Namespace: "s", Name: "t", Columns: []schema.Column{{Name: "id", Kind: schema.KindInt, Key: true}}}

func tx(id int, rows ...int64) []source.Message {
	ms := []source.Message{{Begin: &source.Begin{TxID: fmt.Sprint(id)}}}
	for i, r := range rows {
		ms = append(ms, source.Message{Change: &source.Change{Op: source.OpCreate, Table: tbl, After: []any{r}, Tx: source.Tx{ID: fmt.Sprint(id), Order: i + 1}}})
	}
	return append(ms, source.Message{Commit: &source.Commit{TxID: fmt.Sprint(id), Pos: pos(id)}})
}

func concat(parts ...[]source.Message) []source.Message {
	var out []source.Message
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

type rejectOdd struct{ tables *transform.Tables }

func (r rejectOdd) Route(ch *source.Change) ([]transform.Record, error) {
	if ch.After[0].(int64)%2 == 1 {
		return nil, errors.New("odd rows are poison")
	}
	return r.tables.Route(ch)
}

func runUntil(t *testing.T, src *script, sink *journal, router Router, opt Options, done func() bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, src, sink, router, nil, opt) }()
	deadline := time.Now().Add(5 * time.Second)
	for !done() {
		select {
		case err := <-errc:
			cancel()
			return err
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("condition not reached; committed: %v", sink.lines())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	return <-errc
}

func tables() *transform.Tables { return &transform.Tables{Prefix: "x"} }

func TestBatchesSourceTransactionsAndAcksAfterCommit(t *testing.T) {
	src := &script{msgs: concat(tx(1, 10, 11), tx(2, 12), tx(3, 13))}
	sink := &journal{}
	err := runUntil(t, src, sink, tables(), Options{MaxEvents: 3, Linger: time.Hour}, func() bool {
		return len(src.ackedPositions()) >= 1
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(sink.lines(), "\n")
	// Tx 1 and 2 fill the batch (3 events); tx 3 is committed at the stop.
	want := strings.Join([]string{
		`x.s.t {"id":10}`, `x.s.t {"id":11}`, `x.s.t {"id":12}`, "checkpoint p2",
		`x.s.t {"id":13}`, "checkpoint p3",
	}, "\n")
	if got != want {
		t.Fatalf("committed:\n%s\nwant:\n%s", got, want)
	}
	if a := src.ackedPositions(); a[0] != "p2" || a[len(a)-1] != "p3" {
		t.Fatalf("acked %v, want p2 then p3", a)
	}
}

func TestStopInsideTransactionAbortsAfterGrace(t *testing.T) {
	open := concat(tx(1, 10), []source.Message{{Begin: &source.Begin{TxID: "2"}},
		{Change: &source.Change{Op: source.OpCreate, Table: tbl, After: []any{int64(20)}}}})
	src := &script{msgs: open}
	sink := &journal{}
	err := runUntil(t, src, sink, tables(), Options{Linger: time.Hour, ShutdownGrace: 50 * time.Millisecond}, func() bool {
		n, _ := sink.Pending()
		return n == 2
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := sink.lines(); len(l) != 0 || sink.aborts != 1 {
		t.Fatalf("a stop inside a source transaction that does not complete must abort everything open; committed %v, aborts %d", l, sink.aborts)
	}
	if a := src.ackedPositions(); len(a) != 0 {
		t.Fatalf("acked %v after an abort", a)
	}
}

// With Kafka unreachable the commit and the abort never answer; a stop
// must still return, within ShutdownTimeout, with the error.
func TestStopWithUnreachableKafkaReturns(t *testing.T) {
	src := &script{msgs: tx(1, 10)}
	sink := &journal{unreachable: true}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, src, sink, tables(), nil, Options{Linger: time.Hour, ShutdownTimeout: 200 * time.Millisecond})
	}()
	for n, _ := sink.Pending(); n != 1; n, _ = sink.Pending() {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want the cancelled commit and abort", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after a stop with Kafka unreachable")
	}
}

func TestRouterErrorGoesToDeadLetterTopic(t *testing.T) {
	src := &script{msgs: tx(1, 1, 2, 3)}
	sink := &journal{}
	err := runUntil(t, src, sink, rejectOdd{tables()}, Options{Linger: 0, Fallback: tables()}, func() bool {
		return len(src.ackedPositions()) == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`x.s.t.DLT {"id":1} reason=odd rows are poison`, `x.s.t {"id":2}`, `x.s.t.DLT {"id":3} reason=odd rows are poison`, "checkpoint p1",
	}, "\n")
	if got := strings.Join(sink.lines(), "\n"); got != want {
		t.Fatalf("committed:\n%s\nwant:\n%s", got, want)
	}
}

func TestOversizeRecordGoesToDeadLetterTopicWithoutValue(t *testing.T) {
	src := &script{msgs: tx(1, 1)}
	sink := &journal{tooLarge: 10}
	if err := runUntil(t, src, sink, tables(), Options{Linger: 0}, func() bool { return len(src.ackedPositions()) == 1 }); err != nil {
		t.Fatal(err)
	}
	if l := sink.lines(); len(l) != 2 || !strings.HasPrefix(l[0], `x.s.t.DLT {"id":1} reason=record of`) {
		t.Fatalf("committed %v", l)
	}
}

func TestSourceFailureCommitsCompleteTransactions(t *testing.T) {
	src := &script{msgs: tx(1, 1), fail: errors.New("connection reset")}
	sink := &journal{}
	err := runUntil(t, src, sink, tables(), Options{Linger: time.Hour}, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	if l := sink.lines(); strings.Join(l, ",") != `x.s.t {"id":1},checkpoint p1` {
		t.Fatalf("committed %v", l)
	}
}

func TestHeartbeatCheckpointsIdleProgress(t *testing.T) {
	src := &script{msgs: []source.Message{{Heartbeat: pos(5)}}}
	sink := &journal{}
	err := runUntil(t, src, sink, tables(), Options{HeartbeatInterval: time.Nanosecond}, func() bool { return len(src.ackedPositions()) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if l := sink.lines(); strings.Join(l, ",") != "checkpoint p5" {
		t.Fatalf("committed %v", l)
	}
}

// An update that changes the key is two events, a delete and a create: they
// get consecutive total_order values, and the END record counts both.
func TestKeyChangeCountsTwoEvents(t *testing.T) {
	src := &script{msgs: []source.Message{
		{Begin: &source.Begin{TxID: "9"}},
		{Change: &source.Change{Op: source.OpUpdate, Table: tbl, Before: []any{int64(1)}, After: []any{int64(2)}, Tx: source.Tx{ID: "9", Order: 1}}},
		{Change: &source.Change{Op: source.OpCreate, Table: tbl, After: []any{int64(3)}, Tx: source.Tx{ID: "9", Order: 2}}},
		{Commit: &source.Commit{TxID: "9", Pos: pos(9)}},
	}}
	sink := &journal{}
	if err := runUntil(t, src, sink, tables(), Options{Linger: 0, TransactionTopic: "txs"}, func() bool { return len(src.ackedPositions()) == 1 }); err != nil {
		t.Fatal(err)
	}
	var orders []string
	var end string
	for _, r := range sink.records {
		switch {
		case r.Topic == "txs" && strings.Contains(string(r.Value), `"END"`):
			end = string(r.Value)
		case r.Topic != "txs" && r.Value != nil:
			var v struct {
				Op string `json:"op"`
				Tx struct {
					Total int `json:"total_order"`
					Coll  int `json:"data_collection_order"`
				} `json:"transaction"`
			}
			if err := json.Unmarshal(r.Value, &v); err != nil {
				t.Fatal(err)
			}
			orders = append(orders, fmt.Sprintf("%s %d/%d", v.Op, v.Tx.Total, v.Tx.Coll))
		}
	}
	if want := []string{"d 1/1", "c 2/2", "c 3/3"}; !slices.Equal(orders, want) {
		t.Errorf("op total_order/data_collection_order: %v, want %v", orders, want)
	}
	if !strings.Contains(end, `"event_count":3`) || !strings.Contains(end, `"data_collection":"s.t","event_count":3`) {
		t.Errorf("END record %s, want event_count 3 for the transaction and for s.t", end)
	}
}

func TestTransactionTopicRecords(t *testing.T) {
	src := &script{msgs: tx(7, 1, 2)}
	sink := &journal{}
	if err := runUntil(t, src, sink, tables(), Options{Linger: 0, TransactionTopic: "txs"}, func() bool { return len(src.ackedPositions()) == 1 }); err != nil {
		t.Fatal(err)
	}
	l := sink.lines()
	if len(l) != 5 || l[0] != `txs {"id":"7"}` || l[3] != `txs {"id":"7"}` {
		t.Fatalf("committed %v", l)
	}
}
