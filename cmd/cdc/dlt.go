package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/pipeline"
	"github.com/cdc-go/cdc/transform"
)

// Headers of replayed records, besides those the route sets.
const (
	headerOriginalPosition = "cdc.dlt.original.position" // the source position of the dead-lettered change
	headerReplayedFrom     = "cdc.dlt.replayed.from"     // "<dlt topic>/<partition>/<offset>"
)

const dltUsage = `usage: cdc dlt replay -c FILE

Re-runs the rows in the connector's dead-letter topics through the current
routes, in Kafka transactions, and remembers what it replayed (consumer
group "<name>-dlt-replay"), so that running it again replays only rows
dead-lettered since. See docs/routing.md.
`

// dltMain runs `cdc dlt SUBCOMMAND`; today only replay.
func dltMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "replay" {
		fmt.Fprint(stderr, dltUsage)
		if len(args) == 0 {
			return usageError{errors.New("dlt: no subcommand given")}
		}
		return usageError{fmt.Errorf("dlt: unknown subcommand %q", args[0])}
	}
	path, err := configFlag("dlt replay", args[1:], stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return dltReplay(ctx, path, stdout)
}

// dltReplay reads the connector's dead-letter topics ("<topic_prefix>.*.DLT",
// or kafka.dead_letter_topic when set) from where the last replay stopped,
// decodes each dead-lettered row back into a change, routes it through the
// current routes and writes the records, with the original position in
// cdc.dlt.original.position, in Kafka transactions under the transactional
// id "<kafka.transactional_id>-dlt-replay". The consumer group
// "<name>-dlt-replay" commits its offsets in the same transactions, so a
// row is replayed exactly once however often replay runs or crashes.
//
// Rows dead-lettered because a value could not be converted
// (cdc.dlt.kind "conversion") are not replayed: they hold the source's raw
// form of that value. Rows the routes still reject are listed on stdout and stay in the
// dead-letter topic, but the group moves past them: to try them again,
// reset the group's offsets. Records without a value (tombstones, oversize
// records) are skipped, except dead letters of a denied topic (kind
// "denied"), which are written as they are. It returns once no more rows
// arrive for a moment, with an error when some rows still fail.
func dltReplay(ctx context.Context, path string, stdout io.Writer) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	log := newLogger(cfg, os.Stderr).With("connector", cfg.Name, "command", "dlt replay")
	connector := "postgresql"
	if cfg.Source.Type == config.SourceMySQL {
		connector = "mysql"
	}
	router, _, err := newRouter(cfg, connector, log)
	if err != nil {
		return usageError{err}
	}

	pattern := "^" + regexp.QuoteMeta(cfg.Kafka.TopicPrefix) + `\..+\.DLT$`
	if cfg.Kafka.DeadLetterTopic != "" {
		pattern = "^" + regexp.QuoteMeta(cfg.Kafka.DeadLetterTopic) + "$"
	}
	group := cfg.Name + "-dlt-replay"
	var assigned atomic.Bool
	cluster := kafkaCluster(cfg)
	opts, err := cluster.Opts()
	if err != nil {
		return fmt.Errorf("creating kafka client: %w", err)
	}
	sess, err := kgo.NewGroupTransactSession(append(opts,
		kgo.ClientID(cfg.Kafka.ClientID+"-dlt-replay"),
		kgo.TransactionalID(cfg.Kafka.TransactionalID+"-dlt-replay"),
		kgo.TransactionTimeout(cfg.Kafka.TransactionTimeout.Std()),
		kgo.ConsumerGroup(group),
		kgo.ConsumeRegex(),
		kgo.ConsumeTopics(pattern),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.ProducerBatchMaxBytes(int32(cfg.Kafka.MaxRecordBytes)),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			// A first join can come before the regex matched any topic.
			if len(m) > 0 {
				assigned.Store(true)
			}
		}),
		kgo.MetadataMinAge(250*time.Millisecond),
	)...)
	if err != nil {
		return fmt.Errorf("creating kafka client: %w", err)
	}
	defer sess.Close()
	adm := kadm.NewClient(sess.Client())

	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	topics, err := adm.ListTopics(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("listing kafka topics on %s: %w", cluster, err)
	}
	re := regexp.MustCompile(pattern)
	var dlts []string
	for _, t := range topics.Names() {
		if re.MatchString(t) {
			dlts = append(dlts, t)
		}
	}
	if len(dlts) == 0 {
		fmt.Fprintf(stdout, "no dead-letter topics match %s: nothing to replay\n", pattern)
		return nil
	}
	slices.Sort(dlts)
	fmt.Fprintf(stdout, "replaying %s (consumer group %s)\n", strings.Join(dlts, ", "), group)

	pending, err := dltPending(ctx, adm, group, dlts)
	if err != nil {
		return err
	}
	r := &replayer{cfg: cfg, router: router, adm: adm, known: map[string]bool{}, out: stdout}
	start, empty, seen := time.Now(), 0, false
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fetches := sess.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) && !errors.Is(fe.Err, context.Canceled) {
				return fmt.Errorf("reading %s partition %d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		recs := fetches.Records()
		if len(recs) == 0 {
			// Done after two quiet polls with partitions assigned, and
			// once something was read if something was waiting.
			if assigned.Load() && (seen || !pending) {
				empty++
			}
			if empty >= 2 || time.Since(start) > 30*time.Second {
				break
			}
			continue
		}
		empty, seen = 0, true
		if err := r.batch(ctx, sess, recs); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "replayed %d dead-lettered rows as %d records; %d still fail; %d skipped (no value)\n",
		r.replayed, r.written, r.failed, r.skipped)
	if r.failed > 0 {
		return fmt.Errorf("%d dead-lettered rows still fail (listed above); they stay in the dead-letter topics, and consumer group %s has moved past them: fix the routes and reset its offsets to replay them", r.failed, group)
	}
	return nil
}

