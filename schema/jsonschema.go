package schema

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
)

// jsonObject is a JSON object that keeps its keys in insertion order, so
// generated schemas list properties in column order and encode to equal
// bytes for equal versions.
type jsonObject []jsonMember

type jsonMember struct {
	key   string
	value any
}

func (o jsonObject) set(key string, value any) jsonObject { return append(o, jsonMember{key, value}) }

// MarshalJSON writes the members in order.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

const jsonSchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// Patterns of values whose JSON form is a string with a known shape. They
// follow the sources' encodings (see package schema's value types and the
// source decoders), including the non-ISO forms that are passed through.
const (
	// Postgres "NaN", "Infinity", "-Infinity"; Go's "+Inf", "-Inf" (MySQL).
	floatSpecialPattern = `^(NaN|[+-]?Inf|[+-]?Infinity)$`
	// Plain decimals; Postgres numeric also has NaN and ±Infinity.
	decimalPattern = `^([+-]?[0-9]+(\.[0-9]+)?|NaN|[+-]?Infinity)$`
	// ISO-8601 without offset: four-digit years, or a sign and six digits
	// (BC, year 10000 and later); Postgres's "infinity" and "-infinity";
	// MySQL zero dates.
	timestampPattern = `^(([0-9]{4}|[+-][0-9]{6})-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?|[+-]?infinity)$`
	bitsPattern      = `^[01]*$`
)

// RowJSONSchema returns the JSON Schema (draft 2020-12) of the row objects
// ("before", "after") of events written with version v:
//
//   - "$id" "cdc:<table>:v<version>" (table percent-escaped), a title, and
//     "x-cdc-table", "x-cdc-version", "x-cdc-fingerprint";
//   - one property per column in column order, typed by Kind (see below),
//     with "x-cdc-type" (native type), "x-cdc-kind" and, on key columns,
//     "x-cdc-key": true; nullable columns also allow null;
//   - every column required, no other properties.
//
// Kinds: bool boolean; int integer; uint integer >= 0; float number or one
// of the strings NaN/±Infinity/±Inf; decimal string with a numeric pattern
// (money included); bytes base64 string; json any value; uuid string
// format uuid; date string format date; time and interval string; timestamp
// string matching ISO-8601 without offset; timestamptz string format
// date-time; enum string among the members (MySQL's "" invalid member
// included); set array of distinct members; bits string of 0/1; array a
// JSON array (nested per dimension); unknown: the database's text form as
// a string.
//
// A value the source did not send (unchanged TOAST, MySQL minimal row image)
// is the string "__cdc_unavailable_value" in any column; the schema allows
// it wherever the column's own schema would not ("$defs/unavailable").
// "format" is an annotation in 2020-12: Postgres "infinity" dates and MySQL
// zero dates pass unless a validator asserts formats.
func RowJSONSchema(v *Version) []byte {
	return indentJSON(rowSchema(v, true))
}

func rowSchema(v *Version, root bool) jsonObject {
	var s jsonObject
	if root {
		s = s.set("$schema", jsonSchemaDialect)
	}
	s = s.set("$id", rowSchemaID(v)).
		set("title", v.Table+" version "+strconv.Itoa(v.Version)).
		set("description", "A row of "+v.Table+" as written with schema version "+strconv.Itoa(v.Version)+".").
		set("x-cdc-table", v.Table).
		set("x-cdc-version", v.Version).
		set("x-cdc-fingerprint", v.Fingerprint).
		set("type", "object")
	props := jsonObject{}
	required := make([]string, 0, len(v.Columns))
	for _, c := range v.Columns {
		props = props.set(c.Name, columnSchema(c))
		required = append(required, c.Name)
	}
	return s.set("properties", props).
		set("required", required).
		set("additionalProperties", false).
		set("$defs", jsonObject{}.set("unavailable", jsonObject{}.
			set("description", "A value the source did not send (unchanged TOAST value, MySQL minimal row image).").
			set("const", UnavailablePlaceholder)))
}

func rowSchemaID(v *Version) string {
	return "cdc:" + url.PathEscape(v.Table) + ":v" + strconv.Itoa(v.Version)
}

