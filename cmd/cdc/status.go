package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-go/cdc/sink/kafka"
)

// sourceSettle is how long a resumed pipeline run must hold before the
// source counts as reconnected (its problem leaves /readyz).
const sourceSettle = 5 * time.Second

// connectorState is what the connector is doing, as cdc_connector_state
// and /readyz report it.
type connectorState string

// The states, in the order cdc_connector_state lists them.
const (
	stateStarting     connectorState = "starting"     // connecting, reading the checkpoint
	stateSnapshotting connectorState = "snapshotting" // streaming while a snapshot reads existing rows
	stateStreaming    connectorState = "streaming"    // streaming and committing
	stateReconnecting connectorState = "reconnecting" // the source or Kafka is unreachable; changes wait
	stateHalted       connectorState = "halted"       // stopped on a problem an operator must fix; the process exits
	stateStopping     connectorState = "stopping"     // a stop was requested
)

var allStates = []connectorState{stateStarting, stateSnapshotting, stateStreaming, stateReconnecting, stateHalted, stateStopping}

// Components that can make the connector not ready.
const (
	componentKafka     = "kafka"
	componentSource    = "source"
	componentSchema    = "schema"
	componentRetention = "retention"
	componentConnector = "connector"
)

// problem is why one component keeps the connector from being ready.
type problem struct {
	Component string    `json:"component"`
	Reason    string    `json:"reason"`
	Since     time.Time `json:"since"`
}

// status is the connector's health model, shared by the run loop, the
// Kafka probe, the retention guard and the HTTP handlers. It is safe for
// concurrent use; the zero value is not: use newStatus.
//
// Ready means streaming and committing: the pipeline runs and no component
// reports a problem. Alive (/healthz) means the process serves and is not
// stopping.
type status struct {
	mu        sync.Mutex
	running   bool // a pipeline run is in progress
	snapshot  bool // a snapshot is open
	halted    bool
	stopping  bool
	problems  map[string]problem
	kafkaDown time.Time // when the Kafka probe last saw Kafka go down

	state      *prometheus.GaugeVec
	reconnects *prometheus.CounterVec
}

func newStatus() *status {
	s := &status{
		problems: map[string]problem{},
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cdc_connector_state",
			Help: "1 for the connector's current state (starting, snapshotting, streaming, reconnecting, halted, stopping), 0 for the others.",
		}, []string{"state"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cdc_reconnects_total",
			Help: "Connections regained after a loss, by component: source (the stream resumed from the checkpoint) and kafka (the broker answered again, or the writer recovered).",
		}, []string{"component"}),
	}
	for _, c := range []string{componentSource, componentKafka} {
		s.reconnects.WithLabelValues(c)
	}
	s.publish()
	return s
}

// register adds the status metrics to reg (nil: nothing).
func (s *status) register(reg *prometheus.Registry) {
	if reg != nil {
		reg.MustRegister(s.state, s.reconnects)
	}
}

// current derives the state; s.mu must be held.
func (s *status) current() connectorState {
	switch {
	case s.halted:
		return stateHalted
	case s.stopping:
		return stateStopping
	case s.problems[componentSource].Reason != "" || s.problems[componentKafka].Reason != "":
		return stateReconnecting
	case !s.running:
		return stateStarting
	case s.snapshot:
		return stateSnapshotting
	}
	return stateStreaming
}

// publish updates the state gauge; s.mu must be held (or s unshared).
func (s *status) publish() {
	cur := s.current()
	for _, st := range allStates {
		v := 0.0
		if st == cur {
			v = 1
		}
		s.state.WithLabelValues(string(st)).Set(v)
	}
}

func (s *status) update(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	s.publish()
}

// setRunning records that a pipeline run started (true) or ended (false).
func (s *status) setRunning(on bool) { s.update(func() { s.running = on }) }

// setSnapshot records whether a snapshot is open.
func (s *status) setSnapshot(on bool) { s.update(func() { s.snapshot = on }) }

// stop records a stop request.
func (s *status) stop() { s.update(func() { s.stopping = true }) }

// halt records a stop on a problem an operator must fix.
func (s *status) halt(component, reason string) {
	s.update(func() {
		s.halted = true
		s.problems[component] = problem{Component: component, Reason: reason, Since: time.Now().UTC()}
	})
}

// set records component's problem; a problem already set keeps its since.
func (s *status) set(component, reason string) {
	s.update(func() {
		p, ok := s.problems[component]
		if !ok {
			p = problem{Component: component, Since: time.Now().UTC()}
			if component == componentKafka {
				s.kafkaDown = p.Since
			}
		}
		p.Reason = reason
		s.problems[component] = p
	})
}

// clear removes component's problem and reports whether there was one.
func (s *status) clear(component string) bool {
	var had bool
	s.update(func() {
		_, had = s.problems[component]
		delete(s.problems, component)
	})
	return had
}

// reconnected counts a regained connection to component.
func (s *status) reconnected(component string) { s.reconnects.WithLabelValues(component).Inc() }

// kafkaDownSince reports whether the Kafka probe saw Kafka go down after t.
func (s *status) kafkaDownSince(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kafkaDown.After(t)
}

// readiness is the body of /readyz.
type readiness struct {
	Ready   bool           `json:"ready"`
	State   connectorState `json:"state"`
	Reasons []problem      `json:"reasons,omitempty"`
}

// ready returns the readiness report.
func (s *status) ready() readiness {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := readiness{State: s.current()}
	for _, p := range s.problems {
		r.Reasons = append(r.Reasons, p)
	}
	sort.Slice(r.Reasons, func(i, j int) bool { return r.Reasons[i].Component < r.Reasons[j].Component })
	switch r.State {
	case stateStarting:
		r.Reasons = append(r.Reasons, problem{Component: componentConnector, Reason: "starting: not streaming yet"})
	case stateStopping:
		r.Reasons = append(r.Reasons, problem{Component: componentConnector, Reason: "stopping"})
	}
	r.Ready = len(r.Reasons) == 0
	return r
}

// serveReady answers /readyz: 200 and {"ready":true,...} while streaming
// and committing, else 503 with the reasons.
func (s *status) serveReady(w http.ResponseWriter, _ *http.Request) {
	r := s.ready()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !r.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(r)
}

// serveAlive answers /healthz: 200 "ok" while the process serves, 503
// "stopping" once a stop was requested or it halted (it exits then).
// Unreachable dependencies do not make it fail: restarting cdc does not
// bring Kafka back; /readyz reports them.
func (s *status) serveAlive(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	st := s.current()
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	if st == stateStopping || st == stateHalted {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, st)
		return
	}
	fmt.Fprintln(w, "ok")
}

// commitWatcher is the sink the pipeline runs on: after every commit it
// tells the status whether a snapshot (initial or on demand) is open.
type commitWatcher struct {
	*kafka.Writer
	st *status
}

// Commit commits and records whether cp names an open snapshot.
func (c commitWatcher) Commit(ctx context.Context, cp kafka.Checkpoint) error {
	err := c.Writer.Commit(ctx, cp)
	if err == nil {
		c.st.setSnapshot(cp.Snapshot != nil)
	}
	return err
}
