//go:build e2e

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The Debezium mode of the type matrix (events.format: debezium): the
// value Debezium's own connector writes for a column, as recorded in
// notes/dbzcap.md, derived here from the database's read-back text with
// Go's time and math/big, independently of package transform's encoders.
// Where Debezium corrupts a value or silently nulls it, cdc sends the whole
// change to the dead-letter topic instead; debeziumValue says so with
// errExpectDeadLetter.

// errExpectDeadLetter is returned by a mode's value function for a value
// the mode cannot write: the change holding it must arrive on the table's
// dead-letter topic, with a reason naming the column, not on the table's
// topic.
var errExpectDeadLetter = errors.New("the mode sends the change to the dead-letter topic")

func deadLetter(why string) error { return fmt.Errorf("%w: %s", errExpectDeadLetter, why) }

// debeziumValue is the Debezium mode's value for column c with the default
// handling modes (decimal precise, time adaptive on Postgres and
// adaptive_time_microseconds on MySQL, binary bytes, bigint unsigned long).
func debeziumValue(c matrixColumn, text *string) (any, error) {
	if text == nil {
		return nil, nil
	}
	return dbzConvert(c, *text)
}

var typmodRE = regexp.MustCompile(`\((\d+)(?:\s*,\s*(\d+))?\)`)

// typmod is the n-th number in the column type's parentheses, or def.
func typmod(typ string, n, def int) int {
	m := typmodRE.FindStringSubmatch(typ)
	if m == nil || m[n+1] == "" {
		return def
	}
	v, _ := strconv.Atoi(m[n+1])
	return v
}

func isPG(c matrixColumn) bool { return c.db == "postgres" }

func dbzConvert(c matrixColumn, s string) (any, error) {
	switch c.kind {
	case kindInt, kindYear:
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("not an integer: %q", s)
		}
		if !n.IsInt64() {
			return nil, deadLetter("an integer above int64 in bigint_unsigned_handling_mode long")
		}
		return json.Number(n.String()), nil
	case kindFloat32, kindFloat64, kindBool:
		return cdcConvert(c.kind, "", s) // the same as the cdc mode
	case kindSet, kindText, kindUUID, kindNet, kindEnum, kindOther:
		return s, nil // a set as "a,c"
	case kindBytes:
		b, err := hex.DecodeString(strings.TrimPrefix(s, `\x`))
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString(b), nil
	case kindDecimal, kindMoney:
		return dbzDecimal(c, s)
	case kindJSON:
		return s, nil // io.debezium.data.Json: the text as the database holds it
	case kindHstore:
		// A JSON object's text without spaces, in the read-back's key
		// order (jsonb's, which is hstore's own: by length, then bytes).
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(s)); err != nil {
			return nil, err
		}
		return b.String(), nil
	case kindBits:
		return dbzBits(c, s)
	case kindDate:
		return dbzDate(c, s)
	case kindTime:
		micros, err := clockMicros(s)
		if err != nil {
			return nil, err
		}
		if isPG(c) && typmod(c.typ, 0, 6) <= 3 {
			return json.Number(strconv.FormatInt(floorDiv(micros, 1000), 10)), nil
		}
		return json.Number(strconv.FormatInt(micros, 10)), nil
	case kindTimeTZ:
		return dbzZonedTime(s)
	case kindInterval:
		return dbzInterval(s)
	case kindWall:
		return dbzTimestamp(c, s)
	case kindInstant:
		return dbzInstant(c, s)
	case kindArray:
		var items []any
		if err := decodeJSON(s, &items); err != nil {
			return nil, err
		}
		elem := matrixColumn{db: c.db, kind: c.elem, typ: strings.TrimSuffix(c.typ, "[]")}
		out := make([]any, len(items))
		for i, it := range items {
			switch x := it.(type) {
			case nil:
			case []any:
				return nil, deadLetter("a multi-dimensional array")
			case string:
				v, err := dbzConvert(elem, x)
				if err != nil {
					return nil, err
				}
				out[i] = v
			default:
				return nil, fmt.Errorf("array element %v is not text", it)
			}
		}
		return out, nil
	case kindRange:
		return pgRangeText(s)
	case kindPoint:
		return dbzPoint(s)
	case kindGeometry:
		var g struct {
			SRID int64  `json:"srid"`
			WKB  string `json:"wkb"`
		}
		if err := json.Unmarshal([]byte(s), &g); err != nil {
			return nil, err
		}
		var srid any
		if g.SRID != 0 {
			srid = json.Number(strconv.FormatInt(g.SRID, 10))
		}
		return map[string]any{"wkb": g.WKB, "srid": srid}, nil
	}
	return nil, fmt.Errorf("no Debezium value for kind %s", c.kind)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// dbzDecimal is a Connect Decimal (the base64 of the unscaled value, big
