package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// tracker reads the run's topic with its own read_committed consumer (no
// group, from the start) and keeps what the checks and figures need:
// the correctness checker, the time of the first and last new change, and
// the commit-to-visible latencies of the changes inside a time window.
//
// The receive time of a record is when the poll that returned it did, taken
// before any decoding. Latency is measured twice: from the writer's clock
// written into the row (ts_us, microseconds, taken just before the change's
// statement is sent, so it includes the commit itself), and from
// source.ts_ms (the source's own commit time, whole milliseconds).
//
// It reads one topic per captured table; a change's key is its table's
// index (in the order of the topics) with its id (tableKey), so the checks
// are per (table, key). A snapshot run is judged by a snapChecker instead
// of the checker.
type tracker struct {
	cl     *kgo.Client
	tables map[string]int // topic -> table index

	mu           sync.Mutex
	chk          checker
	snap         *snapChecker // snapshot runs only
	keysDone     time.Time    // snapshot: receive time of the read that made KeysRead complete
	probes       int64
	tombstones   int64
	decodeErrors int64
	firstErr     error
	first, last  time.Time // receive times of the first and the latest new change
	firstPoll    int64     // changes that the poll returning the first one brought
	winFrom      int64     // ts_us window [winFrom, winTo) whose latencies count
	winTo        int64
	lat, latSrc  *hdrhistogram.Histogram // microseconds

	done chan struct{}
}

// newTracker reads topics, the first one table t's. With snap it judges
// a snapshot run.
func newTracker(brokers []string, topics []string, snap *snapChecker) (*tracker, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(250*time.Millisecond),
		kgo.ClientID("cdc-bench-consumer"),
	)
	if err != nil {
		return nil, fmt.Errorf("creating the consumer: %w", err)
	}
	const maxLatencyUs = 10 * 60 * 1e6 // 10 minutes
	tables := make(map[string]int, len(topics))
	for i, t := range topics {
		tables[t] = i
	}
	return &tracker{
		cl:     cl,
		tables: tables,
		snap:   snap,
		lat:    hdrhistogram.New(1, maxLatencyUs, 3),
		latSrc: hdrhistogram.New(1, maxLatencyUs, 3),
		done:   make(chan struct{}),
	}, nil
}

// run consumes until ctx ends or Close.
func (t *tracker) run(ctx context.Context) {
	defer close(t.done)
	for {
		fs := t.cl.PollFetches(ctx)
		recv := time.Now()
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.mu.Lock()
			if t.firstErr == nil {
				t.firstErr = fmt.Errorf("fetching %s[%d]: %w", topic, p, err)
			}
			t.mu.Unlock()
		})
		t.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) { t.record(r.Topic, r.Value, recv) })
		if t.firstPoll == 0 && !t.first.IsZero() {
			t.firstPoll = t.distinct()
		}
		t.mu.Unlock()
	}
}

// distinct is the checker's count of different changes; t.mu is held.
func (t *tracker) distinct() int64 {
	if t.snap != nil {
		return t.snap.Distinct()
	}
	return t.chk.Distinct()
}

// record handles one record; t.mu is held.
func (t *tracker) record(topic string, v []byte, recv time.Time) {
	d, err := decodeValue(v)
	switch {
	case err != nil:
		t.decodeErrors++
		if t.firstErr == nil {
			t.firstErr = err
		}
		return
	case d.Tombstone:
		t.tombstones++
		return
	case d.Key < 0:
		t.probes++
		return
	}
	d.Key = tableKey(t.tables[topic], d.Key)
	if t.snap != nil {
		done := t.snap.KeysRead() >= t.snap.rows
		if !t.snap.Observe(d.change) {
			return
		}
		if !done && t.snap.KeysRead() >= t.snap.rows {
			t.keysDone = recv
		}
	} else if !t.chk.Observe(d.change) {
		return
	}
	if t.first.IsZero() {
		t.first = recv
	}
	t.last = recv
	if d.TsUs >= t.winFrom && d.TsUs < t.winTo {
		us := recv.UnixMicro()
		t.lat.RecordValue(max(us-d.TsUs, 1))
		if d.SourceTsMs > 0 {
			t.latSrc.RecordValue(max(us-d.SourceTsMs*1000, 1))
		}
	}
}

// expect registers a committed change (the writer calls it).
func (t *tracker) expect(ch change) {
	t.mu.Lock()
	t.chk.Expect(ch)
	t.mu.Unlock()
}

// expectSnapshot registers a change committed during a snapshot run;
// mustStream as snapChecker.Expect.
func (t *tracker) expectSnapshot(ch change, mustStream bool) {
	t.mu.Lock()
	t.snap.Expect(ch, mustStream)
	t.mu.Unlock()
}

// streamed reports whether a snapshot run has read a streamed change.
func (t *tracker) streamed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap.Streamed()
}

// setWindow sets the ts_us range of changes whose latency is recorded.
func (t *tracker) setWindow(from, to time.Time) {
	t.mu.Lock()
	t.winFrom, t.winTo = from.UnixMicro(), to.UnixMicro()
	t.mu.Unlock()
}

type trackerState struct {
	Distinct, Probes int64
	First, Last      time.Time
	FirstPoll        int64 // changes the first poll with any brought
	Err              error // a fetch or decoding error
	// Snapshot runs: keys of the initial rows read in some state, the
	// receive time of the read that completed them, and the keys whose
	// newest state is not read yet.
	KeysRead  int64
	KeysDone  time.Time
	Unsettled int64
}

func (t *tracker) state() trackerState {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := trackerState{Distinct: t.distinct(), Probes: t.probes, First: t.first, Last: t.last, FirstPoll: t.firstPoll, Err: t.firstErr}
	if t.snap != nil {
		st.KeysRead, st.KeysDone, st.Unsettled = t.snap.KeysRead(), t.keysDone, t.snap.Unsettled()
	}
	return st
}

// close stops the consumer and returns the verdict.
func (t *tracker) close() (correctness, int64, int64) {
	t.cl.Close()
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	var r correctness
	if t.snap != nil {
		r = t.snap.Result()
	} else {
		r = t.chk.Result()
	}
	r.Unexpected += t.decodeErrors
	return r, t.tombstones, t.probes
}

// latencyFigures summarises a histogram in milliseconds.
type latencyFigures struct {
	Basis  string  `json:"basis"`
	Count  int64   `json:"count"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

func figures(h *hdrhistogram.Histogram, basis string) latencyFigures {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return latencyFigures{
		Basis: basis, Count: h.TotalCount(),
		P50Ms: ms(h.ValueAtQuantile(50)), P99Ms: ms(h.ValueAtQuantile(99)), P999Ms: ms(h.ValueAtQuantile(99.9)),
		MaxMs: ms(h.Max()), MeanMs: h.Mean() / 1000,
	}
}

func (t *tracker) latencies() (writer, source latencyFigures) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return figures(t.lat, basisWriter), figures(t.latSrc, basisSource)
}

const (
	basisWriter = "writer clock before the change's statement is sent (row column ts_us, µs) -> consumer receive"
	basisSource = "source.ts_ms (the database's commit time, whole ms) -> consumer receive"
)
