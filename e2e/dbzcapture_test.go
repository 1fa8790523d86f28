//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCaptureDebezium records what Debezium's own connectors emit for every
// column type and edge value cdc's Debezium value mode must reproduce
// (issue 10; docs/debezium-mode.md). It is research, not a check: it runs
// Debezium's Postgres and MariaDB connectors on tables with one column per
// type, snapshots and streams inserts, a full-row update, a delete and a key
// change, and writes every record (key, value, headers, unmodified) to
// e2e/testdata/debezium/{postgres,mariadb,modes}.jsonl, with the SQL it ran
// in *.sql next to them and the connectors' warnings in connect-warnings.txt.
// Opt-in twice over: CDC_E2E_CONNECT=1 and CDC_CAPTURE=1.
//
// Fixed names (schema and database dbzcap, topic prefixes dbzpg*, dbzmy*)
// keep the golden files comparable between runs; a run drops what an
// earlier one left.
func TestCaptureDebezium(t *testing.T) {
	requireConnect(t)
	if os.Getenv("CDC_CAPTURE") != "1" {
		t.Skip("capturing Debezium's records into e2e/testdata/debezium is opt-in: set CDC_CAPTURE=1")
	}
	ctx := context.Background()
	conn := pgConnect(t)
	db := myConnect(t)

	// Leftovers of an earlier run: slots, publications, topics.
	for _, s := range dbzPGSlots {
		conn.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", s)
		conn.Exec(ctx, "DROP PUBLICATION IF EXISTS "+s+"_pub")
	}
	dbzDeleteTopics(t, regexp.MustCompile(`^dbz(pg|my)[a-z0-9]*\.|^dbzcap-`))
	for _, s := range dbzPGSlots {
		dropSlotAtEnd(t, conn, s, s+"_pub")
	}

	pgExec(t, conn, dbzSplit(dbzPGSetup)...)
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS dbzcap CASCADE") })
	myExec(t, db, dbzSplit(dbzMySetup)...)
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS dbzcap") })

	pg := pgParts(t)
	pgConnector := func(name, tables string, extra map[string]string) connectorConfig {
		props := map[string]string{
			"connector.class":             "io.debezium.connector.postgresql.PostgresConnector",
			"tasks.max":                   "1",
			"plugin.name":                 "pgoutput",
			"database.hostname":           pg.Host,
			"database.port":               pg.Port,
			"database.user":               pg.User,
			"database.password":           pg.Password,
			"database.dbname":             pg.DB,
			"topic.prefix":                name,
			"slot.name":                   name + "_slot",
			"publication.name":            name + "_slot_pub",
			"publication.autocreate.mode": "filtered",
			"schema.include.list":         "dbzcap",
			"table.include.list":          tables,
			"snapshot.mode":               "initial",
			"message.prefix.exclude.list": ".*",
			// Connect creates the topics (the broker does not): one
			// partition each, so the golden files keep Kafka's order.
			"topic.creation.default.partitions":         "1",
			"topic.creation.default.replication.factor": "1",
		}
		for k, v := range extra {
			props[k] = v
		}
		return connectorConfig{Name: name, Props: props}
	}
	cfg, err := mysql.ParseDSN(os.Getenv("CDC_MYSQL_DSN"))
	if err != nil {
		t.Fatalf("parsing CDC_MYSQL_DSN: %v", err)
	}
	myHost, myPort, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		t.Fatalf("CDC_MYSQL_DSN address %q: %v", cfg.Addr, err)
	}
	myConnector := func(name, tables string, extra map[string]string) connectorConfig {
		props := map[string]string{
			"connector.class":    "io.debezium.connector.mariadb.MariaDbConnector",
			"tasks.max":          "1",
			"database.hostname":  myHost,
			"database.port":      myPort,
			"database.user":      cfg.User,
			"database.password":  cfg.Passwd,
			"database.server.id": strconv.FormatUint(uint64(newServerID()), 10),
			"topic.prefix":       name,
			// An event Debezium cannot read (an invalid date in the binlog)
			// is logged and skipped instead of stopping the connector.
			"event.processing.failure.handling.mode":                 "warn",
			"database.include.list":                                  "dbzcap",
			"table.include.list":                                     tables,
			"snapshot.mode":                                          "initial",
			"include.schema.changes":                                 "false",
			"schema.history.internal.kafka.topic":                    "dbzcap-" + name + "-history",
			"schema.history.internal.kafka.bootstrap.servers":        brokers,
			"schema.history.internal.store.only.captured.tables.ddl": "true",
			// Other tests on the shared server write DDL that Debezium's
			// parser rejects (MariaDB's inet6, ...); it parses every
			// statement in the binlog, captured or not.
			"schema.history.internal.skip.unparseable.ddl": "true",
			"topic.creation.default.partitions":            "1",
			"topic.creation.default.replication.factor":    "1",
		}
		for k, v := range extra {
			props[k] = v
		}
		return connectorConfig{Name: name, Props: props}
	}
	connectors := []connectorConfig{
		// Debezium's defaults.
		pgConnector("dbzpg", "dbzcap.types,dbzcap.ridef", nil),
		pgConnector("dbzpga", "dbzcap.modes", map[string]string{
			"decimal.handling.mode":        "string",
			"time.precision.mode":          "connect",
			"binary.handling.mode":         "base64",
			"interval.handling.mode":       "string",
			"include.unknown.datatypes":    "true",
			"provide.transaction.metadata": "true",
		}),
		pgConnector("dbzpgb", "dbzcap.modes", map[string]string{
			"decimal.handling.mode": "double",
			"time.precision.mode":   "adaptive_time_microseconds",
			"binary.handling.mode":  "hex",
			"hstore.handling.mode":  "map",
		}),
		myConnector("dbzmy", "dbzcap.types", nil),
		myConnector("dbzmyp", "dbzcap.modes", map[string]string{
			"bigint.unsigned.handling.mode": "precise",
			"time.precision.mode":           "connect",
			"binary.handling.mode":          "base64",
		}),
		myConnector("dbzmyq", "dbzcap.modes", map[string]string{
			"decimal.handling.mode": "string",
			"binary.handling.mode":  "hex",
		}),
	}
	// MariaDB's uuid, inet6 and inet4, each on its own connector, which
	// may fail (Debezium's DDL parser does not know every MariaDB type);
	// their states are recorded, not checked.
	var extras []connectorConfig
	for _, typ := range []string{"uuid", "inet6", "inet4"} {
		extras = append(extras, myConnector("dbzmyx"+typ, "dbzcap.t_"+typ, nil))
	}
	names := make([]string, len(connectors))
	for i, c := range connectors {
		names[i] = c.Name
	}
	w := startConnect(t, append(connectors, extras...))
	t.Cleanup(func() { dbzDeleteTopics(t, regexp.MustCompile(`^dbz(pg|my)[a-z0-9]*\.|^dbzcap-`)) })
	w.waitRunning(3*time.Minute, names...)

	// The snapshots are done when their rows are in Kafka; what follows is
	// streamed (the PG slots exist before the snapshot, and the MariaDB
	// connectors read the binlog from the snapshot's position).
	rec := newDBZRecorder(t)
	snap := map[string]int{
		"dbzpg.dbzcap.types": 8, "dbzpga.dbzcap.modes": 4, "dbzpgb.dbzcap.modes": 4,
		"dbzmy.dbzcap.types": 6, "dbzmyp.dbzcap.modes": 4, "dbzmyq.dbzcap.modes": 4,
	}
	rec.until(w, names, 3*time.Minute, func(counts map[string]int) bool {
		for topic, n := range snap {
			if counts[topic] < n {
				return false
			}
		}
		return true
	})
	t.Logf("snapshots in Kafka %v after start", time.Since(w.started).Round(100*time.Millisecond))

	pgExec(t, conn, dbzSplit(dbzPGStream)...)
	myExec(t, db, dbzSplit(dbzMyStream)...)
	rec.drain(w, names, 10*time.Second, 3*time.Minute)

	// Goldens.
	dir := filepath.Join("testdata", "debezium")
	files := map[string][]dbzRecord{}
	for _, r := range rec.got {
		switch {
		case strings.HasPrefix(r.Topic, "dbzpg."):
			files["postgres.jsonl"] = append(files["postgres.jsonl"], r)
		case strings.HasPrefix(r.Topic, "dbzmy."), strings.HasPrefix(r.Topic, "dbzmyx"):
			files["mariadb.jsonl"] = append(files["mariadb.jsonl"], r)
		default:
			files["modes.jsonl"] = append(files["modes.jsonl"], r)
		}
	}
	for name, rs := range files {
		sort.SliceStable(rs, func(i, j int) bool {
			if rs[i].Topic != rs[j].Topic {
				return rs[i].Topic < rs[j].Topic
			}
			return rs[i].offset < rs[j].offset
		})
		var b strings.Builder
		for _, r := range rs {
			line, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("encoding a record of %s: %v", r.Topic, err)
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d records", name, len(rs))
	}
	for name, sql := range map[string]string{
		"postgres.sql": "-- before the connectors start (snapshot)\n" + dbzPGSetup + "\n-- streamed\n" + dbzPGStream,
		"mariadb.sql":  "-- before the connectors start (snapshot)\n" + dbzMySetup + "\n-- streamed\n" + dbzMyStream,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Debezium logs a value it cannot convert (and sends null); keep those
	// lines, without timestamps, next to the goldens.
	var warn strings.Builder
	if f, err := os.Open(filepath.Join(w.dir, "connect.log")); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		stamp := regexp.MustCompile(`^\[[^\]]*\] `)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "] WARN ") || strings.Contains(line, "] ERROR ") {
				warn.WriteString(stamp.ReplaceAllString(line, ""))
				warn.WriteByte('\n')
			}
		}
		f.Close()
	}
	os.WriteFile(filepath.Join(dir, "connect-warnings.txt"), []byte(warn.String()), 0o644)
	var states []connectorStatus
	for _, c := range extras {
		st, _, _ := w.status(c.Name)
		for i := range st.Tasks {
			// The first lines say why; the rest is Java's stack.
			var keep []string
			for _, l := range strings.Split(st.Tasks[i].Trace, "\n") {
				if l := strings.TrimSpace(l); !strings.HasPrefix(l, "at ") && !strings.HasPrefix(l, "...") {
					keep = append(keep, l)
				}
			}
			st.Tasks[i].Trace = strings.Join(keep, "\n")
		}
		t.Logf("connector %s: %s, tasks %+v", c.Name, st.Connector.State, st.Tasks)
		states = append(states, st)
	}
	xs, _ := json.MarshalIndent(states, "", "  ")
	os.WriteFile(filepath.Join(dir, "mariadb-types-status.json"), append(xs, '\n'), 0o644)
	connectors = append(connectors, extras...)
	for _, c := range connectors {
		delete(c.Props, "database.password")
	}
	cb, _ := json.MarshalIndent(connectors, "", "  ")
	os.WriteFile(filepath.Join(dir, "connectors.json"), append(cb, '\n'), 0o644)
}

