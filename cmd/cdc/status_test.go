package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cdc-go/cdc/source/mysql"
	"github.com/cdc-go/cdc/source/postgres"
)

func get(t *testing.T, h http.HandlerFunc) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Code, rec.Body.String()
}

// /readyz is 200 only while streaming (or snapshotting) with no component
// reporting a problem; /healthz stays 200 through unreachable
// dependencies and fails only once the process stops or halts.
func TestStatusReadiness(t *testing.T) {
	st := newStatus()
	reg := prometheus.NewRegistry()
	st.register(reg)
	stateIs := func(want connectorState) {
		t.Helper()
		_, body := get(t, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP)
		for _, s := range allStates {
			v := "0"
			if s == want {
				v = "1"
			}
			if line := `cdc_connector_state{state="` + string(s) + `"} ` + v; !strings.Contains(body, line+"\n") {
				t.Errorf("with state %s, /metrics lacks %s:\n%s", want, line, body)
			}
		}
	}
	ready := func(wantCode int, wantIn ...string) readiness {
		t.Helper()
		code, body := get(t, st.serveReady)
		if code != wantCode {
			t.Errorf("/readyz: %d %s, want %d", code, body, wantCode)
		}
		for _, w := range wantIn {
			if !strings.Contains(body, w) {
				t.Errorf("/readyz body %s lacks %q", body, w)
			}
		}
		var r readiness
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("/readyz body %q: %v", body, err)
		}
		return r
	}
	alive := func(want int) {
		t.Helper()
		if code, body := get(t, st.serveAlive); code != want {
			t.Errorf("/healthz: %d %s, want %d", code, body, want)
		}
	}

	stateIs(stateStarting)
	ready(503, `"state":"starting"`, `"component":"connector"`)
	alive(200)

	st.setRunning(true)
	stateIs(stateStreaming)
	if r := ready(200, `{"ready":true,"state":"streaming"}`); !r.Ready {
		t.Errorf("ready: %+v", r)
	}

	st.setSnapshot(true)
	stateIs(stateSnapshotting)
	ready(200, `"state":"snapshotting"`)
	st.setSnapshot(false)

	st.set(componentKafka, "kafka unreachable since X")
	stateIs(stateReconnecting)
	r := ready(503, `"component":"kafka"`, `"reason":"kafka unreachable since X"`, `"since":"`)
	alive(200) // restarting cdc does not bring Kafka back
	since := r.Reasons[0].Since
	time.Sleep(time.Millisecond)
	st.set(componentKafka, "kafka unreachable since X (2s)")
	if r := ready(503); !r.Reasons[0].Since.Equal(since) {
		t.Errorf("a problem set again moved its since: %v then %v", since, r.Reasons[0].Since)
	}
	if !st.clear(componentKafka) || st.clear(componentKafka) {
		t.Error("clear reports whether there was a problem")
	}
	ready(200)

	st.set(componentRetention, "retention emergency: binlog x")
	stateIs(stateStreaming) // still streaming, but not for long
	ready(503, `"component":"retention"`)
	st.clear(componentRetention)

	st.setRunning(false)
	st.set(componentSource, "source connection lost")
	stateIs(stateReconnecting)
	ready(503, `"component":"source"`)
	st.clear(componentSource)

	st.halt(componentSchema, "table t version 2 breaks backward compatibility")
	stateIs(stateHalted)
	ready(503, `"state":"halted"`, `"component":"schema"`)
	alive(503)

	st = newStatus()
	st.setRunning(true)
	st.stop()
	ready(503, `"state":"stopping"`)
	alive(503)
}

