//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Kafka Connect harness: e2e/connect.sh runs Apache Kafka Connect standalone
// with Debezium's connectors and Debezium's JDBC sink; these helpers start it
// from a test, wait for its connectors and stop it at cleanup. A JVM takes
// seconds to start and the first run resolves ~150 MB of jars, so tests that
// use it run when CDC_E2E_CONNECT=1, which scripts/test sets by default.

// connectHTTP talks to the worker's REST API; a request never hangs a test.
var connectHTTP = &http.Client{Timeout: 10 * time.Second}

// requireConnect skips the test unless CDC_E2E_CONNECT=1.
func requireConnect(t *testing.T) {
	t.Helper()
	if os.Getenv("CDC_E2E_CONNECT") != "1" {
		t.Skip("Kafka Connect tests need CDC_E2E_CONNECT=1 (a JVM and ~150 MB of Maven jars; scripts/test sets it): see e2e/README.md")
	}
}

// connectorConfig is one connector for startConnect: its name and its
// properties (connector.class, tasks.max, ...; "name" is added).
type connectorConfig struct {
	Name  string
	Props map[string]string
}

// connectWorker is a Kafka Connect standalone worker run by e2e/connect.sh.
// It is stopped (SIGTERM, then SIGKILL) when the test ends.
type connectWorker struct {
	t       *testing.T
	dir     string // WORKDIR: worker.properties, connect.log, connect.offsets
	url     string // REST base URL
	cmd     *exec.Cmd
	done    chan struct{}
	started time.Time

	mu  sync.Mutex
	out bytes.Buffer // the script's and the JVM's own stdout/stderr
}

func (w *connectWorker) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(b)
}

// connectScript is the absolute path of e2e/connect.sh (tests run in e2e/).
func connectScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("connect.sh")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// connectFetch resolves the jars once (a no-op when cached; about 40 s on
// an empty Maven cache).
func connectFetch(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, connectScript(t), "fetch")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("e2e/connect.sh fetch: %v\n%s", err, out)
	}
}

