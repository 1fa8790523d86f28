package transform

import (
	"fmt"
	"testing"
)

func TestVersionGuard(t *testing.T) {
	type step struct {
		agg  string
		v    int64
		want Anomaly
		last int64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{"1", 1, AnomalyNone, 0}, {"1", 2, AnomalyNone, 1}, {"1", 3, AnomalyNone, 2}}},
		// The first version seen of an aggregate is never flagged: after a
		// restart the guard starts empty.
		{"first seen at any version", []step{{"1", 7, AnomalyNone, 0}, {"1", 8, AnomalyNone, 7}}},
		{"gap, then the gap's version is the baseline", []step{{"1", 1, AnomalyNone, 0}, {"1", 3, AnomalyGap, 1}, {"1", 4, AnomalyNone, 3}}},
		{"repeat", []step{{"1", 1, AnomalyNone, 0}, {"1", 2, AnomalyNone, 1}, {"1", 2, AnomalyRepeat, 2}, {"1", 3, AnomalyNone, 2}}},
		{"regression keeps the higher last version", []step{{"1", 5, AnomalyNone, 0}, {"1", 3, AnomalyRepeat, 5}, {"1", 6, AnomalyNone, 5}}},
		{"aggregates are independent", []step{{"1", 1, AnomalyNone, 0}, {"2", 1, AnomalyNone, 0}, {"1", 2, AnomalyNone, 1}, {"2", 2, AnomalyNone, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewVersionGuard(10)
			for i, s := range tt.steps {
				a, last := g.Observe("order", s.agg, s.v)
				if a != s.want || last != s.last {
					t.Errorf("step %d (%s v%d): %v after %d, want %v after %d", i, s.agg, s.v, a, last, s.want, s.last)
				}
			}
		})
	}
}

func TestVersionGuardTypeIsPartOfTheKey(t *testing.T) {
	g := NewVersionGuard(10)
	g.Observe("order", "1", 1)
	if a, _ := g.Observe("invoice", "1", 1); a != AnomalyNone {
		t.Errorf("invoice 1 after order 1: %v", a)
	}
}

// The guard forgets the least recently seen aggregate, so memory stays
// bounded; a forgotten aggregate starts afresh.
func TestVersionGuardBounded(t *testing.T) {
	g := NewVersionGuard(3)
	for i := range 3 {
		g.Observe("o", fmt.Sprint(i), 1)
	}
	g.Observe("o", "0", 2) // 0 is now the most recent
	g.Observe("o", "3", 1) // evicts 1, the least recent
	if g.Len() != 3 || g.Evicted() != 1 {
		t.Fatalf("Len %d Evicted %d, want 3 and 1", g.Len(), g.Evicted())
	}
	if a, _ := g.Observe("o", "1", 5); a != AnomalyNone {
		t.Errorf("evicted aggregate flagged: %v", a)
	}
	if a, _ := g.Observe("o", "0", 4); a != AnomalyGap {
		t.Errorf("remembered aggregate: %v, want gap", a)
	}
	if NewVersionGuard(0).size != DefaultGuardSize {
		t.Error("size 0 does not take the default")
	}
}
