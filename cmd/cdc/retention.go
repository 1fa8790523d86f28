package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/source/mysql"
	"github.com/cdc-go/cdc/source/postgres"
)

// retentionPollEvery is how often the retention guard asks the source.
const retentionPollEvery = 10 * time.Second

// retentionLevel is how close the checkpoint is to falling off the
// source's log.
type retentionLevel int

const (
	retentionOK        retentionLevel = iota // far from it, or the server keeps the log for ever
	retentionWarning                         // less than half the margin left
	retentionEmergency                       // less than a tenth left: act now
	retentionLost                            // gone: the stream cannot resume from the checkpoint
)

func (l retentionLevel) String() string {
	return [...]string{"ok", "warning", "emergency", "lost"}[l]
}

// retentionReport is one look at the source's retention.
type retentionReport struct {
	level  retentionLevel
	reason string // why the level is not ok
	// headroomSeconds (MySQL: until the checkpoint's binlog may be
	// purged) and headroomBytes (Postgres: WAL that can still be written
	// before the slot is at risk); -1 when unlimited or unknown.
	headroomSeconds float64
	headroomBytes   float64
	lagBytes        float64 // log after the checkpoint; -1 unknown
}

// retentionProbe looks at the source's retention for the checkpoint pos,
// committed at at.
type retentionProbe func(ctx context.Context, pos source.Position, at time.Time) (retentionReport, error)

// retentionGuard watches how far the committed position is from falling
// off the source's log: it logs each change of level, exports
// cdc_source_lag_bytes and cdc_retention_*, and makes /readyz fail during
// an emergency. Safe for concurrent use.
type retentionGuard struct {
	st    *status
	log   *slog.Logger
	probe retentionProbe

	mu     sync.Mutex
	pos    source.Position // last committed position
	at     time.Time       // when it was committed
	level  retentionLevel
	failed bool // the last probe failed (logged once)

	lag, headSecs, headBytes, state prometheus.Gauge
}

func newRetentionGuard(st *status, log *slog.Logger, probe retentionProbe) *retentionGuard {
	g := &retentionGuard{st: st, log: log, probe: probe}
	g.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cdc_source_lag_bytes",
		Help: "Source log written after the position cdc committed (Postgres: pg_current_wal_lsn() - the slot's confirmed_flush_lsn; MySQL: binlog bytes after the checkpoint); -1 when unknown."})
	g.headSecs = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cdc_retention_headroom_seconds",
		Help: "MySQL: time left before binlog expiry may purge the checkpoint's binlog file; -1 when binlogs never expire or it is unknown."})
	g.headBytes = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cdc_retention_headroom_bytes",
		Help: "Postgres: WAL that can still be written before the slot exceeds max_slot_wal_keep_size (safe_wal_size); -1 when unlimited or unknown."})
	g.state = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cdc_retention_state",
		Help: "How close the checkpoint is to falling off the source's log: 0 ok, 1 warning (less than half the margin left), 2 emergency (less than a tenth), 3 lost."})
	for _, m := range []prometheus.Gauge{g.lag, g.headSecs, g.headBytes} {
		m.Set(-1)
	}
	return g
}

func (g *retentionGuard) register(reg *prometheus.Registry) {
	if reg != nil {
		reg.MustRegister(g.lag, g.headSecs, g.headBytes, g.state)
	}
}

// committed records that pos is durable in Kafka (the pipeline's Ack).
func (g *retentionGuard) committed(pos source.Position, at time.Time) {
	if pos == nil {
		return
	}
	g.mu.Lock()
	g.pos, g.at = pos, at
	g.mu.Unlock()
}

