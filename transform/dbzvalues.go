package transform

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/cdc-go/cdc/schema"
)

// The encoders below take the values of package schema as the sources
// write them (docs/types.md) and append their Debezium JSON form.

// dbzUnavailable is Debezium's placeholder for a value the source did not
// send (its unavailable.value.placeholder default).
const dbzUnavailable = "__debezium_unavailable_value"

func encInt(bitSize int) func([]byte, any) ([]byte, error) {
	return func(b []byte, v any) ([]byte, error) {
		switch v := v.(type) {
		case int64:
			return strconv.AppendInt(b, v, 10), nil
		case uint64:
			if v > math.MaxInt64 || (bitSize < 64 && v >= 1<<(bitSize-1)) {
				return b, &errUnrepresentable{v, "above the column's signed range; set events.bigint_unsigned_handling_mode: precise"}
			}
			return strconv.AppendUint(b, v, 10), nil
		case string: // a value the source kept as text
			if _, err := strconv.ParseInt(v, 10, bitSize); err != nil {
				return b, &errUnrepresentable{v, "not an integer"}
			}
			return append(b, v...), nil
		}
		return appendValue(b, v), nil
	}
}

func encBool(b []byte, v any) ([]byte, error) {
	if x, ok := v.(bool); ok {
		return strconv.AppendBool(b, x), nil
	}
	return b, &errUnrepresentable{v, "not a boolean"}
}

// encFloat writes a number; NaN and ±Infinity as the strings Connect's
// JsonConverter writes for them.
func encFloat(b []byte, v any) ([]byte, error) {
	f, ok := v.(float64)
	if s, isText := v.(string); isText {
		var err error
		f, err = strconv.ParseFloat(s, 64)
		ok = err == nil
	}
	switch {
	case !ok:
		return b, &errUnrepresentable{v, "not a float"}
	case math.IsNaN(f):
		return appendString(b, "NaN"), nil
	case math.IsInf(f, 1):
		return appendString(b, "Infinity"), nil
	case math.IsInf(f, -1):
		return appendString(b, "-Infinity"), nil
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64), nil
}

// encString writes any value as a JSON string: its text, the JSON text of
// a JSON value, the base64 of bytes.
func encString(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendString(b, x), nil
	case json.RawMessage:
		return appendString(b, string(x)), nil
	case []byte:
		return appendValue(b, x), nil
	}
	return appendString(b, string(appendValue(nil, v))), nil
}

func encSet(b []byte, v any) ([]byte, error) {
	if s, ok := v.([]string); ok {
		return appendString(b, strings.Join(s, ",")), nil
	}
	return encString(b, v)
}

// decimalParts parses a decimal string into its unscaled value at scale.
// NaN and the infinities have no unscaled value.
func decimalUnscaled(s string, scale int) (*big.Int, error) {
	digits := s
	neg := false
	if strings.HasPrefix(digits, "-") {
		neg, digits = true, digits[1:]
	} else if strings.HasPrefix(digits, "+") {
		digits = digits[1:]
	}
	whole, frac, _ := strings.Cut(digits, ".")
	if len(frac) > scale {
		trimmed := strings.TrimRight(frac[scale:], "0")
		if trimmed != "" {
			return nil, &errUnrepresentable{s, "more fraction digits than the column's scale " + strconv.Itoa(scale)}
		}
		frac = frac[:scale]
	}
	frac += strings.Repeat("0", scale-len(frac))
	n, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok || whole+frac == "" {
		if s == "NaN" || strings.HasSuffix(s, "Infinity") {
			return nil, &errUnrepresentable{s, "a Connect Decimal has no NaN or infinity; set events.decimal_handling_mode: string"}
		}
		return nil, &errUnrepresentable{s, "not a decimal number"}
	}
	if neg {
		n.Neg(n)
	}
	return n, nil
}

// twosComplement is n as Java's BigInteger.toByteArray writes it: big
// endian, two's complement, in the fewest bytes that keep the sign.
func twosComplement(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	m := new(big.Int).Neg(n)
	m.Sub(m, big.NewInt(1)) // -n-1 >= 0; its bits inverted are n's
	b := m.Bytes()
	for i := range b {
		b[i] = ^b[i]
	}
	if len(b) == 0 || b[0]&0x80 == 0 {
		b = append([]byte{0xff}, b...)
	}
	return b
}

