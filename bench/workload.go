package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// A workload drives one run: it writes the source table, starts and stops
// the connector as its scenario needs, and fills in the run's figures. The
// harness around it makes the namespace and topic, runs the tracker, judges
// correctness and cleans up, so a new workload (mixed, wide rows, many
// tables, decode-only, snapshot) only says what it writes and measures.
type workload interface {
	Name() string
	// Capture is what the connector must capture besides t.
	Capture() capture
	Run(ctx context.Context, r *runCtx) error
}

// capture is what a workload needs of the harness and the connector
// besides table t (which every run has, for the probe rows): more tables,
// each created with a topic of its own and captured, and whether the
// connector snapshots the tables at its first start.
type capture struct {
	Wide     []string // wide tables (wide.go) in the run's namespace
	Snapshot bool
}

// runCtx is what a workload works with.
type runCtx struct {
	db       database
	conn     connector
	ns       string
	tables   []string // the captured tables of ns: t first
	tr       *tracker
	timeout  time.Duration // for each wait
	progress func(format string, args ...any)
	seq      int64      // the last seq handed out
	probeID  int64      // the last probe key (negative)
	res      *runResult // figures go to res.Metrics and res.Details
}

// nextSeq hands out the next run-unique seq (steady's writers share it).
func (r *runCtx) nextSeq() int64 { return atomic.AddInt64(&r.seq, 1) }

// tableIndex is a table's index in r.tables, as the tracker numbers the
// topics (see tableKey).
func (r *runCtx) tableIndex(name string) int {
	for i, t := range r.tables {
		if t == name {
			return i
		}
	}
	return -1
}

// metric records a figure of the run.
func (r *runCtx) metric(name string, v float64) { r.res.Metrics[name] = v }

