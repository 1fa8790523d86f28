package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// deliveryNote is printed with every table: the two connectors do not
// promise the same thing, and a figure without it would mislead.
const deliveryNote = "Delivery: cdc is exactly-once (Kafka transactions; the harness reads read_committed). " +
	"Debezium runs on Kafka Connect standalone: at-least-once (duplicates are counted and allowed for it)."

// runResult is one run of one workload with one connector. A run whose
// Status is FAILED is never counted in medians or ratios.
type runResult struct {
	DB          string      `json:"db"`
	Workload    string      `json:"workload"`
	Connector   string      `json:"connector"`
	Delivery    string      `json:"delivery"`
	Pair        int         `json:"pair"`
	Name        string      `json:"name"`   // namespace, connector name and topic prefix
	Topic       string      `json:"topic"`  // table t's; wide runs have one per table
	Tables      int         `json:"tables"` // captured tables (and topics), t included
	Status      string      `json:"status"` // "ok" or "FAILED"
	Problems    []string    `json:"problems,omitempty"`
	Correctness correctness `json:"correctness"`
	Tombstones  int64       `json:"tombstones"`
	Probes      int64       `json:"probe_events"`
	// Metrics are the run's figures by name (see metricInfo); cpu_s and
	// peak_rss_mb are the connector process's over the measured part.
	Metrics       map[string]float64 `json:"metrics"`
	Process       procStats          `json:"process"`
	HarnessCPU    float64            `json:"harness_cpu_s"` // this program's own CPU (consumer, writer) during the run
	Latency       *latencyFigures    `json:"latency,omitempty"`
	LatencySource *latencyFigures    `json:"latency_source_ts,omitempty"`
	StartedAt     time.Time          `json:"started_at"`
	WallSeconds   float64            `json:"wall_s"`
	LogTail       string             `json:"log_tail,omitempty"` // the connector's log, for a failed run
}

func (r runResult) ok() bool { return r.Status == statusOK }

const (
	statusOK     = "ok"
	statusFailed = "FAILED"
)

// metricInfo is how a metric is labelled and which way is better.
type metricInfo struct {
	Name, Label string
	Higher      bool // higher is better
}

// summaryMetrics are the figures compared per workload, in table order.
var summaryMetrics = map[string][]metricInfo{
	"backlog": {
		{"events_per_s", "events/s (first to last event)", true},
		{"start_to_done_s", "s from process start to all visible", false},
		{"cpu_s", "connector CPU s", false},
		{"peak_rss_mb", "connector peak RSS MB", false},
	},
	"mixed": {
		{"events_per_s", "events/s (first to last event)", true},
		{"start_to_done_s", "s from process start to all visible", false},
		{"cpu_s", "connector CPU s", false},
		{"peak_rss_mb", "connector peak RSS MB", false},
	},
	"wide": {
		{"events_per_s", "events/s (first to last event)", true},
		{"mb_per_s", "MB/s of source row data", true},
		{"start_to_done_s", "s from process start to all visible", false},
		{"cpu_s", "connector CPU s", false},
		{"peak_rss_mb", "connector peak RSS MB", false},
	},
	"snapshot": {
		{"rows_per_s", "rows/s (first read to last row)", true},
		{"start_to_done_s", "s from process start to every row read", false},
		{"cpu_s", "connector CPU s", false},
		{"peak_rss_mb", "connector peak RSS MB", false},
	},
	"steady": {
		{"rate_achieved", "events/s achieved", true},
		{"p50_ms", "p50 ms", false},
		{"p99_ms", "p99 ms", false},
		{"p999_ms", "p99.9 ms", false},
		{"cpu_us_per_event", "connector CPU µs/event", false},
		{"peak_rss_mb", "connector peak RSS MB", false},
	},
}

// summaryRow compares connectors on one metric of one workload and database.
type summaryRow struct {
	DB       string             `json:"db"`
	Workload string             `json:"workload"`
	Metric   string             `json:"metric"`
	Label    string             `json:"label"`
	Higher   bool               `json:"higher_is_better"`
	Median   map[string]float64 `json:"median"`  // per connector, over its ok runs
	OKRuns   map[string]int     `json:"ok_runs"` // per connector
	Failed   map[string]int     `json:"failed"`  // per connector
	// PairRatios are cdc ÷ debezium, per pair where both runs are ok.
	PairRatios  []float64 `json:"pair_ratios_cdc_over_debezium,omitempty"`
	MedianRatio float64   `json:"median_ratio_cdc_over_debezium,omitempty"`
}

