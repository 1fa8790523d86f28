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

// EnsureCompactedTopic creates topic with one partition and
// cleanup.policy=compact if it does not exist. The schema history uses it.
func (w *Writer) EnsureCompactedTopic(ctx context.Context, topic string) error {
	if _, ok := w.topics[topic]; ok {
		return nil
	}
	if _, err := w.createTopic(ctx, topic, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}); err != nil {
		return err
	}
	w.topics[topic] = struct{}{}
	return nil
}

// ReadCommitted calls fn for every committed record of topic, partition by
// partition in offset order, from the log start up to the last stable offset
// taken when it starts. A missing topic has no records. It blocks until done
// or ctx ends; an error from fn stops it and is returned.
func (w *Writer) ReadCommitted(ctx context.Context, topic string, fn func(key, value []byte) error) error {
	if err := w.usable(); err != nil {
		return err
	}
	meta, err := w.describeTopic(ctx, topic)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describing topic %q: %w", topic, err)
	}
	starts, err := w.adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("listing start offsets of %q: %w", topic, err)
	}
	ends, err := w.stableOffsets(ctx, topic)
	if err != nil {
		return err
	}
	for _, p := range meta.Partitions {
		start, ok1 := starts.Lookup(topic, p.Partition)
		end, ok2 := ends.Lookup(topic, p.Partition)
		if !ok1 || !ok2 {
			return fmt.Errorf("listing offsets of %q: partition %d missing from the answer", topic, p.Partition)
		}
		pr := partitionReader{w: w, topic: topic, id: meta.TopicID, partition: p.Partition, leader: p.Leader}
		err := pr.scan(ctx, start.Offset, end.Offset, func(r *kgo.Record) error { return fn(r.Key, r.Value) })
		if err != nil {
			return fmt.Errorf("reading %q partition %d: %w", topic, p.Partition, err)
		}
	}
	return nil
}

// ReadTopic is ReadCommitted with a client of its own and no producer: it
// fences nothing, so it can run beside a running connector (`cdc schemas`).
func ReadTopic(ctx context.Context, c Cluster, topic string, fn func(key, value []byte) error) error {
	cl, err := c.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	r := &Writer{cl: cl, adm: kadm.NewClient(cl), topics: map[string]struct{}{}, fetchBytes: fetchMaxBytes,
		log: slog.New(slog.DiscardHandler)}
	return r.ReadCommitted(ctx, topic, fn)
}

// PeekCheckpoint is LoadCheckpoint with a client of its own and no
// producer, for `cdc check`: it fences nothing, so a running instance goes
// on undisturbed, and it reads read_committed, so it sees what a restart
// would see except a transaction that instance has open. A missing topic
// holds no checkpoint: (nil, nil).
func PeekCheckpoint(ctx context.Context, c Cluster, topic, connector string) (*Checkpoint, error) {
	cl, err := c.NewClient()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	r := &Writer{cfg: Config{Cluster: c, CheckpointTopic: topic}, cl: cl, adm: kadm.NewClient(cl),
		topics: map[string]struct{}{}, fetchBytes: fetchMaxBytes, log: slog.New(slog.DiscardHandler)}
	if _, err := r.describeTopic(ctx, topic); errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil, nil
	}
	return r.LoadCheckpoint(ctx, connector)
}