func encDecimal(scale int) func([]byte, any) ([]byte, error) {
	return func(b []byte, v any) ([]byte, error) {
		s, ok := decimalText(v)
		if !ok {
			return b, &errUnrepresentable{v, "not a decimal"}
		}
		return appendUnscaled(b, s, scale)
	}
}

// appendUnscaled writes the base64 of s's unscaled value at scale; values
// of up to 18 digits without math/big.
func appendUnscaled(b []byte, s string, scale int) ([]byte, error) {
	if n, ok := smallUnscaled(s, scale); ok {
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(n))
		i := 0 // drop the leading bytes that only repeat the sign
		for i < 7 && (buf[i] == 0 && buf[i+1]&0x80 == 0 || buf[i] == 0xff && buf[i+1]&0x80 != 0) {
			i++
		}
		return appendBase64(b, buf[i:]), nil
	}
	n, err := decimalUnscaled(s, scale)
	if err != nil {
		return b, err
	}
	return appendBase64(b, twosComplement(n)), nil
}

// smallUnscaled is s's unscaled value at scale when it has at most 18
// digits and no more fraction digits than scale.
func smallUnscaled(s string, scale int) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > scale || len(whole)+scale > 18 {
		return 0, false
	}
	var n int64
	for _, part := range []string{whole, frac} {
		for i := range len(part) {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
	}
	for range scale - len(frac) {
		n *= 10
	}
	if neg {
		n = -n
	}
	return n, true
}

func decimalText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

// encVariableDecimal writes io.debezium.data.VariableScaleDecimal: the
// scale is the value's own number of fraction digits.
func encVariableDecimal(b []byte, v any) ([]byte, error) {
	s, ok := decimalText(v)
	if !ok {
		return b, &errUnrepresentable{v, "not a decimal"}
	}
	scale := 0
	if _, frac, ok := strings.Cut(s, "."); ok {
		scale = len(frac)
	}
	b = append(b, `{"scale":`...)
	b = strconv.AppendInt(b, int64(scale), 10)
	b = append(b, `,"value":`...)
	b, err := appendUnscaled(b, s, scale)
	if err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func encDecimalDouble(b []byte, v any) ([]byte, error) {
	s, ok := decimalText(v)
	if !ok {
		return b, &errUnrepresentable{v, "not a decimal"}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return b, &errUnrepresentable{v, "not a decimal number"}
	}
	return appendValue(b, f), nil
}

func appendBase64(b []byte, p []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, '"')
}

func encBytesAs(mode BinaryMode) func([]byte, any) ([]byte, error) {
	return func(b []byte, v any) ([]byte, error) {
		p, ok := v.([]byte)
		if !ok {
			if s, isString := v.(string); isString {
				p = []byte(s)
			} else {
				return b, &errUnrepresentable{v, "not bytes"}
			}
		}
		switch mode {
		case BinaryHex:
			b = append(b, '"')
			b = hex.AppendEncode(b, p)
			return append(b, '"'), nil
		case BinaryBase64URLSafe:
			b = append(b, '"')
			b = base64.URLEncoding.AppendEncode(b, p)
			return append(b, '"'), nil
		}
		return appendBase64(b, p), nil
	}
}

// encBit1 is BIT(1) as a boolean.
func encBit1(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		switch x {
		case "1":
			return append(b, "true"...), nil
		case "0":
			return append(b, "false"...), nil
		}
	case bool:
		return strconv.AppendBool(b, x), nil
	}
	return b, &errUnrepresentable{v, "not a single bit"}
}

// encBits writes a bit string ("0101", most significant bit first) as
// io.debezium.data.Bits: little-endian bytes, bit 0 the last character;
// minimal drops the zero bytes at the high end.
func encBits(minimal bool) func([]byte, any) ([]byte, error) {
	return func(b []byte, v any) ([]byte, error) {
		s, ok := v.(string)
		if !ok {
			return b, &errUnrepresentable{v, "not a bit string"}
		}
		out := make([]byte, (len(s)+7)/8)
		for i := range len(s) {
			switch s[len(s)-1-i] {
			case '1':
				out[i/8] |= 1 << (i % 8)
			case '0':
			default:
				return b, &errUnrepresentable{v, "not a bit string"}
			}
		}
		if minimal {
			for len(out) > 0 && out[len(out)-1] == 0 {
				out = out[:len(out)-1]
			}
		}
		return appendBase64(b, out), nil
	}
}

