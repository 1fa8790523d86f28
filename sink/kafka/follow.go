package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// followWaitMillis is how long a follow fetch waits for new records.
const followWaitMillis = 1000

// Follow calls fn for every committed record of topic, a topic of one
// partition, from offset from on (from the log start when from is before
// it), in offset order, with the offset after the record. Once it has
// passed every record committed when it started it calls caughtUp once
// (nil: not called); then it waits for records committed later, until ctx
// ends (it returns ctx's error) or fn or caughtUp fails. It reads with
// read_committed isolation, with a client of its own: it fences nothing.
// A missing topic, or one with several partitions, is an error.
func Follow(ctx context.Context, c Cluster, topic string, from int64, fn func(next int64, key, value []byte) error, caughtUp func() error) error {
	cl, err := c.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	w := &Writer{cl: cl, adm: kadm.NewClient(cl), topics: map[string]struct{}{}, fetchBytes: fetchMaxBytes,
		log: slog.New(slog.DiscardHandler)}
	meta, err := w.describeTopic(ctx, topic)
	if err != nil {
		return fmt.Errorf("describing topic %q: %w", topic, err)
	}
	if len(meta.Partitions) != 1 {
		return fmt.Errorf("topic %q has %d partitions; it must have one (delete it and let cdc create it)", topic, len(meta.Partitions))
	}
	pr := partitionReader{w: w, topic: topic, id: meta.TopicID, partition: meta.Partitions[0].Partition, leader: meta.Partitions[0].Leader}
	start, err := pr.startOffset(ctx)
	if err != nil {
		return fmt.Errorf("reading %q: %w", topic, err)
	}
	off := max(from, start)
	for {
		fp, next, err := pr.fetch(ctx, off)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, kerr.OffsetOutOfRange):
			start, lerr := pr.startOffset(ctx)
			if lerr != nil {
				return fmt.Errorf("reading %q: %w", topic, lerr)
			}
			if start <= off {
				// Past the end (the topic was recreated?): start over
				// from its start would repeat; wait at the end.
				return fmt.Errorf("reading %q at offset %d: %w (was the topic deleted and created again?)", topic, off, err)
			}
			off = start
			continue
		case kerr.IsRetriable(err) || errors.Is(err, errNoLeader):
			if err := pr.refresh(ctx); err != nil {
				return fmt.Errorf("reading %q: %w", topic, err)
			}
			continue
		case err != nil:
			return fmt.Errorf("reading %q at offset %d: %w", topic, off, err)
		}
		for _, r := range fp.Records {
			if r.Offset < off {
				continue
			}
			if err := fn(r.Offset+1, r.Key, r.Value); err != nil {
				return err
			}
		}
		if next > off {
			off = next
			continue
		}
		// Nothing committed at or after off now.
		if caughtUp != nil {
			if err := caughtUp(); err != nil {
				return err
			}
			caughtUp = nil
		}
		pr.waitMillis = followWaitMillis
	}
}

// Publish writes one record to topic, a compacted topic of one partition
// that it creates when missing (replication factor rf; -1 the broker's
// default), without a transaction: it fences nothing, so it can run beside
// a running connector (`cdc snapshot`). It returns the record's offset
// once the broker acknowledged it.
func Publish(ctx context.Context, c Cluster, topic string, rf int16, key, value []byte) (int64, error) {
	cl, err := c.NewClient(kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	w := &Writer{cfg: Config{Cluster: c, ReplicationFactor: rf}, cl: cl, adm: kadm.NewClient(cl), topics: map[string]struct{}{},
		fetchBytes: fetchMaxBytes, log: slog.New(slog.DiscardHandler)}
	if w.cfg.ReplicationFactor == 0 {
		w.cfg.ReplicationFactor = -1
	}
	if err := w.EnsureCompactedTopic(ctx, topic); err != nil {
		return 0, err
	}
	r, err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: key, Value: value}).First()
	if err != nil {
		return 0, fmt.Errorf("writing to topic %q: %w", topic, err)
	}
	return r.Offset, nil
}
