package mysql

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/transform"
)

// orderTableMap is a table map as MariaDB writes it with
// binlog_row_metadata=FULL for:
//
//	CREATE TABLE shop.orders (id bigint unsigned PRIMARY KEY, status enum('new','paid') NOT NULL,
//	  tags set('a','b','c'), note varchar(40) CHARACTER SET latin1, body text, raw varbinary(8),
//	  amount decimal(10,2), at timestamp(3), day date, flags bit(4), n tinyint)
func orderTableMap() *replication.TableMapEvent {
	names := []string{"id", "status", "tags", "note", "body", "raw", "amount", "at", "day", "flags", "n"}
	tm := &replication.TableMapEvent{
		TableID: 42, Schema: []byte("shop"), Table: []byte("orders"), ColumnCount: uint64(len(names)),
		ColumnType: []byte{
			gomysql.MYSQL_TYPE_LONGLONG, gomysql.MYSQL_TYPE_STRING, gomysql.MYSQL_TYPE_STRING, gomysql.MYSQL_TYPE_VARCHAR,
			gomysql.MYSQL_TYPE_BLOB, gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_NEWDECIMAL, gomysql.MYSQL_TYPE_TIMESTAMP2,
			gomysql.MYSQL_TYPE_DATE, gomysql.MYSQL_TYPE_BIT, gomysql.MYSQL_TYPE_TINY,
		},
		ColumnMeta: []uint16{
			0, uint16(gomysql.MYSQL_TYPE_ENUM)<<8 | 1, uint16(gomysql.MYSQL_TYPE_SET)<<8 | 1, 40,
			2, 8, 10<<8 | 2, 3,
			0, 0<<8 | 4, 0,
		},
		// Every column nullable except id and status (bits 0 and 1 clear).
		NullBitmap: []byte{0xfc, 0x07},
		// Numeric columns in order: id (unsigned), amount, n.
		SignednessBitmap: []byte{0x80},
		// Character columns: note, body, raw: latin1, utf8mb4, binary. Enum/set: utf8mb4.
		ColumnCharset:        []uint64{8, 45, 63},
		EnumSetColumnCharset: []uint64{45, 45},
		EnumStrValue:         [][][]byte{{[]byte("new"), []byte("paid")}},
		SetStrValue:          [][][]byte{{[]byte("a"), []byte("b"), []byte("c")}},
		PrimaryKey:           []uint64{0},
	}
	for _, n := range names {
		tm.ColumnName = append(tm.ColumnName, []byte(n))
	}
	return tm
}

