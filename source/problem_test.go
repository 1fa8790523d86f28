package source

import "testing"

func TestAbbreviate(t *testing.T) {
	for _, tc := range []struct {
		items []string
		want  string
	}{
		{nil, ""},
		{[]string{"a", "b"}, "a, b"},
		{[]string{"a", "b", "c"}, "a, b, c"},
		{[]string{"a", "b", "c", "d", "e"}, "a, b, c and 2 more"},
	} {
		if got := Abbreviate(tc.items, 3); got != tc.want {
			t.Errorf("Abbreviate(%q, 3) = %q, want %q", tc.items, got, tc.want)
		}
	}
}