// civil is a proleptic Gregorian date and time of day as cdc writes them.
type civil struct {
	year, month, day int64
	micros           int64 // of the day; may exceed a day for MySQL TIME
}

// parseISODate reads "2024-02-29", "-000043-03-15" or "+010000-01-01" at
// the start of s and returns the rest. A signed year has at least six
// digits, more past year 999999 (Postgres dates reach 5874897).
func parseISODate(s string) (c civil, rest string, ok bool) {
	sign := int64(1)
	width := 4
	if s != "" && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
		if width = strings.IndexByte(s, '-'); width < 6 {
			return c, "", false
		}
	}
	if len(s) < width+6 || s[width] != '-' || s[width+3] != '-' {
		return c, "", false
	}
	y, err1 := strconv.ParseInt(s[:width], 10, 64)
	m, err2 := strconv.ParseInt(s[width+1:width+3], 10, 64)
	d, err3 := strconv.ParseInt(s[width+4:width+6], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return c, "", false
	}
	return civil{year: sign * y, month: m, day: d}, s[width+6:], true
}

// parseClock reads "[-]H+:MM:SS[.ffffff]" into microseconds.
func parseClock(s string) (int64, string, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	h, rest, ok := strings.Cut(s, ":")
	if !ok || len(rest) < 5 || rest[2] != ':' {
		return 0, "", false
	}
	hours, err1 := strconv.ParseInt(h, 10, 64)
	mins, err2 := strconv.ParseInt(rest[:2], 10, 64)
	secs, err3 := strconv.ParseInt(rest[3:5], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, "", false
	}
	rest = rest[5:]
	micros := ((hours*60+mins)*60 + secs) * 1_000_000
	if strings.HasPrefix(rest, ".") {
		end := 1
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		frac := rest[1:end]
		if len(frac) > 6 {
			frac = frac[:6]
		}
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		micros += f
		rest = rest[end:]
	}
	if neg {
		micros = -micros
	}
	return micros, rest, true
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm), for any year.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func validMyDate(s string) bool {
	c, _, ok := parseISODate(s)
	if !ok || c.month < 1 || c.month > 12 || c.day < 1 {
		return false
	}
	days := [...]int64{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[c.month-1]
	if c.month == 2 && (c.year%4 == 0 && (c.year%100 != 0 || c.year%400 == 0)) {
		days = 29
	}
	return c.day <= days
}

func encDate(b []byte, v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return b, &errUnrepresentable{v, "not a date"}
	}
	c, rest, ok := parseISODate(s)
	if !ok || rest != "" {
		return b, &errUnrepresentable{v, "not a date Debezium's epoch-day form can hold"}
	}
	return strconv.AppendInt(b, daysFromCivil(c.year, c.month, c.day), 10), nil
}

// encTimeUnit writes a time of day in microseconds divided by div (1000:
// milliseconds).
func encTimeUnit(div int64) func([]byte, any) ([]byte, error) {
	return func(b []byte, v any) ([]byte, error) {
		s, ok := v.(string)
		if !ok {
			return b, &errUnrepresentable{v, "not a time"}
		}
		micros, rest, ok := parseClock(s)
		if !ok || rest != "" {
			return b, &errUnrepresentable{v, "not a time without zone"}
		}
		return strconv.AppendInt(b, floorDiv(micros, div), 10), nil
	}
}

