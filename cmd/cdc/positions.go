package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/pipeline"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/source/mysql"
	"github.com/cdc-go/cdc/source/postgres"
)

// Stored positions and replay (docs/replay.md):
//
//	cdc positions -c FILE [-limit N] [-json]      the checkpoint history, newest first
//	cdc positions set -c FILE (-seq N | -time T | -position P) [-dry-run]
//	cdc run -c FILE -from P                       the same move, then run

// sinkConfig is the Kafka writer's configuration for cfg.
func sinkConfig(cfg *config.Config) kafka.Config {
	return kafka.Config{
		Cluster: kafkaCluster(cfg), ClientID: cfg.Kafka.ClientID, TransactionalID: cfg.Kafka.TransactionalID,
		CheckpointTopic: cfg.Kafka.CheckpointTopic, HistoryTopic: cfg.Kafka.HistoryTopic, HistoryRetention: cfg.Kafka.HistoryRetention.Std(),
		Partitions: int32(cfg.Kafka.Partitions), ReplicationFactor: int16(cfg.Kafka.ReplicationFactor),
		MaxRecordBytes: cfg.Kafka.MaxRecordBytes, TransactionTimeout: cfg.Kafka.TransactionTimeout.Std(),
	}
}

// runFlags parses `cdc run`'s flags.
func runFlags(args []string, stderr io.Writer) (path, from string, err error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&path, "c", "", "connector configuration `file` (YAML)")
	fs.StringVar(&from, "from", "", "move the stopped connector to `position` first (as cdc positions set -position does)")
	if err := fs.Parse(args); err != nil {
		return "", "", usageError{err}
	}
	if fs.NArg() > 0 {
		return "", "", usageError{fmt.Errorf("run: unexpected argument %q", fs.Arg(0))}
	}
	if path == "" {
		return "", "", usageError{errors.New("run: -c FILE is required")}
	}
	return path, from, nil
}

func positionsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "set" {
		return setPosition(ctx, args[1:], stdout, stderr)
	}
	return listPositions(ctx, args, stdout, stderr)
}

// historyRow is one line of `cdc positions -json`.
type historyRow struct {
	Seq         uint64    `json:"seq"`
	Time        time.Time `json:"time"`
	Position    string    `json:"position"`
	Records     int       `json:"records"`
	PartialTx   string    `json:"partial_tx,omitempty"`
	Changes     int       `json:"partial_changes,omitempty"`
	ReplayUntil string    `json:"replay_until,omitempty"`
	Current     bool      `json:"current,omitempty"`
}

func rowOf(e kafka.HistoryEntry, cur *kafka.Checkpoint) historyRow {
	r := historyRow{Seq: e.Seq, Time: e.Time.UTC(), Position: string(e.Position), Records: e.Records,
		Current: cur != nil && cur.Seq == e.Seq}
	if e.Partial != nil {
		r.PartialTx, r.Changes = e.Partial.ID, e.Partial.Changes
	}
	if e.Replay != nil {
		r.ReplayUntil = string(e.Replay.Until)
	}
	return r
}

