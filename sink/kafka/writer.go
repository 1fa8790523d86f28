// Package kafka is the connector's sink: it writes change events and the
// connector's checkpoint to Kafka in one transaction, so that after a crash
// Kafka holds both or neither, and a restart resumes exactly after the last
// committed events.
//
// A Writer owns one transactional producer. The pipeline uses it as
//
//	w, err := kafka.Open(ctx, cfg, log) // fences any older instance
//	cp, err := w.LoadCheckpoint(ctx, "shop")
//	for each batch of source transactions {
//		w.Begin()
//		w.Write(ctx, rec) ...
//		w.Commit(ctx, checkpoint) // on error: w.Abort(ctx), or exit if errors.Is(err, kafka.ErrFenced)
//	}
//
// Consumers of the event topics must read with isolation.level=read_committed
// to see only committed transactions.
package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-go/cdc/transform"
)

const (
	// maxBufferedRecords and minBufferedBytes cap the producer's buffer
	// (the byte cap is at least twice Config.MaxRecordBytes, see
	// bufferedBytes); Write flushes when it is full, so the wait is
	// bounded by Write's context.
	maxBufferedRecords = 10_000
	minBufferedBytes   = 32 << 20
	// closeAbortTimeout bounds the abort of an open transaction in Close.
	closeAbortTimeout = 10 * time.Second
	// metadataMinAge is the least time between two metadata loads.
	metadataMinAge = 100 * time.Millisecond
)

// Writer writes events and checkpoints in Kafka transactions.
//
// A Writer is used from one goroutine: its methods must not be called
// concurrently. Its state is one of: no transaction open; a transaction open
// (after Begin or the first Write); failed (a Commit or a produce failed; only
// Abort and Close are useful); fenced (a newer instance took over; every
// method returns an error wrapping ErrFenced, and the caller should exit).
type Writer struct {
	cfg Config
	log *slog.Logger
	// cl and adm are the producer client and its admin wrapper; reopen
	// replaces both (under clMu, which Ping holds), with the creator
	// stopped.
	cl     *kgo.Client
	adm    *kadm.Client
	clMu   sync.RWMutex
	opts   []kgo.Opt           // cl's, for reopen
	topics map[string]struct{} // topics known to exist
	limits *topicLimits
	// creating holds the event topics being created (see produceTo), for
	// the Writer's goroutine; createWant (under createMu) those the
	// creator goroutine has yet to create, createKick wakes it. life ends
	// at Close, and with it the creator.
	creating   map[string]*newTopic
	createMu   sync.Mutex
	createWant []*newTopic
	createKick chan struct{}
	life       context.Context
	endLife    context.CancelFunc
	created    chan struct{} // closed when the creator returns
	// fetchBytes caps one fetch of LoadCheckpoint (tests lower it to read
	// batch by batch).
	fetchBytes int32

	inTxn bool
	began time.Time // when the open transaction began
	// promise reports a record's failure to async; one per transaction.
	promise func(*kgo.Record, error)
	recSlab []kgo.Record // see newRecord
	records int          // written in the open transaction
	bytes   int
	failed  error // why the open transaction can only be aborted
	// timedOut is the ErrTransactionTimeout failure of the open
	// transaction: the broker ended it, and the producer client cannot
	// go on; Abort replaces it (see reopen).
	timedOut error
	fenced   error // permanent
	closed   bool

	async firstError // first failed produce of the open transaction
}

// firstError keeps the first error reported by produce promises, which run
// on franz-go's goroutines.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *firstError) reset() {
	f.mu.Lock()
	f.err = nil
	f.mu.Unlock()
}