// encTimeInDay restricts a TIME encoder to the times of a day, 00:00:00
// to 24:00:00, which Connect's Time type is limited to.
func encTimeInDay(enc func([]byte, any) ([]byte, error)) func([]byte, any) ([]byte, error) {
	return func(b []byte, v any) ([]byte, error) {
		if s, ok := v.(string); ok {
			if micros, _, ok := parseClock(s); ok && (micros < 0 || micros > 86_400_000_000) {
				return b, &errUnrepresentable{v, "outside a day, which time_precision_mode: connect cannot hold; use adaptive_time_microseconds"}
			}
		}
		return enc(b, v)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// parseISOTimestamp reads cdc's timestamp forms ("2024-02-29T13:14:15.5",
// with "Z" for an instant) into microseconds since the epoch.
func parseISOTimestamp(s string) (int64, bool) {
	c, rest, ok := parseISODate(s)
	if !ok || !strings.HasPrefix(rest, "T") {
		return 0, false
	}
	micros, rest, ok := parseClock(rest[1:])
	if !ok || (rest != "" && rest != "Z") {
		return 0, false
	}
	days := daysFromCivil(c.year, c.month, c.day)
	const dayMicros = 86_400_000_000
	if days > math.MaxInt64/dayMicros-1 || days < math.MinInt64/dayMicros+1 {
		return 0, false
	}
	return days*dayMicros + micros, true
}

func encTimestampUnit(div int64) func([]byte, any) ([]byte, error) {
	return func(b []byte, v any) ([]byte, error) {
		s, ok := v.(string)
		if !ok {
			return b, &errUnrepresentable{v, "not a timestamp"}
		}
		micros, ok := parseISOTimestamp(s)
		if !ok {
			return b, &errUnrepresentable{v, "not a timestamp Debezium's epoch form can hold"}
		}
		return strconv.AppendInt(b, floorDiv(micros, div), 10), nil
	}
}

// javaYear writes a year as java.time's ISO formatter does: four digits
// within 0000..9999, else a sign ("+10000", "-0043").
func javaYear(b []byte, y int64) []byte {
	switch {
	case y > 9999:
		b = append(b, '+')
	case y < 0:
		b = append(b, '-')
		y = -y
	}
	s := strconv.FormatInt(y, 10)
	for i := len(s); i < 4; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// encZonedTimestamp writes an instant as io.debezium.time.ZonedTimestamp:
// ISO 8601 in UTC with java.time's years. precision, when above 0, pads
// the fraction to the column's declared digits, as Debezium does.
func encZonedTimestamp(precision int) func([]byte, any) ([]byte, error) {
	return func(b []byte, v any) ([]byte, error) {
		s, ok := v.(string)
		if !ok {
			return b, &errUnrepresentable{v, "not a timestamp"}
		}
		if s == "infinity" || s == "-infinity" {
			return appendString(b, s), nil
		}
		c, rest, ok := parseISODate(s)
		if !ok || !strings.HasPrefix(rest, "T") || c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 {
			return b, &errUnrepresentable{v, "not a timestamp"}
		}
		micros, rest, ok := parseClock(rest[1:])
		if !ok || (rest != "" && rest != "Z") || micros < 0 || micros >= 86_400_000_000 {
			return b, &errUnrepresentable{v, "not a timestamp"}
		}
		b = append(b, '"')
		b = javaYear(b, c.year)
		b = append(b, '-', byte('0'+c.month/10), byte('0'+c.month%10), '-', byte('0'+c.day/10), byte('0'+c.day%10), 'T')
		b = appendClockPrecision(b, micros, precision)
		return append(b, `Z"`...), nil
	}
}

// appendClockPrecision writes microseconds of a day as HH:MM:SS and a
// fraction without trailing zeros, padded to precision digits.
func appendClockPrecision(b []byte, micros int64, precision int) []byte {
	n := len(b)
	b = appendClock(b, micros)
	if precision <= 0 {
		return b
	}
	digits := 0
	if dot := strings.IndexByte(string(b[n:]), '.'); dot >= 0 {
		digits = len(b) - n - dot - 1
	} else {
		b = append(b, '.')
	}
	for ; digits < precision; digits++ {
		b = append(b, '0')
	}
	return b
}

// encZonedTime writes a Postgres timetz ("13:14:15.5+02", "01:02:03-05:30")
// as io.debezium.time.ZonedTime: the same instant of the day in UTC.
func encZonedTime(b []byte, v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return b, &errUnrepresentable{v, "not a time with zone"}
	}
	micros, rest, ok := parseClock(s)
	if !ok || rest == "" || (rest[0] != '+' && rest[0] != '-') {
		return b, &errUnrepresentable{v, "not a time with zone"}
	}
	var off int64
	parts := strings.Split(rest[1:], ":")
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || i > 2 {
			return b, &errUnrepresentable{v, "not a time with zone"}
		}
		off += n * [...]int64{3600, 60, 1}[i]
	}
	if rest[0] == '-' {
		off = -off
	}
	const day = 86_400_000_000
	utc := ((micros-off*1_000_000)%day + day) % day
	b = append(b, '"')
	b = appendClock(b, utc)
	return append(b, `Z"`...), nil
}

// appendClock writes microseconds of a day as HH:MM:SS and the fraction
// without trailing zeros.
func appendClock(b []byte, micros int64) []byte {
	secs := micros / 1_000_000
	for i, n := range []int64{secs / 3600, secs / 60 % 60, secs % 60} {
		if i > 0 {
			b = append(b, ':')
		}
		if n < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, n, 10)
	}
	if f := micros % 1_000_000; f != 0 {
		s := strconv.FormatInt(f+1_000_000, 10)[1:]
		b = append(b, '.')
		b = append(b, strings.TrimRight(s, "0")...)
	}
	return b
}

