package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	pause map[int]time.Duration // before sending msgs[i]
	fail  error
	mu    sync.Mutex
	acked []string
	from  source.Position
	sent  atomic.Int64 // messages the pipeline has taken
}

func (s *script) Stream(ctx context.Context, from source.Position, out chan<- source.Message) error {
	s.from = from
	for i, m := range s.msgs {
		if d := s.pause[i]; d > 0 {
			time.Sleep(d)
		}
		select {
		case out <- m:
			s.sent.Add(1)
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
	committed []string           // "topic key" or "checkpoint <pos>"
	records   []transform.Record // committed, in order
	aborts    int
	tooLarge  int // records with a Value larger than this fail with ErrRecordTooLarge (0: none)
	// unreachable makes Commit and Abort wait until their ctx ends, as
	// against a broker that does not answer.
	unreachable bool
	// commits, when set, is how many more Commits succeed; later ones
	// fail (Kafka unreachable, say).
	commits *int
	// gate, when set, blocks every Write until it is closed (a slow Kafka).
	gate chan struct{}
	last *kafka.Checkpoint  // the newest committed checkpoint
	cps  []kafka.Checkpoint // every committed checkpoint
	// onCommit, when set, sees every committed checkpoint.
	onCommit func(kafka.Checkpoint)
}

func (j *journal) Begin() error { return nil }
func (j *journal) Write(_ context.Context, r transform.Record) error {
	if j.gate != nil {
		<-j.gate
	}
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
	if j.commits != nil {
		if *j.commits == 0 {
			j.open = nil // the broker aborts it
			return errors.New("kafka is gone")
		}
		*j.commits--
	}
	j.records = append(j.records, j.open...)
	j.last = &cp
	j.cps = append(j.cps, cp)
	if j.onCommit != nil {
		j.onCommit(cp)
	}
	for _, r := range j.open {
		line := r.Topic + " " + string(r.Key)
		for _, h := range r.Headers {
			switch h.Key {
			case "cdc.dlt.kind":
				line += " kind=" + string(h.Value)
			case "cdc.dlt.reason":
				line += " reason=" + string(h.Value)
			}
		}
		j.committed = append(j.committed, line)
	}
	line := "checkpoint " + string(cp.Position)
	if cp.Partial != nil {
		line += fmt.Sprintf(" partial=%s:%d", cp.Partial.ID, cp.Partial.Changes)
	}
	j.committed = append(j.committed, line)
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
	return runFrom(t, src, sink, router, nil, opt, done)
}

func runFrom(t *testing.T, src *script, sink *journal, router Router, from source.Position, opt Options, done func() bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, src, sink, router, from, opt) }()
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
	err := runUntil(t, src, sink, tables(), Options{MaxEvents: 3, Linger: time.Hour, MinLinger: time.Hour}, func() bool {
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

func TestStopInsideTransactionCommitsItsPartAfterGrace(t *testing.T) {
	open := concat(tx(1, 10), []source.Message{{Begin: &source.Begin{TxID: "2"}},
		{Change: &source.Change{Op: source.OpCreate, Table: tbl, After: []any{int64(20)}, Tx: source.Tx{ID: "2", Order: 1}}}})
	src := &script{msgs: open}
	sink := &journal{}
	err := runUntil(t, src, sink, tables(), Options{Linger: time.Hour, MinLinger: time.Hour, ShutdownGrace: 50 * time.Millisecond}, func() bool {
		n, _ := sink.Pending()
		return n == 2
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `x.s.t {"id":10},x.s.t {"id":20},checkpoint p1 partial=2:1`
	if l := strings.Join(sink.lines(), ","); l != want {
		t.Fatalf("a stop inside a source transaction that does not complete commits its part with a partial checkpoint; committed %v, want %v", l, want)
	}
	if a := src.ackedPositions(); strings.Join(a, ",") != "p1" {
		t.Fatalf("acked %v, want only p1: transaction 2 is not complete", a)
	}
}

func TestStopInsideTransactionAbortsWithoutPosition(t *testing.T) {
	// No checkpoint and no position yet: nothing can name the place.
	open := []source.Message{{Begin: &source.Begin{TxID: "2"}},
		{Change: &source.Change{Op: source.OpCreate, Table: tbl, After: []any{int64(20)}}}}
	src := &script{msgs: open}
	sink := &journal{}
	err := runUntil(t, src, sink, tables(), Options{Linger: time.Hour, MinLinger: time.Hour, ShutdownGrace: 50 * time.Millisecond}, func() bool {
		n, _ := sink.Pending()
		return n == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := sink.lines(); len(l) != 0 || sink.aborts != 1 {
		t.Fatalf("committed %v, aborts %d; want an abort", l, sink.aborts)
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
		errc <- Run(ctx, src, sink, tables(), nil, Options{Linger: time.Hour, MinLinger: time.Hour, ShutdownTimeout: 200 * time.Millisecond})
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
		`x.s.t.DLT {"id":1} kind=routing reason=odd rows are poison`, `x.s.t {"id":2}`, `x.s.t.DLT {"id":3} kind=routing reason=odd rows are poison`, "checkpoint p1",
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
	if l := sink.lines(); len(l) != 2 || !strings.HasPrefix(l[0], `x.s.t.DLT {"id":1} kind=too_large reason=record of`) {
		t.Fatalf("committed %v", l)
	}
}

// A change whose value did not convert goes to the dead-letter topic marked
// as such, so that `cdc dlt replay` does not publish its raw value.
func TestConversionErrorGoesToDeadLetterTopicAsConversion(t *testing.T) {
	msgs := tx(1, 1, 2)
	msgs[1].Change.Err = errors.New(`column "name": invalid UTF-8`)
	src := &script{msgs: msgs}
	sink := &journal{}
	if err := runUntil(t, src, sink, tables(), Options{Linger: 0}, func() bool { return len(src.ackedPositions()) == 1 }); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`x.s.t.DLT {"id":1} kind=conversion reason=column "name": invalid UTF-8`, `x.s.t {"id":2}`, "checkpoint p1",
	}, "\n")
	if got := strings.Join(sink.lines(), "\n"); got != want {
		t.Fatalf("committed:\n%s\nwant:\n%s", got, want)
	}
}

func TestSourceFailureCommitsCompleteTransactions(t *testing.T) {
	src := &script{msgs: tx(1, 1), fail: errors.New("connection reset")}
	sink := &journal{}
	err := runUntil(t, src, sink, tables(), Options{Linger: time.Hour, MinLinger: time.Hour}, func() bool { return false })
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

func ids(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// txEnd decodes the END record of transaction id among recs.
func txMarkers(t *testing.T, recs []transform.Record, topic string) (begins int, ends []txValue) {
	t.Helper()
	for _, r := range recs {
		if r.Topic != topic {
			continue
		}
		var v txValue
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatal(err)
		}
		switch v.Status {
		case "BEGIN":
			begins++
		case "END":
			ends = append(ends, v)
		}
	}
	return begins, ends
}

func TestLargeSourceTransactionIsCommittedInParts(t *testing.T) {
	src := &script{msgs: tx(1, ids(1, 7)...)}
	sink := &journal{}
	err := runFrom(t, src, sink, tables(), pos(0), Options{MaxEvents: 3, Linger: time.Hour, MinLinger: time.Hour, TransactionTopic: "txs"}, func() bool {
		return slices.Contains(src.ackedPositions(), "p1")
	})
	if err != nil {
		t.Fatal(err)
	}
	// BEGIN and two rows fill the first Kafka transaction, three rows
	// each the next ones; the checkpoints stay at p0 (before transaction
	// 1) and count its committed changes, until its commit.
	want := strings.Join([]string{
		`txs {"id":"1"}`, `x.s.t {"id":1}`, `x.s.t {"id":2}`, "checkpoint p0 partial=1:2",
		`x.s.t {"id":3}`, `x.s.t {"id":4}`, `x.s.t {"id":5}`, "checkpoint p0 partial=1:5",
		`x.s.t {"id":6}`, `x.s.t {"id":7}`, `txs {"id":"1"}`, "checkpoint p1",
	}, "\n")
	if got := strings.Join(sink.lines(), "\n"); got != want {
		t.Fatalf("committed:\n%s\nwant:\n%s", got, want)
	}
	if a := strings.Join(src.ackedPositions(), ","); a != "p0,p0,p1" {
		t.Fatalf("acked %s; want p0 until transaction 1 is complete", a)
	}
	begins, ends := txMarkers(t, sink.records, "txs")
	if begins != 1 || len(ends) != 1 || *ends[0].EventCount != 7 || fmt.Sprint(ends[0].DataCollections) != "[{s.t 7}]" {
		t.Fatalf("%d BEGIN, END %+v; want one each, END counting 7 events", begins, ends)
	}
}

func TestKafkaTransactionOpenTooLongIsCommittedInsideSourceTransaction(t *testing.T) {
	// The source stalls inside a transaction: the Kafka transaction is
	// committed after MaxOpen, before the broker's timeout would abort it.
	src := &script{msgs: tx(1, 1, 2)[:3]} // Begin and two changes, no commit
	sink := &journal{}
	err := runFrom(t, src, sink, tables(), pos(0), Options{Linger: time.Hour, MinLinger: time.Hour, MaxOpen: 30 * time.Millisecond, ShutdownGrace: time.Millisecond}, func() bool {
		return len(sink.lines()) > 0
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := sink.lines(); strings.Join(l, ",") != `x.s.t {"id":1},x.s.t {"id":2},checkpoint p0 partial=1:2` {
		t.Fatalf("committed %v", l)
	}
}

// A run that loses Kafka after part of a large transaction is committed,
// and a restart from its checkpoint: every change arrives exactly once,
// with one BEGIN and an END that counts all of them.
func TestRestartInsideSourceTransactionSkipsCommittedPart(t *testing.T) {
	msgs := concat(tx(1, ids(1, 7)...), tx(2, 8))
	one := 1
	sink := &journal{commits: &one}
	opt := Options{MaxEvents: 3, Linger: time.Hour, MinLinger: time.Hour, TransactionTopic: "txs"}
	err := runFrom(t, &script{msgs: msgs}, sink, tables(), pos(0), opt, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "kafka is gone") {
		t.Fatalf("first run: %v", err)
	}
	cp := sink.last
	if cp == nil || cp.Partial == nil || cp.Partial.ID != "1" || cp.Partial.Changes != 2 || string(cp.Position) != "p0" {
		t.Fatalf("checkpoint after the first run: %+v", cp)
	}

	sink.commits = nil
	// Heartbeats before the partial transaction must not move the
	// checkpoint away from it.
	src := &script{msgs: append([]source.Message{{Heartbeat: pos(0)}}, msgs...)}
	opt.Partial, opt.HeartbeatInterval = cp.Partial, time.Nanosecond
	err = runFrom(t, src, sink, tables(), pos(0), opt, func() bool { return slices.Contains(src.ackedPositions(), "p2") })
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`txs {"id":"1"}`, `x.s.t {"id":1}`, `x.s.t {"id":2}`, "checkpoint p0 partial=1:2",
		// the restart
		`x.s.t {"id":3}`, `x.s.t {"id":4}`, `x.s.t {"id":5}`, "checkpoint p0 partial=1:5",
		`x.s.t {"id":6}`, `x.s.t {"id":7}`, `txs {"id":"1"}`, "checkpoint p1",
		`txs {"id":"2"}`, `x.s.t {"id":8}`, `txs {"id":"2"}`, "checkpoint p2",
	}, "\n")
	if got := strings.Join(sink.lines(), "\n"); got != want {
		t.Fatalf("committed:\n%s\nwant:\n%s", got, want)
	}
	begins, ends := txMarkers(t, sink.records, "txs")
	if begins != 2 || len(ends) != 2 || *ends[0].EventCount != 7 || fmt.Sprint(ends[0].DataCollections) != "[{s.t 7}]" {
		t.Fatalf("%d BEGIN, END %+v; want END of transaction 1 counting 7 events", begins, ends)
	}
	// The table order goes on where the committed part ended.
	var orders []string
	for _, r := range sink.records {
		if r.Topic == "x.s.t" {
			var v struct {
				Transaction struct {
					DataCollectionOrder int `json:"data_collection_order"`
				} `json:"transaction"`
			}
			json.Unmarshal(r.Value, &v)
			orders = append(orders, fmt.Sprint(v.Transaction.DataCollectionOrder))
		}
	}
	if strings.Join(orders, ",") != "1,2,3,4,5,6,7,1" {
		t.Fatalf("data_collection_order %v", orders)
	}
}

func TestRestartInsideSourceTransactionHaltsOnAnotherTransaction(t *testing.T) {
	partial := &kafka.PartialTx{ID: "1", CommitPos: []byte("p9"), Changes: 2, Tables: map[string]int{"s.t": 2}}
	withPos := func(ms []source.Message, p source.Position) []source.Message {
		ms[0].Begin.CommitPos = p
		return ms
	}
	cases := []struct {
		name string
		msgs []source.Message
	}{
		{"another transaction id", withPos(tx(2, 1, 2, 3), pos(9))},
		{"same id, another commit position", withPos(tx(1, 1, 2, 3), pos(8))},
		{"same id, no commit position", tx(1, 1, 2, 3)},
		{"fewer changes than committed", withPos(tx(1, 1), pos(9))},
		{"changes out of order", withPos(concat(tx(1)[:1], tx(1, 1, 2, 3)[2:]), pos(9))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := &journal{}
			src := &script{msgs: c.msgs}
			err := runFrom(t, src, sink, tables(), pos(0), Options{Linger: 0, Partial: partial}, func() bool { return false })
			if !errors.Is(err, ErrResumeMismatch) {
				t.Fatalf("err = %v, want ErrResumeMismatch", err)
			}
			if l := sink.lines(); len(l) != 0 {
				t.Fatalf("committed %v", l)
			}
			if a := src.ackedPositions(); len(a) != 0 {
				t.Fatalf("acked %v", a)
			}
		})
	}
}

// Rows of 1 MiB: the queue between source and pipeline holds about
// BufferBytes of them, not Buffer (4096) of them, while Kafka is slow.
func TestQueueIsBoundedByBytes(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	wide := &schema.Table{Namespace: "s", Name: "t", Columns: []schema.Column{{Name: "id", Kind: schema.KindInt, Key: true}, {Name: "v", Kind: schema.KindString}}}
	var msgs []source.Message
	for i := range 50 {
		m := tx(i+1, int64(i))
		m[1].Change.Table, m[1].Change.After = wide, []any{int64(i), big}
		msgs = append(msgs, m...)
	}
	src := &script{msgs: msgs}
	sink := &journal{gate: make(chan struct{})}
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- Run(ctx, src, sink, tables(), pos(0), Options{BufferBytes: 4 << 20, Linger: 0}) }()
	// The pipeline blocks in the first Write; the source fills the queue.
	prev := int64(-1)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n := src.sent.Load()
		if n == prev && n > 0 {
			break
		}
		prev = n
	}
	// 4 MiB hold 3 rows with their transactions' small messages (each
	// row's Begin and Commit; one row being handled), plus one message
	// held while the budget is full.
	if n := src.sent.Load(); n > 12 {
		t.Fatalf("the source sent %d messages (%d rows of 1 MiB) while the pipeline was blocked; want the byte budget to stop it", n, n/3)
	}
	close(sink.gate)
	for !slices.Contains(src.ackedPositions(), "p50") {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := len(sink.records); got != 50 {
		t.Fatalf("%d records committed, want 50", got)
	}
}

// A restart inside a source transaction skips changes, not events: an
// update that changes the key is one change of the source but two events
// (a delete and a create), and total_order and the END count go on from the
// committed part's events.
func TestRestartInsideSourceTransactionWithKeyChanges(t *testing.T) {
	keyChange := func(order int, from, to int64) source.Message {
		return source.Message{Change: &source.Change{Op: source.OpUpdate, Table: tbl, Before: []any{from}, After: []any{to}, Tx: source.Tx{ID: "1", Order: order}}}
	}
	create := func(order int, id int64) source.Message {
		return source.Message{Change: &source.Change{Op: source.OpCreate, Table: tbl, After: []any{id}, Tx: source.Tx{ID: "1", Order: order}}}
	}
	// A new stream each run: the pipeline numbers the changes it takes.
	msgs := func() []source.Message {
		return []source.Message{
			{Begin: &source.Begin{TxID: "1"}},
			keyChange(1, 1, 2), create(2, 3), keyChange(3, 3, 4), create(4, 5),
			{Commit: &source.Commit{TxID: "1", Pos: pos(1)}},
		}
	}
	one := 1
	sink := &journal{commits: &one}
	// BEGIN, delete and create fill the first Kafka transaction.
	opt := Options{MaxEvents: 3, Linger: time.Hour, MinLinger: time.Hour, TransactionTopic: "txs"}
	err := runFrom(t, &script{msgs: msgs()}, sink, tables(), pos(0), opt, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "kafka is gone") {
		t.Fatalf("first run: %v", err)
	}
	cp := sink.last
	if cp == nil || cp.Partial == nil || cp.Partial.Changes != 1 || cp.Partial.Events != 2 {
		t.Fatalf("checkpoint after the first run: %+v, want 1 change and 2 events committed", cp)
	}

	sink.commits = nil
	src := &script{msgs: msgs()}
	opt.Partial, opt.Linger = cp.Partial, 0
	if err := runFrom(t, src, sink, tables(), pos(0), opt, func() bool { return slices.Contains(src.ackedPositions(), "p1") }); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sink.records {
		if r.Topic != "x.s.t" || r.Value == nil {
			continue
		}
		var v struct {
			Op string `json:"op"`
			Tx struct {
				Total int `json:"total_order"`
			} `json:"transaction"`
			After struct {
				ID int `json:"id"`
			} `json:"after"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s%d@%d", v.Op, v.After.ID, v.Tx.Total))
	}
	// The delete of a key change has no after (id 0 here).
	if want := []string{"d0@1", "c2@2", "c3@3", "d0@4", "c4@5", "c5@6"}; !slices.Equal(got, want) {
		t.Fatalf("events (op, id, total_order): %v, want %v", got, want)
	}
	begins, ends := txMarkers(t, sink.records, "txs")
	if begins != 1 || len(ends) != 1 || *ends[0].EventCount != 6 || fmt.Sprint(ends[0].DataCollections) != "[{s.t 6}]" {
		t.Fatalf("%d BEGIN, END %+v; want one END counting 6 events", begins, ends)
	}
}

// With MinLinger 0 a Kafka transaction is committed as soon as nothing more
// is queued, whatever the Linger: an idle connector's latency is one
// commit, not a linger.
func TestIdleCommitsAtOnce(t *testing.T) {
	src := &script{msgs: tx(1, 10)}
	sink := &journal{}
	start := time.Now()
	if err := runUntil(t, src, sink, tables(), Options{Linger: time.Hour}, func() bool { return len(src.ackedPositions()) >= 1 }); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the idle transaction was committed after %v", took)
	}
	if got := strings.Join(sink.lines(), "\n"); got != "x.s.t {\"id\":10}\ncheckpoint p1" {
		t.Fatalf("committed:\n%s", got)
	}
}

// MinLinger holds an idle transaction open that long (and no longer), so
// that a quiet source does not make a Kafka transaction per change.
func TestMinLingerHoldsIdleTransaction(t *testing.T) {
	src := &script{msgs: tx(1, 10)}
	sink := &journal{}
	start := time.Now()
	var acked time.Duration
	if err := runUntil(t, src, sink, tables(), Options{Linger: time.Hour, MinLinger: 150 * time.Millisecond}, func() bool {
		if len(src.ackedPositions()) >= 1 {
			acked = time.Since(start)
			return true
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	if acked < 150*time.Millisecond || acked > 3*time.Second {
		t.Fatalf("acked after %v, want after MinLinger (150ms) and long before Linger", acked)
	}
}

// A source transaction still open when MinLinger passes is committed once
// it ends and nothing more is queued, not at Linger.
func TestMinLingerPassedInsideSourceTransaction(t *testing.T) {
	msgs := tx(1, 10)
	src := &script{msgs: msgs, pause: map[int]time.Duration{len(msgs) - 1: 200 * time.Millisecond}} // the Commit comes after MinLinger
	sink := &journal{}
	if err := runUntil(t, src, sink, tables(), Options{Linger: time.Hour, MinLinger: 50 * time.Millisecond}, func() bool {
		return len(src.ackedPositions()) >= 1
	}); err != nil {
		t.Fatal(err)
	}
}

// A Kafka transaction that opens with much queued (the source outpaced
// the previous commit) lingers as a batch even with MinLinger 0: idle
// commits then would make many small transactions.
func TestLoadedTransactionLingers(t *testing.T) {
	msgs := tx(1, 10)
	for i := int64(2); i <= 11; i++ {
		msgs = append(msgs, tx(int(i), i*10)...)
	}
	// tx 1 alone first: its 3 messages stay below a quarter of Buffer
	// (16), so its transaction is not loaded however fast they queue;
	// the 30 that follow fill the queue while tx 1's commit sleeps. The
	// pause before tx 9 empties the queue: without the loaded rule that
	// is an idle commit.
	src := &script{msgs: msgs, pause: map[int]time.Duration{3: 50 * time.Millisecond, 24: 30 * time.Millisecond}}
	sink := &journal{}
	first := true
	sink.onCommit = func(kafka.Checkpoint) {
		if first { // tx 1's commit is slow: the rest queues meanwhile
			first = false
			time.Sleep(200 * time.Millisecond)
		}
	}
	if err := runUntil(t, src, sink, tables(), Options{Linger: 400 * time.Millisecond, MinLinger: 0, Buffer: 16}, func() bool {
		acked := src.ackedPositions()
		return len(acked) > 0 && acked[len(acked)-1] == pos(11).String()
	}); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.cps) != 2 {
		t.Fatalf("%d commits (%v), want 2: tx 1 idle, then txs 2-11 as one batch", len(sink.cps), sink.committed)
	}
}
