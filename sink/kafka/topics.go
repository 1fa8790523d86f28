package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describeTopic asks a broker for the topic's metadata, bypassing the
// client's metadata cache (which can remember "unknown topic" for a few
// seconds after the topic was created). It returns kerr.UnknownTopicOrPartition
// for a missing topic.
func (w *Writer) describeTopic(ctx context.Context, topic string) (kmsg.MetadataResponseTopic, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = false
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, w.cl)
	if err != nil {
		return kmsg.MetadataResponseTopic{}, err
	}
	for _, t := range resp.Topics {
		if t.Topic != nil && *t.Topic == topic {
			return t, kerr.ErrorForCode(t.ErrorCode)
		}
	}
	return kmsg.MetadataResponseTopic{}, kerr.UnknownTopicOrPartition
}

// createTopic creates topic unless it exists. It reports whether it created
// it.
func (w *Writer) createTopic(ctx context.Context, topic string, partitions int32, configs map[string]*string) (bool, error) {
	_, err := w.describeTopic(ctx, topic)
	switch {
	case err == nil:
		return false, nil
	case !errors.Is(err, kerr.UnknownTopicOrPartition):
		return false, fmt.Errorf("describing topic %q: %w", topic, err)
	}
	_, err = w.adm.CreateTopic(ctx, partitions, w.cfg.ReplicationFactor, configs, topic)
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("creating topic %q: %w", topic, err)
	}
	if err := w.awaitTopic(ctx, topic); err != nil {
		return false, err
	}
	w.log.Info("created kafka topic", "topic", topic, "partitions", partitions,
		"replication_factor", w.cfg.ReplicationFactor)
	return true, nil
}

// awaitTopic waits until the broker's metadata shows a leader for every
// partition of a topic just created. CreateTopics returns once the
// controller has the topic; a broker that has not applied it yet answers a
// produce with UNKNOWN_TOPIC_OR_PARTITION, and franz-go fails the record
// after a few quick retries, which poisons the transaction. It takes a few
// milliseconds; ctx bounds it.
func (w *Writer) awaitTopic(ctx context.Context, topic string) error {
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		t, err := w.describeTopic(ctx, topic)
		if err == nil && len(t.Partitions) > 0 && allLed(t.Partitions) {
			// Let the producer learn of it now rather than at its next
			// periodic refresh.
			w.cl.ForceMetadataRefresh()
			return nil
		}
		if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) && !errors.Is(err, kerr.LeaderNotAvailable) {
			return fmt.Errorf("waiting for new topic %q: %w", topic, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for new topic %q to have leaders: %w", topic, ctx.Err())
		case <-time.After(wait):
		}
	}
}

func allLed(ps []kmsg.MetadataResponseTopicPartition) bool {
	for _, p := range ps {
		if p.ErrorCode != 0 || p.Leader < 0 {
			return false
		}
	}
	return true
}

// ensureTopic makes sure an event topic exists, creating it with the
// configured partitions on first use. Known topics cost nothing.
func (w *Writer) ensureTopic(ctx context.Context, topic string) error {
	if _, ok := w.topics[topic]; ok {
		return nil
	}
	if _, err := w.createTopic(ctx, topic, w.cfg.Partitions, nil); err != nil {
		return err
	}
	w.topics[topic] = struct{}{}
	return nil
}

// ensureCheckpointTopic creates the checkpoint topic compacted with one
// partition, or checks that an existing one is compacted: under a delete
// policy the checkpoint of an idle or stopped connector would expire.
func (w *Writer) ensureCheckpointTopic(ctx context.Context) error {
	topic := w.cfg.CheckpointTopic
	created, err := w.createTopic(ctx, topic, 1, map[string]*string{
		"cleanup.policy": kadm.StringPtr("compact"),
	})
	if err != nil {
		return err
	}
	if created {
		w.topics[topic] = struct{}{}
		return nil
	}
	rcs, err := w.adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return fmt.Errorf("describing configs of checkpoint topic %q: %w", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return fmt.Errorf("describing configs of checkpoint topic %q: %w", topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key != "cleanup.policy" {
			continue
		}
		if v := c.MaybeValue(); !strings.Contains(v, "compact") {
			return fmt.Errorf("checkpoint topic %q has cleanup.policy=%s: checkpoints would expire; set cleanup.policy=compact on the topic or choose another CheckpointTopic", topic, v)
		}
	}
	w.topics[topic] = struct{}{}
	return nil
}