// encInterval writes an ISO 8601 interval ("P1Y2M3DT4H5M6.5S", Postgres's
// iso_8601 style) as io.debezium.time.MicroDuration, with Debezium's
// arithmetic: a month is 365.25/12 days.
func encInterval(b []byte, v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, "P") {
		return b, &errUnrepresentable{v, "not an ISO 8601 interval"}
	}
	var years, months, days, hours, minutes int64
	var seconds float64
	inTime := false
	num := ""
	for _, r := range s[1:] {
		switch {
		case r == 'T':
			inTime = true
		case r == '-' || r == '.' || (r >= '0' && r <= '9'):
			num += string(r)
		default:
			if r == 'S' && inTime {
				f, err := strconv.ParseFloat(num, 64)
				if err != nil {
					return b, &errUnrepresentable{v, "not an ISO 8601 interval"}
				}
				seconds, num = f, ""
				continue
			}
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				return b, &errUnrepresentable{v, "not an ISO 8601 interval"}
			}
			num = ""
			switch {
			case r == 'Y' && !inTime:
				years = n
			case r == 'M' && !inTime:
				months = n
			case r == 'W' && !inTime:
				days += 7 * n
			case r == 'D' && !inTime:
				days += n
			case r == 'H' && inTime:
				hours = n
			case r == 'M' && inTime:
				minutes = n
			default:
				return b, &errUnrepresentable{v, "not an ISO 8601 interval"}
			}
		}
	}
	whole := math.Trunc(seconds)
	micros := math.Round((seconds - whole) * 1e6)
	numberOfDays := float64(years*12+months)*(365.25/12) + float64(days)
	numberOfSeconds := ((numberOfDays*24+float64(hours))*60+float64(minutes))*60 + whole
	total := numberOfSeconds*1e6 + micros
	// Java's long cast saturates, and so does Debezium's duration; Go's
	// conversion of an out-of-range float is undefined, so clamp first.
	switch {
	case total >= math.MaxInt64:
		return strconv.AppendInt(b, math.MaxInt64, 10), nil
	case total <= math.MinInt64:
		return strconv.AppendInt(b, math.MinInt64, 10), nil
	}
	return strconv.AppendInt(b, int64(total), 10), nil
}

// appendWKBPoint writes the little-endian WKB of a point as base64.
func appendWKBPoint(b []byte, x, y float64) []byte {
	wkb := make([]byte, 21)
	wkb[0] = 1
	binary.LittleEndian.PutUint32(wkb[1:], 1)
	binary.LittleEndian.PutUint64(wkb[5:], javaDoubleBits(x))
	binary.LittleEndian.PutUint64(wkb[13:], javaDoubleBits(y))
	return appendBase64(b, wkb)
}

// javaDoubleBits is Java's Double.doubleToLongBits: every NaN is the one
// canonical NaN (Go's math.NaN has another payload).
func javaDoubleBits(f float64) uint64 {
	if math.IsNaN(f) {
		return 0x7ff8000000000000
	}
	return math.Float64bits(f)
}

