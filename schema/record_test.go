package schema_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/schema"
)

func TestKindFromString(t *testing.T) {
	for k := schema.KindUnknown; k <= schema.KindBits; k++ {
		got, err := schema.KindFromString(k.String())
		if err != nil || got != k {
			t.Errorf("%s: got %v, %v", k, got, err)
		}
	}
	for _, s := range []string{"", "Int", "kind(19)", "integer"} {
		if _, err := schema.KindFromString(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestVersionRecordGolden(t *testing.T) {
	v := everyKind()
	v.DDL = "ALTER TABLE every_kind ADD geo point"
	b, err := schema.EncodeVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "version", append(b, '\n'))
	got, err := schema.DecodeVersion(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, v)
	}
	h := schema.NewHistory()
	if err := h.Load(*got); err != nil { // pins: a decoded record loads (fingerprint matches)
		t.Fatal(err)
	}
}

func TestEncodeVersionUnknownKind(t *testing.T) {
	v := &schema.Version{Table: "s.t", Version: 1, Columns: []schema.Column{{Name: "x", Kind: schema.Kind(200)}}}
	if _, err := schema.EncodeVersion(v); err == nil {
		t.Fatal("a kind without a name encoded")
	}
}

func TestDecodeVersionErrors(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"not JSON", `{`},
		{"trailing data", `{"table":"s.t","version":1}{}`},
		{"JSON null", `null`},
		{"no table", `{"version":1}`},
		{"version 0", `{"table":"s.t","version":0}`},
		{"fractional version", `{"table":"s.t","version":1.5}`},
		{"unknown kind", `{"table":"s.t","version":1,"columns":[{"name":"a","type":"x","kind":"integer"}]}`},
		{"kind as a number", `{"table":"s.t","version":1,"columns":[{"name":"a","type":"x","kind":2}]}`},
		{"duplicate column", `{"table":"s.t","version":1,"columns":[{"name":"a","kind":"int"},{"name":"a","kind":"int"}]}`},
		{"bad time", `{"table":"s.t","version":1,"time":"yesterday"}`},
		{"key in another case", `{"Table":"s.t","version":1}`},
		{"column key in another case", `{"table":"s.t","version":1,"columns":[{"Name":"a","kind":"int"}]}`},
	}
	for _, tc := range tests {
		if _, err := schema.DecodeVersion([]byte(tc.in)); !errors.Is(err, schema.ErrInvalidVersion) {
			t.Errorf("%s: got %v, want ErrInvalidVersion", tc.name, err)
		}
	}
	// pins: fields a newer writer adds are ignored
	if _, err := schema.DecodeVersion([]byte(`{"table":"s.t","version":1,"format":2,"columns":[{"name":"a","kind":"int","collation":"C"}]}`)); err != nil {
		t.Errorf("unknown fields: %v", err)
	}
}

func TestVersionKey(t *testing.T) {
	tests := []struct {
		table   string
		version int
		want    string
	}{
		{"public.orders", 1, "public.orders@1"},
		{"public.orders", 12, "public.orders@12"}, // plain decimal, not zero-padded
		{"db.we@ird", 3, "db.we@ird@3"},
	}
	for _, tc := range tests {
		if got := string(schema.VersionKey(tc.table, tc.version)); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestChangeEventGolden(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	id := schema.Column{Name: "id", Type: "bigint", Kind: schema.KindInt, Key: true}
	name := schema.Column{Name: "name", Type: "text", Kind: schema.KindString, Nullable: true}
	amount := schema.Column{Name: "amount", Type: "numeric(10,2)", Kind: schema.KindDecimal, Nullable: true}
	legacy := schema.Column{Name: "legacy", Type: "integer", Kind: schema.KindInt}
	h := schema.NewHistory()
	v1, _ := h.Resolve(&schema.Table{Namespace: "public", Name: "orders", Columns: []schema.Column{id, name, amount, legacy}}, "0/100", "", t0)

	name2 := name
	name2.Name = "full_name"
	amount2 := amount
	amount2.Type, amount2.Nullable = "numeric(12,2)", false
	note := schema.Column{Name: "note", Type: "text", Kind: schema.KindString, Nullable: true}
	v2, _ := h.Resolve(&schema.Table{Namespace: "public", Name: "orders", Columns: []schema.Column{id, name2, amount2, note}}, "0/200", "", t0.Add(time.Minute))

	created := schema.EncodeChangeEvent(nil, v1, schema.DiffVersions(nil, v1), nil)
	golden(t, "change_event_created", append(created, '\n'))

	d := schema.DiffVersions(v1, v2)
	problems := schema.CheckCompatibility(schema.CompatFull, v1, v2)
	if len(problems) == 0 {
		t.Fatal("expected incompatibilities")
	}
	changed := schema.EncodeChangeEvent(v1, v2, d, problems)
	golden(t, "change_event", append(changed, '\n'))
	for _, want := range []string{`"previous_version":1`, `"compatible":false`, `"old_name":"name"`} {
		if !strings.Contains(string(changed), want) {
			t.Errorf("change event lacks %s", want)
		}
	}
	if !strings.Contains(string(created), `"previous_version":null`) || !strings.Contains(string(created), `"incompatibilities":[]`) {
		t.Errorf("created event: %s", created)
	}
}

func FuzzDecodeVersion(f *testing.F) {
	b, _ := schema.EncodeVersion(everyKind())
	f.Add(b)
	f.Add([]byte(`{"table":"s.t","version":1,"columns":[{"name":"a","kind":"int"}]}`))
	f.Add([]byte(`{"table":"s.t","version":-1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := schema.DecodeVersion(in)
		if err != nil {
			return
		}
		// Anything accepted re-encodes and decodes to the same version.
		out, err := schema.EncodeVersion(v)
		if err != nil {
			t.Fatalf("decoded version does not encode: %v", err)
		}
		again, err := schema.DecodeVersion(out)
		if err != nil {
			t.Fatalf("re-encoded version does not decode: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("round trip differs:\n%+v\n%+v", v, again)
		}
		_ = schema.NewHistory().Load(*v) // must not panic
	})
}
