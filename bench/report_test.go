package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestSummariseCountsOnlyOKRunsAndPairsRatios(t *testing.T) {
	run := func(conn string, pair int, status string, rate float64) runResult {
		return runResult{DB: "postgres", Workload: "backlog", Connector: conn, Pair: pair, Status: status,
			Metrics: map[string]float64{"events_per_s": rate}}
	}
	runs := []runResult{
		run("cdc", 1, statusOK, 100), run("debezium", 1, statusOK, 10),
		run("cdc", 2, statusOK, 80), run("debezium", 2, statusFailed, 1e9), // never counted
		run("cdc", 3, statusOK, 120), run("debezium", 3, statusOK, 30),
	}
	rows := summarise(runs)
	var r summaryRow
	for _, x := range rows {
		if x.Metric == "events_per_s" {
			r = x
		}
	}
	if r.Median["cdc"] != 100 || r.Median["debezium"] != 20 {
		t.Errorf("medians %v, want cdc 100 and debezium 20 (the FAILED run left out)", r.Median)
	}
	if want := []float64{10, 4}; !reflect.DeepEqual(r.PairRatios, want) {
		t.Errorf("pair ratios %v, want %v (pair 2 has a FAILED run)", r.PairRatios, want)
	}
	if r.MedianRatio != 7 || r.Failed["debezium"] != 1 || r.OKRuns["cdc"] != 3 {
		t.Errorf("median ratio %v, failed %v, ok %v", r.MedianRatio, r.Failed, r.OKRuns)
	}
	var out bytes.Buffer
	printRuns(&out, runs)
	printSummary(&out, rows)
	if n := strings.Count(out.String(), deliveryNote); n != 2 {
		t.Errorf("the delivery note appears %d times, want once per table:\n%s", n, out.String())
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