// columnSchema is the schema of one column's values.
func columnSchema(c Column) jsonObject {
	var s jsonObject
	typ := func(t ...string) {
		if c.Nullable {
			t = append(t, "null")
		}
		if len(t) == 1 {
			s = s.set("type", t[0])
		} else {
			s = s.set("type", t)
		}
	}
	plainString := false // the unavailable placeholder is already valid
	switch c.Kind {
	case KindBool:
		typ("boolean")
	case KindInt:
		typ("integer")
	case KindUint:
		typ("integer")
		s = s.set("minimum", 0)
	case KindFloat:
		typ("number", "string")
		s = s.set("pattern", floatSpecialPattern)
	case KindDecimal:
		typ("string")
		s = s.set("pattern", decimalPattern) // money too: the Postgres source sends it as a plain decimal
	case KindBytes:
		typ("string")
		s = s.set("contentEncoding", "base64")
		plainString = true // contentEncoding is an annotation
	case KindJSON:
		plainString = true // any JSON value, null included
	case KindUUID:
		typ("string")
		s = s.set("format", "uuid")
	case KindDate:
		typ("string")
		s = s.set("format", "date")
	case KindTimestamp:
		typ("string")
		s = s.set("pattern", timestampPattern)
	case KindTimestampTZ:
		typ("string")
		s = s.set("format", "date-time")
	case KindEnum:
		typ("string")
		if len(c.Values) > 0 {
			members := make([]any, 0, len(c.Values)+2)
			for _, m := range c.Values {
				members = append(members, m)
			}
			members = append(members, "") // MySQL's invalid-value member
			if c.Nullable {
				members = append(members, nil)
			}
			s = s.set("enum", members)
		} else {
			plainString = true
		}
	case KindSet:
		typ("array")
		items := jsonObject{}.set("type", "string")
		if len(c.Values) > 0 {
			items = items.set("enum", c.Values)
		}
		s = s.set("items", items).set("uniqueItems", true)
	case KindBits:
		typ("string")
		s = s.set("pattern", bitsPattern)
	case KindArray:
		typ("array") // Postgres arrays of built-in types: elements as their own columns would be, nested per dimension
	default: // string, time, interval, unknown
		typ("string")
		plainString = true
	}
	if !plainString {
		s = jsonObject{}.set("anyOf", []any{s, jsonObject{}.set("$ref", "#/$defs/unavailable")})
	}
	s = s.set("x-cdc-type", c.Type).set("x-cdc-kind", c.Kind.String())
	if c.Key {
		s = s.set("x-cdc-key", true)
	}
	return s
}

// EnvelopeJSONSchema returns the JSON Schema (draft 2020-12) of a whole
// event value written with version v: the Debezium-style envelope with
// "before" and "after" each the row schema (embedded under "$defs/row" with
// its own $id and referenced by that id) or null, "op" one of c/u/d/r/t,
// "source" with "schema_version" fixed to v's version, "ts_ms" and
// "transaction". Unknown "source" members (lsn, txId, file, pos, gtid, ...)
// are allowed, since they differ by connector.
func EnvelopeJSONSchema(v *Version) []byte {
	row := rowSchemaID(v)
	rowOrNull := jsonObject{}.set("anyOf", []any{
		jsonObject{}.set("$ref", row),
		jsonObject{}.set("type", "null"),
	})
	str := jsonObject{}.set("type", "string")
	integer := jsonObject{}.set("type", "integer")
	source := jsonObject{}.set("type", "object").
		set("properties", jsonObject{}.
			set("version", str).
			set("connector", jsonObject{}.set("enum", []string{"postgresql", "mysql"})).
			set("name", str).
			set("ts_ms", integer).
			set("snapshot", str).
			set("db", str).
			set("schema", str).
			set("table", str).
			set("schema_version", jsonObject{}.set("const", v.Version))).
		set("required", []string{"version", "connector", "name", "ts_ms", "snapshot", "table", "schema_version"})
	tx := jsonObject{}.set("type", "object").
		set("properties", jsonObject{}.
			set("id", str).
			set("total_order", integer).
			set("data_collection_order", integer)).
		set("required", []string{"id", "total_order", "data_collection_order"})
	s := jsonObject{}.
		set("$schema", jsonSchemaDialect).
		set("$id", rowSchemaID(v)+":envelope").
		set("title", v.Table+" version "+strconv.Itoa(v.Version)+" change event").
		set("x-cdc-table", v.Table).
		set("x-cdc-version", v.Version).
		set("x-cdc-fingerprint", v.Fingerprint).
		set("type", "object").
		set("properties", jsonObject{}.
			set("before", rowOrNull).
			set("after", rowOrNull).
			set("source", source).
			set("op", jsonObject{}.set("enum", []string{"c", "u", "d", "r", "t"})).
			set("ts_ms", integer).
			set("transaction", tx)).
		set("required", []string{"before", "after", "source", "op", "ts_ms", "transaction"}).
		set("$defs", jsonObject{}.set("row", rowSchema(v, false)))
	return indentJSON(s)
}

func indentJSON(o jsonObject) []byte {
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		// jsonObject holds only strings, numbers, bools, nil and slices of
		// them: cannot fail.
		return nil
	}
	return append(b, '\n')
}
