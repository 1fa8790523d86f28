package mysql

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/cdc-go/cdc/schema"
)

// column is how one column's binlog values are decoded: what the table-map
// event says about it, resolved once per table map.
type column struct {
	typ      byte   // real type: MYSQL_TYPE_ENUM/SET rather than STRING
	length   int    // bit width of BIT, byte length of CHAR/VARCHAR
	charset  string // "binary" for binary strings; "" when unknown
	values   []string
	geometry bool
	ext      string // MariaDB type stored as BINARY(n): "inet4", "inet6", "uuid"; see extTypes
	json     bool   // a MariaDB JSON column (LONGTEXT with json_valid); see extJSON
	fsp      int    // TIME's declared fractional digits
	cs       *charsets
}

// table is a captured table as one table-map event describes it.
type table struct {
	schema *schema.Table
	cols   []column
}

// errNoColumnNames reports table maps written without full row metadata.
var errNoColumnNames = errors.New("the binlog has no column names for this table (binlog_row_metadata is not FULL); fix: SET GLOBAL binlog_row_metadata = 'FULL'; and add binlog_row_metadata = FULL under [mysqld] in my.cnf")

// describe builds the schema of a table from its table-map event. The
// binlog's full row metadata (binlog_row_metadata=FULL) carries column
// names, signedness, charsets, enum and set members and the primary key, so
// the schema is the one the rows were written with, not today's. ext names
// the columns that information_schema says are MariaDB INET4, INET6 or UUID
// (the binlog shows them as BINARY(n)); nil when unknown.
func describe(tm *replication.TableMapEvent, cs *charsets, ext map[string]string) (*table, error) {
	names := tm.ColumnNameString()
	if len(names) != int(tm.ColumnCount) {
		return nil, fmt.Errorf("table %s.%s: %w", tm.Schema, tm.Table, errNoColumnNames)
	}
	unsigned := tm.UnsignedMap()
	collations := tm.CollationMap()
	enumSetCollations := tm.EnumSetCollationMap()
	enums := tm.EnumStrValueMap()
	sets := tm.SetStrValueMap()
	geoms := tm.GeometryTypeMap()
	t := &table{
		schema: &schema.Table{Namespace: string(tm.Schema), Name: string(tm.Table), Columns: make([]schema.Column, tm.ColumnCount)},
		cols:   make([]column, tm.ColumnCount),
	}
	for i := range t.cols {
		c := &t.cols[i]
		c.cs = cs
		c.typ, c.length = realType(tm.ColumnType[i], tm.ColumnMeta[i])
		coll, ok := collations[i]
		if !ok {
			coll, ok = enumSetCollations[i]
		}
		if ok {
			c.charset = cs.name(coll)
		}
		switch c.typ {
		case gomysql.MYSQL_TYPE_ENUM:
			c.values = enums[i]
		case gomysql.MYSQL_TYPE_SET:
			c.values = sets[i]
		case gomysql.MYSQL_TYPE_BIT:
			meta := tm.ColumnMeta[i]
			c.length = int(meta>>8)*8 + int(meta&0xff)
		case gomysql.MYSQL_TYPE_GEOMETRY:
			c.geometry = true
		case gomysql.MYSQL_TYPE_TIME2:
			c.fsp = int(tm.ColumnMeta[i])
		}
		if typ, ok := ext[names[i]]; ok && isExtCandidate(c) && extSize[typ] == c.length {
			c.ext = typ
		}
		if ext[names[i]] == extJSON && isJSONCandidate(c, tm.ColumnMeta[i]) {
			c.json = true
		}
		_, nullable := tm.Nullable(i)
		col := schema.Column{
			Name:     names[i],
			TypeID:   uint32(c.typ),
			Nullable: nullable || len(tm.NullBitmap) == 0,
			Values:   c.labels(),
		}
		col.Type, col.Kind = nativeType(c, tm.ColumnMeta[i], unsigned[i], cs, geoms[i])
		t.schema.Columns[i] = col
	}
	for _, k := range tm.PrimaryKey {
		if k < tm.ColumnCount {
			t.schema.Columns[k].Key = true
		}
	}
	return t, nil
}

