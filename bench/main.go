// Command bench measures CDC connectors side by side against the local
// services (e2e/services.sh): it creates a table per run, writes load into
// PostgreSQL or MariaDB, and reads the connector's topic with its own
// read_committed consumer. It imports nothing of cdc: it takes a topic and
// reads the Debezium envelope, so it measures cdc and Debezium (on Kafka
// Connect standalone, JsonConverter without schemas) alike. Every run is
// checked (all changes present, duplicates counted, order per key) and a
// run that is not correct is FAILED and never counted. Runs alternate the
// connectors (A B A B) for -pairs pairs; the harness prints a table per run
// and a summary (medians, per-pair ratios) and writes them as JSON.
//
//	eval "$(e2e/services.sh env)"
//	go run ./bench -db postgres,mariadb -connectors cdc,debezium -pairs 3 -out bench.json
//
// See docs/benchmarks.md ("The benchmark harness").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type settings struct {
	dbs, connectors, workloads []string
	pairs                      int
	partitions                 int
	backlogRows                int64
	backlogTxRows              int
	mixedKeys                  int64
	mixedTxRows                int
	wideTables                 int
	snapshotRows               int64
	snapshotWriteRate          float64
	rate                       float64
	steadyTxRows               int
	steadyWriters              int
	warmup, duration           time.Duration
	timeout                    time.Duration
	cdc                        cdcOptions
	dbz                        debeziumOptions
	out                        string
	prefix                     string
	keep                       bool
	brokers                    []string
	pgDSN, myDSN               string
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
}

