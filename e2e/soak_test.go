//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// The soak (issue 13): a connector on each database under continuous
// ledger writes for CDC_E2E_SOAK (a duration, at least 30m for the figures
// in docs/reliability.md), with a fault every CDC_E2E_SOAK_EVERY (default
// 2m) taken in turn from soakFaults. Each minute it logs the events per
// second each connector delivered; after each fault, how long both took to
// catch up; at the end, the checker's verdict over every event. Private
// services: a one-node Kafka cluster, a PostgreSQL and a MariaDB, each
// connector reaching its database and Kafka through fault proxies. Not in
// CI:
//
//	CDC_E2E_SOAK=30m go test -count=1 -tags e2e -timeout 90m -run TestSoak -v ./e2e/
func TestSoak(t *testing.T) {
	length, err := time.ParseDuration(os.Getenv("CDC_E2E_SOAK"))
	if err != nil {
		t.Skip("CDC_E2E_SOAK is not a duration: the soak runs on demand (CDC_E2E_SOAK=30m)")
	}
	every := 2 * time.Minute
	if v := os.Getenv("CDC_E2E_SOAK_EVERY"); v != "" {
		if every, err = time.ParseDuration(v); err != nil {
			t.Fatalf("CDC_E2E_SOAK_EVERY: %v", err)
		}
	}
	k := privateKafka(t, 1)
	s := &soak{k: k, kafkaProxy: newKafkaProxy(t, k.brokers())}
	for _, db := range faultDBs {
		s.restartDB = append(s.restartDB, db.private(t))
		s.proxies = append(s.proxies, db.proxy(t))
	}
	// A transaction timeout the longest Kafka cut outlasts.
	extra := fmt.Sprintf("  transaction_timeout: %s\n  batch:\n    linger: 50ms\n", soakTxnTimeout)
	s.rs = startFaultRuns(t, faultOpts{prefix: "soak", extra: extra, kafka: k, kafkaVia: s.kafkaProxy.addr, restartable: true})
	started := time.Now()
	next, fault := started.Add(every), 0
	tick, last := started, s.counts()
	t.Logf("soak: %v, a fault every %v", length, every)
	for time.Since(started) < length {
		s.pollAll(t)
		if now := time.Now(); now.Sub(tick) >= time.Minute {
			counts := s.counts()
			var rates []string
			for i, r := range s.rs {
				rates = append(rates, fmt.Sprintf("%s %.0f events/s", r.name, float64(counts[i]-last[i])/now.Sub(tick).Seconds()))
			}
			t.Logf("minute %d: %s", int(now.Sub(started).Minutes()), strings.Join(rates, ", "))
			tick, last = now, counts
		}
		if time.Now().After(next) {
			f := soakFaults[fault%len(soakFaults)]
			t.Logf("fault %d at %v: %s", fault+1, time.Since(started).Round(time.Second), f.name)
			f.cause(t, s)
			s.await(t, 180*time.Second, f.name)
			for _, r := range s.rs {
				if n := strings.Count(r.p.Log(), reopenedLine); n > 0 {
					t.Logf("%s: %d new producers in the process after a transaction timeout, in this run of the connector", r.name, n)
				}
			}
			next, fault = time.Now().Add(every), fault+1
		}
	}
	for _, r := range s.rs {
		r.stopWriting()
	}
	s.await(t, 300*time.Second, "the writes stopped")
	for _, r := range s.rs {
		t.Logf("%s: %d events, %d restarts after an exit 1", r.name, len(r.c.got), s.restarts[r.name])
		r.await(t)
	}
	// Then cdc verify on each, its rows rebuilt from every event of the
	// soak (minutes for millions of events).
	for _, r := range s.rs {
		r.verifyClean(t, 20*time.Minute)
		r.p.stopOK()
	}
	t.Logf("soak done: %v, %d faults", time.Since(started).Round(time.Second), fault)
}

// soak is the state of TestSoak.
type soak struct {
	k         *kafkaCluster
	rs        []*faultRun
	restartDB []func(crash bool) // by faultDBs index, as rs
	proxies   []*tcpProxy        // to the databases
	// kafkaProxy is between both connectors and the broker.
	kafkaProxy *kafkaProxy
	restarts   map[string]int
}

// soakFault is one fault of the schedule, caused on both databases'
// connectors at once.
type soakFault struct {
	name  string
	cause func(t *testing.T, s *soak)
}

