package main

import (
	"reflect"
	"testing"
)

func TestCheckerVerdicts(t *testing.T) {
	c := func(k, s int64, op byte) change { return change{Key: k, Seq: s, Op: op} }
	// Commit order: key 1 created (seq 1), key 2 created (2), key 1
	// updated (3), key 2 deleted (its before image has seq 2), key 3
	// created (4).
	written := []change{c(1, 1, 'c'), c(2, 2, 'c'), c(1, 3, 'u'), c(2, 2, 'd'), c(3, 4, 'c')}
	tests := []struct {
		name        string
		read        []change
		want        correctness
		exactlyOnce bool // the verdict for an exactly-once connector
		atLeastOnce bool // and for an at-least-once one
	}{{
		name:        "all once, in order (keys interleave freely)",
		read:        []change{c(2, 2, 'c'), c(1, 1, 'c'), c(3, 4, 'c'), c(2, 2, 'd'), c(1, 3, 'u')},
		want:        correctness{Expected: 5, Received: 5, Distinct: 5},
		exactlyOnce: true, atLeastOnce: true,
	}, {
		name:        "a redelivered tail is duplicates, not disorder",
		read:        []change{c(1, 1, 'c'), c(2, 2, 'c'), c(1, 3, 'u'), c(1, 1, 'c'), c(1, 3, 'u'), c(2, 2, 'd'), c(3, 4, 'c')},
		want:        correctness{Expected: 5, Received: 7, Distinct: 5, Duplicates: 2},
		exactlyOnce: false, atLeastOnce: true,
	}, {
		name: "a change missing",
		read: []change{c(1, 1, 'c'), c(2, 2, 'c'), c(1, 3, 'u'), c(3, 4, 'c')},
		want: correctness{Expected: 5, Received: 4, Distinct: 4, Missing: 1},
	}, {
		name: "an update before its key's create",
		read: []change{c(1, 3, 'u'), c(1, 1, 'c'), c(2, 2, 'c'), c(2, 2, 'd'), c(3, 4, 'c')},
		want: correctness{Expected: 5, Received: 5, Distinct: 5, OrderViolations: 1},
	}, {
		name: "a change never written, and an invalid one",
		read: []change{c(1, 1, 'c'), c(2, 2, 'c'), c(1, 3, 'u'), c(2, 2, 'd'), c(3, 4, 'c'), c(9, 9, 'c'), c(1, 0, 'c')},
		want: correctness{Expected: 5, Received: 7, Distinct: 6, Unexpected: 2},
	}, {
		name: "the right seq under another key",
		read: []change{c(1, 1, 'c'), c(2, 2, 'c'), c(1, 3, 'u'), c(2, 2, 'd'), c(7, 4, 'c')},
		want: correctness{Expected: 5, Received: 5, Distinct: 5, Unexpected: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var k checker
			// Reads may come before the writer registers its commits.
			for _, r := range tt.read {
				k.Observe(r)
			}
			for _, w := range written {
				k.Expect(w)
			}
			checkVerdict(t, k.Result(), tt.want, tt.exactlyOnce, tt.atLeastOnce)
		})
	}
}

func TestBitset(t *testing.T) {
	var b bitset
	for _, i := range []int64{0, 63, 64, 1000} {
		if b.set(i) {
			t.Errorf("set(%d) the first time reports it present", i)
		}
		if !b.set(i) || !b.has(i) {
			t.Errorf("%d not present after set", i)
		}
	}
	var all []int64
	for i := range b.all() {
		all = append(all, i)
	}
	if want := []int64{0, 63, 64, 1000}; !reflect.DeepEqual(all, want) {
		t.Errorf("all() = %v, want %v", all, want)
	}
}

// checkVerdict compares a checker's result with want and its verdicts
// for an exactly-once and an at-least-once connector.
func checkVerdict(t *testing.T, got, want correctness, exactlyOnce, atLeastOnce bool) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Result() = %+v, want %+v", got, want)
	}
	if ok := got.OK(true); ok != exactlyOnce {
		t.Errorf("OK(exactly-once) = %v, want %v (problems %q)", ok, exactlyOnce, got.Problems(true))
	}
	if ok := got.OK(false); ok != atLeastOnce {
		t.Errorf("OK(at-least-once) = %v, want %v (problems %q)", ok, atLeastOnce, got.Problems(false))
	}
}
