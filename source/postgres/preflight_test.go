package postgres

import (
	"testing"

	"github.com/cdc-go/cdc/source"
)

func TestOrder(t *testing.T) {
	var o Order
	until := LSN(0x2000)
	for _, tc := range []struct {
		commit LSN
		want   bool
	}{
		{0x1fff, true},  // committed before the replaced checkpoint's end
		{0x2000, false}, // a commit record at the bound is after it
		{0x2001, false},
	} {
		if got := o.Covers(until, &source.Begin{TxID: "7", CommitPos: tc.commit}); got != tc.want {
			t.Errorf("Covers(%s, commit %s) = %v, want %v", until, tc.commit, got, tc.want)
		}
	}
	if o.Covers(until, &source.Begin{TxID: "7"}) {
		t.Error("a Begin without a commit position is covered")
	}
	if !o.Reached(until, LSN(0x2000)) || !o.Reached(until, LSN(0x2001)) || o.Reached(until, LSN(0x1fff)) {
		t.Error("Reached is not pos >= until")
	}
}
