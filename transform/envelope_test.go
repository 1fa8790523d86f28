package transform

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

var update = flag.Bool("update", false, "rewrite golden files")

type lsn uint64

func (l lsn) MarshalText() ([]byte, error) { return []byte(l.String()), nil }
func (l lsn) String() string               { return "0/16B3748" }

var orders = &schema.Table{Namespace: "public", Name: "orders", Columns: []schema.Column{
	{Name: "id", Type: "bigint", Kind: schema.KindInt, Key: true},
	{Name: "status", Type: "text", Kind: schema.KindString, Nullable: true},
	{Name: "amount", Type: "numeric(10,2)", Kind: schema.KindDecimal, Nullable: true},
	{Name: "meta", Type: "jsonb", Kind: schema.KindJSON, Nullable: true},
	{Name: "raw", Type: "bytea", Kind: schema.KindBytes, Nullable: true},
	{Name: "note", Type: "text", Kind: schema.KindString, Nullable: true},
}}

func testRouter() *Tables {
	return &Tables{
		Envelope:   Envelope{Connector: "postgresql", Name: "shop", Version: "test", Now: func() time.Time { return time.UnixMilli(1700000000123) }},
		Prefix:     "shop",
		Tombstones: true,
	}
}

func change(op source.Op, before, after []any) *source.Change {
	return &source.Change{
		Op: op, Table: orders, Before: before, After: after,
		Tx:   source.Tx{ID: "571", Order: 3, TableOrder: 2, CommitTime: time.UnixMilli(1700000000000)},
		Pos:  lsn(0),
		Meta: source.MetaOf(map[string]any{"db": "shop", "lsn": uint64(23803720), "txId": int64(571)}),
	}
}

// Each case pins the exact bytes of the records one change produces.
func TestRouteGolden(t *testing.T) {
	row1 := []any{int64(1), "new", "12.50", json.RawMessage(`{"tags":["a"]}`), []byte{0xde, 0xad}, "line\n\"quoted\" \x01 ü \xff"}
	row1paid := []any{int64(1), "paid", "12.50", nil, nil, schema.Unavailable{}}
	row7 := []any{int64(7), "paid", "12.50", nil, nil, nil}
	cases := []struct {
		name string
		ch   *source.Change
	}{
		{"insert", change(source.OpCreate, nil, row1)},
		{"update", change(source.OpUpdate, nil, row1paid)},
		{"update_key_change", change(source.OpUpdate, []any{int64(1), nil, nil, nil, nil, nil}, row7)},
		{"delete", change(source.OpDelete, row1, nil)},
		{"truncate", change(source.OpTruncate, nil, nil)},
		{"message", &source.Change{Op: source.OpMessage, Tx: source.Tx{ID: "572", Order: 1, CommitTime: time.UnixMilli(1700000000000)},
			Message: &source.LogicalMessage{Prefix: "outbox", Content: []byte(`{"x":1}`)}, Meta: source.MetaOf(map[string]any{"db": "shop"})}},
	}
	dbz := testRouter()
	dbz.Envelope.Debezium = defaultDebezium("postgresql")
	dbz.Envelope.SchemaInPayload = true
	for _, format := range []struct {
		prefix string
		r      *Tables
	}{{"", testRouter()}, {"debezium_", dbz}} {
		for _, c := range cases {
			t.Run(format.prefix+c.name, func(t *testing.T) { checkGolden(t, format.r, format.prefix+c.name, c.ch) })
		}
	}
}

// checkGolden compares the records r makes of ch with testdata/name.golden.
func checkGolden(t *testing.T, r *Tables, name string, ch *source.Change) {
	t.Helper()
	var got bytes.Buffer
	for _, rec := range r.recs(ch) {
		got.WriteString("topic: " + rec.Topic + "\nkey: " + string(rec.Key) + "\n")
		for _, h := range rec.Headers {
			got.WriteString("header: " + h.Key + "=" + string(h.Value) + "\n")
		}
		got.WriteString("value: ")
		if rec.Value == nil {
			got.WriteString("<tombstone>")
		} else {
			if !json.Valid(rec.Value) {
				t.Errorf("value is not valid JSON: %s", rec.Value)
			}
			got.Write(rec.Value)
		}
		got.WriteString("\n\n")
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./transform -update to create)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("records changed:\n got:\n%s\nwant:\n%s", got.Bytes(), want)
	}
}

