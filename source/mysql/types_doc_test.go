package mysql

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/cdc-go/cdc/internal/docsection"
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/transform"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the MySQL section of docs/types.md")

// typeDoc is one row of docs/types.md's MariaDB/MySQL table: a column, the
// value go-mysql's binlog decoder gives (the snapshot reader converts its
// values to the same), and what the event carries. The test converts every
// example, so the document cannot drift from the decoder.
type typeDoc struct {
	typ     string
	col     column
	kind    schema.Kind
	in      any
	json    string
	comment string
}

func myTypeDocs() []typeDoc {
	utf8 := column{charset: "utf8mb4"}
	return []typeDoc{
		{"tinyint ... bigint, year", column{}, schema.KindInt, int64(-9223372036854775808), "-9223372036854775808", "number, exact"},
		{"bigint unsigned (and other unsigned)", column{}, schema.KindUint, uint64(18446744073709551615), "18446744073709551615", "number, exact (uint64)"},
		{"float", column{}, schema.KindFloat, float32(0.1), "0.1", "number, the shortest form that reads back the same float"},
		{"double", column{}, schema.KindFloat, 1.5e300, "1.5e+300", "number"},
		{"decimal(p,s)", column{}, schema.KindDecimal, "-12345678901234567890.000001", `"-12345678901234567890.000001"`, "string with every digit"},
		{"char, varchar, text, tinytext ... longtext", utf8, schema.KindString, "héllo 😀", `"héllo 😀"`, "string, converted from the column's charset"},
		{"... CHARACTER SET latin1", column{charset: "latin1"}, schema.KindString, "\x80", `"€"`, "latin1 is MySQL's cp1252, as CONVERT(col USING utf8mb4) reads it"},
		{"binary(n), varbinary, blob", column{charset: "binary"}, schema.KindBytes, []byte{0xde, 0xad, 0, 0}, `"3q0AAA=="`, "base64; binary(n) padded back to n bytes"},
		{"geometry, point, polygon, ...", column{geometry: true}, schema.KindJSON,
			[]byte{0xe6, 0x10, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40},
			`{"srid":4326,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA"}`, "POINT(1 2) with SRID 4326: the SRID and the WKB (base64), as Debezium's Geometry struct"},
		{"bit(n)", column{length: 4}, schema.KindBits, int64(5), `"0101"`, "string of n 0 and 1"},
		{"enum", column{values: []string{"new", "paid"}}, schema.KindEnum, int64(2), `"paid"`, `the label; "" for the invalid value MySQL stores`},
		{"set", column{values: []string{"a", "b", "c"}}, schema.KindSet, int64(5), `["a","c"]`, "array of members"},
		{"json (MySQL)", column{typ: gomysql.MYSQL_TYPE_JSON}, schema.KindJSON, `{"a":[1,2.5]}`, `{"a":[1,2.5]}`, "embedded"},
		{"json (MariaDB: longtext with json_valid)", column{json: true, charset: "utf8mb4", cs: newCharsets()}, schema.KindJSON, []byte(`{"a": [1, 2.5]}`), `{"a": [1, 2.5]}`, "embedded, as written"},
		{"MariaDB uuid", column{ext: extUUID, length: 16}, schema.KindUUID, []byte{0x6c, 0xcd, 0x78, 0x0c, 0xba, 0xba, 0x10, 0x26, 0x95, 0x64, 0x5b, 0x8c, 0x65, 0x60, 0x24, 0xdb}, `"6ccd780c-baba-1026-9564-5b8c656024db"`, "the server's text form"},
		{"MariaDB inet6, inet4", column{ext: extInet4, length: 4}, schema.KindString, []byte{10, 0, 0, 1}, `"10.0.0.1"`, "the server's text form"},
		{"date", column{}, schema.KindDate, "2024-02-29", `"2024-02-29"`, `zero and invalid dates as stored: "0000-00-00"`},
		{"datetime(fsp)", column{}, schema.KindTimestamp, "2024-01-02 03:04:05.500000", `"2024-01-02T03:04:05.5"`, "wall time, fraction without trailing zeros"},
		{"datetime(fsp)", column{}, schema.KindTimestamp, "0000-00-00 00:00:00", `"0000-00-00T00:00:00"`, "zero and invalid datetimes keep their fields"},
		{"timestamp(fsp)", column{}, schema.KindTimestampTZ, "2024-01-02 03:04:05", `"2024-01-02T03:04:05Z"`, "an instant, in UTC"},
		{"time(fsp)", column{typ: gomysql.MYSQL_TYPE_TIME2, fsp: 2}, schema.KindTime, "-838:59:59", `"-838:59:59.00"`, "may be negative and beyond 24 h; always the declared fraction"},
		{"anything else", column{}, schema.KindUnknown, []byte("x"), `"x"`, "the server's text form, and one warning per column in the log"},
	}
}

func TestTypesDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("| MariaDB / MySQL type | binlog value (go-mysql) | event value | Connect schema (`schema_in_payload`) | notes |\n| --- | --- | --- | --- | --- |\n")
	for _, d := range myTypeDocs() {
		if d.col.cs == nil {
			d.col.cs = newCharsets()
		}
		v, err := convert(&d.col, d.kind, d.in)
		if err != nil {
			t.Errorf("%s %#v: %v", d.typ, d.in, err)
			continue
		}
		if got := string(transform.ValueJSON(v)); got != d.json {
			t.Errorf("%s %#v: event value %s, the document says %s", d.typ, d.in, got, d.json)
		}
		typ, name := transform.ConnectType(&schema.Column{Kind: d.kind})
		if name != "" {
			typ += " (" + name + ")"
		}
		in := fmt.Sprintf("%v", d.in)
		switch v := d.in.(type) {
		case []byte:
			in = fmt.Sprintf("0x%x", v)
		case string:
			in = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s | %s |\n", d.typ, docsection.Cell(in), docsection.Cell(d.json), typ, d.comment)
	}
	docsection.Check(t, "../../docs/types.md", "mysql", b.String(), *updateDoc, "go test ./source/mysql/ -run TestTypesDoc -update-doc")
}

// BenchmarkConvertEncode converts and encodes each documented example: the
// per-type cost of a binlog value to its event JSON.
//
//	go test ./source/mysql/ -run XXX -bench ConvertEncode -benchmem
func BenchmarkConvertEncode(b *testing.B) {
	for i, d := range myTypeDocs() {
		if d.col.cs == nil {
			d.col.cs = newCharsets()
		}
		name := strings.Fields(strings.NewReplacer(",", " ", "(", " ", ")", " ").Replace(d.typ))[0]
		b.Run(fmt.Sprintf("%02d_%s", i, name), func(b *testing.B) {
			buf := make([]byte, 0, 256)
			for b.Loop() {
				v, err := convert(&d.col, d.kind, d.in)
				if err != nil {
					b.Fatal(err)
				}
				buf = transform.AppendValue(buf[:0], v)
			}
		})
	}
}
