package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/pipeline"
	"github.com/cdc-go/cdc/transform"
)

// buildRouter turns the configuration into the router the pipeline uses,
// and the table router that encodes rejected changes for the dead-letter
// topic (the original row, unmasked, so that `cdc dlt replay` can re-route
// it). Errors are configuration errors; a loaded config has been validated
// already, so they do not happen for one.
func buildRouter(cfg *config.Config, connector string) (pipeline.Router, *transform.Tables, error) {
	log := newLogger(cfg, os.Stderr).With("connector", cfg.Name)
	return newRouter(cfg, connector, log)
}

func newRouter(cfg *config.Config, connector string, log *slog.Logger) (*transform.Router, *transform.Tables, error) {
	env := transform.Envelope{Connector: connector, Name: cfg.Kafka.TopicPrefix, Version: buildVersion(), SchemaInPayload: cfg.Kafka.SchemaInPayload}
	rc := cfg.RouterConfig()
	rc.Envelope = env
	rc.Envelope.Debezium = cfg.Events.Debezium()
	rc.Notify = noticeLogger(log.With("component", "router"), 10*time.Second)
	router, err := transform.NewRouter(rc)
	if err != nil {
		return nil, nil, err
	}
	// Dead-lettered changes keep cdc's own, lossless form whatever
	// events.format says, so that `cdc dlt replay` can read them back.
	fallback := &transform.Tables{Envelope: env, Prefix: cfg.Kafka.TopicPrefix, Tombstones: true}
	return router, fallback, nil
}

// noticeLogger logs the router's notices (ignored outbox updates, version
// anomalies) as warnings, at most one per kind and route every interval:
// the rest are counted and reported with the next one logged. It runs on
// the pipeline's goroutine, so it needs no lock.
func noticeLogger(log *slog.Logger, interval time.Duration) func(transform.Notice) {
	type key struct {
		kind  transform.NoticeKind
		route string
	}
	type state struct {
		last       time.Time
		suppressed int
	}
	seen := map[key]*state{}
	return func(n transform.Notice) {
		k := key{n.Kind, n.Route}
		s := seen[k]
		if s == nil {
			s = &state{}
			seen[k] = s
		}
		now := time.Now()
		if now.Sub(s.last) < interval {
			s.suppressed++
			return
		}
		attrs := []any{"route", n.Route, "source", n.Source, "tx", n.TxID, "position", n.Position}
		if s.suppressed > 0 {
			attrs = append(attrs, "more_since_last_logged", s.suppressed)
		}
		s.last, s.suppressed = now, 0
		switch n.Kind {
		case transform.NoticeUpdateIgnored:
			log.Warn("outbox row updated; outbox rows are immutable events, the update is not routed (on_update: warn)", attrs...)
		case transform.NoticeVersionAnomaly:
			attrs = append(attrs, "aggregate_type", n.AggregateType, "aggregate_id", n.AggregateID,
				"anomaly", n.Anomaly.String(), "version", n.Version, "last_version", n.Last)
			log.Warn("aggregate_version out of sequence", attrs...)
		}
	}
}
