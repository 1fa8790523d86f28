package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's steady-state signals. A nil *Metrics records
// nothing. Create one per process with NewMetrics and the registry the
// caller serves.
type Metrics struct {
	events       *prometheus.CounterVec
	deadLetters  *prometheus.CounterVec
	sourceTxs    prometheus.Counter
	commits      prometheus.Counter
	commitTime   prometheus.Histogram
	seq          prometheus.Gauge
	committedAt  prometheus.Gauge
	lag          prometheus.Gauge
	versions     *prometheus.CounterVec
	incompatible *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
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
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cdc_source_lag_seconds", Help: "At the last commit: time from the newest committed source transaction's commit to its Kafka commit.",
		}),
		versions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cdc_schema_versions_total", Help: "New schema versions recorded, by table.",
		}, []string{"table"}),
		incompatible: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cdc_schema_incompatible_total", Help: "Schema changes that break the configured compatibility, by table.",
		}, []string{"table"}),
	}
	reg.MustRegister(m.events, m.deadLetters, m.sourceTxs, m.commits, m.commitTime, m.seq, m.committedAt, m.lag, m.versions, m.incompatible)
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

func (m *Metrics) sourceTx() {
	if m != nil {
		m.sourceTxs.Inc()
	}
}

func (m *Metrics) committed(seq uint64, took time.Duration, sourceCommit time.Time) {
	if m == nil {
		return
	}
	now := time.Now()
	m.commits.Inc()
	m.commitTime.Observe(took.Seconds())
	m.seq.Set(float64(seq))
	m.committedAt.Set(float64(now.UnixNano()) / 1e9)
	if !sourceCommit.IsZero() {
		m.lag.Set(now.Sub(sourceCommit).Seconds())
	}
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
