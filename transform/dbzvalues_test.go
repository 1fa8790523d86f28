package transform

import "testing"

// Postgres dates and timestamps reach years past 999999 (date 5874897-12-31,
// 2145042905 days after the epoch, an int32): cdc writes such a year with
// a sign and seven digits, and Debezium's epoch forms hold it.
func TestDebeziumFarYears(t *testing.T) {
	for _, tc := range []struct {
		enc  func([]byte, any) ([]byte, error)
		in   string
		want string
	}{
		{encDate, "+5874897-12-31", "2145042905"},
		{encDate, "+010000-01-01", "2932897"},
		{encDate, "-004712-01-01", "-2440550"},
		{encDate, "2024-02-29", "19782"},
		{encTimestampUnit(1000), "+100000-01-01T00:00:00", "3093527980800000"},
		{encZonedTimestamp(3), "+1000000-01-01T00:00:00Z", `"+1000000-01-01T00:00:00.000Z"`},
	} {
		got, err := tc.enc(nil, tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"+10000-01-01", "+-1-01-01", "-0043-03-15"} {
		if got, err := encDate(nil, in); err == nil {
			t.Errorf("%s: got %s, want an error", in, got)
		}
	}
}
