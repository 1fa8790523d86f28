//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The exactly-once checker shared by the kill, fault and large-transaction
// tests. A ledger writer (ledgerWriter for Postgres, myLedgerWriter for
// MariaDB) runs transactions that each bump the counter of one to three
// keys (counters.v, a per-key sequence: 1, 2, 3, ...) and insert one
// ledger row (k, seq) per bump; one in ten does the same work and rolls
// back, so its values are reused by the next committed transaction (its
// ledger rows carry the note "rollback"). Its ledgerBook remembers what committed. From the events read back
// (read_committed) the checker proves that every committed change arrived
// exactly once, the counter values of each key in order, and that nothing
// rolled back arrived, and it counts what it found.

// ledgerBook is what a ledger writer committed.
type ledgerBook struct {
	keys   int
	mu     sync.Mutex
	final  map[int]int // key -> last committed counter value
	txs    int
	rolled int
	// pace, when set, is a pause after each committed transaction (the
	// writer calls committed): tests that load a small cluster hard slow
	// the writes so that the connector is not merely behind.
	pace atomic.Int64
}

func newLedgerBook(keys int) ledgerBook {
	return ledgerBook{keys: keys, final: map[int]int{}}
}

// seeded records the counter rows inserted with value 0.
func (b *ledgerBook) seeded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := 1; k <= b.keys; k++ {
		b.final[k] = 0
	}
}

// committed records a committed transaction that set the counters vals.
func (b *ledgerBook) committed(vals map[int]int) {
	b.mu.Lock()
	for k, v := range vals {
		b.final[k] = v
	}
	b.txs++
	b.mu.Unlock()
	if d := time.Duration(b.pace.Load()); d > 0 {
		time.Sleep(d)
	}
}

// rolledBack records a transaction that rolled back.
func (b *ledgerBook) rolledBack() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rolled++
}

// verdict is what the checker found.
type verdict struct {
	txs, rolled int // the writer's committed and rolled-back transactions
	want        int // committed changes: counter values (the seed too) and ledger rows
	arrived     int // events on the ledger topics
	lost        int // committed changes that never arrived
	duplicated  int // arrivals beyond the first of a change
	outOfOrder  int // counter values that arrived after a later value of their key
	unexpected  int // changes that were never committed (rolled back, or invented)
}

func (v verdict) clean() bool {
	return v.lost == 0 && v.duplicated == 0 && v.outOfOrder == 0 && v.unexpected == 0 && v.arrived == v.want
}

func (v verdict) String() string {
	return fmt.Sprintf("%d transactions committed, %d rolled back; %d changes committed, %d events arrived: %d lost, %d duplicated, %d out of order, %d never committed",
		v.txs, v.rolled, v.want, v.arrived, v.lost, v.duplicated, v.outOfOrder, v.unexpected)
}

// check reads the counters and ledger topics under topics (the
// "<prefix>.<namespace>" of the writer's tables) and returns the verdict,
// with a line per faulty key (at most a few).
func (b *ledgerBook) check(t *testing.T, es []event, topics string) (verdict, []string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	v := verdict{txs: b.txs, rolled: b.rolled}
	es = withoutResnapshots(es)
	var faults []string
	fault := func(f string, args ...any) {
		if len(faults) < 10 {
			faults = append(faults, fmt.Sprintf(f, args...))
		}
	}

	counters := byKey(es, topics+".counters")
	for key, evs := range counters {
		var k int
		if _, err := fmt.Sscanf(key, `{"k":%d}`, &k); err != nil || k < 1 || k > b.keys {
			v.arrived += len(evs)
			v.unexpected += len(evs)
			fault("counters: key %s was never written", key)
		}
	}
	for k := 1; k <= b.keys; k++ {
		final := b.final[k]
		v.want += final + 1
		var got []int
		for _, e := range counters[fmt.Sprintf(`{"k":%d}`, k)] {
			got = append(got, int(e.env(t).After["v"].(float64)))
		}
		v.arrived += len(got)
		seen := map[int]int{}
		high := -1
		bad := false
		for _, n := range got {
			seen[n]++
			switch {
			case n < 0 || n > final:
				v.unexpected++
				bad = true
			case seen[n] > 1:
				v.duplicated++
				bad = true
			case n < high:
				v.outOfOrder++
				bad = true
			}
			high = max(high, n)
		}
		for n := 0; n <= final; n++ {
			if seen[n] == 0 {
				v.lost++
				bad = true
			}
		}
		if bad {
			fault("counter %d: events carry values %v, want exactly 0..%d in order", k, got, final)
		}
	}

	ledger := byKey(es, topics+".ledger")
	for key, evs := range ledger {
		v.arrived += len(evs)
		var k, s int
		if _, err := fmt.Sscanf(key, `{"k":%d,"seq":%d}`, &k, &s); err != nil || k < 1 || k > b.keys || s < 1 || s > b.final[k] {
			v.unexpected += len(evs)
			fault("ledger row %s was never committed: %d events", key, len(evs))
			continue
		}
		if rb := rolledBackRows(t, evs); rb > 0 {
			v.unexpected += rb
			fault("ledger row %s: %d events of a rolled-back transaction", key, rb)
		}
		if len(evs) > 1 {
			v.duplicated += len(evs) - 1
			fault("ledger row %s: %d events, want exactly 1", key, len(evs))
		}
	}
	for k := 1; k <= b.keys; k++ {
		v.want += b.final[k]
		for s := 1; s <= b.final[k]; s++ {
			if key := fmt.Sprintf(`{"k":%d,"seq":%d}`, k, s); len(ledger[key]) == 0 {
				v.lost++
				fault("ledger row %s never arrived", key)
			}
		}
	}
	return v, faults
}

