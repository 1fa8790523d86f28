package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// exampleEnv sets the variables the files of examples/ read, pointing every
// address at a listener that counts connections, and returns the count.
func exampleEnv(t *testing.T) *atomic.Int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	t.Setenv("CDC_PG_DSN", "postgres://cdc:dummy@"+addr+"/shop?connect_timeout=1")
	t.Setenv("CDC_MARIADB_DSN", "cdc:dummy@tcp("+addr+")/shop?timeout=1s")
	t.Setenv("CDC_MYSQL_DSN", "cdc:dummy@tcp("+addr+")/shop?timeout=1s")
	t.Setenv("CDC_KAFKA_BROKERS", addr)
	t.Setenv("CDC_METRICS_LISTEN", ":9187")
	return &accepted
}

// Every example config passes `cdc check -offline` as docker-compose.yml
// and the README use it, without a connection to anything.
func TestCheckOfflineExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("examples/*.yaml: %d files, want at least shop, postgres, mariadb and mysql", len(files))
	}
	accepted := exampleEnv(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runMain(context.Background(), []string{"check", "-offline", "-c", f}, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
			}
			out := stdout.String()
			for _, want := range []string{"config " + f + ": ok", "offline: not checked"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "dummy") {
				t.Errorf("output shows the DSN's password:\n%s", out)
			}
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("check -offline made %d connection(s)", n)
	}
}

// A typo in an example fails offline with exit 2 and one line naming the
// file, the line and the key, as the full check would.
func TestCheckOfflineTypo(t *testing.T) {
	accepted := exampleEnv(t)
	data, err := os.ReadFile("../../examples/postgres.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(data), "\n  slot: ", "\n  slott: ", 1)
	if bad == string(data) {
		t.Fatal("examples/postgres.yaml has no source.slot line to break")
	}
	line := strings.Count(bad[:strings.Index(bad, "slott:")], "\n") + 1
	path := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"check", "--offline", "-c", path}, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr.String())
	}
	want := "cdc: " + path + ":" + strconv.Itoa(line) + `: unknown key "slott" in source (did you mean "slot"?`
	if !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr:\n%s\nwant it to start with\n%s", stderr.String(), want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q, want nothing for a bad file", stdout.String())
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("check -offline made %d connection(s)", n)
	}
}
