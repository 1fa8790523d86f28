package mysql

import (
	"fmt"
	"strings"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/cdc-go/cdc/internal/docsection"
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/transform"
)

// dbzDoc is one row of docs/debezium-mode.md's MariaDB/MySQL table: a
// column type as the binlog decoder names it, a binlog value, and what
// events.format: debezium writes for it. The test converts and encodes
// each example, so the document follows the code.
type dbzDoc struct {
	typ      string // Column.Type, as nativeType names it
	col      column
	kind     schema.Kind
	nullable bool
	in       any
	note     string
}

func myDebeziumDocs() []dbzDoc {
	utf8 := column{charset: "utf8mb4"}
	return []dbzDoc{
		{"tinyint", column{}, schema.KindInt, true, int64(-128), "int16 (tinyint(1) too: the binlog has no display width)"},
		{"smallint unsigned", column{}, schema.KindUint, true, uint64(65535), ""},
		{"int unsigned", column{}, schema.KindUint, true, uint64(4294967295), ""},
		{"bigint unsigned", column{}, schema.KindUint, true, uint64(9223372036854775807), "above 2^63-1 the change goes to the dead-letter topic (Debezium wraps it negative); `bigint_unsigned_handling_mode: precise` makes it a Decimal"},
		{"float", column{}, schema.KindFloat, true, float32(0.1), ""},
		{"double", column{}, schema.KindFloat, true, 1.5e300, ""},
		{"decimal(20,6)", column{}, schema.KindDecimal, true, "123.456000", "base64 of the unscaled value"},
		{"varchar(20)", utf8, schema.KindString, true, "héllo 😀", "all text types, from the column's charset"},
		{"binary(4)", column{charset: "binary"}, schema.KindBytes, true, []byte{0xde, 0xad, 0, 0}, "padded to n bytes; also varbinary, blob"},
		{"bit(1)", column{length: 1}, schema.KindBits, true, int64(1), ""},
		{"bit(10)", column{length: 10}, schema.KindBits, true, int64(513), "little-endian, ⌈n/8⌉ bytes"},
		{"enum('new','paid')", column{values: []string{"new", "paid"}}, schema.KindEnum, true, int64(2), ""},
		{"set('a','b','c')", column{values: []string{"a", "b", "c"}}, schema.KindSet, true, int64(5), ""},
		{"json", column{json: true, charset: "utf8mb4", cs: newCharsets()}, schema.KindJSON, true, []byte(`{"a": [1, 2.5]}`), "MariaDB's JSON too (Debezium's MariaDB connector sends it without the Json name)"},
		{"uuid", column{ext: extUUID, length: 16}, schema.KindUUID, true, []byte{0x6c, 0xcd, 0x78, 0x0c, 0xba, 0xba, 0x10, 0x26, 0x95, 0x64, 0x5b, 0x8c, 0x65, 0x60, 0x24, 0xdb}, "MariaDB"},
		{"inet6", column{ext: extInet6, length: 16}, schema.KindString, true, []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "MariaDB inet4, inet6 (Debezium's MariaDB connector fails on them)"},
		{"year", column{}, schema.KindInt, true, int64(2024), ""},
		{"date", column{}, schema.KindDate, true, "2024-02-29", "days since 1970-01-01"},
		{"date", column{}, schema.KindDate, true, "0000-00-00", "zero and invalid dates: null, or the epoch in a NOT NULL column"},
		{"datetime", column{}, schema.KindTimestamp, true, "1000-01-01 00:00:00", "milliseconds since the epoch for datetime(0..3)"},
		{"datetime(6)", column{}, schema.KindTimestamp, true, "9999-12-31 23:59:59.999999", "microseconds for datetime(4..6)"},
		{"timestamp(6)", column{}, schema.KindTimestampTZ, true, "1970-01-01 00:00:01", "UTC, the fraction to the column's precision"},
		{"time(3)", column{typ: gomysql.MYSQL_TYPE_TIME2, fsp: 3}, schema.KindTime, true, "-838:59:59", "microseconds, negative and past 24 h too (`time_precision_mode: connect` refuses those)"},
		{"point", column{geometry: true}, schema.KindJSON, true,
			[]byte{0xe6, 0x10, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40}, "other geometries: io.debezium.data.geometry.Geometry {wkb, srid}"},
	}
}

func TestDebeziumDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("| MariaDB / MySQL type | binlog value (go-mysql) | Debezium-mode value | Connect schema | notes |\n| --- | --- | --- | --- | --- |\n")
	d := &transform.Debezium{Decimal: transform.DecimalPrecise, Binary: transform.BinaryBytes, TimePrecision: transform.TimeAdaptiveMicros, BigintUnsigned: transform.BigintLong}
	for _, doc := range myDebeziumDocs() {
		if doc.col.cs == nil {
			doc.col.cs = newCharsets()
		}
		v, err := convert(&doc.col, doc.kind, doc.in)
		if err != nil {
			t.Errorf("%s %#v: %v", doc.typ, doc.in, err)
			continue
		}
		col := &schema.Column{Name: "c", Type: doc.typ, Kind: doc.kind, Nullable: doc.nullable, Values: doc.col.values}
		value, sch, err := d.ColumnJSON("mariadb", col, v)
		if err != nil {
			t.Errorf("%s %#v: %v", doc.typ, doc.in, err)
			continue
		}
		in := fmt.Sprintf("%v", doc.in)
		switch x := doc.in.(type) {
		case []byte:
			in = fmt.Sprintf("0x%x", x)
		case string:
			in = fmt.Sprintf("%q", x)
		}
		fmt.Fprintf(&b, "| %s | `%s` | `%s` | `%s` | %s |\n", doc.typ, docsection.Cell(in), docsection.Cell(string(value)), docsection.Cell(string(sch)), doc.note)
	}
	docsection.Check(t, "../../docs/debezium-mode.md", "mysql", b.String(), *updateDoc, "go test ./source/mysql/ -run TestDebeziumDoc -update-doc")
}
