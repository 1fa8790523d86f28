package schema_test

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
	"github.com/cdc-go/cdc/transform"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./schema/ -run %s -update): %v", t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed; if intended, run go test ./schema/ -update\ngot:\n%s", path, got)
	}
}

// everyKind is a table with one column of each Kind.
func everyKind() *schema.Version {
	cols := []schema.Column{
		{Name: "id", Type: "bigint", Kind: schema.KindInt, TypeID: 20, Key: true},
		{Name: "flag", Type: "boolean", Kind: schema.KindBool, Nullable: true},
		{Name: "u", Type: "int unsigned", Kind: schema.KindUint},
		{Name: "f", Type: "double precision", Kind: schema.KindFloat, Nullable: true},
		{Name: "amount", Type: "numeric(10,2)", Kind: schema.KindDecimal, Nullable: true},
		{Name: "name", Type: "text", Kind: schema.KindString},
		{Name: "raw", Type: "bytea", Kind: schema.KindBytes, Nullable: true},
		{Name: "doc", Type: "jsonb", Kind: schema.KindJSON, Nullable: true},
		{Name: "uid", Type: "uuid", Kind: schema.KindUUID, Nullable: true},
		{Name: "day", Type: "date", Kind: schema.KindDate, Nullable: true},
		{Name: "clock", Type: "time without time zone", Kind: schema.KindTime, Nullable: true},
		{Name: "ts", Type: "timestamp without time zone", Kind: schema.KindTimestamp, Nullable: true},
		{Name: "tstz", Type: "timestamp with time zone", Kind: schema.KindTimestampTZ, Nullable: true},
		{Name: "dur", Type: "interval", Kind: schema.KindInterval, Nullable: true},
		{Name: "status", Type: "enum('new','paid')", Kind: schema.KindEnum, Nullable: true, Values: []string{"new", "paid"}},
		{Name: "tags", Type: "set('a','b')", Kind: schema.KindSet, Values: []string{"a", "b"}},
		{Name: "arr", Type: "integer[]", Kind: schema.KindArray, Nullable: true},
		{Name: "bits", Type: "bit(4)", Kind: schema.KindBits, Nullable: true},
		{Name: "geo", Type: "point", Kind: schema.KindUnknown, Nullable: true},
	}
	t := &schema.Table{Namespace: "shop", Name: "every_kind", Columns: cols}
	return &schema.Version{Table: t.ID(), Version: 3, Fingerprint: t.Fingerprint(), Columns: cols,
		Position: "0/16B3748", Time: time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)}
}

func TestRowJSONSchemaGolden(t *testing.T) {
	v := everyKind()
	got := schema.RowJSONSchema(v)
	if !json.Valid(got) {
		t.Fatalf("not JSON:\n%s", got)
	}
	golden(t, "every_kind.row", got)
	golden(t, "every_kind.envelope", schema.EnvelopeJSONSchema(v))
	if !bytes.Equal(got, schema.RowJSONSchema(everyKind())) {
		t.Fatal("schema output is not deterministic")
	}
}

const validRow = `{"id":1,"flag":true,"u":4294967295,"f":1.5,"amount":"-12.50","name":"x","raw":"3q0=","doc":{"a":[1]},
 "uid":"8c8a1c1e-6c1b-4c8e-9c1a-1b1c1d1e1f10","day":"2024-05-01","clock":"10:00:00.5","ts":"2024-05-01T10:00:00.123456",
 "tstz":"2024-05-01T10:00:00Z","dur":"P1DT2H","status":"paid","tags":["a","b"],"arr":[1,2],"bits":"1010","geo":"(1,2)"}`

func TestRowJSONSchemaValidates(t *testing.T) {
	v := everyKind()
	val := newMiniValidator(t, schema.RowJSONSchema(v))
	id := "cdc:shop.every_kind:v3"
	edit := func(col, value string) string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(validRow), &m); err != nil {
			t.Fatal(err)
		}
		if value == "" {
			delete(m, col)
		} else {
			m[col] = json.RawMessage(value)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name  string
		row   string
		valid bool
	}{
		{"every column with a typical value", validRow, true},
		{"nullable columns null", edit("flag", "null"), true},
		{"float NaN as a string (Postgres)", edit("f", `"NaN"`), true},
		{"float +Inf as a string (MySQL)", edit("f", `"+Inf"`), true},
		{"float other string", edit("f", `"1.5"`), false},
		{"decimal NaN (Postgres numeric)", edit("amount", `"NaN"`), true},
		{"decimal not numeric", edit("amount", `"12a"`), false},
		{"decimal as a JSON number", edit("amount", `12.5`), false},
		{"unavailable placeholder in a decimal column", edit("amount", `"__cdc_unavailable_value"`), true},
		{"unavailable placeholder in an int column (MySQL minimal image)", edit("id", `"__cdc_unavailable_value"`), true},
		{"NOT NULL column null", edit("id", "null"), false},
		{"int as a string", edit("id", `"1"`), false},
		{"int with a fraction", edit("id", `1.5`), false},
		{"uint negative", edit("u", `-1`), false},
		{"timestamp with an offset", edit("ts", `"2024-05-01T10:00:00Z"`), false},
		{"timestamp infinity (Postgres)", edit("ts", `"infinity"`), true},
		{"timestamp BC (Postgres)", edit("ts", `"-000043-03-15T12:00:00"`), true},
		{"timestamp year 10000 (Postgres)", edit("ts", `"+010000-01-01T00:00:00"`), true},
		{"array in Postgres's own text", edit("arr", `"{1,2}"`), false},
		{"array nested with null elements", edit("arr", `[[1,null],[3,4]]`), true},
		{"timestamp in Postgres's own BC text", edit("ts", `"0044-03-15 12:00:00 BC"`), false},
		{"timestamp with a five-digit year", edit("ts", `"10000-01-01T00:00:00"`), false},
		{"MySQL zero datetime", edit("ts", `"0000-00-00 00:00:00"`), true},
		{"enum non-member", edit("status", `"shipped"`), false},
		{"enum MySQL invalid member", edit("status", `""`), true},
		{"enum null when nullable", edit("status", `null`), true},
		{"set non-member", edit("tags", `["c"]`), false},
		{"set duplicate", edit("tags", `["a","a"]`), false},
		{"bits not binary", edit("bits", `"102"`), false},
		{"json any value", edit("doc", `"text"`), true},
		{"missing column", edit("geo", ""), false},
		{"extra column", edit("extra", `1`), false},
	}
	for _, tc := range tests {
		errs := val.validate(id, []byte(tc.row))
		if (len(errs) == 0) != tc.valid {
			t.Errorf("%s: valid=%v, errors %q", tc.name, tc.valid, errs)
		}
	}
}