func TestDescribe(t *testing.T) {
	tb, err := describe(orderTableMap(), newCharsets(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "shop.orders(id bigint unsigned key, status enum('new','paid'), tags set('a','b','c'), note varchar(40), body text, raw varbinary(8), amount decimal(10,2), at timestamp(3), day date, flags bit(4), n tinyint)"
	if got := tb.schema.String(); got != want {
		t.Errorf("schema\n got %s\nwant %s", got, want)
	}
	kinds := []schema.Kind{schema.KindUint, schema.KindEnum, schema.KindSet, schema.KindString, schema.KindString, schema.KindBytes,
		schema.KindDecimal, schema.KindTimestampTZ, schema.KindDate, schema.KindBits, schema.KindInt}
	for i, k := range kinds {
		if c := tb.schema.Columns[i]; c.Kind != k {
			t.Errorf("column %s: kind %s, want %s", c.Name, c.Kind, k)
		}
	}
	if c := tb.schema.Columns; c[0].Nullable || c[1].Nullable || !c[2].Nullable {
		t.Errorf("nullability: id %v, status %v, tags %v", c[0].Nullable, c[1].Nullable, c[2].Nullable)
	}
	if v := tb.schema.Columns[1].Values; !reflect.DeepEqual(v, []string{"new", "paid"}) {
		t.Errorf("enum values %v", v)
	}
}

// A latin1 enum's members arrive in latin1: the schema has them in UTF-8.
func TestDescribeLatin1Members(t *testing.T) {
	tm := orderTableMap()
	tm.EnumSetColumnCharset = []uint64{8, 45} // status latin1, tags utf8mb4
	tm.EnumStrValue = [][][]byte{{[]byte("new"), []byte("pa\xefd")}}
	tb, err := describe(tm, newCharsets(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := tb.schema.Columns[1]; c.Type != "enum('new','païd')" || !reflect.DeepEqual(c.Values, []string{"new", "païd"}) {
		t.Errorf("status: type %s, values %q", c.Type, c.Values)
	}
}

// Without binlog_row_metadata=FULL a table map has no column names: the
// error must say how to fix the server.
func TestDescribeWithoutColumnNames(t *testing.T) {
	tm := orderTableMap()
	tm.ColumnName = nil
	_, err := describe(tm, newCharsets(), nil)
	if !errors.Is(err, errNoColumnNames) || !strings.Contains(err.Error(), "SET GLOBAL binlog_row_metadata = 'FULL'") {
		t.Fatalf("got %v", err)
	}
}

// Rows decode into the value types of package schema; a value that cannot
// be converted keeps its raw text and is reported, and the rest of the row
// still converts.
func TestRowValues(t *testing.T) {
	tb, err := describe(orderTableMap(), newCharsets(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// As go-mysql decodes them (TimestampStringLocation UTC, ParseTime off).
	raw := []any{uint64(18446744073709551615), int64(2), int64(5), "caf\xe9", []byte("héllo"), "\x00\xff",
		"-12.50", "2024-02-29 13:14:15.123", "2024-03-01", int64(5), int8(-3)}
	got, err := tb.row(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{uint64(18446744073709551615), "paid", []string{"a", "c"}, "café", "héllo", []byte{0, 0xff},
		"-12.50", "2024-02-29T13:14:15.123Z", "2024-03-01", "0101", int64(-3)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row\n got %#v\nwant %#v", got, want)
	}

	raw[1] = int64(7) // enum index past its members
	raw[3] = nil
	got, err = tb.row(raw, []int{4})
	if err == nil || !strings.Contains(err.Error(), `column "status"`) {
		t.Fatalf("want a conversion error naming the column, got %v", err)
	}
	if got[1] != "7" || got[3] != nil || got[4] != (schema.Unavailable{}) || got[0] != uint64(18446744073709551615) {
		t.Errorf("row after a bad value: %#v", got)
	}
}

func TestConvert(t *testing.T) {
	cases := []struct {
		name string
		col  column
		kind schema.Kind
		in   any
		want any
		err  bool
	}{
		{"tinyint", column{}, schema.KindInt, int8(-128), int64(-128), false},
		{"mediumint", column{}, schema.KindInt, int32(-8388608), int64(-8388608), false},
		{"year", column{}, schema.KindInt, 2024, int64(2024), false},
		{"int unsigned", column{}, schema.KindUint, uint32(4294967295), uint64(4294967295), false},
		{"float keeps its short form", column{}, schema.KindFloat, float32(0.1), 0.1, false},
		{"double", column{}, schema.KindFloat, 1.5e300, 1.5e300, false},
		{"decimal is exact text", column{}, schema.KindDecimal, "12345678901234567890.000001", "12345678901234567890.000001", false},
		{"bit(1)", column{length: 1}, schema.KindBits, int64(1), "1", false},
		{"bit(64)", column{length: 64}, schema.KindBits, int64(-1), strings.Repeat("1", 64), false},
		{"datetime", column{}, schema.KindTimestamp, "2024-01-02 03:04:05.500000", "2024-01-02T03:04:05.5", false},
		{"datetime before 1970", column{}, schema.KindTimestamp, "1969-07-20 20:17:40", "1969-07-20T20:17:40", false},
		{"zero datetime keeps its fields", column{}, schema.KindTimestamp, "0000-00-00 00:00:00", "0000-00-00T00:00:00", false},
		{"invalid datetime keeps its fields", column{}, schema.KindTimestamp, "2024-02-30 10:00:00", "2024-02-30T10:00:00", false},
		{"zero month with a fraction", column{}, schema.KindTimestamp, "2024-00-15 01:02:03.120", "2024-00-15T01:02:03.12", false},
		{"zero fraction", column{}, schema.KindTimestamp, "0000-00-00 00:00:00.000", "0000-00-00T00:00:00", false},
		{"zero timestamp", column{}, schema.KindTimestampTZ, "0000-00-00 00:00:00", "0000-00-00T00:00:00Z", false},
		{"invalid date passes", column{}, schema.KindDate, "2024-02-30", "2024-02-30", false},
		{"garbage datetime", column{}, schema.KindTimestamp, "2024-02-30 10:00", nil, true},
		{"timestamp in UTC", column{}, schema.KindTimestampTZ, "2024-01-02 03:04:05", "2024-01-02T03:04:05Z", false},
		{"bad timestamp", column{}, schema.KindTimestampTZ, "yesterday", nil, true},
		{"time", column{}, schema.KindTime, "838:59:59.000000", "838:59:59.000000", false},
		{"enum empty member", column{values: []string{"a"}}, schema.KindEnum, int64(0), "", false},
		{"empty set", column{values: []string{"a"}}, schema.KindSet, int64(0), []string{}, false},
		{"set bit without member", column{values: []string{"a"}}, schema.KindSet, int64(2), nil, true},
		// The table map has a latin1 column's members in latin1.
		{"latin1 enum member", column{values: []string{"x", "\xe9", "\x80"}, charset: "latin1", cs: newCharsets()}, schema.KindEnum, int64(3), "€", false},
		{"latin1 set members", column{values: []string{"x", "\xe9", "\x80"}, charset: "latin1", cs: newCharsets()}, schema.KindSet, int64(6), []string{"é", "€"}, false},
		{"enum member not in its charset", column{values: []string{"\xff"}, charset: "utf8mb4", cs: newCharsets()}, schema.KindEnum, int64(1), nil, true},
		{"json", column{}, schema.KindJSON, `{"a":[1,2.5]}`, json.RawMessage(`{"a":[1,2.5]}`), false},
		{"empty json document", column{}, schema.KindJSON, []byte{}, json.RawMessage("null"), false},
		{"partial json", column{}, schema.KindJSON, &replication.JsonDiff{}, nil, true},
		{"utf8mb4 text", column{charset: "utf8mb4"}, schema.KindString, "😀", "😀", false},
		{"invalid utf8", column{charset: "utf8mb4"}, schema.KindString, "\xff", nil, true},
		{"latin1 is cp1252", column{charset: "latin1"}, schema.KindString, "\x80", "€", false},
		{"utf16", column{charset: "utf16"}, schema.KindString, []byte{0, 'h', 0, 'i'}, "hi", false},
		{"unknown charset", column{charset: "unknown(999)"}, schema.KindString, "x", nil, true},
		{"binary string", column{charset: "binary"}, schema.KindBytes, "\x00a", []byte{0, 'a'}, false},
		{"geometry", column{}, schema.KindBytes, []byte{1, 2}, []byte{1, 2}, false},
		{"unknown type", column{}, schema.KindUnknown, []byte("x"), "x", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := convert(&c.col, c.kind, c.in)
			if (err != nil) != c.err {
				t.Fatalf("error %v, want error: %v", err, c.err)
			}
			if !c.err && !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

// An unchanged table map keeps its *schema.Table; a changed one (after an
// ALTER) gets a new one, and rows decode with the map that precedes them.
func TestTableMapCache(t *testing.T) {
	r := &reader{src: &Source{cfg: Config{Tables: []string{"shop.*"}}, charset: newCharsets(), log: slog.New(slog.DiscardHandler)},
		tables: map[uint64]*tableEntry{}, cache: map[string]*cachedTable{}, captured: map[string]bool{}}
	a := orderTableMap()
	if err := r.tableMap(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	first := r.tables[42].table.schema
	b := orderTableMap()
	b.TableID = 43
	if err := r.tableMap(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if r.tables[43].table.schema != first {
		t.Error("an identical table map built a new schema")
	}
	c := orderTableMap()
	c.ColumnName[10] = []byte("renamed")
	if err := r.tableMap(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if s := r.tables[42].table.schema; s == first || s.Columns[10].Name != "renamed" || first.Columns[10].Name != "n" {
		t.Error("a changed table map must give a new schema and leave the old one alone")
	}
	other := orderTableMap()
	other.Schema, other.TableID = []byte("other"), 50
	if err := r.tableMap(context.Background(), other); err != nil || r.tables[50].table != nil {
		t.Errorf("uncaptured table: %v, %v", err, r.tables[50])
	}
}

func TestLeadingWords(t *testing.T) {
	cases := map[string][2]string{
		"BEGIN": {"BEGIN", ""}, "xa start 'x'": {"XA", "START"}, "  rollback to savepoint a": {"ROLLBACK", "TO"},
		"": {"", ""}, "ALTER TABLE t ADD c int": {"ALTER", "TABLE"},
	}
	for in, want := range cases {
		if got := leadingWords(in); got != want {
			t.Errorf("leadingWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// TIME keeps its declared fraction: go-mysql drops it when it is zero.
func TestConvertTimeFraction(t *testing.T) {
	for _, tc := range []struct {
		fsp      int
		in, want string
	}{
		{3, "00:00:00", "00:00:00.000"},
		{2, "-12:34:56", "-12:34:56.00"},
		{2, "-12:34:56.78", "-12:34:56.78"},
		{0, "838:59:59", "838:59:59"},
		{6, "-838:59:59", "-838:59:59.000000"},
	} {
		c := &column{typ: gomysql.MYSQL_TYPE_TIME2, fsp: tc.fsp}
		got, err := convert(c, schema.KindTime, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("time(%d) %q: got %v, %v; want %q", tc.fsp, tc.in, got, err, tc.want)
		}
	}
}

// FuzzConvert: no binlog value of the type go-mysql gives for a column
// makes the converter panic; what it accepts encodes to valid JSON, in
// cdc's format and (when Debezium's form can hold it) in Debezium's.
func FuzzConvert(f *testing.F) {
	docs := myTypeDocs()
	for i, d := range docs {
		switch v := d.in.(type) {
		case string:
			f.Add(i, []byte(v), int64(0))
		case []byte:
			f.Add(i, v, int64(0))
		case int64:
			f.Add(i, []byte(nil), v)
		default:
			f.Add(i, []byte(nil), int64(1))
		}
	}
	f.Fuzz(func(t *testing.T, i int, b []byte, n int64) {
		if i < 0 || i >= len(docs) {
			return
		}
		d := docs[i]
		var in any
		switch d.in.(type) {
		case string:
			in = string(b)
		case []byte:
			in = b
		case int64:
			in = n
		case uint64:
			in = uint64(n)
		case float32:
			in = float32(n)
		case float64:
			in = float64(n) / 3
		default:
			return
		}
		col := d.col
		if col.cs == nil {
			col.cs = newCharsets()
		}
		v, err := convert(&col, d.kind, in)
		if err != nil {
			return
		}
		if out := transform.ValueJSON(v); !json.Valid(out) {
			t.Fatalf("%s %#v: invalid JSON %s", d.typ, in, out)
		}
		dbz := &transform.Debezium{Decimal: transform.DecimalPrecise, Binary: transform.BinaryBytes, TimePrecision: transform.TimeAdaptiveMicros, BigintUnsigned: transform.BigintLong}
		sc := &schema.Column{Name: "c", Type: strings.Fields(d.typ)[0], Kind: d.kind, Nullable: true, Values: col.values}
		if out, _, err := dbz.ColumnJSON("mariadb", sc, v); err == nil && !json.Valid(out) {
			t.Fatalf("%s %#v: invalid Debezium JSON %s", d.typ, in, out)
		}
	})
}