var dbzPGSlots = []string{"dbzpg_slot", "dbzpga_slot", "dbzpgb_slot"}

// dbzRecord is one Kafka record as the golden files keep it: key and value
// as the JSON Connect wrote (null for a tombstone), headers in order.
type dbzRecord struct {
	Topic   string          `json:"topic"`
	Key     json.RawMessage `json:"key"`
	Value   json.RawMessage `json:"value"`
	Headers []dbzHeader     `json:"headers"`
	offset  int64
}

type dbzHeader struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// dbzRaw keeps JSON as it is and anything else as a JSON string.
func dbzRaw(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	s, _ := json.Marshal(string(b))
	return s
}

type dbzRecorder struct {
	t      *testing.T
	cl     *kgo.Client
	got    []dbzRecord
	counts map[string]int
}

func newDBZRecorder(t *testing.T) *dbzRecorder {
	cl, err := kgo.NewClient(append(consumerOpts(`^dbz(pg|my)[a-z0-9]*\.`), kgo.SeedBrokers(brokers))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &dbzRecorder{t: t, cl: cl, counts: map[string]int{}}
}

func (r *dbzRecorder) poll() int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n := 0
	r.cl.PollFetches(ctx).EachRecord(func(k *kgo.Record) {
		rec := dbzRecord{Topic: k.Topic, Key: dbzRaw(k.Key), Value: dbzRaw(k.Value), Headers: []dbzHeader{}, offset: k.Offset}
		for _, h := range k.Headers {
			rec.Headers = append(rec.Headers, dbzHeader{Key: h.Key, Value: dbzRaw(h.Value)})
		}
		r.got = append(r.got, rec)
		r.counts[k.Topic]++
		n++
	})
	return n
}

