package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/source/mysql"
	"github.com/cdc-go/cdc/source/postgres"
	"github.com/cdc-go/cdc/transform"
)

// snapshotSource is what a source offers for snapshots.
type snapshotSource interface {
	// SnapshotTables returns the captured tables matching the patterns.
	SnapshotTables(ctx context.Context, patterns []string) ([]string, error)
	// SetSnapshot gives the next Stream its snapshot work.
	SetSnapshot(plan snapshot.Plan) error
}

// initialSnapshot is the id of the snapshot snapshot.mode starts.
const initialSnapshot = snapshot.Initial

// snapshotTopic is the compacted topic of the tables' progress records.
func snapshotTopic(cfg *config.Config) string { return cfg.Kafka.TopicPrefix + "._snapshots" }

// snapshotStart is what a run does about snapshots.
type snapshotStart struct {
	plan snapshot.Plan
	// ref is what the run's checkpoints name at first; init the records
	// its first Kafka transaction writes.
	ref  *kafka.SnapshotRef
	init []transform.Record
	// nothing: snapshot.mode initial_only has nothing left to do.
	nothing bool
}

// planSnapshot decides, from the mode and the checkpoint, whether this run
// snapshots, and loads the progress of unfinished snapshots from Kafka.
// requests, when set, are the on-demand requests the run takes while it
// streams (whatever the mode).
func planSnapshot(ctx context.Context, cfg *config.Config, src streamer, cp *kafka.Checkpoint, requests <-chan snapshot.Request, log *slog.Logger) (snapshotStart, error) {
	var st snapshotStart
	ss, ok := src.(snapshotSource)
	if !ok {
		return st, nil
	}
	mode := cfg.Snapshot.Mode
	plan := snapshot.Plan{ID: initialSnapshot, ChunkSize: cfg.Snapshot.ChunkSize, Parallel: cfg.Snapshot.ParallelTables, Value: "true", Requests: requests,
		Patterns: cfg.SnapshotTables(), Partial: cp != nil && cp.Partial != nil}
	switch {
	case cp == nil && mode == config.SnapshotNever:
	case cp == nil:
		tables, err := ss.SnapshotTables(ctx, cfg.SnapshotTables())
		if err != nil {
			return st, err
		}
		for _, t := range tables {
			p := snapshot.Progress{Table: t, Snapshot: plan.ID, State: snapshot.StatePending}
			text, err := p.MarshalText()
			if err != nil {
				return st, err
			}
			plan.Tables = append(plan.Tables, p)
			st.init = append(st.init, transform.Record{Topic: snapshotTopic(cfg), Key: []byte(t), Value: text})
		}
		if len(tables) > 0 {
			st.ref = &kafka.SnapshotRef{ID: plan.ID, Open: len(tables)}
			log.Info("snapshot of existing rows starts with the stream", "tables", len(tables), "chunk_size", plan.ChunkSize, "parallel_tables", plan.Parallel, "mode", mode)
		}
	case cp.Snapshot == nil:
		if mode == config.SnapshotInitialOnly {
			st.nothing = true
		}
	default:
		st.ref = cp.Snapshot
		ids := map[string]bool{}
		for _, id := range cp.Snapshot.IDs() {
			ids[id] = true
		}
		if mode == config.SnapshotNever && ids[initialSnapshot] {
			// On-demand snapshots go on in every mode; the initial one
			// only outside never.
			log.Warn("a snapshot is unfinished; snapshot.mode never leaves it so (the checkpoint keeps it for a later run in another mode, until an on-demand snapshot is taken)",
				"snapshot", initialSnapshot, "tables_open", cp.Snapshot.Open)
			delete(ids, initialSnapshot)
			if len(ids) == 0 {
				break
			}
		}
		records, err := loadSnapshotProgress(ctx, cfg)
		if err != nil {
			return st, err
		}
		known := 0
		for _, p := range records {
			if !ids[p.Snapshot] {
				continue
			}
			known++
			if p.State == snapshot.StatePending || p.State == snapshot.StateRunning {
				plan.Tables = append(plan.Tables, p)
			}
		}
		if len(plan.Tables) == 0 && known > 0 {
			// Every table is done in records newer than the checkpoint: it
			// was moved back (cdc positions set) to before the end of the
			// snapshot. The replayed stream brings each key to its state.
			log.Info("the snapshots the checkpoint names are done (the checkpoint was moved back)", "snapshots", cp.Snapshot.IDs())
			st.ref = nil
			return st, ss.SetSnapshot(snapshot.Plan{})
		}
		if len(plan.Tables) == 0 {
			return st, fmt.Errorf("the checkpoint names snapshots %q with %d tables not done, but topic %q holds no unfinished record of them (was the topic deleted?); to start over, delete the connector's checkpoint (a tombstone for key %q on %q)",
				cp.Snapshot.IDs(), cp.Snapshot.Open, snapshotTopic(cfg), cfg.Name, cfg.Kafka.CheckpointTopic)
		}
		log.Info("resuming the snapshot", "snapshot", plan.Tables[0].Snapshot, "snapshots", cp.Snapshot.IDs(), "tables_open", len(plan.Tables), "table", plan.Tables[0].Table,
			"rows_so_far", plan.Tables[0].Rows)
		if cp.Partial != nil && len(cp.Partial.CommitPos) > 0 {
			if plan.After, err = src.ParsePosition(cp.Partial.CommitPos); err != nil {
				return st, fmt.Errorf("reading checkpoint of connector %q: %w", cfg.Name, err)
			}
		}
	}
	st.plan = plan
	return st, ss.SetSnapshot(plan)
}