func run() error {
	var s settings
	var dbs, conns, wls, cdcExtraFile string
	var dbzProps listFlag
	flag.StringVar(&dbs, "db", "postgres,mariadb", "databases: postgres, mariadb (comma-separated)")
	flag.StringVar(&conns, "connectors", "cdc", "connectors, in the order each pair runs them: cdc, debezium")
	flag.StringVar(&wls, "workloads", "backlog,steady", "workloads: backlog, mixed, wide, steady, snapshot")
	flag.IntVar(&s.pairs, "pairs", 1, "pairs of runs (each pair runs every connector once, in -connectors order)")
	flag.IntVar(&s.partitions, "partitions", 3, "partitions of each run's topic (the harness creates it, for every connector)")
	flag.Int64Var(&s.backlogRows, "backlog-rows", 100000, "backlog: rows written while the connector is stopped")
	flag.IntVar(&s.backlogTxRows, "backlog-tx-rows", 100, "backlog: rows per source transaction")
	flag.Int64Var(&s.mixedKeys, "mixed-keys", 100000, "mixed: key space of the inserts, updates and deletes (the backlog is -backlog-rows changes; at least half as many keys as changes, or inserts run out of keys)")
	flag.IntVar(&s.mixedTxRows, "mixed-tx-rows", 10, "mixed: rows per source transaction (one statement of one kind)")
	flag.IntVar(&s.wideTables, "wide-tables", 100, "wide: tables of ~4 KiB rows (t000...), each with its topic; the backlog is -backlog-rows rows over them, in transactions of -backlog-tx-rows")
	flag.Int64Var(&s.snapshotRows, "snapshot-rows", 0, "snapshot: rows in the table before the connector starts (default: -backlog-rows)")
	flag.Float64Var(&s.snapshotWriteRate, "snapshot-write-rate", 100, "snapshot: single-row transactions/s (70% updates, 30% inserts) written while the snapshot runs; 0 for none")
	flag.Float64Var(&s.rate, "rate", 1000, "steady: source transactions per second")
	flag.IntVar(&s.steadyTxRows, "steady-tx-rows", 1, "steady: rows per transaction")
	flag.IntVar(&s.steadyWriters, "steady-writers", 0, "steady: writer connections sharing the rate (default: one per 500 transactions/s, at most 32)")
	flag.DurationVar(&s.warmup, "warmup", 5*time.Second, "steady: warm-up before measuring")
	flag.DurationVar(&s.duration, "duration", 30*time.Second, "steady: measured time")
	flag.DurationVar(&s.timeout, "timeout", 3*time.Minute, "a run fails when a wait (streaming start, next new change) exceeds this")
	flag.StringVar(&s.cdc.Bin, "cdc-bin", "", "cdc binary (default: go build ./cmd/cdc of this module into a temporary directory)")
	flag.StringVar(&s.cdc.Linger, "cdc-linger", "", "cdc kafka.batch.linger (default: cdc's default)")
	flag.StringVar(&s.cdc.MinLinger, "cdc-min-linger", "", "cdc kafka.batch.min_linger (default: cdc's default)")
	flag.IntVar(&s.cdc.MaxBytes, "cdc-max-bytes", 0, "cdc kafka.batch.max_bytes (default: cdc's default)")
	flag.StringVar(&cdcExtraFile, "cdc-extra", "", "YAML file appended to cdc's config (top-level sections the harness does not write)")
	flag.StringVar(&s.dbz.Script, "connect-sh", "", "e2e/connect.sh (default: the one of this module)")
	flag.Var(&dbzProps, "dbz-prop", "extra Debezium connector property KEY=VALUE (repeatable), e.g. poll.interval.ms=10")
	flag.StringVar(&s.out, "out", "bench-results.json", "JSON report")
	flag.StringVar(&s.prefix, "prefix", "bench", "prefix of run names (schemas, databases, topics, slots)")
	flag.BoolVar(&s.keep, "keep", false, "keep each run's tables, topics and slots")
	flag.Parse()

	s.dbs, s.connectors, s.workloads = split(dbs), split(conns), split(wls)
	s.dbz.Props = map[string]string{}
	for _, p := range dbzProps {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("-dbz-prop %q: want KEY=VALUE", p)
		}
		s.dbz.Props[k] = v
	}
	if cdcExtraFile != "" {
		b, err := os.ReadFile(cdcExtraFile)
		if err != nil {
			return fmt.Errorf("reading -cdc-extra: %w", err)
		}
		s.cdc.Extra = string(b)
	}
	b := os.Getenv("CDC_KAFKA_BROKERS")
	if b == "" {
		return errors.New(`CDC_KAFKA_BROKERS is not set; run: eval "$(e2e/services.sh env)"`)
	}
	s.brokers = strings.Split(b, ",")
	s.cdc.Brokers, s.dbz.Brokers = s.brokers[0], b
	s.cdc.Partitions, s.dbz.Partitions = s.partitions, s.partitions
	s.pgDSN, s.myDSN = os.Getenv("CDC_PG_DSN"), os.Getenv("CDC_MYSQL_DSN")
	if s.snapshotRows == 0 {
		s.snapshotRows = s.backlogRows
	}
	if err := s.validate(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "cdc-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if s.cdc.Bin == "" && contains(s.connectors, "cdc") {
		s.cdc.Bin = filepath.Join(tmp, "cdc")
		fmt.Fprintln(os.Stderr, "bench: building cdc (go build github.com/cdc-go/cdc/cmd/cdc)")
		build := exec.CommandContext(ctx, "go", "build", "-o", s.cdc.Bin, "github.com/cdc-go/cdc/cmd/cdc")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building cdc: %w", err)
		}
	}
	if s.dbz.Script == "" && contains(s.connectors, "debezium") {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		s.dbz.Script = filepath.Join(root, "e2e", "connect.sh")
	}

	rep := report{Started: time.Now(), Host: hostInfo(), Settings: s.describe(),
		Delivery: map[string]string{"cdc": "exactly-once", "debezium": "at-least-once (Kafka Connect standalone)"},
		Note:     deliveryNote}
	h := &harness{s: s, tmp: tmp}
	total := len(s.dbs) * len(s.workloads) * s.pairs * len(s.connectors)
	n := 0
	for _, dbName := range s.dbs {
		db, err := s.database(dbName)
		if err != nil {
			return err
		}
		for _, wlName := range s.workloads {
			for pair := 1; pair <= s.pairs; pair++ {
				for _, c := range s.connectors {
					n++
					if ctx.Err() != nil {
						break
					}
					h.label = fmt.Sprintf("[%d/%d %s %s %s pair %d]", n, total, dbName, wlName, c, pair)
					r := h.runOne(ctx, db, s.workload(wlName), c, pair)
					h.progressDone()
					fmt.Fprintf(os.Stderr, "%s %s: %s\n", h.label, r.Status, strings.Join(append([]string{runFigures(r)}, r.Problems...), "; "))
					rep.Runs = append(rep.Runs, r)
				}
			}
		}
	}
	rep.Finished = time.Now()
	rep.Summary = summarise(rep.Runs)
	rep.OK = len(rep.Runs) == total
	for _, r := range rep.Runs {
		rep.OK = rep.OK && r.ok()
	}
	fmt.Println()
	printRuns(os.Stdout, rep.Runs)
	fmt.Println()
	printSummary(os.Stdout, rep.Summary)
	if err := writeJSON(s.out, rep); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: report written to %s\n", s.out)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if !rep.OK {
		fmt.Fprintln(os.Stderr, "bench: some runs FAILED")
		os.Exit(1)
	}
	return nil
}

