package postgres

import (
	"testing"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/snapshot"
)

func TestSnapshotVisibility(t *testing.T) {
	s, err := parseSnapshot("100:105:100,103")
	if err != nil {
		t.Fatal(err)
	}
	for xid, want := range map[uint32]bool{99: true, 100: false, 101: true, 103: false, 104: true, 105: false, 200: false} {
		if got := s.sees(xid); got != want {
			t.Errorf("sees(%d) = %v, want %v", xid, got, want)
		}
	}
	if !s.below(99) || s.below(100) {
		t.Errorf("below: 99 %v, 100 %v", s.below(99), s.below(100))
	}
	// 64-bit xids of a later epoch keep their low 32 bits; comparisons
	// wrap as Postgres's do.
	w, err := parseSnapshot("4294967290:4294967300:4294967295")
	if err != nil {
		t.Fatal(err)
	}
	for xid, want := range map[uint32]bool{4294967289: true, 4294967295: false, 3: true, 4: false, 10: false} {
		if got := w.sees(xid); got != want {
			t.Errorf("after wrap: sees(%d) = %v, want %v", xid, got, want)
		}
	}
	for _, bad := range []string{"", "1:2", "a:2:", "1:2:x"} {
		if _, err := parseSnapshot(bad); err == nil {
			t.Errorf("parseSnapshot(%q) accepted", bad)
		}
	}
}

// The stored last key round-trips to the parameter the chunk query casts.
func TestKeyValueRoundTrip(t *testing.T) {
	cases := []struct {
		kind       schema.Kind
		text, want string
		param      string
	}{
		{schema.KindInt, "-42", "-42", "-42"},
		{schema.KindBool, "t", "true", "true"},
		{schema.KindFloat, "1e+06", "1e+06", "1e+06"},
		{schema.KindFloat, "0.10000000000000001", "0.1", "0.1"},
		{schema.KindBytes, `\x00ff`, "AP8=", `\x00ff`},
		{schema.KindString, "Ab c", "Ab c", "Ab c"},
		{schema.KindUnknown, "(1,2)", "(1,2)", "(1,2)"},
	}
	for _, c := range cases {
		kv, err := keyValue(&schema.Column{Name: "k", Kind: c.kind}, []byte(c.text))
		if err != nil || kv.Text != c.want {
			t.Errorf("%s %q: stored %q, %v; want %q", c.kind, c.text, kv.Text, err, c.want)
			continue
		}
		p := snapshot.Progress{Table: "s.t", Snapshot: "initial", State: snapshot.StateRunning, Chunks: 1, LastKey: []snapshot.KeyValue{kv}}
		if _, err := p.MarshalText(); err != nil {
			t.Errorf("%s %q: stored form rejected: %v", c.kind, c.text, err)
		}
		if got, err := keyParam(kv); err != nil || got != c.param {
			t.Errorf("%s %q: parameter %q, %v; want %q", c.kind, c.text, got, err, c.param)
		}
	}
}

func TestServerMajor(t *testing.T) {
	for v, want := range map[string]int{"15.18 (Debian 15.18-0+deb12u1)": 15, "17.2": 17, "9.6.24": 9, "18beta1": 18, "": 0} {
		if got := serverMajor(v); got != want {
			t.Errorf("serverMajor(%q) = %d, want %d", v, got, want)
		}
	}
}
