package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// connector is a CDC connector under test, run as a process of its own so
// that its CPU time and memory can be read from /proc. A connector writes
// the run's table to the run's topic in the Debezium envelope.
type connector interface {
	Name() string // "cdc" or "debezium"
	// Delivery is what the connector guarantees: "exactly-once" or
	// "at-least-once". Duplicates fail an exactly-once run only.
	Delivery() string
	// Start starts the process and returns once it runs (not once it
	// streams: the workload writes probe rows until one is visible).
	// A stopped connector can be started again; it resumes where it
	// stopped.
	Start(ctx context.Context) error
	// Stats samples the running process.
	Stats() procStats
	// Stop ends the process (SIGTERM, SIGKILL after a minute) and returns
	// its last figures.
	Stop() (procStats, error)
	// Err is non-nil once the process exited by itself or the connector
	// reports a failure.
	Err() error
	// LogTail is the end of the connector's log, for a failed run.
	LogTail() string
}

// process is a child process whose output is kept (the end of it) and
// whose cost is sampled.
type process struct {
	cmd  *exec.Cmd
	mon  *procMonitor
	done chan struct{}
	err  error // once done: how it exited

	mu  sync.Mutex
	out []byte
}

const keepOutput = 256 << 10

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = append(p.out, b...)
	if len(p.out) > keepOutput {
		p.out = append(p.out[:0], p.out[len(p.out)-keepOutput/2:]...)
	}
	return len(b), nil
}

func startProcess(name string, args []string, env []string, dir string) (*process, error) {
	p := &process{done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p.mon = newProcMonitor(p.cmd.Process.Pid, 200*time.Millisecond)
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return errors.New("exited")
		}
		return fmt.Errorf("exited: %w", p.err)
	default:
		return nil
	}
}

// stop signals SIGTERM and waits; the figures are sampled just before.
func (p *process) stop(grace time.Duration) (procStats, error) {
	p.mon.Sample()
	if p.exited() != nil {
		return p.mon.Stop(), fmt.Errorf("process had already %w", p.exited())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case <-p.done:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
		err = fmt.Errorf("still running %v after SIGTERM; killed", grace)
	}
	return p.mon.Stop(), err
}

func (p *process) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return lastLines(string(p.out), n)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cdcOptions are the harness's settings for cdc; everything else is cdc's
// default.
type cdcOptions struct {
	Bin        string
	Brokers    string
	Partitions int
	Linger     string // kafka.batch.linger; "" keeps the default
	MinLinger  string // kafka.batch.min_linger; "" keeps the default
	MaxBytes   int    // kafka.batch.max_bytes; 0 keeps the default
	Extra      string // YAML appended to the config, for experiments
}

// cdcRunner runs `cdc run` on a config it writes.
type cdcRunner struct {
	opts cdcOptions
	dir  string
	cfg  string
	env  []string
	p    *process
}

// newCDC writes the run's config into dir: the tables of ns (t first),
// each to its topic ns.ns.<table> (the default prefix is the connector's
// name, ns), and no snapshot unless snapshot is set (then
// snapshot.mode: initial, at cdc's defaults otherwise).
func newCDC(opts cdcOptions, db database, ns, dir string, tables []string, snapshot bool) (*cdcRunner, error) {
	var src string
	switch db.Kind() {
	case "postgres":
		src = fmt.Sprintf("  type: postgres\n  dsn: ${CDC_BENCH_DSN}\n  slot: %s\n  publication: %s\n", ns, ns)
	case "mariadb":
		src = fmt.Sprintf("  type: mysql\n  dsn: ${CDC_BENCH_DSN}\n  server_id: %d\n", 100000+rand.IntN(1<<30))
	default:
		return nil, fmt.Errorf("cdc runner: unknown database %q", db.Kind())
	}
	var b strings.Builder
	quoted := make([]string, len(tables))
	for i, t := range tables {
		quoted[i] = fmt.Sprintf("%q", ns+"."+t)
	}
	fmt.Fprintf(&b, "# Written by the cdc benchmark harness (bench/).\nname: %s\nsource:\n%s  tables: [%s]\n", ns, src, strings.Join(quoted, ", "))
	fmt.Fprintf(&b, "kafka:\n  brokers: [\"%s\"]\n  checkpoint_topic: _cdc_checkpoints_bench\n  partitions: %d\n", opts.Brokers, opts.Partitions)
	if opts.Linger != "" || opts.MinLinger != "" || opts.MaxBytes != 0 {
		b.WriteString("  batch:\n")
	}
	if opts.MaxBytes != 0 {
		fmt.Fprintf(&b, "    max_bytes: %d\n", opts.MaxBytes)
	}
	if opts.Linger != "" {
		fmt.Fprintf(&b, "    linger: %s\n", opts.Linger)
	}
	if opts.MinLinger != "" {
		fmt.Fprintf(&b, "    min_linger: %s\n", opts.MinLinger)
	}
	if snapshot {
		b.WriteString("snapshot:\n  mode: initial\n")
	} else {
		b.WriteString("snapshot:\n  mode: never\n")
	}
	if opts.Extra != "" {
		b.WriteString(opts.Extra)
		b.WriteString("\n")
	}
	cfg := filepath.Join(dir, "cdc.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return nil, fmt.Errorf("writing the cdc config: %w", err)
	}
	return &cdcRunner{opts: opts, dir: dir, cfg: cfg, env: []string{"CDC_BENCH_DSN=" + db.Endpoint().DSN}}, nil
}

func (c *cdcRunner) Name() string     { return "cdc" }
func (c *cdcRunner) Delivery() string { return "exactly-once" }

func (c *cdcRunner) Start(ctx context.Context) error {
	p, err := startProcess(c.opts.Bin, []string{"run", "-c", c.cfg}, c.env, c.dir)
	if err != nil {
		return err
	}
	c.p = p
	return nil
}

func (c *cdcRunner) Stats() procStats { return c.p.mon.Sample() }

func (c *cdcRunner) Stop() (procStats, error) { return c.p.stop(time.Minute) }

func (c *cdcRunner) Err() error {
	if c.p == nil {
		return nil
	}
	if err := c.p.exited(); err != nil {
		return fmt.Errorf("cdc %w", err)
	}
	return nil
}

func (c *cdcRunner) LogTail() string {
	if c.p == nil {
		return ""
	}
	return c.p.tail(40)
}