func listPositions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("positions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "connector configuration `file` (YAML)")
	limit := fs.Int("limit", 20, "show at most `n` checkpoints (0: all)")
	asJSON := fs.Bool("json", false, "print one JSON object per checkpoint")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *path == "" || fs.NArg() > 0 {
		return usageError{errors.New("positions: want -c FILE (and no arguments), or positions set -c FILE ...")}
	}
	if *limit < 0 {
		return usageError{errors.New("positions: -limit must be 0 or more")}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	cur, hist, err := readPositions(ctx, cfg)
	if err != nil {
		return err
	}
	rows := hist
	if *limit > 0 && len(rows) > *limit {
		rows = rows[len(rows)-*limit:]
	}
	var out bytes.Buffer
	if *asJSON {
		enc := json.NewEncoder(&out)
		for i := len(rows) - 1; i >= 0; i-- {
			enc.Encode(rowOf(rows[i], cur))
		}
		_, err := stdout.Write(out.Bytes())
		return err
	}
	if cur == nil {
		fmt.Fprintf(&out, "connector %s: no checkpoint yet in topic %s\n", cfg.Name, cfg.Kafka.CheckpointTopic)
	} else {
		fmt.Fprintf(&out, "connector %s: checkpoint seq %d at %s (committed %s)%s\n", cfg.Name, cur.Seq, cur.Position, cur.Time.UTC().Format(time.RFC3339), describeCheckpoint(cur))
	}
	if err := describeSnapshot(ctx, &out, cfg, cur); err != nil {
		return err
	}
	if len(hist) == 0 {
		fmt.Fprintf(&out, "no history in topic %s (kept for kafka.history_retention %s)\n", cfg.Kafka.HistoryTopic, cfg.Kafka.HistoryRetention)
		_, err := stdout.Write(out.Bytes())
		return err
	}
	fmt.Fprintf(&out, "history in topic %s, newest first (%d of %d, kept for %s):\n", cfg.Kafka.HistoryTopic, len(rows), len(hist), cfg.Kafka.HistoryRetention)
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tCOMMITTED\tRECORDS\tPOSITION\tNOTE")
	for i := len(rows) - 1; i >= 0; i-- {
		e := rows[i]
		note := strings.TrimPrefix(describeCheckpoint(&e.Checkpoint), "; ")
		if note == "" {
			note = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339Nano), e.Records, e.Position, note)
	}
	tw.Flush()
	_, err = stdout.Write(out.Bytes())
	return err
}

// describeCheckpoint says what is special about cp: "; inside transaction
// X (N changes committed); replaying until P".
func describeCheckpoint(cp *kafka.Checkpoint) string {
	var s string
	if r := cp.Snapshot; r != nil {
		s += fmt.Sprintf("; snapshot %s running (%d tables not done)", r.ID, r.Open)
	}
	if p := cp.Partial; p != nil {
		s += fmt.Sprintf("; inside transaction %s (%d changes committed)", p.ID, p.Changes)
	}
	if r := cp.Replay; r != nil {
		s += "; replaying until " + string(r.Until)
		if r.Tx != "" {
			s += fmt.Sprintf(" and %d changes of transaction %s", r.Changes, r.Tx)
		}
	}
	return s
}

// readPositions reads the current checkpoint and the history, read_committed
// and without fencing a running instance.
func readPositions(ctx context.Context, cfg *config.Config) (*kafka.Checkpoint, []kafka.HistoryEntry, error) {
	cur, err := kafka.PeekCheckpoint(ctx, kafkaCluster(cfg), cfg.Kafka.CheckpointTopic, cfg.Name)
	if err != nil {
		return nil, nil, err
	}
	hist, err := kafka.ReadHistory(ctx, kafkaCluster(cfg), cfg.Kafka.HistoryTopic, cfg.Name)
	if err != nil {
		return nil, nil, err
	}
	return cur, hist, nil
}

// target says where to move: exactly one of the three.
type target struct {
	seq      uint64
	hasSeq   bool
	at       time.Time
	position string
}

// pick returns the checkpoint to move to: the history entry with the seq,
// the newest one committed at or before the time, or the position given
// (with no partial transaction). The entry is nil for a position.
func (t target) pick(hist []kafka.HistoryEntry, cur *kafka.Checkpoint) (kafka.Checkpoint, *kafka.HistoryEntry, error) {
	span := func() string {
		if len(hist) == 0 {
			return "the history is empty"
		}
		return fmt.Sprintf("the history holds seq %d (%s) to %d (%s)", hist[0].Seq, hist[0].Time.UTC().Format(time.RFC3339),
			hist[len(hist)-1].Seq, hist[len(hist)-1].Time.UTC().Format(time.RFC3339))
	}
	switch {
	case t.hasSeq:
		for i := len(hist) - 1; i >= 0; i-- {
			if hist[i].Seq == t.seq {
				return hist[i].Checkpoint, &hist[i], nil
			}
		}
		return kafka.Checkpoint{}, nil, fmt.Errorf("no checkpoint with seq %d in the history (%s; cdc positions lists them)", t.seq, span())
	case !t.at.IsZero():
		for i := len(hist) - 1; i >= 0; i-- {
			if !hist[i].Time.After(t.at) {
				return hist[i].Checkpoint, &hist[i], nil
			}
		}
		return kafka.Checkpoint{}, nil, fmt.Errorf("no checkpoint committed at or before %s in the history (%s)", t.at.UTC().Format(time.RFC3339), span())
	}
	return kafka.Checkpoint{Connector: cur.Connector, Server: cur.Server, Position: []byte(t.position)}, nil, nil
}