// Open connects to Kafka and prepares the transactional producer. In order,
// it checks that a broker answers (failing with an error wrapping
// ErrUnreachable, naming the brokers, rather than retrying past ctx), ensures
// the checkpoint topic exists (created compacted with one partition; an
// existing one must have cleanup.policy=compact), and then fences any previous
// instance with the same transactional id by initializing the producer id.
// Fencing aborts that instance's open transaction, so a LoadCheckpoint after
// Open sees only what was committed and nothing can commit behind it.
//
// Open blocks until all of that is done or ctx ends; ctx bounds only Open,
// not the Writer's lifetime. On error nothing is left open. A nil log
// discards logs.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	limits := &topicLimits{max: cfg.MaxRecordBytes}
	opts := []kgo.Opt{
		kgo.ClientID(cfg.ClientID),
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.TransactionTimeout(cfg.TransactionTimeout),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// A batch fits its topic (franz-go asks when it first meets a
		// partition, which is after the creator read the topic's limit).
		kgo.ProducerBatchMaxBytesFn(func(topic string) int32 { return int32(limits.get(topic)) }),
		// Records wait up to producerLinger before their produce request
		// (Commit's Flush sends at once); see there.
		kgo.ProducerLinger(producerLinger),
		kgo.MaxBufferedRecords(maxBufferedRecords),
		// The first record for a topic new to the client waits for a
		// metadata load; when a load just ran (for the previous new
		// topic, say), franz-go waits MetadataMinAge (default 5s) before
		// the next one, and the whole transaction with it.
		kgo.MetadataMinAge(metadataMinAge),
		// While the brokers are unreachable, requests (EndTxn above all)
		// keep retrying until the broker would have aborted the
		// transaction anyway, instead of failing after 20 quick tries;
		// callers' contexts bound the wait (a stop request cancels it).
		kgo.RequestRetries(math.MaxInt32),
		kgo.RetryTimeout(cfg.TransactionTimeout),
		kgo.MaxBufferedBytes(bufferedBytes(cfg)),
	}
	cl, err := cfg.Cluster.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		cfg:        cfg,
		log:        log,
		cl:         cl,
		adm:        kadm.NewClient(cl),
		opts:       opts,
		topics:     make(map[string]struct{}),
		limits:     limits,
		creating:   make(map[string]*newTopic),
		createKick: make(chan struct{}, 1),
		fetchBytes: checkpointFetchBytes,
	}
	w.life, w.endLife = context.WithCancel(context.Background())
	if err := w.open(ctx); err != nil {
		w.endLife()
		cl.Close()
		return nil, err
	}
	w.startCreator()
	return w, nil
}

// startCreator starts the goroutine creating new event topics, for the
// Writer's life (or until reopen stops it).
func (w *Writer) startCreator() {
	w.created = make(chan struct{})
	go func() {
		defer close(w.created)
		w.creator()
	}()
}

func (w *Writer) open(ctx context.Context) error {
	if err := w.cl.Ping(ctx); err != nil {
		return w.cfg.Cluster.connectError(err)
	}
	if err := w.ensureCheckpointTopic(ctx); err != nil {
		return err
	}
	if err := w.ensureHistoryTopic(ctx); err != nil {
		return err
	}
	id, epoch, err := w.cl.ProducerID(ctx)
	if err != nil {
		return wrap(fmt.Sprintf("initializing kafka producer for transactional id %q", w.cfg.TransactionalID), err)
	}
	w.log.Info("kafka writer ready", "brokers", w.cfg.Cluster.String(), "transactional_id", w.cfg.TransactionalID,
		"producer_id", id, "producer_epoch", epoch, "checkpoint_topic", w.cfg.CheckpointTopic)
	return nil
}

// usable returns why no new work may be added, if anything.
func (w *Writer) usable() error {
	switch {
	case w.closed:
		return errors.New("kafka writer closed")
	case w.fenced != nil:
		return w.fenced
	case w.failed != nil:
		return fmt.Errorf("kafka transaction failed, abort it first: %w", w.failed)
	}
	return nil
}

// fail records err as the reason the open transaction can only be aborted,
// or as permanent if it is a fencing error, and returns it.
func (w *Writer) fail(err error) error {
	switch {
	case errors.Is(err, ErrFenced):
		if w.fenced == nil {
			w.fenced = err
		}
	case errors.Is(err, ErrTransactionTimeout):
		if w.timedOut == nil {
			w.timedOut = err
		}
		if w.failed == nil {
			w.failed = err
		}
	case w.failed == nil:
		w.failed = err
	}
	return err
}