// writeProperties writes props as a Java properties file, keys sorted.
// Keys are escaped fully; a value keeps its spaces, '=' and ':' (the parser
// splits at the first separator), so only backslashes, line breaks and a
// leading space are escaped.
func writeProperties(path string, props map[string]string) error {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	keyEsc := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "=", `\=`, ":", `\:`, " ", `\ `, "#", `\#`, "!", `\!`)
	valEsc := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`)
	var b strings.Builder
	for _, k := range keys {
		v := valEsc.Replace(props[k])
		if strings.HasPrefix(v, " ") {
			v = `\` + v
		}
		fmt.Fprintf(&b, "%s=%s\n", keyEsc.Replace(k), v)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// startConnect starts Kafka Connect standalone with the given connectors and
// waits until its REST API answers (not until the connectors run: see
// waitRunning). env adds CDC_CONNECT_* settings for e2e/connect.sh, e.g.
// "CDC_CONNECT_SCHEMAS=false". It skips the test unless CDC_E2E_CONNECT=1.
func startConnect(t *testing.T, connectors []connectorConfig, env ...string) *connectWorker {
	t.Helper()
	requireConnect(t)
	connectFetch(t)
	w := &connectWorker{t: t, dir: t.TempDir(), done: make(chan struct{})}
	port := freePort(t)
	w.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	args := []string{"run", w.dir}
	for _, c := range connectors {
		props := map[string]string{"name": c.Name}
		for k, v := range c.Props {
			props[k] = v
		}
		p := filepath.Join(w.dir, c.Name+".properties")
		if err := writeProperties(p, props); err != nil {
			t.Fatalf("writing connector config %s: %v", p, err)
		}
		args = append(args, p)
	}
	w.cmd = exec.Command(connectScript(t), args...)
	w.cmd.Env = append(os.Environ(), "CDC_KAFKA_BROKERS="+brokers, "CDC_CONNECT_REST_PORT="+strconv.Itoa(port))
	w.cmd.Env = append(w.cmd.Env, env...)
	w.cmd.Stdout, w.cmd.Stderr = w, w
	w.started = time.Now()
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("starting e2e/connect.sh: %v", err)
	}
	go func() {
		w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(w.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Kafka Connect output:\n%s\nlast lines of %s:\n%s", w.output(), filepath.Join(w.dir, "connect.log"), w.logTail(80))
		}
	})

	deadline := time.Now().Add(3 * time.Minute)
	for {
		if w.exited() {
			t.Fatalf("Kafka Connect exited during start-up (%v):\n%s\n%s", w.cmd.ProcessState, w.output(), w.logTail(60))
		}
		if resp, err := connectHTTP.Get(w.url + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Kafka Connect REST API at %s not up after 3m:\n%s", w.url, w.logTail(60))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("Kafka Connect up at %s after %v (RSS %d MB)", w.url, time.Since(w.started).Round(100*time.Millisecond), w.rssMB())
	return w
}

// stop ends the worker: SIGTERM (Connect stops its tasks and flushes
// offsets; Debezium closes its replication connection), SIGKILL after 30 s.
func (w *connectWorker) stop() {
	if w.exited() {
		return
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.t.Logf("Kafka Connect still running 30s after SIGTERM; killing it")
		w.cmd.Process.Kill()
		<-w.done
	}
}

func (w *connectWorker) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *connectWorker) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

// logTail returns the last n lines of WORKDIR/connect.log.
func (w *connectWorker) logTail(n int) string {
	b, err := os.ReadFile(filepath.Join(w.dir, "connect.log"))
	if err != nil {
		return fmt.Sprintf("(no connect.log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logContains reports whether connect.log has the text.
func (w *connectWorker) logContains(text string) bool {
	b, _ := os.ReadFile(filepath.Join(w.dir, "connect.log"))
	return bytes.Contains(b, []byte(text))
}

// rssMB is the JVM's resident set size in MB (0 if unknown). e2e/connect.sh
// execs the JVM, so the child's pid is the JVM's.
func (w *connectWorker) rssMB() int { return w.procStatusMB("VmRSS:") }

// peakRSSMB is the JVM's peak resident set size so far, in MB.
func (w *connectWorker) peakRSSMB() int { return w.procStatusMB("VmHWM:") }

// cpuSeconds is the CPU time (user + system) the JVM has used so far, for
// benchmarks that compare connectors' cost (0 if unknown).
func (w *connectWorker) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", w.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	const clockTicks = 100 // USER_HZ, 100 on every Linux architecture Go supports here
	return (utime + stime) / clockTicks
}

func (w *connectWorker) procStatusMB(field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	return 0
}

// connectorStatus is GET /connectors/<name>/status.
type connectorStatus struct {
	Name      string `json:"name"`
	Connector struct {
		State string `json:"state"`
		Trace string `json:"trace"`
	} `json:"connector"`
	Tasks []struct {
		ID    int    `json:"id"`
		State string `json:"state"`
		Trace string `json:"trace"`
	} `json:"tasks"`
}

// status returns a connector's status; found is false while Connect does
// not know the connector yet (404).
func (w *connectWorker) status(name string) (st connectorStatus, found bool, err error) {
	resp, err := connectHTTP.Get(w.url + "/connectors/" + name + "/status")
	if err != nil {
		return st, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return st, false, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return st, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return st, false, fmt.Errorf("GET /connectors/%s/status: %s: %s", name, resp.Status, body)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, false, fmt.Errorf("decoding the status of %s: %w: %s", name, err, body)
	}
	return st, true, nil
}

// plugins returns the connector classes the worker loaded
// (GET /connector-plugins).
func (w *connectWorker) plugins() []string {
	w.t.Helper()
	resp, err := connectHTTP.Get(w.url + "/connector-plugins")
	if err != nil {
		w.t.Fatalf("GET /connector-plugins: %v", err)
	}
	defer resp.Body.Close()
	var ps []struct {
		Class string `json:"class"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ps); err != nil {
		w.t.Fatalf("decoding /connector-plugins: %v", err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Class
	}
	return out
}

