package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
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
		if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) && !errors.Is(err, kerr.LeaderNotAvailable) && !transient(err) {
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

// Creating event topics. CreateTopics costs the broker a metadata commit
// (tens to hundreds of milliseconds); a source transaction over many new
// tables would pay it once per table, one after another. So Write does not
// wait: it starts the creation in the background and holds the topic's
// records until the topic exists, then produces them in Write order. Commit
// waits for every creation of the transaction first.
// newTopic is an event topic being created, with the records written to it
// meanwhile. done is closed when err is set; only the Writer's goroutine
// touches records.
type newTopic struct {
	topic   string
	done    chan struct{}
	err     error
	records []*kgo.Record
}

// produceTo produces rec, or holds it while its topic is being created
// (asking the creator for it on first use). Known topics cost nothing.
func (w *Writer) produceTo(rec *kgo.Record) {
	if _, ok := w.topics[rec.Topic]; ok {
		w.produce(rec)
		return
	}
	nt := w.creating[rec.Topic]
	if nt == nil {
		nt = &newTopic{topic: rec.Topic, done: make(chan struct{})}
		w.creating[rec.Topic] = nt
		w.createMu.Lock()
		w.createWant = append(w.createWant, nt)
		w.createMu.Unlock()
		select {
		case w.createKick <- struct{}{}:
		default:
		}
	}
	nt.records = append(nt.records, rec)
}

// creator creates the topics produceTo asks for until the Writer closes,
// all those asked for meanwhile in one CreateTopics request: the broker
// commits them together, so twenty new topics cost about what one does.
// While the broker is unreachable it keeps trying, up to the transaction
// timeout, as the transaction's other requests do (see Open).
func (w *Writer) creator() {
	for {
		select {
		case <-w.life.Done():
			w.createMu.Lock()
			want := w.createWant
			w.createWant = nil
			w.createMu.Unlock()
			for _, nt := range want {
				nt.err = fmt.Errorf("creating topic %q: %w", nt.topic, errors.New("kafka writer closed"))
				close(nt.done)
			}
			return
		case <-w.createKick:
		}
		w.createMu.Lock()
		want := w.createWant
		w.createWant = nil
		w.createMu.Unlock()
		if len(want) > 0 {
			ctx, cancel := context.WithTimeout(w.life, w.cfg.TransactionTimeout)
			w.createTopics(ctx, want)
			cancel()
		}
	}
}

// createTopics creates those of want that do not exist, sets each one's
// err, and closes each one's done.
func (w *Writer) createTopics(ctx context.Context, want []*newTopic) {
	defer func() {
		for _, nt := range want {
			close(nt.done)
		}
	}()
	names := make([]string, len(want))
	for i, nt := range want {
		names[i] = nt.topic
	}
	// Ask first: creating a topic that exists may be refused (no CREATE
	// permission) rather than answered with TOPIC_ALREADY_EXISTS.
	details, err := w.listTopics(ctx, names)
	if err != nil {
		for _, nt := range want {
			nt.err = fmt.Errorf("describing topic %q: %w", nt.topic, err)
		}
		return
	}
	var missing []string
	for _, name := range names {
		d, ok := details[name]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			missing = append(missing, name)
		case d.Err != nil:
			for _, nt := range want {
				if nt.topic == name {
					nt.err = fmt.Errorf("describing topic %q: %w", name, d.Err)
				}
			}
		}
	}
	defer w.readLimits(ctx, want)
	if len(missing) == 0 {
		return
	}
	var resps kadm.CreateTopicResponses
	err = retryTransient(ctx, func() (err error) {
		resps, err = w.adm.CreateTopics(ctx, w.cfg.Partitions, w.cfg.ReplicationFactor, nil, missing...)
		return err
	})
	for _, nt := range want {
		if !slices.Contains(missing, nt.topic) {
			continue
		}
		if err != nil {
			nt.err = fmt.Errorf("creating topic %q: %w", nt.topic, err)
			continue
		}
		r, ok := resps[nt.topic]
		switch {
		case !ok:
			nt.err = fmt.Errorf("creating topic %q: no answer for it", nt.topic)
		case errors.Is(r.Err, kerr.TopicAlreadyExists): // created by an earlier try, or by someone else
			nt.err = w.awaitTopic(ctx, nt.topic)
		case r.Err != nil:
			nt.err = fmt.Errorf("creating topic %q: %w: %w", nt.topic, errCreateRefused, r.Err)
		default:
			if nt.err = w.awaitTopic(ctx, nt.topic); nt.err == nil {
				w.log.Info("created kafka topic", "topic", nt.topic, "partitions", w.cfg.Partitions,
					"replication_factor", w.cfg.ReplicationFactor)
			}
		}
	}
}

