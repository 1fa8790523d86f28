package main

import (
	"os"
	"testing"
	"time"
)

func TestProcMonitorSurvivesExit(t *testing.T) {
	m := newProcMonitor(os.Getpid(), time.Hour)
	s := m.Stop()
	if s.PeakRSSMB <= 0 || s.RSSMB <= 0 {
		t.Fatalf("figures of this process: %+v", s)
	}
	// A process gone from /proc leaves the last figures as they were.
	m.pid = -1
	if got := m.Sample(); got != s {
		t.Errorf("after the process is gone: %+v, want %+v", got, s)
	}
}
