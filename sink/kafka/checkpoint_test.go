package kafka

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/source"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func goldenCheckpoint() Checkpoint {
	return Checkpoint{
		Connector: "shop",
		Server:    source.Server{Type: "postgres", ID: "7310432184631832615"},
		Position:  []byte("0/16B3748"),
		// A non-UTC zone: the stored form must be UTC.
		Time: time.Date(2026, 3, 14, 16, 26, 53, 589793238, time.FixedZone("CET", 3600)),
		Seq:  42,
	}
}

// The checkpoint's stored form outlives versions of this program: changing it
// breaks resuming from checkpoints already in Kafka. The golden file pins it.
func TestCheckpointGolden(t *testing.T) {
	got, err := EncodeCheckpoint(goldenCheckpoint())
	if err != nil {
		t.Fatal(err)
	}
	const path = "testdata/checkpoint.golden.json"
	want := golden(t, path, got)
	back, err := DecodeCheckpoint(want)
	if err != nil {
		t.Fatal(err)
	}
	assertSameCheckpoint(t, back, goldenCheckpoint())
}

// golden compares got with the golden file at path (rewriting it with
// -update) and returns the file's content.
func golden(t *testing.T, path string, got []byte) []byte {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want = bytes.TrimSuffix(want, []byte("\n"))
	if !bytes.Equal(got, want) {
		t.Fatalf("stored form changed:\n got %s\nwant %s", got, want)
	}
	return want
}

func assertSameCheckpoint(t *testing.T, got, want Checkpoint) {
	t.Helper()
	if got.Connector != want.Connector || got.Server != want.Server || !bytes.Equal(got.Position, want.Position) ||
		!got.Time.Equal(want.Time) || got.Seq != want.Seq || !samePartial(got.Partial, want.Partial) ||
		!sameSnapshot(got.Snapshot, want.Snapshot) || got.Signals != want.Signals {
		t.Fatalf("checkpoint:\n got %+v (position %q, partial %+v)\nwant %+v (position %q, partial %+v)",
			got, got.Position, got.Partial, want, want.Position, want.Partial)
	}
}

func sameSnapshot(a, b *SnapshotRef) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ID == b.ID && a.Open == b.Open && slices.Equal(a.Also, b.Also)
}

func samePartial(a, b *PartialTx) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ID == b.ID && bytes.Equal(a.CommitPos, b.CommitPos) && a.Changes == b.Changes && a.Events == b.Events && maps.Equal(a.Tables, b.Tables)
}

// A checkpoint inside a source transaction has its own golden form; the
// one at a boundary (TestCheckpointGolden) must not change, so that
// checkpoints written before partial transactions existed still decode.
func TestCheckpointPartialGolden(t *testing.T) {
	cp := goldenCheckpoint()
	cp.Partial = &PartialTx{ID: "735", CommitPos: []byte("0/16C0000"), Changes: 5000, Events: 5200,
		Tables: map[string]int{"public.orders": 4000, "public.items": 1200}}
	got, err := EncodeCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	const path = "testdata/checkpoint-partial.golden.json"
	want := golden(t, path, got)
	back, err := DecodeCheckpoint(want)
	if err != nil {
		t.Fatal(err)
	}
	assertSameCheckpoint(t, back, cp)

	old, err := os.ReadFile("testdata/checkpoint.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if back, err := DecodeCheckpoint(old); err != nil || back.Partial != nil {
		t.Fatalf("checkpoint of an older version: %+v, %v; want no partial transaction", back, err)
	}
}

// A checkpoint taken while a snapshot runs names it; the form is pinned,
// and it composes with a partial transaction.
func TestCheckpointSnapshotGolden(t *testing.T) {
	cp := goldenCheckpoint()
	cp.Partial = &PartialTx{ID: "735", CommitPos: []byte("0/16C0000"), Changes: 5000}
	cp.Snapshot = &SnapshotRef{ID: "initial", Open: 9}
	got, err := EncodeCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, "testdata/checkpoint-snapshot.golden.json", got)
	back, err := DecodeCheckpoint(want)
	if err != nil {
		t.Fatal(err)
	}
	assertSameCheckpoint(t, back, cp)
	for _, bad := range []*SnapshotRef{{ID: "", Open: 1}, {ID: "initial", Open: 0}} {
		cp.Snapshot = bad
		if _, err := EncodeCheckpoint(cp); err == nil {
			t.Errorf("snapshot %+v encoded; want an error", bad)
		}
	}
}

