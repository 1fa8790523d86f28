package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/verify"
)

// verifyCommand is `cdc verify`: it rebuilds the connector's tables from
// their topics, asks the running connector for an on-demand snapshot of
// them, and compares each snapshot row with the row the events hold
// (package verify). It prints a report per run; with -every it runs again
// and again, serving the last run's counts as metrics on -listen. Exit 1
// when a run found a mismatch (once), 0 when none.
func verifyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "connector configuration `file` (YAML)")
	every := fs.Duration("every", 0, "run again `duration` after each run ends, until stopped (0: once)")
	timeout := fs.Duration("timeout", time.Hour, "longest a run may take (its snapshot included)")
	listen := fs.String("listen", "", "serve the last run's counts on http://`addr`/metrics (with -every)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *path == "" {
		return usageError{errors.New("verify: -c FILE is required")}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr).With("connector", cfg.Name, "command", "verify")
	tables := fs.Args()
	if len(tables) == 0 {
		tables = cfg.SnapshotTables()
	}
	v, err := newVerifier(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer v.cl.Close()
	var m *verifyMetrics
	if *listen != "" {
		if m, err = serveVerifyMetrics(*listen, log); err != nil {
			return err
		}
	}
	if err := v.catchUp(ctx, v.topics()); err != nil {
		if ctx.Err() != nil && *every > 0 { // the daemon stopped
			return nil
		}
		return err
	}
	log.Info("rebuilt the rows from the events", "rows", v.state.Rows(), "events", v.events)
	for {
		rctx, cancel := context.WithTimeout(ctx, *timeout)
		rep, err := v.run(rctx, tables)
		cancel()
		var cont verify.Continuity
		if err == nil {
			printReport(stdout, rep)
			cont, err = checkContinuity(ctx, cfg)
		}
		switch {
		case err != nil && ctx.Err() != nil && *every > 0: // the daemon stopped during a run
			return nil
		case err != nil && *every <= 0:
			return err
		case err != nil:
			// The connector restarting, say: the next run may do.
			log.Warn("verify run failed; trying again", "error", err, "retry_in", *every)
			m.failed()
		default:
			printContinuity(stdout, cfg, cont)
			m.update(rep, cont)
		}
		if *every <= 0 {
			n := rep.Mismatches()
			if n > 0 {
				return fmt.Errorf("%d rows of the tables do not match the events (listed above)", n)
			}
			if n := cont.Gaps + cont.Regressions; n > 0 {
				return fmt.Errorf("%d discontinuities in the checkpoint history (listed above)", n)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

// verifier consumes the connector's table topics and its snapshot progress
// topic into a verify.State.
type verifier struct {
	cfg   *config.Config
	log   *slog.Logger
	cl    *kgo.Client
	adm   *kadm.Client
	state *verify.State
	// next is the offset after the last record consumed, by topic and
	// partition (control records count: the consumer keeps them).
	next   map[string]map[int32]int64
	starts map[string]bool // topic -> nothing deleted from its start
	done   map[string]string
	events int
}

func newVerifier(ctx context.Context, cfg *config.Config, log *slog.Logger) (*verifier, error) {
	prefix := regexp.QuoteMeta(cfg.Kafka.TopicPrefix)
	cl, err := kafkaCluster(cfg).NewClient(
		kgo.ConsumeRegex(), kgo.ConsumeTopics("^"+prefix+`\.`),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers are kept so that the offset consumed reaches
		// a partition's last stable offset (see catchUp).
		kgo.KeepControlRecords(),
		kgo.MetadataMinAge(250*time.Millisecond), kgo.MetadataMaxAge(5*time.Second),
	)
	if err != nil {
		return nil, err
	}
	v := &verifier{cfg: cfg, log: log, cl: cl, adm: kadm.NewClient(cl), state: verify.NewState(),
		next: map[string]map[int32]int64{}, starts: map[string]bool{}}
	v.state.Complete = func(topic string) bool { return v.starts[topic] }
	return v, nil
}

// internal reports whether topic is one cdc writes besides the tables'.
func (v *verifier) internal(topic string) bool {
	c := v.cfg
	p := c.Kafka.TopicPrefix + "."
	return strings.HasPrefix(topic, p+"_") || strings.HasSuffix(topic, ".DLT") ||
		topic == c.Schema.Topic || topic == c.Schema.ChangesTopic || topic == c.Kafka.TransactionTopic ||
		topic == c.Kafka.CheckpointTopic || topic == c.Kafka.HistoryTopic
}

// topics are the topics the consumer has met so far.
func (v *verifier) topics() []string {
	ts := v.cl.GetConsumeTopics()
	sort.Strings(ts)
	return ts
}

// poll applies one poll's records.
func (v *verifier) poll(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	fs := v.cl.PollFetches(pctx)
	cancel()
	if err := ctx.Err(); err != nil {
		return err
	}
	var ferr error
	fs.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			ferr = fmt.Errorf("reading %s/%d: %w", t, p, err)
		}
	})
	if ferr != nil {
		return ferr
	}
	progress := snapshotTopic(v.cfg)
	fs.EachRecord(func(r *kgo.Record) {
		if v.next[r.Topic] == nil {
			v.next[r.Topic] = map[int32]int64{}
		}
		v.next[r.Topic][r.Partition] = r.Offset + 1
		switch {
		case r.Attrs.IsControl():
		case r.Topic == progress:
			v.progress(r.Value)
		case v.internal(r.Topic):
		default:
			if v.state.Apply(r.Topic, r.Key, r.Value) {
				v.events++
			}
		}
	})
	return nil
}

// progress notes a snapshot progress record of the running request.
func (v *verifier) progress(value []byte) {
	if v.done == nil || value == nil {
		return
	}
	p, err := snapshot.ParseProgress(value)
	if err != nil {
		return
	}
	if _, ok := v.done[p.Table]; ok {
		v.done[p.Table] = p.Snapshot + " " + string(p.State)
	}
}

// catchUp applies every record of topics committed when it is called.
func (v *verifier) catchUp(ctx context.Context, topics []string) error {
	if len(topics) == 0 {
		// A new consumer learns its topics from its first metadata load.
		for deadline := time.Now().Add(10 * time.Second); len(v.topics()) == 0 && time.Now().Before(deadline); {
			if err := v.poll(ctx); err != nil {
				return err
			}
		}
		if topics = v.topics(); len(topics) == 0 {
			return fmt.Errorf("no topic of connector %q (kafka.topic_prefix %q) in Kafka", v.cfg.Name, v.cfg.Kafka.TopicPrefix)
		}
	}
	lctx, cancel := context.WithTimeout(ctx, connectTimeout)
	ends, err := v.adm.ListCommittedOffsets(lctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	var starts kadm.ListedOffsets
	if err == nil {
		starts, err = v.adm.ListStartOffsets(lctx, topics...)
		if err == nil {
			err = starts.Error()
		}
	}
	cancel()
	if err != nil {
		return fmt.Errorf("listing offsets of the connector's topics: %w", err)
	}
	for _, t := range topics {
		if _, ok := v.starts[t]; ok {
			continue
		}
		complete := true
		starts.Each(func(o kadm.ListedOffset) {
			if o.Topic == t && o.Offset > 0 {
				complete = false
			}
		})
		v.starts[t] = complete
	}
	// Nothing below a partition's start can be fetched: a partition that
	// retention emptied (start = end) has nothing to wait for.
	from := func(o kadm.ListedOffset) int64 {
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok {
			return max(v.next[o.Topic][o.Partition], s.Offset)
		}
		return v.next[o.Topic][o.Partition]
	}
	for {
		behind := false
		ends.Each(func(o kadm.ListedOffset) {
			if from(o) < o.Offset {
				behind = true
			}
		})
		if !behind {
			return nil
		}
		if err := v.poll(ctx); err != nil {
			return err
		}
	}
}

// run requests a snapshot of tables and compares its rows.
func (v *verifier) run(ctx context.Context, tables []string) (verify.Report, error) {
	var b [3]byte
	rand.Read(b[:])
	id := "verify-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
	sig := snapshot.Signal{Type: snapshot.SignalSnapshot, ID: id, Connector: v.cfg.Name, Tables: tables}
	value, err := sig.MarshalText()
	if err != nil {
		return verify.Report{}, usageError{fmt.Errorf("verify: %w", err)}
	}
	// Compare from before the request: no row of it can come earlier.
	v.state.Begin()
	off, err := publishSignal(ctx, v.cfg, id, value)
	if err != nil {
		return verify.Report{}, err
	}
	ans, err := answerTo(ctx, v.cfg, id, off, connectTimeout)
	if err != nil {
		return verify.Report{}, err
	}
	if ans.Type != snapshot.SignalAccepted {
		return verify.Report{}, fmt.Errorf("connector %q answered snapshot request %s with %s: %s", v.cfg.Name, id, ans.Type, ans.Reason)
	}
	v.log.Info("snapshot accepted; comparing its rows with the events", "snapshot", id, "tables", ans.Tables)
	v.done = map[string]string{}
	for _, t := range ans.Tables {
		v.done[t] = ""
	}
	defer func() { v.done = nil }()
	for !v.snapshotDone(id) {
		for t, st := range v.done {
			if st != "" && !strings.HasPrefix(st, id+" ") {
				return verify.Report{}, fmt.Errorf("another snapshot of %s started (%s) before snapshot %s ended: run verify again once it is done", t, st, id)
			}
			if st == id+" "+string(snapshot.StateCancelled) {
				return verify.Report{}, fmt.Errorf("snapshot %s of %s was cancelled", id, t)
			}
		}
		if err := v.poll(ctx); err != nil {
			return verify.Report{}, fmt.Errorf("waiting for snapshot %s: %w", id, err)
		}
	}
	// Its last chunk is committed: apply everything up to it.
	var topics []string
	for _, t := range v.topics() {
		if !v.internal(t) {
			topics = append(topics, t)
		}
	}
	if err := v.catchUp(ctx, topics); err != nil {
		return verify.Report{}, err
	}
	return v.state.End(ans.Tables), nil
}

func (v *verifier) snapshotDone(id string) bool {
	for _, st := range v.done {
		if st != id+" "+string(snapshot.StateDone) {
			return false
		}
	}
	return true
}

// checkContinuity checks the connector's checkpoint history.
func checkContinuity(ctx context.Context, cfg *config.Config) (verify.Continuity, error) {
	hist, err := kafka.ReadHistory(ctx, kafkaCluster(cfg), cfg.Kafka.HistoryTopic, cfg.Name)
	if err != nil {
		return verify.Continuity{}, fmt.Errorf("reading the checkpoint history: %w", err)
	}
	cps := make([]verify.Checkpoint, len(hist))
	for i, e := range hist {
		moved := e.Replay != nil && (i == 0 || hist[i-1].Replay == nil || !bytes.Equal(hist[i-1].Replay.Until, e.Replay.Until))
		cps[i] = verify.Checkpoint{Seq: e.Seq, Server: e.Server.Type + " " + e.Server.ID, Position: e.Position, Moved: moved}
	}
	ord := order(cfg)
	return verify.CheckHistory(cps, func(earlier, later []byte) (bool, error) {
		a, err := parsePosition(cfg, earlier)
		if err != nil {
			return false, err
		}
		b, err := parsePosition(cfg, later)
		if err != nil {
			return false, err
		}
		return ord.Reached(a, b), nil
	}), nil
}

// printContinuity writes what checkContinuity found.
func printContinuity(w io.Writer, cfg *config.Config, c verify.Continuity) {
	fmt.Fprintf(w, "checkpoint history (%s): %d checkpoints, %d gaps, %d position regressions; %d starts afresh, %d server changes\n",
		cfg.Kafka.HistoryTopic, c.Checkpoints, c.Gaps, c.Regressions, c.Fresh, c.Failovers)
	for _, f := range c.Findings {
		fmt.Fprintln(w, "  "+f)
	}
}

// printReport writes a line per table and the rows that did not match.
func printReport(w io.Writer, rep verify.Report) {
	var tables []string
	for t := range rep.Counts {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		c := rep.Counts[t]
		fmt.Fprintf(w, "%s: %d match, %d differ, %d missing, %d extra; %d changed while verified, %d unknown (the topic's start was deleted)\n",
			t, c[verify.Match], c[verify.Differs], c[verify.Missing], c[verify.Extra], c[verify.Changed], c[verify.Unknown])
	}
	for _, f := range rep.Findings {
		if f.Result != verify.Changed {
			fmt.Fprintln(w, "  "+f.String())
		}
	}
	if n := rep.Mismatches(); n > len(rep.Findings) {
		fmt.Fprintf(w, "  (the first %d rows listed)\n", len(rep.Findings))
	}
}

// verifyMetrics are the counts of the last run, by table and result.
type verifyMetrics struct {
	rows *prometheus.GaugeVec
	disc *prometheus.GaugeVec
	runs prometheus.Counter
	fail prometheus.Counter
	last prometheus.Gauge
}

var verifyResults = []verify.Result{verify.Match, verify.Differs, verify.Missing, verify.Extra, verify.Changed, verify.Unknown}

func serveVerifyMetrics(addr string, log *slog.Logger) (*verifyMetrics, error) {
	reg := prometheus.NewRegistry()
	m := &verifyMetrics{
		rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cdc_verify_rows",
			Help: "Rows of the last verify run by table and result: match, differs, missing, extra (mismatches), changed, unknown (not comparable)."}, []string{"table", "result"}),
		disc: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cdc_verify_checkpoint_discontinuities",
			Help: "Discontinuities of the checkpoint history at the last verify run: gap (a sequence number skipped or repeated), regression (a position before the previous one on the same server, without a move)."}, []string{"kind"}),
		runs: prometheus.NewCounter(prometheus.CounterOpts{Name: "cdc_verify_runs_total", Help: "Verify runs completed."}),
		fail: prometheus.NewCounter(prometheus.CounterOpts{Name: "cdc_verify_runs_failed_total", Help: "Verify runs that failed (no answer to the snapshot request, Kafka unreachable, ...); with -every the next run is tried after the interval."}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cdc_verify_last_run_timestamp_seconds", Help: "When the last verify run ended."}),
	}
	reg.MustRegister(m.rows, m.disc, m.runs, m.fail, m.last)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("verify: -listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	go func() {
		if err := http.Serve(ln, mux); err != nil {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	log.Info("serving verify metrics", "addr", ln.Addr().String())
	return m, nil
}

// failed counts a run that failed.
func (m *verifyMetrics) failed() {
	if m != nil {
		m.fail.Inc()
	}
}

func (m *verifyMetrics) update(rep verify.Report, c verify.Continuity) {
	if m == nil {
		return
	}
	m.disc.WithLabelValues("gap").Set(float64(c.Gaps))
	m.disc.WithLabelValues("regression").Set(float64(c.Regressions))
	for t, c := range rep.Counts {
		for _, r := range verifyResults {
			m.rows.WithLabelValues(t, string(r)).Set(float64(c[r]))
		}
	}
	m.runs.Inc()
	m.last.SetToCurrentTime()
}
