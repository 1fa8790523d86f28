// Package pipeline moves changes from a source through the routes into the
// Kafka sink, and advances the checkpoint at source-transaction boundaries:
//
//	source -> route -> sink (events + checkpoint in one Kafka transaction)
//	       -> Ack(position) to the source, only after Kafka committed it.
//
// Several source transactions share one Kafka transaction, bounded by
// MaxEvents, MaxBytes and Linger. A source transaction too large for one
// Kafka transaction (more than MaxEvents or MaxBytes, or streaming for
// longer than MaxOpen) is committed in parts: the checkpoint then names the
// last complete source transaction's position plus the partial transaction
// and how many of its changes are committed, and a restart skips exactly
// those. The source is acknowledged only up to complete transactions.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/transform"
)

// ErrResumeMismatch reports that the source did not send, first, the partial
// transaction the checkpoint names (another transaction, or the same one
// with other changes): skipping would lose or repeat changes, so the run
// stops.
var ErrResumeMismatch = errors.New("source does not resume with the checkpoint's partial transaction")

// SourceError is how Run reports that the source failed (lost its
// connection, say) while the sink was fine: the open Kafka transaction was
// committed (when it held only complete source transactions) or aborted, so
// a new Run from the last checkpoint continues exactly.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return "source: " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Source is what the pipeline needs of a source.
type Source interface {
	// Stream sends messages to out until ctx ends or it fails.
	Stream(ctx context.Context, from source.Position, out chan<- source.Message) error
	// Ack reports that everything up to pos is durable in Kafka.
	Ack(pos source.Position)
}

// Sink is what the pipeline needs of the Kafka writer.
type Sink interface {
	Begin() error
	Write(ctx context.Context, r transform.Record) error
	Commit(ctx context.Context, cp kafka.Checkpoint) error
	Abort(ctx context.Context) error
	Pending() (records int, bytes int)
}

// Router turns a change into records. An error means the change cannot be
// routed (a malformed outbox row, say): the pipeline sends the change to the
// dead-letter topic with the error as the reason, and goes on.
type Router interface {
	Route(ch *source.Change) ([]transform.Record, error)
}

