package transform

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cdc-go/cdc/schema"
)

// Debezium writes column values the way Debezium's own connectors do with
// their default settings (docs/debezium-mode.md): temporal values as epoch
// numbers with Debezium's logical names, decimals as Connect Decimals, and
// so on, so that consumers written for Debezium (its JDBC sink, Connect
// converters, ksqlDB) read cdc's topics unchanged. The handling modes are
// Debezium's options of the same names.
//
// A value this mode cannot represent (an unsigned BIGINT above 2^63-1 in
// long mode, a Postgres infinity as an epoch number) is an error: the
// change goes to the dead-letter topic with the reason instead of being
// written wrong.
type Debezium struct {
	Decimal        DecimalMode
	Binary         BinaryMode
	TimePrecision  TimePrecisionMode
	BigintUnsigned BigintUnsignedMode

	mu     sync.Mutex
	tables map[*schema.Table]*dbzTable
}

// DecimalMode is Debezium's decimal.handling.mode.
type DecimalMode string

// Decimal modes.
const (
	DecimalPrecise DecimalMode = "precise" // Connect Decimal: base64 of the unscaled two's complement
	DecimalString  DecimalMode = "string"
	DecimalDouble  DecimalMode = "double"
)

// BinaryMode is Debezium's binary.handling.mode.
type BinaryMode string

// Binary modes.
const (
	BinaryBytes         BinaryMode = "bytes"
	BinaryBase64        BinaryMode = "base64"
	BinaryBase64URLSafe BinaryMode = "base64-url-safe"
	BinaryHex           BinaryMode = "hex"
)

// TimePrecisionMode is Debezium's time.precision.mode.
type TimePrecisionMode string

// Time precision modes. Adaptive is Postgres's default (milliseconds for a
// declared precision of 3 or less), AdaptiveMicros MySQL's (TIME always in
// microseconds), Connect Kafka Connect's own types (milliseconds).
const (
	TimeAdaptive       TimePrecisionMode = "adaptive"
	TimeAdaptiveMicros TimePrecisionMode = "adaptive_time_microseconds"
	TimeConnect        TimePrecisionMode = "connect"
)

// BigintUnsignedMode is Debezium's bigint.unsigned.handling.mode.
type BigintUnsignedMode string

// BIGINT UNSIGNED modes.
const (
	BigintLong    BigintUnsignedMode = "long"
	BigintPrecise BigintUnsignedMode = "precise"
)

// dbzTable is the Debezium form of one table's columns, built once per
// *schema.Table (which is immutable).
type dbzTable struct {
	cols []*dbzColumn
	// schema caches the envelope's Connect schema, which depends on the
	// table and on the source fields beyond Debezium's (their names and
	// types), for schema_in_payload.
	schema atomic.Pointer[dbzSchema]
}

type dbzSchema struct {
	extras string
	json   []byte
}

// dbzColumn converts one column's values (package schema's value types) to
// their Debezium JSON form.
type dbzColumn struct {
	schema *connectSchema
	enc    func(b []byte, v any) ([]byte, error)
}

// maxCachedTables bounds the per-table cache; past it the cache restarts
// (tables change rarely, so this only matters for schema churn).
const maxCachedTables = 4096

func (d *Debezium) table(connector string, t *schema.Table) *dbzTable {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dt, ok := d.tables[t]; ok {
		return dt
	}
	if d.tables == nil || len(d.tables) >= maxCachedTables {
		d.tables = map[*schema.Table]*dbzTable{}
	}
	dt := &dbzTable{cols: make([]*dbzColumn, len(t.Columns))}
	for i := range t.Columns {
		dt.cols[i] = d.column(connector, &t.Columns[i])
	}
	d.tables[t] = dt
	return dt
}