// endian two's complement in the fewest bytes, as Java's BigInteger writes
// it) at the declared scale; Postgres numeric without a scale (and a domain
// over a numeric, known by its kind only) is a VariableScaleDecimal
// {"scale", "value"} at the value's own scale.
func dbzDecimal(c matrixColumn, s string) (any, error) {
	switch s {
	case "NaN", "Infinity", "-Infinity":
		return nil, deadLetter("a decimal NaN or infinity in decimal_handling_mode precise")
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	variable := c.kind == kindDecimal && (c.typ == "numeric" || strings.Contains(c.typ, "."))
	scale := len(frac)
	if !variable {
		scale = 2 // money
		if c.kind == kindDecimal {
			scale = typmod(c.typ, 1, 0)
		}
	}
	if len(frac) > scale {
		return nil, fmt.Errorf("%q has more digits than the scale %d", s, scale)
	}
	n, ok := new(big.Int).SetString(whole+frac+strings.Repeat("0", scale-len(frac)), 10)
	if !ok {
		return nil, fmt.Errorf("not a decimal: %q", s)
	}
	if neg {
		n.Neg(n)
	}
	value := base64.StdEncoding.EncodeToString(javaBytes(n))
	if variable {
		return map[string]any{"scale": json.Number(strconv.Itoa(scale)), "value": value}, nil
	}
	return value, nil
}

// javaBytes is n in two's complement, big endian, in ceil((bitLength+1)/8)
// bytes, where a negative number's bit length is that of -n-1.
func javaBytes(n *big.Int) []byte {
	bl := n.BitLen()
	if n.Sign() < 0 {
		bl = new(big.Int).Not(n).BitLen()
	}
	k := bl/8 + 1
	mod := new(big.Int).Lsh(big.NewInt(1), uint(8*k))
	return new(big.Int).Mod(n, mod).FillBytes(make([]byte, k))
}

// dbzBits is io.debezium.data.Bits: the bit string as an unsigned number in
// little-endian bytes; Postgres's without the zero bytes at the high end,
// MySQL's always ceil(n/8) bytes of BIT(n). BIT(1) is a boolean.
func dbzBits(c matrixColumn, s string) (any, error) {
	if typmod(c.typ, 0, 0) == 1 && strings.HasPrefix(c.typ, "bit") { // bit(1) is a boolean
		switch s {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return nil, fmt.Errorf("not one bit: %q", s)
	}
	n, ok := new(big.Int).SetString("0"+s, 2)
	if !ok {
		return nil, fmt.Errorf("not bits: %q", s)
	}
	be := n.Bytes()
	if !isPG(c) {
		be = n.FillBytes(make([]byte, (typmod(c.typ, 0, 1)+7)/8))
	}
	le := make([]byte, len(be))
	for i, b := range be {
		le[len(be)-1-i] = b
	}
	return base64.StdEncoding.EncodeToString(le), nil
}

// civilDate reads a date's read-back text ("2024-02-29", "0044-03-15 BC"
// on Postgres) into a time at midnight UTC; ok is false for a date that
// does not exist (MySQL's zero and invalid dates).
func civilDate(s string) (t time.Time, rest string, ok bool, err error) {
	bc := strings.HasSuffix(s, " BC")
	s = strings.TrimSuffix(s, " BC")
	date, rest, _ := strings.Cut(s, " ")
	parts := strings.Split(date, "-")
	if len(parts) != 3 {
		return t, "", false, fmt.Errorf("not a date: %q", s)
	}
	var n [3]int
	for i, p := range parts {
		if n[i], err = strconv.Atoi(p); err != nil {
			return t, "", false, fmt.Errorf("not a date: %q", s)
		}
	}
	if bc {
		n[0] = 1 - n[0] // astronomical year: 1 BC is year 0
	}
	t = time.Date(n[0], time.Month(n[1]), n[2], 0, 0, 0, 0, time.UTC)
	return t, rest, t.Month() == time.Month(n[1]) && t.Day() == n[2], nil
}

func dbzDate(c matrixColumn, s string) (any, error) {
	if s == "infinity" || s == "-infinity" {
		return nil, deadLetter("a date infinity has no epoch day")
	}
	t, _, ok, err := civilDate(s)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil // a zero or invalid MySQL date in a nullable column
	}
	return json.Number(strconv.FormatInt(floorDiv(t.Unix(), 86400), 10)), nil
}

// clockMicros reads "[-]H+:MM:SS[.f]" into microseconds.
func clockMicros(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	hms, frac, _ := strings.Cut(s, ".")
	parts := strings.Split(hms, ":")
	if len(parts) != 3 || len(frac) > 6 {
		return 0, fmt.Errorf("not a time: %q", s)
	}
	var total int64
	for _, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("not a time: %q", s)
		}
		total = total*60 + v
	}
	total *= 1_000_000
	if frac != "" {
		f, err := strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("not a time: %q", s)
		}
		total += f
	}
	if neg {
		total = -total
	}
	return total, nil
}

