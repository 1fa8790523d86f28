package snapshot

import (
	"bytes"
	"strings"
	"testing"
)

func TestMarkText(t *testing.T) {
	id, err := NewChunkID("9f86d081884c7d65", 12)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mark Mark
		text string
	}{
		{Mark{Low, id}, "low 9f86d081884c7d65-12"},
		{Mark{High, id}, "high 9f86d081884c7d65-12"},
		{Mark{Low, "a.b_c:d/e-0"}, "low a.b_c:d/e-0"},
	} {
		got, err := tc.mark.MarshalText()
		if err != nil || string(got) != tc.text {
			t.Errorf("%+v: %q, %v; want %q", tc.mark, got, err, tc.text)
		}
		back, err := ParseMark([]byte(tc.text))
		if err != nil || back != tc.mark {
			t.Errorf("ParseMark(%q) = %+v, %v", tc.text, back, err)
		}
	}
	if id.Run() != "9f86d081884c7d65" {
		t.Errorf("run of %s: %q", id, id.Run())
	}
}

func TestMarkRejects(t *testing.T) {
	for _, text := range []string{
		"", "low", "low ", "LOW x-1", "middle x-1", "low x 1", "low x\n", "high " + strings.Repeat("a", maxChunkID+1),
		"low x;DROP", "low \xff",
	} {
		if m, err := ParseMark([]byte(text)); err == nil {
			t.Errorf("ParseMark(%q) = %+v, want an error", text, m)
		}
	}
	for _, m := range []Mark{{0, "x"}, {Low, ""}, {High, "a b"}} {
		if b, err := m.MarshalText(); err == nil {
			t.Errorf("%+v encoded as %q", m, b)
		}
	}
	if _, err := NewChunkID("a-b", 1); err == nil {
		t.Error("a run with '-' must be refused: Run could not find it again")
	}
	if _, err := NewChunkID("", 1); err == nil {
		t.Error("an empty run must be refused")
	}
	for _, id := range []ChunkID{"x", "-1", "x-", "x-y"} {
		if r := id.Run(); r != "" {
			t.Errorf("Run of %q = %q, want none", id, r)
		}
	}
}

func FuzzParseMark(f *testing.F) {
	f.Add([]byte("low 9f86d081884c7d65-12"))
	f.Add([]byte("high a/b:c"))
	f.Add([]byte("high  x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMark(b)
		if err != nil {
			return
		}
		enc, err := m.MarshalText()
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("accepted %q, encodes as %q: two texts for one mark", b, enc)
		}
	})
}
