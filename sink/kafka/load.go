package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	fetchMaxBytes = 16 << 20
	// checkpointFetchBytes caps a partition's share of one fetch of
	// LoadCheckpoint. The records of a 16 MiB fetch of small checkpoints
	// took 30-50 MB of heap for a moment at every start (a shared
	// checkpoint topic holds every connector's commits until compaction),
	// twice the heap of a running connector; at 1 MiB a start reads in
	// more round trips of about a millisecond each.
	checkpointFetchBytes = 1 << 20
	fetchRetryBackoff    = 100 * time.Millisecond
	stableRetryBackoff   = 25 * time.Millisecond
)

// LoadCheckpoint returns the newest committed checkpoint of connector, or
// (nil, nil) if there is none (or its newest record is a tombstone, which is
// how an operator resets a connector).
//
// It reads the checkpoint topic with read_committed isolation from the log
// start up to the last stable offset taken when it starts, so it ends on an
// empty topic and on a log whose tail is transaction markers or compacted
// away. It blocks until then, or until ctx ends. Call it after Open, which
// has already fenced and aborted any older instance's transaction; a
// checkpoint in the Writer's own open transaction is not visible.
//
// A checkpoint topic with several partitions is read whole; the checkpoint
// with the highest Seq wins. A newest record that does not decode is an
// error, never skipped: resuming from an older one would repeat or lose
// events silently.
func (w *Writer) LoadCheckpoint(ctx context.Context, connector string) (*Checkpoint, error) {
	cp, err := w.loadCheckpoint(ctx, connector)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint of connector %q from topic %q: %w", connector, w.cfg.CheckpointTopic, err)
	}
	return cp, nil
}

func (w *Writer) loadCheckpoint(ctx context.Context, connector string) (*Checkpoint, error) {
	switch {
	case w.closed:
		return nil, errors.New("kafka writer closed")
	case w.fenced != nil:
		return nil, w.fenced
	}
	if connector == "" {
		return nil, errors.New("empty connector name")
	}
	topic := w.cfg.CheckpointTopic
	meta, err := w.describeTopic(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("describing topic: %w", err)
	}
	starts, err := w.adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing start offsets: %w", err)
	}
	ends, err := w.stableOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}

	key := []byte(connector)
	var newest *Checkpoint
	for _, p := range meta.Partitions {
		start, ok1 := starts.Lookup(topic, p.Partition)
		end, ok2 := ends.Lookup(topic, p.Partition)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("listing offsets: partition %d missing from the answer", p.Partition)
		}
		pr := partitionReader{w: w, topic: topic, id: meta.TopicID, partition: p.Partition, leader: p.Leader}
		value, found, err := pr.latest(ctx, key, start.Offset, end.Offset)
		if err != nil {
			return nil, fmt.Errorf("reading partition %d: %w", p.Partition, err)
		}
		if !found || value == nil {
			continue
		}
		cp, err := DecodeCheckpoint(value)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Partition, err)
		}
		if cp.Connector != connector {
			return nil, fmt.Errorf("partition %d: checkpoint under key %q names connector %q", p.Partition, connector, cp.Connector)
		}
		if newest == nil || cp.Seq > newest.Seq {
			newest = &cp
		}
	}
	return newest, nil
}

// partitionReader reads one partition with plain read_committed Fetch
// requests. A kgo consumer would hide its fetch position, and the position is
// what tells us we are done: the offsets below the last stable offset may end
// in transaction markers, aborted batches or compacted gaps, none of which a
// consumer returns as records.
type partitionReader struct {
	w         *Writer
	topic     string
	id        [16]byte
	partition int32
	leader    int32
	// waitMillis is how long a fetch waits for new records (0: answer at
	// once).
	waitMillis int32
}

// latest returns the value of the last committed record with key in
// [start, end) (possibly a later one, if more commits land meanwhile);
// found is false if there is none. A nil value with found true is a
// tombstone.
func (pr *partitionReader) latest(ctx context.Context, key []byte, start, end int64) (value []byte, found bool, err error) {
	err = pr.scan(ctx, start, end, func(r *kgo.Record) error {
		if bytes.Equal(r.Key, key) {
			value, found = r.Value, true
		}
		return nil
	})
	return value, found, err
}

