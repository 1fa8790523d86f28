package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cdc-go/cdc/pipeline"
	"github.com/cdc-go/cdc/transform"
)

// serveMetrics starts the Prometheus endpoint on addr (/metrics, and
// st's /healthz and /readyz, see status) and returns the pipeline's metrics
// and a function that stops the server. An empty addr serves nothing and
// returns nil metrics.
func serveMetrics(addr string, pprof bool, log *slog.Logger, st *status) (*prometheus.Registry, *pipeline.Metrics, func(), error) {
	if addr == "" {
		return nil, nil, func() {}, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := pipeline.NewMetrics(reg)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	st.register(reg)
	mux.HandleFunc("/healthz", st.serveAlive)
	mux.HandleFunc("/readyz", st.serveReady)
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("serving metrics on metrics.listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	log.Info("serving metrics", "address", ln.Addr().String())
	return reg, m, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// registerRouterStats exports the router's counters.
func registerRouterStats(reg *prometheus.Registry, r *transform.Router) {
	if reg == nil {
		return
	}
	counter := func(name, help string, get func(transform.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(get(r.Stats())) })
	}
	reg.MustRegister(
		counter("cdc_outbox_events_total", "Outbox rows and logical messages routed as events.", func(s transform.Stats) uint64 { return s.OutboxEvents }),
		counter("cdc_outbox_deletes_ignored_total", "Outbox deletes dropped (on_delete: ignore).", func(s transform.Stats) uint64 { return s.DeletesIgnored }),
		counter("cdc_outbox_updates_ignored_total", "Outbox updates dropped (on_update: warn).", func(s transform.Stats) uint64 { return s.UpdatesIgnored }),
		counter("cdc_outbox_version_gaps_total", "Outbox events whose aggregate_version skipped versions.", func(s transform.Stats) uint64 { return s.VersionGaps }),
		counter("cdc_outbox_version_repeats_total", "Outbox events whose aggregate_version did not increase.", func(s transform.Stats) uint64 { return s.VersionRepeats }),
		counter("cdc_route_rejected_total", "Changes the routes rejected (sent to a dead-letter topic).", func(s transform.Stats) uint64 { return s.Rejected }),
	)
}
