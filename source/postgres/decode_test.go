package postgres

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/transform"
)

func TestDecodeText(t *testing.T) {
	cases := []struct {
		name string
		oid  uint32
		text string
		want any
	}{
		{"bool true", oidBool, "t", true},
		{"bool false", oidBool, "f", false},
		{"int8 max", oidInt8, "9223372036854775807", int64(9223372036854775807)},
		{"int2 negative", oidInt2, "-32768", int64(-32768)},
		{"float8", oidFloat8, "1.5", 1.5},
		{"float4 from an old server's long form", oidFloat4, "0.100000001", 0.1},
		{"float NaN stays text", oidFloat8, "NaN", "NaN"},
		{"float Infinity stays text", oidFloat4, "-Infinity", "-Infinity"},
		{"numeric keeps every digit", oidNumeric, "12345678901234567890.000000000001", "12345678901234567890.000000000001"},
		{"numeric NaN", oidNumeric, "NaN", "NaN"},
		{"money under lc_monetary=C", oidMoney, "$1,234.56", "1234.56"},
		{"money negative", oidMoney, "-$92,233,720,368,547,758.08", "-92233720368547758.08"},
		{"money small", oidMoney, "$0.10", "0.10"},
		{"text", oidText, "héllo, world", "héllo, world"},
		{"bytea hex", oidBytea, `\xdeadbeef`, []byte{0xde, 0xad, 0xbe, 0xef}},
		{"jsonb stays JSON", oidJSONB, `{"a": [1, 2]}`, json.RawMessage(`{"a": [1, 2]}`)},
		{"uuid", oidUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"date", oidDate, "2024-02-29", "2024-02-29"},
		{"timestamp micro", oidTimestamp, "2024-02-29 13:14:15.123456", "2024-02-29T13:14:15.123456"},
		{"timestamp whole second", oidTimestamp, "2024-02-29 13:14:15", "2024-02-29T13:14:15"},
		{"timestamp infinity", oidTimestamp, "infinity", "infinity"},
		{"timestamp -infinity", oidTimestamp, "-infinity", "-infinity"},
		{"timestamp BC", oidTimestamp, "0044-03-15 12:00:00.25 BC", "-000043-03-15T12:00:00.25"},
		{"timestamp 1 BC is year 0", oidTimestamp, "0001-12-31 23:59:59 BC", "0000-12-31T23:59:59"},
		{"timestamp year 10000", oidTimestamp, "10000-01-01 00:00:00", "+010000-01-01T00:00:00"},
		{"timestamp largest", oidTimestamp, "294276-12-31 23:59:59.999999", "+294276-12-31T23:59:59.999999"},
		{"timestamptz BC", oidTimestampTZ, "4713-11-24 00:00:00+00 BC", "-004712-11-24T00:00:00Z"},
		{"timestamptz year 10000 with offset", oidTimestampTZ, "10000-01-01 01:00:00+01", "+010000-01-01T00:00:00Z"},
		{"timestamptz infinity", oidTimestampTZ, "infinity", "infinity"},
		{"timestamptz odd offset", oidTimestampTZ, "1900-01-01 00:00:00+00:09:21", "1899-12-31T23:50:39Z"},
		{"date BC", oidDate, "0001-01-01 BC", "0000-01-01"},
		{"date year 10000", oidDate, "10000-02-29", "+010000-02-29"},
		{"date infinity", oidDate, "-infinity", "-infinity"},
		{"timestamptz to UTC", oidTimestampTZ, "2024-02-29 13:14:15.5+00", "2024-02-29T13:14:15.5Z"},
		{"timestamptz offset normalised", oidTimestampTZ, "2024-02-29 13:14:15+05:30", "2024-02-29T07:44:15Z"},
		{"unknown type is text", 628 /* line */, "{1,2,3}", "{1,2,3}"},
		{"user enum is text", 16500, "shipped", "shipped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			col := &schema.Column{Name: "c", TypeID: c.oid, Kind: kindOf(c.oid)}
			got, err := decodeText(col, []byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

func TestDecodeTextErrors(t *testing.T) {
	for _, c := range []struct {
		oid  uint32
		text string
	}{{oidBool, "yes"}, {oidInt4, "1.5"}, {oidBytea, "zz"}, {oidBytea, `\336\255`}, {oidJSON, "{"},
		{oidDate, "2024-02-30"}, {oidDate, "24-01-01"}, {oidTimestamp, "2024-01-01"}, {oidTimestamp, "2024-01-01 25:00:00"},
		{oidTimestampTZ, "2024-01-01 00:00:00"}, {oidTimestamp, "2024-01-01 00:00:00.1234567890"}, {oidMoney, "1,234.56"}, {oidMoney, "€1.234,56"}, {oidMoney, "$"}, {oidMoney, "$1.2.3"}} {
		col := &schema.Column{Name: "c", Type: "x", TypeID: c.oid, Kind: kindOf(c.oid)}
		if v, err := decodeText(col, []byte(c.text)); err == nil {
			t.Errorf("oid %d %q: want error, got %#v", c.oid, c.text, v)
		}
	}
}

func TestDecodeArray(t *testing.T) {
	for _, c := range []struct {
		name string
		oid  uint32
		text string
		want string
	}{
		{"int4", 1007, "{1,2,3}", `[1,2,3]`},
		{"empty", 1007, "{}", `[]`},
		{"null elements", 1016, "{NULL,9223372036854775807}", `[null,9223372036854775807]`},
		{"two dimensions", 1005, "{{1,2},{3,NULL}}", `[[1,2],[3,null]]`},
		{"explicit bounds dropped", 1007, "[0:1]={7,8}", `[7,8]`},
		{"text quoting", 1009, `{plain,"with space","quote\"and\\backslash","NULL",NULL,""}`, `["plain","with space","quote\"and\\backslash","NULL",null,""]`},
		{"html not escaped", 1009, `{"<a&b>"}`, `["<a&b>"]`},
		{"numeric exact", 1231, "{1.10,NaN,-0.000001}", `["1.10","NaN","-0.000001"]`},
		{"float special", 1022, "{1.5,Infinity,-Infinity}", `[1.5,"Infinity","-Infinity"]`},
		{"bool", 1000, "{t,f}", `[true,false]`},
		{"bytea", 1001, `{"\\xdead",NULL}`, `["3q0=",null]`},
		{"timestamptz", 1185, `{"2024-02-29 13:14:15.5+00","0044-03-15 00:00:00+00 BC",infinity}`, `["2024-02-29T13:14:15.5Z","-000043-03-15T00:00:00Z","infinity"]`},
		{"date", 1182, "{2024-02-29,infinity}", `["2024-02-29","infinity"]`},
		{"jsonb", 3807, `{"{\"a\": 1}","[1, 2]"}`, `[{"a":1},[1,2]]`},
		{"uuid", 2951, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", `["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]`},
		{"money", 791, `{"$1,234.56"}`, `["1234.56"]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			col := &schema.Column{Name: "c", Type: "x[]", TypeID: c.oid, Kind: kindOf(c.oid)}
			if col.Kind != schema.KindArray {
				t.Fatalf("kind %v", col.Kind)
			}
			got, err := decodeText(col, []byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			if raw, ok := got.(json.RawMessage); !ok || string(raw) != c.want {
				t.Fatalf("got %s (%T), want %s", got, got, c.want)
			}
		})
	}
	for _, bad := range []string{"{1,2", "1,2}", "{1,x}", `{"unterminated}`, "{1}x", "[0:1]{1}"} {
		col := &schema.Column{Name: "c", Type: "int4[]", TypeID: 1007, Kind: schema.KindArray}
		if v, err := decodeText(col, []byte(bad)); err == nil {
			t.Errorf("%q: want an error, got %s", bad, v)
		}
	}
}

// FuzzDecodeArray: the array parser never panics, and what it accepts is
// valid JSON.
func FuzzDecodeArray(f *testing.F) {
	for _, s := range []string{"{1,2}", "{{1},{2}}", `{"a\"b",NULL}`, "[1:2]={3,4}", "{}", "{,}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		col := &schema.Column{Name: "c", Type: "text[]", TypeID: 1009, Kind: schema.KindArray}
		v, err := decodeText(col, []byte(s))
		if err != nil {
			return
		}
		if raw, ok := v.(json.RawMessage); !ok || !json.Valid(raw) {
			t.Fatalf("%q: got %#v", s, v)
		}
	})
}

func TestDecodeHstoreAndPoint(t *testing.T) {
	h := &schema.Column{Name: "h", Type: "hstore", TypeID: 16999, Kind: schema.KindJSON}
	for text, want := range map[string]string{
		`"a"=>"1", "b"=>NULL`:           `{"a":"1","b":null}`,
		``:                              `{}`,
		`"q\"k"=>"v\\x", "<&>"=>"NULL"`: `{"q\"k":"v\\x","<&>":"NULL"}`,
		`"é"=>"ü", "empty"=>""`:         `{"é":"ü","empty":""}`,
	} {
		got, err := decodeText(h, []byte(text))
		if err != nil || string(got.(json.RawMessage)) != want {
			t.Errorf("hstore %q: got %v, %v; want %s", text, got, err, want)
		}
	}
	for _, bad := range []string{`"a"=>`, `"a"`, `a=>"1"`, `"a"=>"1" "b"=>"2"`} {
		if v, err := decodeText(h, []byte(bad)); err == nil {
			t.Errorf("hstore %q: want an error, got %s", bad, v)
		}
	}
	p := &schema.Column{Name: "p", Type: "point", TypeID: oidPoint, Kind: kindOf(oidPoint)}
	for text, want := range map[string]string{"(1,2)": `{"x":1,"y":2}`, "(-1.5,1e+300)": `{"x":-1.5,"y":1e+300}`, "(NaN,Infinity)": `{"x":"NaN","y":"Infinity"}`} {
		got, err := decodeText(p, []byte(text))
		if err != nil || string(got.(json.RawMessage)) != want {
			t.Errorf("point %q: got %v, %v; want %s", text, got, err, want)
		}
	}
}

// The fast path for plain AD dates and timestamps gives what the full
// parser gives.
func TestTemporalFastPathMatchesParser(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		tm := time.Date(1+rnd.IntN(9999), time.Month(1+rnd.IntN(12)), 1+rnd.IntN(31), rnd.IntN(24), rnd.IntN(60), rnd.IntN(60), rnd.IntN(1000000)*1000, time.UTC)
		text := strings.TrimSuffix(strings.TrimRight(tm.Format("2006-01-02 15:04:05.000000"), "0"), ".")
		slow, _, ok := parsePGTimestamp(text, true, false)
		if !ok {
			t.Fatalf("%q: the parser refuses it", text)
		}
		want := isoYear(slow.Year()) + slow.Format("-01-02T15:04:05.999999999")
		if got, ok := pgTimestamp(text, false); !ok || got != want {
			t.Fatalf("timestamp %q: fast %q, parser %q", text, got, want)
		}
		if got, ok := pgTimestamp(text+"+00", true); !ok || got != want+"Z" {
			t.Fatalf("timestamptz %q: fast %q, parser %q", text, got, want+"Z")
		}
		if got, ok := pgDate(text[:len("2006-01-02")]); !ok || got != want[:10] {
			t.Fatalf("date %q: fast %q, parser %q", text[:10], got, want[:10])
		}
	}
}

func TestDecodeRange(t *testing.T) {
	for _, c := range []struct {
		oid        uint32
		text, want string
	}{
		{3904, "[1,5)", `{"lower":1,"upper":5,"lower_inclusive":true,"upper_inclusive":false}`},
		{3904, "empty", `{"empty":true}`},
		{3926, "(,5]", `{"lower":null,"upper":5,"lower_inclusive":false,"upper_inclusive":true}`},
		{3906, "[1.50,)", `{"lower":"1.50","upper":null,"lower_inclusive":true,"upper_inclusive":false}`},
		{3910, `["2024-01-01 00:00:00+00","2024-02-01 12:00:00.5+00")`, `{"lower":"2024-01-01T00:00:00Z","upper":"2024-02-01T12:00:00.5Z","lower_inclusive":true,"upper_inclusive":false}`},
		{3912, "[2024-01-01,infinity)", `{"lower":"2024-01-01","upper":"infinity","lower_inclusive":true,"upper_inclusive":false}`},
		{3908, `["0044-03-15 00:00:00 BC","2024-01-01 00:00:00")`, `{"lower":"-000043-03-15T00:00:00","upper":"2024-01-01T00:00:00","lower_inclusive":true,"upper_inclusive":false}`},
	} {
		col := &schema.Column{Name: "r", TypeID: c.oid, Kind: kindOf(c.oid)}
		got, err := decodeText(col, []byte(c.text))
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if string(got.(json.RawMessage)) != c.want {
			t.Errorf("%q: got %s, want %s", c.text, got, c.want)
		}
	}
	for _, bad := range []string{"[1,5", "1,5)", "[1)", "[1,2,3)", `["1,5)`, "[x,5)"} {
		col := &schema.Column{Name: "r", TypeID: 3904, Kind: schema.KindJSON}
		if v, err := decodeText(col, []byte(bad)); err == nil {
			t.Errorf("%q: want an error, got %s", bad, v)
		}
	}
}

func TestDecodeMultirange(t *testing.T) {
	for _, c := range []struct {
		oid        uint32
		text, want string
	}{
		{4451, "{}", `[]`},
		{4451, "{[1,3),[5,7)}", `[{"lower":1,"upper":3,"lower_inclusive":true,"upper_inclusive":false},{"lower":5,"upper":7,"lower_inclusive":true,"upper_inclusive":false}]`},
		{4536, "{(,5]}", `[{"lower":null,"upper":5,"lower_inclusive":false,"upper_inclusive":true}]`},
		{4534, `{["2024-01-01 00:00:00+00","2024-02-01 12:00:00.5+00"),["2025-01-01 00:00:00+00",)}`,
			`[{"lower":"2024-01-01T00:00:00Z","upper":"2024-02-01T12:00:00.5Z","lower_inclusive":true,"upper_inclusive":false},{"lower":"2025-01-01T00:00:00Z","upper":null,"lower_inclusive":true,"upper_inclusive":false}]`},
		{4535, "{[2024-01-01,infinity)}", `[{"lower":"2024-01-01","upper":"infinity","lower_inclusive":true,"upper_inclusive":false}]`},
		{4532, "{[1.5,2.25]}", `[{"lower":"1.5","upper":"2.25","lower_inclusive":true,"upper_inclusive":true}]`},
	} {
		col := &schema.Column{Name: "r", TypeID: c.oid, Kind: kindOf(c.oid)}
		got, err := decodeText(col, []byte(c.text))
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if raw, ok := got.(json.RawMessage); !ok || string(raw) != c.want {
			t.Errorf("%q: got %v, want %s", c.text, got, c.want)
		}
	}
	// Text that is not a multirange keeps its text (and the change goes
	// to the dead-letter topic with the reason, as for any value).
	for _, bad := range []string{"{[1,3)", "[1,3)", "{[1,3)[5,7)}", `{["1,3)}`} {
		col := &schema.Column{Name: "r", TypeID: 4451, Kind: schema.KindJSON}
		if v, err := decodeText(col, []byte(bad)); err == nil {
			t.Errorf("%q: want an error, got %s", bad, v)
		}
	}
}

func TestDecodeComposite(t *testing.T) {
	inner := schema.Column{Name: "p", Type: "pair", Kind: schema.KindJSON, Fields: []schema.Column{
		{Name: "a", TypeID: oidInt4, Kind: schema.KindInt}, {Name: "b", TypeID: oidText, Kind: schema.KindString},
	}}
	col := &schema.Column{Name: "c", Type: "item", Kind: schema.KindJSON, Fields: []schema.Column{
		{Name: "n", TypeID: oidInt4, Kind: schema.KindInt},
		{Name: "s", TypeID: oidText, Kind: schema.KindString},
		{Name: "at", TypeID: oidTimestampTZ, Kind: schema.KindTimestampTZ},
		{Name: "tags", TypeID: 1009, Kind: schema.KindArray, Type: "text[]"},
		inner,
	}}
	for _, c := range []struct{ text, want string }{
		{`(1,"a b","2024-02-29 13:14:15.5+00","{x,""y z""}","(2,q)")`, `{"n":1,"s":"a b","at":"2024-02-29T13:14:15.5Z","tags":["x","y z"],"p":{"a":2,"b":"q"}}`},
		{`(,"",,,)`, `{"n":null,"s":"","at":null,"tags":null,"p":null}`},
		{`(-1,"q\"u""o\\te, (x)",,{},"(,)")`, `{"n":-1,"s":"q\"u\"o\\te, (x)","at":null,"tags":[],"p":{"a":null,"b":null}}`},
	} {
		got, err := decodeText(col, []byte(c.text))
		if err != nil {
			t.Errorf("%s: %v", c.text, err)
			continue
		}
		if raw, ok := got.(json.RawMessage); !ok || string(raw) != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.text, got, c.want)
		}
	}
	for _, bad := range []string{"(1,a)", "(1,a,,,,,)", `(1,"a`, "1,a,,,", "(x,a,,,)"} {
		if v, err := decodeText(col, []byte(bad)); err == nil {
			t.Errorf("%q: want an error, got %s", bad, v)
		}
	}
}