func (r *dbzRecorder) until(w *connectWorker, names []string, timeout time.Duration, done func(map[string]int) bool) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for !done(r.counts) {
		w.checkHealthy(names...)
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out after %v; records per topic %v\n%s", timeout, r.counts, w.logTail(60))
		}
		r.poll()
	}
}

// drain reads until nothing new arrived for quiet.
func (r *dbzRecorder) drain(w *connectWorker, names []string, quiet, timeout time.Duration) {
	r.t.Helper()
	last, deadline := time.Now(), time.Now().Add(timeout)
	for time.Since(last) < quiet {
		w.checkHealthy(names...)
		if time.Now().After(deadline) {
			r.t.Fatalf("records still arriving after %v: %v", timeout, r.counts)
		}
		if r.poll() > 0 {
			last = time.Now()
		}
	}
	r.t.Logf("records per topic: %v", r.counts)
}

// dbzDeleteTopics deletes the topics whose names match and waits until
// they are gone.
func dbzDeleteTopics(t *testing.T, re *regexp.Regexp) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	matching := func() []string {
		ts, err := adm.ListTopics(ctx)
		if err != nil {
			t.Fatalf("listing topics: %v", err)
		}
		var out []string
		for _, name := range ts.Names() {
			if re.MatchString(name) {
				out = append(out, name)
			}
		}
		return out
	}
	ts := matching()
	if len(ts) == 0 {
		return
	}
	adm.DeleteTopics(ctx, ts...)
	for len(matching()) > 0 && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
}