// realType unwraps MYSQL_TYPE_STRING, whose metadata hides ENUM and SET and
// the length of long CHAR columns (see go-mysql's RowsEvent.decodeValue).
func realType(typ byte, meta uint16) (byte, int) {
	switch typ {
	case gomysql.MYSQL_TYPE_STRING:
		if meta >= 256 {
			b0, b1 := byte(meta>>8), byte(meta&0xff)
			if b0&0x30 != 0x30 {
				return b0 | 0x30, int(uint16(b1) | uint16((b0&0x30)^0x30)<<4)
			}
			return b0, int(b1)
		}
		return typ, int(meta)
	case gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING:
		return typ, int(meta)
	case gomysql.MYSQL_TYPE_DATE:
		return gomysql.MYSQL_TYPE_DATE, 0
	}
	return typ, 0
}

var geometryNames = []string{"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection"}

// nativeType names a column's type the way the server spells it, as far as
// the binlog metadata tells (display widths and zerofill are not in it).
func nativeType(c *column, meta uint16, unsigned bool, cs *charsets, geom uint64) (string, schema.Kind) {
	integer := func(name string) (string, schema.Kind) {
		if unsigned {
			return name + " unsigned", schema.KindUint
		}
		return name, schema.KindInt
	}
	frac := func(name string) string {
		if meta > 0 {
			return fmt.Sprintf("%s(%d)", name, meta)
		}
		return name
	}
	binary := c.charset == "binary"
	chars := func(n int) int {
		if m := cs.maxLen(c.charset); m > 1 {
			return n / m
		}
		return n
	}
	if c.json {
		return "json", schema.KindJSON
	}
	switch c.ext {
	case extUUID:
		return extUUID, schema.KindUUID
	case extInet4, extInet6:
		return c.ext, schema.KindString
	}
	switch c.typ {
	case gomysql.MYSQL_TYPE_TINY:
		return integer("tinyint")
	case gomysql.MYSQL_TYPE_SHORT:
		return integer("smallint")
	case gomysql.MYSQL_TYPE_INT24:
		return integer("mediumint")
	case gomysql.MYSQL_TYPE_LONG:
		return integer("int")
	case gomysql.MYSQL_TYPE_LONGLONG:
		return integer("bigint")
	case gomysql.MYSQL_TYPE_YEAR:
		return "year", schema.KindInt
	case gomysql.MYSQL_TYPE_NEWDECIMAL:
		name := fmt.Sprintf("decimal(%d,%d)", meta>>8, meta&0xff)
		if unsigned {
			name += " unsigned"
		}
		return name, schema.KindDecimal
	case gomysql.MYSQL_TYPE_FLOAT:
		return "float", schema.KindFloat
	case gomysql.MYSQL_TYPE_DOUBLE:
		return "double", schema.KindFloat
	case gomysql.MYSQL_TYPE_BIT:
		return fmt.Sprintf("bit(%d)", c.length), schema.KindBits
	case gomysql.MYSQL_TYPE_DATE:
		return "date", schema.KindDate
	case gomysql.MYSQL_TYPE_TIME, gomysql.MYSQL_TYPE_TIME2:
		return frac("time"), schema.KindTime
	case gomysql.MYSQL_TYPE_DATETIME, gomysql.MYSQL_TYPE_DATETIME2:
		return frac("datetime"), schema.KindTimestamp
	case gomysql.MYSQL_TYPE_TIMESTAMP, gomysql.MYSQL_TYPE_TIMESTAMP2:
		return frac("timestamp"), schema.KindTimestampTZ
	case gomysql.MYSQL_TYPE_JSON:
		return "json", schema.KindJSON
	case gomysql.MYSQL_TYPE_ENUM:
		return "enum(" + quoteList(c.labels()) + ")", schema.KindEnum
	case gomysql.MYSQL_TYPE_SET:
		return "set(" + quoteList(c.labels()) + ")", schema.KindSet
	case gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING:
		if binary {
			return fmt.Sprintf("varbinary(%d)", c.length), schema.KindBytes
		}
		return fmt.Sprintf("varchar(%d)", chars(c.length)), schema.KindString
	case gomysql.MYSQL_TYPE_STRING:
		if binary {
			return fmt.Sprintf("binary(%d)", c.length), schema.KindBytes
		}
		return fmt.Sprintf("char(%d)", chars(c.length)), schema.KindString
	case gomysql.MYSQL_TYPE_BLOB:
		size := [...]string{1: "tiny", 2: "", 3: "medium", 4: "long"}
		prefix := ""
		if int(meta) < len(size) {
			prefix = size[meta]
		}
		if binary || c.charset == "" {
			return prefix + "blob", schema.KindBytes
		}
		return prefix + "text", schema.KindString
	case gomysql.MYSQL_TYPE_GEOMETRY:
		name := "geometry"
		if geom < uint64(len(geometryNames)) {
			name = geometryNames[geom]
		}
		return name, schema.KindJSON // {"srid": n, "wkb": base64}
	case gomysql.MYSQL_TYPE_VECTOR:
		return "vector", schema.KindBytes
	}
	return fmt.Sprintf("type%d", c.typ), schema.KindUnknown
}

