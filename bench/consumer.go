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
type tracker struct {
	cl *kgo.Client

	mu           sync.Mutex
	chk          checker
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

func newTracker(brokers []string, topic string) (*tracker, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(250*time.Millisecond),
		kgo.ClientID("cdc-bench-consumer"),
	)
	if err != nil {
		return nil, fmt.Errorf("creating the consumer: %w", err)
	}
	const maxLatencyUs = 10 * 60 * 1e6 // 10 minutes
	return &tracker{
		cl:     cl,
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
		fs.EachRecord(func(r *kgo.Record) { t.record(r.Value, recv) })
		if t.firstPoll == 0 && !t.first.IsZero() {
			t.firstPoll = t.chk.Distinct()
		}
		t.mu.Unlock()
	}
}

// record handles one record; t.mu is held.
func (t *tracker) record(v []byte, recv time.Time) {
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
	if !t.chk.Observe(d.change) {
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
}

func (t *tracker) state() trackerState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return trackerState{Distinct: t.chk.Distinct(), Probes: t.probes, First: t.first, Last: t.last, FirstPoll: t.firstPoll, Err: t.firstErr}
}

// close stops the consumer and returns the verdict.
func (t *tracker) close() (correctness, int64, int64) {
	t.cl.Close()
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.chk.Result()
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
