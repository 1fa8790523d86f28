//go:build e2e

// Package decodeonly measures the ceiling of cdc's own code (issue 12,
// item 5): the real source reads a backlog from the database's log and
// decodes it, the real router encodes each change as cdc run would, and a
// sink that keeps nothing takes the records. No Kafka, no checkpoint, no
// pipeline batching: what is left is source read + decode + encode.
//
// It is not in e2e/, which drives the binary and imports none of cdc's
// packages, nor in bench/, which measures any connector from the outside.
// Its benchmarks need the services of e2e/services.sh and are skipped
// without them; they run only with -bench. Measure on one core:
//
//	eval "$(e2e/services.sh env)"
//	go test -tags e2e -run XXX -bench DecodeOnly -benchtime 200000x -cpu 1 -benchmem ./e2e/decodeonly/
//
// Each benchmark run writes b.N rows of the benchmark harness's table t
// (~200 bytes: id, seq, ts_us, amount numeric(12,2), note text of 160
// characters) in transactions of 100 rows while nothing reads them (not
// timed), then times the source's Stream from before the rows to the b.N-th
// change, routing every change (from the stream's first message: the
// replication connection's start-up is left out). The database server decodes its log
// (Postgres: the walsender's pgoutput) in its own process, on the other
// core, in the same time.
package decodeonly

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/source/mysql"
	"github.com/cdc-go/cdc/source/postgres"
	"github.com/cdc-go/cdc/transform"
)

// txRows is the rows per source transaction of the backlog, as the
// harness's backlog workload writes it.
const txRows = 100

var note = strings.Repeat("benchmark row padding 0123456789 ", 5)[:160]

func values(id int64) string {
	return fmt.Sprintf("(%d,%d,%d,%d.%02d,'%s')", id, id, time.Now().UnixMicro(), id%1000000, id%100, note)
}

// writeBacklog inserts rows 1..n into table in transactions of txRows.
func writeBacklog(ctx context.Context, exec func(ctx context.Context, q string) error, table string, n int) error {
	var b strings.Builder
	for id := int64(1); id <= int64(n); {
		b.Reset()
		b.WriteString("INSERT INTO " + table + " (id, seq, ts_us, amount, note) VALUES ")
		for i := 0; i < txRows && id <= int64(n); i, id = i+1, id+1 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(values(id))
		}
		if err := exec(ctx, b.String()); err != nil {
			return err
		}
	}
	return nil
}

// newRouter builds the router as cmd/cdc does (newRouter in cmd/cdc/router.go):
// from a loaded configuration, with cdc's defaults and the given events.format.
func newRouter(tb testing.TB, sourceYAML, connector, name, format string) *transform.Router {
	tb.Helper()
	yaml := fmt.Sprintf("name: %s\nsource:\n%s\nkafka:\n  brokers: [\"127.0.0.1:9\"]\nevents:\n  format: %s\n", name, sourceYAML, format)
	cfg, err := config.Parse("decodeonly.yaml", []byte(yaml), nil)
	if err != nil {
		tb.Fatalf("config: %v", err)
	}
	rc := cfg.RouterConfig()
	rc.Envelope = transform.Envelope{Connector: connector, Name: cfg.Kafka.TopicPrefix, Version: "decodeonly", SchemaInPayload: cfg.Kafka.SchemaInPayload}
	rc.Envelope.Debezium = cfg.Events.Debezium()
	r, err := transform.NewRouter(rc)
	if err != nil {
		tb.Fatalf("router: %v", err)
	}
	return r
}

// streamer is the part of a source the benchmark runs.
type streamer interface {
	Stream(ctx context.Context, from source.Position, out chan<- source.Message) error
}

