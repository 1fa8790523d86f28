package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procStats is what a connector's process has cost so far, from /proc.
type procStats struct {
	CPUSeconds float64 `json:"cpu_s"`       // user + system
	PeakRSSMB  float64 `json:"peak_rss_mb"` // VmHWM
	RSSMB      float64 `json:"rss_mb"`      // VmRSS at the last sample
}

// readProc reads a live process's CPU time and memory.
func readProc(pid int) (procStats, error) {
	var s procStats
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("reading the stat of pid %d: %w", pid, err)
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return s, fmt.Errorf("pid %d: short /proc stat line", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	const userHZ = 100 // clock ticks per second on every Linux architecture Go supports
	s.CPUSeconds = (ut + st) / userHZ
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("reading the status of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmHWM:":
			s.PeakRSSMB = kb / 1024
		case "VmRSS:":
			s.RSSMB = kb / 1024
		}
	}
	return s, nil
}

// procMonitor samples a process every interval, so the figures survive its
// exit (once it has exited /proc has nothing; the last sample stands, which
// misses at most one interval of CPU time: stop samples once more before
// signalling the process).
type procMonitor struct {
	pid  int
	mu   sync.Mutex
	last procStats
	done chan struct{}
	wg   sync.WaitGroup
}

func newProcMonitor(pid int, interval time.Duration) *procMonitor {
	m := &procMonitor{pid: pid, done: make(chan struct{})}
	m.Sample()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
				m.Sample()
			}
		}
	}()
	return m
}

// Sample reads /proc now and returns the newest figures.
func (m *procMonitor) Sample() procStats {
	s, err := readProc(m.pid)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		return m.last
	}
	// An exiting process (a zombie until it is reaped) still has its CPU
	// times but no memory lines: keep the figures it had, so that a late
	// sample cannot erase the peak.
	m.last.CPUSeconds = max(m.last.CPUSeconds, s.CPUSeconds)
	m.last.PeakRSSMB = max(m.last.PeakRSSMB, s.PeakRSSMB)
	if s.RSSMB > 0 {
		m.last.RSSMB = s.RSSMB
	}
	return m.last
}

// Stop ends the sampling and returns the last figures.
func (m *procMonitor) Stop() procStats {
	close(m.done)
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}