// A checkpoint of a connector that took on-demand snapshot requests names
// every open snapshot and the signals offset; the form is pinned, and a
// checkpoint without them (older versions) decodes with none.
func TestCheckpointSignalsGolden(t *testing.T) {
	cp := goldenCheckpoint()
	cp.Snapshot = &SnapshotRef{ID: "initial", Also: []string{"orders-2024", "req:7"}, Open: 4}
	cp.Signals = 17
	got, err := EncodeCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, "testdata/checkpoint-signals.golden.json", got)
	back, err := DecodeCheckpoint(want)
	if err != nil {
		t.Fatal(err)
	}
	assertSameCheckpoint(t, back, cp)
	old, err := os.ReadFile("testdata/checkpoint-snapshot.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	back, err = DecodeCheckpoint(old)
	if err != nil || back.Signals != 0 || back.Snapshot == nil || back.Snapshot.Also != nil {
		t.Fatalf("checkpoint of an older version: %+v, %v; want signals 0 and one snapshot id", back, err)
	}
	for _, bad := range []Checkpoint{
		func() Checkpoint { c := cp; c.Signals = -1; return c }(),
		func() Checkpoint {
			c := cp
			c.Snapshot = &SnapshotRef{ID: "initial", Also: []string{"a"}, Open: 1}
			return c
		}(),
		func() Checkpoint {
			c := cp
			c.Snapshot = &SnapshotRef{ID: "initial", Also: []string{""}, Open: 2}
			return c
		}(),
	} {
		if _, err := EncodeCheckpoint(bad); err == nil {
			t.Errorf("checkpoint %+v encoded; want an error", bad)
		}
	}
}

func TestDecodeCheckpointAccepts(t *testing.T) {
	cases := []struct {
		name, in string
	}{
		{"unknown fields are ignored so newer versions can add some",
			`{"connector":"c","server":{"type":"mysql","id":"u"},"position":"p","time":"2026-01-01T00:00:00Z","seq":1,"extra":true}`},
		{"time with an offset",
			`{"connector":"c","server":{"type":"mysql","id":"u"},"position":"p","time":"2026-01-01T01:00:00+01:00","seq":1}`},
		{"largest seq",
			`{"connector":"c","server":{"type":"mysql","id":"u"},"position":"p","time":"2026-01-01T00:00:00Z","seq":18446744073709551615}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := DecodeCheckpoint([]byte(c.in)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDecodeCheckpointRejects(t *testing.T) {
	cases := []struct {
		name, in string
	}{
		{"empty", ``},
		{"null", `null`},
		{"not an object", `[]`},
		{"trailing data", `{"connector":"c","server":{"type":"t","id":"i"},"position":"p","seq":1} {}`},
		{"missing connector", `{"server":{"type":"t","id":"i"},"position":"p","seq":1}`},
		{"missing server id", `{"connector":"c","server":{"type":"t"},"position":"p","seq":1}`},
		{"missing position", `{"connector":"c","server":{"type":"t","id":"i"},"seq":1}`},
		{"position not a string", `{"connector":"c","server":{"type":"t","id":"i"},"position":5,"seq":1}`},
		{"negative seq", `{"connector":"c","server":{"type":"t","id":"i"},"position":"p","seq":-1}`},
		{"bad time", `{"connector":"c","server":{"type":"t","id":"i"},"position":"p","time":"yesterday","seq":1}`},
		{"partial without id", `{"connector":"c","server":{"type":"t","id":"i"},"position":"p","seq":1,"partial":{"changes":3}}`},
		{"partial with negative count", `{"connector":"c","server":{"type":"t","id":"i"},"position":"p","seq":1,"partial":{"tx":"7","changes":-3}}`},
		{"partial table with negative count", `{"connector":"c","server":{"type":"t","id":"i"},"position":"p","seq":1,"partial":{"tx":"7","changes":3,"tables":{"s.t":-1}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if cp, err := DecodeCheckpoint([]byte(c.in)); err == nil {
				t.Fatalf("accepted as %+v", cp)
			} else if !strings.HasPrefix(err.Error(), "decoding checkpoint: ") {
				t.Fatalf("error %q does not say what failed", err)
			}
		})
	}
}

func TestEncodeCheckpointRejects(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*Checkpoint)
	}{
		{"empty connector", func(cp *Checkpoint) { cp.Connector = "" }},
		{"no server", func(cp *Checkpoint) { cp.Server = source.Server{} }},
		{"empty position", func(cp *Checkpoint) { cp.Position = nil }},
		// JSON would silently replace the bytes with U+FFFD, storing a
		// position that no longer parses to the one committed.
		{"position not UTF-8", func(cp *Checkpoint) { cp.Position = []byte{0xff, 0x00} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cp := goldenCheckpoint()
			c.modify(&cp)
			if b, err := EncodeCheckpoint(cp); err == nil {
				t.Fatalf("encoded as %s", b)
			}
		})
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	golden, _ := EncodeCheckpoint(goldenCheckpoint())
	f.Add(golden)
	f.Add([]byte(`{"connector":"c","server":{"type":"t","id":"i"},"position":"\u00ff\ud800","seq":1}`))
	f.Add([]byte(`{"connector":"","seq":1e30}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"connector":"c","server":{"type":"t","id":"i"},"position":"p","seq":1,"partial":{"tx":"7","changes":3,"tables":{}}}`))
	// Decodes, but is year -1 in UTC, which JSON cannot encode.
	f.Add([]byte(`{"connector":"c","server":{"type":"t","id":"i"},"position":"p","time":"0000-01-01T00:00:00+01:00"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		cp, err := DecodeCheckpoint(in)
		if err != nil {
			return
		}
		// Whatever decodes must encode, and decode back to the same.
		out, err := EncodeCheckpoint(cp)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", cp, err)
		}
		back, err := DecodeCheckpoint(out)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", out, err)
		}
		assertSameCheckpoint(t, back, cp)
	})
}