func appendPoint(b []byte, x, y float64, wkb []byte, srid *int64) []byte {
	b = append(b, `{"x":`...)
	b, _ = encFloat(b, x)
	b = append(b, `,"y":`...)
	b, _ = encFloat(b, y)
	b = append(b, `,"wkb":`...)
	if wkb == nil {
		b = appendWKBPoint(b, x, y)
	} else {
		b = appendBase64(b, wkb)
	}
	b = append(b, `,"srid":`...)
	if srid == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *srid, 10)
	}
	return append(b, '}')
}

// encPGPoint writes a Postgres point ({"x":..,"y":..}; NaN and the
// infinities as strings) as io.debezium.data.geometry.Point, with its WKB
// and no SRID.
func encPGPoint(b []byte, v any) ([]byte, error) {
	raw, ok := v.(json.RawMessage)
	var p struct{ X, Y json.RawMessage }
	if !ok || json.Unmarshal(raw, &p) != nil {
		return b, &errUnrepresentable{v, "not a point"}
	}
	x, okX := jsonFloat(p.X)
	y, okY := jsonFloat(p.Y)
	if !okX || !okY {
		return b, &errUnrepresentable{v, "not a point"}
	}
	return appendPoint(b, x, y, nil, nil), nil
}

// jsonFloat reads a float written as a JSON number or as "NaN",
// "Infinity", "-Infinity".
func jsonFloat(raw json.RawMessage) (float64, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

type myGeometry struct {
	SRID *int64 `json:"srid"`
	WKB  []byte `json:"wkb"`
}

// encMyGeometry writes a MySQL geometry ({"srid":..,"wkb":..}) as
// io.debezium.data.geometry.Geometry.
func encMyGeometry(b []byte, v any) ([]byte, error) {
	raw, ok := v.(json.RawMessage)
	var g myGeometry
	if !ok || json.Unmarshal(raw, &g) != nil {
		return b, &errUnrepresentable{v, "not a geometry"}
	}
	b = append(b, `{"wkb":`...)
	b = appendBase64(b, g.WKB)
	b = append(b, `,"srid":`...)
	if g.SRID == nil || *g.SRID == 0 { // SRID 0: none, null as Debezium writes it
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *g.SRID, 10)
	}
	return append(b, '}'), nil
}

// encMyPoint writes a MySQL point as io.debezium.data.geometry.Point: its
// coordinates read from the WKB.
func encMyPoint(b []byte, v any) ([]byte, error) {
	raw, ok := v.(json.RawMessage)
	var g myGeometry
	if !ok || json.Unmarshal(raw, &g) != nil || len(g.WKB) != 21 || g.WKB[0] > 1 {
		return b, &errUnrepresentable{v, "not a point"}
	}
	var order binary.ByteOrder = binary.BigEndian
	if g.WKB[0] == 1 {
		order = binary.LittleEndian
	}
	if order.Uint32(g.WKB[1:]) != 1 {
		return b, &errUnrepresentable{v, "not a point"}
	}
	x := math.Float64frombits(order.Uint64(g.WKB[5:]))
	y := math.Float64frombits(order.Uint64(g.WKB[13:]))
	if g.SRID != nil && *g.SRID == 0 {
		g.SRID = nil
	}
	return appendPoint(b, x, y, g.WKB, g.SRID), nil
}

