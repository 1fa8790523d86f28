package pipeline

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-go/cdc/snapshot"
)

// Metrics are the pipeline's steady-state signals. A nil *Metrics records
// nothing. Create one per process with NewMetrics and the registry the
// caller serves.
type Metrics struct {
	events      *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	sourceTxs   prometheus.Counter
	commits     prometheus.Counter
	commitTime  prometheus.Histogram
	seq         prometheus.Gauge
	committedAt prometheus.Gauge
	lag         prometheus.GaugeFunc
	// uncommitted is the source commit time (Unix ns) of the oldest source
	// transaction read but not yet committed to Kafka; 0 when none is.
	uncommitted  atomic.Int64
	versions     *prometheus.CounterVec
	incompatible *prometheus.CounterVec
	// The snapshot, as committed.
	snapRows     *prometheus.GaugeVec
	snapEstimate *prometheus.GaugeVec
	snapChunks   prometheus.Counter
	snapOpen     prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{}
	*m = Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cdc_events_total", Help: "Row changes read from the source, by table and op (c, u, d, t, m).",
		}, []string{"table", "op"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cdc_dead_letters_total", Help: "Records sent to a dead-letter topic, by that topic.",
		}, []string{"topic"}),
		sourceTxs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cdc_source_transactions_total", Help: "Source transactions read.",
		}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cdc_kafka_commits_total", Help: "Kafka transactions committed (each with a checkpoint).",
		}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "cdc_kafka_commit_seconds", Help: "Time to flush and commit one Kafka transaction.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 12),
		}),
		seq: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cdc_checkpoint_seq", Help: "Sequence number of the last committed checkpoint.",
		}),
		committedAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cdc_checkpoint_timestamp_seconds", Help: "Wall time of the last committed checkpoint.",
		}),
		// Computed when scraped, so that it keeps growing while Kafka (or
		// the pipeline) is stuck, rather than freezing at the last commit.
		lag: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cdc_source_lag_seconds", Help: "Age, from its source commit, of the oldest source transaction read but not yet committed to Kafka; 0 when everything read is committed.",
		}, m.lagSeconds),
		versions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cdc_schema_versions_total", Help: "New schema versions recorded, by table.",
		}, []string{"table"}),
		incompatible: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cdc_schema_incompatible_total", Help: "Schema changes that break the configured compatibility, by table.",
		}, []string{"table"}),
		snapRows: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cdc_snapshot_rows", Help: "Rows the snapshot has read from the table in committed chunks (across restarts).",
		}, []string{"table"}),
		snapEstimate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cdc_snapshot_estimate_rows", Help: "The database's row estimate of the table when its snapshot started.",
		}, []string{"table"}),
		snapChunks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cdc_snapshot_chunks_total", Help: "Snapshot chunks committed by this process.",
		}),
		snapOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cdc_snapshot_tables_open", Help: "Tables of the running snapshot not done yet; 0 when no snapshot runs.",
		}),
	}
	reg.MustRegister(m.events, m.deadLetters, m.sourceTxs, m.commits, m.commitTime, m.seq, m.committedAt, m.lag, m.versions, m.incompatible,
		m.snapRows, m.snapEstimate, m.snapChunks, m.snapOpen)
	return m
}

func (m *Metrics) event(table, op string) {
	if m != nil {
		m.events.WithLabelValues(table, op).Inc()
	}
}

func (m *Metrics) deadLetter(topic string) {
	if m != nil {
		m.deadLetters.WithLabelValues(topic).Inc()
	}
}

// sourceTx counts a source transaction read, committed at commitTime on
// the source.
func (m *Metrics) sourceTx(commitTime time.Time) {
	if m == nil {
		return
	}
	m.sourceTxs.Inc()
	if commitTime.IsZero() {
		commitTime = time.Now()
	}
	m.uncommitted.CompareAndSwap(0, commitTime.UnixNano())
}

func (m *Metrics) lagSeconds() float64 {
	t := m.uncommitted.Load()
	if t == 0 {
		return 0
	}
	return max(0, time.Since(time.Unix(0, t)).Seconds())
}

// committed records a Kafka commit holding every source transaction read
// so far.
func (m *Metrics) committed(seq uint64, took time.Duration) {
	if m == nil {
		return
	}
	m.uncommitted.Store(0)
	m.commits.Inc()
	m.commitTime.Observe(took.Seconds())
	m.seq.Set(float64(seq))
	m.committedAt.Set(float64(time.Now().UnixNano()) / 1e9)
}

func (m *Metrics) schemaVersion(table string, incompatible bool) {
	if m == nil {
		return
	}
	m.versions.WithLabelValues(table).Inc()
	if incompatible {
		m.incompatible.WithLabelValues(table).Inc()
	}
}

// snapshotCommitted records the progress of committed snapshot chunks and
// how many tables are left.
func (m *Metrics) snapshotCommitted(steps []snapshot.Progress, open int) {
	if m == nil {
		return
	}
	for _, p := range steps {
		m.snapRows.WithLabelValues(p.Table).Set(float64(p.Rows))
		m.snapEstimate.WithLabelValues(p.Table).Set(float64(p.Estimate))
		m.snapChunks.Inc()
	}
	m.snapOpen.Set(float64(open))
}