// Begin opens a Kafka transaction; it does nothing if one is open. It does
// not block: the broker learns of the transaction with its first record.
// Write and Commit call it themselves.
func (w *Writer) Begin() error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.inTxn {
		return nil
	}
	if err := w.cl.BeginTransaction(); err != nil {
		return w.fail(wrap("beginning kafka transaction", err))
	}
	w.inTxn, w.began = true, time.Now()
	w.records, w.bytes = 0, 0
	w.async.reset()
	began, timeout := w.began, w.cfg.TransactionTimeout
	w.promise = func(r *kgo.Record, err error) {
		if err == nil {
			return
		}
		op := fmt.Sprintf("producing record to topic %q", r.Topic)
		if errors.Is(err, kerr.TopicAuthorizationFailed) {
			if r.Topic == w.cfg.CheckpointTopic || r.Topic == w.cfg.HistoryTopic {
				w.async.set(fmt.Errorf("%s: %w", op, denial(r.Topic, err)))
				return
			}
			w.limits.deny(r.Topic, err)
			w.async.set(deniedInTransaction(op, err))
			return
		}
		w.async.set(wrapTxn(op, err, time.Since(began), timeout))
	}
	return nil
}

// Write adds r to the open transaction, opening one if needed. It produces
// asynchronously: it returns once the record is buffered. A topic new to the
// Writer is created in the background (Config.Partitions,
// Config.ReplicationFactor; several at once in one request) while its
// records are held,
// and they are produced once it exists; Commit waits for that. Records of
// one partition are written in Write order.
//
// Write blocks only when the producer's buffer is full, to flush it; ctx
// bounds that. A record that cannot fit in Config.MaxRecordBytes fails with
// an error wrapping ErrRecordTooLarge and leaves the transaction usable; so
// does one larger than its topic's max.message.bytes, once the Writer has
// read that (on the topic's first use: a record taken before fails the
// transaction with ErrTopicLimit), and one for a topic the broker denied
// (ErrTopicDenied; a record taken before the denial was known fails the
// transaction with ErrDeniedInTransaction).
// Write returns the first asynchronous produce failure or topic-creation
// failure of the transaction, if one has been reported; after that, or after
// an error wrapping ErrFenced, the transaction can only be aborted. A ctx
// that ended adds nothing to the transaction.
func (w *Writer) Write(ctx context.Context, r transform.Record) error {
	if r.Topic == "" {
		return errors.New("writing record: empty topic")
	}
	limit, denied := w.limits.lookup(r.Topic)
	if denied != nil {
		return fmt.Errorf("writing record to topic %q: %w", r.Topic, denied)
	}
	if n := recordBatchBytes(&r); n > limit {
		if limit < w.cfg.MaxRecordBytes {
			return fmt.Errorf("writing record to topic %q: %w: %d bytes with framing, the topic takes at most %d (its max.message.bytes)",
				r.Topic, ErrRecordTooLarge, n, limit)
		}
		return fmt.Errorf("writing record to topic %q: %w: %d bytes with framing, MaxRecordBytes is %d",
			r.Topic, ErrRecordTooLarge, n, w.cfg.MaxRecordBytes)
	}
	if err := w.Begin(); err != nil {
		return err
	}
	if err := w.async.get(); err != nil {
		return w.fail(err)
	}
	if err := w.settleTopics(ctx, false); err != nil {
		return err
	}
	if w.cl.BufferedProduceRecords() >= maxBufferedRecords ||
		w.cl.BufferedProduceBytes()+int64(recordUserBytes(&r)) > int64(bufferedBytes(w.cfg)) {
		if err := w.cl.Flush(ctx); err != nil {
			return fmt.Errorf("flushing kafka producer: %w", err)
		}
	}
	rec := w.newRecord()
	rec.Topic, rec.Key, rec.Value = r.Topic, r.Key, r.Value
	if len(r.Headers) > 0 {
		rec.Headers = make([]kgo.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			rec.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	w.produceTo(rec)
	w.records++
	w.bytes += r.Size()
	return nil
}

// produce buffers rec. Its context is Background: franz-go fails buffered
// records whose context ends, and a caller's context ending after Write
// returned must not break the transaction.
//
// The promise is the open transaction's (made by Begin), not a closure per
// record, and records come from a slab: a backlog drain allocated both for
// every event.
func (w *Writer) produce(rec *kgo.Record) {
	w.cl.Produce(context.Background(), rec, w.promise)
}

// newRecord returns a zero record carved from a slab of them. A slab is
// never reused: it is freed when franz-go has let go of its last record.
func (w *Writer) newRecord() *kgo.Record {
	if len(w.recSlab) == 0 {
		w.recSlab = make([]kgo.Record, recordSlab)
	}
	r := &w.recSlab[0]
	w.recSlab = w.recSlab[1:]
	return r
}

// producerLinger holds a transaction's first records back a little. Under
// transaction.version 2 (Kafka 4.x), a produce that arrives while the
// previous transaction's markers are still being written is retried by the
// broker after add.partitions.to.txn.retry.backoff.ms (default 20 ms): at a
// commit per source transaction, a third of the commits took 16-32 ms
// instead of 2-4 (docs/benchmarks.md). A few milliseconds let the markers
// land first.
const producerLinger = 3 * time.Millisecond

// recordSlab is the number of records allocated at once.
const recordSlab = 128

// Commit writes cp to the checkpoint topic in the open transaction (opening
// one if needed, so a checkpoint can be committed alone), and to the
// history topic when there is one, flushes every
// buffered record and commits the transaction. A zero cp.Time is set to now.
//
// Commit blocks until Kafka has durably committed the transaction, or fails;
// ctx bounds the wait. After an error, call Abort (or exit) and resume from
// what LoadCheckpoint returns, not from a position kept in memory: if the
// commit request itself failed in flight (a dropped connection, ctx ending),
// the transaction may have committed anyway, and Abort cannot undo that. An
// error wrapping ErrFenced means another instance with the same
// transactional id took over; the caller should exit.
func (w *Writer) Commit(ctx context.Context, cp Checkpoint) error {
	if cp.Time.IsZero() {
		cp.Time = time.Now()
	}
	value, err := EncodeCheckpoint(cp)
	if err != nil {
		return err
	}
	if err := w.Begin(); err != nil {
		return err
	}
	if err := w.async.get(); err != nil {
		return w.fail(err)
	}
	if err := w.settleTopics(ctx, true); err != nil {
		return err
	}
	w.produce(&kgo.Record{Topic: w.cfg.CheckpointTopic, Key: []byte(cp.Connector), Value: value})
	if w.cfg.HistoryTopic != "" {
		entry, err := EncodeHistory(HistoryEntry{Checkpoint: cp, Records: w.records})
		if err != nil {
			return w.fail(err)
		}
		w.produce(&kgo.Record{Topic: w.cfg.HistoryTopic, Key: []byte(cp.Connector), Value: entry})
	}
	if err := w.cl.Flush(ctx); err != nil {
		return w.fail(fmt.Errorf("flushing kafka transaction: %w", err))
	}
	// Flush returns after every record's promise has run.
	if err := w.async.get(); err != nil {
		return w.fail(err)
	}
	if err := w.settleNewTopics(ctx); err != nil {
		return w.fail(err)
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return w.fail(wrapTxn("committing kafka transaction", commitAnswer(err), time.Since(w.began), w.cfg.TransactionTimeout))
	}
	w.inTxn = false
	w.records, w.bytes = 0, 0
	return nil
}

// settleNewTopics waits until franz-go has published the partitions of topics
// first produced to in this transaction. It works around a race in franz-go
// (seen with v1.22.3): the first records for a topic new to the client are
// sent from inside storePartitionsUpdate, which publishes the topic's
// partitions only when it returns, under the producer's unknown-topics lock.
// If the records are acknowledged and Flush returns before that, an
// EndTransaction(TryCommit) that sees no partition added to the transaction
// aborts it (or, before KIP-890, ends nothing) and still returns nil: a
// commit that silently did not happen. AbortBufferedRecords takes that lock,
// so once it returns the partitions are visible; after a successful Flush
// nothing is buffered, so it fails no record. The race needs unlucky
// scheduling; TestCommitStressNewTopic reproduces it (see there how).
func (w *Writer) settleNewTopics(ctx context.Context) error {
	if err := w.cl.AbortBufferedRecords(ctx); err != nil {
		return fmt.Errorf("flushing kafka transaction: %w", err)
	}
	return nil
}

// Abort drops the open transaction: buffered records are failed, records
// already sent are aborted by the broker, and read_committed consumers never
// see any of them. It does nothing if no transaction is open. After an
// ErrTransactionTimeout it makes a new producer, if no newer instance took
// the transactional id meanwhile (see reopen).
//
// Abort blocks until in-flight produce requests have answered and the abort
// is acknowledged, or ctx ends. On error the Writer stays failed and Abort
// may be retried; a Writer that was fenced stays fenced.
func (w *Writer) Abort(ctx context.Context) error {
	w.dropHeldRecords()
	if !w.inTxn {
		w.failed = nil
		return nil
	}
	if err := w.cl.AbortBufferedRecords(ctx); err != nil {
		return w.fail(fmt.Errorf("aborting buffered kafka records: %w", err))
	}
	w.async.reset()
	if w.timedOut != nil {
		return w.reopen(ctx)
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return w.fail(wrapTxn("aborting kafka transaction", err, time.Since(w.began), w.cfg.TransactionTimeout))
	}
	w.inTxn = false
	w.failed = nil
	w.records, w.bytes = 0, 0
	return nil
}

// Recover makes the Writer usable again after an error that Retriable
// accepts, waiting for Kafka while it is unreachable, until ctx ends. It
// aborts the open transaction and, when that transaction's end was in
// flight (its outcome unknown), lets the broker settle it: franz-go then
// initializes the producer id again, which completes a commit the
// coordinator had already decided and aborts one it had not. Once Recover
// returns nil, LoadCheckpoint sees every transaction of this transactional
// id that will ever commit, so resuming from it neither loses nor repeats a
// record. After ErrTransactionTimeout the Abort makes a new producer
// client (see reopen), or finds the Writer fenced. A Writer that was fenced
// stays fenced.
func (w *Writer) Recover(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, recoverAttemptTimeout)
		err := w.Abort(actx)
		if err == nil {
			if _, _, err = w.cl.ProducerID(actx); err != nil {
				err = wrap("initializing kafka producer again", err)
			}
		}
		cancel()
		switch {
		case err == nil:
			return nil
		case w.fenced != nil:
			return w.fenced
		case ctx.Err() != nil:
			return fmt.Errorf("recovering kafka writer: %w (last error: %w)", ctx.Err(), err)
		case !Retriable(err):
			return fmt.Errorf("recovering kafka writer: %w", err)
		}
		w.log.Debug("kafka writer not recovered yet; retrying", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// recoverAttemptTimeout bounds one attempt of Recover.
const recoverAttemptTimeout = 30 * time.Second

// Pending reports how many records Write added to the open transaction and
// their approximate size (transform.Record.Size), for batching decisions. It
// does not block.
func (w *Writer) Pending() (records, bytes int) {
	return w.records, w.bytes
}

// Close aborts any open transaction, waiting at most 10 seconds, and closes
// the client. A failure to abort is logged: the broker aborts the
// transaction itself after Config.TransactionTimeout. Calling Close again
// does nothing.
func (w *Writer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), closeAbortTimeout)
	defer cancel()
	w.Shutdown(ctx)
}

// Shutdown is Close with the abort of an open transaction bounded by ctx
// (and by 10 seconds) instead: with ctx already ended it does not try.
func (w *Writer) Shutdown(ctx context.Context) {
	if w.closed {
		return
	}
	if w.inTxn && w.timedOut == nil { // the broker aborted a timed-out one
		ctx, cancel := context.WithTimeout(ctx, closeAbortTimeout)
		err := ctx.Err()
		if err == nil {
			err = w.Abort(ctx)
		}
		if err != nil {
			w.log.Warn("kafka transaction left open at close; the broker aborts it after the transaction timeout",
				"err", err, "transaction_timeout", w.cfg.TransactionTimeout)
		}
		cancel()
	}
	w.closed = true
	if w.endLife != nil {
		w.endLife()
	}
	w.cl.Close()
}

// Ping checks that a broker answers, within ctx, on the Writer's own
// client. Unlike the other methods it is safe to call concurrently with
// them (from a health check, say); it does not touch the transaction.
func (w *Writer) Ping(ctx context.Context) error {
	w.clMu.RLock()
	defer w.clMu.RUnlock()
	if err := w.cl.Ping(ctx); err != nil {
		return w.cfg.Cluster.connectError(err)
	}
	return nil
}

// bufferedBytes is the producer's byte cap: franz-go fails a record larger
// than it at once, so it holds two of the largest records.
func bufferedBytes(cfg Config) int {
	return max(minBufferedBytes, 2*cfg.MaxRecordBytes)
}

// recordUserBytes is the size franz-go counts against MaxBufferedBytes.
func recordUserBytes(r *transform.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// recordBatchOverhead is the size of a Kafka record batch header (with its
// length prefix in the produce request), as franz-go counts it against
// ProducerBatchMaxBytes.
const recordBatchOverhead = 4 + 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4

// recordBatchBytes is the size of a batch holding only r: franz-go fails a
// record with MESSAGE_TOO_LARGE, poisoning the transaction, exactly when
// this exceeds the batch limit.
func recordBatchBytes(r *transform.Record) int {
	n := recordBytes(len(r.Key), len(r.Value), len(r.Headers))
	for _, h := range r.Headers {
		n += varintLen(len(h.Key)) + len(h.Key) + varintLen(len(h.Value)) + len(h.Value)
	}
	return recordBatchOverhead + varintLen(n) + n
}

// kgoBatchBytes is recordBatchBytes of a record handed to franz-go.
func kgoBatchBytes(r *kgo.Record) int {
	n := recordBytes(len(r.Key), len(r.Value), len(r.Headers))
	for _, h := range r.Headers {
		n += varintLen(len(h.Key)) + len(h.Key) + varintLen(len(h.Value)) + len(h.Value)
	}
	return recordBatchOverhead + varintLen(n) + n
}

// recordBytes is the size of a record's fields before its headers'.
func recordBytes(key, value, headers int) int {
	return 1 + // attributes
		1 + // timestamp delta, 0 for a batch's first record
		1 + // offset delta, 0 likewise
		varintLen(key) + key +
		varintLen(value) + value +
		varintLen(headers)
}

// topicLimits holds the max.message.bytes of the event topics that take
// less than Config.MaxRecordBytes (max), read when the Writer first meets
// each topic, and the topics the broker denied. The creator goroutine sets
// the limits, produce promises and settleTopics the denials; franz-go's
// producer and Write read them. A denial lasts as long as the Writer: a
// grant made later is seen by the next run.
type topicLimits struct {
	mu     sync.Mutex
	max    int
	m      map[string]int
	denied map[string]error
}

// lookup returns the size of the largest batch topic takes and, if the
// broker denied topic, what Write answers for it.
func (l *topicLimits) lookup(topic string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err, ok := l.denied[topic]; ok {
		return 0, err
	}
	if n, ok := l.m[topic]; ok {
		return n, nil
	}
	return l.max, nil
}

// deny records that the broker denied topic with err.
func (l *topicLimits) deny(topic string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.denied == nil {
		l.denied = make(map[string]error)
	}
	if _, ok := l.denied[topic]; !ok {
		l.denied[topic] = denial(topic, err)
	}
}

// minTopicLimit is the smallest batch limit franz-go takes.
const minTopicLimit = 512

// get returns the size of the largest batch topic takes.
func (l *topicLimits) get(topic string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.m[topic]; ok {
		return n
	}
	return l.max
}

// set records topic's max.message.bytes, n, if it is below the Writer's
// own limit.
func (l *topicLimits) set(topic string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n >= l.max {
		delete(l.m, topic)
		return
	}
	if l.m == nil {
		l.m = make(map[string]int)
	}
	l.m[topic] = max(n, minTopicLimit)
}

func varintLen(n int) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], int64(n))
}