// typeName splits a native type name into its words without the
// parenthesised arguments, and the arguments: "timestamp(3) without time
// zone" is ("timestamp without time zone", [3]), "decimal(20,6) unsigned"
// ("decimal unsigned", [20 6]). Arguments that are not numbers (enum
// labels) are dropped.
func typeName(t string) (string, []int) {
	var args []int
	var b strings.Builder
	for {
		open := strings.IndexByte(t, '(')
		if open < 0 {
			b.WriteString(t)
			break
		}
		end := strings.LastIndexByte(t, ')')
		if end < open {
			b.WriteString(t)
			break
		}
		b.WriteString(t[:open])
		for _, a := range strings.Split(t[open+1:end], ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(a)); err == nil {
				args = append(args, n)
			}
		}
		t = t[end+1:]
	}
	return strings.Join(strings.Fields(b.String()), " "), args
}

func arg(args []int, i, def int) int {
	if i < len(args) {
		return args[i]
	}
	return def
}

var (
	schemaBool    = connectSchema{Type: "boolean"}
	schemaInt16   = connectSchema{Type: "int16"}
	schemaInt32   = connectSchema{Type: "int32"}
	schemaInt64   = connectSchema{Type: "int64"}
	schemaFloat32 = connectSchema{Type: "float"}
	schemaFloat64 = connectSchema{Type: "double"}
	schemaString  = connectSchema{Type: "string"}
)

func named(typ, name string, params ...[2]string) connectSchema {
	s := connectSchema{Type: typ, Name: name, Version: 1, Params: params}
	return s
}

// column builds the converter of one column. Postgres types are known by
// format_type's names, MySQL's by the names the binlog decoder gives
// (source/mysql nativeType); anything else by its kind.
func (d *Debezium) column(connector string, c *schema.Column) *dbzColumn {
	col := d.columnOf(connector, c)
	col.schema = col.schema.optional(c.Nullable)
	return col
}

func (d *Debezium) columnOf(connector string, c *schema.Column) *dbzColumn {
	if connector == "postgresql" {
		if col := d.pgColumn(c); col != nil {
			return col
		}
	} else if col := d.myColumn(c); col != nil {
		return col
	}
	return d.kindColumn(connector, c)
}

func (d *Debezium) pgColumn(c *schema.Column) *dbzColumn {
	name, args := typeName(c.Type)
	if elem, ok := strings.CutSuffix(c.Type, "[]"); ok && c.Kind == schema.KindArray {
		return d.pgArray(c, elem)
	}
	switch name {
	case "smallint":
		return &dbzColumn{schema: &schemaInt16, enc: encInt(16)}
	case "integer":
		return &dbzColumn{schema: &schemaInt32, enc: encInt(32)}
	case "bigint", "oid", "xid":
		return &dbzColumn{schema: &schemaInt64, enc: encInt(64)}
	case "real":
		return &dbzColumn{schema: &schemaFloat32, enc: encFloat}
	case "double precision":
		return &dbzColumn{schema: &schemaFloat64, enc: encFloat}
	case "numeric":
		if len(args) == 0 {
			return d.variableDecimal()
		}
		return d.decimal(arg(args, 0, 0), arg(args, 1, 0))
	case "money":
		return d.decimal(0, 2)
	case "bytea":
		return d.binary()
	case "json", "jsonb", "hstore":
		s := named("string", "io.debezium.data.Json")
		return &dbzColumn{schema: &s, enc: encString}
	case "xml":
		s := named("string", "io.debezium.data.Xml")
		return &dbzColumn{schema: &s, enc: encString}
	case "uuid":
		s := named("string", "io.debezium.data.Uuid")
		return &dbzColumn{schema: &s, enc: encString}
	case "date":
		return d.date()
	case "time without time zone", "time":
		return d.timeOfDay(arg(args, 0, 6))
	case "time with time zone":
		s := named("string", "io.debezium.time.ZonedTime")
		return &dbzColumn{schema: &s, enc: encZonedTime}
	case "timestamp without time zone", "timestamp":
		return d.timestamp(arg(args, 0, 6))
	case "timestamp with time zone":
		s := named("string", "io.debezium.time.ZonedTimestamp")
		return &dbzColumn{schema: &s, enc: encZonedTimestamp(arg(args, 0, 6))}
	case "interval":
		s := named("int64", "io.debezium.time.MicroDuration")
		return &dbzColumn{schema: &s, enc: encInterval}
	case "bit":
		n := arg(args, 0, 1)
		if n == 1 {
			return &dbzColumn{schema: &schemaBool, enc: encBit1}
		}
		return bits(n, true)
	case "bit varying":
		return bits(arg(args, 0, math.MaxInt32), true)
	case "point":
		return &dbzColumn{schema: pointSchema(), enc: encPGPoint}
	case "geometry", "geography": // PostGIS, {"srid", "wkb"} as MySQL's
		return &dbzColumn{schema: geometrySchema(), enc: encMyGeometry}
	case "tsvector":
		s := named("string", "io.debezium.data.Tsvector")
		return &dbzColumn{schema: &s, enc: encString}
	case "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange":
		return &dbzColumn{schema: &schemaString, enc: encRange}
	case "int4multirange", "int8multirange", "nummultirange", "datemultirange", "tsmultirange", "tstzmultirange":
		return &dbzColumn{schema: &schemaString, enc: encMultirange}
	}
	return nil
}