// label returns enum or set member i in UTF-8. The table map has the
// members in the column's charset (a latin1 'é' is the byte 0xe9), and a
// snapshot's unconverted SELECT matches its values against those bytes, so
// they are converted here, as the column's text would be.
func (c *column) label(i int) (string, error) {
	m := c.values[i]
	if c.cs == nil || isASCII(m) {
		return m, nil
	}
	v, err := c.cs.decodeText(c.charset, []byte(m))
	if err != nil {
		return "", fmt.Errorf("member %d: %w", i+1, err)
	}
	if b, ok := v.([]byte); ok { // CHARACTER SET binary
		return string(b), nil
	}
	return v.(string), nil
}

// labels are all members in UTF-8, for the schema; a member that does not
// convert keeps its bytes there (a value that is that member is reported
// when it occurs).
func (c *column) labels() []string {
	if c.values == nil {
		return nil
	}
	out := make([]string, len(c.values))
	for i := range c.values {
		l, err := c.label(i)
		if err != nil {
			l = c.values[i]
		}
		out[i] = l
	}
	return out
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(q, ",")
}

// row converts one decoded row image to the value types of package schema.
// skipped lists the columns the image does not carry (binlog_row_image other
// than FULL): they become schema.Unavailable, never a fake NULL. A value
// that cannot be converted keeps its raw text and is reported in the
// returned error; the rest of the row is still converted.
func (t *table) row(raw []any, skipped []int) ([]any, error) {
	if len(raw) != len(t.cols) {
		return nil, fmt.Errorf("table %s: row has %d columns, its table map %d", t.schema.ID(), len(raw), len(t.cols))
	}
	out := make([]any, len(raw))
	var errs error
	for i, v := range raw {
		out[i], errs = t.value(i, v, errs)
	}
	for _, i := range skipped {
		if i >= 0 && i < len(out) {
			out[i] = schema.Unavailable{}
		}
	}
	return out, errs
}

func (t *table) value(i int, v any, errs error) (any, error) {
	if v == nil {
		return nil, errs
	}
	out, err := convert(&t.cols[i], t.schema.Columns[i].Kind, v)
	if err != nil {
		col := &t.schema.Columns[i]
		if b, ok := bytesOf(v); ok && (col.Kind == schema.KindString || col.Kind == schema.KindJSON) {
			// Text that cannot be converted keeps its bytes: nothing is
			// lost in the dead letter, where they show as base64.
			errs = errors.Join(errs, fmt.Errorf("column %q of type %s: %w (the dead-lettered row carries the column's raw bytes, base64)", col.Name, col.Type, err))
			return b, errs
		}
		errs = errors.Join(errs, fmt.Errorf("column %q of type %s: %w", col.Name, col.Type, err))
		return rawText(v), errs
	}
	return out, errs
}

// rawText is the fallback form of a value that could not be converted.
func rawText(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return fmt.Sprint(v)
}

