package mysql

import (
	"database/sql"
	"reflect"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/snapshot"
)

// ordersColumns is what information_schema.COLUMNS says about the table of
// orderTableMap (decode_test.go).
func ordersColumns() []isColumn {
	str := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	num := func(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: true} }
	return []isColumn{
		{name: "id", dataType: "bigint", columnType: "bigint(20) unsigned", precision: num(20), key: true},
		{name: "status", dataType: "enum", columnType: "enum('new','paid')", charset: str("utf8mb4"), octets: num(16)},
		{name: "tags", dataType: "set", columnType: "set('a','b','c')", nullable: true, charset: str("utf8mb4"), octets: num(20)},
		{name: "note", dataType: "varchar", columnType: "varchar(40)", nullable: true, charset: str("latin1"), octets: num(40)},
		{name: "body", dataType: "text", columnType: "text", nullable: true, charset: str("utf8mb4"), octets: num(65535)},
		{name: "raw", dataType: "varbinary", columnType: "varbinary(8)", nullable: true, octets: num(8)},
		{name: "amount", dataType: "decimal", columnType: "decimal(10,2)", nullable: true, precision: num(10), scale: num(2)},
		{name: "at", dataType: "timestamp", columnType: "timestamp(3)", nullable: true, fsp: num(3)},
		{name: "day", dataType: "date", columnType: "date", nullable: true},
		{name: "flags", dataType: "bit", columnType: "bit(4)", nullable: true, precision: num(4)},
		{name: "n", dataType: "tinyint", columnType: "tinyint(4)", nullable: true, precision: num(3)},
	}
}