func (d *Debezium) myColumn(c *schema.Column) *dbzColumn {
	name, args := typeName(c.Type)
	unsigned := strings.HasSuffix(name, " unsigned")
	base := strings.TrimSuffix(name, " unsigned")
	switch base {
	case "tinyint":
		return &dbzColumn{schema: &schemaInt16, enc: encInt(16)}
	case "smallint":
		if unsigned {
			return &dbzColumn{schema: &schemaInt32, enc: encInt(32)}
		}
		return &dbzColumn{schema: &schemaInt16, enc: encInt(16)}
	case "mediumint":
		return &dbzColumn{schema: &schemaInt32, enc: encInt(32)}
	case "int":
		if unsigned {
			return &dbzColumn{schema: &schemaInt64, enc: encInt(64)}
		}
		return &dbzColumn{schema: &schemaInt32, enc: encInt(32)}
	case "bigint":
		if unsigned {
			return d.bigintUnsigned()
		}
		return &dbzColumn{schema: &schemaInt64, enc: encInt(64)}
	case "year":
		s := named("int32", "io.debezium.time.Year")
		return &dbzColumn{schema: &s, enc: encInt(32)}
	case "decimal":
		return d.decimal(arg(args, 0, 0), arg(args, 1, 0))
	case "float":
		return &dbzColumn{schema: &schemaFloat32, enc: encFloat}
	case "double":
		return &dbzColumn{schema: &schemaFloat64, enc: encFloat}
	case "bit":
		n := arg(args, 0, 1)
		if n == 1 {
			return &dbzColumn{schema: &schemaBool, enc: encBit1}
		}
		return bits(n, false)
	case "date":
		return d.myZero(c, d.date())
	case "time":
		col := d.timeOfDay(6)
		if d.TimePrecision == TimeAdaptive {
			col = d.timeOfDay(arg(args, 0, 0))
		}
		if col.schema.Type == "int32" {
			// Kafka Connect's Time (and Debezium's) is a time of day;
			// MySQL's TIME may be negative or past 24 hours.
			col.enc = encTimeInDay(col.enc)
		}
		return col
	case "datetime":
		return d.myZero(c, d.timestamp(arg(args, 0, 0)))
	case "timestamp":
		s := named("string", "io.debezium.time.ZonedTimestamp")
		return d.myZero(c, &dbzColumn{schema: &s, enc: encZonedTimestamp(arg(args, 0, 0))})
	case "json":
		s := named("string", "io.debezium.data.Json")
		return &dbzColumn{schema: &s, enc: encString}
	case "enum":
		s := named("string", "io.debezium.data.Enum", [2]string{"allowed", strings.Join(c.Values, ",")})
		return &dbzColumn{schema: &s, enc: encString}
	case "set":
		s := named("string", "io.debezium.data.EnumSet", [2]string{"allowed", strings.Join(c.Values, ",")})
		return &dbzColumn{schema: &s, enc: encSet}
	case "uuid":
		s := named("string", "io.debezium.data.Uuid")
		return &dbzColumn{schema: &s, enc: encString}
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "vector":
		return d.binary()
	case "point":
		return &dbzColumn{schema: pointSchema(), enc: encMyPoint}
	case "geometry", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return &dbzColumn{schema: geometrySchema(), enc: encMyGeometry}
	}
	return nil
}

