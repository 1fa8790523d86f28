package pipeline

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The lag is the age of the oldest source transaction not yet committed to
// Kafka, computed when read: it grows while no commit happens (Kafka down)
// instead of freezing at the value of the last commit, and is 0 once
// everything read is committed.
func TestLagGrowsWithoutCommits(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	if got := m.lagSeconds(); got != 0 {
		t.Fatalf("lag before any transaction: %v, want 0", got)
	}
	m.sourceTx(time.Now().Add(-3 * time.Second))
	m.sourceTx(time.Now()) // newer: the oldest uncommitted one counts
	first := m.lagSeconds()
	if first < 3 {
		t.Fatalf("lag %v, want at least 3s (the oldest uncommitted transaction)", first)
	}
	time.Sleep(20 * time.Millisecond)
	if again := m.lagSeconds(); again <= first {
		t.Fatalf("lag did not grow without a commit: %v then %v", first, again)
	}
	m.committed(1, time.Millisecond)
	if got := m.lagSeconds(); got != 0 {
		t.Fatalf("lag after committing everything read: %v, want 0", got)
	}
}
