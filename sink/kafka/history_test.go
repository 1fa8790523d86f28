package kafka

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The history entry's stored form outlives versions of this program, like
// the checkpoint's.
func TestHistoryGolden(t *testing.T) {
	cp := goldenCheckpoint()
	cp.Replay = &ReplayBound{Until: []byte("0/16D0000"), Tx: "736", Changes: 200}
	got, err := EncodeHistory(HistoryEntry{Checkpoint: cp, Records: 120})
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, "testdata/history.golden.json", got)
	back, err := DecodeHistory(want)
	if err != nil {
		t.Fatal(err)
	}
	assertSameCheckpoint(t, back.Checkpoint, cp)
	if back.Records != 120 || back.Replay == nil || string(back.Replay.Until) != "0/16D0000" || back.Replay.Tx != "736" || back.Replay.Changes != 200 {
		t.Fatalf("decoded %+v (replay %+v)", back, back.Replay)
	}
}

func TestDecodeHistoryRejects(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"not json", `{`, "decoding history entry"},
		{"no checkpoint", `{"records":3}`, "no checkpoint"},
		{"bad checkpoint", `{"checkpoint":{"connector":"shop"},"records":3}`, "server type"},
		{"bad replay", `{"checkpoint":{"connector":"s","server":{"type":"postgres","id":"1"},"position":"0/1","time":"2026-01-01T00:00:00Z","seq":1,"replay":{"until":""}},"records":0}`, "replay bound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeHistory([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one with %q", err, tc.want)
			}
		})
	}
}

// Every commit adds a history entry in its transaction, with the count of
// the transaction's records; an aborted transaction adds none.
func TestCommitWritesHistory(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c, "hist")
	cfg.HistoryTopic = checkpointTopic + ".history"
	w := openWriter(t, cfg)
	write(t, w, event("ev", "k1", "v1"), event("ev", "k2", "v2"))
	commit(t, w, checkpoint("shop", 1))
	write(t, w, event("ev", "k3", "v3"))
	if err := w.Abort(t.Context()); err != nil {
		t.Fatal(err)
	}
	commit(t, w, checkpoint("shop", 2))
	commit(t, w, checkpoint("other", 1))

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	got, err := ReadHistory(ctx, cfg.Cluster, cfg.HistoryTopic, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 1 || got[0].Records != 2 || got[1].Seq != 2 || got[1].Records != 0 {
		t.Fatalf("history %+v, want seq 1 with 2 records, seq 2 with 0", got)
	}
	// Missing topic: no entries, no error.
	none, err := ReadHistory(ctx, cfg.Cluster, "missing.history", "shop")
	if err != nil || len(none) != 0 {
		t.Fatalf("missing topic: %v, %v", none, err)
	}
}

// A running instance is a member of its presence group until it closes.
func TestPresence(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	brokers := Cluster{Brokers: c.ListenAddrs()}
	if m, err := RunningMembers(ctx, brokers, "shop"); err != nil || len(m) != 0 {
		t.Fatalf("before join: %v, %v", m, err)
	}
	p, err := JoinPresence(ctx, brokers, "shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := RunningMembers(ctx, brokers, "shop")
	if err != nil || len(m) != 1 || m[0].PID == 0 || m[0].Host == "" {
		t.Fatalf("while joined: %+v, %v", m, err)
	}
	if other, err := RunningMembers(ctx, brokers, "shop2"); err != nil || len(other) != 0 {
		t.Fatalf("another connector: %v, %v", other, err)
	}
	if o, ok := OtherInstance(ctx, brokers, "shop", p.Self(), 1500*time.Millisecond); ok {
		t.Fatalf("alone in the group, found another instance: %+v", o)
	}
	q, err := JoinPresence(ctx, brokers, "shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := OtherInstance(ctx, brokers, "shop", p.Self(), 10*time.Second); !ok || !o.same(q.Self()) {
		t.Fatalf("with a second instance: found %+v (%v), want %+v", o, ok, q.Self())
	}
	q.Close()
	p.Close()
	if m, err := RunningMembers(ctx, brokers, "shop"); err != nil || len(m) != 0 {
		t.Fatalf("after close: %v, %v", m, err)
	}
}
