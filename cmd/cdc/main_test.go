package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A config with several problems prints one "cdc: " line per problem, as
// config errors promise, not all of them joined on one line.
func TestConfigErrorsOnePerLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("name: shop\nsource:\n  type: postgres\nkafka:\n  partitions: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"check", "-c", path}, &stdout, &stderr); code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("want one line per problem, got:\n%s", stderr.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "cdc: "+path+":") {
			t.Errorf("line %q does not start with cdc: and the file", l)
		}
		if strings.Count(l, path+":") != 1 {
			t.Errorf("line %q holds more than one problem", l)
		}
	}
}

// An error that wraps several with fmt.Errorf's %w is one line, its own
// text; only an errors.Join is split.
func TestErrorLines(t *testing.T) {
	a, b := errors.New("no broker answered"), errors.New("dial tcp 127.0.0.1:1: connection refused")
	wrapped := fmt.Errorf("connecting to kafka brokers 127.0.0.1:1: %w: %w", a, b)
	for _, tt := range []struct {
		err  error
		want []string
	}{
		{wrapped, []string{wrapped.Error()}},
		{errors.Join(a, b), []string{a.Error(), b.Error()}},
		{errors.Join(wrapped, a), []string{wrapped.Error(), a.Error()}},
		{fmt.Errorf("starting: %w", errors.Join(a, b)), []string{"starting: no broker answered; dial tcp 127.0.0.1:1: connection refused"}},
	} {
		if got := errorLines(tt.err); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("errorLines(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
