package mysql

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/snapshot"
)

// Snapshot values. A chunk's rows are read with the binary protocol (a
// prepared statement, even for the first chunk, which has no parameters)
// and each value is put into the form go-mysql's binlog decoder gives the
// same column (int64/uint64, float32, "HH:MM:SS.fff" strings, enum indexes,
// set bitmaps, BIT as an int64), then converted by the stream's own
// convert (decode.go). Both paths share every rule after that point:
// charsets, BINARY(n) padding, ISO timestamps, invalid dates, enum and set
// members.
//
// Why the binary protocol: it sends FLOAT and DOUBLE as their IEEE bytes.
// The text protocol prints a FLOAT with 6 significant digits (16777216 as
// "16777200", 3.4028235e38 as "3.40282e38"), which cannot give back the
// binlog's float32. Every other type comes as the same bytes or fields in
// both protocols: integers typed, DECIMAL, BIT, strings and blobs as bytes,
// temporal values as fields that are formatted here exactly as go-mysql
// formats the binlog's.
//
// The chunk connection sets character_set_results = NULL, so text columns
// arrive in their own charset, unconverted, as in the binlog (the server's
// conversion to utf8mb4 would turn unmappable bytes into "?", where the
// stream reports them), and time_zone = '+00:00', so TIMESTAMP values are
// UTC, as the syncer renders them.

// rawValue turns a value of the binary protocol (as go-sql-driver returns
// it: int64, float32, float64, or []byte; nil for NULL) into the value
// go-mysql's binlog decoder produces for column i.
func (t *snapTable) rawValue(i int, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	c := &t.cols[i]
	kind := t.schema.Columns[i].Kind
	if c.ext != "" {
		return nil, errors.New("binary-stored MariaDB types are read as text, not converted") // see value
	}
	switch c.typ {
	case gomysql.MYSQL_TYPE_TINY, gomysql.MYSQL_TYPE_SHORT, gomysql.MYSQL_TYPE_INT24, gomysql.MYSQL_TYPE_LONG, gomysql.MYSQL_TYPE_LONGLONG:
		if kind == schema.KindUint {
			return driverUint(v)
		}
		return driverInt(v)
	case gomysql.MYSQL_TYPE_YEAR:
		n, err := driverInt(v)
		return int(n), err
	case gomysql.MYSQL_TYPE_FLOAT:
		switch v := v.(type) {
		case float32:
			return v, nil
		case float64:
			return float32(v), nil
		}
	case gomysql.MYSQL_TYPE_DOUBLE:
		switch v := v.(type) {
		case float64:
			return v, nil
		case float32:
			return float64(v), nil
		}
	case gomysql.MYSQL_TYPE_NEWDECIMAL:
		if b, ok := bytesOf(v); ok {
			return string(b), nil
		}
	case gomysql.MYSQL_TYPE_BIT:
		if b, ok := bytesOf(v); ok {
			if len(b) > 8 {
				return nil, fmt.Errorf("BIT value of %d bytes", len(b))
			}
			var n uint64
			for _, x := range b {
				n = n<<8 | uint64(x)
			}
			return int64(n), nil
		}
	case gomysql.MYSQL_TYPE_DATE:
		if b, ok := bytesOf(v); ok {
			return binlogDate(string(b))
		}
	case gomysql.MYSQL_TYPE_TIME2:
		if b, ok := bytesOf(v); ok {
			return binlogTime(string(b), int(t.meta[i]))
		}
	case gomysql.MYSQL_TYPE_DATETIME2, gomysql.MYSQL_TYPE_TIMESTAMP2:
		if b, ok := bytesOf(v); ok {
			return binlogDatetime(string(b), int(t.meta[i]))
		}
	case gomysql.MYSQL_TYPE_ENUM:
		if b, ok := bytesOf(v); ok {
			if len(b) == 0 {
				return int64(0), nil // the "invalid value" member
			}
			for j, m := range c.values {
				if m == string(b) {
					return int64(j + 1), nil
				}
			}
			return nil, fmt.Errorf("enum value %q is not a member", b)
		}
	case gomysql.MYSQL_TYPE_SET:
		if b, ok := bytesOf(v); ok {
			var n int64
			if len(b) == 0 {
				return n, nil
			}
		members:
			for _, part := range strings.Split(string(b), ",") {
				for j, m := range c.values {
					if m == part {
						n |= 1 << j
						continue members
					}
				}
				return nil, fmt.Errorf("set value %q: %q is not a member", b, part)
			}
			return n, nil
		}
	case gomysql.MYSQL_TYPE_JSON:
		// MySQL's binary JSON, which go-mysql decodes and re-encodes in its
		// own layout; the text a SELECT returns is MySQL's. Not matched yet
		// (MySQL snapshots need the GTID watermarks first).
		return nil, errors.New("MySQL JSON columns are not read by snapshots yet")
	case gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING, gomysql.MYSQL_TYPE_STRING,
		gomysql.MYSQL_TYPE_BLOB, gomysql.MYSQL_TYPE_GEOMETRY:
		if b, ok := bytesOf(v); ok {
			return b, nil
		}
	default:
		return nil, fmt.Errorf("column type %d is not read by snapshots", c.typ)
	}
	return nil, fmt.Errorf("unexpected %T from the server", v)
}

