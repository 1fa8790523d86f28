package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/pipeline"
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/source/mysql"
	"github.com/cdc-go/cdc/source/postgres"
	"github.com/cdc-go/cdc/transform"
)

// connectTimeout bounds start-up connections, so that an unreachable
// database or broker fails fast instead of retrying forever.
const connectTimeout = 20 * time.Second

// presenceWait bounds how long start-up waits for the presence group.
const presenceWait = 5 * time.Second

// otherInstanceWait bounds the look for a newer instance after a
// transaction timeout: one that took over may still be joining the
// presence group, which first waits for this instance's own membership
// to time out.
const otherInstanceWait = kafka.PresenceSessionTimeout + 5*time.Second

// streamer is an opened source, as run needs it.
type streamer interface {
	pipeline.Source
	Server() source.Server
	ParsePosition(text []byte) (source.Position, error)
	Close() error
}

func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	return slog.New(cfg.Log.Handler(w))
}

func openSource(ctx context.Context, cfg *config.Config, log *slog.Logger) (streamer, string, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	switch cfg.Source.Type {
	case config.SourcePostgres:
		src, err := postgres.Open(ctx, postgresConfig(cfg), log.With("source", "postgres"))
		if err != nil {
			return nil, "", err
		}
		return src, "postgresql", nil
	case config.SourceMySQL:
		src, err := mysql.Open(ctx, mysqlConfig(cfg), log.With("source", "mysql"))
		if err != nil {
			return nil, "", err
		}
		if src.Flavor() == mysql.FlavorMariaDB {
			return src, "mariadb", nil // as Debezium's MariaDB connector names itself
		}
		return src, "mysql", nil
	}
	return nil, "", usageError{fmt.Errorf("source.type %q is not supported yet", cfg.Source.Type)}
}

func postgresConfig(cfg *config.Config) postgres.Config {
	return postgres.Config{
		DSN: cfg.Source.DSN, Slot: cfg.Source.Slot, Publication: cfg.Source.Publication,
		Tables: cfg.Source.Tables, CreateSlot: cfg.Source.CreateSlot, CreatePublication: cfg.Source.CreatePublication,
		StatusInterval: cfg.Source.StatusInterval.Std(),
	}
}

func mysqlConfig(cfg *config.Config) mysql.Config {
	c := mysql.Config{
		DSN: cfg.Source.DSN, ServerID: cfg.Source.ServerID, Flavor: mysql.Flavor(cfg.Source.Flavor),
		Tables: cfg.Source.Tables, Heartbeat: cfg.Source.Heartbeat.Std(),
		StatusInterval: cfg.Source.StatusInterval.Std(), Name: cfg.Name, MaxXABytes: cfg.Source.XAMaxBytes,
	}
	if cfg.Source.TLS.Enabled {
		tls := cfg.Source.TLS
		c.TLS = tls.Config
	}
	return c
}