var soakFaults = []soakFault{
	{"connectors killed (SIGKILL) and restarted", func(t *testing.T, s *soak) {
		for _, r := range s.rs {
			r.p.kill()
			r.p = startCDC(t, r.cfg)
			r.p.logOnFailure()
		}
	}},
	{"broker killed (SIGKILL) and restarted", func(t *testing.T, s *soak) { s.restartBroker(t, s.k.kill) }},
	{"database servers crashed and restarted", func(t *testing.T, s *soak) { s.restartDBs(true) }},
	{"network to the databases cut for 5 s", func(t *testing.T, s *soak) {
		for _, p := range s.proxies {
			p.cut()
		}
		time.Sleep(5 * time.Second)
		for _, p := range s.proxies {
			p.restore()
		}
	}},
	{"broker stopped (SIGTERM) and restarted", func(t *testing.T, s *soak) { s.restartBroker(t, s.k.stop) }},
	{"database servers stopped cleanly and restarted", func(t *testing.T, s *soak) { s.restartDBs(false) }},
	{"connectors stopped (SIGTERM) and restarted", func(t *testing.T, s *soak) {
		for _, r := range s.rs {
			r.p.stopOK()
			r.p = startCDC(t, r.cfg)
			r.p.logOnFailure()
		}
	}},
	{"open connections to the databases black-holed", func(t *testing.T, s *soak) {
		for _, p := range s.proxies {
			p.blackhole()
		}
	}},
	{"network to Kafka cut for 5 s", func(t *testing.T, s *soak) { s.cutKafka(5 * time.Second) }},
	{"open connections to Kafka black-holed", func(t *testing.T, s *soak) { s.kafkaProxy.blackhole() }},
	{fmt.Sprintf("network to Kafka cut for 25 s, past the %v transaction timeout", soakTxnTimeout), func(t *testing.T, s *soak) {
		s.cutKafka(25 * time.Second)
	}},
}

// soakTxnTimeout is the soak connectors' kafka.transaction_timeout.
const soakTxnTimeout = 10 * time.Second

// cutKafka cuts the connectors' network to Kafka for d.
func (s *soak) cutKafka(d time.Duration) {
	s.kafkaProxy.cut()
	time.Sleep(d)
	s.kafkaProxy.restore()
}

// restartBroker takes the broker down (stop or kill), starts it again 2 s
// later and waits until it serves.
func (s *soak) restartBroker(t *testing.T, down func(int)) {
	down(1)
	time.Sleep(2 * time.Second)
	s.k.start(t, 1)
	s.k.waitBrokers(t, 1, 120*time.Second)
}

// restartDBs restarts both database servers (crash: abruptly).
func (s *soak) restartDBs(crash bool) {
	for _, restart := range s.restartDB {
		restart(crash)
	}
}

// supervise restarts, as a supervisor would, r's connector if it exited 1
// (a fault may outlast what cdc rides in the process). An exit with another
// code fails the test.
func (s *soak) supervise(t *testing.T, r *faultRun) {
	t.Helper()
	if !r.p.exited() {
		return
	}
	if code := r.p.waitExit(time.Second); code != 1 {
		t.Fatalf("%s: the connector exited %d; log:\n%s", r.name, code, r.p.Log())
	}
	t.Logf("%s: the connector exited 1 (%s); restarting it", r.name, lastLine(r.p.Log()))
	if s.restarts == nil {
		s.restarts = map[string]int{}
	}
	s.restarts[r.name]++
	r.p = startCDC(t, r.cfg)
	r.p.logOnFailure()
}

// await waits until Kafka holds every change committed before the call, on
// both databases, supervising the connectors, and logs how long it took.
func (s *soak) await(t *testing.T, timeout time.Duration, after string) {
	t.Helper()
	start := time.Now()
	for _, r := range s.rs {
		want := r.book.snapshot()
		r.c.until(timeout, func(es []event) bool {
			s.supervise(t, r)
			return r.seen.reached(es, r.topics, want)
		})
	}
	t.Logf("%s: both connectors caught up in %v", after, time.Since(start).Round(100*time.Millisecond))
}

// pollAll reads what each run's consumer has, one poll each, supervising
// the connectors.
func (s *soak) pollAll(t *testing.T) {
	for _, r := range s.rs {
		s.supervise(t, r)
		polls := 0
		r.c.until(time.Minute, func([]event) bool { polls++; return polls > 1 })
	}
}

// counts is the number of events each run's consumer read.
func (s *soak) counts() []int {
	var n []int
	for _, r := range s.rs {
		n = append(n, len(r.c.got))
	}
	return n
}
