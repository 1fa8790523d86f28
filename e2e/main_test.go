//go:build e2e

// Package e2e tests the cdc binary end to end against real PostgreSQL,
// MariaDB and Kafka, started by e2e/services.sh. It imports none of cdc's
// packages: it drives the binary and reads Kafka the way a user would.
//
//	eval "$(e2e/services.sh env)"; go test -tags e2e ./e2e/
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	cdcBin  string
	pgDSN   string
	brokers string
	// mariaDSN is CDC_MYSQL_DSN as the tests found it: the test's own
	// connections use it, when a test points cdc elsewhere (a proxy).
	mariaDSN string
)

func TestMain(m *testing.M) {
	pgDSN = os.Getenv("CDC_PG_DSN")
	brokers = os.Getenv("CDC_KAFKA_BROKERS")
	mariaDSN = os.Getenv("CDC_MYSQL_DSN")
	if pgDSN == "" || brokers == "" {
		fmt.Fprintln(os.Stderr, "e2e: CDC_PG_DSN and CDC_KAFKA_BROKERS must be set; run: eval \"$(e2e/services.sh env)\"")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "cdc-e2e-bin")
	if err != nil {
		panic(err)
	}
	cdcBin = filepath.Join(dir, "cdc")
	// CDC_E2E_RACE=0 builds without the race detector (for memory
	// figures: it multiplies the heap).
	args := []string{"build", "-race", "-o", cdcBin, "../cmd/cdc"}
	if os.Getenv("CDC_E2E_RACE") == "0" {
		args = append(args[:1], args[2:]...)
	}
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building cdc:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopSecureKafka()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running cdc process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

// Log returns what the process has written to stderr so far.
func (p *proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startCDC starts `cdc run -c cfg`. The process is killed at test end.
func startCDC(t *testing.T, cfg string, env ...string) *proc {
	t.Helper()
	return startCommand(t, env, "run", "-c", cfg)
}

// startCommand starts cdc with args (and env added). The process is killed
// at test end.
func startCommand(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(cdcBin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p
	p.cmd.Stdout = p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting cdc: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(timeout time.Duration) int {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("cdc did not stop within %v after SIGTERM; log:\n%s", timeout, p.Log())
	}
	return p.cmd.ProcessState.ExitCode()
}

// stopOK sends SIGTERM and fails the test unless cdc exits 0 within 30 s.
func (p *proc) stopOK() {
	p.t.Helper()
	if code := p.stop(30 * time.Second); code != 0 {
		p.t.Fatalf("exit code after SIGTERM: %d; log:\n%s", code, p.Log())
	}
}

// logOnFailure prints the connector's log at the end of a failed test.
func (p *proc) logOnFailure() {
	p.t.Cleanup(func() {
		if p.t.Failed() {
			p.t.Logf("connector log:\n%s", p.Log())
		}
	})
}

// exited reports whether the process ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitExit waits for the process to end by itself and returns its exit code.
func (p *proc) waitExit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.t.Fatalf("cdc still running after %v; log:\n%s", timeout, p.Log())
		return -1
	}
}

// runCDC runs cdc with args to completion and returns exit code, stdout and stderr.
func runCDC(t *testing.T, timeout time.Duration, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cdcBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cdc %s: timed out after %v; stderr:\n%s", strings.Join(args, " "), timeout, errb.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running cdc: %v", err)
		}
		code = ee.ExitCode()
	}
	return code, out.String(), errb.String()
}

// writeConfig writes a connector config into the test's temp dir.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "connector.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// uniq returns a short name unique to this test run, usable in SQL and topics.
func uniq(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1_000_000_000)
}