// rolledBackRows counts the events of ledger rows written by a transaction
// that rolled back.
func rolledBackRows(t *testing.T, evs []event) int {
	n := 0
	for _, e := range evs {
		if e.Value != nil && e.env(t).After["note"] == "rollback" {
			n++
		}
	}
	return n
}

// verify logs the checker's verdict and fails the test unless it is
// "0 lost, 0 duplicated, 0 out of order, 0 never committed".
func (b *ledgerBook) verify(t *testing.T, es []event, topics string) verdict {
	t.Helper()
	v, faults := b.check(t, es, topics)
	t.Logf("checker: %s", v)
	if !v.clean() {
		for _, f := range faults {
			t.Error(f)
		}
		t.Errorf("checker: not exactly once: %s", v)
	}
	return v
}

// verifyHalted is verify for a connector that halted at a fault: what
// arrived must be, key by key, a prefix of what committed (every change
// up to the last that arrived, exactly once, in order, nothing rolled
// back), and nothing committed after limit (the counters when the fault
// struck) may have arrived. The writer must have stopped.
func (b *ledgerBook) verifyHalted(t *testing.T, es []event, topics string, limit map[int]int) verdict {
	t.Helper()
	cut := map[int]int{}
	for _, e := range es {
		var k, n int
		switch e.Topic {
		case topics + ".counters":
			if _, err := fmt.Sscanf(e.Key, `{"k":%d}`, &k); err != nil || e.Value == nil {
				continue
			}
			n = int(e.env(t).After["v"].(float64))
		case topics + ".ledger":
			if _, err := fmt.Sscanf(e.Key, `{"k":%d,"seq":%d}`, &k, &n); err != nil {
				continue
			}
		default:
			continue
		}
		cut[k] = max(cut[k], n)
	}
	for k, n := range cut {
		if n > limit[k] {
			t.Errorf("checker: key %d: value %d arrived, committed after the fault (%d then)", k, n, limit[k])
		}
	}
	b.mu.Lock()
	final := b.final
	b.final = cut
	b.mu.Unlock()
	v, faults := b.check(t, es, topics)
	b.mu.Lock()
	b.final = final
	b.mu.Unlock()
	t.Logf("checker (halted): up to the last change that arrived: %s", v)
	if !v.clean() {
		for _, f := range faults {
			t.Error(f)
		}
		t.Errorf("checker: what arrived is not a prefix of what committed: %s", v)
	}
	return v
}

// snapshot returns the counters committed so far.
func (b *ledgerBook) snapshot() map[int]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.final)
}

// done reports whether every final counter value has arrived.
func (b *ledgerBook) done(es []event, topics string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return reached(es, topics, b.final)
}