func TestDecodeEWKB(t *testing.T) {
	for _, c := range []struct{ typ, text, want string }{
		// POINT(1 2) with SRID 4326, as ST_AsEWKB writes it.
		{"geometry(Point,4326)", "0101000020E6100000000000000000F03F0000000000000040", `{"srid":4326,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA"}`},
		// The same point without an SRID.
		{"geometry", "0101000000000000000000F03F0000000000000040", `{"srid":null,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA"}`},
		// Big-endian, SRID 4326.
		{"geography", "0020000001000010E63FF00000000000004000000000000000", `{"srid":4326,"wkb":"AAAAAAE/8AAAAAAAAEAAAAAAAAAA"}`},
	} {
		col := &schema.Column{Name: "g", Type: c.typ, Kind: schema.KindJSON}
		got, err := decodeText(col, []byte(c.text))
		if err != nil {
			t.Errorf("%s: %v", c.text, err)
			continue
		}
		if raw, ok := got.(json.RawMessage); !ok || string(raw) != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.text, got, c.want)
		}
	}
	for _, bad := range []string{"zz", "01", "0101000020E6"} {
		if v, err := decodeText(&schema.Column{Name: "g", Type: "geometry", Kind: schema.KindJSON}, []byte(bad)); err == nil {
			t.Errorf("%q: want an error, got %s", bad, v)
		}
	}
}