// scan calls fn for each committed record in [start, end) (possibly more,
// if more commits land meanwhile), in offset order.
func (pr *partitionReader) scan(ctx context.Context, start, end int64, fn func(*kgo.Record) error) error {
	for off := start; off < end; {
		fp, next, err := pr.fetch(ctx, off)
		switch {
		case errors.Is(err, kerr.OffsetOutOfRange):
			// Records deleted meanwhile (retention, DeleteRecords)?
			start, lerr := pr.startOffset(ctx)
			if lerr != nil {
				return lerr
			}
			if start <= off {
				return err
			}
			off = start
			continue
		case kerr.IsRetriable(err) || errors.Is(err, errNoLeader):
			if err := pr.refresh(ctx); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		for _, r := range fp.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		if next <= off {
			// Nothing committed at or after off: the rest of
			// [off, end) is gone (compacted) or was never readable.
			break
		}
		off = next
	}
	return nil
}

var errNoLeader = errors.New("partition has no leader")

// stableOffsets waits until the last stable offset of every partition of
// topic has reached the high watermark seen on entry, and returns the last
// stable offsets. A read_committed reader sees nothing beyond the first open
// transaction of a partition, so without the wait a record committed after
// another producer's still-open transaction (another connector sharing the
// checkpoint topic) would be missed, and an older checkpoint taken for the
// newest. Transactions open on entry end within their producers' linger, or
// at worst their transaction timeout; ctx bounds the wait.
func (w *Writer) stableOffsets(ctx context.Context, topic string) (kadm.ListedOffsets, error) {
	hw, err := w.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = hw.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %q: %w", topic, err)
	}
	since, logged := time.Now(), false
	for {
		lso, err := w.adm.ListCommittedOffsets(ctx, topic)
		if err == nil {
			err = lso.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("listing last stable offsets of %q: %w", topic, err)
		}
		behind := false
		hw.Each(func(o kadm.ListedOffset) {
			if l, ok := lso.Lookup(topic, o.Partition); !ok || l.Offset < o.Offset {
				behind = true
			}
		})
		if !behind {
			return lso, nil
		}
		if !logged && time.Since(since) > 2*time.Second {
			logged = true
			w.log.Info("waiting for other producers' open transactions on the topic to end", "topic", topic)
		}
		t := time.NewTimer(stableRetryBackoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for open transactions of other producers on %q to end (another connector sharing the topic, or one that crashed and has not been fenced; its transaction times out after its transaction_timeout): %w", topic, ctx.Err())
		case <-t.C:
		}
	}
}

// fetch reads committed records from off on. next is the offset after the
// last batch the answer covered, control and aborted batches included.
func (pr *partitionReader) fetch(ctx context.Context, off int64) (fp kgo.FetchPartition, next int64, err error) {
	if pr.leader < 0 {
		return fp, off, errNoLeader
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = pr.waitMillis // 0: answer at once with what is there
	req.MinBytes = 1
	// Only the partition limit is lowered in tests: kfake omits the
	// aborted-transaction list of a partition cut short by the request
	// limit, which would show aborted records as committed.
	req.MaxBytes = fetchMaxBytes
	req.IsolationLevel = 1 // read_committed
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = pr.topic
	rt.TopicID = pr.id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = pr.partition
	rp.FetchOffset = off
	rp.PartitionMaxBytes = pr.w.fetchBytes // the broker still answers at least one batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)

	kresp, err := pr.w.cl.Broker(int(pr.leader)).RetriableRequest(ctx, req)
	if err != nil {
		return fp, off, err
	}
	resp := kresp.(*kmsg.FetchResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return fp, off, err
	}
	for _, t := range resp.Topics {
		if t.Topic != pr.topic && t.TopicID != pr.id {
			continue
		}
		for i := range t.Partitions {
			if t.Partitions[i].Partition != pr.partition {
				continue
			}
			fp, next = kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
				Offset:         off,
				IsolationLevel: kgo.ReadCommitted(),
				Topic:          pr.topic,
				Partition:      pr.partition,
			}, &t.Partitions[i], kgo.DefaultDecompressor(), nil)
			return fp, next, fp.Err
		}
	}
	return fp, off, fmt.Errorf("fetch answer without partition %d", pr.partition)
}

// startOffset returns the partition's log start offset.
func (pr *partitionReader) startOffset(ctx context.Context) (int64, error) {
	starts, err := pr.w.adm.ListStartOffsets(ctx, pr.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("listing start offsets: %w", err)
	}
	o, ok := starts.Lookup(pr.topic, pr.partition)
	if !ok {
		return 0, fmt.Errorf("listing start offsets: partition %d missing from the answer", pr.partition)
	}
	return o.Offset, nil
}

// refresh waits a little and reloads the partition's leader and topic id
// after a retriable error, such as a leader change.
func (pr *partitionReader) refresh(ctx context.Context) error {
	t := time.NewTimer(fetchRetryBackoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	meta, err := pr.w.describeTopic(ctx, pr.topic)
	if err != nil {
		return fmt.Errorf("describing topic: %w", err)
	}
	pr.id = meta.TopicID
	pr.leader = -1
	for _, p := range meta.Partitions {
		if p.Partition == pr.partition {
			pr.leader = p.Leader
		}
	}
	return nil
}
