package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// The profiler is served only when metrics.pprof asks for it.
func TestServeMetricsPprof(t *testing.T) {
	for _, pprof := range []bool{false, true} {
		var logs strings.Builder
		_, _, stop, err := serveMetrics("127.0.0.1:0", pprof, slog.New(slog.NewTextHandler(&logs, nil)), newStatus())
		if err != nil {
			t.Fatal(err)
		}
		_, addr, ok := strings.Cut(strings.TrimSpace(logs.String()), "address=")
		if !ok {
			stop()
			t.Fatalf("no address in %q", logs.String())
		}
		resp, err := http.Get("http://" + addr + "/debug/pprof/")
		if err != nil {
			stop()
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		stop()
		if pprof && (resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine")) {
			t.Errorf("pprof on: %d %q", resp.StatusCode, body)
		}
		if !pprof && resp.StatusCode != http.StatusNotFound {
			t.Errorf("pprof off: got %d, want 404", resp.StatusCode)
		}
	}
}
