package main

import (
	"bytes"
	"context"
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
