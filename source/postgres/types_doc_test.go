package postgres

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/internal/docsection"
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/transform"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the Postgres section of docs/types.md")

// typeDoc is one row of docs/types.md's Postgres table: a type, a value as
// pgoutput sends it, and what the event carries. The test decodes every
// example, so the document cannot drift from the decoder.
type typeDoc struct {
	typ     string // as format_type spells it
	oid     uint32
	name    string // Column.Type, when the decoder looks at it (hstore)
	kind    schema.Kind
	in      string // pgoutput's text
	json    string // the event's JSON value
	comment string
}

func pgTypeDocs() []typeDoc {
	k := kindOf
	return []typeDoc{
		{"smallint, integer, bigint", oidInt8, "", k(oidInt8), "-9223372036854775808", "-9223372036854775808", "number, exact (int64)"},
		{"oid, xid", oidXID, "", k(oidXID), "4294967295", "4294967295", "number"},
		{"real, double precision", oidFloat8, "", k(oidFloat8), "0.1", "0.1", "number, the shortest form that reads back the same float (PostgreSQL 12+ prints it so; a longer form from an older server is shortened)"},
		{"real, double precision", oidFloat4, "", k(oidFloat4), "-Infinity", `"-Infinity"`, `"NaN", "Infinity", "-Infinity" as strings`},
		{"numeric", oidNumeric, "", k(oidNumeric), "12345678901234567890.000000000001", `"12345678901234567890.000000000001"`, "string with every digit; also \"NaN\", \"Infinity\", \"-Infinity\""},
		{"money", oidMoney, "", k(oidMoney), "-$92,233,720,368,547,758.08", `"-92233720368547758.08"`, "exact digits, no currency symbol or separators (lc_monetary=C)"},
		{"text, varchar, char(n), name, \"char\", xml", oidText, "", k(oidText), "héllo\n", `"héllo\n"`, "string"},
		{"inet, cidr, macaddr, macaddr8", oidInet, "", k(oidInet), "192.168.0.1/24", `"192.168.0.1/24"`, "string, the server's text form"},
		{"boolean", oidBool, "", k(oidBool), "t", "true", ""},
		{"bytea", oidBytea, "", k(oidBytea), `\xdeadbeef`, `"3q2+7w=="`, "base64"},
		{"json, jsonb", oidJSONB, "", k(oidJSONB), `{"a": [1, 2.50]}`, `{"a": [1, 2.50]}`, "embedded, as the server wrote it"},
		{"uuid", oidUUID, "", k(oidUUID), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`, ""},
		{"date", oidDate, "", k(oidDate), "2024-02-29", `"2024-02-29"`, ""},
		{"date", oidDate, "", k(oidDate), "0044-03-15 BC", `"-000043-03-15"`, "astronomical year (1 BC is 0000), a sign and six digits outside 0000..9999"},
		{"date", oidDate, "", k(oidDate), "infinity", `"infinity"`, `also "-infinity"`},
		{"time, timetz", oidTimeTZ, "", k(oidTimeTZ), "13:14:15.5+02", `"13:14:15.5+02"`, "the server's ISO form"},
		{"timestamp", oidTimestamp, "", k(oidTimestamp), "2024-02-29 13:14:15.123456", `"2024-02-29T13:14:15.123456"`, "wall time, fraction without trailing zeros"},
		{"timestamp", oidTimestamp, "", k(oidTimestamp), "10000-01-01 00:00:00", `"+010000-01-01T00:00:00"`, "years as for date; \"infinity\", \"-infinity\""},
		{"timestamptz", oidTimestampTZ, "", k(oidTimestampTZ), "2024-02-29 13:14:15.5+00", `"2024-02-29T13:14:15.5Z"`, "an instant, in UTC"},
		{"timestamptz", oidTimestampTZ, "", k(oidTimestampTZ), "4713-11-24 00:00:00+00 BC", `"-004712-11-24T00:00:00Z"`, ""},
		{"interval", oidInterval, "", k(oidInterval), "P1DT2H3M4.5S", `"P1DT2H3M4.5S"`, "ISO 8601 (IntervalStyle=iso_8601)"},
		{"bit(n), bit varying", oidVarbit, "", k(oidVarbit), "0101", `"0101"`, "string of 0 and 1"},
		{"arrays of the types above", 1016, "", k(1016), "{{1,NULL},{3,4}}", "[[1,null],[3,4]]", "JSON array of the elements as typed above, nested per dimension; a lower bound other than 1 is not kept"},
		{"point", oidPoint, "", k(oidPoint), "(1.5,-2)", `{"x":1.5,"y":-2}`, ""},
		{"hstore", 17000, "hstore", schema.KindJSON, `"a"=>"1", "b"=>NULL`, `{"a":"1","b":null}`, "JSON object of strings (null for NULL)"},
		{"domains", oidInt4, "", k(oidInt4), "42", "42", "as their base type (read from pg_type); over money or an array: text"},
		{"user enums", 16500, "", schema.KindEnum, "shipped", `"shipped"`, "the label"},
		{"int4range, int8range, numrange, daterange, tsrange, tstzrange", 3910, "", k(3910), `["2024-01-01 00:00:00+00",)`, `{"lower":"2024-01-01T00:00:00Z","upper":null,"lower_inclusive":true,"upper_inclusive":false}`, `bounds typed as the element type, null when unbounded; an empty range is {"empty":true}`},
		{"int4multirange ... tstzmultirange", 4451, "", k(4451), "{[1,3),[5,7)}", `[{"lower":1,"upper":3,"lower_inclusive":true,"upper_inclusive":false},{"lower":5,"upper":7,"lower_inclusive":true,"upper_inclusive":false}]`, "JSON array of its ranges, as above"},
		{"PostGIS geometry, geography", 17100, "geometry(Point,4326)", schema.KindJSON, "0101000020E6100000000000000000F03F0000000000000040", `{"srid":4326,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA"}`, "POINT(1 2) with SRID 4326 (pgoutput sends hex EWKB): the SRID (null when none) and the WKB, as for MySQL"},
		{"composite types", 16600, "", schema.KindJSON, `(1,"a b",)`, `{"n":1,"s":"a b","t":null}`, "JSON object of the attributes (read from the catalog), each typed as above"},
		{"anything else (line, box, tsvector, ...)", 628, "", k(628), "{1,-1,0}", `"{1,-1,0}"`, "the server's text form, and one warning per column in the log"},
	}
}

// docFields are the attributes of the documented composite type.
var docFields = map[string][]schema.Column{"composite types": {
	{Name: "n", TypeID: oidInt4, Kind: schema.KindInt}, {Name: "s", TypeID: oidText, Kind: schema.KindString}, {Name: "t", TypeID: oidText, Kind: schema.KindString},
}}

func TestTypesDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("| PostgreSQL type | pgoutput sends | event value | Connect schema (`schema_in_payload`) | notes |\n| --- | --- | --- | --- | --- |\n")
	for _, d := range pgTypeDocs() {
		col := &schema.Column{Name: "c", Type: d.name, TypeID: d.oid, Kind: d.kind, Fields: docFields[d.typ]}
		v, err := decodeText(col, []byte(d.in))
		if err != nil {
			t.Errorf("%s %q: %v", d.typ, d.in, err)
			continue
		}
		if got := string(transform.ValueJSON(v)); got != d.json {
			t.Errorf("%s %q: event value %s, the document says %s", d.typ, d.in, got, d.json)
		}
		typ, name := transform.ConnectType(col)
		if name != "" {
			typ += " (" + name + ")"
		}
		fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s | %s |\n", d.typ, docsection.Cell(d.in), docsection.Cell(d.json), typ, d.comment)
	}
	docsection.Check(t, "../../docs/types.md", "postgres", b.String(), *updateDoc, "go test ./source/postgres/ -run TestTypesDoc -update-doc")
}

// BenchmarkDecodeEncode decodes and encodes each documented example: the
// per-type cost of a value from pgoutput's text to its event JSON.
//
//	go test ./source/postgres/ -run XXX -bench DecodeEncode -benchmem
func BenchmarkDecodeEncode(b *testing.B) {
	for _, d := range pgTypeDocs() {
		col := &schema.Column{Name: "c", Type: d.name, TypeID: d.oid, Kind: d.kind, Fields: docFields[d.typ]}
		in := []byte(d.in)
		b.Run(benchName(d.typ, d.in), func(b *testing.B) {
			buf := make([]byte, 0, 256)
			for b.Loop() {
				v, err := decodeText(col, in)
				if err != nil {
					b.Fatal(err)
				}
				buf = transform.AppendValue(buf[:0], v)
			}
		})
	}
}

func benchName(typ, in string) string {
	name := strings.Fields(strings.NewReplacer(",", " ", "(", " ", ")", " ", "\"", "").Replace(typ))[0]
	if len(in) > 12 {
		in = in[:12]
	}
	return name + "/" + strings.NewReplacer(" ", "_", "/", "_").Replace(in)
}
