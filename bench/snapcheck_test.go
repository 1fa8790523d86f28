package main

import (
	"testing"
)

func TestSnapCheckerVerdicts(t *testing.T) {
	c := func(k, s int64, op byte) change { return change{Key: k, Seq: s, Op: op} }
	// Keys 1..3 exist with seq = key before the connector starts. Then, in
	// commit order: key 1 updated (seq 4) and key 4 inserted (5) before
	// any streamed change was read; key 2 updated (6) and key 1 updated
	// (7) after one was, so these two must be streamed.
	type write struct {
		ch   change
		must bool
	}
	written := []write{{c(1, 4, 'u'), false}, {c(4, 5, 'c'), false}, {c(2, 6, 'u'), true}, {c(1, 7, 'u'), true}}
	all := []change{c(1, 1, 'r'), c(2, 2, 'r'), c(1, 4, 'u'), c(4, 5, 'c'), c(4, 5, 'r'), c(2, 6, 'u'), c(3, 3, 'r'), c(1, 7, 'u')}
	tests := []struct {
		name        string
		read        []change
		want        correctness
		exactlyOnce bool
		atLeastOnce bool
	}{{
		name:        "every state read; a snapshot read of a streamed insert is a re-read",
		read:        all,
		want:        correctness{Expected: 7, Received: 8, Distinct: 8, SnapshotReads: 4, Rereads: 1},
		exactlyOnce: true, atLeastOnce: true,
	}, {
		name:        "the snapshot read states written before the stream began: older ones superseded",
		read:        []change{c(1, 4, 'r'), c(2, 2, 'r'), c(3, 3, 'r'), c(4, 5, 'r'), c(2, 6, 'u'), c(1, 7, 'u')},
		want:        correctness{Expected: 7, Received: 6, Distinct: 6, SnapshotReads: 4, Superseded: 1},
		exactlyOnce: true, atLeastOnce: true,
	}, {
		name: "a change lost after an older state of its key was read",
		read: []change{c(1, 1, 'r'), c(2, 2, 'r'), c(3, 3, 'r'), c(4, 5, 'c'), c(2, 6, 'u'), c(1, 7, 'u')},
		want: correctness{Expected: 7, Received: 6, Distinct: 6, SnapshotReads: 3, Missing: 1},
	}, {
		name: "a stale snapshot read after the key's newest state",
		read: []change{c(2, 2, 'r'), c(3, 3, 'r'), c(1, 4, 'u'), c(4, 5, 'c'), c(2, 6, 'u'), c(1, 7, 'u'), c(1, 1, 'r')},
		want: correctness{Expected: 7, Received: 7, Distinct: 7, SnapshotReads: 3, OrderViolations: 1},
	}, {
		name: "the newest state missing",
		read: all[:7],
		want: correctness{Expected: 7, Received: 7, Distinct: 7, SnapshotReads: 4, Rereads: 1, Missing: 1},
	}, {
		name: "a change committed while streaming read only as a snapshot read",
		read: append(append([]change(nil), all[:7]...), c(1, 7, 'r')),
		want: correctness{Expected: 7, Received: 8, Distinct: 8, SnapshotReads: 5, Rereads: 1, Missing: 1},
	}, {
		name: "a change both in the snapshot and in the stream",
		read: []change{c(1, 1, 'r'), c(2, 2, 'r'), c(3, 3, 'r'), c(1, 4, 'r'), c(1, 4, 'u'), c(4, 5, 'c'), c(2, 6, 'u'), c(1, 7, 'u')},
		want: correctness{Expected: 7, Received: 8, Distinct: 8, SnapshotReads: 4, OrderViolations: 1},
	}, {
		name:        "redeliveries are duplicates",
		read:        append(append([]change(nil), all...), c(2, 6, 'u'), c(3, 3, 'r')),
		want:        correctness{Expected: 7, Received: 10, Distinct: 8, SnapshotReads: 4, Rereads: 1, Duplicates: 2},
		exactlyOnce: false, atLeastOnce: true,
	}, {
		name: "an initial row streamed, and a change under another key",
		read: []change{c(1, 1, 'r'), c(2, 2, 'r'), c(3, 3, 'c'), c(1, 4, 'u'), c(4, 5, 'c'), c(2, 6, 'u'), c(3, 7, 'u')},
		want: correctness{Expected: 7, Received: 7, Distinct: 6, SnapshotReads: 2, Unexpected: 2, Missing: 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newSnapChecker(3)
			// The writer registers a change after its commit returns, so
			// reads of the first changes may come before; the must-stream
			// ones are registered after the reads here.
			for _, w := range written[:2] {
				k.Expect(w.ch, w.must)
			}
			for _, r := range tt.read {
				k.Observe(r)
			}
			for _, w := range written[2:] {
				k.Expect(w.ch, w.must)
			}
			checkVerdict(t, k.Result(), tt.want, tt.exactlyOnce, tt.atLeastOnce)
		})
	}
}

// TestSnapCheckerProgress pins what the workload waits on: KeysRead counts
// the initial keys read in any state, Unsettled the keys whose newest
// state is not read yet, and Streamed turns on with the first streamed
// change.
func TestSnapCheckerProgress(t *testing.T) {
	k := newSnapChecker(3)
	k.Expect(change{Key: 1, Seq: 4, Op: 'u'}, false)
	k.Expect(change{Key: 4, Seq: 5, Op: 'c'}, false)
	if got := k.Unsettled(); got != 4 {
		t.Errorf("Unsettled() before any read = %d, want 4 (keys 1-3 unread, key 4 inserted)", got)
	}
	k.Observe(change{Key: 2, Seq: 2, Op: 'r'})
	k.Observe(change{Key: 1, Seq: 1, Op: 'r'})
	if k.Streamed() || k.KeysRead() != 2 || k.Unsettled() != 3 {
		t.Errorf("after two snapshot reads: streamed %v, keys read %d, unsettled %d; want false, 2, 3 (key 1's update, key 3, key 4)",
			k.Streamed(), k.KeysRead(), k.Unsettled())
	}
	k.Observe(change{Key: 1, Seq: 4, Op: 'u'})
	k.Observe(change{Key: 4, Seq: 5, Op: 'c'})
	k.Observe(change{Key: 3, Seq: 3, Op: 'r'})
	if !k.Streamed() || k.KeysRead() != 3 || k.Unsettled() != 0 {
		t.Errorf("after every state: streamed %v, keys read %d, unsettled %d; want true, 3, 0", k.Streamed(), k.KeysRead(), k.Unsettled())
	}
}