// FuzzDecodeText: no text makes a decoder panic, whatever the column's
// type; what a decoder accepts encodes to valid JSON, in cdc's format and
// (when Debezium's form can hold it) in Debezium's.
func FuzzDecodeText(f *testing.F) {
	docs := pgTypeDocs()
	for i, d := range docs {
		f.Add(i, d.in)
	}
	f.Add(0, "(1,\"a\",)")
	f.Add(0, "{[1,3),[5,7)}")
	f.Fuzz(func(t *testing.T, i int, s string) {
		if i < 0 || i >= len(docs) {
			return
		}
		d := docs[i]
		col := &schema.Column{Name: "c", Type: d.name, TypeID: d.oid, Kind: d.kind, Fields: docFields[d.typ], Nullable: true}
		v, err := decodeText(col, []byte(s))
		if err != nil {
			return
		}
		if out := transform.ValueJSON(v); !json.Valid(out) {
			t.Fatalf("%s %q: invalid JSON %s", d.typ, s, out)
		}
		dbz := &transform.Debezium{Decimal: transform.DecimalPrecise, Binary: transform.BinaryBytes, TimePrecision: transform.TimeAdaptive, BigintUnsigned: transform.BigintLong}
		if out, _, err := dbz.ColumnJSON("postgresql", col, v); err == nil && !json.Valid(out) {
			t.Fatalf("%s %q: invalid Debezium JSON %s", d.typ, s, out)
		}
	})
}
