package postgres

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dates and timestamps outside ISO 8601's four-digit years (BC, year 10000
// and later) and Postgres's infinities get explicit forms (docs/types.md):
//
//   - years 0000..9999 are four digits; others a sign and six digits, as
//     ECMAScript and java.time read them ("+010000-01-01", "-000043-03-15");
//     years are astronomical: 1 BC is 0000, 44 BC is -000043;
//   - "infinity" and "-infinity" stay those words.
//
// The session's DateStyle is ISO and TimeZone UTC (pinSession), so the
// text is "Y-MM-DD[ HH:MM:SS[.f][+HH[:MM]]][ BC]", with a year of four or
// more digits.

// isoYear writes astronomical year y.
func isoYear(y int) string {
	switch {
	case y >= 0 && y <= 9999:
		return fmt.Sprintf("%04d", y)
	case y < 0:
		return fmt.Sprintf("-%06d", -y)
	}
	return fmt.Sprintf("+%06d", y)
}

// isDigits reports whether s[i:j] are ASCII digits.
func isDigits(s string, i, j int) bool {
	for ; i < j; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// plainDate reports whether s starts with "YYYY-MM-DD" (four-digit year):
// Postgres's output for every AD date up to 9999, which needs no change.
func plainDate(s string) bool {
	if len(s) < 10 || !isDigits(s, 0, 4) || s[4] != '-' || !isDigits(s, 5, 7) || s[7] != '-' || !isDigits(s, 8, 10) || s[0:4] == "0000" {
		return false
	}
	year := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	month, day := two(s, 5), two(s, 8)
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

// two is the number of the two digits at s[i:].
func two(s string, i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }

// plainClock reports whether s is "HH:MM:SS" with an optional fraction of
// 1 to 9 digits.
func plainClock(s string) bool {
	if len(s) < 8 || !isDigits(s, 0, 2) || s[2] != ':' || !isDigits(s, 3, 5) || s[5] != ':' || !isDigits(s, 6, 8) ||
		two(s, 0) > 23 || two(s, 3) > 59 || two(s, 6) > 59 {
		return false
	}
	if len(s) == 8 {
		return true
	}
	return s[8] == '.' && len(s) > 9 && len(s) <= 18 && isDigits(s, 9, len(s))
}

// pgDate converts a date's text.
func pgDate(s string) (string, bool) {
	if s == "infinity" || s == "-infinity" {
		return s, true
	}
	if len(s) == 10 && plainDate(s) {
		return s, true // the common case: already the event's form
	}
	t, _, ok := parsePGTimestamp(s, false, false)
	if !ok {
		return "", false
	}
	return isoYear(t.Year()) + t.Format("-01-02"), true
}

// pgTimestamp converts a timestamp's text (tz: timestamptz, written in UTC
// with "Z").
func pgTimestamp(s string, tz bool) (string, bool) {
	if s == "infinity" || s == "-infinity" {
		return s, true
	}
	// The common case, AD years up to 9999 (and, for timestamptz, the
	// session's UTC offset "+00"): a "T" for the space, "Z" for "+00".
	if plainDate(s) && len(s) > 11 && s[10] == ' ' {
		clock := s[11:]
		if !tz && plainClock(clock) {
			return s[:10] + "T" + clock, true
		}
		if c, ok := strings.CutSuffix(clock, "+00"); tz && ok && plainClock(c) {
			return s[:10] + "T" + c + "Z", true
		}
	}
	t, _, ok := parsePGTimestamp(s, true, tz)
	if !ok {
		return "", false
	}
	if tz {
		t = t.UTC()
		return isoYear(t.Year()) + t.Format("-01-02T15:04:05.999999999") + "Z", true
	}
	return isoYear(t.Year()) + t.Format("-01-02T15:04:05.999999999"), true
}

// parsePGTimestamp parses "Y-MM-DD[ HH:MM:SS[.f][±HH[:MM[:SS]]]][ BC]":
// withTime requires the time of day, withZone the offset.
func parsePGTimestamp(s string, withTime, withZone bool) (time.Time, bool, bool) {
	bc := false
	if rest, ok := strings.CutSuffix(s, " BC"); ok {
		s, bc = rest, true
	}
	datePart, timePart, hasTime := strings.Cut(s, " ")
	if hasTime != withTime {
		return time.Time{}, bc, false
	}
	ys, rest, ok := strings.Cut(datePart, "-")
	if !ok || len(ys) < 4 || len(rest) != 5 || rest[2] != '-' {
		return time.Time{}, bc, false
	}
	year, err1 := strconv.Atoi(ys)
	month, err2 := strconv.Atoi(rest[:2])
	day, err3 := strconv.Atoi(rest[3:])
	if err1 != nil || err2 != nil || err3 != nil || year < 1 {
		return time.Time{}, bc, false
	}
	if bc {
		year = 1 - year
	}
	var hh, mm, ss, ns int
	loc := time.UTC
	if withTime {
		clock := timePart
		if withZone {
			i := strings.LastIndexAny(timePart, "+-")
			if i < 0 {
				return time.Time{}, bc, false
			}
			clock = timePart[:i]
			off, ok := parseOffset(timePart[i:])
			if !ok {
				return time.Time{}, bc, false
			}
			loc = time.FixedZone("", off)
		}
		whole, frac, hasFrac := strings.Cut(clock, ".")
		if len(whole) != 8 || whole[2] != ':' || whole[5] != ':' {
			return time.Time{}, bc, false
		}
		var e1, e2, e3 error
		hh, e1 = strconv.Atoi(whole[:2])
		mm, e2 = strconv.Atoi(whole[3:5])
		ss, e3 = strconv.Atoi(whole[6:])
		if e1 != nil || e2 != nil || e3 != nil {
			return time.Time{}, bc, false
		}
		if hasFrac {
			if frac == "" || len(frac) > 9 {
				return time.Time{}, bc, false
			}
			n, err := strconv.Atoi(frac)
			if err != nil || n < 0 {
				return time.Time{}, bc, false
			}
			for i := len(frac); i < 9; i++ {
				n *= 10
			}
			ns = n
		}
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, ns, loc)
	if t.Month() != time.Month(month) || t.Day() != day || t.Hour() != hh || t.Minute() != mm || t.Second() != ss {
		return time.Time{}, bc, false // out of range: not normalised silently
	}
	return t, bc, true
}

// parseOffset parses "+HH", "+HH:MM" or "+HH:MM:SS" into seconds east.
func parseOffset(s string) (int, bool) {
	sign := 1
	switch s[0] {
	case '-':
		sign = -1
	case '+':
	default:
		return 0, false
	}
	parts := strings.Split(s[1:], ":")
	if len(parts) > 3 {
		return 0, false
	}
	secs := 0
	for i, p := range parts {
		if len(p) != 2 {
			return 0, false
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0, false
		}
		secs += n * []int{3600, 60, 1}[i]
	}
	return sign * secs, true
}