// Options configure a pipeline run.
type Options struct {
	Connector string
	Server    source.Server
	// Seq is the sequence number of the checkpoint the run starts from.
	Seq uint64
	// MaxEvents and MaxBytes bound a Kafka transaction (checked at source
	// transaction ends); Linger bounds how long committed source
	// transactions wait for more to share their Kafka transaction.
	MaxEvents int
	MaxBytes  int
	Linger    time.Duration
	// MinLinger is the least time a Kafka transaction holding only
	// complete source transactions stays open when nothing more is
	// queued. At 0 it is committed as soon as the queue is empty, so an
	// idle connector's latency is one commit; under load the queue fills
	// while the previous commit runs, and batches grow by themselves up
	// to Linger, MaxEvents and MaxBytes. A transaction that opens with a
	// quarter of Buffer queued (the source outpaces the commits: a
	// backlog) ignores MinLinger and lingers for Linger.
	MinLinger time.Duration
	// HeartbeatInterval is the least time between checkpoints that only
	// advance the position (idle source).
	HeartbeatInterval time.Duration
	// TransactionTopic, when set, receives BEGIN and END records for every
	// source transaction.
	TransactionTopic string
	// DeadLetterTopic overrides the "<topic>.DLT" default.
	DeadLetterTopic string
	// DeadLetterDenied sends the changes whose topic the broker denies
	// (kafka.ErrTopicDenied) to the dead-letter topic; without it such a
	// change stops Run with the error.
	DeadLetterDenied bool
	// Fallback encodes changes the Router rejects, for the dead-letter
	// topic: the original row in the table envelope.
	Fallback *transform.Tables
	// ShutdownGrace is how long a stop request waits for the open source
	// transaction to complete before aborting it; at most half of
	// ShutdownTimeout.
	ShutdownGrace time.Duration
	// ShutdownTimeout bounds the whole stop: once ctx ends, every wait on
	// Kafka (writes, flush, commit) is cancelled after three quarters of it
	// and the abort after all of it, so Run returns within ShutdownTimeout
	// even when Kafka does not answer (the broker then aborts the open
	// transaction after its transaction timeout). Default 30s.
	ShutdownTimeout time.Duration
	// Schemas, when set, tracks schema versions (see Schemas).
	Schemas *Schemas
	// Metrics, when set, records steady-state metrics.
	Metrics *Metrics
	// Buffer is the capacity of the channel between source and pipeline,
	// in messages; BufferBytes bounds the approximate size of the values
	// queued there (default 64 MiB): the source blocks while either is
	// full.
	Buffer      int
	BufferBytes int
	// MaxOpen bounds how long a Kafka transaction stays open: it is
	// committed then, inside a source transaction if need be. Keep it well
	// below the Kafka transaction timeout (cmd/cdc uses half of it); 0
	// means no bound.
	MaxOpen time.Duration
	// Partial is the partial source transaction of the checkpoint the run
	// starts from: the first transaction the source sends must be that one
	// (else Run fails with ErrResumeMismatch), and its first
	// Partial.Changes changes are skipped.
	Partial *kafka.PartialTx
	// Snapshot is the snapshot in progress when the run starts (from the
	// checkpoint, or a new one), nil when none runs. Every checkpoint
	// names it until a snapshot chunk's Commit says no table is open.
	Snapshot *kafka.SnapshotRef
	// SnapshotTopic receives each snapshot chunk's progress record (key:
	// the table), in the chunk's Kafka transaction.
	SnapshotTopic string
	// SnapshotInit are records written in the run's first Kafka
	// transaction, with its first checkpoint: the pending progress records
	// of a new snapshot, so that a checkpoint never names a snapshot whose
	// tables have no record.
	SnapshotInit []transform.Record
	// SignalsTopic receives the answers to on-demand snapshot requests
	// (key: the request id), in the Kafka transaction that accepts them;
	// Signals is the signals offset of the checkpoint the run starts
	// from. Every checkpoint carries the offset after the last request
	// answered.
	SignalsTopic string
	Signals      int64
	// OnSnapshotDone, when set, is called once after the commit that ended
	// the snapshot (snapshot.mode initial_only stops then).
	OnSnapshotDone func()
	// Replay is the replay bound of the checkpoint the run starts from
	// (after `cdc positions set` moved it back): the events up to it are
	// sent again with the header cdc.replay: true (see replay.go).
	Replay *Replay
	Log    *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxEvents <= 0 {
		o.MaxEvents = 5000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 4 << 20
	}
	if o.Linger < 0 {
		o.Linger = 0
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 10 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	o.ShutdownGrace = min(o.ShutdownGrace, o.ShutdownTimeout/2)
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = 64 << 20
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Fallback == nil {
		o.Fallback = &transform.Tables{Prefix: o.Connector}
	}
}

// Run streams from src, starting after from (nil: the source's own start)
// and, when opt.Partial is set, after the committed part of that
// transaction, until ctx is cancelled or something fails. On cancellation it
// finishes the open source transaction if that takes less than
// ShutdownGrace, commits, and returns nil; otherwise it commits the source
// transaction's part so far with a partial checkpoint (or aborts the open
// Kafka transaction when there is no position to name yet). Errors from the
// source are returned after the open Kafka transaction was committed in the
// same way; errors from the sink after it was aborted. After cancellation Run
// returns within ShutdownTimeout whatever Kafka does.
func Run(ctx context.Context, src Source, sink Sink, router Router, from source.Position, opt Options) error {
	opt.defaults()
	// Work started must finish even when a stop is requested, but not
	// forever: an unreachable broker would hold Flush and the commit until
	// it came back. hard bounds the abort, work everything before it.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	work, cancelWork := context.WithCancel(hard)
	defer cancelWork()
	stopWatch := context.AfterFunc(ctx, func() {
		time.AfterFunc(opt.ShutdownTimeout*3/4, cancelWork)
		time.AfterFunc(opt.ShutdownTimeout, cancelHard)
	})
	defer stopWatch()
	p := &run{src: src, sink: sink, router: router, opt: opt, seq: opt.Seq, resume: from, lastCheckpoint: time.Now(), work: work, hard: hard, expect: opt.Partial,
		snap: opt.Snapshot, initRecs: opt.SnapshotInit, replay: opt.Replay, signals: opt.Signals}
	if len(p.initRecs) > 0 {
		p.dirty = true // the first checkpoint must carry them
	}
	p.startReplay()
	if from == nil {
		// No checkpoint yet: store the first position the source offers at
		// once, so that a crash before the first event does not lose the
		// start (a MySQL source has no slot that remembers it).
		p.lastCheckpoint = time.Time{}
	}

	q := newQueue(opt.Buffer, opt.BufferBytes)
	msgs := q.out
	p.queue = q.out
	srcCtx, stopSource := context.WithCancel(context.Background())
	srcDone := make(chan error, 1)
	go q.forward(srcCtx)
	go func() {
		err := src.Stream(srcCtx, from, q.in)
		close(q.in)
		srcDone <- err
	}()
	defer func() {
		stopSource()
		<-srcDone
	}()

	linger := time.NewTimer(time.Hour)
	linger.Stop()
	p.linger = linger
	p.age = time.NewTimer(time.Hour)
	p.age.Stop()
	var drain <-chan time.Time // set once a stop was requested inside a source transaction
	stop := ctx.Done()
	for {
		select {
		case <-stop:
			stop = nil
			if !p.inTx {
				return p.finish(nil)
			}
			opt.Log.Info("stop requested; waiting for the open source transaction", "grace", opt.ShutdownGrace)
			drain = time.After(opt.ShutdownGrace)
		case <-drain:
			if p.canSplit() {
				opt.Log.Info("source transaction did not complete within the grace period; committing its part so far", "tx", p.txID, "changes", p.txChanges)
				return p.finish(nil)
			}
			opt.Log.Warn("source transaction did not complete within the grace period; aborting it", "tx", p.txID)
			return p.abort(nil)
		case err := <-srcDone:
			srcDone <- err // for the deferred receive
			// What the source sent before it stopped is valid: take it
			// (the queue closes once it has passed on all of it).
			for m := range q.out {
				herr := p.handle(work, m.m)
				q.release(m.size)
				if herr != nil {
					return p.abort(errors.Join(herr, err))
				}
			}
			if err == nil {
				err = errors.New("source stopped unexpectedly")
			}
			err = &SourceError{Err: err}
			if p.inTx && !p.canSplit() {
				return p.abort(err)
			}
			// Inside a source transaction this commits its part so far,
			// and a restart skips it.
			return p.finish(err)
		case <-linger.C:
			if p.open && !p.inTx {
				if left := opt.Linger - time.Since(p.openedAt); left > 0 && len(msgs) > 0 {
					// The MinLinger wake-up, and more is queued: the
					// batch goes on until the queue is empty (below) or
					// Linger.
					linger.Reset(left)
					continue
				}
				if err := p.commit(work); err != nil {
					return p.abort(err)
				}
			}
		case <-p.age.C:
			// The source is slow inside a transaction (or the transaction
			// has only just begun): commit before the broker's timeout.
			if p.open && (!p.inTx || p.canSplit()) {
				if err := p.commit(work); err != nil {
					return p.abort(err)
				}
			}
		case m, ok := <-msgs:
			if !ok {
				msgs = nil // the source ended: srcDone follows
				continue
			}
			// Take what is queued already without going back to the
			// select, whose timers cost more than the handling of a small
			// change; a bounded run, so timers and stops are seen soon.
			for n := 0; ; n++ {
				err := p.handle(work, m.m)
				q.release(m.size)
				if err != nil {
					return p.abort(err)
				}
				if stop == nil && !p.inTx { // draining and the transaction completed
					return p.finish(nil)
				}
				if n == maxRun || len(msgs) == 0 {
					break
				}
				if m, ok = <-msgs; !ok { // only this goroutine receives: it does not block
					msgs = nil
					break
				}
			}
			// Idle after MinLinger: commit now rather than wait for the
			// linger.
			if len(msgs) == 0 && p.open && !p.inTx && !p.loaded && time.Since(p.openedAt) >= opt.MinLinger {
				if err := p.commit(work); err != nil {
					return p.abort(err)
				}
			}
		}
	}
}

// maxRun bounds the messages Run handles between two looks at its timers
// and at ctx.
const maxRun = 256

// loadedShare: a Kafka transaction that opens with Buffer/loadedShare
// messages queued is under load (see ensureOpen).
const loadedShare = 4

type run struct {
	src    Source
	sink   Sink
	router Router
	opt    Options
	// work and hard outlive a stop request by 3/4 and all of
	// ShutdownTimeout (see Run).
	work, hard context.Context

	seq            uint64
	resume         source.Position // newest position safe to checkpoint
	dirty          bool            // resume moved since the last checkpoint
	open           bool            // a Kafka transaction is open
	openedAt       time.Time
	loaded         bool        // the open Kafka transaction began with much queued (ensureOpen)
	queue          chan queued // from the source (len: how much waits)
	inTx           bool        // inside a source transaction
	txID           string
	txCommitPos    []byte // text of the Begin's CommitPos
	txChanges      int    // changes of the open source transaction in Kafka (committed or in the open Kafka transaction)
	txEvents       int    // their events (a key change is two), for total_order and the END record
	txTables       map[string]int
	lastCheckpoint time.Time
	age            *time.Timer // fires MaxOpen after the Kafka transaction opened
	linger         *time.Timer

	// expect is the checkpoint's partial transaction until the source
	// sends its Begin; skip counts its committed changes still to skip.
	expect  *kafka.PartialTx
	skip    int
	resumed bool // the open source transaction resumed from a partial checkpoint
	txSeen  int  // its changes received, skipped ones included
	warned  bool // told that a transaction could not be split

	// snap is the snapshot the next checkpoint names; txSnapshot is set
	// inside a snapshot chunk (never split); initRecs go into the first
	// Kafka transaction; snapDone is set when a chunk ended the snapshot,
	// until its commit.
	snap       *kafka.SnapshotRef
	txSnapshot bool
	initRecs   []transform.Record
	snapDone   bool
	snapSteps  []snapshot.Progress // in the open Kafka transaction, for the metrics
	// signals is the signals topic offset the next checkpoint stores.
	signals int64

	// replay is the replay bound while the stream has not passed it;
	// txReplay how many changes of the open source transaction are
	// replays (-1: all of them); replayed counts replayed events.
	replay   *Replay
	txReplay int
	replayed int
}

func (p *run) handle(ctx context.Context, m source.Message) error {
	switch {
	case m.Begin != nil:
		if m.Begin.Snapshot && p.open && p.full() {
			// A chunk is never split: give it room.
			if err := p.commit(ctx); err != nil {
				return err
			}
		}
		if err := p.ensureOpen(); err != nil {
			return err
		}
		p.inTx, p.txID, p.txChanges, p.txEvents, p.txTables = true, m.Begin.TxID, 0, 0, map[string]int{}
		p.txCommitPos, p.resumed, p.txSeen, p.txSnapshot = nil, false, 0, m.Begin.Snapshot
		p.txReplay = 0
		if !m.Begin.Snapshot { // chunks are read now, never replays
			p.txReplay = p.replayOf(m.Begin)
		}
		if m.Begin.Snapshot {
			if p.expect != nil {
				return fmt.Errorf("snapshot chunk %s before the checkpoint's partial transaction %s: %w", m.Begin.TxID, p.expect.ID, ErrResumeMismatch)
			}
			return nil // no transaction-metadata records for snapshot chunks
		}
		if m.Begin.CommitPos != nil {
			text, err := m.Begin.CommitPos.MarshalText()
			if err != nil {
				return fmt.Errorf("encoding commit position of transaction %s: %w", m.Begin.TxID, err)
			}
			p.txCommitPos = text
		}
		if exp := p.expect; exp != nil {
			p.expect = nil
			if exp.ID != m.Begin.TxID || len(exp.CommitPos) > 0 && string(exp.CommitPos) != string(p.txCommitPos) {
				return fmt.Errorf("the checkpoint names transaction %s (commit position %q) with %d changes committed, but the source sent transaction %s (commit position %q) first after %v; nothing is skipped: check that source.dsn points at the same server and the log was not rewritten: %w",
					exp.ID, exp.CommitPos, exp.Changes, m.Begin.TxID, p.txCommitPos, p.resume, ErrResumeMismatch)
			}
			// Its BEGIN record is committed already.
			p.resumed, p.skip, p.txChanges, p.txEvents = true, exp.Changes, exp.Changes, max(exp.Events, exp.Changes)
			for table, n := range exp.Tables {
				p.txTables[table] = n
			}
			p.opt.Log.Info("resuming inside a source transaction", "tx", exp.ID, "skip", exp.Changes)
			return nil
		}
		if p.opt.TransactionTopic != "" {
			return p.write(ctx, markReplay(txRecord(p.opt.TransactionTopic, "BEGIN", m.Begin.TxID, m.Begin.CommitTime, 0, nil), p.txReplay != 0))
		}
	case m.Change != nil:
		if !p.inTx {
			return fmt.Errorf("change outside a source transaction (table %v)", m.Change.Table)
		}
		if p.resumed {
			p.txSeen++
			if o := m.Change.Tx.Order; o > 0 && o != p.txSeen {
				return fmt.Errorf("resuming transaction %s: change number %d says it is number %d: %w", p.txID, p.txSeen, o, ErrResumeMismatch)
			}
			if p.skip > 0 {
				p.skip--
				return nil
			}
		}
		// The Kafka transaction is full (or old) and the source
		// transaction goes on: commit its part so far first.
		if p.open && (p.full() || p.opt.MaxOpen > 0 && time.Since(p.openedAt) >= p.opt.MaxOpen) {
			if p.canSplit() {
				if err := p.commit(ctx); err != nil {
					return err
				}
			} else if !p.warned {
				p.warned = true
				p.opt.Log.Warn("source transaction exceeds the Kafka transaction limits but cannot be split before a first checkpoint", "tx", p.txID)
			}
		}
		p.txChanges++
		table := ""
		if m.Change.Table != nil {
			table = m.Change.Table.ID()
		}
		p.opt.Metrics.event(table, m.Change.Op.String())
		// The pipeline numbers the events: an update that changes the key
		// is two (a delete and a create, numbered n and n+1 by the router),
		// so the source's count of changes would repeat a total_order and
		// undercount the END record's event_count.
		m.Change.Tx.Order = p.txEvents + 1
		if m.Change.Table != nil {
			m.Change.Tx.TableOrder = p.txTables[table] + 1
		}
		var sv *schema.Version
		if p.opt.Schemas != nil && m.Change.Table != nil {
			v, err := p.version(ctx, m.Change)
			if err != nil {
				return err
			}
			if v != nil {
				// Sources make a new table value for every shape, so the
				// version belongs to this value.
				m.Change.Table.Version = v.Version
				sv = v
			}
		}
		recs, err := p.router.Route(m.Change)
		dead := err != nil
		if dead {
			recs, _ = p.opt.Fallback.Route(m.Change)
			for i := range recs {
				recs[i] = p.deadLetter(recs[i], m.Change, DeadLetterRouting, err)
			}
		}
		events := 0
		for _, r := range recs {
			if r.Value != nil { // not a tombstone
				events++
			}
		}
		events = max(events, 1)
		p.txEvents += events
		if m.Change.Table != nil {
			p.txTables[table] += events
		}
		replay := p.txReplay < 0 || p.txChanges <= p.txReplay
		if replay {
			p.replayed += events
		}
		for _, r := range recs {
			if sv != nil {
				r.Headers = append(r.Headers, p.opt.Schemas.schemaHeaders(sv)...)
			}
			r = markReplay(r, replay)
			if m.Change.Err != nil && !dead {
				r = p.deadLetter(r, m.Change, DeadLetterConversion, m.Change.Err)
			}
			if err := p.write(ctx, r); err != nil {
				var dl transform.Record
				switch {
				case errors.Is(err, kafka.ErrRecordTooLarge):
					dl = p.deadLetter(transform.Record{Topic: r.Topic, Key: r.Key, Headers: r.Headers}, m.Change, DeadLetterTooLarge, err)
				case errors.Is(err, kafka.ErrTopicDenied) && p.opt.DeadLetterDenied:
					dl = p.deadLetter(r, m.Change, DeadLetterDenied, err)
				default:
					return err
				}
				if err := p.write(ctx, dl); err != nil {
					return err
				}
			}
		}
	case m.Commit != nil:
		if p.skip > 0 {
			return fmt.Errorf("resuming transaction %s: it ended after %d changes, but the checkpoint says %d of it are committed: %w",
				p.txID, p.txSeen, p.txSeen+p.skip, ErrResumeMismatch)
		}
		if p.opt.TransactionTopic != "" && !p.txSnapshot {
			if err := p.write(ctx, markReplay(txRecord(p.opt.TransactionTopic, "END", m.Commit.TxID, m.Commit.CommitTime, p.txEvents, p.txTables), p.txReplay < 0)); err != nil {
				return err
			}
		}
		if st := m.Commit.Snapshot; st != nil {
			if err := p.snapshotStep(ctx, st); err != nil {
				return err
			}
		}
		if !p.txSnapshot { // a chunk is not a source transaction
			p.opt.Metrics.sourceTx(m.Commit.CommitTime)
		}
		p.inTx, p.resumed, p.txSnapshot = false, false, false
		p.resume, p.dirty = m.Commit.Pos, true
		p.passed(m.Commit.TxID, m.Commit.Pos)
		p.txReplay = 0
		if p.full() || time.Since(p.openedAt) >= p.opt.Linger {
			return p.commit(ctx)
		}
	case m.Heartbeat != nil:
		if p.inTx || p.expect != nil {
			// Waiting for the partial transaction: a checkpoint now
			// would have to carry it, and need not move.
			return nil
		}
		p.resume, p.dirty = m.Heartbeat, true
		p.passed("", m.Heartbeat)
		if !p.open && time.Since(p.lastCheckpoint) >= p.opt.HeartbeatInterval {
			if err := p.ensureOpen(); err != nil {
				return err
			}
			return p.commit(ctx)
		}
	}
	return nil
}

func (p *run) ensureOpen() error {
	if p.open {
		return nil
	}
	if err := p.sink.Begin(); err != nil {
		return fmt.Errorf("beginning kafka transaction: %w", err)
	}
	p.open, p.openedAt = true, time.Now()
	// Loaded: a quarter of the queue's capacity arrived while the previous
	// transaction committed, so the source outpaces the commits and this
	// transaction lingers its whole Linger (or fills up) whatever
	// MinLinger says. Idle commits then would only make transactions
	// small and many, and every commit costs the broker too.
	p.loaded = len(p.queue) >= p.opt.Buffer/loadedShare
	if p.opt.MinLinger > 0 && p.opt.MinLinger < p.opt.Linger && !p.loaded {
		p.linger.Reset(p.opt.MinLinger)
	} else {
		p.linger.Reset(p.opt.Linger)
	}
	if p.opt.MaxOpen > 0 {
		p.age.Reset(p.opt.MaxOpen)
	}
	if len(p.initRecs) > 0 {
		for _, r := range p.initRecs {
			if err := p.sink.Write(p.work, r); err != nil {
				return err
			}
		}
		// Kept until a commit succeeds: an aborted transaction must
		// write them again.
		p.dirty = true
	}
	return nil
}

// full reports whether the open Kafka transaction reached MaxEvents or
// MaxBytes.
func (p *run) full() bool {
	n, size := p.sink.Pending()
	return n >= p.opt.MaxEvents || size >= p.opt.MaxBytes
}

// canSplit reports whether the open Kafka transaction can be committed
// inside the open source transaction: it needs a position to resume from,
// and none of the transaction's committed changes may be left to skip.
func (p *run) canSplit() bool {
	return p.inTx && p.resume != nil && p.skip == 0 && !p.txSnapshot
}

// snapshotStep writes a chunk's progress record into the open Kafka
// transaction and updates the snapshot the checkpoint names.
func (p *run) snapshotStep(ctx context.Context, st *source.SnapshotStep) error {
	if p.opt.SnapshotTopic == "" {
		return fmt.Errorf("snapshot chunk of %s, but no snapshot topic is configured", st.Table)
	}
	recs := st.Records
	if st.Table != "" {
		recs = append([]source.SnapshotRecord{{Table: st.Table, Progress: st.Progress}}, recs...)
	}
	for _, r := range recs {
		if err := p.write(ctx, transform.Record{Topic: p.opt.SnapshotTopic, Key: []byte(r.Table), Value: r.Progress}); err != nil {
			return err
		}
		if pr, err := snapshot.ParseProgress(r.Progress); err == nil {
			p.snapSteps = append(p.snapSteps, pr)
		}
	}
	if a := st.Answer; a != nil {
		if p.opt.SignalsTopic == "" {
			return fmt.Errorf("answer to snapshot request %q, but no signals topic is configured", a.ID)
		}
		if a.Offset < p.signals {
			return fmt.Errorf("answer to snapshot request %q at signals offset %d, behind the checkpoint's %d: the request was taken already", a.ID, a.Offset, p.signals)
		}
		if err := p.write(ctx, transform.Record{Topic: p.opt.SignalsTopic, Key: []byte(a.ID), Value: a.Value}); err != nil {
			return err
		}
		p.signals = a.Offset
	}
	p.dirty = true
	if st.Open > 0 {
		p.snap = &kafka.SnapshotRef{ID: st.ID, Also: st.Also, Open: st.Open}
		return nil
	}
	if p.snap != nil {
		p.snapDone = true
	}
	p.snap = nil
	return nil
}

// write adds r to the open Kafka transaction, opening one if needed (after
// a commit inside a source transaction, say).
func (p *run) write(ctx context.Context, r transform.Record) error {
	if err := p.ensureOpen(); err != nil {
		return err
	}
	return p.sink.Write(ctx, r)
}

// commit writes the checkpoint and commits the Kafka transaction, then
// acknowledges the position to the source.
func (p *run) commit(ctx context.Context) error {
	if !p.open {
		return nil
	}
	// Inside a source transaction the checkpoint carries its part so far;
	// before the partial transaction of the start checkpoint arrived, that
	// one, unchanged.
	var partial *kafka.PartialTx
	switch {
	case p.inTx:
		if !p.canSplit() {
			return fmt.Errorf("committing inside source transaction %s before a first position or while skipping its committed part", p.txID)
		}
		partial = &kafka.PartialTx{ID: p.txID, CommitPos: p.txCommitPos, Changes: p.txChanges, Events: p.txEvents, Tables: maps.Clone(p.txTables)}
	case p.expect != nil:
		partial = p.expect
	}
	if n, _ := p.sink.Pending(); p.resume == nil || !p.dirty && (partial == nil || n == 0) {
		// Nothing new to checkpoint.
		if err := p.sink.Abort(ctx); err != nil {
			return fmt.Errorf("aborting empty kafka transaction: %w", err)
		}
		p.open = false
		return nil
	}
	text, err := p.resume.MarshalText()
	if err != nil {
		return fmt.Errorf("encoding position %v: %w", p.resume, err)
	}
	cp := kafka.Checkpoint{Connector: p.opt.Connector, Server: p.opt.Server, Position: text, Time: time.Now().UTC(), Seq: p.seq + 1, Partial: partial, Snapshot: p.snap, Replay: p.replayBound(), Signals: p.signals}
	started := time.Now()
	if err := p.sink.Commit(ctx, cp); err != nil {
		p.open = false
		return fmt.Errorf("committing events through %v: %w", p.resume, err)
	}
	p.seq++
	p.initRecs = nil
	if len(p.snapSteps) > 0 || p.snapDone {
		open := 0
		if p.snap != nil {
			open = p.snap.Open
		}
		p.opt.Metrics.snapshotCommitted(p.snapSteps, open)
		p.snapSteps = nil
	}
	p.opt.Metrics.committed(p.seq, time.Since(started))
	if p.snapDone {
		p.snapDone = false
		p.opt.Log.Info("snapshot done")
		if p.opt.OnSnapshotDone != nil {
			p.opt.OnSnapshotDone()
		}
	}
	p.open, p.dirty = false, false
	p.lastCheckpoint = time.Now()
	// Only complete source transactions are acknowledged: a partial
	// checkpoint acknowledges the position before its transaction.
	p.src.Ack(p.resume)
	if partial != nil {
		// The rest of the source transaction goes on in a new Kafka
		// transaction, opened by its next write.
		p.opt.Log.Debug("committed inside a source transaction", "position", p.resume.String(), "tx", partial.ID, "changes", partial.Changes, "seq", p.seq)
		return nil
	}
	p.opt.Log.Debug("committed", "position", p.resume.String(), "seq", p.seq)
	return nil
}

// finish commits the open Kafka transaction (inside a source transaction:
// its part so far, see canSplit) and returns err.
func (p *run) finish(err error) error {
	if cerr := p.commit(p.work); cerr != nil {
		return errors.Join(err, p.abort(cerr))
	}
	return err
}

// abort drops the open Kafka transaction and returns err.
func (p *run) abort(err error) error {
	p.snapSteps = nil
	if !p.open {
		return err
	}
	p.open = false
	ctx, cancel := context.WithTimeout(p.hard, 30*time.Second)
	defer cancel()
	if aerr := p.sink.Abort(ctx); aerr != nil {
		return errors.Join(err, fmt.Errorf("aborting kafka transaction: %w", aerr))
	}
	return err
}

// DeadLetterKind says why a change went to the dead-letter topic, in the
// record's cdc.dlt.kind header.
type DeadLetterKind string

const (
	// DeadLetterRouting: the routes rejected the change (a malformed outbox
	// row, a route that does not fit the table). The row is the source's
	// own, and `cdc dlt replay` can route it again after a fix.
	DeadLetterRouting DeadLetterKind = "routing"
	// DeadLetterConversion: a value could not be converted; the row holds
	// the source's raw form of it (base64 bytes, raw text) or no row at all
	// (an undecodable binlog event). Replaying it would publish those raw
	// forms as values, so `cdc dlt replay` refuses it.
	DeadLetterConversion DeadLetterKind = "conversion"
	// DeadLetterTooLarge: the record exceeded kafka.max_record_bytes; it
	// has no value.
	DeadLetterTooLarge DeadLetterKind = "too_large"
	// DeadLetterDenied: the broker denied the record's topic
	// (DeadLetterDenied option). The record is the one that was to be
	// written, headers and all; `cdc dlt replay` writes it as it is to its
	// topic once the grant is made.
	DeadLetterDenied DeadLetterKind = "denied"
)

// deadLetter turns a record that cannot be delivered as is into a record for
// the dead-letter topic, with the kind, the reason and the source position
// in headers.
func (p *run) deadLetter(r transform.Record, ch *source.Change, kind DeadLetterKind, reason error) transform.Record {
	topic := p.opt.DeadLetterTopic
	if topic == "" {
		topic = r.Topic + ".DLT"
	}
	h := append([]transform.Header(nil), r.Headers...)
	h = append(h,
		transform.Header{Key: "cdc.dlt.kind", Value: []byte(kind)},
		transform.Header{Key: "cdc.dlt.reason", Value: []byte(reason.Error())},
		transform.Header{Key: "cdc.dlt.topic", Value: []byte(r.Topic)},
		transform.Header{Key: "cdc.dlt.tx", Value: []byte(ch.Tx.ID)},
	)
	if ch.Pos != nil {
		h = append(h, transform.Header{Key: "cdc.dlt.position", Value: []byte(ch.Pos.String())})
	}
	p.opt.Log.Warn("change sent to the dead-letter topic", "topic", topic, "reason", reason)
	p.opt.Metrics.deadLetter(topic)
	return transform.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: h}
}

type txKey struct {
	ID string `json:"id"`
}

type txValue struct {
	Status          string           `json:"status"`
	ID              string           `json:"id"`
	TsMs            int64            `json:"ts_ms"`
	EventCount      *int             `json:"event_count"`
	DataCollections []dataCollection `json:"data_collections"`
}

type dataCollection struct {
	DataCollection string `json:"data_collection"`
	EventCount     int    `json:"event_count"`
}

// txRecord builds a transaction-metadata record in Debezium's shape.
func txRecord(topic, status, id string, at time.Time, events int, tables map[string]int) transform.Record {
	v := txValue{Status: status, ID: id, TsMs: at.UnixMilli()}
	if status == "END" {
		v.EventCount = &events
		v.DataCollections = []dataCollection{}
		names := make([]string, 0, len(tables))
		for name := range tables {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			v.DataCollections = append(v.DataCollections, dataCollection{name, tables[name]})
		}
	}
	key, _ := json.Marshal(txKey{id}) // plain structs of strings and ints always encode
	value, _ := json.Marshal(v)
	return transform.Record{Topic: topic, Key: key, Value: value}
}