func runConnector(parent context.Context, path, fromFlag string, stderr io.Writer) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr).With("connector", cfg.Name)
	if w := plainTextPassword(cfg); w != "" {
		log.Warn(w + "; set kafka.tls")
	}
	shutdownTimeout := cfg.ShutdownTimeout.Std()
	if shutdownTimeout <= 0 {
		shutdownTimeout = config.DefaultShutdownTimeout
	}
	ctx, stop := stopOnSignal(parent, shutdownTimeout, cfg.Kafka.TransactionTimeout.Std(), log)
	defer stop()
	// Health: /healthz and /readyz answer from the start (starting, not
	// ready), and say stopping once a stop is requested.
	st := newStatus()
	defer context.AfterFunc(ctx, st.stop)()
	reg, metrics, stopMetrics, err := serveMetrics(cfg.Metrics.Listen, cfg.Metrics.Pprof, log, st)
	if err != nil {
		return err
	}
	defer stopMetrics()
	// hard ends shutdown_timeout after a stop request: what is still
	// waiting on Kafka then gives up.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(shutdownTimeout, cancelHard) })()

	// Kafka first: the source may create a replication slot and a
	// publication, which retain WAL for as long as they exist, so nothing is
	// created there until Kafka answers and the checkpoint is readable.
	if fromFlag != "" {
		// Before Open, which would fence the running instance.
		if err := refuseRunning(ctx, cfg, "run with -from again"); err != nil {
			return err
		}
	}
	kctx, cancel := context.WithTimeout(ctx, connectTimeout)
	sink, err := kafka.Open(kctx, sinkConfig(cfg), log.With("sink", "kafka"))
	if err != nil {
		cancel()
		return err
	}
	defer sink.Shutdown(hard)
	cancel()
	// A join that waits for a group rebalance (a killed instance's member
	// not timed out yet) goes on in the background after presenceWait.
	pctx, pcancel := context.WithTimeout(ctx, presenceWait)
	presence, err := kafka.JoinPresence(pctx, kafkaCluster(cfg), cfg.Name, log.With("sink", "kafka"))
	pcancel()
	if err != nil {
		if ctx.Err() != nil { // a stop request cut the join short
			log.Info("stopped cleanly during start-up")
			return nil
		}
		return err
	}
	defer presence.Close()
	health := kafkaHealth{st: st}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go health.watch(wctx, sink, log.With("sink", "kafka"))
	// Open fenced any previous instance; only now is the checkpoint stable.
	// Reading it may wait for another connector's open transaction on a
	// shared checkpoint topic: at most that transaction's timeout.
	lctx, lcancel := context.WithTimeout(ctx, max(connectTimeout, cfg.Kafka.TransactionTimeout.Std()+10*time.Second))
	cp, err := sink.LoadCheckpoint(lctx, cfg.Name)
	lcancel()
	if err != nil {
		return err
	}
	if fromFlag != "" {
		if cp, err = moveForRun(ctx, cfg, sink, cp, fromFlag, log); err != nil {
			return err
		}
	}
	if err := sink.EnsureCompactedTopic(ctx, cfg.Schema.Topic); err != nil {
		return err
	}
	history, err := loadHistory(ctx, cfg)
	if err != nil {
		return err
	}
	src, connector, err := openSource(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer src.Close()
	var from source.Position
	var seq uint64
	var partial *kafka.PartialTx
	if cp != nil {
		if from, err = src.ParsePosition(cp.Position); err != nil {
			return fmt.Errorf("reading checkpoint of connector %q: %w", cfg.Name, err)
		}
		if cp.Server != src.Server() {
			if from, err = failoverPosition(cfg, cp, src.Server(), from); err != nil {
				st.halt(componentSource, err.Error())
				return haltError{err}
			}
			log.Warn("resuming on another server of the same GTID lineage (source.failover: gtid); the next checkpoint names this server",
				"checkpoint_server", cp.Server.ID, "server", src.Server().ID, "position", from.String())
		}
		seq, partial = cp.Seq, cp.Partial
		if partial != nil {
			log.Info("resuming from checkpoint inside a source transaction", "position", from.String(), "seq", seq, "checkpointed_at", cp.Time,
				"tx", partial.ID, "committed_changes", partial.Changes)
		} else {
			log.Info("resuming from checkpoint", "position", from.String(), "seq", seq, "checkpointed_at", cp.Time)
		}
	} else {
		start := "the replication slot's position"
		if cfg.Source.Type == config.SourceMySQL {
			start = "the server's current binlog position"
		}
		log.Info("no checkpoint yet; starting at " + start)
	}

	if err := sink.EnsureCompactedTopic(ctx, snapshotTopic(cfg)); err != nil {
		return err
	}
	planFrom := cp
	if cp != nil && cfg.Snapshot.Mode == config.SnapshotWhenNeeded {
		gone, err := positionGone(ctx, cfg, src, from)
		if err != nil {
			return err
		}
		if gone != "" {
			// The stream starts over at the server's current position, and
			// a new snapshot reads what the gap lost.
			log.Warn("the checkpoint's position is no longer available; snapshot.mode when_needed snapshots the tables again and streams from the current position",
				"checkpoint", from.String(), "reason", gone)
			from, partial, planFrom = nil, nil, nil
		}
	}
	if err := sink.EnsureCompactedTopic(ctx, signalsTopic(cfg)); err != nil {
		return err
	}
	// On-demand requests are taken in every mode but initial_only (which
	// ends with its snapshot), by one reader of the signals topic per
	// pipeline run, from the checkpoint's offset.
	var signals int64
	if cp != nil {
		signals = cp.Signals
	}
	stopSignals := func() {}
	defer func() { stopSignals() }()
	startSignals := func(from int64) <-chan snapshot.Request {
		stopSignals()
		if cfg.Snapshot.Mode == config.SnapshotInitialOnly {
			return nil
		}
		sctx, cancel := context.WithCancel(ctx)
		stopSignals = cancel
		return followSignals(sctx, cfg, from, log)
	}
	snap, err := planSnapshot(ctx, cfg, src, planFrom, startSignals(signals), log)
	if err != nil {
		return err
	}
	if snap.nothing {
		log.Info("snapshot.mode is initial_only and no snapshot is unfinished: nothing to do")
		return nil
	}
	// initial_only stops once the snapshot is committed.
	ctx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var onSnapshotDone func()
	if cfg.Snapshot.Mode == config.SnapshotInitialOnly {
		onSnapshotDone = func() {
			log.Info("snapshot.mode is initial_only: stopping now that the snapshot is done")
			stopRun()
		}
	}

	router, fallback, err := buildRouter(cfg, connector)
	if err != nil {
		return usageError{err}
	}
	if r, ok := router.(*transform.Router); ok {
		registerRouterStats(reg, r)
	}
	opts := pipeline.Options{
		Connector: cfg.Name, Server: src.Server(), Seq: seq, Partial: partial,
		MaxEvents: cfg.Kafka.Batch.MaxEvents, MaxBytes: cfg.Kafka.Batch.MaxBytes, Linger: cfg.Kafka.Batch.Linger.Std(), MinLinger: cfg.Kafka.Batch.MinLinger.Std(),
		// Half the timeout leaves the other half for the commit itself.
		MaxOpen:           cfg.Kafka.TransactionTimeout.Std() / 2,
		HeartbeatInterval: cfg.Source.StatusInterval.Std(),
		TransactionTopic:  cfg.Kafka.TransactionTopic, DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
		DeadLetterDenied: cfg.Kafka.OnTopicDenied == config.TopicDeniedDLT,
		Fallback:         fallback,
		Schemas:          schemas(cfg, history),
		Metrics:          metrics,
		Log:              log,
		ShutdownTimeout:  shutdownTimeout,
		Snapshot:         snap.ref, SnapshotTopic: snapshotTopic(cfg), SnapshotInit: snap.init, OnSnapshotDone: onSnapshotDone,
		SignalsTopic: signalsTopic(cfg), Signals: signals,
	}
	if opts.Replay, err = replayOption(cfg, cp); err != nil {
		return err
	}
	// The retention guard looks at the checkpoint before streaming (a
	// connector stopped for long may be close to losing it), then every
	// retentionPollEvery at what Kafka committed.
	runSrc := pipeline.Source(src)
	if probe, release := retentionProbeFor(cfg, src); probe != nil {
		defer release()
		guard := newRetentionGuard(st, log, probe)
		guard.register(reg)
		at := time.Now()
		if cp != nil {
			at = cp.Time
		}
		guard.committed(from, at)
		guard.check(ctx)
		gctx, stopGuard := context.WithCancel(ctx)
		defer stopGuard()
		go func() {
			select { // check has just run
			case <-gctx.Done():
				return
			case <-time.After(retentionPollEvery):
			}
			guard.watch(gctx)
		}()
		runSrc = ackTracker{streamer: src, guard: guard}
	}
	var failing streak
	for {
		started := time.Now()
		st.setSnapshot(opts.Snapshot != nil)
		st.setRunning(true)
		// A resumed stream that holds for sourceSettle has its connection
		// back (an idle stream may deliver nothing for longer).
		settled := time.AfterFunc(sourceSettle, func() {
			if st.clear(componentSource) {
				st.reconnected(componentSource)
				log.Info("source stream resumed")
			}
		})
		err = pipeline.Run(ctx, runSrc, commitWatcher{sink, st}, router, from, opts)
		settled.Stop()
		st.setRunning(false)
		what := retryable(err)
		if what == "" || ctx.Err() != nil {
			break
		}
		switch what {
		case "source":
			st.set(componentSource, fmt.Sprintf("source connection lost since %s; reconnecting: %v", time.Now().UTC().Format(time.RFC3339), err))
		case "kafka":
			st.set(componentKafka, fmt.Sprintf("kafka writer failed at %s; recovering: %v", time.Now().UTC().Format(time.RFC3339), err))
		}
		// The source lost its connection, or Kafka did: resume from the
		// checkpoint in Kafka (not from memory) after a backoff, for up to
		// retryFor of failures in a row.
		if failing.failed(started, time.Now()) > retryFor {
			err = fmt.Errorf("giving up after %v of %s failures: %w", retryFor, what, err)
			break
		}
		backoff := failing.next()
		log.Warn(what+" failed; resuming from the last checkpoint", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		if ctx.Err() != nil {
			err = nil
			break
		}
		// The last transaction may have committed or not (Kafka's answer
		// may be what was lost): settle it before reading the checkpoint,
		// waiting for Kafka as long as the retry window lasts.
		rctx, cancel := context.WithDeadline(ctx, failing.since.Add(retryFor))
		err = sink.Recover(rctx)
		cancel()
		if err != nil {
			// Stopped or gave up with the last transaction unsettled:
			// nothing is lost (the next start settles it), but say so.
			break
		}
		if what == "kafka" {
			log.Info("kafka writer recovered; resuming")
			st.clear(componentKafka)
			if !st.kafkaDownSince(started) { // else the probe counted it
				st.reconnected(componentKafka)
			}
		}
		var rcp *kafka.Checkpoint
		if from, opts.Seq, opts.Partial, rcp, err = resumePoint(ctx, sink, src, cfg.Name, from, opts.Seq, opts.Partial); err != nil {
			break
		}
		// The snapshot goes on from what Kafka holds, too.
		if rcp != nil {
			opts.Signals = rcp.Signals
		}
		if snap, err = planSnapshot(ctx, cfg, src, rcp, startSignals(opts.Signals), log); err != nil {
			break
		}
		opts.Snapshot, opts.SnapshotInit = snap.ref, snap.init
		if opts.Replay, err = resumeReplay(ctx, sink, cfg, opts.Replay); err != nil {
			break
		}
		// Versions recorded in an aborted transaction must be recorded again.
		if history, err = loadHistory(ctx, cfg); err != nil {
			break
		}
		opts.Schemas = schemas(cfg, history)
	}
	if errors.Is(err, kafka.ErrTransactionTimeout) {
		// A timeout the Writer could not recover from: it found another
		// producer on the transactional id (ErrFenced), or the retries
		// ran out. A process frozen (SIGSTOP, a paused VM) past the
		// timeout while another instance took over sees that. Exiting 1
		// would get it restarted, fencing the newer one in turn: look for
		// that instance first.
		other, ok := kafka.OtherInstance(context.WithoutCancel(ctx), kafkaCluster(cfg), cfg.Name, presence.Self(), otherInstanceWait)
		switch {
		case ok && errors.Is(err, kafka.ErrFenced): // the Writer saw it took over
			err = fmt.Errorf("%s is running: %w", other, err)
		case ok:
			err = fmt.Errorf("%w: %s is running; this one's Kafka transaction was fenced while open longer than kafka.transaction_timeout (the process was frozen or cut off): %w", kafka.ErrFenced, other, err)
		default:
			return fmt.Errorf("connector %q: %w", cfg.Name, err)
		}
	}
	if errors.Is(err, kafka.ErrFenced) {
		err = fmt.Errorf("another instance of connector %q took over (same transactional id); this one stops: %w", cfg.Name, err)
	}
	if de, ok := errors.AsType[*kafka.DeniedError](err); ok {
		err = fmt.Errorf("%w; %s", err, grantHint(cfg, de))
	}
	if err != nil {
		if errors.Is(err, mysql.ErrServerChanged) && cfg.Source.Failover == config.FailoverGTID {
			return err // exit 1: the restart resumes on the new server
		}
		if component, ok := haltComponent(err); ok {
			st.halt(component, err.Error())
			return haltError{err}
		}
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

func checkConnector(ctx context.Context, path string, stdout io.Writer) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var out bytes.Buffer
	fmt.Fprintf(&out, "config %s: ok\n", path)
	failed := 0
	var probs []source.Problem
	switch cfg.Source.Type {
	case config.SourcePostgres:
		probs, err = postgres.Check(ctx, postgresConfig(cfg))
	case config.SourceMySQL:
		probs, err = mysql.Check(ctx, mysqlConfig(cfg))
	default:
		return usageError{fmt.Errorf("source.type %q is not supported yet", cfg.Source.Type)}
	}
	if err != nil {
		stdout.Write(out.Bytes())
		return err
	}
	if len(cfg.Routes) > 0 && fatalCount(probs) == 0 {
		rprobs, err := checkRoutes(ctx, cfg)
		if err != nil {
			stdout.Write(out.Bytes())
			return err
		}
		probs = append(probs, rprobs...)
	}
	for _, p := range probs {
		level := "error"
		if p.Warning {
			level = "warning"
		} else {
			failed++
		}
		fmt.Fprintf(&out, "%s: %s\n", level, p.Message)
		if p.Fix != "" {
			fmt.Fprintf(&out, "  fix: %s\n", p.Fix)
		}
	}
	if w := plainTextPassword(cfg); w != "" {
		fmt.Fprintf(&out, "warning: %s\n  fix: set kafka.tls (the listener must be SASL_SSL)\n", w)
	}
	kctx, kcancel := context.WithTimeout(ctx, connectTimeout)
	defer kcancel()
	if err := kafka.Ping(kctx, kafkaCluster(cfg)); err != nil {
		fmt.Fprintf(&out, "error: %v\n", err)
		failed++
	} else {
		fmt.Fprintf(&out, "kafka %s: reachable\n", kafkaCluster(cfg))
		cprobs, err := checkCheckpoint(kctx, cfg, &out, failed == 0)
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
			failed++
		}
		for _, p := range cprobs {
			level := "error"
			if p.Warning {
				level = "warning"
			} else {
				failed++
			}
			fmt.Fprintf(&out, "%s: %s\n", level, p.Message)
			if p.Fix != "" {
				fmt.Fprintf(&out, "  fix: %s\n", p.Fix)
			}
		}
	}
	stdout.Write(out.Bytes())
	if failed > 0 {
		return fmt.Errorf("%d problem(s) found; see the fixes above", failed)
	}
	fmt.Fprintln(stdout, "source prerequisites: ok")
	return nil
}

// fatalCount counts the problems that are not warnings.
func fatalCount(probs []source.Problem) int {
	n := 0
	for _, p := range probs {
		if !p.Warning {
			n++
		}
	}
	return n
}

// checkRoutes binds the routes to the captured tables as the catalog
// describes them, and reports every route that does not fit one (a key,
// mask, include, exclude, outbox or topic column the table lacks; a table
// two routes match): `cdc run` would dead-letter every change of it.
func checkRoutes(ctx context.Context, cfg *config.Config) ([]source.Problem, error) {
	router, _, err := newRouter(cfg, cfg.Name, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	var tables []*schema.Table
	switch cfg.Source.Type {
	case config.SourcePostgres:
		tables, err = postgres.CatalogTables(ctx, postgresConfig(cfg))
	case config.SourceMySQL:
		tables, err = mysql.CatalogTables(ctx, mysqlConfig(cfg))
	}
	if err != nil {
		return nil, fmt.Errorf("checking routes against the tables: %w", err)
	}
	var probs []source.Problem
	for _, t := range tables {
		if err := router.Check(t); err != nil {
			probs = append(probs, source.Problem{
				Message: "routes: " + strings.ReplaceAll(err.Error(), "\n", "; "),
				Fix:     "fix the route in the configuration or the table, or its changes go to the dead-letter topic",
			})
		}
	}
	return probs, nil
}

// checkCheckpoint reads the connector's checkpoint the way a restart would
// (read_committed, but without fencing a running instance) and reports what
// would stop `cdc run` from resuming there. It writes one line about the
// checkpoint to out. The source is asked only when sourceOK (its
// prerequisites are met; otherwise those are what to fix first).
func checkCheckpoint(ctx context.Context, cfg *config.Config, out io.Writer, sourceOK bool) ([]source.Problem, error) {
	cp, err := kafka.PeekCheckpoint(ctx, kafkaCluster(cfg), cfg.Kafka.CheckpointTopic, cfg.Name)
	if err != nil {
		return nil, err
	}
	if cp == nil {
		fmt.Fprintf(out, "checkpoint: none yet in topic %s; a first run starts at the source's current position\n", cfg.Kafka.CheckpointTopic)
		return nil, nil
	}
	fmt.Fprintf(out, "checkpoint: %s (seq %d, committed %s)\n", cp.Position, cp.Seq, cp.Time.UTC().Format(time.RFC3339))
	if !sourceOK {
		return nil, nil
	}
	switch cfg.Source.Type {
	case config.SourcePostgres:
		lsn, err := postgres.ParseLSN(string(cp.Position))
		if err != nil {
			return nil, fmt.Errorf("reading checkpoint of connector %q: %w", cfg.Name, err)
		}
		probs, err := postgres.CheckCheckpoint(ctx, postgresConfig(cfg), cp.Server, lsn)
		if err != nil || len(probs) > 0 {
			return probs, err
		}
		probe := postgres.NewRetentionProbe(postgresConfig(cfg))
		defer probe.Close()
		if r, err := probe.Slot(ctx); err == nil {
			return retentionProblem(slotReport(cfg.Source.Slot, r)), nil
		}
	case config.SourceMySQL:
		src, err := mysql.Open(ctx, mysqlConfig(cfg), slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, nil // its prerequisites are reported above
		}
		defer src.Close()
		pos, err := src.ParsePosition(cp.Position)
		if err != nil {
			return nil, fmt.Errorf("reading checkpoint of connector %q: %w", cfg.Name, err)
		}
		if cp.Server != src.Server() {
			if pos, err = failoverPosition(cfg, cp, src.Server(), pos); err != nil {
				return []source.Problem{{Message: strings.TrimSuffix(err.Error(), ": "+errOtherServer.Error())}}, nil
			}
		}
		if err := src.CheckResume(ctx, pos); err != nil {
			return []source.Problem{{Message: err.Error()}}, nil
		}
		if r, err := src.BinlogRetention(ctx, pos); err == nil {
			return retentionProblem(binlogReport(r, cp.Time, time.Now())), nil
		}
	}
	return nil, nil
}

// compatibilityPolicy gives each table the compatibility of its route, where
// the route sets one (one route per table: overlaps are start-up errors).
func compatibilityPolicy(cfg *config.Config) func(string) (schema.Compatibility, bool, bool) {
	return func(table string) (schema.Compatibility, bool, bool) {
		for _, r := range cfg.Routes {
			if ok, _ := path.Match(r.Table, table); !ok {
				continue
			}
			if r.Compatibility == "" && r.OnIncompatible == "" {
				return "", false, false
			}
			mode, on := r.Compatibility, r.OnIncompatible
			if mode == "" {
				mode = cfg.Schema.Compatibility
			}
			if on == "" {
				on = cfg.Schema.OnIncompatible
			}
			return schema.Compatibility(mode), on == config.IncompatibleStop, true
		}
		return "", false, false
	}
}

// grantHint tells what to do about a topic the broker denied.
func grantHint(cfg *config.Config, de *kafka.DeniedError) string {
	principal := "<the connector's principal>"
	if cfg.Kafka.SASL.Username != "" {
		principal = "User:" + cfg.Kafka.SASL.Username
	}
	topic := de.Topic
	hint := fmt.Sprintf("grant it WRITE and DESCRIBE on the topic (kafka-acls.sh --bootstrap-server <broker> --add --allow-principal %s --operation Write --operation Describe --topic %s)", principal, topic)
	if de.Create {
		hint = fmt.Sprintf("create the topic beforehand, or grant it CREATE on it as well as WRITE and DESCRIBE (kafka-acls.sh --bootstrap-server <broker> --add --allow-principal %s --operation Create --operation Write --operation Describe --topic %s)", principal, topic)
	}
	internal := topic == cfg.Kafka.CheckpointTopic || topic == cfg.Kafka.HistoryTopic
	if !internal && cfg.Kafka.OnTopicDenied == config.TopicDeniedStop {
		hint += ", or set kafka.on_topic_denied: dlt to send the events of denied topics to the dead-letter topic"
	}
	return hint
}

// retryFor bounds how long run keeps resuming after failures in a row.
const retryFor = 5 * time.Minute

// streak is the run loop's failures in a row: a run that held for more
// than heldFor ends one.
type streak struct {
	since   time.Time // the first failure of the streak
	backoff time.Duration
}

// heldFor is how long a run must hold to end a streak of failures.
const heldFor = time.Minute

// failed records that a run started at started failed at now, and returns
// how long the failures have lasted in a row: from the first failure of
// the streak, never from the start of a run that held (a connector that
// streamed for an hour and then lost Kafka has failed for 0 s, not an
// hour).
func (s *streak) failed(started, now time.Time) time.Duration {
	if s.since.IsZero() || now.Sub(started) > heldFor {
		s.since, s.backoff = now, 0
	}
	return now.Sub(s.since)
}

// next returns the wait before the next try: 1 s, doubling to 30 s.
func (s *streak) next() time.Duration {
	s.backoff = min(max(2*s.backoff, time.Second), 30*time.Second)
	return s.backoff
}

// retryable tells whether err is a failure worth resuming from the
// checkpoint, and whose: "source" for a lost database connection, "kafka"
// for a lost broker connection (Kafka's answer to a commit may be what was
// lost), or "" for one that needs an operator.
func retryable(err error) string {
	var se *pipeline.SourceError
	if !errors.As(err, &se) {
		if kafka.Retriable(err) {
			return "kafka"
		}
		return ""
	}
	for _, fatal := range []error{postgres.ErrSlotAhead, postgres.ErrSlotMissing, postgres.ErrSlotLost, postgres.ErrServerChanged, mysql.ErrPositionPurged, mysql.ErrServerIDConflict, mysql.ErrServerChanged, context.Canceled} {
		if errors.Is(err, fatal) {
			return ""
		}
	}
	return "source"
}

// failoverPosition returns where the checkpoint cp, written from another
// server than here, resumes on here: with source.failover gtid, its GTID
// position (the server refuses one its binlog does not hold). Otherwise,
// and for a position without GTIDs, an error wrapping errOtherServer.
func failoverPosition(cfg *config.Config, cp *kafka.Checkpoint, here source.Server, from source.Position) (source.Position, error) {
	refused := fmt.Errorf("the checkpoint of connector %q belongs to %s server %q, but source.dsn points at %s server %q", cfg.Name, cp.Server.Type, cp.Server.ID, here.Type, here.ID)
	if cfg.Source.Failover != config.FailoverGTID {
		hint := "use another connector name for another server, or delete the checkpoint to start over"
		if cfg.Source.Type == config.SourceMySQL {
			hint += "; if it is a replica promoted with the same GTID history, set source.failover: gtid"
		}
		return nil, fmt.Errorf("%w; %s: %w", refused, hint, errOtherServer)
	}
	if cp.Server.Type != here.Type {
		return nil, fmt.Errorf("%w: a %s position cannot be resumed on %s (source.failover gtid needs the same flavor): %w", refused, cp.Server.Type, here.Type, errOtherServer)
	}
	p, ok := from.(mysql.Position)
	if ok {
		p, ok = p.OnAnotherServer()
	}
	if !ok {
		return nil, fmt.Errorf("%w, and its position %s is not a GTID position without prepared XA transactions, which is all that source.failover gtid can resume on another server: %w", refused, from, errOtherServer)
	}
	return p, nil
}

// resumePoint reads the newest checkpoint again.
func resumePoint(ctx context.Context, sink *kafka.Writer, src streamer, name string, from source.Position, seq uint64, partial *kafka.PartialTx) (source.Position, uint64, *kafka.PartialTx, *kafka.Checkpoint, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	cp, err := sink.LoadCheckpoint(ctx, name)
	if err != nil || cp == nil {
		return from, seq, partial, cp, err
	}
	pos, err := src.ParsePosition(cp.Position)
	if err != nil {
		return nil, 0, nil, nil, fmt.Errorf("reading checkpoint of connector %q: %w", name, err)
	}
	if cp.Server != src.Server() { // accepted at start (source.failover), not committed since
		if p, ok := pos.(mysql.Position); ok {
			pos, _ = p.OnAnotherServer()
		}
	}
	return pos, cp.Seq, cp.Partial, cp, nil
}

func schemas(cfg *config.Config, history *schema.History) *pipeline.Schemas {
	return &pipeline.Schemas{
		History: history, Topic: cfg.Schema.Topic, ChangesTopic: cfg.Schema.ChangesTopic,
		Compatibility: schema.Compatibility(cfg.Schema.Compatibility), Stop: cfg.Schema.OnIncompatible == config.IncompatibleStop,
		Policy: compatibilityPolicy(cfg),
	}
}