// watch checks at once, then every retentionPollEvery until ctx ends.
func (g *retentionGuard) watch(ctx context.Context) {
	t := time.NewTicker(retentionPollEvery)
	defer t.Stop()
	for {
		g.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check asks the source once and reports a change of level.
func (g *retentionGuard) check(ctx context.Context) {
	g.mu.Lock()
	pos, at := g.pos, g.at
	g.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	r, err := g.probe(pctx, pos, at)
	cancel()
	if ctx.Err() != nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		if !g.failed {
			g.log.Warn("retention guard: cannot read the source's log retention; trying again", "error", err, "every", retentionPollEvery)
			g.failed = true
		}
		return
	}
	g.failed = false
	g.lag.Set(r.lagBytes)
	g.headSecs.Set(r.headroomSeconds)
	g.headBytes.Set(r.headroomBytes)
	g.state.Set(float64(r.level))
	if r.level >= retentionEmergency {
		g.st.set(componentRetention, "retention "+r.level.String()+": "+r.reason)
	} else {
		g.st.clear(componentRetention)
	}
	if r.level == g.level {
		return
	}
	attrs := []any{"level", r.level.String(), "was", g.level.String()}
	if r.headroomSeconds >= 0 {
		attrs = append(attrs, "headroom", time.Duration(r.headroomSeconds*float64(time.Second)).Round(time.Second))
	}
	if r.headroomBytes >= 0 {
		attrs = append(attrs, "headroom_bytes", int64(r.headroomBytes))
	}
	if r.lagBytes >= 0 {
		attrs = append(attrs, "lag_bytes", int64(r.lagBytes))
	}
	switch r.level {
	case retentionOK:
		g.log.Info("retention guard: the checkpoint is safe again", attrs...)
	case retentionLost:
		g.log.Error("retention guard: "+r.reason, attrs...)
	default:
		g.log.Warn("retention guard: the checkpoint is close to falling off the source's log: "+r.reason, attrs...)
	}
	g.level = r.level
}

// retentionProbeFor returns the probe of cfg's source, and a function
// that releases what it holds.
func retentionProbeFor(cfg *config.Config, src streamer) (retentionProbe, func()) {
	switch s := src.(type) {
	case *postgres.Source:
		p := postgres.NewRetentionProbe(postgresConfig(cfg))
		return func(ctx context.Context, _ source.Position, _ time.Time) (retentionReport, error) {
			r, err := p.Slot(ctx)
			if err != nil {
				return retentionReport{}, err
			}
			return slotReport(cfg.Source.Slot, r), nil
		}, func() { p.Close() }
	case *mysql.Source:
		return func(ctx context.Context, pos source.Position, at time.Time) (retentionReport, error) {
			r, err := s.BinlogRetention(ctx, pos)
			if err != nil {
				return retentionReport{}, err
			}
			return binlogReport(r, at, time.Now()), nil
		}, func() {}
	}
	return nil, func() {}
}

// slotReport grades a Postgres slot: lost when invalidated; emergency when
// unreserved (the next checkpoint may remove its WAL) or with less than a
// tenth of max_slot_wal_keep_size left; warning with less than half left.
// An unlimited max_slot_wal_keep_size never loses WAL (the disk may fill).
func slotReport(slot string, r postgres.SlotRetention) retentionReport {
	rep := retentionReport{headroomSeconds: -1, headroomBytes: float64(r.SafeBytes), lagBytes: float64(r.LagBytes)}
	if r.MaxKeepBytes < 0 || r.SafeBytes < 0 {
		rep.headroomBytes = -1
	}
	switch {
	case r.Lost():
		rep.level = retentionLost
		rep.reason = fmt.Sprintf("replication slot %q was invalidated (wal_status lost): the WAL after the checkpoint is gone", slot)
	case r.MaxKeepBytes < 0:
	case r.WALStatus == "unreserved" || r.SafeBytes <= r.MaxKeepBytes/10:
		rep.level = retentionEmergency
		rep.reason = fmt.Sprintf("replication slot %q has wal_status %s and %s left before it exceeds max_slot_wal_keep_size (%s) and is invalidated",
			slot, r.WALStatus, bytesText(r.SafeBytes), bytesText(r.MaxKeepBytes))
	case r.SafeBytes < r.MaxKeepBytes/2:
		rep.level = retentionWarning
		rep.reason = fmt.Sprintf("replication slot %q retains %s and has %s left before it exceeds max_slot_wal_keep_size (%s)",
			slot, bytesText(r.RetainedBytes), bytesText(r.SafeBytes), bytesText(r.MaxKeepBytes))
	}
	return rep
}

// binlogReport grades a MySQL checkpoint committed at at. A binlog file is
// purged once it has not been written to for the expiry, and it was
// written to at least until the checkpoint's event, so it stays at least
// until at + expiry: the headroom is that, minus now (the file the server
// writes to is never purged). Lost when the file is gone; emergency with
// less than a tenth of the expiry left, warning with less than half.
func binlogReport(r mysql.BinlogRetention, at, now time.Time) retentionReport {
	rep := retentionReport{headroomSeconds: -1, headroomBytes: -1, lagBytes: float64(r.LagBytes)}
	switch {
	case r.File == "":
		return rep
	case r.Purged:
		rep.level = retentionLost
		rep.reason = fmt.Sprintf("the checkpoint's binlog %s was purged from the server (the oldest left is %s): the changes after the checkpoint are gone", r.File, r.Oldest)
		return rep
	case r.Expire <= 0:
		return rep
	case r.Active || at.IsZero():
		rep.headroomSeconds = r.Expire.Seconds()
		return rep
	}
	left := at.Add(r.Expire).Sub(now)
	rep.headroomSeconds = max(0, left.Seconds())
	oldest := ""
	if r.File == r.Oldest {
		oldest = ", and it is the oldest binlog the server keeps: the next purge takes it"
	}
	switch {
	case left <= r.Expire/10:
		rep.level = retentionEmergency
		rep.reason = fmt.Sprintf("the checkpoint's binlog %s may be purged in %s (binlog_expire_logs_seconds %d, checkpoint committed %s)%s",
			r.File, max(0, left).Round(time.Second), int64(r.Expire.Seconds()), at.UTC().Format(time.RFC3339), oldest)
	case left < r.Expire/2:
		rep.level = retentionWarning
		rep.reason = fmt.Sprintf("the checkpoint's binlog %s may be purged in %s (binlog_expire_logs_seconds %d, checkpoint committed %s)%s",
			r.File, left.Round(time.Second), int64(r.Expire.Seconds()), at.UTC().Format(time.RFC3339), oldest)
	}
	return rep
}

// bytesText prints n bytes in MiB (or bytes when small).
func bytesText(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// ackTracker is the source the pipeline runs on: it tells the retention
// guard of every position Kafka committed.
type ackTracker struct {
	streamer
	guard *retentionGuard
}

// Ack passes pos on and records it as committed now.
func (a ackTracker) Ack(pos source.Position) {
	a.streamer.Ack(pos)
	a.guard.committed(pos, time.Now())
}

// retentionProblem is what `cdc check` says of a retention warning or
// emergency (a warning: the connector can still resume); nothing when ok.
// Lost positions are reported by the checks that stop `cdc run`.
func retentionProblem(r retentionReport) []source.Problem {
	if r.level == retentionOK || r.level == retentionLost {
		return nil
	}
	return []source.Problem{{
		Warning: true,
		Message: "retention " + r.level.String() + ": the checkpoint is close to falling off the source's log: " + r.reason,
		Fix:     "start the connector (or let it catch up) before the source removes the log it needs, or give the source a longer retention",
	}}
}