// kindColumn is the converter for a type known only by its kind: Postgres
// domains (their base type's kind), user enums, and types without a
// mapping, which keep their text.
func (d *Debezium) kindColumn(connector string, c *schema.Column) *dbzColumn {
	switch c.Kind {
	case schema.KindBool:
		return &dbzColumn{schema: &schemaBool, enc: encBool}
	case schema.KindInt:
		return &dbzColumn{schema: &schemaInt64, enc: encInt(64)}
	case schema.KindUint:
		return d.bigintUnsigned()
	case schema.KindFloat:
		return &dbzColumn{schema: &schemaFloat64, enc: encFloat}
	case schema.KindDecimal:
		return d.variableDecimal()
	case schema.KindBytes:
		return d.binary()
	case schema.KindJSON, schema.KindArray:
		s := named("string", "io.debezium.data.Json")
		return &dbzColumn{schema: &s, enc: encString}
	case schema.KindUUID:
		s := named("string", "io.debezium.data.Uuid")
		return &dbzColumn{schema: &s, enc: encString}
	case schema.KindDate:
		return d.date()
	case schema.KindTime:
		return d.timeOfDay(6)
	case schema.KindTimestamp:
		return d.timestamp(6)
	case schema.KindTimestampTZ:
		s := named("string", "io.debezium.time.ZonedTimestamp")
		return &dbzColumn{schema: &s, enc: encZonedTimestamp(-1)}
	case schema.KindInterval:
		s := named("int64", "io.debezium.time.MicroDuration")
		return &dbzColumn{schema: &s, enc: encInterval}
	case schema.KindEnum:
		s := named("string", "io.debezium.data.Enum")
		if len(c.Values) > 0 {
			s.Params = [][2]string{{"allowed", strings.Join(c.Values, ",")}}
		}
		return &dbzColumn{schema: &s, enc: encString}
	case schema.KindSet:
		s := named("string", "io.debezium.data.EnumSet")
		return &dbzColumn{schema: &s, enc: encSet}
	case schema.KindBits:
		return bits(math.MaxInt32, connector == "postgresql")
	}
	return &dbzColumn{schema: &schemaString, enc: encString}
}

func (d *Debezium) decimal(precision, scale int) *dbzColumn {
	switch d.Decimal {
	case DecimalString:
		return &dbzColumn{schema: &schemaString, enc: encString}
	case DecimalDouble:
		return &dbzColumn{schema: &schemaFloat64, enc: encDecimalDouble}
	}
	s := connectSchema{Type: "bytes", Name: "org.apache.kafka.connect.data.Decimal", Version: 1,
		Params: [][2]string{{"scale", strconv.Itoa(scale)}}}
	if precision > 0 {
		s.Params = append(s.Params, [2]string{"connect.decimal.precision", strconv.Itoa(precision)})
	}
	return &dbzColumn{schema: &s, enc: encDecimal(scale)}
}

