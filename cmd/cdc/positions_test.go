package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/sink/kafka"
)

func history(n int) []kafka.HistoryEntry {
	var h []kafka.HistoryEntry
	base := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		h = append(h, kafka.HistoryEntry{Checkpoint: kafka.Checkpoint{Connector: "shop", Seq: uint64(i),
			Position: []byte("0/" + strings.Repeat("1", i)), Time: base.Add(time.Duration(i) * time.Minute)}, Records: 10 * i})
	}
	return h
}

func TestPickTarget(t *testing.T) {
	h := history(5) // seq i committed at 12:0i
	cur := &h[4].Checkpoint
	for _, tc := range []struct {
		name string
		t    target
		seq  uint64
		err  string
	}{
		{"exact seq", target{seq: 3, hasSeq: true}, 3, ""},
		{"seq not kept", target{seq: 9, hasSeq: true}, 0, "no checkpoint with seq 9 in the history (the history holds seq 1"},
		{"time between two: the older", target{at: time.Date(2026, 3, 14, 12, 3, 30, 0, time.UTC)}, 3, ""},
		{"time exactly at one", target{at: time.Date(2026, 3, 14, 12, 2, 0, 0, time.UTC)}, 2, ""},
		{"time after all: the newest", target{at: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, 5, ""},
		{"time before all", target{at: time.Date(2026, 3, 14, 12, 0, 30, 0, time.UTC)}, 0, "no checkpoint committed at or before 2026-03-14T12:00:30Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp, e, err := tc.t.pick(h, cur)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || cp.Seq != tc.seq || e == nil || e.Seq != tc.seq {
				t.Fatalf("picked seq %d (%v), want %d", cp.Seq, err, tc.seq)
			}
		})
	}
	cp, e, err := target{position: "0/AB"}.pick(h, cur)
	if err != nil || e != nil || string(cp.Position) != "0/AB" || cp.Connector != "shop" {
		t.Fatalf("position: %+v %v %v", cp, e, err)
	}
	if _, _, err := (target{seq: 1, hasSeq: true}).pick(nil, cur); err == nil || !strings.Contains(err.Error(), "the history is empty") {
		t.Fatalf("empty history: %v", err)
	}
}

func TestDescribeCheckpoint(t *testing.T) {
	cp := &kafka.Checkpoint{Partial: &kafka.PartialTx{ID: "735", Changes: 5000},
		Replay: &kafka.ReplayBound{Until: []byte("0/9"), Tx: "740", Changes: 3}}
	want := "; inside transaction 735 (5000 changes committed); replaying until 0/9 and 3 changes of transaction 740"
	if got := describeCheckpoint(cp); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestRunFlags(t *testing.T) {
	var stderr bytes.Buffer
	path, from, err := runFlags([]string{"-c", "x.yaml", "-from", "0/16B3748"}, &stderr)
	if err != nil || path != "x.yaml" || from != "0/16B3748" {
		t.Fatalf("%q %q %v", path, from, err)
	}
	if _, _, err := runFlags([]string{"-from", "0/1"}, &stderr); err == nil {
		t.Fatal("no -c accepted")
	}
}

func TestPositionsSetUsage(t *testing.T) {
	for _, args := range [][]string{
		{"positions", "set", "-c", "x.yaml"},
		{"positions", "set", "-c", "x.yaml", "-seq", "3", "-position", "0/1"},
		{"positions", "set", "-c", "x.yaml", "-time", "yesterday"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runMain(t.Context(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %s", args, code, exitUsage, stderr.String())
		}
	}
}