func (s settings) validate() error {
	var errs []error
	for _, d := range s.dbs {
		switch d {
		case "postgres":
			if s.pgDSN == "" {
				errs = append(errs, errors.New("-db postgres needs CDC_PG_DSN"))
			}
		case "mariadb":
			if s.myDSN == "" {
				errs = append(errs, errors.New("-db mariadb needs CDC_MYSQL_DSN"))
			}
		default:
			errs = append(errs, fmt.Errorf("-db %q: want postgres or mariadb", d))
		}
	}
	for _, c := range s.connectors {
		if c != "cdc" && c != "debezium" {
			errs = append(errs, fmt.Errorf("-connectors %q: want cdc or debezium", c))
		}
	}
	for _, w := range s.workloads {
		if _, ok := summaryMetrics[w]; !ok {
			errs = append(errs, fmt.Errorf("-workloads %q: want backlog, mixed, wide, steady or snapshot", w))
		}
	}
	if s.pairs < 1 || s.partitions < 1 || s.backlogRows < 1 || s.backlogTxRows < 1 || s.rate <= 0 || s.steadyTxRows < 1 || s.duration <= 0 || s.mixedKeys < 1 || s.mixedTxRows < 1 || s.snapshotRows < 1 {
		errs = append(errs, errors.New("-pairs, -partitions, -backlog-rows, -backlog-tx-rows, -rate, -steady-tx-rows, -duration, -mixed-keys, -mixed-tx-rows and -snapshot-rows must be positive"))
	}
	if s.wideTables < 1 || s.wideTables > 1000 {
		errs = append(errs, fmt.Errorf("-wide-tables %d: want 1 to 1000", s.wideTables))
	}
	if s.steadyWriters < 0 || s.steadyWriters > 256 {
		errs = append(errs, fmt.Errorf("-steady-writers %d: want 0 (one per 500 transactions/s) to 256", s.steadyWriters))
	}
	if s.snapshotWriteRate < 0 {
		errs = append(errs, fmt.Errorf("-snapshot-write-rate %v: want 0 or more", s.snapshotWriteRate))
	}
	if contains(s.workloads, "mixed") && s.mixedKeys < 2*int64(s.mixedTxRows) {
		errs = append(errs, fmt.Errorf("-mixed-keys %d: give at least twice -mixed-tx-rows (%d)", s.mixedKeys, s.mixedTxRows))
	}
	if contains(s.workloads, "mixed") && s.mixedKeys*2 < s.backlogRows {
		errs = append(errs, fmt.Errorf("-mixed-keys %d: a 60/30/10 mix adds half a key per change; give at least %d keys for -backlog-rows %d", s.mixedKeys, (s.backlogRows+1)/2, s.backlogRows))
	}
	if !validName(s.prefix) {
		errs = append(errs, fmt.Errorf("-prefix %q: lowercase letters, digits and _ only", s.prefix))
	}
	return errors.Join(errs...)
}

func (s settings) database(name string) (database, error) {
	if name == "postgres" {
		return newPostgres(s.pgDSN)
	}
	return newMariaDB(s.myDSN)
}