// value converts column i's value of a chunk row to the stream's value,
// with the stream's error handling (decode.go's table.value).
func (t *snapTable) value(i int, v any, errs error) (any, error) {
	if v == nil {
		return nil, errs
	}
	if c := &t.cols[i]; c.ext != "" {
		// INET4, INET6 and UUID arrive in the server's text form, the form
		// formatExt writes from the binlog's bytes (pinned against CAST(col
		// AS CHAR) by the e2e test TestMySQLFixedBinary).
		b, ok := bytesOf(v)
		if !ok || !isASCII(string(b)) {
			col := &t.schema.Columns[i]
			return rawText(v), errors.Join(errs, fmt.Errorf("column %q of type %s: unexpected %T %q", col.Name, col.Type, v, rawText(v)))
		}
		return string(b), errs
	}
	raw, err := t.rawValue(i, v)
	if err != nil {
		col := &t.schema.Columns[i]
		return rawText(v), errors.Join(errs, fmt.Errorf("column %q of type %s: %w", col.Name, col.Type, err))
	}
	return t.table.value(i, raw, errs)
}

// row converts a chunk row (aligned with the table's columns).
func (t *snapTable) row(vals []any) ([]any, error) {
	if len(vals) != len(t.cols) {
		return nil, fmt.Errorf("table %s: chunk row has %d columns, the table %d", t.schema.ID(), len(vals), len(t.cols))
	}
	out := make([]any, len(vals))
	var errs error
	for i, v := range vals {
		out[i], errs = t.value(i, v, errs)
	}
	return out, errs
}

func driverInt(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case []byte:
		return strconv.ParseInt(string(v), 10, 64)
	}
	return 0, fmt.Errorf("unexpected %T from the server", v)
}

// driverUint: go-sql-driver returns unsigned BIGINT values above
// math.MaxInt64 as decimal text.
func driverUint(v any) (uint64, error) {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return 0, fmt.Errorf("unsigned value %d", v)
		}
		return uint64(v), nil
	case []byte:
		return strconv.ParseUint(string(v), 10, 64)
	}
	return 0, fmt.Errorf("unexpected %T from the server", v)
}

var (
	dateText     = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})$`)
	timeText     = regexp.MustCompile(`^(-?)([0-9]{2,3}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?$`)
	datetimeText = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?$`)
)

// binlogDate is go-mysql's DATE form, %04d-%02d-%02d.
func binlogDate(s string) (string, error) {
	if !dateText.MatchString(s) {
		return "", fmt.Errorf("cannot read DATE %q", s)
	}
	return s, nil
}