// encArray writes a JSON array of elements (cdc's form of a Postgres
// array) as a Connect array of the element's Debezium form.
func encArray(elem *dbzColumn, kind schema.Kind) func([]byte, any) ([]byte, error) {
	return func(b []byte, v any) ([]byte, error) {
		raw, ok := v.(json.RawMessage)
		var items []json.RawMessage
		if !ok || json.Unmarshal(raw, &items) != nil {
			return b, &errUnrepresentable{v, "not an array"}
		}
		b = append(b, '[')
		for i, it := range items {
			if i > 0 {
				b = append(b, ',')
			}
			if len(it) > 0 && it[0] == '[' {
				return b, &errUnrepresentable{string(raw), "a multi-dimensional array; Debezium's arrays have one dimension"}
			}
			ev, err := elementValue(it, kind)
			if err != nil {
				return b, &errUnrepresentable{string(it), err.Error()}
			}
			if ev == nil {
				b = append(b, "null"...)
				continue
			}
			if b, err = elem.enc(b, ev); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
}

// elementValue turns one JSON element of a cdc array back into the value
// type of package schema for its kind.
func elementValue(raw json.RawMessage, kind schema.Kind) (any, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	switch kind {
	case schema.KindJSON:
		return raw, nil
	case schema.KindBool:
		var x bool
		err := json.Unmarshal(raw, &x)
		return x, err
	case schema.KindInt:
		return strconv.ParseInt(string(raw), 10, 64)
	case schema.KindFloat:
		if raw[0] == '"' {
			var s string
			err := json.Unmarshal(raw, &s)
			return s, err
		}
		return strconv.ParseFloat(string(raw), 64)
	}
	if raw[0] != '"' {
		return string(raw), nil // a number where text was expected: keep its digits
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	if kind == schema.KindBytes {
		return base64.StdEncoding.DecodeString(s)
	}
	return s, nil
}

// encRange writes a range (cdc's object form, source/postgres rangetype.go)
// as Postgres's own text, which is what Debezium sends: "[1,10)",
// "empty", timestamps quoted in Postgres's output form.
func encRange(b []byte, v any) ([]byte, error) {
	raw, ok := v.(json.RawMessage)
	var r struct {
		Empty          bool            `json:"empty"`
		Lower          json.RawMessage `json:"lower"`
		Upper          json.RawMessage `json:"upper"`
		LowerInclusive bool            `json:"lower_inclusive"`
		UpperInclusive bool            `json:"upper_inclusive"`
	}
	if !ok || json.Unmarshal(raw, &r) != nil {
		if s, isText := v.(string); isText {
			return appendString(b, s), nil
		}
		return b, &errUnrepresentable{v, "not a range"}
	}
	if r.Empty {
		return appendString(b, "empty"), nil
	}
	var t strings.Builder
	t.WriteByte("(["[boolIndex(r.LowerInclusive)])
	t.WriteString(rangeBound(r.Lower))
	t.WriteByte(',')
	t.WriteString(rangeBound(r.Upper))
	t.WriteByte(")]"[boolIndex(r.UpperInclusive)])
	return appendString(b, t.String()), nil
}

// encMultirange writes a multirange (cdc's array of range objects) as
// Postgres's text: "{[1,3),[5,7)}".
func encMultirange(b []byte, v any) ([]byte, error) {
	raw, ok := v.(json.RawMessage)
	var ranges []json.RawMessage
	if !ok || json.Unmarshal(raw, &ranges) != nil {
		if s, isText := v.(string); isText {
			return appendString(b, s), nil
		}
		return b, &errUnrepresentable{v, "not a multirange"}
	}
	var t strings.Builder
	t.WriteByte('{')
	for i, r := range ranges {
		if i > 0 {
			t.WriteByte(',')
		}
		one, err := encRange(nil, r)
		if err != nil {
			return b, err
		}
		var s string
		json.Unmarshal(one, &s)
		t.WriteString(s)
	}
	t.WriteByte('}')
	return appendString(b, t.String()), nil
}

func boolIndex(v bool) int {
	if v {
		return 1
	}
	return 0
}

// rangeBound is one bound's Postgres text, as range_out writes it:
// empty when unbounded, a number's digits, a date or timestamp in
// Postgres's ISO output form ("0044-03-15 12:00:00 BC"), quoted when it
// holds a space or one of range_out's special characters.
func rangeBound(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw) // a number
	}
	if c, rest, ok := parseISODate(s); ok && strings.HasPrefix(rest, "T") {
		clock, zone := rest[1:], ""
		if z, ok := strings.CutSuffix(clock, "Z"); ok {
			clock, zone = z, "+00"
		}
		date, era := pgDate(c)
		s = date + " " + clock + zone + era
	} else if ok && rest == "" {
		date, era := pgDate(c)
		s = date + era
	}
	if s == "" || strings.ContainsAny(s, " \t\n\"\\,()[]") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}

// pgDate writes a date as Postgres's ISO output does, and its era: year
// -43 (astronomical) is "0044-03-15" and " BC".
func pgDate(c civil) (string, string) {
	y, era := c.year, ""
	if y <= 0 {
		y, era = 1-y, " BC"
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, c.month, c.day), era
}