func (s settings) workload(name string) workload {
	switch name {
	case "backlog":
		return backlog{Rows: s.backlogRows, TxRows: s.backlogTxRows}
	case "mixed":
		return backlog{Rows: s.backlogRows, TxRows: s.mixedTxRows, Mixed: true, Keys: s.mixedKeys}
	case "wide":
		return backlog{Rows: s.backlogRows, TxRows: s.backlogTxRows, Tables: s.wideTables}
	case "snapshot":
		return snapshotLoad{Rows: s.snapshotRows, WriteRate: s.snapshotWriteRate}
	}
	w := s.steadyWriters
	if w <= 0 {
		w = min(max(int(math.Ceil(s.rate/500)), 1), 32)
	}
	return steady{Rate: s.rate, TxRows: s.steadyTxRows, Writers: w, Warmup: s.warmup, Duration: s.duration}
}

func (s settings) describe() map[string]string {
	m := map[string]string{}
	flag.VisitAll(func(f *flag.Flag) { m[f.Name] = f.Value.String() })
	m["cdc-bin"] = s.cdc.Bin
	return m
}

// harness runs one run at a time.
type harness struct {
	s     settings
	tmp   string
	label string

	lastProgress time.Time
	progressLen  int
}

var stderrTTY = func() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}()

// progress shows one line about the current run: rewritten in place on a
// terminal, else printed every 5 s.
func (h *harness) progress(format string, args ...any) {
	line := h.label + " " + fmt.Sprintf(format, args...)
	if stderrTTY {
		fmt.Fprintf(os.Stderr, "\r\033[K%s", line)
		h.progressLen = len(line)
		return
	}
	if time.Since(h.lastProgress) >= 5*time.Second {
		fmt.Fprintln(os.Stderr, line)
		h.lastProgress = time.Now()
	}
}

func (h *harness) progressDone() {
	if stderrTTY && h.progressLen > 0 {
		fmt.Fprint(os.Stderr, "\r\033[K")
		h.progressLen = 0
	}
}

// runOne makes the run's namespace, tables and topics, runs the workload
// with the connector, judges the result and cleans up. It never returns an error:
// whatever goes wrong is the run's FAILED status.
func (h *harness) runOne(ctx context.Context, db database, wl workload, kind string, pair int) runResult {
	ns := fmt.Sprintf("%s_%s_%d_%s", h.s.prefix, db.Kind()[:2], time.Now().Unix()%1_000_000, randSuffix())
	res := runResult{DB: db.Kind(), Workload: wl.Name(), Connector: kind, Pair: pair, Name: ns,
		Topic: ns + "." + ns + ".t", Metrics: map[string]float64{}, StartedAt: time.Now()}
	harnessCPU0 := selfCPU()
	var problems []string
	fail := func(err error) { problems = append(problems, err.Error()) }

	dir := filepath.Join(h.tmp, ns)
	capt := wl.Capture()
	tables := append([]string{"t"}, capt.Wide...)
	topics := make([]string, len(tables))
	for i, t := range tables {
		topics[i] = ns + "." + ns + "." + t
	}
	res.Tables = len(tables)
	var conn connector
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = db.Create(ctx, ns)
	}
	if err == nil && len(capt.Wide) > 0 {
		err = db.CreateWide(ctx, ns, capt.Wide)
	}
	if err == nil {
		err = h.createTopics(ctx, topics)
	}
	if err == nil {
		switch kind {
		case "cdc":
			conn, err = newCDC(h.s.cdc, db, ns, dir, tables, capt.Snapshot)
		default:
			conn, err = newDebezium(h.s.dbz, db, ns, dir, tables, capt.Snapshot)
		}
	}
	var tr *tracker
	if err == nil {
		var snap *snapChecker
		if sl, ok := wl.(snapshotLoad); ok {
			snap = newSnapChecker(sl.Rows)
		}
		tr, err = newTracker(h.s.brokers, topics, snap)
	}
	if err != nil {
		fail(fmt.Errorf("setting up: %w", err))
	} else {
		res.Delivery = conn.Delivery()
		go tr.run(ctx)
		rc := &runCtx{db: db, conn: conn, ns: ns, tables: tables, tr: tr, timeout: h.s.timeout, progress: h.progress, res: &res}
		runErr := wl.Run(ctx, rc)
		if runErr != nil {
			fail(runErr)
			res.LogTail = conn.LogTail()
		}
		stats, stopErr := stopIfStarted(conn)
		if stopErr != nil && runErr == nil {
			fail(fmt.Errorf("stopping the connector: %w", stopErr))
			res.LogTail = conn.LogTail()
		}
		res.Process = stats
		res.Metrics["cpu_s"] = stats.CPUSeconds
		res.Metrics["peak_rss_mb"] = stats.PeakRSSMB
		res.Correctness, res.Tombstones, res.Probes = tr.close()
		problems = append(problems, res.Correctness.Problems(conn.Delivery() == "exactly-once")...)
	}
	res.HarnessCPU = selfCPU() - harnessCPU0
	res.WallSeconds = time.Since(res.StartedAt).Seconds()
	res.Status, res.Problems = statusOK, problems
	if len(problems) > 0 {
		res.Status = statusFailed
	}
	if !h.s.keep {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := db.Drop(cctx, ns); err != nil {
			fmt.Fprintf(os.Stderr, "bench: cleaning up %s: %v\n", ns, err)
		}
		h.deleteTopics(cctx, ns+".")
	}
	return res
}