// listTopics lists names. kadm fails the whole answer when the broker
// denies one topic of it; then each topic is asked on its own, so that only
// the denied ones fail (with an answer whose Err is the denial).
func (w *Writer) listTopics(ctx context.Context, names []string) (kadm.TopicDetails, error) {
	list := func(names ...string) (details kadm.TopicDetails, err error) {
		err = retryTransient(ctx, func() (err error) {
			details, err = w.adm.ListTopics(ctx, names...)
			return err
		})
		return details, err
	}
	details, err := list(names...)
	if !errors.Is(err, kerr.TopicAuthorizationFailed) || len(names) == 1 {
		return details, err
	}
	details = make(kadm.TopicDetails, len(names))
	for _, name := range names {
		d, err := list(name)
		switch {
		case errors.Is(err, kerr.TopicAuthorizationFailed):
			details[name] = kadm.TopicDetail{Topic: name, Err: err}
		case err != nil:
			return nil, err
		default:
			maps.Copy(details, d)
		}
	}
	return details, nil
}

// readLimits reads the max.message.bytes of those of want that exist now
// (their err is nil) into w.limits. A broker that refuses (no
// DESCRIBE_CONFIGS permission) leaves them at Config.MaxRecordBytes, with a
// warning: a record larger than such a topic takes then fails its
// transaction, and the connector, with the broker's MESSAGE_TOO_LARGE.
func (w *Writer) readLimits(ctx context.Context, want []*newTopic) {
	var names []string
	for _, nt := range want {
		if nt.err == nil {
			names = append(names, nt.topic)
		}
	}
	if len(names) == 0 {
		return
	}
	var rcs kadm.ResourceConfigs
	err := retryTransient(ctx, func() (err error) {
		rcs, err = w.adm.DescribeTopicConfigs(ctx, names...)
		return err
	})
	if err != nil {
		w.log.Warn("cannot read the max.message.bytes of new topics; a record larger than a topic takes will stop the connector",
			"topics", names, "error", err)
		return
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			w.log.Warn("cannot read the max.message.bytes of a topic; a record larger than it takes will stop the connector",
				"topic", rc.Name, "error", rc.Err)
			continue
		}
		for _, c := range rc.Configs {
			if c.Key != "max.message.bytes" {
				continue
			}
			if n, err := strconv.Atoi(c.MaybeValue()); err == nil {
				w.limits.set(rc.Name, n)
				if n < w.cfg.MaxRecordBytes {
					w.log.Info("topic takes smaller records than kafka.max_record_bytes; larger ones go to the dead-letter topic",
						"topic", rc.Name, "max_message_bytes", n, "max_record_bytes", w.cfg.MaxRecordBytes)
				}
			}
		}
	}
}

// settleTopics produces the held records of topics whose creation ended,
// in order, and returns the first creation error. With wait it waits for
// every creation, or for ctx. A creation error fails the transaction: its
// held records were never sent.
func (w *Writer) settleTopics(ctx context.Context, wait bool) error {
	for topic, nt := range w.creating {
		if wait {
			select {
			case <-nt.done:
			case <-ctx.Done():
				return w.fail(fmt.Errorf("waiting for new topic %q: %w", topic, ctx.Err()))
			}
		} else {
			select {
			case <-nt.done:
			default:
				continue
			}
		}
		delete(w.creating, topic)
		if errors.Is(nt.err, kerr.TopicAuthorizationFailed) {
			w.limits.deny(topic, nt.err)
			return w.fail(deniedInTransaction("writing to a new topic", nt.err))
		}
		if nt.err != nil {
			return w.fail(nt.err)
		}
		w.topics[topic] = struct{}{}
		if limit := w.limits.get(topic); limit < w.cfg.MaxRecordBytes {
			for _, rec := range nt.records {
				if n := kgoBatchBytes(rec); n > limit {
					return w.fail(fmt.Errorf("writing record to topic %q: %w: %d bytes with framing, the topic takes at most %d",
						topic, ErrTopicLimit, n, limit))
				}
			}
		}
		for _, rec := range nt.records {
			w.produce(rec)
		}
	}
	return nil
}

// dropHeldRecords forgets the records held for topics being created (at
// Abort); the creations go on.
func (w *Writer) dropHeldRecords() {
	for _, nt := range w.creating {
		nt.records = nil
	}
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

// transient reports whether err may pass by itself: a retriable Kafka error
// or a failure to reach the broker (franz-go gives up on a dial to the only
// broker at once), not the end of ctx.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Retriable
	}
	return true
}

// retryTransient runs fn until it succeeds, fails for good, or ctx ends,
// backing off between tries: topics are created while Kafka may be briefly
// unreachable, and the transaction should wait for it as its other requests
// do rather than fail.
func retryTransient(ctx context.Context, fn func() error) error {
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
		err := fn()
		if err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
	}
}