type replayer struct {
	cfg    *config.Config
	router *transform.Router
	adm    *kadm.Client
	known  map[string]bool // topics known to exist
	out    io.Writer

	replayed, written, failed, skipped int
}

// batch replays one poll's records in one Kafka transaction, committing the
// group's offsets with it. A transaction aborted by a rebalance is not an
// error: its records are polled again.
func (r *replayer) batch(ctx context.Context, sess *kgo.GroupTransactSession, recs []*kgo.Record) error {
	if err := sess.Begin(); err != nil {
		return fmt.Errorf("beginning kafka transaction: %w", err)
	}
	var out []*kgo.Record
	var failures []string
	replayed, skipped := 0, 0
	for _, rec := range recs {
		if rec.Value == nil && dltKind(rec) != pipeline.DeadLetterDenied { // a denied tombstone is replayed
			skipped++
			continue
		}
		routed, err := r.replay(rec)
		if err != nil {
			failures = append(failures, fmt.Sprintf("still failing: %s/%d/%d: %v", rec.Topic, rec.Partition, rec.Offset, err))
			continue
		}
		replayed++
		out = append(out, routed...)
	}
	for _, rec := range out {
		if err := r.ensureTopic(ctx, rec.Topic); err != nil {
			sess.End(ctx, kgo.TryAbort)
			return err
		}
	}
	if err := sess.ProduceSync(ctx, out...).FirstErr(); err != nil {
		sess.End(ctx, kgo.TryAbort)
		return fmt.Errorf("writing replayed records: %w", err)
	}
	committed, err := sess.End(ctx, kgo.TryCommit)
	if err != nil {
		return fmt.Errorf("committing replayed records: %w", err)
	}
	if !committed {
		return nil // a rebalance aborted it; the records come again
	}
	for _, f := range failures {
		fmt.Fprintln(r.out, f)
	}
	r.replayed += replayed
	r.written += len(out)
	r.failed += len(failures)
	r.skipped += skipped
	return nil
}