// TestEnvelopeJSONSchemaValidatesEncodedEvents pins the schema against the
// real event encoder (package transform), not against hand-written JSON.
func TestEnvelopeJSONSchemaValidatesEncodedEvents(t *testing.T) {
	v := everyKind()
	env := schema.EnvelopeJSONSchema(v)
	val := newMiniValidator(t, env)
	id := "cdc:shop.every_kind:v3:envelope"
	tab := v.Shape()
	row := []any{int64(1), true, uint64(7), "NaN", "12.50", "line\n", []byte{0xde, 0xad}, json.RawMessage(`{"a":1}`),
		"8c8a1c1e-6c1b-4c8e-9c1a-1b1c1d1e1f10", "2024-05-01", "10:00:00", "2024-05-01T10:00:00.5",
		"2024-05-01T10:00:00Z", "P1D", "new", []string{"a"}, json.RawMessage(`[1,2]`), "0101", "(1,2)"}
	unchanged := append([]any(nil), row...)
	unchanged[5] = schema.Unavailable{}
	unchanged[7] = schema.Unavailable{}
	e := &transform.Envelope{Connector: "postgresql", Name: "shop", Version: "test", Now: func() time.Time { return time.UnixMilli(1) }}
	tx := source.Tx{ID: "571", Order: 1, TableOrder: 1, CommitTime: time.UnixMilli(0)}
	tests := []struct {
		name  string
		ch    source.Change
		valid bool
	}{
		{"insert", source.Change{Op: source.OpCreate, Table: tab, After: row, Tx: tx}, true},
		{"update with unchanged TOAST values", source.Change{Op: source.OpUpdate, Table: tab, Before: row, After: unchanged, Tx: tx}, true},
		{"delete", source.Change{Op: source.OpDelete, Table: tab, Before: row, Tx: tx, Meta: source.MetaOf(map[string]any{"lsn": int64(5)})}, true},
		{"event of another version", source.Change{Op: source.OpCreate, Table: func() *schema.Table { x := v.Shape(); x.Version = 2; return x }(), After: row, Tx: tx}, false},
		{"row of another shape", source.Change{Op: source.OpCreate, Table: &schema.Table{Namespace: "shop", Name: "every_kind", Version: 3,
			Columns: v.Columns[:1]}, After: row[:1], Tx: tx}, false},
	}
	for _, tc := range tests {
		b := e.Value(&tc.ch)
		errs := val.validate(id, b)
		if (len(errs) == 0) != tc.valid {
			t.Errorf("%s: valid=%v, errors %q\n%s", tc.name, tc.valid, errs, b)
		}
	}
	if !strings.Contains(string(env), `"$ref": "cdc:shop.every_kind:v3"`) {
		t.Error("envelope does not reference the row schema by its $id")
	}
}

// money is a decimal like numeric: the Postgres source sends "-1234.56",
// never the server's "-$1,234.56".
func TestRowJSONSchemaMoney(t *testing.T) {
	cols := []schema.Column{{Name: "cash", Type: "money", Kind: schema.KindDecimal, TypeID: 790}}
	tab := &schema.Table{Namespace: "shop", Name: "till", Columns: cols}
	v := &schema.Version{Table: tab.ID(), Version: 1, Fingerprint: tab.Fingerprint(), Columns: cols}
	val := newMiniValidator(t, schema.RowJSONSchema(v))
	for row, valid := range map[string]bool{
		`{"cash":"-92233720368547758.08"}`: true,
		`{"cash":"0.10"}`:                  true,
		`{"cash":"-$1,234.56"}`:            false,
		`{"cash":"$0.10"}`:                 false,
	} {
		if errs := val.validate("cdc:shop.till:v1", []byte(row)); (len(errs) == 0) != valid {
			t.Errorf("%s: valid=%v, errors %q", row, valid, errs)
		}
	}
}
