// Package schema describes captured tables: their columns, native types, keys
// and the logical kind of each column's values. It is the leaf of the module:
// it imports nothing of ours.
//
// A *Table is immutable once published by a source: a schema change produces a
// new *Table, so an event always refers to the shape it was written with.
package schema

import (
	"fmt"
	"strings"
)

// Kind is the logical type of a column's values, independent of the database.
// It decides how a value is represented in an event.
type Kind uint8

// The kinds a source maps native types to. KindUnknown values travel as the
// database's text form, so a type we do not know never stops the stream.
const (
	KindUnknown Kind = iota
	KindBool
	KindInt     // signed integer, fits int64
	KindUint    // unsigned integer, fits uint64
	KindFloat   // float32/float64
	KindDecimal // exact numeric, carried as its decimal string
	KindString
	KindBytes
	KindJSON
	KindUUID
	KindDate        // calendar date, "2006-01-02"
	KindTime        // time of day, "15:04:05.999999"
	KindTimestamp   // timestamp without zone, ISO-8601 without offset
	KindTimestampTZ // instant, ISO-8601 in UTC with "Z"
	KindInterval
	KindEnum
	KindSet
	KindArray
	KindBits
)

var kindNames = [...]string{
	KindUnknown: "unknown", KindBool: "bool", KindInt: "int", KindUint: "uint",
	KindFloat: "float", KindDecimal: "decimal", KindString: "string", KindBytes: "bytes",
	KindJSON: "json", KindUUID: "uuid", KindDate: "date", KindTime: "time",
	KindTimestamp: "timestamp", KindTimestampTZ: "timestamptz", KindInterval: "interval",
	KindEnum: "enum", KindSet: "set", KindArray: "array", KindBits: "bits",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Column is one column of a table.
type Column struct {
	Name string
	// Type is the native type name as the database spells it ("int4",
	// "numeric", "varchar(255)", "enum('a','b')").
	Type string
	Kind Kind
	// TypeID is the source's numeric type identifier (a Postgres type OID,
	// a MySQL column type byte); 0 when unknown.
	TypeID uint32
	// Nullable is false only when the source says the column is NOT NULL.
	Nullable bool
	// Key marks the columns of the event key (primary key or replica identity).
	Key bool
	// Values lists the allowed members of enum and set columns, when known.
	Values []string
	// Fields are the attributes of a composite (row) type, in order, each
	// with its name, type and kind; values of the column are then JSON
	// objects of them. Nil for other types.
	Fields []Column
}

// Table is the schema of one captured table at one point in the stream.
type Table struct {
	// Namespace is the Postgres schema or the MySQL database.
	Namespace string
	Name      string
	Columns   []Column
	// Version is the table's schema version; 0 until a schema history assigns one.
	Version int
}

// ID returns the table's qualified name, "namespace.name".
func (t *Table) ID() string { return t.Namespace + "." + t.Name }

// KeyColumns returns the indexes of the key columns, in column order.
func (t *Table) KeyColumns() []int {
	var idx []int
	for i, c := range t.Columns {
		if c.Key {
			idx = append(idx, i)
		}
	}
	return idx
}

// Column returns the index of the named column, or -1.
func (t *Table) Column(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// String renders the table compactly for logs: "public.orders(id int8 key, note text)".
func (t *Table) String() string {
	var b strings.Builder
	b.WriteString(t.ID())
	b.WriteByte('(')
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Name)
		b.WriteByte(' ')
		b.WriteString(c.Type)
		if c.Key {
			b.WriteString(" key")
		}
	}
	b.WriteByte(')')
	return b.String()
}