// drain streams from from until n changes have been routed into a sink that
// keeps nothing but their size, and reports the figures. The timer (and the
// allocation count) runs from the first message of the stream to the n-th
// change: the replication connection's start is not decoding.
func drain(b *testing.B, src streamer, from source.Position, router *transform.Router, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Unbuffered, as the pipeline's input (pipeline/queue.go).
	out := make(chan source.Message)
	done := make(chan error, 1)
	b.ReportAllocs()
	b.StopTimer()
	go func() { done <- src.Stream(ctx, from, out) }()
	var changes, bytes int
	first := true
	for changes < n {
		select {
		case err := <-done:
			b.Fatalf("stream ended after %d of %d changes: %v", changes, n, err)
		case m := <-out:
			if first {
				b.ResetTimer()
				b.StartTimer()
				first = false
			}
			if m.Change == nil {
				continue
			}
			recs, err := router.Route(m.Change)
			if err != nil {
				b.Fatalf("routing: %v", err)
			}
			for _, r := range recs {
				bytes += len(r.Key) + len(r.Value)
			}
			changes++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(changes)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(bytes)/float64(changes), "record-B/row")
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		b.Errorf("stream: %v", err)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// BenchmarkDecodeOnlyPostgres reads a backlog of b.N rows through the
// pgoutput stream (source/postgres), in each events.format.
func BenchmarkDecodeOnlyPostgres(b *testing.B) {
	dsn := os.Getenv("CDC_PG_DSN")
	if dsn == "" {
		b.Skip(`CDC_PG_DSN is not set; run: eval "$(e2e/services.sh env)"`)
	}
	for _, format := range []string{"cdc", "debezium"} {
		b.Run("format="+format, func(b *testing.B) { benchPostgres(b, dsn, format) })
	}
}

func benchPostgres(b *testing.B, dsn, format string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatalf("connecting to Postgres: %v", err)
	}
	defer conn.Close(ctx)
	exec := func(ctx context.Context, q string) error {
		_, err := conn.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol)
		return err
	}
	ns := fmt.Sprintf("decodeonly_%d", rand.Uint32())
	for _, q := range []string{
		"CREATE SCHEMA " + ns,
		"CREATE TABLE " + ns + ".t (id bigint PRIMARY KEY, seq bigint NOT NULL, ts_us bigint NOT NULL, amount numeric(12,2), note text)",
		"ALTER TABLE " + ns + ".t REPLICA IDENTITY FULL",
	} {
		if err := exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	defer func() {
		for i := 0; i < 20; i++ { // the walsender lets go of the slot a moment after the stream ends
			if exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '"+ns+"'") == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		exec(ctx, "DROP PUBLICATION IF EXISTS "+ns)
		exec(ctx, "DROP SCHEMA IF EXISTS "+ns+" CASCADE")
	}()
	src, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Slot: ns, Publication: ns, Tables: []string{ns + ".t"},
		CreateSlot: true, CreatePublication: true}, discardLog())
	if err != nil {
		b.Fatalf("opening the source: %v", err)
	}
	defer src.Close()
	b.StopTimer()
	if err := writeBacklog(ctx, exec, ns+".t", b.N); err != nil {
		b.Fatalf("writing the backlog: %v", err)
	}
	router := newRouter(b, fmt.Sprintf("  type: postgres\n  dsn: %q\n  slot: %s\n  publication: %s\n  tables: [%q]", dsn, ns, ns, ns+".t"), "postgresql", ns, format)
	drain(b, src, nil, router, b.N) // from the slot, created before the rows
}

// BenchmarkDecodeOnlyMariaDB reads a backlog of b.N rows from the binlog
// (source/mysql), in each events.format.
func BenchmarkDecodeOnlyMariaDB(b *testing.B) {
	dsn := os.Getenv("CDC_MYSQL_DSN")
	if dsn == "" {
		b.Skip(`CDC_MYSQL_DSN is not set; run: eval "$(e2e/services.sh env)"`)
	}
	for _, format := range []string{"cdc", "debezium"} {
		b.Run("format="+format, func(b *testing.B) { benchMariaDB(b, dsn, format) })
	}
}

func benchMariaDB(b *testing.B, dsn, format string) {
	ctx := context.Background()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatalf("connecting to MariaDB: %v", err)
	}
	defer conn.Close()
	exec := func(ctx context.Context, q string) error {
		_, err := conn.ExecContext(ctx, q)
		return err
	}
	ns := fmt.Sprintf("decodeonly_%d", rand.Uint32())
	for _, q := range []string{
		"CREATE DATABASE " + ns,
		"CREATE TABLE " + ns + ".t (id bigint PRIMARY KEY, seq bigint NOT NULL, ts_us bigint NOT NULL, amount decimal(12,2), note varchar(255))",
	} {
		if err := exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	defer exec(ctx, "DROP DATABASE IF EXISTS "+ns)
	var gtid string
	if err := conn.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&gtid); err != nil {
		b.Fatalf("reading the binlog position: %v", err)
	}
	serverID := 300_000 + rand.Uint32N(1_000_000_000)
	src, err := mysql.Open(ctx, mysql.Config{DSN: dsn, ServerID: serverID, Tables: []string{ns + ".t"}, Name: ns}, discardLog())
	if err != nil {
		b.Fatalf("opening the source: %v", err)
	}
	defer src.Close()
	from, err := src.ParsePosition([]byte("mariadb-gtid:" + gtid))
	if err != nil {
		b.Fatalf("position %q: %v", gtid, err)
	}
	b.StopTimer()
	if err := writeBacklog(ctx, exec, ns+".t", b.N); err != nil {
		b.Fatalf("writing the backlog: %v", err)
	}
	router := newRouter(b, fmt.Sprintf("  type: mysql\n  dsn: %q\n  server_id: %d\n  tables: [%q]", dsn, serverID, ns+".t"), "mariadb", ns, format)
	drain(b, src, from, router, b.N) // from before the rows
}

// TestDecodeOnlyRuns runs the benchmarks on a small backlog (this test
// binary, again, with -test.bench), so that the test run keeps them
// working; the figures are not looked at.
func TestDecodeOnlyRuns(t *testing.T) {
	if os.Getenv("CDC_PG_DSN") == "" || os.Getenv("CDC_MYSQL_DSN") == "" {
		t.Skip(`CDC_PG_DSN or CDC_MYSQL_DSN is not set; run: eval "$(e2e/services.sh env)"`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "-test.bench=DecodeOnly", "-test.benchtime=500x", "-test.cpu=1").CombinedOutput()
	if err != nil {
		t.Fatalf("running the benchmarks: %v\n%s", err, out)
	}
	for _, name := range []string{"Postgres/format=cdc", "Postgres/format=debezium", "MariaDB/format=cdc", "MariaDB/format=debezium"} {
		if !regexp.MustCompile(`BenchmarkDecodeOnly` + name + `\s+500\s.* rows/s`).Match(out) {
			t.Errorf("no result of BenchmarkDecodeOnly%s with 500 rows:\n%s", name, out)
		}
	}
}
