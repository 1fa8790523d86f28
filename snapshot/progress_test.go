package snapshot

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/schema"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// goldenProgress covers every state, a composite key with a value of each
// kind that has a rule of its own, and a one-pass table.
func goldenProgress() []Progress {
	return []Progress{
		{Table: "public.orders", Snapshot: "initial", State: StatePending, Estimate: 100000},
		{Table: "public.orders", Snapshot: "initial", State: StateRunning, Rows: 2048, Chunks: 2, Estimate: 100000,
			LastKey: []KeyValue{{Column: "id", Kind: schema.KindInt, Text: "-2048"}}},
		{Table: "shop.lines", Snapshot: "ondemand-20260314T162653Z", State: StateRunning, Rows: 7, Chunks: 1, Estimate: 9,
			LastKey: []KeyValue{
				{Column: "u", Kind: schema.KindUint, Text: "18446744073709551615"},
				{Column: "d", Kind: schema.KindDecimal, Text: "-12.50"},
				{Column: "b", Kind: schema.KindBytes, Text: "AP8="},
				{Column: "id", Kind: schema.KindUUID, Text: "3e11fa47-71ca-11e1-9e33-c80aa9429562"},
				{Column: "s", Kind: schema.KindString, Text: "Zoë \"quoted\" \\ tab\t"},
				{Column: "at", Kind: schema.KindTimestampTZ, Text: "2024-02-29T13:14:15.123456Z"},
				{Column: "f", Kind: schema.KindFloat, Text: "1e+21"},
				{Column: "ok", Kind: schema.KindBool, Text: "true"},
			}},
		{Table: "public.orders", Snapshot: "initial", State: StateDone, Rows: 100003, Chunks: 98, Estimate: 100000,
			LastKey: []KeyValue{{Column: "id", Kind: schema.KindInt, Text: "100003"}}},
		{Table: "public.events", Snapshot: "initial", State: StateRunning, Rows: 500, Chunks: 1, OnePass: true},
		{Table: "public.events", Snapshot: "initial", State: StateCancelled, Rows: 500, Chunks: 1, OnePass: true},
	}
}

// The stored form outlives versions of this program (a restart resumes from
// it): the golden file pins it, one record per line.
func TestProgressGolden(t *testing.T) {
	var got []byte
	for _, p := range goldenProgress() {
		b, err := p.MarshalText()
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		got = append(append(got, b...), '\n')
	}
	const path = "testdata/progress.golden"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (go test ./snapshot -run %s -update): %v", t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("stored form changed:\n got %s\nwant %s", got, want)
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(want, []byte("\n")), []byte("\n")) {
		back, err := ParseProgress(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if !reflect.DeepEqual(back, goldenProgress()[i]) {
			t.Fatalf("line %d decodes to\n%+v\nwant\n%+v", i+1, back, goldenProgress()[i])
		}
	}
}

func TestParseProgressIgnoresUnknownFields(t *testing.T) {
	p, err := ParseProgress([]byte(`{"table":"s.t","snapshot":"initial","state":"pending","rows":0,"chunks":0,"estimate":3,"added_later":{"x":1}}`))
	if err != nil || p.Estimate != 3 {
		t.Fatalf("%+v, %v", p, err)
	}
}