// The table map written from information_schema describes the table as the
// binlog's own table map does: same schema, same fingerprint (so the same
// schema version), same decoding of every column.
func TestSnapshotTableMap(t *testing.T) {
	s := &Source{charset: newCharsets()}
	tm, ext, err := s.tableMapOf(t.Context(), nil, "shop", "orders", ordersColumns())
	if err != nil {
		t.Fatal(err)
	}
	got, err := describe(tm, s.charset, ext)
	if err != nil {
		t.Fatal(err)
	}
	want, err := describe(orderTableMap(), newCharsets(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.schema.String() != want.schema.String() || got.schema.Fingerprint() != want.schema.Fingerprint() {
		t.Errorf("shape\n got %s\nwant %s", got.schema, want.schema)
	}
	if !reflect.DeepEqual(got.schema.Columns, want.schema.Columns) {
		t.Errorf("columns\n got %+v\nwant %+v", got.schema.Columns, want.schema.Columns)
	}
	for i := range got.cols {
		g, w := got.cols[i], want.cols[i]
		g.cs, w.cs = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("column %d decoding\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// Long CHAR columns fold bits 8 and 9 of their byte length into the type
// byte of the metadata, and describe unfolds them.
func TestSnapshotCharMeta(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 400, 767, 1020} {
		typ, length := realType(254, stringMeta(254, n))
		if typ != 254 || length != n {
			t.Errorf("char of %d bytes: type %d, length %d", n, typ, length)
		}
	}
}

func TestParseMembers(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"enum('a','b')", []string{"a", "b"}},
		{"set('x')", []string{"x"}},
		{`enum('it''s','a,b','back\\slash','nl\n','')`, []string{"it's", "a,b", `back\slash`, "nl\n", ""}},
		{"enum('héllo','ü')", []string{"héllo", "ü"}},
	}
	for _, c := range cases {
		got, err := parseMembers(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseMembers(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"int(11)", "enum('a'", "enum('a' 'b')", "enum(a)"} {
		if got, err := parseMembers(bad); err == nil {
			t.Errorf("parseMembers(%q) = %q, want an error", bad, got)
		}
	}
}

// Temporal values of the binary protocol take go-mysql's binlog forms.
func TestSnapshotTemporalForms(t *testing.T) {
	times := []struct {
		in   string
		dec  int
		want string
	}{
		{"00:00:00", 0, "00:00:00"},
		{"00:00:00.000", 3, "00:00:00"},
		{"10:00:00.000", 3, "10:00:00"}, // no fraction when it is zero
		{"10:00:00.500", 3, "10:00:00.500"},
		{"-12:34:56.78", 2, "-12:34:56.78"},
		{"-838:59:59.000000", 6, "-838:59:59"},
		{"838:59:59.999999", 6, "838:59:59.999999"},
		{"-00:00:00.01", 2, "-00:00:00.01"},
		{"01:02:03.5", 1, "01:02:03.5"},
	}
	for _, c := range times {
		if got, err := binlogTime(c.in, c.dec); err != nil || got != c.want {
			t.Errorf("binlogTime(%q, %d) = %q, %v; want %q", c.in, c.dec, got, err, c.want)
		}
	}
	datetimes := []struct {
		in   string
		dec  int
		want string
	}{
		{"2024-01-02 03:04:05", 0, "2024-01-02 03:04:05"},
		{"2024-01-02 03:04:05.500000", 3, "2024-01-02 03:04:05.500"},
		{"0000-00-00 00:00:00.000", 3, "0000-00-00 00:00:00.000"},
		{"0000-00-00 00:00:00", 0, "0000-00-00 00:00:00"},
		{"2024-02-30 10:00:00.1", 1, "2024-02-30 10:00:00.1"},
	}
	for _, c := range datetimes {
		if got, err := binlogDatetime(c.in, c.dec); err != nil || got != c.want {
			t.Errorf("binlogDatetime(%q, %d) = %q, %v; want %q", c.in, c.dec, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "10:00", "2024-01-02T03:04:05", "1:2:3"} {
		if _, err := binlogTime(bad, 0); err == nil {
			t.Errorf("binlogTime(%q) accepted", bad)
		}
		if _, err := binlogDatetime(bad, 0); err == nil {
			t.Errorf("binlogDatetime(%q) accepted", bad)
		}
	}
}

// keyTable has a key column of every kind a MySQL key can have.
func keyTable(t *testing.T) *snapTable {
	t.Helper()
	str := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	num := func(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: true} }
	cols := []isColumn{
		{name: "i", dataType: "int", columnType: "int(11)"},
		{name: "u", dataType: "bigint", columnType: "bigint(20) unsigned"},
		{name: "d", dataType: "decimal", columnType: "decimal(30,4)", precision: num(30), scale: num(4)},
		{name: "f", dataType: "float", columnType: "float"},
		{name: "g", dataType: "double", columnType: "double"},
		{name: "s", dataType: "varchar", columnType: "varchar(10)", charset: str("latin1"), octets: num(10)},
		{name: "b", dataType: "binary", columnType: "binary(4)", octets: num(4)},
		{name: "dt", dataType: "datetime", columnType: "datetime(6)", fsp: num(6)},
		{name: "ts", dataType: "timestamp", columnType: "timestamp(3)", fsp: num(3)},
		{name: "tm", dataType: "time", columnType: "time(2)", fsp: num(2)},
		{name: "dy", dataType: "date", columnType: "date"},
		{name: "y", dataType: "year", columnType: "year(4)"},
		{name: "e", dataType: "enum", columnType: "enum('b','a')", charset: str("utf8mb4")},
		{name: "st", dataType: "set", columnType: "set('x','y')", charset: str("utf8mb4")},
		{name: "bt", dataType: "bit", columnType: "bit(64)", precision: num(64)},
		{name: "uu", dataType: "uuid", columnType: "uuid"},
	}
	for i := range cols {
		cols[i].key = true
	}
	s := &Source{charset: newCharsets()}
	tm, ext, err := s.tableMapOf(t.Context(), nil, "db", "k", cols)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := describe(tm, s.charset, ext)
	if err != nil {
		t.Fatal(err)
	}
	return &snapTable{table: tb, meta: tm.ColumnMeta}
}

// A last key goes from the server's values to its stored form and back to
// typed query parameters: integers as int64/uint64 (never strings, which
// MySQL would compare as doubles), FLOAT as its float32 widened, decimals
// as text for a cast, bytes as bytes, enum, set and BIT as their numbers.
func TestSnapshotKeyRoundTrip(t *testing.T) {
	tb := keyTable(t)
	// As go-sql-driver returns them in the binary protocol.
	server := []any{int64(-7), []byte("18446744073709551615"), []byte("-12345678901234567890.0100"), float32(0.1), 1.0 / 3,
		[]byte("caf\xe9"), []byte{1, 0, 0, 0}, []byte("2024-01-02 03:04:05.000001"), []byte("2024-02-29 13:14:15.120"),
		[]byte("-12:34:56.70"), []byte("0000-00-00"), int64(0), []byte("a"), []byte("x,y"), []byte{0xff, 0, 0, 0, 0, 0, 0, 1},
		[]byte("00112233-4455-6677-8899-aabbccddeeff")}
	row, err := tb.row(server)
	if err != nil {
		t.Fatal(err)
	}
	var last []snapshot.KeyValue
	var key []string
	for i := range server {
		kv, err := tb.keyValue(i, server[i], row[i])
		if err != nil {
			t.Fatal(err)
		}
		last = append(last, kv)
		key = append(key, kv.Column)
	}
	wantText := []string{"-7", "18446744073709551615", "-12345678901234567890.0100", "0.1", "0.3333333333333333", "café", "AQAAAA==",
		"2024-01-02 03:04:05.000001", "2024-02-29 13:14:15.120", "-12:34:56.70", "0000-00-00", "0", "2", "3", "18374686479671623681",
		"00112233-4455-6677-8899-aabbccddeeff"}
	for i, kv := range last {
		if kv.Text != wantText[i] || kv.Kind != tb.schema.Columns[i].Kind {
			t.Errorf("key %s: %s %q, want %s %q", kv.Column, kv.Kind, kv.Text, tb.schema.Columns[i].Kind, wantText[i])
		}
	}
	// Through the stored form.
	text, err := snapshot.Progress{Table: "db.k", Snapshot: "initial", State: snapshot.StateRunning, LastKey: last, Rows: 1, Chunks: 1}.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	p, err := snapshot.ParseProgress(text)
	if err != nil {
		t.Fatal(err)
	}
	args, err := keyArgs(tb.schema, key, p.LastKey)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(-7), uint64(18446744073709551615), "-12345678901234567890.0100", float64(float32(0.1)), 1.0 / 3,
		"café", []byte{1, 0, 0, 0}, "2024-01-02 03:04:05.000001", "2024-02-29 13:14:15.120", "-12:34:56.70", "0000-00-00",
		int64(0), uint64(2), uint64(3), uint64(18374686479671623681), "00112233-4455-6677-8899-aabbccddeeff"}
	for i := range want {
		if !reflect.DeepEqual(args[i], want[i]) {
			t.Errorf("argument %s: %T %#v, want %T %#v", key[i], args[i], args[i], want[i], want[i])
		}
	}
	casts, err := keyCasts(tb.schema, key)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range casts {
		if w := map[string]string{"d": "DECIMAL(30,4)"}[key[i]]; c != w {
			t.Errorf("cast of %s: %q, want %q", key[i], c, w)
		}
	}

	// A stored key that does not fit the table is refused, not guessed at.
	for name, mutate := range map[string]func([]snapshot.KeyValue) []snapshot.KeyValue{
		"other column": func(l []snapshot.KeyValue) []snapshot.KeyValue { l[0].Column = "x"; return l },
		"other kind":   func(l []snapshot.KeyValue) []snapshot.KeyValue { l[0].Kind = schema.KindString; return l },
		"short":        func(l []snapshot.KeyValue) []snapshot.KeyValue { return l[:3] },
		"bad int":      func(l []snapshot.KeyValue) []snapshot.KeyValue { l[0].Text = "1.5"; return l },
		"bad base64":   func(l []snapshot.KeyValue) []snapshot.KeyValue { l[6].Text = "!"; return l },
	} {
		l := mutate(append([]snapshot.KeyValue(nil), last...))
		if _, err := keyArgs(tb.schema, key, l); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// An enum key's parameter is its index: ORDER BY orders enums by index
// ('b' before 'a' here), and a comparison with the member's text would
// compare strings and skip or repeat rows.
func TestSnapshotEnumKeyIsIndex(t *testing.T) {
	tb := keyTable(t)
	e := tb.schema.Column("e")
	kv, err := tb.keyValue(e, []byte("b"), "b")
	if err != nil || kv.Text != "1" {
		t.Fatalf("enum 'b': %q, %v; want index 1", kv.Text, err)
	}
}

func TestPositionAtOrAfter(t *testing.T) {
	at := FilePosition("binlog.999999", 1000)
	maria, err := ParsePosition("mariadb-gtid:0-1-42;binlog.999999:1000")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		p    Position
		want bool
	}{
		{FilePosition("binlog.999999", 999), false},
		{FilePosition("binlog.999999", 1000), true},
		{FilePosition("binlog.999999", 1001), true},
		{FilePosition("binlog.1000000", 4), true}, // numeric, not text, order
		{FilePosition("binlog.999998", 5000), false},
		{maria, true},
		{maria.withFile("binlog.999999", 10), false},
		{Position{}, false},
	}
	for _, c := range cases {
		if got := c.p.atOrAfter(at); got != c.want {
			t.Errorf("%s atOrAfter %s = %v, want %v", c.p, at, got, c.want)
		}
	}
	if (FilePosition("binlog.000001", 4)).atOrAfter(Position{}) {
		t.Error("a position is after the zero position")
	}
	if !strings.Contains(ErrNoSnapshotPosition.Error(), "binlog_snapshot") {
		t.Error("ErrNoSnapshotPosition does not name the status variables")
	}
}