// clockText writes microseconds of a day as HH:MM:SS with the fraction's
// significant digits.
func clockText(micros int64) string {
	d := time.Duration(micros) * time.Microsecond
	s := fmt.Sprintf("%02d:%02d:%02d", int64(d/time.Hour), int64(d/time.Minute)%60, int64(d/time.Second)%60)
	if f := micros % 1_000_000; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", f), "0")
	}
	return s
}

// dbzZonedTime is a timetz ("13:14:15.5+02", "00:00:00+15:59") as the same
// time of day in UTC with "Z", the date dropped.
func dbzZonedTime(s string) (any, error) {
	i := strings.LastIndexAny(s, "+-")
	if i <= 0 {
		return nil, fmt.Errorf("not a timetz: %q", s)
	}
	micros, err := clockMicros(s[:i])
	if err != nil {
		return nil, err
	}
	var off int64
	for j, p := range strings.Split(s[i+1:], ":") {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || j > 2 {
			return nil, fmt.Errorf("not a timetz zone: %q", s)
		}
		off += v * []int64{3600, 60, 1}[j] * 1_000_000
	}
	if s[i] == '-' {
		off = -off
	}
	const day = 86_400_000_000
	utc := ((micros-off)%day + day) % day
	return clockText(utc) + "Z", nil
}

var isoIntervalRE = regexp.MustCompile(`^P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?\d+(?:\.\d+)?)S)?)?$`)

// dbzInterval is an iso_8601 interval as io.debezium.time.MicroDuration:
// microseconds with a year of 365.25 days and a month of a twelfth of that
// (30.4375 days), saturating at the int64 limits.
func dbzInterval(s string) (any, error) {
	m := isoIntervalRE.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("not an iso_8601 interval: %q", s)
	}
	r := func(i int) *big.Rat {
		v := new(big.Rat)
		if m[i] != "" {
			v.SetString(m[i])
		}
		return v
	}
	mul := func(a *big.Rat, b string) *big.Rat {
		x, _ := new(big.Rat).SetString(b)
		return new(big.Rat).Mul(a, x)
	}
	months := new(big.Rat).Add(mul(r(1), "12"), r(2))
	days := new(big.Rat).Add(mul(months, "30.4375"), r(3))
	secs := new(big.Rat).Add(mul(days, "86400"), mul(r(4), "3600"))
	secs.Add(secs, mul(r(5), "60"))
	secs.Add(secs, r(6))
	micros := mul(secs, "1000000")
	n := new(big.Int).Quo(micros.Num(), micros.Denom()) // toward zero
	switch {
	case n.Cmp(big.NewInt(math.MaxInt64)) > 0:
		n.SetInt64(math.MaxInt64)
	case n.Cmp(big.NewInt(math.MinInt64)) < 0:
		n.SetInt64(math.MinInt64)
	}
	return json.Number(n.String()), nil
}

// epochMicros reads a wall date-time ("2024-02-29 13:14:15.5", "4713-01-01
// 00:00:00 BC") into microseconds since 1970-01-01 00:00, exactly; ok is
// false for a MySQL zero or invalid date.
func epochMicros(s string) (n *big.Int, ok bool, err error) {
	t, rest, ok, err := civilDate(s)
	if err != nil || !ok {
		return nil, ok, err
	}
	clock, err := clockMicros(rest)
	if err != nil {
		return nil, false, err
	}
	n = new(big.Int).Mul(big.NewInt(floorDiv(t.Unix(), 86400)), big.NewInt(86_400_000_000))
	return n.Add(n, big.NewInt(clock)), true, nil
}

// dbzTimestamp is a timestamp without zone: milliseconds since the epoch
// for 0 to 3 fraction digits (io.debezium.time.Timestamp), else
// microseconds (MicroTimestamp). Postgres's default precision is 6,
// MySQL's 0.
func dbzTimestamp(c matrixColumn, s string) (any, error) {
	if s == "infinity" || s == "-infinity" {
		return nil, deadLetter("a timestamp infinity has no epoch value")
	}
	n, ok, err := epochMicros(s)
	if err != nil || !ok {
		return nil, err
	}
	if !n.IsInt64() {
		return nil, deadLetter("epoch microseconds beyond int64")
	}
	def := 0
	if isPG(c) {
		def = 6
	}
	if typmod(c.typ, 0, def) <= 3 {
		return json.Number(strconv.FormatInt(floorDiv(n.Int64(), 1000), 10)), nil
	}
	return json.Number(n.String()), nil
}