// variableDecimal is a decimal without a declared scale (Postgres numeric):
// in precise mode Debezium's VariableScaleDecimal, a struct of the scale
// and the unscaled value.
func (d *Debezium) variableDecimal() *dbzColumn {
	switch d.Decimal {
	case DecimalString:
		return &dbzColumn{schema: &schemaString, enc: encString}
	case DecimalDouble:
		return &dbzColumn{schema: &schemaFloat64, enc: encDecimalDouble}
	}
	s := connectSchema{Type: "struct", Name: "io.debezium.data.VariableScaleDecimal", Version: 1,
		Fields: []connectField{{"scale", &schemaInt32}, {"value", &connectSchema{Type: "bytes"}}}}
	return &dbzColumn{schema: &s, enc: encVariableDecimal}
}

func (d *Debezium) bigintUnsigned() *dbzColumn {
	if d.BigintUnsigned == BigintPrecise {
		s := connectSchema{Type: "bytes", Name: "org.apache.kafka.connect.data.Decimal", Version: 1,
			Params: [][2]string{{"scale", "0"}, {"connect.decimal.precision", "20"}}}
		return &dbzColumn{schema: &s, enc: encDecimal(0)}
	}
	return &dbzColumn{schema: &schemaInt64, enc: encInt(64)}
}

func (d *Debezium) binary() *dbzColumn {
	if d.Binary == "" || d.Binary == BinaryBytes {
		return &dbzColumn{schema: &connectSchema{Type: "bytes"}, enc: encBytesAs(BinaryBytes)}
	}
	return &dbzColumn{schema: &schemaString, enc: encBytesAs(d.Binary)} // base64, base64-url-safe, hex
}

func (d *Debezium) date() *dbzColumn {
	if d.TimePrecision == TimeConnect {
		s := named("int32", "org.apache.kafka.connect.data.Date")
		return &dbzColumn{schema: &s, enc: encDate}
	}
	s := named("int32", "io.debezium.time.Date")
	return &dbzColumn{schema: &s, enc: encDate}
}

// timeOfDay is a time column of the given declared fraction digits.
func (d *Debezium) timeOfDay(precision int) *dbzColumn {
	switch {
	case d.TimePrecision == TimeConnect:
		s := named("int32", "org.apache.kafka.connect.data.Time")
		return &dbzColumn{schema: &s, enc: encTimeUnit(1000)}
	case d.TimePrecision == TimeAdaptive && precision <= 3:
		s := named("int32", "io.debezium.time.Time")
		return &dbzColumn{schema: &s, enc: encTimeUnit(1000)}
	}
	s := named("int64", "io.debezium.time.MicroTime")
	return &dbzColumn{schema: &s, enc: encTimeUnit(1)}
}

// timestamp is a timestamp without zone (Postgres timestamp, MySQL
// DATETIME) of the given declared fraction digits.
func (d *Debezium) timestamp(precision int) *dbzColumn {
	switch {
	case d.TimePrecision == TimeConnect:
		s := named("int64", "org.apache.kafka.connect.data.Timestamp")
		return &dbzColumn{schema: &s, enc: encTimestampUnit(1000)}
	case precision <= 3:
		s := named("int64", "io.debezium.time.Timestamp")
		return &dbzColumn{schema: &s, enc: encTimestampUnit(1000)}
	}
	s := named("int64", "io.debezium.time.MicroTimestamp")
	return &dbzColumn{schema: &s, enc: encTimestampUnit(1)}
}

// myZero wraps a MySQL date or time converter: zero and invalid dates
// ("0000-00-00", "2024-02-30") are null in a nullable column and the
// epoch in a NOT NULL one, as Debezium writes them.
func (d *Debezium) myZero(c *schema.Column, col *dbzColumn) *dbzColumn {
	enc := col.enc
	epoch := func(b []byte) ([]byte, error) {
		if col.schema.Type == "string" {
			return appendString(b, "1970-01-01T00:00:00Z"), nil
		}
		return append(b, '0'), nil
	}
	nullable := c.Nullable
	col.enc = func(b []byte, v any) ([]byte, error) {
		if s, ok := v.(string); ok && !validMyDate(s) {
			if nullable {
				return append(b, "null"...), nil
			}
			return epoch(b)
		}
		return enc(b, v)
	}
	return col
}