// loadSnapshotProgress reads the newest committed progress record of every
// table, in the order the tables were first recorded.
func loadSnapshotProgress(ctx context.Context, cfg *config.Config) ([]snapshot.Progress, error) {
	latest := map[string]int{}
	var out []snapshot.Progress
	err := kafka.ReadTopic(ctx, kafkaCluster(cfg), snapshotTopic(cfg), func(key, value []byte) error {
		if value == nil {
			if i, ok := latest[string(key)]; ok {
				out[i].State = snapshot.StateCancelled
			}
			return nil
		}
		p, err := snapshot.ParseProgress(value)
		if err != nil {
			return err
		}
		if i, ok := latest[p.Table]; ok {
			out[i] = p
			return nil
		}
		latest[p.Table] = len(out)
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading snapshot progress from topic %q: %w", snapshotTopic(cfg), err)
	}
	return out, nil
}

// positionGone reports why the server no longer holds the changes after
// pos (purged binlog, a slot past it), or "" when it does.
func positionGone(ctx context.Context, cfg *config.Config, src streamer, pos source.Position) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	switch p := pos.(type) {
	case mysql.Position:
		s, ok := src.(*mysql.Source)
		if !ok {
			return "", nil
		}
		err := s.CheckAvailable(ctx, p)
		var pe *mysql.PurgedError
		if errors.As(err, &pe) {
			return pe.Detail, nil
		}
		return "", err
	case postgres.LSN:
		st, err := postgres.CheckAvailable(ctx, postgresConfig(cfg), src.Server(), p)
		if errors.Is(err, postgres.ErrSlotAhead) {
			return fmt.Sprintf("replication slot %q has confirmed %s, past the checkpoint", cfg.Source.Slot, st.Confirmed), nil
		}
		return "", err
	}
	return "", nil
}

// describeSnapshot prints each table's committed snapshot progress: state,
// rows read of the estimate, chunks.
func describeSnapshot(ctx context.Context, w io.Writer, cfg *config.Config, cp *kafka.Checkpoint) error {
	records, err := loadSnapshotProgress(ctx, cfg)
	if err != nil || len(records) == 0 {
		return err
	}
	fmt.Fprintf(w, "snapshot progress in topic %s:\n", snapshotTopic(cfg))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSNAPSHOT\tSTATE\tROWS\tESTIMATE\tCHUNKS")
	for _, p := range records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\n", p.Table, p.Snapshot, p.State, p.Rows, p.Estimate, p.Chunks)
	}
	return tw.Flush()
}