// dbzInstant is io.debezium.time.ZonedTimestamp: ISO 8601 in UTC, years
// as java.time writes them (four digits, a sign outside 0000..9999), the
// fraction padded to the column's digits (Postgres's default 6, MySQL's 0).
// Postgres's infinities stay as they are.
func dbzInstant(c matrixColumn, s string) (any, error) {
	if s == "infinity" || s == "-infinity" {
		return s, nil
	}
	if isPG(c) { // an element of timestamptz[] reads back with its zone
		bc := strings.HasSuffix(s, " BC")
		s = strings.TrimSuffix(strings.TrimSuffix(s, " BC"), "+00")
		if bc {
			s += " BC"
		}
	}
	t, rest, ok, err := civilDate(s)
	if err != nil || !ok {
		return nil, err
	}
	hms, frac, _ := strings.Cut(rest, ".")
	def := 0
	if isPG(c) {
		def = 6
	}
	p := typmod(c.typ, 0, def)
	if len(frac) > p {
		return nil, fmt.Errorf("%q has more fraction digits than %d", s, p)
	}
	y := t.Year()
	var year string
	switch {
	case y > 9999:
		year = "+" + strconv.Itoa(y)
	case y < 0:
		year = fmt.Sprintf("-%04d", -y)
	default:
		year = fmt.Sprintf("%04d", y)
	}
	out := fmt.Sprintf("%s-%02d-%02dT%s", year, t.Month(), t.Day(), hms)
	if p > 0 {
		out += "." + frac + strings.Repeat("0", p-len(frac))
	}
	return out + "Z", nil
}

// pgRangeText rebuilds Postgres's range text ("[1,5)", "empty",
// `["2024-01-01 00:00:00.5","10000-01-01 00:00:00")`) from the read-back
// bounds: a bound is quoted when it is empty or holds a space, a quote, a
// backslash, a parenthesis, a bracket or a comma.
func pgRangeText(s string) (any, error) {
	var r struct {
		Empty          bool    `json:"empty"`
		Lower          *string `json:"lower"`
		Upper          *string `json:"upper"`
		LowerInclusive bool    `json:"lower_inclusive"`
		UpperInclusive bool    `json:"upper_inclusive"`
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, err
	}
	if r.Empty {
		return "empty", nil
	}
	bound := func(b *string) string {
		if b == nil {
			return ""
		}
		if *b != "" && !strings.ContainsAny(*b, " \t\n\"\\()[],") {
			return *b
		}
		return `"` + strings.NewReplacer(`"`, `""`, `\`, `\\`).Replace(*b) + `"`
	}
	lo, hi := "(", ")"
	if r.LowerInclusive {
		lo = "["
	}
	if r.UpperInclusive {
		hi = "]"
	}
	return lo + bound(r.Lower) + "," + bound(r.Upper) + hi, nil
}

// dbzPoint is a Postgres point as io.debezium.data.geometry.Point: the
// coordinates, the little-endian WKB of the point and no SRID.
func dbzPoint(s string) (any, error) {
	xs, ys, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(s, "("), ")"), ",")
	if !ok {
		return nil, fmt.Errorf("not a point: %q", s)
	}
	x, err := strconv.ParseFloat(xs, 64)
	if err != nil {
		return nil, err
	}
	y, err := strconv.ParseFloat(ys, 64)
	if err != nil {
		return nil, err
	}
	wkb := []byte{1}
	wkb = binary.LittleEndian.AppendUint32(wkb, 1)
	// Java writes every NaN as Double.NaN, 0x7ff8000000000000 (Go's
	// math.NaN has another payload).
	bits := func(f float64) uint64 {
		if math.IsNaN(f) {
			return 0x7ff8000000000000
		}
		return math.Float64bits(f)
	}
	wkb = binary.LittleEndian.AppendUint64(wkb, bits(x))
	wkb = binary.LittleEndian.AppendUint64(wkb, bits(y))
	fx, err := cdcFloat(xs, 64)
	if err != nil {
		return nil, err
	}
	fy, err := cdcFloat(ys, 64)
	if err != nil {
		return nil, err
	}
	return map[string]any{"x": fx, "y": fy, "wkb": base64.StdEncoding.EncodeToString(wkb), "srid": nil}, nil
}

// deadColumns are the columns of an image whose values the mode sends to
// the dead-letter topic, sorted.
func deadColumns(mode valueMode, cols []matrixColumn, image map[string]*string) []string {
	var dead []string
	for _, c := range cols {
		if _, err := mode.value(c, image[c.name]); errors.Is(err, errExpectDeadLetter) {
			dead = append(dead, c.name)
		}
	}
	sort.Strings(dead)
	return dead
}