// convert maps a value as go-mysql decodes it (see replication.RowsEvent)
// to the Go types documented in package schema.
func convert(c *column, kind schema.Kind, v any) (any, error) {
	if c.ext != "" {
		b, ok := bytesOf(v)
		if !ok {
			return nil, fmt.Errorf("unexpected %T", v)
		}
		return formatExt(c.ext, padBinary(b, c.length))
	}
	switch kind {
	// A value that has its final type already is returned as the
	// interface it came in: re-boxing it would allocate for every column.
	case schema.KindInt:
		switch x := v.(type) {
		case int8:
			return int64(x), nil
		case int16:
			return int64(x), nil
		case int32:
			return int64(x), nil
		case int64:
			return v, nil
		case int:
			return int64(x), nil
		}
	case schema.KindUint:
		switch x := v.(type) {
		case uint8:
			return uint64(x), nil
		case uint16:
			return uint64(x), nil
		case uint32:
			return uint64(x), nil
		case uint64:
			return v, nil
		}
	case schema.KindFloat:
		var f float64
		switch x := v.(type) {
		case float32:
			// The shortest decimal that round-trips the float32: 0.1, not
			// 0.10000000149011612.
			f, _ = strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		case float64:
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				return v, nil
			}
			f = x
		default:
			return nil, fmt.Errorf("unexpected %T", v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64), nil
		}
		return f, nil
	case schema.KindDecimal:
		if _, ok := v.(string); ok {
			return v, nil
		}
	case schema.KindBits:
		if n, ok := v.(int64); ok {
			return fmt.Sprintf("%0*b", c.length, uint64(n)), nil
		}
	case schema.KindDate:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case schema.KindTime:
		if s, ok := v.(string); ok {
			// go-mysql leaves the fraction out when it is zero; the
			// column's declared digits are always written.
			if c.fsp > 0 && !strings.Contains(s, ".") {
				s += "." + strings.Repeat("0", c.fsp)
			}
			return s, nil
		}
	case schema.KindTimestamp:
		if s, ok := v.(string); ok {
			return isoTime(s, false)
		}
	case schema.KindTimestampTZ:
		if s, ok := v.(string); ok {
			return isoTime(s, true)
		}
	case schema.KindEnum:
		if n, ok := v.(int64); ok {
			switch {
			case n == 0:
				return "", nil // the "invalid value" member MySQL stores for bad input
			case n > 0 && int(n) <= len(c.values):
				return c.label(int(n - 1))
			}
			return nil, fmt.Errorf("enum index %d outside its %d members", n, len(c.values))
		}
	case schema.KindSet:
		if n, ok := v.(int64); ok {
			members := []string{}
			for b := 0; b < 64; b++ {
				if uint64(n)&(1<<b) == 0 {
					continue
				}
				if b >= len(c.values) {
					return nil, fmt.Errorf("set bit %d outside its %d members", b, len(c.values))
				}
				m, err := c.label(b)
				if err != nil {
					return nil, err
				}
				members = append(members, m)
			}
			return members, nil
		}
	case schema.KindJSON:
		if c.geometry {
			return geometryJSON(v)
		}
		if c.json { // MariaDB: JSON text in the column's charset
			b, ok := bytesOf(v)
			if !ok {
				return nil, fmt.Errorf("unexpected %T", v)
			}
			decoded, err := c.cs.decodeText(c.charset, b)
			if err != nil {
				return nil, err
			}
			text, ok := decoded.(string)
			if !ok || !json.Valid([]byte(text)) {
				return nil, errors.New("invalid JSON")
			}
			return json.RawMessage(text), nil
		}
		switch v := v.(type) {
		case string:
			if json.Valid([]byte(v)) {
				return json.RawMessage(v), nil
			}
			return nil, errors.New("invalid JSON")
		case []byte:
			if len(v) == 0 {
				return json.RawMessage("null"), nil // an empty document (INSERT IGNORE of NULL): MySQL reads it as null
			}
			if json.Valid(v) {
				return json.RawMessage(v), nil
			}
			return nil, errors.New("invalid JSON")
		case *replication.JsonDiff:
			return nil, errors.New("partial JSON update; fix: SET GLOBAL binlog_row_value_options = ''")
		}
	case schema.KindBytes:
		b, ok := bytesOf(v)
		if !ok {
			break
		}
		if c.typ == gomysql.MYSQL_TYPE_STRING && c.charset == "binary" {
			// BINARY(n): the binlog drops trailing 0x00 bytes.
			return padBinary(b, c.length), nil
		}
		return b, nil
	case schema.KindString:
		var b []byte
		switch v := v.(type) {
		case []byte:
			b = v
		case string:
			if validUTF8String(c.charset, v) {
				return v, nil // go-mysql's string as it is: no copy to bytes and back
			}
			b = []byte(v)
		default:
			return nil, fmt.Errorf("unexpected %T", v)
		}
		return c.cs.decodeText(c.charset, b)
	default:
		return rawText(v), nil
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

// bytesOf returns the bytes of a string-like value as go-mysql decodes it.
func bytesOf(v any) ([]byte, bool) {
	switch v := v.(type) {
	case []byte:
		return v, true
	case string:
		return []byte(v), true
	}
	return nil, false
}

const (
	mysqlDatetime = "2006-01-02 15:04:05.999999"
	isoLocal      = "2006-01-02T15:04:05.999999999"
)

// isoTime turns go-mysql's "2006-01-02 15:04:05[.ffffff]" into ISO-8601:
// DATETIME without zone, TIMESTAMP in UTC with "Z" (the syncer renders
// TIMESTAMP in UTC), the fraction without trailing zeros.
//
// Dates the server stores but the calendar does not have (the zero date
// 0000-00-00, a zero month or day, 2024-02-30 under ALLOW_INVALID_DATES)
// keep their fields exactly as stored, in the same layout:
// "2024-02-30T10:00:00", "0000-00-00T00:00:00" ("...Z" for TIMESTAMP),
// as DATE passes "2024-02-30" and "0000-00-00" through. They are values,
// not conversion errors.
func isoTime(s string, utc bool) (any, error) {
	t, err := time.Parse(mysqlDatetime, s)
	if err != nil {
		if !storedDatetime.MatchString(s) {
			return nil, fmt.Errorf("cannot parse %q", s)
		}
		out := strings.Replace(s, " ", "T", 1)
		if strings.Contains(out, ".") {
			out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
		}
		if utc {
			out += "Z"
		}
		return out, nil
	}
	if utc {
		return t.UTC().Format(time.RFC3339Nano), nil
	}
	return t.Format(isoLocal), nil
}

// storedDatetime is the layout go-mysql renders DATETIME and TIMESTAMP
// fields in, whatever their values.
var storedDatetime = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$`)

// charsets resolves collation ids (as table-map events carry them) to
// charset names and their maximum bytes per character. It is filled from the
// server's information_schema at Open, on top of a built-in table of the
// common collations; it is read-only afterwards.
type charsets struct {
	byID   map[uint64]string
	maxlen map[string]int
	tables map[string]*byteTable // single-byte charsets, as the server maps them
}

func newCharsets() *charsets {
	cs := &charsets{byID: map[uint64]string{}, tables: map[string]*byteTable{}, maxlen: map[string]int{
		"binary": 1, "latin1": 1, "ascii": 1, "utf8mb3": 3, "utf8": 3, "utf8mb4": 4,
		"ucs2": 2, "utf16": 4, "utf16le": 4, "utf32": 4, "gbk": 2, "big5": 2, "sjis": 2, "cp932": 2, "ujis": 3, "euckr": 2, "gb18030": 4,
	}}
	for _, id := range []uint64{5, 8, 15, 31, 47, 48, 49, 94} {
		cs.byID[id] = "latin1"
	}
	for _, id := range []uint64{11, 65} {
		cs.byID[id] = "ascii"
	}
	cs.byID[63] = "binary"
	for _, id := range []uint64{33, 76, 83} {
		cs.byID[id] = "utf8mb3"
	}
	for id := uint64(192); id <= 223; id++ {
		cs.byID[id] = "utf8mb3"
	}
	for _, id := range []uint64{45, 46} {
		cs.byID[id] = "utf8mb4"
	}
	for id := uint64(224); id <= 323; id++ {
		cs.byID[id] = "utf8mb4"
	}
	return cs
}

// name returns the charset of a collation id, or "unknown(<id>)".
func (cs *charsets) name(id uint64) string {
	if n, ok := cs.byID[id]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", id)
}

func (cs *charsets) maxLen(charset string) int { return cs.maxlen[charset] }

// geometryJSON turns a geometry value as the server stores it (a 4-byte
// little-endian SRID, then the WKB) into {"srid": n, "wkb": base64}, as
// Debezium's io.debezium.data.geometry.Geometry carries it.
func geometryJSON(v any) (json.RawMessage, error) {
	b, ok := bytesOf(v)
	if !ok {
		return nil, fmt.Errorf("unexpected %T", v)
	}
	if len(b) < 4+5 { // SRID, byte order, type
		return nil, fmt.Errorf("geometry of %d bytes: too short for an SRID and WKB", len(b))
	}
	srid := binary.LittleEndian.Uint32(b[:4])
	out := fmt.Appendf(nil, `{"srid":%d,"wkb":"`, srid)
	out = base64.StdEncoding.AppendEncode(out, b[4:])
	return append(out, `"}`...), nil
}