func TestKeyless(t *testing.T) {
	tbl := &schema.Table{Namespace: "public", Name: "notes", Columns: []schema.Column{{Name: "body", Kind: schema.KindString}}}
	ch := &source.Change{Op: source.OpDelete, Table: tbl, Before: []any{"x"}}
	recs := testRouter().recs(ch)
	if len(recs) != 1 || recs[0].Key != nil {
		t.Fatalf("a delete on a keyless table is one record with a null key and no tombstone, got %+v", recs)
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	long := strings.Repeat("plain ascii ", 4) // past plainPrefix's words
	for _, s := range []string{"", "plain", "q\"b\\s", "\x00\x1f\x7f", "ü€𝄞", "\xff\xfe", "a\u2028b\u2029c", "<&>",
		long, long + "\"", long + "ü" + long, "12345678\\1234567\n", long + "\xff" + long, long[:15] + "\x7f\x1f"} {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want := string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
		if !sameModuloReplacement(back, want) {
			t.Errorf("%q decoded to %q, want %q", s, back, want)
		}
	}
}

// plainPrefix must stop at the word holding the first byte that needs
// escaping or a UTF-8 check, wherever it sits and whatever it is.
func TestPlainPrefix(t *testing.T) {
	for c := range 256 {
		plain := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
		for p := range 24 {
			b := []byte(strings.Repeat("a", 27))
			b[p] = byte(c)
			want := 24
			if !plain {
				want = p / 8 * 8
			}
			if got := plainPrefix(string(b)); got != want {
				t.Fatalf("byte %#x at %d: plainPrefix %d, want %d", c, p, got, want)
			}
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("hello")
	f.Add("a fairly long plain string with \"quotes\" and \\ in it, ü, \x01")
	f.Add("\xff\x00\"")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Fatalf("%q: invalid JSON: %v", s, err)
		}
		// ToValidUTF8 folds a run of invalid bytes into one U+FFFD, we
		// replace each byte: compare with runs folded.
		if want := string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD"))); !sameModuloReplacement(back, want) {
			t.Fatalf("%q decoded to %q, want %q", s, back, want)
		}
	})
}

// sameModuloReplacement compares two strings treating runs of U+FFFD as one.
func sameModuloReplacement(a, b string) bool {
	fold := func(s string) string {
		var out []rune
		for _, r := range s {
			if r == '\uFFFD' && len(out) > 0 && out[len(out)-1] == '\uFFFD' {
				continue
			}
			out = append(out, r)
		}
		return string(out)
	}
	return fold(a) == fold(b)
}

// With SchemaInPayload the value is a JsonConverter envelope: a Connect
// schema whose row fields match the payload's columns, and JSON columns as
// strings.
func TestSchemaInPayload(t *testing.T) {
	r := testRouter()
	r.Envelope.SchemaInPayload = true
	row := []any{int64(1), "new", "12.50", json.RawMessage(`{"tags":["a"]}`), []byte{0xde, 0xad}, nil}
	recs := r.recs(change(source.OpCreate, nil, row))
	path := filepath.Join("testdata", "insert_schema_in_payload.golden")
	if *update {
		os.WriteFile(path, recs[0].Value, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(recs[0].Value, want) {
		t.Errorf("value changed:\n got %s\nwant %s", recs[0].Value, want)
	}
	var v struct {
		Schema struct {
			Fields []struct {
				Field  string `json:"field"`
				Fields []struct {
					Field string `json:"field"`
					Type  string `json:"type"`
				} `json:"fields"`
			} `json:"fields"`
		} `json:"schema"`
		Payload struct {
			After map[string]any `json:"after"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(recs[0].Value, &v); err != nil {
		t.Fatal(err)
	}
	after := v.Schema.Fields[1]
	if after.Field != "after" || len(after.Fields) != len(orders.Columns) {
		t.Fatalf("after schema %+v", after)
	}
	for i, f := range after.Fields {
		if f.Field != orders.Columns[i].Name {
			t.Errorf("schema field %d is %q, column is %q", i, f.Field, orders.Columns[i].Name)
		}
		if _, ok := v.Payload.After[f.Field]; !ok {
			t.Errorf("payload lacks %q", f.Field)
		}
	}
	if s, ok := v.Payload.After["meta"].(string); !ok || s != `{"tags":["a"]}` {
		t.Errorf("json column in payload: %#v, want a string", v.Payload.After["meta"])
	}
}

// recs is records for changes that cannot fail to encode.
func (r *Tables) recs(ch *source.Change) []Record {
	out, err := r.records(ch)
	if err != nil {
		panic(err)
	}
	return out
}