// move is a planned change of the connector's checkpoint.
type move struct {
	cur   *kafka.Checkpoint
	to    kafka.Checkpoint // Position and Partial as they will be stored
	entry *kafka.HistoryEntry
	back  bool               // to is before cur: the range between is sent again
	bound *kafka.ReplayBound // the new checkpoint's replay bound
	// records estimates the records committed after to, from the
	// history; -1 when the history does not say.
	records, txns int
	checked       string // what the preflight checked
}

// order returns the position order of the configured source.
func order(cfg *config.Config) pipeline.ReplayOrder {
	if cfg.Source.Type == config.SourceMySQL {
		return mysql.Order{}
	}
	return postgres.Order{}
}

// parsePosition parses a position's text with the configured source's
// parser.
func parsePosition(cfg *config.Config, text []byte) (source.Position, error) {
	switch cfg.Source.Type {
	case config.SourceMySQL:
		p, err := mysql.ParsePosition(string(text))
		if err != nil {
			return nil, err
		}
		return p, nil
	case config.SourcePostgres:
		return postgres.ParseLSN(string(text))
	}
	return nil, fmt.Errorf("source.type %q is not supported", cfg.Source.Type)
}

// planMove checks a move of cur to the picked checkpoint against the
// source (preflight) and says what it does.
func planMove(ctx context.Context, cfg *config.Config, cur *kafka.Checkpoint, to kafka.Checkpoint, entry *kafka.HistoryEntry, hist []kafka.HistoryEntry) (*move, error) {
	ord := order(cfg)
	toPos, err := parsePosition(cfg, to.Position)
	if err != nil {
		return nil, usageError{fmt.Errorf("position: %w", err)}
	}
	if text, _ := toPos.MarshalText(); !bytes.Equal(text, to.Position) {
		to.Position = text // the canonical form
	}
	curPos, err := parsePosition(cfg, cur.Position)
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint of connector %q: %w", cfg.Name, err)
	}
	m := &move{cur: cur, to: to, entry: entry, records: -1}
	m.back = !ord.Reached(curPos, toPos) || bytes.Equal(to.Position, cur.Position) && cur.Partial != nil && to.Partial == nil
	if m.checked, err = preflight(ctx, cfg, cur.Server, toPos); err != nil {
		return nil, err
	}
	switch {
	case m.back && cur.Replay != nil:
		m.bound = cur.Replay // still replaying: the old bound is further
	case m.back:
		m.bound = &kafka.ReplayBound{Until: cur.Position}
		if p := cur.Partial; p != nil {
			m.bound.Tx, m.bound.Changes = p.ID, p.Changes
		}
	case cur.Replay != nil:
		if until, err := parsePosition(cfg, cur.Replay.Until); err == nil && !ord.Reached(until, toPos) {
			m.bound = cur.Replay
		}
	}
	// Estimate from the history: the entries after the newest one at or
	// before the target, up to the current checkpoint.
	if m.back && len(hist) > 0 {
		start := -1
		for i, e := range hist {
			if e.Seq > cur.Seq {
				break
			}
			if entry != nil && e.Seq == entry.Seq {
				start = i
			} else if p, err := parsePosition(cfg, e.Position); entry == nil && err == nil && ord.Reached(toPos, p) {
				start = i
			}
		}
		if start >= 0 {
			m.records, m.txns = 0, 0
			for _, e := range hist[start+1:] {
				if e.Seq > cur.Seq {
					break
				}
				m.records += e.Records
				m.txns++
			}
		}
	}
	return m, nil
}

