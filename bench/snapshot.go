package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// snapshotLoad is workload (6): Rows rows are in t before the connector
// first starts (ids and seqs 1..Rows); the connector snapshots them (cdc
// snapshot.mode: initial, Debezium snapshot.mode=initial) while a writer
// commits single-row transactions at WriteRate, 70% updates of random keys
// and 30% inserts of new keys. The figures are the time until every row
// has been read in some state (the snapshot is done), and the run ends
// when every key's newest state has been read; snapChecker judges it.
type snapshotLoad struct {
	Rows      int64
	WriteRate float64 // transactions per second during the snapshot; 0 for none
}

func (snapshotLoad) Name() string { return "snapshot" }

func (snapshotLoad) Capture() capture { return capture{Snapshot: true} }

// snapshotLoadRows is how many rows one statement of the initial load
// inserts: the load is not measured, so it goes in large statements.
const snapshotLoadRows = 1000

// snapshotTail is how long the writer goes on after the snapshot is done,
// so that some changes are streamed after it.
const snapshotTail = 500 * time.Millisecond

func (s snapshotLoad) Run(ctx context.Context, r *runCtx) error {
	w, err := r.db.Writer(ctx, r.ns)
	if err != nil {
		return err
	}
	defer w.Close()
	start := time.Now()
	if err := s.load(ctx, r, w); err != nil {
		return fmt.Errorf("loading the table: %w", err)
	}
	r.metric("load_s", time.Since(start).Seconds())

	t0 := time.Now()
	if err := r.conn.Start(ctx); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(s.Rows), 6)) // the same changes for every connector
	keys := s.Rows
	var written, streamedWrites int64
	var interval time.Duration
	if s.WriteRate > 0 {
		interval = time.Duration(float64(time.Second) / s.WriteRate)
	}
	next := time.Now()
	var doneAt time.Time
	var cpuDone float64
	lastProgress, lastCount, lastNew := time.Time{}, int64(-1), time.Now()
	for {
		st := r.tr.state()
		if st.Err != nil {
			return fmt.Errorf("consumer: %w", st.Err)
		}
		if err := r.conn.Err(); err != nil {
			return err
		}
		if doneAt.IsZero() && st.KeysRead >= s.Rows {
			doneAt, cpuDone = time.Now(), r.conn.Stats().CPUSeconds
		}
		if !doneAt.IsZero() && time.Since(doneAt) >= snapshotTail {
			break
		}
		if st.Distinct != lastCount {
			lastCount, lastNew = st.Distinct, time.Now()
		}
		if time.Since(lastNew) > r.timeout {
			return fmt.Errorf("snapshot: %w with %d of %d rows read (nothing new for %v)", errTimeout, st.KeysRead, s.Rows, r.timeout)
		}
		if time.Since(lastProgress) >= time.Second {
			r.progress("snapshot: %d/%d rows read, %d changes written during it, %.0f s", st.KeysRead, s.Rows, written, time.Since(t0).Seconds())
			lastProgress = time.Now()
		}
		if interval == 0 || time.Now().Before(next) {
			wait := 20 * time.Millisecond
			if interval > 0 {
				wait = min(wait, time.Until(next))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		// One change on a schedule; after a stall (a snapshot lock) the
		// schedule restarts rather than bursting.
		next = next.Add(interval)
		if time.Since(next) > time.Second {
			next = time.Now()
		}
		must := r.tr.streamed()
		x := row{Seq: r.nextSeq(), TsUs: time.Now().UnixMicro()}
		op := byte('u')
		if rng.IntN(10) < 3 {
			keys++
			x.ID, op = keys, 'c'
			err = w.Insert(ctx, []row{x})
		} else {
			x.ID = 1 + rng.Int64N(keys)
			err = w.Update(ctx, []row{x})
		}
		if err != nil {
			return fmt.Errorf("writing during the snapshot: %w", err)
		}
		r.tr.expectSnapshot(change{Key: x.ID, Seq: x.Seq, Op: op}, must)
		written++
		if must {
			streamedWrites++
		}
	}
	// Every key's newest state: the changes written near the end.
	settle := time.Now()
	total := keys
	if err := r.await(ctx, total, "snapshot, the newest states", "keys", func(st trackerState) int64 { return total - st.Unsettled }); err != nil {
		return err
	}
	st := r.tr.state()
	done := st.KeysDone
	r.metric("start_to_first_s", st.First.Sub(t0).Seconds())
	r.metric("start_to_done_s", done.Sub(t0).Seconds())
	r.metric("snapshot_s", done.Sub(st.First).Seconds())
	r.metric("settle_s", time.Since(settle).Seconds())
	// As the backlog's events_per_s: from the first read, without the
	// process's start-up; and from the process start.
	if d := done.Sub(st.First).Seconds(); d > 0 {
		r.metric("rows_per_s", float64(s.Rows)/d)
	} else {
		r.metric("rows_per_s", float64(s.Rows)/done.Sub(t0).Seconds())
	}
	r.metric("rows_per_s_from_start", float64(s.Rows)/done.Sub(t0).Seconds())
	r.metric("cpu_snapshot_s", cpuDone)
	r.metric("concurrent_changes", float64(written))
	r.metric("concurrent_streamed", float64(streamedWrites))
	return nil
}

// load inserts the rows the snapshot reads, with seq = id.
func (s snapshotLoad) load(ctx context.Context, r *runCtx, w writer) error {
	batch := make([]row, 0, snapshotLoadRows)
	now := time.Now().UnixMicro()
	for id := int64(1); id <= s.Rows; {
		batch = batch[:0]
		for ; len(batch) < snapshotLoadRows && id <= s.Rows; id++ {
			batch = append(batch, row{ID: id, Seq: id, TsUs: now})
		}
		if err := w.Insert(ctx, batch); err != nil {
			return err
		}
		if id%(snapshotLoadRows*50) == 1 {
			r.progress("loading the table: %d/%d rows", id-1, s.Rows)
		}
	}
	r.seq = s.Rows
	return nil
}