func TestParseProgressRejects(t *testing.T) {
	const ok = `"table":"s.t","snapshot":"initial"`
	for _, tc := range []struct {
		name, text, want string
	}{
		{"not JSON", `{"table":`, "decoding snapshot progress"},
		{"no table", `{"snapshot":"initial","state":"pending"}`, "table name empty"},
		{"no snapshot id", `{"table":"s.t","state":"pending"}`, "snapshot id empty"},
		{"unknown state", `{` + ok + `,"state":"paused"}`, `unknown state "paused"`},
		{"pending with rows", `{` + ok + `,"state":"pending","rows":3}`, "pending with rows"},
		{"running after chunks without a last key: would restart the table silently", `{` + ok + `,"state":"running","rows":3,"chunks":1}`, "without a last key"},
		{"a last key before a chunk", `{` + ok + `,"state":"running","last_key":[{"column":"id","kind":"int","value":"1"}]}`, "before the first chunk"},
		{"an empty last key", `{` + ok + `,"state":"running","chunks":1,"last_key":[]}`, "without a last key"},
		{"one pass with a last key", `{` + ok + `,"state":"running","chunks":1,"one_pass":true,"last_key":[{"column":"id","kind":"int","value":"1"}]}`, "one-pass table has no last key"},
		{"unknown kind", `{` + ok + `,"state":"running","chunks":1,"last_key":[{"column":"id","kind":"wide","value":"1"}]}`, `unknown column kind "wide"`},
		{"kind unknown", `{` + ok + `,"state":"running","chunks":1,"last_key":[{"column":"id","kind":"unknown","value":"1"}]}`, "unknown kind"},
		{"a key column twice", `{` + ok + `,"state":"running","chunks":1,"last_key":[{"column":"id","kind":"int","value":"1"},{"column":"id","kind":"int","value":"2"}]}`, "listed twice"},
		{"an unnamed key column", `{` + ok + `,"state":"running","chunks":1,"last_key":[{"column":"","kind":"int","value":"1"}]}`, "empty"},
		{"int with a leading zero", key("int", "007"), "without leading zeros"},
		{"int with a plus", key("int", "+7"), "without leading zeros"},
		{"int out of range", key("int", "9223372036854775808"), "decimal integer"},
		{"uint negative", key("uint", "-1"), "decimal integer"},
		{"bool spelled otherwise", key("bool", "TRUE"), "true or false"},
		{"decimal with an exponent", key("decimal", "1e3"), "decimal digits"},
		{"decimal with a leading dot", key("decimal", ".5"), "decimal digits"},
		{"float not in shortest form", key("float", "1.50"), "shortest form"},
		{"bytes not base64", key("bytes", "AP8"), "standard base64"},
		{"bytes in URL base64", key("bytes", "_-8="), "standard base64"},
		{"uuid in upper case", key("uuid", "3E11FA47-71CA-11E1-9E33-C80AA9429562"), "lower-case UUID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProgress([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			// What parsing refuses, encoding refuses too.
			if p, perr := ParseProgress([]byte(tc.text)); perr == nil {
				if _, err := p.MarshalText(); err == nil {
					t.Fatal("encoding accepted it")
				}
			}
		})
	}
}

func key(kind, value string) string {
	return `{"table":"s.t","snapshot":"initial","state":"running","chunks":1,"last_key":[{"column":"k","kind":"` + kind + `","value":"` + value + `"}]}`
}

func TestProgressMarshalRejectsInvalid(t *testing.T) {
	for _, p := range []Progress{
		{},
		{Table: "s.t", Snapshot: "initial", State: "paused"},
		{Table: "s.t", Snapshot: "initial", State: StateRunning, Chunks: 1, LastKey: []KeyValue{{Column: "k", Kind: schema.KindInt, Text: "01"}}},
		{Table: "s.t", Snapshot: "initial", State: StateRunning, Chunks: 1, LastKey: []KeyValue{{Column: "k", Kind: schema.Kind(200), Text: "1"}}},
		{Table: "s.t", Snapshot: "initial", State: StateRunning, Chunks: 1, LastKey: []KeyValue{{Column: "k", Kind: schema.KindString, Text: "\xff"}}},
		{Table: "s.\xff", Snapshot: "initial", State: StatePending},
	} {
		if b, err := p.MarshalText(); err == nil {
			t.Errorf("%+v encoded as %s", p, b)
		}
	}
}

// Whatever ParseProgress accepts encodes, and decodes back to the same
// record with the same bytes: one stored form per record.
func FuzzParseProgress(f *testing.F) {
	for _, p := range goldenProgress() {
		b, _ := p.MarshalText()
		f.Add(b)
	}
	f.Add([]byte(key("decimal", "NaN")))
	f.Add([]byte(key("string", "")))
	f.Add([]byte(`{"table":"s.t","snapshot":"x","state":"done","rows":1,"chunks":1,"estimate":0,"one_pass":true,"extra":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProgress(b)
		if err != nil {
			return
		}
		enc, err := p.MarshalText()
		if err != nil {
			t.Fatalf("accepted %q but cannot encode %+v: %v", b, p, err)
		}
		back, err := ParseProgress(enc)
		if err != nil {
			t.Fatalf("cannot parse own encoding %s: %v", enc, err)
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", p, back)
		}
		again, _ := back.MarshalText()
		if !bytes.Equal(again, enc) {
			t.Fatalf("two encodings of one record:\n%s\n%s", enc, again)
		}
	})
}