// bits is BIT(n) for n > 1 and Postgres's bit varying: Debezium's Bits,
// little-endian bytes. Postgres's are as short as the value allows (no
// high zero bytes), MySQL's always ⌈n/8⌉ bytes, as Debezium writes them.
func bits(n int, minimal bool) *dbzColumn {
	s := named("bytes", "io.debezium.data.Bits", [2]string{"length", strconv.Itoa(n)})
	return &dbzColumn{schema: &s, enc: encBits(minimal)}
}

func pointSchema() *connectSchema {
	return &connectSchema{Type: "struct", Name: "io.debezium.data.geometry.Point", Version: 1, Fields: []connectField{
		{"x", &schemaFloat64}, {"y", &schemaFloat64},
		{"wkb", &connectSchema{Type: "bytes", Optional: true}},
		{"srid", &connectSchema{Type: "int32", Optional: true}},
	}}
}

func geometrySchema() *connectSchema {
	return &connectSchema{Type: "struct", Name: "io.debezium.data.geometry.Geometry", Version: 1, Fields: []connectField{
		{"wkb", &connectSchema{Type: "bytes"}},
		{"srid", &connectSchema{Type: "int32", Optional: true}},
	}}
}

// pgArray is a Postgres array: a Connect array of its element's schema.
func (d *Debezium) pgArray(c *schema.Column, elemType string) *dbzColumn {
	elem := &schema.Column{Name: c.Name, Type: elemType, Kind: pgKindOf(elemType), Nullable: true}
	ec := d.columnOf("postgresql", elem)
	ec.schema = ec.schema.optional(true)
	s := &connectSchema{Type: "array", Items: ec.schema}
	return &dbzColumn{schema: s, enc: encArray(ec, elem.Kind)}
}

// pgKindOf is the kind of an array element type named by format_type, for
// the element types the Postgres source decodes (source/postgres array.go).
func pgKindOf(t string) schema.Kind {
	name, _ := typeName(t)
	switch name {
	case "boolean":
		return schema.KindBool
	case "smallint", "integer", "bigint", "oid":
		return schema.KindInt
	case "real", "double precision":
		return schema.KindFloat
	case "numeric", "money":
		return schema.KindDecimal
	case "bytea":
		return schema.KindBytes
	case "json", "jsonb":
		return schema.KindJSON
	case "uuid":
		return schema.KindUUID
	case "date":
		return schema.KindDate
	case "time without time zone", "time with time zone":
		return schema.KindTime
	case "timestamp without time zone":
		return schema.KindTimestamp
	case "timestamp with time zone":
		return schema.KindTimestampTZ
	case "interval":
		return schema.KindInterval
	case "bit", "bit varying":
		return schema.KindBits
	}
	return schema.KindString
}

// errUnrepresentable reports a value Debezium's encoding has no form for.
type errUnrepresentable struct {
	value any
	what  string
}

func (e *errUnrepresentable) Error() string {
	v := e.value
	switch x := v.(type) {
	case json.RawMessage:
		v = string(x)
	case []byte:
		v = fmt.Sprintf("0x%x", x)
	}
	return fmt.Sprintf("value %v cannot be written in events.format: debezium (%s)", v, e.what)
}

// ColumnJSON is one value of column c in Debezium's form, and the column's
// Connect schema, as an event of connector ("postgresql", "mariadb",
// "mysql") carries them; for documentation and tests.
func (d *Debezium) ColumnJSON(connector string, c *schema.Column, v any) (value, connectSchema []byte, err error) {
	col := d.column(connector, c)
	value, err = col.append(nil, v)
	return value, col.schema.appendJSON(nil, ""), err
}
