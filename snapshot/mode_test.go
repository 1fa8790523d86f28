package snapshot

import (
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      Mode
		snapshots bool
	}{
		{"", ModeInitial, true}, // the default
		{"initial", ModeInitial, true},
		{"never", ModeNever, false},
		{"initial_only", ModeInitialOnly, true},
		{"when_needed", ModeWhenNeeded, true},
	} {
		m, err := ParseMode(tc.in)
		if err != nil || m != tc.want || m.Snapshots() != tc.snapshots {
			t.Errorf("ParseMode(%q) = %q, %v (snapshots %v); want %q (snapshots %v)", tc.in, m, err, m.Snapshots(), tc.want, tc.snapshots)
		}
	}
	for _, in := range []string{"Initial", "schema_only", "always", " initial"} {
		if _, err := ParseMode(in); err == nil || !strings.Contains(err.Error(), "want initial, never, initial_only or when_needed") {
			t.Errorf("ParseMode(%q): %v, want an error listing the modes", in, err)
		}
	}
}