func TestSlotReport(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name string
		r    postgres.SlotRetention
		want retentionLevel
		head float64
	}{
		{"unlimited keep size never loses WAL", postgres.SlotRetention{WALStatus: "extended", SafeBytes: -1, MaxKeepBytes: -1, LagBytes: 5 * mib}, retentionOK, -1},
		{"plenty left", postgres.SlotRetention{WALStatus: "reserved", SafeBytes: 900 * mib, MaxKeepBytes: 1024 * mib}, retentionOK, 900 * mib},
		{"less than half left", postgres.SlotRetention{WALStatus: "reserved", SafeBytes: 400 * mib, MaxKeepBytes: 1024 * mib}, retentionWarning, 400 * mib},
		{"less than a tenth left", postgres.SlotRetention{WALStatus: "extended", SafeBytes: 100 * mib, MaxKeepBytes: 1024 * mib}, retentionEmergency, 100 * mib},
		{"unreserved", postgres.SlotRetention{WALStatus: "unreserved", SafeBytes: 0, MaxKeepBytes: 1024 * mib}, retentionEmergency, 0},
		{"lost", postgres.SlotRetention{WALStatus: "lost", SafeBytes: -1, MaxKeepBytes: 1024 * mib}, retentionLost, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := slotReport("s", tc.r)
			if rep.level != tc.want || rep.headroomBytes != tc.head {
				t.Errorf("level %s headroom %v, want %s %v (%s)", rep.level, rep.headroomBytes, tc.want, tc.head, rep.reason)
			}
			if (rep.level == retentionOK) != (rep.reason == "") {
				t.Errorf("level %s with reason %q", rep.level, rep.reason)
			}
		})
	}
}

func TestBinlogReport(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name string
		r    mysql.BinlogRetention
		at   time.Time
		want retentionLevel
		head float64
	}{
		{"no expiry", mysql.BinlogRetention{File: "b.1", Oldest: "b.1", LagBytes: 10}, now.Add(-30 * day), retentionOK, -1},
		{"the active file is never purged", mysql.BinlogRetention{Expire: day, File: "b.3", Oldest: "b.1", Active: true}, now.Add(-2 * day), retentionOK, day.Seconds()},
		{"committed recently", mysql.BinlogRetention{Expire: day, File: "b.2", Oldest: "b.1"}, now.Add(-time.Hour), retentionOK, 23 * time.Hour.Seconds()},
		{"more than half the expiry ago", mysql.BinlogRetention{Expire: day, File: "b.2", Oldest: "b.2"}, now.Add(-13 * time.Hour), retentionWarning, 11 * time.Hour.Seconds()},
		{"nearly expired", mysql.BinlogRetention{Expire: day, File: "b.2", Oldest: "b.2"}, now.Add(-23 * time.Hour), retentionEmergency, time.Hour.Seconds()},
		{"expired, not purged yet", mysql.BinlogRetention{Expire: day, File: "b.2", Oldest: "b.2"}, now.Add(-2 * day), retentionEmergency, 0},
		{"purged", mysql.BinlogRetention{Expire: day, File: "b.1", Oldest: "b.4", Purged: true, LagBytes: -1}, now.Add(-2 * day), retentionLost, -1},
		{"a GTID-only position", mysql.BinlogRetention{Expire: day, LagBytes: -1}, now.Add(-2 * day), retentionOK, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := binlogReport(tc.r, tc.at, now)
			if rep.level != tc.want || rep.headroomSeconds != tc.head {
				t.Errorf("level %s headroom %vs, want %s %vs (%s)", rep.level, rep.headroomSeconds, tc.want, tc.head, rep.reason)
			}
			if rep.level >= retentionWarning && tc.r.File == tc.r.Oldest && !strings.Contains(rep.reason, "oldest binlog") {
				t.Errorf("reason %q does not say the file is the oldest kept", rep.reason)
			}
		})
	}
}

// A halting error exits 3; a plain runtime failure 1.
func TestHaltExitCode(t *testing.T) {
	if c, ok := haltComponent(postgres.ErrSlotLost); !ok || c != componentRetention {
		t.Errorf("ErrSlotLost: %q %v", c, ok)
	}
	if _, ok := haltComponent(postgres.ErrSlotMissing); ok {
		t.Error("a missing slot is not a halt")
	}
}