// micros reads a fraction of up to 6 digits as microseconds.
func micros(frac string) int {
	if frac == "" {
		return 0
	}
	n, _ := strconv.Atoi(frac + strings.Repeat("0", 6-len(frac)))
	return n
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// binlogTime is go-mysql's TIME2 form (decodeTime2): [-]HH:MM:SS, and the
// fraction in dec digits only when it is not zero; zero is "00:00:00".
func binlogTime(s string, dec int) (string, error) {
	m := timeText.FindStringSubmatch(s)
	if m == nil || dec < 0 || dec > 6 {
		return "", fmt.Errorf("cannot read TIME(%d) %q", dec, s)
	}
	h, mi, sec, us := atoi(m[2]), atoi(m[3]), atoi(m[4]), micros(m[5])
	if h == 0 && mi == 0 && sec == 0 && us == 0 {
		return "00:00:00", nil
	}
	out := fmt.Sprintf("%s%02d:%02d:%02d", m[1], h, mi, sec)
	if us != 0 {
		f := fmt.Sprintf(".%06d", us)
		out += f[:1+dec]
	}
	return out, nil
}

// binlogDatetime is go-mysql's DATETIME2 and TIMESTAMP2 form
// (formatDatetime, formatZeroTime, and fracTime in UTC, which are the
// same text): YYYY-MM-DD HH:MM:SS and, for dec > 0, always dec fraction
// digits.
func binlogDatetime(s string, dec int) (string, error) {
	m := datetimeText.FindStringSubmatch(s)
	if m == nil || dec < 0 || dec > 6 {
		return "", fmt.Errorf("cannot read DATETIME(%d) %q", dec, s)
	}
	out := fmt.Sprintf("%s-%s-%s %s:%s:%s", m[1], m[2], m[3], m[4], m[5], m[6])
	if dec > 0 {
		f := fmt.Sprintf(".%06d", micros(m[7]))
		out += f[:1+dec]
	}
	return out, nil
}

// keyValue returns the canonical stored form (snapshot.Progress's text
// rules) of key column i of a chunk row, from the server's value v and its
// converted value conv.
//
// Integers, decimals, floats, bytes, strings and UUIDs are written from
// the converted value, which is what a Change carries. Temporal values,
// enums, sets and BIT are written in a form that goes back to the server
// as a parameter comparing the way the column orders: the go-mysql text of
// dates and times (the session is UTC), enum indexes, set bitmaps and BIT
// values as decimal numbers (ORDER BY orders them by number, while a
// comparison with a string member would compare text).
func (t *snapTable) keyValue(i int, v, conv any) (snapshot.KeyValue, error) {
	col := &t.schema.Columns[i]
	kv := snapshot.KeyValue{Column: col.Name, Kind: col.Kind}
	bad := func() (snapshot.KeyValue, error) {
		return kv, fmt.Errorf("key column %q of type %s: value %T %v has no stored form", col.Name, col.Type, conv, conv)
	}
	if v == nil {
		return kv, fmt.Errorf("key column %q is NULL", col.Name)
	}
	switch col.Kind {
	case schema.KindInt:
		n, ok := conv.(int64)
		if !ok {
			return bad()
		}
		kv.Text = strconv.FormatInt(n, 10)
	case schema.KindUint:
		n, ok := conv.(uint64)
		if !ok {
			return bad()
		}
		kv.Text = strconv.FormatUint(n, 10)
	case schema.KindFloat:
		f, ok := conv.(float64)
		if !ok {
			return bad()
		}
		kv.Text = strconv.FormatFloat(f, 'g', -1, 64)
	case schema.KindDecimal, schema.KindString, schema.KindUUID:
		s, ok := conv.(string)
		if !ok {
			return bad()
		}
		kv.Text = s
	case schema.KindBytes:
		b, ok := conv.([]byte)
		if !ok {
			return bad()
		}
		kv.Text = base64.StdEncoding.EncodeToString(b)
	case schema.KindDate, schema.KindTime, schema.KindTimestamp, schema.KindTimestampTZ:
		raw, err := t.rawValue(i, v)
		if err != nil {
			return kv, fmt.Errorf("key column %q: %w", col.Name, err)
		}
		s, ok := raw.(string)
		if !ok {
			return bad()
		}
		kv.Text = s
	case schema.KindEnum, schema.KindSet, schema.KindBits:
		raw, err := t.rawValue(i, v)
		if err != nil {
			return kv, fmt.Errorf("key column %q: %w", col.Name, err)
		}
		n, ok := raw.(int64)
		if !ok {
			return bad()
		}
		kv.Text = strconv.FormatUint(uint64(n), 10)
	default:
		return bad()
	}
	return kv, nil
}

// keyArgs returns the chunk query's parameters for a stored last key:
// typed int64 and uint64 for integers (and the numbers of enums, sets and
// BIT), float64 for floats (a FLOAT's value widened from its float32, so
// that the row compares equal to itself), []byte for binary strings, and
// strings for the rest; decimals are strings the query casts (keyCasts).
// A string is never compared with a number: MySQL compares those as
// doubles, which loses digits past 2^53.
func keyArgs(t *schema.Table, key []string, last []snapshot.KeyValue) ([]any, error) {
	if len(last) != len(key) {
		return nil, fmt.Errorf("last key of %s has %d columns, the key %d (%s)", t.ID(), len(last), len(key), strings.Join(key, ", "))
	}
	args := make([]any, len(last))
	for i, kv := range last {
		j := t.Column(key[i])
		if j < 0 || kv.Column != key[i] {
			return nil, fmt.Errorf("last key of %s: column %q, want %q", t.ID(), kv.Column, key[i])
		}
		col := &t.Columns[j]
		if kv.Kind != col.Kind {
			return nil, fmt.Errorf("last key of %s: column %q of kind %s, the table's is %s", t.ID(), kv.Column, kv.Kind, col.Kind)
		}
		bad := func(err error) error {
			return fmt.Errorf("last key of %s: column %q (%s) value %q: %w", t.ID(), kv.Column, col.Type, kv.Text, err)
		}
		var err error
		switch col.Kind {
		case schema.KindInt:
			args[i], err = strconv.ParseInt(kv.Text, 10, 64)
		case schema.KindUint, schema.KindEnum, schema.KindSet, schema.KindBits:
			args[i], err = strconv.ParseUint(kv.Text, 10, 64)
		case schema.KindFloat:
			bits := 64
			if col.Type == "float" {
				bits = 32
			}
			var f float64
			f, err = strconv.ParseFloat(kv.Text, bits)
			if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
				err = errors.New("not a finite number")
			}
			args[i] = f
		case schema.KindBytes:
			args[i], err = base64.StdEncoding.DecodeString(kv.Text)
		default:
			args[i] = kv.Text
		}
		if err != nil {
			return nil, bad(err)
		}
	}
	return args, nil
}

var decimalType = regexp.MustCompile(`^decimal\(([0-9]+),([0-9]+)\)`)

// keyCasts returns the chunk query's casts (snapshot.ChunkQuery.Casts) for
// the key columns: DECIMAL(p,s) for decimals, whose stored text goes back as
// a string; none for the others, whose parameters are typed (keyArgs), and
// never for strings, which keep the column's collation.
func keyCasts(t *schema.Table, key []string) ([]string, error) {
	casts := make([]string, len(key))
	cast := false
	for i, k := range key {
		j := t.Column(k)
		if j < 0 {
			return nil, fmt.Errorf("key column %q is not a column of %s", k, t.ID())
		}
		if col := &t.Columns[j]; col.Kind == schema.KindDecimal {
			m := decimalType.FindStringSubmatch(col.Type)
			if m == nil {
				return nil, fmt.Errorf("key column %q: decimal type %q", k, col.Type)
			}
			casts[i] = "DECIMAL(" + m[1] + "," + m[2] + ")"
			cast = true
		}
	}
	if !cast {
		return nil, nil
	}
	return casts, nil
}
