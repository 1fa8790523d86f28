package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// debeziumOptions are the harness's settings for Debezium on Kafka Connect
// standalone (e2e/connect.sh).
type debeziumOptions struct {
	Script     string // e2e/connect.sh
	Brokers    string
	Partitions int
	Props      map[string]string // extra connector properties (win over the harness's)
}

// debeziumRunner runs Kafka Connect standalone with one Debezium source
// connector, configured for parity with cdc: values as the bare envelope
// (JsonConverter, schemas.enable=false), decimals as strings, the producer
// with acks=all and idempotence, no snapshot, the same topic name. The
// harness creates the topics (same partitions as cdc's). With snapshot the
// connector runs snapshot.mode=initial (else no_data). Connect standalone
// keeps source offsets in a file flushed every second, so a restart may
// send changes again: at-least-once.
type debeziumRunner struct {
	opts  debeziumOptions
	dir   string // Connect's WORKDIR: offsets, log; kept across restarts
	props string
	name  string
	p     *process
	rest  string

	mu      sync.Mutex
	checked time.Time
	failure error
}

func newDebezium(opts debeziumOptions, db database, ns, dir string, tables []string, snapshot bool) (*debeziumRunner, error) {
	ep := db.Endpoint()
	include := make([]string, len(tables))
	for i, t := range tables {
		include[i] = ns + `\.` + t // regular expressions, matched whole
	}
	mode := "no_data"
	if snapshot {
		mode = "initial"
	}
	props := map[string]string{
		"name":                  ns,
		"tasks.max":             "1",
		"database.hostname":     ep.Host,
		"database.port":         ep.Port,
		"database.user":         ep.User,
		"database.password":     ep.Password,
		"topic.prefix":          ns,
		"table.include.list":    strings.Join(include, ","),
		"snapshot.mode":         mode,
		"decimal.handling.mode": "string",
	}
	switch db.Kind() {
	case "postgres":
		props["connector.class"] = "io.debezium.connector.postgresql.PostgresConnector"
		props["plugin.name"] = "pgoutput"
		props["database.dbname"] = ep.Database
		props["slot.name"] = ns
		props["publication.name"] = ns
		props["publication.autocreate.mode"] = "filtered"
		props["schema.include.list"] = ns
		// Logical decoding messages reach every pgoutput slot; Debezium
		// would write them to <prefix>.message, which nobody creates.
		props["message.prefix.exclude.list"] = ".*"
	case "mariadb":
		props["connector.class"] = "io.debezium.connector.mariadb.MariaDbConnector"
		props["database.server.id"] = strconv.Itoa(100000 + rand.IntN(1<<30))
		props["database.include.list"] = ns
		props["include.schema.changes"] = "false"
		props["schema.history.internal.kafka.topic"] = ns + ".history"
		props["schema.history.internal.kafka.bootstrap.servers"] = opts.Brokers
		props["schema.history.internal.store.only.captured.tables.ddl"] = "true"
	default:
		return nil, fmt.Errorf("debezium runner: unknown database %q", db.Kind())
	}
	for k, v := range opts.Props {
		props[k] = v
	}
	p := filepath.Join(dir, "connector.properties")
	if err := writeProperties(p, props); err != nil {
		return nil, fmt.Errorf("writing the connector properties: %w", err)
	}
	return &debeziumRunner{opts: opts, dir: dir, props: p, name: ns}, nil
}

func (d *debeziumRunner) Name() string     { return "debezium" }
func (d *debeziumRunner) Delivery() string { return "at-least-once" }

func (d *debeziumRunner) Start(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	env := []string{
		"CDC_KAFKA_BROKERS=" + d.opts.Brokers,
		"CDC_CONNECT_SCHEMAS=false",
		"CDC_CONNECT_REST_PORT=" + strconv.Itoa(port),
		// Applied to every source connector's producer.
		"CDC_CONNECT_WORKER_EXTRA=producer.acks=all\nproducer.enable.idempotence=true",
	}
	// connect.sh execs the JVM: the child's pid is the JVM's.
	p, err := startProcess(d.opts.Script, []string{"run", d.dir, d.props}, env, d.dir)
	if err != nil {
		return err
	}
	d.p, d.rest = p, fmt.Sprintf("http://127.0.0.1:%d", port)
	d.mu.Lock()
	d.failure = nil
	d.mu.Unlock()
	return nil
}

func (d *debeziumRunner) Stats() procStats { return d.p.mon.Sample() }

func (d *debeziumRunner) Stop() (procStats, error) { return d.p.stop(time.Minute) }

var restClient = &http.Client{Timeout: 5 * time.Second}

// Err reports the JVM's exit, or a FAILED connector or task (asked over
// REST at most every 2 s).
func (d *debeziumRunner) Err() error {
	if d.p == nil {
		return nil
	}
	if err := d.p.exited(); err != nil {
		return fmt.Errorf("kafka connect %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failure != nil || time.Since(d.checked) < 2*time.Second {
		return d.failure
	}
	d.checked = time.Now()
	resp, err := restClient.Get(d.rest + "/connectors/" + d.name + "/status")
	if err != nil {
		return nil // the REST API is not up yet
	}
	defer resp.Body.Close()
	var st struct {
		Connector struct{ State, Trace string }
		Tasks     []struct{ State, Trace string }
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return nil
	}
	if st.Connector.State == "FAILED" {
		d.failure = fmt.Errorf("debezium connector FAILED: %s", firstLine(st.Connector.Trace))
	}
	for _, t := range st.Tasks {
		if t.State == "FAILED" {
			d.failure = fmt.Errorf("debezium task FAILED: %s", firstLine(t.Trace))
		}
	}
	return d.failure
}

func (d *debeziumRunner) LogTail() string {
	b, err := os.ReadFile(filepath.Join(d.dir, "connect.log"))
	if err != nil && d.p != nil {
		return d.p.tail(40)
	}
	return lastLines(string(b), 40)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeProperties writes a Java properties file, keys sorted. Values keep
// '=' and ':' (the parser splits at the first separator), so only
// backslashes, line breaks and a leading space are escaped.
func writeProperties(path string, props map[string]string) error {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	keyEsc := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "=", `\=`, ":", `\:`, " ", `\ `, "#", `\#`, "!", `\!`)
	valEsc := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`)
	var b strings.Builder
	b.WriteString("# Written by the cdc benchmark harness (bench/).\n")
	for _, k := range keys {
		v := valEsc.Replace(props[k])
		if strings.HasPrefix(v, " ") {
			v = `\` + v
		}
		fmt.Fprintf(&b, "%s=%s\n", keyEsc.Replace(k), v)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