// preflight checks that the source can stream from pos: MySQL/MariaDB still
// has the binlog (file and GTIDs), the Postgres slot has not confirmed past
// it. The error says why not and what to do instead.
func preflight(ctx context.Context, cfg *config.Config, srv source.Server, pos source.Position) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	const alternative = "choose a later position (cdc positions -c %s lists the checkpoints), or read the tables again with a snapshot instead (cdc snapshot -c %s, or snapshot.mode: when_needed)"
	switch p := pos.(type) {
	case mysql.Position:
		src, err := mysql.Open(ctx, mysqlConfig(cfg), slog.New(slog.DiscardHandler))
		if err != nil {
			return "", err
		}
		defer src.Close()
		if src.Server() != srv {
			return "", fmt.Errorf("the checkpoint belongs to %s server %q, but source.dsn points at %s server %q; a position of one server cannot be used on another",
				srv.Type, srv.ID, src.Server().Type, src.Server().ID)
		}
		err = src.CheckAvailable(ctx, p)
		var pe *mysql.PurgedError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("cannot move to %s: %s (oldest binlog left: %s), so the changes after it can no longer be read from the server; "+alternative+": %w",
				pe.What(), pe.Detail, pe.Oldest, cfg.File, cfg.File, mysql.ErrPositionPurged)
		}
		if err != nil {
			return "", fmt.Errorf("cannot move to %s: %w", p, err)
		}
		file, _ := p.File()
		what := "the server still has binlog file " + orNone(file)
		if p.HasGTID() {
			what += " and GTIDs " + p.GTID()
		}
		return what, nil
	case postgres.LSN:
		st, err := postgres.CheckAvailable(ctx, postgresConfig(cfg), srv, p)
		if errors.Is(err, postgres.ErrSlotAhead) {
			return "", fmt.Errorf("cannot move to %s: replication slot %q has confirmed %s, and a logical replication slot cannot go back before its confirmed position, so the changes before it can no longer be streamed; "+
				"a position at or after %s can be set, or, to send the rows again, read the tables with a snapshot instead (cdc snapshot -c %s, or snapshot.mode: when_needed): %w",
				p, cfg.Source.Slot, st.Confirmed, st.Confirmed, cfg.File, postgres.ErrSlotAhead)
		}
		if err != nil {
			return "", fmt.Errorf("cannot move to %s: %w", p, err)
		}
		return fmt.Sprintf("replication slot %q has confirmed %s, at or before it", cfg.Source.Slot, st.Confirmed), nil
	}
	return "", fmt.Errorf("position %v is of no supported source", pos)
}

func orNone(s string) string {
	if s == "" {
		return "(none named)"
	}
	return s
}

// refuseRunning fails when an instance of the connector runs: moving its
// checkpoint under it would be overwritten by its next commit (or fence it
// mid-stream). See kafka.JoinPresence for how it is told.
func refuseRunning(ctx context.Context, cfg *config.Config, what string) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	members, err := kafka.RunningMembers(ctx, kafkaCluster(cfg), cfg.Name)
	if err != nil {
		return fmt.Errorf("telling whether connector %q runs: %w", cfg.Name, err)
	}
	if len(members) == 0 {
		return nil
	}
	var ms []string
	for _, m := range members {
		ms = append(ms, m.String())
	}
	return fmt.Errorf("connector %q is running (%s): stop it first, then %s; a process that was killed counts as running for up to %s (the Kafka session timeout of group %s)",
		cfg.Name, strings.Join(ms, "; "), what, kafka.PresenceSessionTimeout, kafka.PresenceGroup(cfg.Name))
}