// withoutResnapshots leaves out the rows of on-demand snapshots (cdc
// verify's): they read rows again, they are no change.
func withoutResnapshots(es []event) []event {
	var out []event
	for _, e := range es {
		if bytes.Contains(e.Value, []byte(`"snapshot":"incremental"`)) {
			var v envelope
			if json.Unmarshal(e.Value, &v) == nil && v.Op == "r" && v.Source["snapshot"] == "incremental" {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// reached reports whether the counters in es reached want (each one's
// seed, value 0, at least).
func reached(es []event, topics string, want map[int]int) bool {
	var s counterScan
	return s.reached(es, topics, want)
}

// counterScan is reached over a growing list of events, reading each event
// once (a soak reads millions): the last counter value of each key in the
// events scanned so far.
type counterScan struct {
	n    int // events scanned
	last map[string]int
}

// reached is the package's reached for es, of which the first s.n are the
// events scanned before.
func (s *counterScan) reached(es []event, topics string, want map[int]int) bool {
	if s.last == nil || len(es) < s.n { // new, or over other events
		s.last, s.n = map[string]int{}, 0
	}
	for _, e := range es[s.n:] {
		if e.Topic != topics+".counters" || e.Value == nil {
			continue
		}
		var v envelope
		if json.Unmarshal(e.Value, &v) == nil && v.After != nil {
			s.last[e.Key] = int(v.After["v"].(float64))
		}
	}
	s.n = len(es)
	for k, v := range want {
		if got, ok := s.last[fmt.Sprintf(`{"k":%d}`, k)]; !ok || got < v {
			return false
		}
	}
	return true
}

// The checker counts each kind of fault it is there to find.
func TestLedgerChecker(t *testing.T) {
	counter := func(k, v int) event {
		return event{Topic: "p.n.counters", Key: fmt.Sprintf(`{"k":%d}`, k),
			Value: fmt.Appendf(nil, `{"after":{"k":%d,"v":%d},"op":"u"}`, k, v)}
	}
	row := func(k, s int, note string) event {
		return event{Topic: "p.n.ledger", Key: fmt.Sprintf(`{"k":%d,"seq":%d}`, k, s),
			Value: fmt.Appendf(nil, `{"after":{"k":%d,"seq":%d,"note":%q},"op":"c"}`, k, s, note)}
	}
	b := newLedgerBook(2)
	b.seeded()
	b.committed(map[int]int{1: 1, 2: 1})
	b.committed(map[int]int{1: 2})
	b.rolledBack()
	good := []event{counter(1, 0), counter(2, 0), counter(1, 1), counter(2, 1), row(1, 1, "multi"), row(2, 1, "multi"), counter(1, 2), row(1, 2, "single")}
	for _, c := range []struct {
		name string
		es   []event
		want verdict
	}{
		{"exactly once", good, verdict{arrived: 8}},
		// cdc verify's snapshot rows read rows again: left out, but only those.
		{"exactly once", append(slices.Clone(good), event{Topic: "p.n.counters", Key: `{"k":1}`,
			Value: []byte(`{"after":{"k":1,"v":2},"op":"r","source":{"snapshot":"incremental"}}`)}), verdict{arrived: 8}},
		{"duplicated", append(slices.Clone(good), event{Topic: "p.n.counters", Key: `{"k":1}`,
			Value: []byte(`{"after":{"k":1,"v":2},"op":"u","source":{"snapshot":"incremental"}}`)}), verdict{arrived: 9, duplicated: 1}},
		{"lost", append(slices.Clone(good[:6]), good[7]), verdict{arrived: 7, lost: 1}},
		{"duplicated", append(slices.Clone(good), counter(2, 1), row(1, 1, "multi")), verdict{arrived: 10, duplicated: 2}},
		{"out of order", []event{counter(1, 1), counter(1, 0), counter(2, 0), counter(2, 1), good[4], good[5], counter(1, 2), good[7]}, verdict{arrived: 8, outOfOrder: 1}},
		{"rolled back", append(slices.Clone(good), counter(1, 3), row(1, 3, "rollback")), verdict{arrived: 10, unexpected: 2}},
		{"rolled back, values reused", append(slices.Clone(good), row(2, 1, "rollback")), verdict{arrived: 9, duplicated: 1, unexpected: 1}},
		{"invented key", append(slices.Clone(good), counter(3, 0)), verdict{arrived: 9, unexpected: 1}},
	} {
		got, _ := b.check(t, c.es, "p.n")
		c.want.txs, c.want.rolled, c.want.want = 2, 1, 8
		if got != c.want {
			t.Errorf("%s: got %s\n want %s", c.name, got, c.want)
		}
		if got.clean() != (c.name == "exactly once") {
			t.Errorf("%s: clean() = %v", c.name, got.clean())
		}
	}
}