// awaitStreaming writes probe rows (negative keys, not part of the checks)
// every 500 ms until one is visible in Kafka: then the connector streams,
// and every change committed from now on must reach the topic. Rows
// written before that may be missed by design (no snapshot), which is why
// the probes carry no seq.
func (r *runCtx) awaitStreaming(ctx context.Context, w writer) (time.Duration, error) {
	start := time.Now()
	base := r.tr.state().Probes
	deadline := start.Add(r.timeout)
	for {
		r.probeID--
		if err := w.Insert(ctx, []row{{ID: r.probeID, TsUs: time.Now().UnixMicro()}}); err != nil {
			return 0, fmt.Errorf("writing a probe row: %w", err)
		}
		for i := 0; i < 10; i++ {
			if r.tr.state().Probes > base {
				return time.Since(start), nil
			}
			if err := r.conn.Err(); err != nil {
				return 0, err
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("no probe row visible %v after the connector started", r.timeout)
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

var errTimeout = errors.New("timed out")

// awaitChanges waits until n different changes are visible, printing
// progress. It fails when the connector fails or nothing new arrives for
// r.timeout.
func (r *runCtx) awaitChanges(ctx context.Context, n int64, what string) error {
	return r.await(ctx, n, what, "changes", func(st trackerState) int64 { return st.Distinct })
}

// await waits until count(state) reaches n, as awaitChanges; unit names
// what count counts, for the messages.
func (r *runCtx) await(ctx context.Context, n int64, what, unit string, count func(trackerState) int64) error {
	start := time.Now()
	lastProgress, lastCount, lastNew := time.Time{}, int64(-1), time.Now()
	for {
		st := r.tr.state()
		if count(st) >= n {
			return nil
		}
		if st.Err != nil {
			return fmt.Errorf("consumer: %w", st.Err)
		}
		if err := r.conn.Err(); err != nil {
			return err
		}
		if st.Distinct != lastCount {
			lastCount, lastNew = st.Distinct, time.Now()
		}
		if time.Since(lastNew) > r.timeout {
			return fmt.Errorf("%s: %w with %d of %d %s visible (nothing new for %v)", what, errTimeout, count(st), n, unit, r.timeout)
		}
		if time.Since(lastProgress) >= time.Second {
			r.progress("%s: %d/%d %s visible, %.0f s", what, count(st), n, unit, time.Since(start).Seconds())
			lastProgress = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// backlog is workload (1): N rows written while the connector is stopped,
// then the time until the restarted connector has made all of them
// visible. The connector runs first until a probe row is visible, so that
// its position (slot, binlog offset) is set before the backlog is written.
//
// With Mixed it is workload (2): the backlog is N row changes, 60% inserts,
// 30% updates and 10% deletes (by rows) over Keys keys, so that keys see
// several changes each and the order per key is put to the test. Each
// transaction is one statement of one kind over TxRows different keys.
//
// With Tables it is workload (3): the backlog is N inserts of wide rows
// (about 4 KiB, wide.go) spread over that many tables, each with its own
// topic (writeWide).
type backlog struct {
	Rows   int64
	TxRows int // rows per source transaction
	Mixed  bool
	Keys   int64 // Mixed: the key space
	Tables int   // wide: the number of wide tables
}

func (b backlog) Name() string {
	switch {
	case b.Mixed:
		return "mixed"
	case b.Tables > 0:
		return "wide"
	}
	return "backlog"
}

func (b backlog) Capture() capture {
	if b.Tables > 0 {
		return capture{Wide: wideTableNames(b.Tables)}
	}
	return capture{}
}

func (b backlog) Run(ctx context.Context, r *runCtx) error {
	w, err := r.db.Writer(ctx, r.ns)
	if err != nil {
		return err
	}
	defer w.Close()
	if err := r.conn.Start(ctx); err != nil {
		return err
	}
	ready, err := r.awaitStreaming(ctx, w)
	if err != nil {
		return fmt.Errorf("before the backlog: %w", err)
	}
	r.progress("connector streams after %.1f s; stopping it", ready.Seconds())
	if _, err := r.conn.Stop(); err != nil {
		return fmt.Errorf("stopping the connector before the backlog: %w", err)
	}

	start := time.Now()
	var bytes int64 // wide: the source bytes written
	switch {
	case b.Mixed:
		err = b.writeMixed(ctx, r, w)
	case b.Tables > 0:
		bytes, err = b.writeWide(ctx, r, w)
	default:
		err = b.writeInserts(ctx, r, w)
	}
	if err != nil {
		return fmt.Errorf("writing the backlog: %w", err)
	}
	r.metric("write_s", time.Since(start).Seconds())

	t0 := time.Now()
	if err := r.conn.Start(ctx); err != nil {
		return fmt.Errorf("restarting the connector: %w", err)
	}
	// CPU between the first and the last event: the drain without the
	// process's start-up (a JVM's start alone costs several CPU seconds).
	cpuAtFirst := make(chan float64, 1)
	waitCtx, stopWait := context.WithCancel(ctx)
	defer stopWait()
	go func() {
		for r.tr.state().First.IsZero() {
			select {
			case <-waitCtx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		cpuAtFirst <- r.conn.Stats().CPUSeconds
	}()
	if err := r.awaitChanges(ctx, b.Rows, "draining the backlog"); err != nil {
		return err
	}
	done := time.Now()
	st := r.tr.state()
	stats := r.conn.Stats()
	drain := st.Last.Sub(st.First).Seconds()
	r.metric("start_to_first_s", st.First.Sub(t0).Seconds())
	r.metric("start_to_done_s", done.Sub(t0).Seconds())
	r.metric("drain_s", drain)
	// The rate after the first poll that brought anything: the changes
	// read after it over the time they took. Without the first poll's own
	// changes and latency, it is the drain rate of a running connector.
	// When one poll brought everything there is no such span, and the
	// rate from the process start stands in.
	if drain > 0 && st.FirstPoll < b.Rows {
		r.metric("events_per_s", float64(b.Rows-st.FirstPoll)/drain)
	} else {
		r.metric("events_per_s", float64(b.Rows)/done.Sub(t0).Seconds())
	}
	r.metric("events_per_s_from_start", float64(b.Rows)/done.Sub(t0).Seconds())
	if bytes > 0 {
		// The same rate in source bytes: the row data, not what the
		// envelope adds.
		perRow := float64(bytes) / float64(b.Rows)
		r.metric("row_bytes", perRow)
		r.metric("mb_per_s", r.res.Metrics["events_per_s"]*perRow/1e6)
		r.metric("tables", float64(b.Tables))
	}
	select {
	case c := <-cpuAtFirst:
		r.metric("cpu_drain_s", stats.CPUSeconds-c)
	case <-time.After(time.Second):
	}
	return nil
}

func (b backlog) writeInserts(ctx context.Context, r *runCtx, w writer) error {
	batch := make([]row, 0, b.TxRows)
	for i := int64(0); i < b.Rows; {
		batch = batch[:0]
		for ; len(batch) < b.TxRows && i < b.Rows; i++ {
			s := r.nextSeq()
			batch = append(batch, row{ID: s, Seq: s, TsUs: time.Now().UnixMicro()})
		}
		if err := w.Insert(ctx, batch); err != nil {
			return err
		}
		for _, x := range batch {
			r.tr.expect(change{Key: x.ID, Seq: x.Seq, Op: 'c'})
		}
		if i%(int64(b.TxRows)*100) == 0 {
			r.progress("writing the backlog: %d/%d rows", i, b.Rows)
		}
	}
	return nil
}

func (b backlog) writeMixed(ctx context.Context, r *runCtx, w writer) error {
	ks := newKeySet(b.Keys)
	rng := rand.New(rand.NewPCG(uint64(b.Rows), uint64(b.Keys))) // the same ops for every connector
	cur := map[int64]int64{}                                     // key -> seq of its current row
	for n := int64(0); n < b.Rows; {
		size := min(int64(b.TxRows), b.Rows-n)
		var op byte
		switch p := rng.IntN(100); {
		case p < 60:
			op = 'c'
		case p < 90:
			op = 'u'
		default:
			op = 'd'
		}
		// A statement needs keys of the right kind: inserts absent ones,
		// updates and deletes present ones.
		if op == 'c' && int64(ks.absentLen()) < size {
			op = 'u'
		}
		if op != 'c' && int64(ks.presentLen()) < size {
			op = 'c'
		}
		now := time.Now().UnixMicro()
		var changes []change
		switch op {
		case 'c', 'u':
			rows := make([]row, size)
			for i := range rows {
				var k int64
				if op == 'c' {
					k = ks.takeAbsent(rng)
				} else {
					k = ks.pickPresent(rng, rows[:i])
				}
				rows[i] = row{ID: k, Seq: r.nextSeq(), TsUs: now}
				changes = append(changes, change{Key: k, Seq: rows[i].Seq, Op: op})
			}
			var err error
			if op == 'c' {
				err = w.Insert(ctx, rows)
			} else {
				err = w.Update(ctx, rows)
			}
			if err != nil {
				return err
			}
			for _, x := range rows {
				cur[x.ID] = x.Seq
			}
		case 'd':
			ids := make([]int64, size)
			for i := range ids {
				ids[i] = ks.takePresent(rng)
				changes = append(changes, change{Key: ids[i], Seq: cur[ids[i]], Op: 'd'})
			}
			if err := w.Delete(ctx, ids); err != nil {
				return err
			}
			for _, id := range ids {
				delete(cur, id)
			}
		}
		for _, c := range changes {
			r.tr.expect(c)
		}
		n += size
		if n%(int64(b.TxRows)*100) < size {
			r.progress("writing the mixed backlog: %d/%d changes", n, b.Rows)
		}
	}
	return nil
}

// keySet tracks which keys of 1..n exist, with O(1) random picks.
type keySet struct {
	present, absent []int64
	pos             map[int64]int // index in present or absent
}

func newKeySet(n int64) *keySet {
	ks := &keySet{pos: make(map[int64]int, n)}
	for k := int64(1); k <= n; k++ {
		ks.pos[k] = len(ks.absent)
		ks.absent = append(ks.absent, k)
	}
	return ks
}

func (ks *keySet) presentLen() int { return len(ks.present) }
func (ks *keySet) absentLen() int  { return len(ks.absent) }

// move takes list[i] out of from and appends it to to.
func (ks *keySet) move(from, to *[]int64, i int) int64 {
	k := (*from)[i]
	last := len(*from) - 1
	(*from)[i] = (*from)[last]
	ks.pos[(*from)[i]] = i
	*from = (*from)[:last]
	ks.pos[k] = len(*to)
	*to = append(*to, k)
	return k
}

func (ks *keySet) takeAbsent(rng *rand.Rand) int64 {
	return ks.move(&ks.absent, &ks.present, rng.IntN(len(ks.absent)))
}

func (ks *keySet) takePresent(rng *rand.Rand) int64 {
	return ks.move(&ks.present, &ks.absent, rng.IntN(len(ks.present)))
}

// pickPresent returns a present key not among taken (one statement
// updates each key once).
func (ks *keySet) pickPresent(rng *rand.Rand, taken []row) int64 {
	for {
		k := ks.present[rng.IntN(len(ks.present))]
		dup := false
		for _, t := range taken {
			dup = dup || t.ID == k
		}
		if !dup {
			return k
		}
	}
}

// steady is workload (4): after the connector streams, single-row (or
// TxRows-row) transactions at a fixed rate for Warmup + Duration, from
// Writers connections that share the schedule (one durable commit takes
// longer than 1/Rate at high rates); the latency of the changes sent
// during Duration is recorded, and the connector's CPU time over Duration
// gives its cost per event.
type steady struct {
	Rate     float64 // transactions per second, all writers together
	TxRows   int
	Writers  int
	Warmup   time.Duration
	Duration time.Duration
}

func (s steady) Name() string { return "steady" }

func (s steady) Capture() capture { return capture{} }

func (s steady) Run(ctx context.Context, r *runCtx) error {
	nw := max(s.Writers, 1)
	ws := make([]writer, 0, nw)
	defer func() {
		for _, w := range ws {
			w.Close()
		}
	}()
	for range nw {
		w, err := r.db.Writer(ctx, r.ns)
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}
	if err := r.conn.Start(ctx); err != nil {
		return err
	}
	if _, err := r.awaitStreaming(ctx, ws[0]); err != nil {
		return err
	}
	start := time.Now()
	from, to := start.Add(s.Warmup), start.Add(s.Warmup+s.Duration)
	r.tr.setWindow(from, to)
	interval := time.Duration(float64(time.Second) / s.Rate)
	var cpuFrom atomic.Uint64 // float64 bits; 0 until the window opens
	var sent, inWindow atomic.Int64
	// Writer j sends transactions j, j+nw, j+2nw, ... of one absolute
	// schedule: a slow commit is caught up, not skipped, so the achieved
	// rate says whether the writers kept up.
	g, gctx := errgroup.WithContext(ctx)
	for j, w := range ws {
		g.Go(func() error {
			batch := make([]row, 0, s.TxRows)
			for i := int64(j); ; i += int64(nw) {
				next := start.Add(time.Duration(i) * interval)
				if !next.Before(to) {
					return nil
				}
				if d := time.Until(next); d > 0 {
					select {
					case <-gctx.Done():
						return gctx.Err()
					case <-time.After(d):
					}
				}
				if cpuFrom.Load() == 0 && !time.Now().Before(from) {
					cpuFrom.CompareAndSwap(0, math.Float64bits(r.conn.Stats().CPUSeconds))
				}
				batch = batch[:0]
				now := time.Now().UnixMicro()
				for len(batch) < s.TxRows {
					q := r.nextSeq()
					batch = append(batch, row{ID: q, Seq: q, TsUs: now})
				}
				if err := w.Insert(gctx, batch); err != nil {
					return fmt.Errorf("writing: %w", err)
				}
				for _, x := range batch {
					r.tr.expect(change{Key: x.ID, Seq: x.Seq, Op: 'c'})
				}
				sent.Add(int64(len(batch)))
				if now >= from.UnixMicro() {
					inWindow.Add(int64(len(batch)))
				}
				if err := r.conn.Err(); err != nil {
					return err
				}
			}
		})
	}
	g.Go(func() error {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
			}
			if !time.Now().Before(to) {
				return nil
			}
			st := r.tr.state()
			phase := "warm-up"
			if time.Now().After(from) {
				phase = "measuring"
			}
			r.progress("steady %s: %d changes sent, %d visible, %.0f s", phase, sent.Load(), st.Distinct, time.Since(start).Seconds())
		}
	})
	if err := g.Wait(); err != nil {
		return err
	}
	cpuTo := r.conn.Stats().CPUSeconds
	windowSecs := time.Since(from).Seconds()
	if err := r.awaitChanges(ctx, sent.Load(), "steady, the last changes"); err != nil {
		return err
	}
	r.metric("rate_target", s.Rate*float64(s.TxRows))
	r.metric("rate_achieved", float64(inWindow.Load())/windowSecs)
	r.metric("writers", float64(nw))
	n, cpu0 := inWindow.Load(), math.Float64frombits(cpuFrom.Load())
	r.metric("events_measured", float64(n))
	if cpu0 > 0 && n > 0 {
		r.metric("cpu_window_s", cpuTo-cpu0)
		r.metric("cpu_us_per_event", (cpuTo-cpu0)/float64(n)*1e6)
	}
	lw, ls := r.tr.latencies()
	if r.db.Kind() == "mariadb" {
		// The binlog's event timestamps are whole seconds.
		ls.Basis += "; MariaDB's binlog timestamps are whole seconds, so this basis is coarse there"
	}
	r.res.Latency, r.res.LatencySource = &lw, &ls
	r.metric("p50_ms", lw.P50Ms)
	r.metric("p99_ms", lw.P99Ms)
	r.metric("p999_ms", lw.P999Ms)
	r.metric("max_ms", lw.MaxMs)
	r.metric("src_p50_ms", ls.P50Ms)
	r.metric("src_p99_ms", ls.P99Ms)
	return nil
}