func setPosition(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("positions set", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "connector configuration `file` (YAML)")
	seq := fs.Int64("seq", -1, "move to the history's checkpoint with sequence `n`")
	at := fs.String("time", "", "move to the newest checkpoint committed at or before `time` (RFC 3339)")
	pos := fs.String("position", "", "move to `position` (the source's text form, as cdc positions prints it)")
	dry := fs.Bool("dry-run", false, "check and say what would happen, change nothing")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *path == "" || fs.NArg() > 0 {
		return usageError{errors.New("positions set: want -c FILE and one of -seq N, -time T, -position P")}
	}
	var t target
	n := 0
	if *seq >= 0 {
		t.seq, t.hasSeq = uint64(*seq), true
		n++
	}
	if *at != "" {
		tm, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return usageError{fmt.Errorf("positions set: -time %q: want RFC 3339, such as 2026-03-14T16:26:53Z", *at)}
		}
		t.at = tm
		n++
	}
	if *pos != "" {
		t.position = *pos
		n++
	}
	if n != 1 {
		return usageError{errors.New("positions set: want exactly one of -seq N, -time T, -position P")}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if err := refuseRunning(ctx, cfg, "run cdc positions set again"); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, connectTimeout)
	cur, hist, err := readPositions(rctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	if cur == nil {
		return fmt.Errorf("connector %q has no checkpoint yet in topic %s: there is nothing to move; start it once (cdc run) first", cfg.Name, cfg.Kafka.CheckpointTopic)
	}
	to, entry, err := t.pick(hist, cur)
	if err != nil {
		return err
	}
	m, err := planMove(ctx, cfg, cur, to, entry, hist)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	m.describe(&out, cfg)
	if *dry {
		fmt.Fprintln(&out, "dry run: nothing written")
		_, err := stdout.Write(out.Bytes())
		return err
	}
	stdout.Write(out.Bytes())
	log := newLogger(cfg, stderr).With("connector", cfg.Name)
	written, err := m.commit(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote checkpoint seq %d at %s; the next cdc run starts there\n", written.Seq, written.Position)
	return nil
}

// describe says what the move does.
func (m *move) describe(w io.Writer, cfg *config.Config) {
	fmt.Fprintf(w, "connector %s: checkpoint seq %d at %s (committed %s)%s\n", cfg.Name, m.cur.Seq, m.cur.Position, m.cur.Time.UTC().Format(time.RFC3339), describeCheckpoint(m.cur))
	if m.entry != nil {
		fmt.Fprintf(w, "moving to seq %d at %s (committed %s)%s\n", m.entry.Seq, m.to.Position, m.entry.Time.UTC().Format(time.RFC3339), describeCheckpoint(&m.to))
	} else {
		fmt.Fprintf(w, "moving to %s\n", m.to.Position)
	}
	fmt.Fprintf(w, "preflight: %s: ok\n", m.checked)
	switch {
	case m.back:
		est := "the history does not say how many records"
		if m.records >= 0 {
			est = fmt.Sprintf("about %d records in %d Kafka transactions, from the history", m.records, m.txns)
		}
		fmt.Fprintf(w, "re-emits the changes after %s up to %s (%s), with header %s: true; later changes follow unmarked\n",
			m.to.Position, m.bound.Until, est, pipeline.ReplayHeader)
	case bytes.Equal(m.to.Position, m.cur.Position):
		fmt.Fprintln(w, "same position: nothing is re-emitted or skipped")
	default:
		fmt.Fprintf(w, "moves forward: the changes after %s up to %s are skipped, never sent\n", m.cur.Position, m.to.Position)
	}
}

// commit writes the moved checkpoint with the connector's transactional id
// (fencing any instance that started since the check) after making sure the
// checkpoint did not change meanwhile.
func (m *move) commit(ctx context.Context, cfg *config.Config, log *slog.Logger) (*kafka.Checkpoint, error) {
	kctx, cancel := context.WithTimeout(ctx, max(connectTimeout, cfg.Kafka.TransactionTimeout.Std()+10*time.Second))
	defer cancel()
	sink, err := kafka.Open(kctx, sinkConfig(cfg), log.With("sink", "kafka"))
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	now, err := sink.LoadCheckpoint(kctx, cfg.Name)
	if err != nil {
		return nil, err
	}
	if now == nil || now.Seq != m.cur.Seq {
		return nil, fmt.Errorf("the checkpoint of connector %q changed while the move was checked (seq %d, now %v): did it start? nothing written", cfg.Name, m.cur.Seq, seqOf(now))
	}
	return m.write(kctx, sink, log)
}

func seqOf(cp *kafka.Checkpoint) any {
	if cp == nil {
		return "none"
	}
	return cp.Seq
}

// write commits the moved checkpoint on sink, whose loaded checkpoint is
// m.cur.
func (m *move) write(ctx context.Context, sink *kafka.Writer, log *slog.Logger) (*kafka.Checkpoint, error) {
	cp := kafka.Checkpoint{Connector: m.cur.Connector, Server: m.cur.Server, Position: m.to.Position, Partial: m.to.Partial,
		Seq: m.cur.Seq + 1, Time: time.Now().UTC(), Replay: m.bound}
	if err := sink.Commit(ctx, cp); err != nil {
		return nil, fmt.Errorf("writing the moved checkpoint: %w", err)
	}
	attrs := []any{"seq", cp.Seq, "position", string(cp.Position), "replaced_seq", m.cur.Seq, "replaced_position", string(m.cur.Position)}
	if m.bound != nil {
		attrs = append(attrs, "replay_until", string(m.bound.Until))
	}
	log.Info("checkpoint moved", attrs...)
	return &cp, nil
}

// moveForRun is `cdc run -from`: the move of `cdc positions set -position`
// on the run's own writer (which has fenced any older instance). It returns
// the checkpoint the run starts from.
func moveForRun(ctx context.Context, cfg *config.Config, sink *kafka.Writer, cur *kafka.Checkpoint, from string, log *slog.Logger) (*kafka.Checkpoint, error) {
	if cur == nil {
		return nil, fmt.Errorf("-from %s: connector %q has no checkpoint yet; start it once without -from", from, cfg.Name)
	}
	to := kafka.Checkpoint{Connector: cur.Connector, Server: cur.Server, Position: []byte(from)}
	hctx, cancel := context.WithTimeout(ctx, connectTimeout)
	hist, err := kafka.ReadHistory(hctx, kafkaCluster(cfg), cfg.Kafka.HistoryTopic, cfg.Name)
	cancel()
	if err != nil {
		return nil, err
	}
	m, err := planMove(ctx, cfg, cur, to, nil, hist)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	m.describe(&b, cfg)
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		log.Info("-from: " + line)
	}
	return m.write(ctx, sink, log)
}

// replayOption is the pipeline's replay bound for a run from cp.
func replayOption(cfg *config.Config, cp *kafka.Checkpoint) (*pipeline.Replay, error) {
	if cp == nil || cp.Replay == nil {
		return nil, nil
	}
	until, err := parsePosition(cfg, cp.Replay.Until)
	if err != nil {
		return nil, fmt.Errorf("reading the replay bound of the checkpoint of connector %q: %w", cfg.Name, err)
	}
	return &pipeline.Replay{Until: until, Bound: *cp.Replay, Order: order(cfg)}, nil
}

// resumeReplay is the replay bound after a source failure: the newest
// checkpoint's (the last commit may have passed the bound, or not).
func resumeReplay(ctx context.Context, sink *kafka.Writer, cfg *config.Config, was *pipeline.Replay) (*pipeline.Replay, error) {
	if was == nil {
		return nil, nil // a replay never starts by itself
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	cp, err := sink.LoadCheckpoint(ctx, cfg.Name)
	if err != nil {
		return nil, err
	}
	return replayOption(cfg, cp)
}