// stopIfStarted stops a connector that was started (a setup failure may
// leave it unstarted).
func stopIfStarted(c connector) (procStats, error) {
	switch c := c.(type) {
	case *cdcRunner:
		if c.p == nil {
			return procStats{}, nil
		}
	case *debeziumRunner:
		if c.p == nil {
			return procStats{}, nil
		}
	}
	return c.Stop()
}

func (h *harness) admin() (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.s.brokers...))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to Kafka: %w", err)
	}
	return kadm.NewClient(cl), cl.Close, nil
}

// createTopics creates the run's topics, so that every connector writes
// to the same number of partitions (Connect standalone creates none by
// itself, and cdc's on-demand topics follow kafka.partitions).
func (h *harness) createTopics(ctx context.Context, topics []string) error {
	adm, done, err := h.admin()
	if err != nil {
		return err
	}
	defer done()
	resps, err := adm.CreateTopics(ctx, int32(h.s.partitions), -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("creating topics: %w", err)
	}
	var errs []error
	for _, t := range topics {
		if r, ok := resps[t]; !ok || r.Err != nil {
			errs = append(errs, fmt.Errorf("creating topic %s: %w", t, topicErr(r.Err, ok)))
		}
	}
	return errors.Join(errs...)
}

func topicErr(err error, answered bool) error {
	if !answered {
		return errors.New("no answer from Kafka")
	}
	return err
}

// deleteTopics deletes the run's topics (its data topic, cdc's schema
// topics, Debezium's schema history): every topic starting with prefix.
func (h *harness) deleteTopics(ctx context.Context, prefix string) {
	adm, done, err := h.admin()
	if err != nil {
		return
	}
	defer done()
	ts, err := adm.ListTopics(ctx)
	if err != nil {
		return
	}
	var del []string
	for _, t := range ts.Names() {
		if strings.HasPrefix(t, prefix) {
			del = append(del, t)
		}
	}
	if len(del) > 0 {
		adm.DeleteTopics(ctx, del...)
	}
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func randSuffix() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

// selfCPU is this process's CPU time so far.
func selfCPU() float64 {
	s, _ := readProc(os.Getpid())
	return s.CPUSeconds
}

// moduleRoot is the directory of this module's go.mod, found from the
// working directory upwards.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/cdc-go/cdc") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the cdc module: give -connect-sh")
		}
		dir = parent
	}
}

func hostInfo() map[string]string {
	m := map[string]string{"cpus": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version(), "goos": runtime.GOOS}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(b))
	}
	if h, err := os.Hostname(); err == nil {
		m["hostname"] = h
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m["memory"] = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	return m
}