func summarise(runs []runResult) []summaryRow {
	type group struct{ db, wl string }
	var order []group
	byGroup := map[group][]runResult{}
	for _, r := range runs {
		g := group{r.DB, r.Workload}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], r)
	}
	var out []summaryRow
	for _, g := range order {
		rs := byGroup[g]
		for _, m := range summaryMetrics[g.wl] {
			row := summaryRow{DB: g.db, Workload: g.wl, Metric: m.Name, Label: m.Label, Higher: m.Higher,
				Median: map[string]float64{}, OKRuns: map[string]int{}, Failed: map[string]int{}}
			vals := map[string][]float64{}
			pairs := map[int]map[string]float64{}
			for _, r := range rs {
				if !r.ok() {
					row.Failed[r.Connector]++
					continue
				}
				v, ok := r.Metrics[m.Name]
				if !ok {
					continue
				}
				row.OKRuns[r.Connector]++
				vals[r.Connector] = append(vals[r.Connector], v)
				if pairs[r.Pair] == nil {
					pairs[r.Pair] = map[string]float64{}
				}
				pairs[r.Pair][r.Connector] = v
			}
			for c, vs := range vals {
				row.Median[c] = median(vs)
			}
			var ps []int
			for p := range pairs {
				ps = append(ps, p)
			}
			sort.Ints(ps)
			for _, p := range ps {
				a, okA := pairs[p]["cdc"]
				b, okB := pairs[p]["debezium"]
				if okA && okB && b != 0 {
					row.PairRatios = append(row.PairRatios, a/b)
				}
			}
			if len(row.PairRatios) > 0 {
				row.MedianRatio = median(row.PairRatios)
			}
			out = append(out, row)
		}
	}
	return out
}

// num prints a figure with about three significant digits, never in
// exponent form.
func num(v float64) string {
	switch a := max(v, -v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// printRuns writes the per-run table.
func printRuns(w io.Writer, runs []runResult) {
	fmt.Fprintln(w, deliveryNote)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "db\tworkload\tconnector\tpair\tstatus\tchanges\tdups\tfigures\tCPU s\tpeak RSS MB")
	for _, r := range runs {
		status := r.Status
		if !r.ok() {
			status += ": " + strings.Join(r.Problems, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s (%s)\t%d\t%s\t%d/%d\t%d\t%s\t%.2f\t%.0f\n",
			r.DB, r.Workload, r.Connector, r.Delivery, r.Pair, status,
			r.Correctness.Distinct, r.Correctness.Expected, r.Correctness.Duplicates,
			runFigures(r), r.Metrics["cpu_s"], r.Metrics["peak_rss_mb"])
	}
	tw.Flush()
}

func runFigures(r runResult) string {
	m := r.Metrics
	switch r.Workload {
	case "backlog", "mixed":
		return fmt.Sprintf("%.0f events/s, %.1f s start to done", m["events_per_s"], m["start_to_done_s"])
	case "wide":
		return fmt.Sprintf("%.0f events/s, %.1f MB/s, %.1f s start to done, %.0f tables", m["events_per_s"], m["mb_per_s"], m["start_to_done_s"], m["tables"])
	case "snapshot":
		return fmt.Sprintf("%.0f rows/s, %.1f s start to done, %.0f changes during it", m["rows_per_s"], m["start_to_done_s"], m["concurrent_changes"])
	case "steady":
		return fmt.Sprintf("%.0f/s, p50 %.1f p99 %.1f p99.9 %.1f ms, %.0f CPU µs/event",
			m["rate_achieved"], m["p50_ms"], m["p99_ms"], m["p999_ms"], m["cpu_us_per_event"])
	}
	return ""
}

// printSummary writes medians and ratios.
func printSummary(w io.Writer, rows []summaryRow) {
	fmt.Fprintln(w, deliveryNote)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "db\tworkload\tmetric\tcdc median\tdebezium median\tcdc/debezium per pair\tmedian ratio")
	for _, r := range rows {
		cell := func(c string) string {
			if r.OKRuns[c] == 0 {
				if r.Failed[c] > 0 {
					return fmt.Sprintf("(%d FAILED)", r.Failed[c])
				}
				return "-"
			}
			s := fmt.Sprintf("%s (n=%d)", num(r.Median[c]), r.OKRuns[c])
			if r.Failed[c] > 0 {
				s += fmt.Sprintf(" +%d FAILED", r.Failed[c])
			}
			return s
		}
		ratios := make([]string, len(r.PairRatios))
		for i, x := range r.PairRatios {
			ratios[i] = fmt.Sprintf("%.2f", x)
		}
		mr := "-"
		if len(r.PairRatios) > 0 {
			mr = fmt.Sprintf("%.2fx", r.MedianRatio)
		}
		better := "lower is better"
		if r.Higher {
			better = "higher is better"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s (%s)\t%s\t%s\t%s\t%s\n", r.DB, r.Workload, r.Label, better,
			cell("cdc"), cell("debezium"), strings.Join(ratios, " "), mr)
	}
	tw.Flush()
}

// report is the JSON document the harness writes.
type report struct {
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Host     map[string]string `json:"host"`
	Settings map[string]string `json:"settings"`
	Delivery map[string]string `json:"delivery"`
	Note     string            `json:"note"`
	Runs     []runResult       `json:"runs"`
	Summary  []summaryRow      `json:"summary"`
	OK       bool              `json:"ok"` // every run ok
}

func writeJSON(path string, rep report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