// waitRunning waits until each named connector and all its tasks (at least
// one) are RUNNING. A FAILED connector or task, or the worker exiting, fails
// the test at once with the trace and the end of connect.log.
func (w *connectWorker) waitRunning(timeout time.Duration, names ...string) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for _, name := range names {
		for {
			if w.exited() {
				w.t.Fatalf("Kafka Connect exited (%v) while waiting for %s:\n%s", w.cmd.ProcessState, name, w.logTail(80))
			}
			st, found, err := w.status(name)
			if err == nil && found {
				if st.Connector.State == "FAILED" {
					w.t.Fatalf("connector %s FAILED:\n%s\nlast lines of connect.log:\n%s", name, st.Connector.Trace, w.logTail(80))
				}
				running := st.Connector.State == "RUNNING" && len(st.Tasks) > 0
				for _, task := range st.Tasks {
					if task.State == "FAILED" {
						w.t.Fatalf("connector %s task %d FAILED:\n%s\nlast lines of connect.log:\n%s", name, task.ID, task.Trace, w.logTail(80))
					}
					running = running && task.State == "RUNNING"
				}
				if running {
					break
				}
			}
			if time.Now().After(deadline) {
				w.t.Fatalf("connector %s not RUNNING after %v (status %+v, err %v):\n%s", name, timeout, st, err, w.logTail(80))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	w.t.Logf("connectors %s RUNNING %v after start (RSS %d MB)", strings.Join(names, ", "), time.Since(w.started).Round(100*time.Millisecond), w.rssMB())
}

// checkHealthy fails the test if the worker exited or a connector or task of
// the named connectors FAILED since it was running (call it while waiting for
// a result, so a sink that died shows its trace instead of a timeout).
func (w *connectWorker) checkHealthy(names ...string) {
	w.t.Helper()
	if w.exited() {
		w.t.Fatalf("Kafka Connect exited (%v):\n%s", w.cmd.ProcessState, w.logTail(80))
	}
	for _, name := range names {
		st, found, err := w.status(name)
		if err != nil || !found {
			continue
		}
		if st.Connector.State == "FAILED" {
			w.t.Fatalf("connector %s FAILED:\n%s\nlast lines of connect.log:\n%s", name, st.Connector.Trace, w.logTail(80))
		}
		for _, task := range st.Tasks {
			if task.State == "FAILED" {
				w.t.Fatalf("connector %s task %d FAILED:\n%s\nlast lines of connect.log:\n%s", name, task.ID, task.Trace, w.logTail(80))
			}
		}
	}
}

// pgConnParts splits CDC_PG_DSN into what Debezium's connectors take.
type pgConnParts struct {
	Host, Port, User, Password, DB string
}

func pgParts(t *testing.T) pgConnParts {
	t.Helper()
	u, err := url.Parse(pgDSN)
	if err != nil {
		t.Fatalf("parsing CDC_PG_DSN: %v", err)
	}
	pw, _ := u.User.Password()
	p := pgConnParts{Host: u.Hostname(), Port: u.Port(), User: u.User.Username(), Password: pw, DB: strings.TrimPrefix(u.Path, "/")}
	if p.Port == "" {
		p.Port = "5432"
	}
	return p
}

// jdbcURL is the PostgreSQL JDBC URL of the same database.
func (p pgConnParts) jdbcURL() string {
	return fmt.Sprintf("jdbc:postgresql://%s/%s", net.JoinHostPort(p.Host, p.Port), p.DB)
}

// deleteTopicsAtEnd deletes topics when the test ends (best effort).
func deleteTopicsAtEnd(t *testing.T, topics ...string) {
	t.Cleanup(func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
		if err != nil {
			return
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		kadm.NewClient(cl).DeleteTopics(ctx, topics...)
	})
}

// pgRows returns a query's rows, each column as text ("NULL" for NULL).
func pgRows(t *testing.T, conn *pgx.Conn, q string) [][]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// TestConnectHarnessDebeziumToJDBCSink proves the Kafka Connect runner:
// Debezium's own Postgres connector snapshots and streams a table with
// schemas on, and Debezium's JDBC sink applies its inserts, updates and
// deletes to a table created beforehand with the same column types; the
// target ends equal to the source, row for row. (Issue 10 points the same
// sink at cdc's Debezium-mode topics.)
func TestConnectHarnessDebeziumToJDBCSink(t *testing.T) {
	requireConnect(t)
	t.Parallel()
	conn := pgConnect(t)
	name := uniq("dbzh")
	src, dst := name+"_src", name+"_dst" // schemas
	slot, pub := name+"_slot", name+"_pub"
	topic := name + "." + src + ".items"
	cols := `id int PRIMARY KEY, label text, amount numeric(12,3), at timestamptz, flag boolean`
	pgExec(t, conn,
		"CREATE SCHEMA "+src, "CREATE SCHEMA "+dst,
		"CREATE TABLE "+src+".items ("+cols+")",
		"CREATE TABLE "+dst+".items ("+cols+")",
		// snapshot rows
		"INSERT INTO "+src+".items VALUES (1, 'one', 1.500, '2024-01-02 03:04:05.123456+00', true), "+
			"(2, 'zwei, drei – ünïcödé', -98765.432, '1999-12-31 23:59:59.999999+00', false), "+
			"(3, NULL, NULL, NULL, NULL)",
	)
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+src+" CASCADE")
		conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+dst+" CASCADE")
	})
	// Registered before startConnect, so it runs after the worker stopped
	// and released the slot.
	dropSlotAtEnd(t, conn, slot, pub)
	createTopics(t, topic)
	deleteTopicsAtEnd(t, topic)

	pg := pgParts(t)
	source := connectorConfig{Name: name + "-source", Props: map[string]string{
		"connector.class":             "io.debezium.connector.postgresql.PostgresConnector",
		"tasks.max":                   "1",
		"plugin.name":                 "pgoutput",
		"database.hostname":           pg.Host,
		"database.port":               pg.Port,
		"database.user":               pg.User,
		"database.password":           pg.Password,
		"database.dbname":             pg.DB,
		"topic.prefix":                name,
		"slot.name":                   slot,
		"publication.name":            pub,
		"publication.autocreate.mode": "filtered",
		"schema.include.list":         src, // else it reads the structure of every table in the database
		"table.include.list":          src + ".items",
		"snapshot.mode":               "initial",
		// Logical decoding messages reach every pgoutput slot whatever its
		// publication (cdc and other tests emit them); Debezium would send
		// them to <prefix>.message, a topic nobody created, and block.
		"message.prefix.exclude.list": ".*",
	}}
	sink := jdbcSink(name+"-sink", topic, dst+".items", pg)
	w := startConnect(t, []connectorConfig{source, sink})
	// All three plugins load (the MariaDB connector is not run here).
	loaded := strings.Join(w.plugins(), " ")
	for _, class := range []string{
		"io.debezium.connector.postgresql.PostgresConnector",
		"io.debezium.connector.mariadb.MariaDbConnector",
		"io.debezium.connector.jdbc.JdbcSinkConnector",
	} {
		if !strings.Contains(loaded, class) {
			t.Errorf("plugin %s not loaded by Kafka Connect; it has: %s", class, loaded)
		}
	}
	w.waitRunning(2*time.Minute, source.Name, sink.Name)

	// Streamed changes: inserts, updates (to and from NULL), a delete.
	pgExec(t, conn,
		"INSERT INTO "+src+".items VALUES (4, 'four', 0.001, '2030-06-15 12:00:00+00', true)",
		"INSERT INTO "+src+".items VALUES (5, 'five', 5, '1970-01-01 00:00:00+00', false)",
		"UPDATE "+src+".items SET label = 'ONE', amount = 2.250, flag = false WHERE id = 1",
		"UPDATE "+src+".items SET label = 'three', amount = 3.333, at = '2001-02-03 04:05:06.7+00', flag = true WHERE id = 3",
		"UPDATE "+src+".items SET label = NULL, at = NULL WHERE id = 4",
		"DELETE FROM "+src+".items WHERE id = 2",
	)

	q := func(schema string) string {
		return "SELECT id, label, amount::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), flag FROM " + schema + ".items ORDER BY id"
	}
	want := pgRows(t, conn, q(src))
	const applyTimeout = 90 * time.Second
	deadline := time.Now().Add(applyTimeout)
	var got [][]string
	for {
		got = pgRows(t, conn, q(dst))
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		w.checkHealthy(source.Name, sink.Name)
		if time.Now().After(deadline) {
			t.Fatalf("target table does not match the source after %v\nsource: %v\ntarget: %v\nlast lines of connect.log:\n%s", applyTimeout, want, got, w.logTail(60))
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("target equals source (%d rows) %v after start; Connect RSS %d MB, peak %d MB, %.1f CPU s", len(got), time.Since(w.started).Round(100*time.Millisecond), w.rssMB(), w.peakRSSMB(), w.cpuSeconds())

	// The topic carries Connect schemas on keys and values (what the sink
	// needs for record_key deletes).
	es := newConsumer(t, "^"+regexp.QuoteMeta(topic)+"$").atLeast(1, 30*time.Second)
	var key, value struct {
		Schema  map[string]any `json:"schema"`
		Payload any            `json:"payload"`
	}
	if err := json.Unmarshal([]byte(es[0].Key), &key); err != nil || key.Schema == nil {
		t.Errorf("key without a Connect schema (%v): %s", err, es[0].Key)
	}
	if err := json.Unmarshal(es[0].Value, &value); err != nil || value.Schema == nil {
		t.Errorf("value without a Connect schema (%v): %.300s", err, es[0].Value)
	}
}

// TestConnectHarnessDebeziumMariaDB proves the MariaDB plugin on the same
// runner: Debezium's MariaDB connector (no snapshot, its own server id and
// schema-history topic) streams an insert, an update and a delete of a
// MariaDB table to Kafka with Connect schemas on keys and values.
func TestConnectHarnessDebeziumMariaDB(t *testing.T) {
	requireConnect(t)
	t.Parallel()
	db := myConnect(t)
	name := uniq("dbzm")
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".items (id INT PRIMARY KEY, label VARCHAR(40), amount DECIMAL(12,3))")
	topic, history := name+"."+name+".items", name+".history"
	createTopics(t, topic)
	deleteTopicsAtEnd(t, topic, history)

	cfg, err := mysql.ParseDSN(os.Getenv("CDC_MYSQL_DSN"))
	if err != nil {
		t.Fatalf("parsing CDC_MYSQL_DSN: %v", err)
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		t.Fatalf("CDC_MYSQL_DSN address %q: %v", cfg.Addr, err)
	}
	source := connectorConfig{Name: name + "-source", Props: map[string]string{
		"connector.class":                     "io.debezium.connector.mariadb.MariaDbConnector",
		"tasks.max":                           "1",
		"database.hostname":                   host,
		"database.port":                       port,
		"database.user":                       cfg.User,
		"database.password":                   cfg.Passwd,
		"database.server.id":                  strconv.FormatUint(uint64(newServerID()), 10),
		"topic.prefix":                        name,
		"database.include.list":               name,
		"table.include.list":                  name + ".items",
		"snapshot.mode":                       "no_data",
		"include.schema.changes":              "false",
		"schema.history.internal.kafka.topic": history,
		"schema.history.internal.kafka.bootstrap.servers":        brokers,
		"schema.history.internal.store.only.captured.tables.ddl": "true",
		// Other tests on the shared server write DDL that Debezium's
		// parser rejects (MariaDB's inet6, ...); it parses every
		// statement in the binlog, captured or not.
		"schema.history.internal.skip.unparseable.ddl": "true",
	}}
	w := startConnect(t, []connectorConfig{source})
	w.waitRunning(2*time.Minute, source.Name)
	// RUNNING comes before the binlog reader is connected; rows written
	// before that would be missed with no_data, so wait for it.
	deadline := time.Now().Add(time.Minute)
	for !w.logContains("Connected to binlog at") {
		w.checkHealthy(source.Name)
		if time.Now().After(deadline) {
			t.Fatalf("Debezium's MariaDB connector not reading the binlog after 1m:\n%s", w.logTail(60))
		}
		time.Sleep(250 * time.Millisecond)
	}

	myExec(t, db,
		"INSERT INTO "+name+".items VALUES (1, 'one', 1.5), (2, 'zwei – ü', -2.25)",
		"UPDATE "+name+".items SET label = 'ONE' WHERE id = 1",
		"DELETE FROM "+name+".items WHERE id = 2",
	)
	// Per key, in Kafka order: key 1 inserted and updated, key 2 inserted
	// and deleted (a delete event, then a tombstone).
	want := map[string]string{"1": "c u", "2": "c d tombstone"}
	c := newConsumer(t, "^"+regexp.QuoteMeta(topic)+"$")
	var got map[string]string
	c.until(90*time.Second, func(es []event) bool {
		w.checkHealthy(source.Name)
		got = map[string]string{}
		for _, e := range es {
			var k struct {
				Schema  map[string]any `json:"schema"`
				Payload struct {
					ID json.Number `json:"id"`
				} `json:"payload"`
			}
			if err := json.Unmarshal([]byte(e.Key), &k); err != nil || k.Schema == nil {
				t.Fatalf("key without a Connect schema (%v): %s", err, e.Key)
			}
			op := "tombstone"
			if len(e.Value) > 0 {
				var v struct {
					Schema  map[string]any `json:"schema"`
					Payload struct {
						Op string `json:"op"`
					} `json:"payload"`
				}
				if err := json.Unmarshal(e.Value, &v); err != nil || v.Schema == nil {
					t.Fatalf("value without a Connect schema (%v): %.300s", err, e.Value)
				}
				op = v.Payload.Op
			}
			got[k.Payload.ID.String()] = strings.TrimSpace(got[k.Payload.ID.String()] + " " + op)
		}
		return len(es) >= 5
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events per key %v, want %v", got, want)
	}
	t.Logf("MariaDB events in Kafka %v after start; Connect RSS %d MB, peak %d MB, %.1f CPU s", time.Since(w.started).Round(100*time.Millisecond), w.rssMB(), w.peakRSSMB(), w.cpuSeconds())
}
