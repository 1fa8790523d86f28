package postgres

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/internal/docsection"
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/transform"
)

// dbzDoc is one row of docs/debezium-mode.md's Postgres table: a column
// type as format_type names it, a value as pgoutput sends it, and what
// events.format: debezium writes for it. The test decodes and encodes each
// example, so the document follows the code.
type dbzDoc struct {
	typ  string // format_type's name
	oid  uint32
	in   string
	note string
}

func pgDebeziumDocs() []dbzDoc {
	return []dbzDoc{
		{"smallint", oidInt2, "-32768", ""},
		{"integer", oidInt4, "2147483647", ""},
		{"bigint", oidInt8, "-9223372036854775808", "also oid, xid"},
		{"real", oidFloat4, "1.5", `NaN and ±Infinity as "NaN", "Infinity", "-Infinity"`},
		{"double precision", oidFloat8, "-Infinity", ""},
		{"numeric(12,3)", oidNumeric, "-0.001", "base64 of the unscaled value, big-endian two's complement; NaN and ±Infinity go to the dead-letter topic (Debezium writes null); `decimal_handling_mode: string` or `double` keeps them"},
		{"numeric", oidNumeric, "1.5", "no declared scale: the value's own"},
		{"money", oidMoney, "-$92,233,720,368,547,758.08", "scale 2"},
		{"text", oidText, "héllo", "also varchar(n), char(n) (padded), name, \"char\""},
		{"xml", 142, "<a>1</a>", ""},
		{"bytea", oidBytea, `\xdeadbeef`, "`binary_handling_mode`: base64, base64-url-safe, hex make it a string"},
		{"boolean", oidBool, "t", ""},
		{"jsonb", oidJSONB, `{"a": [1, 2.50]}`, "the server's text, as a string; also json"},
		{"uuid", oidUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", ""},
		{"date", oidDate, "0044-03-15 BC", "days since 1970-01-01 (proleptic Gregorian); ±infinity go to the dead-letter topic (Debezium writes numbers that differ between its snapshot and its stream)"},
		{"time without time zone", oidTime, "24:00:00", "microseconds"},
		{"time(3) without time zone", oidTime, "13:14:15.123", "milliseconds for a declared precision of 3 or less (`time_precision_mode: adaptive`)"},
		{"time with time zone", oidTimeTZ, "13:14:15.5+02", "in UTC"},
		{"timestamp without time zone", oidTimestamp, "2024-02-29 13:14:15.123456", "microseconds since the epoch; ±infinity and values past year 294246 go to the dead-letter topic (Debezium wraps them)"},
		{"timestamp(3) without time zone", oidTimestamp, "4713-11-24 00:00:00 BC", "milliseconds for precision 3 or less"},
		{"timestamp with time zone", oidTimestampTZ, "2024-02-29 13:14:15.5+02", "UTC, the fraction to the column's precision (6 by default), java.time years (`-0043`, `+10000`)"},
		{"timestamp with time zone", oidTimestampTZ, "infinity", ""},
		{"interval", oidInterval, "P1Y2M3DT4H5M6.789S", "microseconds, a month as 30.4375 days"},
		{"bit(1)", oidBit, "1", ""},
		{"bit(5)", oidBit, "10110", "little-endian bytes, without high zero bytes"},
		{"bit varying", oidVarbit, "1011001110", ""},
		{"integer[]", 1007, "{1,NULL,3}", "arrays of one dimension of any type above; multi-dimensional arrays go to the dead-letter topic (Debezium writes nulls)"},
		{"numeric[]", 1231, "{1.5,-2}", ""},
		{"point", oidPoint, "(1.5,-2)", "with its WKB"},
		{"int8range", 3926, "[1,10)", "ranges: the server's text"},
		{"tstzrange", 3910, `["2024-01-01 00:00:00+00",)`, ""},
		{"geometry(Point,4326)", 17100, "0101000020E6100000000000000000F03F0000000000000040", "PostGIS geometry and geography: Debezium's Geometry struct"},
		{"int4multirange", 4451, "{[1,3),[5,7)}", "multiranges: the server's text (Debezium leaves the column out)"},
	}
}

func TestDebeziumDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("| PostgreSQL type | pgoutput sends | Debezium-mode value | Connect schema | notes |\n| --- | --- | --- | --- | --- |\n")
	d := &transform.Debezium{Decimal: transform.DecimalPrecise, Binary: transform.BinaryBytes, TimePrecision: transform.TimeAdaptive, BigintUnsigned: transform.BigintLong}
	for _, doc := range pgDebeziumDocs() {
		kind := kindOf(doc.oid)
		if isPostGIS(doc.typ) {
			kind = schema.KindJSON // as kindOfType finds it in the catalog
		}
		col := &schema.Column{Name: "c", Type: doc.typ, TypeID: doc.oid, Kind: kind, Nullable: true}
		v, err := decodeText(col, []byte(doc.in))
		if err != nil {
			t.Errorf("%s %q: %v", doc.typ, doc.in, err)
			continue
		}
		value, sch, err := d.ColumnJSON("postgresql", col, v)
		if err != nil {
			t.Errorf("%s %q: %v", doc.typ, doc.in, err)
			continue
		}
		fmt.Fprintf(&b, "| %s | `%s` | `%s` | `%s` | %s |\n", doc.typ, docsection.Cell(doc.in), docsection.Cell(string(value)), docsection.Cell(string(sch)), doc.note)
	}
	docsection.Check(t, "../../docs/debezium-mode.md", "postgres", b.String(), *updateDoc, "go test ./source/postgres/ -run TestDebeziumDoc -update-doc")
}