// dbzSplit splits a script at lines ending in ';' (the scripts below have
// no semicolons inside values at line ends), dropping comment lines.
func dbzSplit(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(script, "\n") {
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trim, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// The scripts TestCaptureDebezium runs (also written to testdata/debezium/*.sql).

const dbzPGSetup = `CREATE EXTENSION IF NOT EXISTS hstore;
DROP SCHEMA IF EXISTS dbzcap CASCADE;
CREATE SCHEMA dbzcap;
CREATE TYPE dbzcap.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN dbzcap.posint AS integer CHECK (VALUE > 0);
CREATE TABLE dbzcap.types (
 id int PRIMARY KEY,
 c_smallint smallint, c_integer integer, c_bigint bigint, c_oid oid, c_real real, c_double double precision,
 c_numeric numeric(12,3), c_numeric_var numeric, c_money money, c_text text, c_varchar varchar(10), c_char char(3),
 c_qchar "char", c_name name, c_xml xml, c_bytea bytea, c_bool boolean, c_json json, c_jsonb jsonb, c_uuid uuid,
 c_date date, c_time time, c_time3 time(3), c_timetz timetz, c_ts timestamp, c_ts3 timestamp(3), c_ts0 timestamp(0),
 c_tstz timestamptz, c_tstz3 timestamptz(3), c_interval interval, c_bit1 bit(1), c_bit5 bit(5), c_varbit varbit,
 c_inet inet, c_cidr cidr, c_macaddr macaddr, c_macaddr8 macaddr8, c_point point, c_int4arr int4[], c_textarr text[],
 c_numarr numeric[], c_int8range int8range, c_tstzrange tstzrange, c_daterange daterange, c_numrange numrange,
 c_enum dbzcap.mood, c_domain dbzcap.posint, c_hstore hstore, c_tsvector tsvector, c_int4multirange int4multirange
);
ALTER TABLE dbzcap.types REPLICA IDENTITY FULL;
-- The rows go through a copy, so that the snapshot and the stream carry the same values.
CREATE TABLE dbzcap.types_seed (LIKE dbzcap.types);
-- row 1: all NULL
INSERT INTO dbzcap.types_seed (id) VALUES (1);
-- row 2: typical values
INSERT INTO dbzcap.types_seed VALUES (2, 1, 2, 3, 4, 1.5, 2.25, 123.456, 1.5, 12.34, 'héllo wörld 😀', 'abc', 'ab', 'x', 'nm',
 '<a>1</a>', '\xdeadbeef', true, '{"a": [1, 2.50]}', '{"a": [1, 2.50]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
 '2024-02-29', '13:14:15.123456', '13:14:15.123', '13:14:15.5+02', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123', '2024-02-29 13:14:15',
 '2024-02-29 13:14:15.123456+02', '2024-02-29 13:14:15.123+02', '1 year 2 mons 3 days 04:05:06.789', B'1', B'10110', B'1011001110',
 '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '(1.5,-2)', '{1,NULL,3}', '{"a","b c",NULL,"ü"}',
 '{1.5,NULL,-2,NaN}', '[1,10)', '["2024-01-01 00:00:00+00",)', '[2024-01-01,2024-02-01)', '(1.5,2.5]',
 'happy', 42, '"a"=>"1", "b"=>NULL', 'a fat cat:3', '{[1,3), [5,7)}');
-- row 3: minimums and negatives
INSERT INTO dbzcap.types_seed VALUES (3, -32768, -2147483648, -9223372036854775808, 0, -3.4e38, -1.7976931348623157e308,
 -999999999.999, -123456789012345678901234567890.123456789012345678901234567890, -92233720368547758.08, '', '', '', ' ', '',
 '<a/>', '\x', false, '[]', '{}', '00000000-0000-0000-0000-000000000000',
 '0044-03-15 BC', '00:00:00', '00:00:00', '00:00:00-14:59', '0044-03-15 12:00:00 BC', '4713-11-24 00:00:00 BC', '0001-01-01 00:00:00',
 '4713-11-24 00:00:00+00 BC', '0044-03-15 12:00:00.123+00 BC', '-178000000 years', B'0', B'00000', B'',
 '::1/128', '::/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', '(-1e300,0)', '{}', '{}',
 '{}', 'empty', 'empty', 'empty', 'empty', 'sad', 1, '', '', '{}');
-- row 4: maximums
INSERT INTO dbzcap.types_seed VALUES (4, 32767, 2147483647, 9223372036854775807, 4294967295, 3.4e38, 1.7976931348623157e308,
 999999999.999, 99999999999999999999999999999999999999.000000000000000000000000000001, 92233720368547758.07, repeat('x', 3000), '0123456789', 'abc', '~', repeat('n', 63),
 '<x y="ü"/>', '\x00ff', true, '{"k": "\u00fc", "n": null}', '{"n": 1e400}', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
 '294276-12-31', '23:59:59.999999', '23:59:59.999', '23:59:59.999999-15:59', '294276-12-31 23:59:59.999999', '10000-01-01 00:00:00.001', '9999-12-31 23:59:59',
 '294276-12-31 23:59:59.999999+00', '12345-06-07 08:09:10.123+00', '178000000 years', B'1', B'11111', B'1111111111111111111111111111111111111111111111111111111111111111111',
 '255.255.255.255', '255.255.255.255/32', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff', '(1e300,-1e-300)', '{{1,2},{3,4}}', '{"{}",""}',
 '{99999999999999999999.000000000001}', '(,)', '(,"2030-01-01 00:00:00+00"]', '(,2030-01-01)', '[-1.5,)', 'ok', 2147483647, '"ü"=>"ß", "k"=>""', 'ü:1A ß:2B', '{}');
-- row 5: special floats, numerics, infinities, 24:00
INSERT INTO dbzcap.types_seed (id, c_real, c_double, c_numeric, c_numeric_var, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_numarr, c_tstzrange, c_daterange, c_numrange)
 VALUES (5, 'NaN', 'NaN', 'NaN', 'NaN', 'infinity', '24:00:00', '24:00:00', '24:00:00+00', 'infinity', 'infinity', 'infinity', 'infinity', 'infinity', '0', '{Infinity,-Infinity}', '[-infinity,infinity]', '[-infinity,infinity)', '(,Infinity)');
INSERT INTO dbzcap.types_seed (id, c_real, c_double, c_numeric_var, c_date, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval)
 VALUES (6, 'Infinity', 'Infinity', 'Infinity', '-infinity', '-infinity', '-infinity', '-infinity', '-infinity', '-infinity', '-1 day -00:00:00.000001');
INSERT INTO dbzcap.types_seed (id, c_real, c_double, c_numeric_var, c_interval, c_numeric, c_money, c_date, c_ts, c_tstz)
 VALUES (7, '-Infinity', '-Infinity', '-Infinity', '1 mon', 0, 0, '1970-01-01', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00');
INSERT INTO dbzcap.types_seed (id, c_real, c_double, c_numeric, c_numeric_var, c_money, c_interval, c_date, c_ts, c_ts3, c_tstz, c_time)
 VALUES (8, 1.17549435e-38, 5e-324, -0.001, 0.000000000000000000000000000000000000000000000000000000000000000000000000000001, -0.01, '1 year', '10000-01-01', '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999', '1969-12-31 23:59:59.999999+00', '00:00:00.000001');
INSERT INTO dbzcap.types SELECT * FROM dbzcap.types_seed;
-- Default replica identity, and a TOASTed column that an update leaves unchanged.
CREATE TABLE dbzcap.ridef (id int PRIMARY KEY, note text, big text, n int);
ALTER TABLE dbzcap.ridef ALTER COLUMN big SET STORAGE EXTERNAL;
-- Columns the handling modes change (connectors dbzpga, dbzpgb).
CREATE TABLE dbzcap.modes (id int PRIMARY KEY, c_numeric numeric(12,3), c_numeric_var numeric, c_money money, c_numarr numeric[],
 c_bytea bytea, c_byteaarr bytea[], c_bit5 bit(5), c_time time, c_time3 time(3), c_time0 time(0), c_timetz timetz,
 c_ts timestamp, c_ts3 timestamp(3), c_ts0 timestamp(0), c_tstz timestamptz, c_date date, c_interval interval,
 c_hstore hstore, c_tsvector tsvector, c_int4multirange int4multirange);
ALTER TABLE dbzcap.modes REPLICA IDENTITY FULL;
CREATE TABLE dbzcap.modes_seed (LIKE dbzcap.modes);
INSERT INTO dbzcap.modes_seed (id) VALUES (1);
INSERT INTO dbzcap.modes_seed VALUES (2, 123.456, 1.5, 12.34, '{1.5,-2}', '\xdeadbeef', '{"\\x01","\\xff"}', B'10110',
 '13:14:15.123456', '13:14:15.123', '13:14:15', '13:14:15.5+02', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123', '2024-02-29 13:14:15',
 '2024-02-29 13:14:15.123456+02', '2024-02-29', '1 year 2 mons 3 days 04:05:06.789', '"a"=>"1", "b"=>NULL', 'a fat cat:3', '{[1,3), [5,7)}');
INSERT INTO dbzcap.modes_seed VALUES (3, 'NaN', 'NaN', -92233720368547758.08, '{NaN,Infinity}', '\x', '{}', B'00001',
 '24:00:00', '23:59:59.999', '00:00:00', '24:00:00+00', 'infinity', '-infinity', '4713-11-24 00:00:00 BC',
 'infinity', '0044-03-15 BC', '-1 day -00:00:00.000001', '', '', '{}');
INSERT INTO dbzcap.modes_seed VALUES (4, -999999999.999, 'Infinity', 92233720368547758.07, '{}', '\x00', NULL, B'11111',
 '00:00:00.000001', NULL, NULL, '00:00:00-14:59', '10000-01-01 00:00:00', '1969-12-31 23:59:59.999', '0001-01-01 00:00:00',
 '-infinity', '10000-01-01', '178000000 years', NULL, NULL, NULL);
INSERT INTO dbzcap.modes SELECT * FROM dbzcap.modes_seed;
`

const dbzPGStream = `-- The snapshot's rows again, ids + 100, in one transaction.
UPDATE dbzcap.types_seed SET id = id + 100;
INSERT INTO dbzcap.types SELECT * FROM dbzcap.types_seed ORDER BY id;
-- Every column of row 102 (typical values) becomes row 103's (minimums, empties).
UPDATE dbzcap.types SET (c_smallint, c_integer, c_bigint, c_oid, c_real, c_double, c_numeric, c_numeric_var, c_money, c_text, c_varchar, c_char, c_qchar, c_name, c_xml, c_bytea, c_bool, c_json, c_jsonb, c_uuid, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_bit1, c_bit5, c_varbit, c_inet, c_cidr, c_macaddr, c_macaddr8, c_point, c_int4arr, c_textarr, c_numarr, c_int8range, c_tstzrange, c_daterange, c_numrange, c_enum, c_domain, c_hstore, c_tsvector, c_int4multirange) = (SELECT c_smallint, c_integer, c_bigint, c_oid, c_real, c_double, c_numeric, c_numeric_var, c_money, c_text, c_varchar, c_char, c_qchar, c_name, c_xml, c_bytea, c_bool, c_json, c_jsonb, c_uuid, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_bit1, c_bit5, c_varbit, c_inet, c_cidr, c_macaddr, c_macaddr8, c_point, c_int4arr, c_textarr, c_numarr, c_int8range, c_tstzrange, c_daterange, c_numrange, c_enum, c_domain, c_hstore, c_tsvector, c_int4multirange FROM dbzcap.types WHERE id = 103) WHERE id = 102;
-- Every column of row 101 (NULLs) becomes row 105's (NaN, infinities, 24:00).
UPDATE dbzcap.types SET (c_smallint, c_integer, c_bigint, c_oid, c_real, c_double, c_numeric, c_numeric_var, c_money, c_text, c_varchar, c_char, c_qchar, c_name, c_xml, c_bytea, c_bool, c_json, c_jsonb, c_uuid, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_bit1, c_bit5, c_varbit, c_inet, c_cidr, c_macaddr, c_macaddr8, c_point, c_int4arr, c_textarr, c_numarr, c_int8range, c_tstzrange, c_daterange, c_numrange, c_enum, c_domain, c_hstore, c_tsvector, c_int4multirange) = (SELECT c_smallint, c_integer, c_bigint, c_oid, c_real, c_double, c_numeric, c_numeric_var, c_money, c_text, c_varchar, c_char, c_qchar, c_name, c_xml, c_bytea, c_bool, c_json, c_jsonb, c_uuid, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_tstz3, c_interval, c_bit1, c_bit5, c_varbit, c_inet, c_cidr, c_macaddr, c_macaddr8, c_point, c_int4arr, c_textarr, c_numarr, c_int8range, c_tstzrange, c_daterange, c_numrange, c_enum, c_domain, c_hstore, c_tsvector, c_int4multirange FROM dbzcap.types WHERE id = 105) WHERE id = 101;
DELETE FROM dbzcap.types WHERE id = 104;
UPDATE dbzcap.types SET id = 200 WHERE id = 106;
INSERT INTO dbzcap.ridef VALUES (1, 'a', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) AS i), 1);
UPDATE dbzcap.ridef SET note = 'b' WHERE id = 1;
UPDATE dbzcap.ridef SET id = 2, n = 2 WHERE id = 1;
DELETE FROM dbzcap.ridef WHERE id = 2;
UPDATE dbzcap.modes_seed SET id = id + 100;
INSERT INTO dbzcap.modes SELECT * FROM dbzcap.modes_seed ORDER BY id;
UPDATE dbzcap.modes SET (c_numeric, c_numeric_var, c_money, c_numarr, c_bytea, c_byteaarr, c_bit5, c_time, c_time3, c_time0, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_date, c_interval, c_hstore, c_tsvector, c_int4multirange) = (SELECT c_numeric, c_numeric_var, c_money, c_numarr, c_bytea, c_byteaarr, c_bit5, c_time, c_time3, c_time0, c_timetz, c_ts, c_ts3, c_ts0, c_tstz, c_date, c_interval, c_hstore, c_tsvector, c_int4multirange FROM dbzcap.modes WHERE id = 103) WHERE id = 102;
DELETE FROM dbzcap.modes WHERE id = 104;
`

const dbzMySetup = `DROP DATABASE IF EXISTS dbzcap;
CREATE DATABASE dbzcap;
-- Zero and invalid dates need a lax sql_mode (this session only).
SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
CREATE TABLE dbzcap.types (
 id int PRIMARY KEY,
 c_tinyint tinyint, c_bool tinyint(1), c_tinyint_u tinyint unsigned, c_smallint smallint, c_smallint_u smallint unsigned,
 c_mediumint mediumint, c_mediumint_u mediumint unsigned, c_int int, c_int_u int unsigned, c_bigint bigint, c_bigint_u bigint unsigned,
 c_float float, c_double double, c_decimal decimal(20,6), c_decimal65 decimal(65,30), c_bit1 bit(1), c_bit10 bit(10),
 c_char char(3), c_varchar varchar(10), c_text text, c_binary binary(4), c_varbinary varbinary(10), c_blob blob,
 c_enum enum('sad','ok','happy'), c_set set('a','b','c'), c_json json,
 c_date date, c_date_nn date NOT NULL DEFAULT '2000-01-01', c_datetime datetime, c_datetime_nn datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
 c_datetime3 datetime(3), c_datetime6 datetime(6), c_timestamp timestamp NULL, c_timestamp_nn timestamp NOT NULL DEFAULT '2000-01-01 00:00:00', c_timestamp6 timestamp(6) NULL,
 c_time time, c_time3 time(3), c_time6 time(6), c_year year,
 c_geometry geometry, c_point point, c_point_srid point REF_SYSTEM_ID=4326
);
-- The rows go through a copy, so that the snapshot and the stream carry the same values.
CREATE TABLE dbzcap.types_seed LIKE dbzcap.types;
INSERT INTO dbzcap.types_seed (id) VALUES (1);
INSERT INTO dbzcap.types_seed VALUES (2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
 1.5, 2.25, 123.456, 1.5, b'1', b'1000000001',
 'ab', 'héllo 😀', 'text ü', x'dead', x'beef', x'00ff',
 'happy', 'a,c', '{"a": [1, 2.50]}',
 '2024-02-29', '2024-02-29', '2024-02-29 13:14:15', '2024-02-29 13:14:15', '2024-02-29 13:14:15.123', '2024-02-29 13:14:15.123456',
 '2024-02-29 13:14:15', '2024-02-29 13:14:15', '2024-02-29 13:14:15.123456',
 '13:14:15', '13:14:15.123', '13:14:15.123456', 2024,
 ST_GeomFromText('LINESTRING(0 0, 1 1)'), ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(1 2)', 4326));
INSERT INTO dbzcap.types_seed VALUES (3, -128, 0, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
 -3.40282e38, -1.7976931348623157e308, -99999999999999.999999, -99999999999999999999999999999999999.999999999999999999999999999999, b'0', b'0000000000',
 '', '', '', x'', x'', x'',
 'sad', '', '[]',
 '0000-00-00', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '1000-01-01 00:00:00.000', '1000-01-01 00:00:00.000000',
 '1970-01-01 00:00:01', '0000-00-00 00:00:00', '1970-01-01 00:00:01.000000',
 '-838:59:59', '-838:59:59.000', '-838:59:59.000000', 1901,
 ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('POINT(-1.5 -2.5)'), ST_GeomFromText('POINT(0 0)', 4326));
INSERT INTO dbzcap.types_seed VALUES (4, 127, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
 3.40282e38, 1.7976931348623157e308, 99999999999999.999999, 99999999999999999999999999999999999.999999999999999999999999999999, b'1', b'1111111111',
 'abc', '0123456789', REPEAT('x', 3000), x'01020304', x'ffffffffffffffffffff', x'ff',
 'ok', 'a,b,c', '{"k": "\\u00fc", "n": null, "big": 12345678901234567890}',
 '9999-12-31', '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.999999',
 '2038-01-19 03:14:07', '2038-01-19 03:14:07', '2038-01-19 03:14:07.999999',
 '838:59:59', '838:59:59.000', '838:59:59.000000', 2155,
 ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'), ST_GeomFromText('POINT(1e300 -1e-300)'), ST_GeomFromText('POINT(179.5 -89.5)', 4326));
INSERT INTO dbzcap.types_seed (id, c_date, c_date_nn, c_datetime, c_datetime_nn, c_datetime3, c_datetime6, c_timestamp, c_time, c_time3, c_time6, c_bigint_u, c_decimal, c_float, c_double)
 VALUES (5, '2024-02-30', '2024-02-30', '2024-02-30 01:02:03', '2024-02-30 01:02:03', '2024-04-31 00:00:00.5', '2023-02-29 00:00:00.000001', NULL, '24:00:00', '-00:00:00.001', '-00:00:01', 9223372036854775808, 0, 0, -0);
INSERT INTO dbzcap.types_seed (id, c_date, c_date_nn, c_datetime, c_datetime_nn, c_datetime3, c_datetime6, c_time, c_time3, c_time6, c_year, c_bigint_u, c_decimal, c_bit10)
 VALUES (6, '2024-00-15', '2024-01-00', '2024-00-00 00:00:00', '0000-01-01 00:00:00', '1969-12-31 23:59:59.999', '1969-12-31 23:59:59.999999', '100:00:00', '-00:00:00.5', '12:00:00.000001', 70, 9223372036854775807, -0.000001, b'0000000001');
INSERT INTO dbzcap.types SELECT * FROM dbzcap.types_seed;
-- Columns the handling modes change (connectors dbzmyp, dbzmyq).
CREATE TABLE dbzcap.modes (id int PRIMARY KEY, c_bigint_u bigint unsigned, c_int_u int unsigned, c_decimal decimal(20,6),
 c_decimal65 decimal(65,30), c_binary binary(4), c_varbinary varbinary(10), c_blob blob, c_bit10 bit(10),
 c_time time, c_time3 time(3), c_time6 time(6), c_datetime datetime, c_datetime3 datetime(3), c_datetime6 datetime(6),
 c_timestamp6 timestamp(6) NULL, c_date date);
CREATE TABLE dbzcap.modes_seed LIKE dbzcap.modes;
INSERT INTO dbzcap.modes_seed (id) VALUES (1);
INSERT INTO dbzcap.modes_seed VALUES (2, 18446744073709551615, 4294967295, 123.456, 1.5, x'dead', x'beef', x'00ff', b'1000000001',
 '13:14:15', '13:14:15.123', '13:14:15.123456', '2024-02-29 13:14:15', '2024-02-29 13:14:15.123', '2024-02-29 13:14:15.123456',
 '2024-02-29 13:14:15.123456', '2024-02-29');
INSERT INTO dbzcap.modes_seed VALUES (3, 0, 0, -99999999999999.999999, -99999999999999999999999999999999999.999999999999999999999999999999, x'', x'', x'', b'0',
 '-838:59:59', '-838:59:59.000', '-00:00:00.000001', '0000-00-00 00:00:00', '1000-01-01 00:00:00.000', '1969-12-31 23:59:59.999999',
 '1970-01-01 00:00:01.000000', '0000-00-00');
INSERT INTO dbzcap.modes_seed VALUES (4, 9223372036854775808, 1, 0, 0, x'01020304', x'ff', x'ff', b'1111111111',
 '838:59:59', '24:00:00.000', '100:00:00.000001', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999', '2024-02-30 00:00:00.5',
 '2038-01-19 03:14:07.999999', '2024-02-30');
INSERT INTO dbzcap.modes SELECT * FROM dbzcap.modes_seed;
-- MariaDB's own types, one table each: Debezium's DDL parser may not know them (connector dbzmyx).
CREATE TABLE dbzcap.t_uuid (id int PRIMARY KEY, c_uuid uuid);
CREATE TABLE dbzcap.t_inet6 (id int PRIMARY KEY, c_inet6 inet6);
CREATE TABLE dbzcap.t_inet4 (id int PRIMARY KEY, c_inet4 inet4);
INSERT INTO dbzcap.t_uuid VALUES (1, '6ccd780c-baba-1026-9564-5b8c656024db'), (2, NULL), (3, '00000000-0000-0000-0000-000000000000');
INSERT INTO dbzcap.t_inet6 VALUES (1, '2001:db8::1'), (2, NULL), (3, '::ffff:10.0.0.1');
INSERT INTO dbzcap.t_inet4 VALUES (1, '10.0.0.1'), (2, NULL), (3, '255.255.255.255');
`

const dbzMyStream = `SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
-- The snapshot's rows again, ids + 100, in one transaction; the rows with invalid
-- dates one by one after them (Debezium's binlog reader fails on some; the connectors
-- run with event.processing.failure.handling.mode=warn, so such an event is skipped
-- and logged in connect-warnings.txt).
UPDATE dbzcap.types_seed SET id = id + 100;
INSERT INTO dbzcap.types SELECT * FROM dbzcap.types_seed WHERE id < 105 ORDER BY id;
INSERT INTO dbzcap.types SELECT * FROM dbzcap.types_seed WHERE id = 105;
INSERT INTO dbzcap.types SELECT * FROM dbzcap.types_seed WHERE id = 106;
-- Every column of row 102 (typical values) becomes row 103's (minimums, zero dates).
UPDATE dbzcap.types t JOIN dbzcap.types s ON s.id = 103 SET t.c_tinyint = s.c_tinyint, t.c_bool = s.c_bool, t.c_tinyint_u = s.c_tinyint_u, t.c_smallint = s.c_smallint, t.c_smallint_u = s.c_smallint_u, t.c_mediumint = s.c_mediumint, t.c_mediumint_u = s.c_mediumint_u, t.c_int = s.c_int, t.c_int_u = s.c_int_u, t.c_bigint = s.c_bigint, t.c_bigint_u = s.c_bigint_u, t.c_float = s.c_float, t.c_double = s.c_double, t.c_decimal = s.c_decimal, t.c_decimal65 = s.c_decimal65, t.c_bit1 = s.c_bit1, t.c_bit10 = s.c_bit10, t.c_char = s.c_char, t.c_varchar = s.c_varchar, t.c_text = s.c_text, t.c_binary = s.c_binary, t.c_varbinary = s.c_varbinary, t.c_blob = s.c_blob, t.c_enum = s.c_enum, t.c_set = s.c_set, t.c_json = s.c_json, t.c_date = s.c_date, t.c_date_nn = s.c_date_nn, t.c_datetime = s.c_datetime, t.c_datetime_nn = s.c_datetime_nn, t.c_datetime3 = s.c_datetime3, t.c_datetime6 = s.c_datetime6, t.c_timestamp = s.c_timestamp, t.c_timestamp_nn = s.c_timestamp_nn, t.c_timestamp6 = s.c_timestamp6, t.c_time = s.c_time, t.c_time3 = s.c_time3, t.c_time6 = s.c_time6, t.c_year = s.c_year, t.c_geometry = s.c_geometry, t.c_point = s.c_point, t.c_point_srid = s.c_point_srid WHERE t.id = 102;
-- Every column of row 101 (NULLs) becomes row 105's (invalid dates, 24:00:00).
UPDATE dbzcap.types t JOIN dbzcap.types s ON s.id = 105 SET t.c_tinyint = s.c_tinyint, t.c_bool = s.c_bool, t.c_tinyint_u = s.c_tinyint_u, t.c_smallint = s.c_smallint, t.c_smallint_u = s.c_smallint_u, t.c_mediumint = s.c_mediumint, t.c_mediumint_u = s.c_mediumint_u, t.c_int = s.c_int, t.c_int_u = s.c_int_u, t.c_bigint = s.c_bigint, t.c_bigint_u = s.c_bigint_u, t.c_float = s.c_float, t.c_double = s.c_double, t.c_decimal = s.c_decimal, t.c_decimal65 = s.c_decimal65, t.c_bit1 = s.c_bit1, t.c_bit10 = s.c_bit10, t.c_char = s.c_char, t.c_varchar = s.c_varchar, t.c_text = s.c_text, t.c_binary = s.c_binary, t.c_varbinary = s.c_varbinary, t.c_blob = s.c_blob, t.c_enum = s.c_enum, t.c_set = s.c_set, t.c_json = s.c_json, t.c_date = s.c_date, t.c_date_nn = s.c_date_nn, t.c_datetime = s.c_datetime, t.c_datetime_nn = s.c_datetime_nn, t.c_datetime3 = s.c_datetime3, t.c_datetime6 = s.c_datetime6, t.c_timestamp = s.c_timestamp, t.c_timestamp_nn = s.c_timestamp_nn, t.c_timestamp6 = s.c_timestamp6, t.c_time = s.c_time, t.c_time3 = s.c_time3, t.c_time6 = s.c_time6, t.c_year = s.c_year, t.c_geometry = s.c_geometry, t.c_point = s.c_point, t.c_point_srid = s.c_point_srid WHERE t.id = 101;
DELETE FROM dbzcap.types WHERE id = 104;
UPDATE dbzcap.types SET id = 200 WHERE id = 106;
-- YEAR 0000 only streamed: in a snapshot row it fails Debezium's snapshot (the MariaDB JDBC driver cannot read it).
INSERT INTO dbzcap.types (id, c_year) VALUES (150, 0);
UPDATE dbzcap.modes_seed SET id = id + 100;
INSERT INTO dbzcap.modes SELECT * FROM dbzcap.modes_seed WHERE id < 104 ORDER BY id;
INSERT INTO dbzcap.modes SELECT * FROM dbzcap.modes_seed WHERE id = 104;
UPDATE dbzcap.modes t JOIN dbzcap.modes s ON s.id = 103 SET t.c_bigint_u = s.c_bigint_u, t.c_int_u = s.c_int_u, t.c_decimal = s.c_decimal, t.c_decimal65 = s.c_decimal65, t.c_binary = s.c_binary, t.c_varbinary = s.c_varbinary, t.c_blob = s.c_blob, t.c_bit10 = s.c_bit10, t.c_time = s.c_time, t.c_time3 = s.c_time3, t.c_time6 = s.c_time6, t.c_datetime = s.c_datetime, t.c_datetime3 = s.c_datetime3, t.c_datetime6 = s.c_datetime6, t.c_timestamp6 = s.c_timestamp6, t.c_date = s.c_date WHERE t.id = 102;
DELETE FROM dbzcap.modes WHERE id = 104;
INSERT INTO dbzcap.t_uuid VALUES (101, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
INSERT INTO dbzcap.t_inet6 VALUES (101, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
INSERT INTO dbzcap.t_inet4 VALUES (101, '0.0.0.0');
`
