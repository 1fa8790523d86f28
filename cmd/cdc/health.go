package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Kafka reachability probing.
const (
	kafkaProbeEvery   = 2 * time.Second
	kafkaProbeTimeout = 5 * time.Second
)

// pinger is what the health check needs of the Kafka writer.
type pinger interface {
	Ping(ctx context.Context) error
}

// kafkaHealth tracks whether Kafka answers, for /readyz (through st). It is
// safe for concurrent use.
type kafkaHealth struct {
	st    *status
	mu    sync.Mutex
	err   error // nil while reachable
	since time.Time
}

// watch pings Kafka every kafkaProbeEvery until ctx ends, and logs each
// change of state: unreachable (a warning, with the error), then reachable
// again (with how long it was down). While Kafka is down, writes and commits
// wait for it; this is what says so, in the log and in /readyz.
func (h *kafkaHealth) watch(ctx context.Context, k pinger, log *slog.Logger) {
	t := time.NewTicker(kafkaProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, kafkaProbeTimeout)
		err := k.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		h.mu.Lock()
		switch {
		case err != nil && h.err == nil:
			h.err, h.since = err, time.Now()
			log.Warn("kafka unreachable; writes and commits wait for it", "error", err)
		case err == nil && h.err != nil:
			log.Info("kafka reachable again", "down_for", time.Since(h.since).Round(time.Millisecond))
			h.err = nil
			h.st.clear(componentKafka)
			h.st.reconnected(componentKafka)
		}
		if h.err != nil {
			h.st.set(componentKafka, fmt.Sprintf("kafka unreachable since %s (%s): %v", h.since.UTC().Format(time.RFC3339), time.Since(h.since).Round(time.Second), h.err))
		}
		h.mu.Unlock()
	}
}

// osExit is os.Exit, replaced in tests.
var osExit = os.Exit

// stopOnSignal returns a context cancelled by the first SIGINT or SIGTERM,
// and a function to call when done. A second signal exits the process at
// once with exitFailed, leaving the open Kafka transaction to the broker,
// which aborts it after kafka.transaction_timeout. If the stop has not
// finished within timeout (plus a little), the process exits likewise: the
// pipeline bounds its own waits, so that is only a backstop.
func stopOnSignal(parent context.Context, timeout, txTimeout time.Duration, log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			log.Info("stop requested", "signal", s.String(), "shutdown_timeout", timeout)
			cancel()
		case <-done:
			return
		}
		backstop := time.NewTimer(timeout + 2*time.Second)
		defer backstop.Stop()
		select {
		case s := <-sigs:
			log.Error("second signal: exiting now; the open kafka transaction, if any, is left to the broker to abort",
				"signal", s.String(), "transaction_timeout", txTimeout)
			osExit(exitFailed)
		case <-backstop.C:
			log.Error("stop did not finish within shutdown_timeout; exiting; the open kafka transaction, if any, is left to the broker to abort",
				"shutdown_timeout", timeout, "transaction_timeout", txTimeout)
			osExit(exitFailed)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel()
		})
	}
}