// replay routes one dead-lettered row.
func (r *replayer) replay(rec *kgo.Record) ([]*kgo.Record, error) {
	var pos, kind, reason string
	for _, h := range rec.Headers {
		switch h.Key {
		case "cdc.dlt.position":
			pos = string(h.Value)
		case "cdc.dlt.kind":
			kind = string(h.Value)
		case "cdc.dlt.reason":
			reason = string(h.Value)
		}
	}
	if kind == string(pipeline.DeadLetterConversion) {
		// The row holds the source's raw form of the value that did not
		// convert (or nothing): routing it would publish that as a value.
		return nil, fmt.Errorf("not replayable: a value could not be converted (%s); the row holds the raw source value, not a converted one: fix the value in the database (an UPDATE sends the row again)", reason)
	}
	from := rec.Topic + "/" + strconv.Itoa(int(rec.Partition)) + "/" + strconv.FormatInt(rec.Offset, 10)
	if kind == string(pipeline.DeadLetterDenied) {
		out := deniedRecord(rec, pos, from)
		if out.Topic == "" {
			return nil, errors.New("dead letter of a denied topic without its cdc.dlt.topic header")
		}
		return []*kgo.Record{out}, nil
	}
	ch, err := transform.DecodeEnvelope(rec.Key, rec.Value, pos)
	if err != nil {
		return nil, err
	}
	routed, err := r.router.Route(ch)
	if err != nil {
		return nil, err
	}
	out := make([]*kgo.Record, 0, len(routed))
	for _, tr := range routed {
		k := &kgo.Record{Topic: tr.Topic, Key: tr.Key, Value: tr.Value}
		for _, h := range tr.Headers {
			k.Headers = append(k.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		if pos != "" {
			k.Headers = append(k.Headers, kgo.RecordHeader{Key: headerOriginalPosition, Value: []byte(pos)})
		}
		k.Headers = append(k.Headers, kgo.RecordHeader{Key: headerReplayedFrom, Value: []byte(from)})
		if n := tr.Size(); n > r.cfg.Kafka.MaxRecordBytes {
			return nil, fmt.Errorf("record for topic %q is %d bytes, over kafka.max_record_bytes (%d)", tr.Topic, n, r.cfg.Kafka.MaxRecordBytes)
		}
		out = append(out, k)
	}
	return out, nil
}

// dltKind is the cdc.dlt.kind header of rec.
func dltKind(rec *kgo.Record) pipeline.DeadLetterKind {
	for _, h := range rec.Headers {
		if h.Key == "cdc.dlt.kind" {
			return pipeline.DeadLetterKind(h.Value)
		}
	}
	return ""
}

// deniedRecord is the record a dead letter of kind "denied" holds: the one
// the connector was to write to cdc.dlt.topic when the broker denied it,
// which the replay writes as it is (routing it again could not rebuild an
// outbox event), without the dead-letter headers.
func deniedRecord(rec *kgo.Record, pos, from string) *kgo.Record {
	out := &kgo.Record{Key: rec.Key, Value: rec.Value}
	for _, h := range rec.Headers {
		switch {
		case h.Key == "cdc.dlt.topic":
			out.Topic = string(h.Value)
		case strings.HasPrefix(h.Key, "cdc.dlt."):
		default:
			out.Headers = append(out.Headers, h)
		}
	}
	if pos != "" {
		out.Headers = append(out.Headers, kgo.RecordHeader{Key: headerOriginalPosition, Value: []byte(pos)})
	}
	out.Headers = append(out.Headers, kgo.RecordHeader{Key: headerReplayedFrom, Value: []byte(from)})
	return out
}

// ensureTopic creates a topic the replay writes to when it does not exist,
// as the connector does (kafka.partitions, kafka.replication_factor).
func (r *replayer) ensureTopic(ctx context.Context, topic string) error {
	if r.known[topic] {
		return nil
	}
	_, err := r.adm.CreateTopic(ctx, int32(r.cfg.Kafka.Partitions), int16(r.cfg.Kafka.ReplicationFactor), nil, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating topic %q: %w", topic, err)
	}
	r.known[topic] = true
	return nil
}

// dltPending tells whether the dead-letter topics hold committed records the
// group has not replayed yet. A partition's last stable offset lies one past
// its last record, or two past it when a transaction marker ends the log, so
// a gap of one is "nothing new".
func dltPending(ctx context.Context, adm *kadm.Client, group string, topics []string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return false, fmt.Errorf("listing offsets of the dead-letter topics: %w", err)
	}
	var done kadm.OffsetResponses
	for {
		// A new cluster creates its group coordinator on first use:
		// COORDINATOR_NOT_AVAILABLE (retriable) until then.
		done, err = adm.FetchOffsets(ctx, group)
		if err == nil || !kerr.IsRetriable(err) {
			break
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("reading offsets of consumer group %s: %w", group, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		return false, fmt.Errorf("reading offsets of consumer group %s: %w", group, err)
	}
	pending := false
	ends.Each(func(o kadm.ListedOffset) {
		c, ok := done.Lookup(o.Topic, o.Partition)
		switch {
		case !ok || c.At < 0:
			pending = pending || o.Offset > 0
		default:
			pending = pending || o.Offset-c.At > 1
		}
	})
	return pending, nil
}
