//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The benchmark harness (bench/, docs/benchmarks.md) is run here with small
// figures against cdc, so it cannot rot: its workloads, its consumer and its
// checks must still work end to end, and its JSON report must hold what the
// doc says. The timings are not checked (no test times anything); the full
// runs, and those with Debezium, are on demand.

var (
	benchBinOnce sync.Once
	benchBin     string
	benchErr     error
)

// buildBench builds the harness once per test binary.
func buildBench(t *testing.T) string {
	t.Helper()
	benchBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cdc-bench-bin")
		if err != nil {
			benchErr = err
			return
		}
		benchBin = filepath.Join(dir, "bench")
		out, err := exec.Command("go", "build", "-o", benchBin, "../bench").CombinedOutput()
		if err != nil {
			benchErr = err
			t.Logf("go build ../bench:\n%s", out)
		}
	})
	if benchErr != nil {
		t.Fatalf("building the benchmark harness: %v", benchErr)
	}
	return benchBin
}

// benchReport is the part of the harness's JSON report the smoke test reads.
type benchReport struct {
	OK       bool              `json:"ok"`
	Note     string            `json:"note"`
	Delivery map[string]string `json:"delivery"`
	Runs     []struct {
		DB, Workload, Connector, Delivery, Status, Topic string
		Tables                                           int
		Problems                                         []string
		Correctness                                      struct {
			Expected, Received, Distinct, Missing, Unexpected, Duplicates int64
			OrderViolations                                               int64 `json:"order_violations"`
			SnapshotReads                                                 int64 `json:"snapshot_reads"`
		}
		Metrics map[string]float64
		Latency *struct {
			Basis string
			Count int64
		}
	}
	Summary []struct {
		DB, Workload, Metric string
		Median               map[string]float64
	}
}

// TestBenchSmoke runs the harness's backlog (2,000 rows), mixed (2,000
// inserts, updates and deletes over 1,000 keys), wide (2,000 wide rows over
// 5 tables), snapshot (2,000 rows, 50 changes/s while it runs) and
// steady-state (50 transactions/s from 3 writers for 5 s after a 1 s
// warm-up) workloads against cdc on each database and checks the report:
// every run ok and correct, every figure the doc lists present.
func TestBenchSmoke(t *testing.T) {
	t.Parallel()
	bin := buildBench(t)
	for _, db := range []string{"postgres", "mariadb"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "bench.json")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-db", db, "-connectors", "cdc", "-cdc-bin", cdcBin,
				"-workloads", "backlog,mixed,wide,snapshot,steady", "-pairs", "1", "-backlog-rows", "2000", "-mixed-keys", "1000",
				"-wide-tables", "5", "-snapshot-write-rate", "50",
				"-rate", "50", "-steady-writers", "3", "-warmup", "1s", "-duration", "5s", "-timeout", "60s",
				"-prefix", strings.ReplaceAll(uniq("smoke"+db[:2]), "-", "_"), "-out", out)
			cmd.Env = os.Environ()
			start := time.Now()
			stdout, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bench: %v\n%s", err, stdout)
			}
			t.Logf("bench on %s took %v", db, time.Since(start).Round(100*time.Millisecond))
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var rep benchReport
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatalf("decoding the report: %v\n%s", err, b)
			}
			if !rep.OK || len(rep.Runs) != 5 {
				t.Fatalf("report ok=%v with %d runs, want ok with 5:\n%s", rep.OK, len(rep.Runs), stdout)
			}
			if rep.Delivery["cdc"] != "exactly-once" || !strings.Contains(rep.Note, "at-least-once") || !strings.Contains(string(stdout), "cdc is exactly-once") {
				t.Errorf("the report and the tables must say cdc is exactly-once and Debezium at-least-once: %q %v", rep.Note, rep.Delivery)
			}
			for _, r := range rep.Runs {
				c := r.Correctness
				if r.DB != db || r.Connector != "cdc" || r.Delivery != "exactly-once" || r.Status != "ok" {
					t.Errorf("%s run: db %s connector %s delivery %s status %s %v", r.Workload, r.DB, r.Connector, r.Delivery, r.Status, r.Problems)
				}
				if c.Expected == 0 || c.Missing+c.Unexpected+c.Duplicates+c.OrderViolations != 0 {
					t.Errorf("%s run: correctness %+v", r.Workload, c)
				}
				// A snapshot shows states, not history: some changes are
				// superseded, some states read twice (snapshot and stream).
				if r.Workload != "snapshot" && (c.Distinct != c.Expected || c.Received != c.Expected) {
					t.Errorf("%s run: correctness %+v", r.Workload, c)
				}
				want := []string{"cpu_s", "peak_rss_mb"}
				switch r.Workload {
				case "backlog", "mixed":
					if c.Expected != 2000 {
						t.Errorf("%s: %d changes expected, want 2000", r.Workload, c.Expected)
					}
					want = append(want, "events_per_s", "start_to_done_s", "events_per_s_from_start")
				case "wide":
					if c.Expected != 2000 || r.Tables != 6 {
						t.Errorf("wide: %d changes expected in %d tables, want 2000 in 6 (t and 5 wide ones)", c.Expected, r.Tables)
					}
					want = append(want, "events_per_s", "mb_per_s", "row_bytes", "start_to_done_s")
				case "snapshot":
					if c.Expected < 2000 || c.SnapshotReads < 1000 {
						t.Errorf("snapshot: %d changes expected, %d snapshot reads; want 2000 rows and the changes during the snapshot, most rows read by it", c.Expected, c.SnapshotReads)
					}
					want = append(want, "rows_per_s", "start_to_done_s", "cpu_snapshot_s")
				case "steady":
					if c.Expected < 200 {
						t.Errorf("steady: %d changes, want about 300", c.Expected)
					}
					want = append(want, "rate_achieved", "p50_ms", "p99_ms", "p999_ms", "cpu_us_per_event")
					if r.Metrics["writers"] != 3 {
						t.Errorf("steady: %v writers, want 3 (-steady-writers)", r.Metrics["writers"])
					}
					if r.Latency == nil || r.Latency.Count == 0 || !strings.Contains(r.Latency.Basis, "ts_us") {
						t.Errorf("steady: latency %+v, want a count and its basis", r.Latency)
					}
				default:
					t.Errorf("unexpected workload %q", r.Workload)
				}
				for _, m := range want {
					if r.Metrics[m] <= 0 {
						t.Errorf("%s run: metric %s = %v, want > 0 (metrics %v)", r.Workload, m, r.Metrics[m], r.Metrics)
					}
				}
			}
			if len(rep.Summary) == 0 || rep.Summary[0].Median["cdc"] <= 0 {
				t.Errorf("summary %+v, want medians for cdc", rep.Summary)
			}
		})
	}
}
