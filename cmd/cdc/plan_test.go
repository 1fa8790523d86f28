package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/source"
)

// The plan's result: nothing pending is nil (exit 0), a create or alter is
// pendingError (exit 3), drift and later steps are not pending, and a
// problem that would stop run is an error (exit 1).
func TestPrintPlan(t *testing.T) {
	cfg := &config.Config{Name: "shop", File: "shop.yaml", Source: config.Source{Type: config.SourcePostgres}}
	var out bytes.Buffer
	keep := []source.PlanStep{{Kind: source.PlanKeep, Object: "slot s", Detail: "exists"}, {Kind: source.PlanDrift, Object: "slot cdc_old", Detail: "inactive"}, {Kind: source.PlanLater, Object: "topic t", Detail: "later"}}
	if err := printPlan(&out, cfg, keep, []source.Problem{{Warning: true, Message: "w"}}); err != nil || !strings.Contains(out.String(), "no change pending") {
		t.Fatalf("keep/drift/later: %v\n%s", err, out.String())
	}
	out.Reset()
	err := printPlan(&out, cfg, append(keep, source.PlanStep{Kind: source.PlanAlter, Object: "publication p", Detail: "adds table a.b", SQL: "ALTER PUBLICATION"}), nil)
	if !errors.As(err, new(pendingError)) || !strings.Contains(out.String(), "sql: ALTER PUBLICATION") || !strings.Contains(out.String(), "1 change(s) pending") {
		t.Fatalf("alter: %v\n%s", err, out.String())
	}
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != exitPending {
		t.Errorf("exit code %d, want %d", code, exitPending)
	}
	out.Reset()
	err = printPlan(&out, cfg, keep, []source.Problem{{Message: "wal_level is replica", Fix: "ALTER SYSTEM ..."}})
	if err == nil || errors.As(err, new(pendingError)) || !strings.Contains(out.String(), "error: wal_level") {
		t.Fatalf("problem: %v\n%s", err, out.String())
	}
}
