package main

import (
	"testing"
	"time"
)

// Failures in a row are counted from the first failure, and a run that
// held ends the streak: a connector that streamed for an hour and then
// lost Kafka must not give up at once (it did: the streak was counted from
// the start of that run).
func TestStreak(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	var s streak
	if d := s.failed(t0, t0.Add(time.Hour)); d != 0 {
		t.Fatalf("first failure after an hour's run: %v in a row, want 0", d)
	}
	if b := s.next(); b != time.Second {
		t.Fatalf("first backoff %v, want 1s", b)
	}
	// Runs that fail quickly: the streak grows, the backoff doubles.
	at := t0.Add(time.Hour)
	for i, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		at = at.Add(10 * time.Second)
		if d := s.failed(at.Add(-time.Second), at); d != time.Duration(i+1)*10*time.Second {
			t.Fatalf("failure %d: %v in a row, want %v", i+2, d, time.Duration(i+1)*10*time.Second)
		}
		if b := s.next(); b != want {
			t.Fatalf("failure %d: backoff %v, want %v", i+2, b, want)
		}
	}
	for range 10 {
		s.next()
	}
	if b := s.next(); b != 30*time.Second {
		t.Fatalf("backoff %v, want the 30s cap", b)
	}
	if d := s.failed(at, at.Add(6*time.Minute)); d != 0 {
		t.Fatalf("failure after a run that held 6 min: %v in a row, want 0 (a new streak)", d)
	}
	if b := s.next(); b != time.Second {
		t.Fatalf("backoff of a new streak %v, want 1s", b)
	}
}
