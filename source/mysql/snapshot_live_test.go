//go:build e2e

package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
)

// Live tests of the snapshot reader against the MariaDB of e2e/services.sh
// (eval "$(e2e/services.sh env)"); skipped without CDC_MYSQL_DSN. They are
// in-package (not in e2e/) because they compare Go values: a chunk row and
// the streamed after-image of the same row must be equal value by value,
// type by type, before any encoding hides a difference.
//
//	go test -count=1 -tags e2e ./source/mysql/ -run Live

type liveEnv struct {
	db   *sql.DB
	name string // the test's database
	src  *Source
	out  chan source.Message
}

func liveSetup(t *testing.T) *liveEnv {
	t.Helper()
	dsn := os.Getenv("CDC_MYSQL_DSN")
	if dsn == "" {
		t.Skip(`CDC_MYSQL_DSN is not set; run: eval "$(e2e/services.sh env)"`)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	name := fmt.Sprintf("snaplive_%d", rand.Uint32())
	liveExec(t, db, "CREATE DATABASE "+name)
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
	return &liveEnv{db: db, name: name}
}

// stream opens the source on the test's database and streams from the
// server's current position until the test ends.
func (e *liveEnv) stream(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	src, err := Open(ctx, Config{DSN: os.Getenv("CDC_MYSQL_DSN"), ServerID: 200_000 + rand.Uint32N(1_000_000_000), Tables: []string{e.name + ".*"},
		Name: e.name, Heartbeat: time.Second}, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	e.src = src
	e.out = make(chan source.Message, 4096)
	done := make(chan error, 1)
	go func() { done <- src.Stream(ctx, nil, e.out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("stream: %v", err)
		}
		src.Close()
	})
	// The first message is the start position: writes after it are streamed.
	select {
	case m := <-e.out:
		if m.Heartbeat == nil {
			t.Fatalf("first message %+v, want the start heartbeat", m)
		}
	case err := <-done:
		t.Fatalf("stream: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no start heartbeat")
	}
}

// next returns the next streamed change or commit, skipping the rest.
func (e *liveEnv) next(t *testing.T) source.Message {
	t.Helper()
	for {
		select {
		case m := <-e.out:
			if m.Change != nil || m.Commit != nil {
				return m
			}
		case <-time.After(30 * time.Second):
			t.Fatal("nothing streamed for 30s")
		}
	}
}

// commits collects the changes of the next n transactions and their last
// commit's position.
func (e *liveEnv) commits(t *testing.T, n int) ([]*source.Change, Position) {
	t.Helper()
	var changes []*source.Change
	for {
		m := e.next(t)
		if m.Change != nil {
			if m.Change.Err != nil {
				t.Errorf("streamed change of %s: %v", m.Change.Table.ID(), m.Change.Err)
			}
			changes = append(changes, m.Change)
			continue
		}
		if n--; n == 0 {
			return changes, m.Commit.Pos.(Position)
		}
	}
}

func liveExec(t *testing.T, db *sql.DB, sqls ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range sqls {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// liveTypes is one column per type the MySQL source decodes on MariaDB,
// with the values of its rows (SQL literals; rows 1.. in order). Row 1 is
// all NULL.
var liveTypes = []struct {
	def    string
	values []string
}{
	{"c_tinyint tinyint", []string{"-128", "127", "0"}},
	{"c_tinyint_u tinyint unsigned", []string{"0", "255", "1"}},
	{"c_bool tinyint(1)", []string{"1", "0", "-1"}},
	{"c_smallint smallint", []string{"-32768", "32767", "-1"}},
	{"c_smallint_u smallint unsigned", []string{"0", "65535", "2"}},
	{"c_mediumint mediumint", []string{"-8388608", "8388607", "3"}},
	{"c_mediumint_u mediumint unsigned", []string{"0", "16777215", "4"}},
	{"c_int int", []string{"-2147483648", "2147483647", "5"}},
	{"c_int_u int unsigned", []string{"0", "4294967295", "6"}},
	{"c_bigint bigint", []string{"-9223372036854775808", "9223372036854775807", "7"}},
	{"c_bigint_u bigint unsigned", []string{"0", "18446744073709551615", "9007199254740993"}},
	{"c_decimal decimal(10,2)", []string{"-99999999.99", "99999999.99", "-0.50"}},
	{"c_decimal_big decimal(65,30)", []string{"-12345678901234567890123456789012345.123456789012345678901234567890", "0.000000000000000000000000000001", "0"}},
	{"c_decimal_int decimal(18,0) unsigned", []string{"0", "999999999999999999", "42"}},
	{"c_float float", []string{"0.1", "16777217", "3.4028235e38"}},
	{"c_float2 float", []string{"-1.17549435e-38", "1.4e-45", "-0"}},
	{"c_double double", []string{"0.1e0 + 0.2e0", "1.7976931348623157e308", "5e-324"}},
	{"c_bit1 bit(1)", []string{"b'0'", "b'1'", "b'1'"}},
	{"c_bit12 bit(12)", []string{"b'101010101010'", "b'0'", "b'111111111111'"}},
	{"c_bit64 bit(64)", []string{"0xffffffffffffffff", "0x8000000000000001", "0"}},
	{"c_year year", []string{"1901", "2155", "0"}},
	{"c_date date", []string{"'1000-01-01'", "'9999-12-31'", "'0000-00-00'"}},
	{"c_date_bad date", []string{"'2024-02-30'", "'2024-00-00'", "'2024-02-29'"}},
	{"c_time time", []string{"'-838:59:59'", "'838:59:59'", "'00:00:00'"}},
	{"c_time2 time(2)", []string{"'-12:34:56.78'", "'-00:00:00.01'", "'10:00:00.00'"}},
	{"c_time6 time(6)", []string{"'-838:59:59.000000'", "'00:00:00.000001'", "'123:00:00.5'"}},
	{"c_datetime datetime", []string{"'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'", "'0000-00-00 00:00:00'"}},
	{"c_datetime3 datetime(3)", []string{"'2024-02-29 13:14:15.120'", "'2024-02-30 10:00:00.5'", "'0000-00-00 00:00:00.000'"}},
	{"c_datetime6 datetime(6)", []string{"'2024-01-02 03:04:05.000001'", "'1970-01-01 00:00:00'", "'2024-00-00 00:00:00.5'"}},
	{"c_timestamp timestamp NULL", []string{"'1970-01-01 00:00:01'", "'2038-01-19 03:14:07'", "'0000-00-00 00:00:00'"}},
	{"c_timestamp6 timestamp(6) NULL", []string{"'2024-02-29 13:14:15.123456'", "'2001-01-01 00:00:00.000000'", "'0000-00-00 00:00:00'"}},
	{"c_char char(5)", []string{"'a'", "'ab   '", "''"}},
	{"c_char_latin1 char(10) CHARACTER SET latin1", []string{"'héllo'", "x'80818d8f909d'", "' x'"}},
	{"c_char_long char(255)", []string{"REPEAT('é', 255)", "'z'", "'  '"}},
	{"c_varchar varchar(20)", []string{"'héllo wörld'", "'trailing   '", "''"}},
	{"c_varchar_latin1 varchar(300) CHARACTER SET latin1", []string{"'café'", "x'ff00fe'", "REPEAT('x', 300)"}},
	{"c_varchar_mb3 varchar(10) CHARACTER SET utf8mb3", []string{"'日本'", "'€'", "''"}},
	{"c_varchar_cp1250 varchar(10) CHARACTER SET cp1250", []string{"x'41e9'", "x'8a9a'", "'a'"}},
	{"c_varchar_ucs2 varchar(10) CHARACTER SET ucs2", []string{"'ü'", "'abc'", "''"}},
	{"c_varchar_utf16 varchar(10) CHARACTER SET utf16", []string{"'😀'", "'x'", "''"}},
	{"c_emoji varchar(10) CHARACTER SET utf8mb4", []string{"'😀'", "'\\\\'", "'\\''"}},
	{"c_text text", []string{"'text'", "REPEAT('ab', 3000)", "''"}},
	{"c_text_latin1 tinytext CHARACTER SET latin1", []string{"'déjà'", "''", "x'a4'"}},
	{"c_mediumtext mediumtext", []string{"'m'", "''", "'x'"}},
	{"c_longtext longtext", []string{"'l'", "''", "'y'"}},
	{"c_binary binary(4)", []string{"x'61'", "x'00000000'", "x'0000ff'"}},
	{"c_binary16 binary(16)", []string{"x'01'", "x'00'", "x'ffffffffffffffffffffffffffffff00'"}},
	{"c_varbinary varbinary(8)", []string{"x'00ff'", "x''", "x'0000'"}},
	{"c_tinyblob tinyblob", []string{"x'00'", "x''", "x'ff'"}},
	{"c_blob blob", []string{"x'00ff00'", "REPEAT(x'ab', 70000 DIV 2)", "x''"}},
	{"c_mediumblob mediumblob", []string{"x'01'", "x''", "REPEAT(x'cd', 70000)"}},
	{"c_longblob longblob", []string{"x'02'", "x''", "x'00'"}},
	{"c_enum enum('a','b','ü','it''s')", []string{"'a'", "'ü'", "'it''s'"}},
	{"c_enum_latin1 enum('x','é') CHARACTER SET latin1", []string{"'é'", "'x'", "'x'"}},
	{"c_set set('x','y','z')", []string{"''", "'x,z'", "'x,y,z'"}},
	{"c_json json", []string{`'{"a": [1, 2.50, "x"], "b": null}'`, "'[]'", `'"\\u00e9"'`}},
	// JSON by its json_valid check in either case; a LONGTEXT column with
	// another check named after it stays text.
	{"C_Json2 json", []string{`'{"k": 1}'`, "'null'", "'2'"}},
	{"c_lt_check longtext CHECK (c_lt_check <> 'nope')", []string{"'{\"k\": 1}'", "'[1,  2]'", "'x'"}},
	{"c_inet4 inet4", []string{"'0.0.0.0'", "'255.255.255.255'", "'10.0.0.1'"}},
	{"c_inet6 inet6", []string{"'::1'", "'::ffff:1.2.3.4'", "'fe80::1:0:0:0'"}},
	{"c_uuid uuid", []string{"'00000000-0000-0000-0000-000000000000'", "'6ccd780c-baba-1026-9564-5b8c656024db'", "'00112233-4455-6677-8899-aabbccddeeff'"}},
	{"c_geometry geometry", []string{"ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('LINESTRING(0 0, 1 1)', 4326)", "ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))')"}},
	{"c_point point", []string{"POINT(1.5, -2.5)", "POINT(0, 0)", "POINT(1e300, 1e-300)"}},
}

// A chunk's rows equal, value by value and type by type, the after-images
// the stream decodes from the binlog for the same rows, for every type the
// MySQL source supports on MariaDB; and the chunk's table shape is the
// stream's (same fingerprint, so the same schema version).
func TestLiveSnapshotValuesEqualStream(t *testing.T) {
	e := liveSetup(t)
	defs := []string{"id int PRIMARY KEY", "dummy int NOT NULL DEFAULT 0"}
	cols := []string{"id"}
	for _, c := range liveTypes {
		defs = append(defs, c.def)
		cols = append(cols, strings.Fields(c.def)[0])
	}
	liveExec(t, e.db, "CREATE TABLE "+e.name+".t ("+strings.Join(defs, ", ")+")")
	e.stream(t)

	rows := len(liveTypes[0].values) + 1
	inserts := []string{"SET SESSION sql_mode = 'ALLOW_INVALID_DATES'", "SET SESSION time_zone = '+00:00'",
		"INSERT INTO " + e.name + ".t (id) VALUES (1)"}
	for r := 0; r < rows-1; r++ {
		vals := []string{fmt.Sprint(r + 2)}
		for _, c := range liveTypes {
			vals = append(vals, c.values[r])
		}
		inserts = append(inserts, "INSERT INTO "+e.name+".t ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(vals, ", ")+")")
	}
	liveExec(t, e.db, inserts...)
	inserted, _ := e.commits(t, rows)
	liveExec(t, e.db, "UPDATE "+e.name+".t SET dummy = dummy + 1")
	updated, streamedAt := e.commits(t, 1)
	if len(inserted) != rows || len(updated) != rows {
		t.Fatalf("streamed %d inserts and %d updates, want %d each", len(inserted), len(updated), rows)
	}

	shape, key, err := e.src.snapshotShape(t.Context(), e.name, "t")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(key, []string{"id"}) {
		t.Errorf("key %v", key)
	}
	stream := updated[0].Table
	if shape.Fingerprint() != stream.Fingerprint() || !reflect.DeepEqual(shape.Columns, stream.Columns) {
		for i := range shape.Columns {
			if i >= len(stream.Columns) || !reflect.DeepEqual(shape.Columns[i], stream.Columns[i]) {
				t.Errorf("column %d: snapshot %+v, stream %+v", i, shape.Columns[i], stream.Columns[min(i, len(stream.Columns)-1)])
			}
		}
		t.Fatalf("shapes differ:\nsnapshot %s\nstream   %s", shape, stream)
	}
	for name, want := range map[string]schema.Kind{"c_json": schema.KindJSON, "C_Json2": schema.KindJSON, "c_longtext": schema.KindString, "c_lt_check": schema.KindString} {
		if i := stream.Column(name); i < 0 || stream.Columns[i].Kind != want {
			t.Errorf("column %s (index %d): want kind %v in %s", name, i, want, stream)
		}
	}

	cr, err := e.src.newChunkReader()
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	ch, err := cr.readChunk(t.Context(), stream, key, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.rows) != rows || ch.errs != nil {
		t.Fatalf("chunk: %d rows (errors %v), want %d", len(ch.rows), ch.errs, rows)
	}
	if !ch.at.atOrAfter(streamedAt) {
		t.Errorf("chunk at %s, before the streamed update's commit at %s", ch.at, streamedAt)
	}
	// Every column has a value in some row (an insert that stored NULL
	// would make the comparison vacuous).
	for i, col := range stream.Columns {
		nonNull := 0
		for _, r := range ch.rows {
			if r[i] != nil {
				nonNull++
			}
		}
		if nonNull < rows-1 {
			t.Errorf("column %s: %d values that are not NULL, want %d", col.Name, nonNull, rows-1)
		}
	}
	for r, up := range updated {
		got := ch.rows[r]
		if got[0] != up.After[0] {
			t.Fatalf("row %d: chunk id %v, streamed id %v", r, got[0], up.After[0])
		}
		for i, col := range stream.Columns {
			if !reflect.DeepEqual(got[i], up.After[i]) {
				t.Errorf("id %v column %s (%s): chunk %T %#v, stream %T %#v", up.After[0], col.Name, col.Type, got[i], got[i], up.After[i], up.After[i])
			}
		}
	}
	// The inserts' images are the same values, with the dummy before the update.
	for r, in := range inserted {
		for i := range stream.Columns {
			if stream.Columns[i].Name != "dummy" && !reflect.DeepEqual(ch.rows[r][i], in.After[i]) {
				t.Errorf("id %v column %s: chunk %#v, streamed insert %#v", in.After[0], stream.Columns[i].Name, ch.rows[r][i], in.After[i])
			}
		}
	}
	if want := []snapshot.KeyValue{{Column: "id", Kind: schema.KindInt, Text: fmt.Sprint(rows)}}; !reflect.DeepEqual(ch.last, want) {
		t.Errorf("last key %+v, want %+v", ch.last, want)
	}

	// Another shape than the table's is refused, not decoded with it.
	other := *stream
	other.Columns = append([]schema.Column(nil), stream.Columns...)
	other.Columns[1].Type = "bigint"
	if _, err := cr.readChunk(t.Context(), &other, key, nil, 10); err == nil || !strings.Contains(err.Error(), ErrShapeChanged.Error()) {
		t.Errorf("a chunk of another shape: %v, want ErrShapeChanged", err)
	}
	// The connection is still usable after that error.
	if _, err := cr.readChunk(t.Context(), stream, key, ch.last, 10); err != nil {
		t.Errorf("after an error: %v", err)
	}
}

// The chunk's position is exact: with a writer committing one insert per
// transaction throughout, each chunk holds exactly the rows whose
// transactions the stream shows committed at or before the chunk's
// position, no later one and no earlier one missing.
func TestLiveSnapshotPositionIsExact(t *testing.T) {
	e := liveSetup(t)
	liveExec(t, e.db, "CREATE TABLE "+e.name+".w (id int PRIMARY KEY, pad varchar(100))")
	e.stream(t)
	shape, key, err := e.src.snapshotShape(t.Context(), e.name, "w")
	if err != nil {
		t.Fatal(err)
	}
	cr, err := e.src.newChunkReader()
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()

	stop := make(chan struct{})
	wrote := make(chan int)
	go func() {
		n := 0
		defer func() { wrote <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.db.Exec("INSERT INTO "+e.name+".w VALUES (?, REPEAT('x', 100))", n+1); err != nil {
				t.Errorf("insert %d: %v", n+1, err)
				return
			}
			n++
		}
	}()
	var chunks []chunk
	for len(chunks) < 30 {
		ch, err := cr.readChunk(t.Context(), shape, key, nil, 1_000_000)
		if err != nil {
			close(stop)
			<-wrote
			t.Fatal(err)
		}
		chunks = append(chunks, ch)
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	n := <-wrote
	if n < 100 {
		t.Fatalf("only %d inserts during the chunks", n)
	}
	// Each insert is one transaction: its id and its commit's position.
	committed := make([]Position, n+1)
	for i := 0; i < n; i++ {
		changes, pos := e.commits(t, 1)
		if len(changes) != 1 {
			t.Fatalf("transaction of %d changes", len(changes))
		}
		committed[changes[0].After[0].(int64)] = pos
	}
	inside := 0
	for c, ch := range chunks {
		in := map[int64]bool{}
		for _, r := range ch.rows {
			in[r[0].(int64)] = true
		}
		for id := 1; id <= n; id++ {
			before := ch.at.atOrAfter(committed[id])
			if before != in[int64(id)] {
				t.Errorf("chunk %d at %s: row %d (committed at %s) in the chunk: %v", c, ch.at, id, committed[id], in[int64(id)])
			}
		}
		if len(ch.rows) > 0 && len(ch.rows) < n {
			inside++
		}
	}
	if inside < 10 {
		t.Errorf("only %d of %d chunks were read while the writer ran", inside, len(chunks))
	}
}

// Chunks of 7 over a composite key (bigint unsigned, case-insensitive
// varchar) read every row exactly once, in the server's order, through the
// stored form of the last key; keys above 2^53 are neither skipped nor
// repeated (a string parameter would compare them as doubles). The chunk's
// position is at or after everything streamed before it and before every
// write after it.
func TestLiveSnapshotChunksCompositeKey(t *testing.T) {
	e := liveSetup(t)
	liveExec(t, e.db, "CREATE TABLE "+e.name+".k (a bigint unsigned, b varchar(20) COLLATE utf8mb4_general_ci, v int, PRIMARY KEY (a, b))")
	e.stream(t)
	as := []string{"0", "1", "9007199254740992", "9007199254740993", "9007199254740994", "9007199254740995",
		"18446744073709551614", "18446744073709551615"}
	// Distinct under utf8mb4_general_ci (case- and accent-insensitive,
	// PAD SPACE), not in byte order.
	bs := []string{"a", "B", "c", "Ö", "z", "", "0", "é", "x ", "Y"}
	var vals []string
	n := 0
	for _, a := range as {
		for _, b := range bs {
			n++
			vals = append(vals, fmt.Sprintf("(%s, '%s', %d)", a, b, n))
		}
	}
	liveExec(t, e.db, "INSERT INTO "+e.name+".k VALUES "+strings.Join(vals, ", "))
	_, streamedAt := e.commits(t, 1)

	var want []string
	rs, err := e.db.Query("SELECT a, b FROM " + e.name + ".k ORDER BY a, b")
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var a, b string
		rs.Scan(&a, &b)
		want = append(want, a+"/"+b)
	}
	rs.Close()
	if len(want) != n {
		t.Fatalf("table has %d rows, inserted %d", len(want), n)
	}

	shape, key, err := e.src.snapshotShape(t.Context(), e.name, "k")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(key, []string{"a", "b"}) {
		t.Fatalf("key %v", key)
	}
	cr, err := e.src.newChunkReader()
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	var got []string
	var last []snapshot.KeyValue
	var at Position
	chunks := 0
	for {
		ch, err := cr.readChunk(t.Context(), shape, key, last, 7)
		if err != nil {
			t.Fatal(err)
		}
		if chunks == 0 {
			at = ch.at
		}
		if len(ch.rows) == 0 {
			if ch.last != nil {
				t.Errorf("empty chunk with a last key %v", ch.last)
			}
			break
		}
		if chunks++; chunks > n {
			t.Fatal("chunks do not end")
		}
		if len(ch.rows) > 7 {
			t.Fatalf("chunk of %d rows", len(ch.rows))
		}
		for _, r := range ch.rows {
			got = append(got, fmt.Sprint(r[0])+"/"+r[1].(string))
		}
		// Through the stored form, as a restart would.
		text, err := snapshot.Progress{Table: "x.k", Snapshot: "initial", State: snapshot.StateRunning, LastKey: ch.last, Rows: 1, Chunks: 1}.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		p, err := snapshot.ParseProgress(text)
		if err != nil {
			t.Fatal(err)
		}
		last = p.LastKey
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks read\n%v\nwant (ORDER BY a, b)\n%v", got, want)
	}
	if chunks != (n+6)/7 {
		t.Errorf("%d chunks for %d rows", chunks, n)
	}

	if !at.atOrAfter(streamedAt) {
		t.Errorf("chunk at %s, before the streamed insert's commit at %s", at, streamedAt)
	}
	liveExec(t, e.db, "UPDATE "+e.name+".k SET v = v + 1 WHERE a = 0 AND b = 'a'")
	_, later := e.commits(t, 1)
	if at.atOrAfter(later) {
		t.Errorf("a write after the chunk commits at %s, not after the chunk's position %s", later, at)
	}
	ch, err := cr.readChunk(t.Context(), shape, key, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.at.atOrAfter(later) {
		t.Errorf("a chunk read after the update is at %s, before the update's commit at %s", ch.at, later)
	}
}

// Generated (virtual and stored) and invisible columns are in the binlog's
// table map and row images; the snapshot's shape and rows have them too.
func TestLiveSnapshotGeneratedColumns(t *testing.T) {
	e := liveSetup(t)
	liveExec(t, e.db, "CREATE TABLE "+e.name+".g (id int PRIMARY KEY, v int AS (id * 2) VIRTUAL, p varchar(10) AS (concat('p', id)) PERSISTENT, h int INVISIBLE DEFAULT 7, n int)")
	e.stream(t)
	liveExec(t, e.db, "INSERT INTO "+e.name+".g (id, n) VALUES (1, 10), (2, NULL)", "UPDATE "+e.name+".g SET n = 11 WHERE id = 1")
	_, _ = e.commits(t, 1)
	updated, _ := e.commits(t, 1)
	shape, key, err := e.src.snapshotShape(t.Context(), e.name, "g")
	if err != nil {
		t.Fatal(err)
	}
	stream := updated[0].Table
	if shape.Fingerprint() != stream.Fingerprint() {
		t.Fatalf("shapes differ:\nsnapshot %s\nstream   %s", shape, stream)
	}
	cr, err := e.src.newChunkReader()
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	ch, err := cr.readChunk(t.Context(), stream, key, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.rows) != 2 || !reflect.DeepEqual(ch.rows[0], updated[0].After) {
		t.Errorf("chunk rows %#v, streamed after-image of id 1 %#v", ch.rows, updated[0].After)
	}
}
