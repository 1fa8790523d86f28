package transform

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// Event encodes a change as Value does, or in Debezium's value form when
// the envelope has Debezium set; an error names the column whose value
// that form cannot hold.
func (e *Envelope) Event(ch *source.Change) ([]byte, error) {
	if e.Debezium == nil || ch.Op == source.OpMessage {
		return e.Value(ch), nil
	}
	return e.debeziumValue(ch)
}

// EventKey encodes the key of a row image: the columns idx of t (row is
// aligned with t), as Key does, or in Debezium's form (wrapped with its
// Connect schema under SchemaInPayload). A nil or empty idx has no key.
func (e *Envelope) EventKey(t *schema.Table, idx []int, row []any) ([]byte, error) {
	if t == nil || row == nil || len(idx) == 0 {
		return nil, nil
	}
	if e.Debezium == nil {
		return plainKey(t, idx, row), nil
	}
	dt := e.Debezium.table(e.Connector, t)
	p := getScratch()
	b := *p
	if e.SchemaInPayload {
		b = append(b, `{"schema":{"type":"struct","fields":[`...)
		for n, i := range idx {
			if n > 0 {
				b = append(b, ',')
			}
			b = dt.cols[i].schema.optional(false).appendJSON(b, t.Columns[i].Name)
		}
		b = append(b, `],"optional":false,"name":`...)
		b = appendString(b, e.Name+"."+t.Namespace+"."+t.Name+".Key")
		b = append(b, `},"payload":`...)
	}
	b, err := dt.appendColumns(b, t, idx, row, "key column")
	if err != nil {
		return nil, err
	}
	if e.SchemaInPayload {
		b = append(b, '}')
	}
	return keep(p, b), nil
}

// append writes one value; nil is null, and a value the source did not
// send is Debezium's placeholder where the column's type can hold it.
func (c *dbzColumn) append(b []byte, v any) ([]byte, error) {
	switch v.(type) {
	case nil:
		return append(b, "null"...), nil
	case schema.Unavailable:
		switch {
		case c.schema.Type == "string":
			return appendString(b, dbzUnavailable), nil
		case c.schema.Type == "bytes" && c.schema.Name == "":
			return appendBase64(b, []byte(dbzUnavailable)), nil
		case c.schema.Type == "array" && c.schema.Items.Type == "string":
			b = append(b, '[')
			b = appendString(b, dbzUnavailable)
			return append(b, ']'), nil
		}
		return b, &errUnrepresentable{dbzUnavailable, "the source did not send this value and Debezium's placeholder does not fit a " + c.schema.Type}
	}
	return c.enc(b, v)
}

func (dt *dbzTable) appendRow(b []byte, t *schema.Table, row []any) ([]byte, error) {
	if row == nil || t == nil {
		return append(b, "null"...), nil
	}
	return dt.appendColumns(b, t, nil, row, "column")
}

// appendColumns writes the columns idx of row (every column when idx is
// nil) as a JSON object; an error names the column, as what.
func (dt *dbzTable) appendColumns(b []byte, t *schema.Table, idx []int, row []any, what string) ([]byte, error) {
	b = append(b, '{')
	n := len(idx)
	if idx == nil {
		n = len(t.Columns)
	}
	for k := range n {
		i := k
		if idx != nil {
			i = idx[k]
		}
		if k > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t.Columns[i].Name)
		b = append(b, ':')
		var err error
		if b, err = dt.cols[i].append(b, row[i]); err != nil {
			return nil, fmt.Errorf("%s %s (%s): %w", what, t.Columns[i].Name, t.Columns[i].Type, err)
		}
	}
	return append(b, '}'), nil
}

func (e *Envelope) debeziumValue(ch *source.Change) ([]byte, error) {
	var dt *dbzTable
	if ch.Table != nil {
		dt = e.Debezium.table(e.Connector, ch.Table)
	}
	var arr [4]source.Field
	extra := dbzExtra(arr[:0], ch) // the source fields beyond Debezium's, in the payload and the schema
	p := getScratch()
	b := *p
	if e.SchemaInPayload {
		b = append(b, `{"schema":`...)
		b = e.appendCachedSchema(b, ch, dt, extra)
		b = append(b, `,"payload":`...)
	}
	var err error
	b = append(b, `{"before":`...)
	if b, err = dt.appendRow(b, ch.Table, ch.Before); err != nil {
		return nil, err
	}
	b = append(b, `,"after":`...)
	if b, err = dt.appendRow(b, ch.Table, ch.After); err != nil {
		return nil, err
	}
	b = append(b, `,"source":`...)
	b = e.appendDebeziumSource(b, ch, extra)
	b = append(b, `,"transaction":{"id":`...)
	b = appendString(b, ch.Tx.ID)
	b = append(b, `,"total_order":`...)
	b = strconv.AppendInt(b, int64(ch.Tx.Order), 10)
	b = append(b, `,"data_collection_order":`...)
	b = strconv.AppendInt(b, int64(ch.Tx.TableOrder), 10)
	b = append(b, `},"op":`...)
	b = appendString(b, ch.Op.String())
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	t := now()
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, t.UnixMilli(), 10)
	b = append(b, `,"ts_us":`...)
	b = strconv.AppendInt(b, t.UnixMicro(), 10)
	b = append(b, `,"ts_ns":`...)
	b = strconv.AppendInt(b, t.UnixNano(), 10)
	b = append(b, '}')
	if e.SchemaInPayload {
		b = append(b, '}')
	}
	return keep(p, b), nil
}

// dbzSourceField is one field of Debezium's source block: its name, its
// Connect schema, and how its value is written. Writers append JSON rather
// than return a value, so that the numbers of each event are not boxed.
type dbzSourceField struct {
	name   string
	schema *connectSchema
	put    func(b []byte, e *Envelope, ch *source.Change) []byte // nil: absent (null)
}

var snapshotSchema = &connectSchema{Type: "string", Optional: true, Name: "io.debezium.data.Enum", Version: 1,
	Params: [][2]string{{"allowed", "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"}}, Default: `"false"`}

func metaField(name string) func([]byte, *Envelope, *source.Change) []byte {
	return func(b []byte, _ *Envelope, ch *source.Change) []byte { return appendValue(b, ch.Meta.Get(name)) }
}

var (
	optString = &connectSchema{Type: "string", Optional: true}
	optInt64  = &connectSchema{Type: "int64", Optional: true}
	reqString = &connectSchema{Type: "string"}
	reqInt64  = &connectSchema{Type: "int64"}
)

// dbzCommonHead and the per-connector lists are the source block fields of
// Debezium's connectors, in their order.
var dbzCommonHead = []dbzSourceField{
	{"version", reqString, func(b []byte, e *Envelope, _ *source.Change) []byte { return appendString(b, e.Version) }},
	{"connector", reqString, func(b []byte, e *Envelope, _ *source.Change) []byte { return appendString(b, e.Connector) }},
	{"name", reqString, func(b []byte, e *Envelope, _ *source.Change) []byte { return appendString(b, e.Name) }},
	{"ts_ms", reqInt64, func(b []byte, _ *Envelope, ch *source.Change) []byte {
		return strconv.AppendInt(b, ch.Tx.CommitTime.UnixMilli(), 10)
	}},
	{"snapshot", snapshotSchema, func(b []byte, _ *Envelope, ch *source.Change) []byte { return appendString(b, snapshotValue(ch)) }},
	{"db", reqString, metaField("db")},
	{"sequence", optString, appendPGSequence},
	{"ts_us", optInt64, func(b []byte, _ *Envelope, ch *source.Change) []byte {
		return strconv.AppendInt(b, ch.Tx.CommitTime.UnixMicro(), 10)
	}},
	{"ts_ns", optInt64, func(b []byte, _ *Envelope, ch *source.Change) []byte {
		return strconv.AppendInt(b, ch.Tx.CommitTime.UnixNano(), 10)
	}},
}

var dbzPostgresSource = append(append([]dbzSourceField(nil), dbzCommonHead...),
	dbzSourceField{"schema", reqString, tableField(func(t *schema.Table) string { return t.Namespace })},
	dbzSourceField{"table", reqString, tableField(func(t *schema.Table) string { return t.Name })},
	dbzSourceField{"txId", optInt64, metaField("txId")},
	dbzSourceField{"lsn", optInt64, metaField("lsn")},
	dbzSourceField{"xmin", optInt64, nil},
	dbzSourceField{"origin", optString, nil},
	dbzSourceField{"origin_lsn", optInt64, nil},
)

var dbzMySQLSource = append(append([]dbzSourceField(nil), dbzCommonHead...),
	dbzSourceField{"table", optString, tableField(func(t *schema.Table) string { return t.Name })},
	dbzSourceField{"server_id", reqInt64, metaOr("server_id", int64(0))},
	dbzSourceField{"gtid", optString, metaField("gtid")},
	dbzSourceField{"file", reqString, metaOr("file", "")},
	dbzSourceField{"pos", reqInt64, metaOr("pos", int64(0))},
	dbzSourceField{"row", &connectSchema{Type: "int32"}, metaOr("row", int64(0))},
	dbzSourceField{"thread", optInt64, metaField("thread")},
	dbzSourceField{"query", optString, nil},
)

func metaOr(name string, def any) func([]byte, *Envelope, *source.Change) []byte {
	return func(b []byte, _ *Envelope, ch *source.Change) []byte {
		if v, ok := ch.Meta.Lookup(name); ok {
			return appendValue(b, v)
		}
		return appendValue(b, def)
	}
}

func tableField(f func(*schema.Table) string) func([]byte, *Envelope, *source.Change) []byte {
	return func(b []byte, _ *Envelope, ch *source.Change) []byte {
		if ch.Table == nil {
			return append(b, "null"...)
		}
		return appendString(b, f(ch.Table))
	}
}

// appendPGSequence writes Debezium's Postgres sequence: the JSON text of
// [last commit LSN, this change's LSN], both as decimal strings, as a
// JSON string. cdc does not track the previous commit, so the first is
// null.
func appendPGSequence(b []byte, _ *Envelope, ch *source.Change) []byte {
	lsn, ok := ch.Meta.Get("lsn").(uint64)
	if !ok {
		return append(b, "null"...)
	}
	b = append(b, `"[null,\"`...)
	b = strconv.AppendUint(b, lsn, 10)
	return append(b, `\"]"`...)
}

func snapshotValue(ch *source.Change) string {
	if v, ok := ch.Meta.Get("snapshot").(string); ok {
		return v
	}
	if ch.Op == source.OpRead {
		return "true"
	}
	return "false"
}

func (e *Envelope) dbzSource() []dbzSourceField {
	if e.Connector == "postgresql" {
		return dbzPostgresSource
	}
	return dbzMySQLSource
}

// dbzKnown are the Meta keys the source block's fixed fields carry (or
// that never go into it).
var dbzKnown = map[string]bool{"db": true, "ddl": true, "snapshot": true, "lsn": true, "txId": true,
	"server_id": true, "gtid": true, "file": true, "pos": true, "row": true, "thread": true}

// dbzExtra lists the fields cdc adds after Debezium's own: the table's
// schema version and source metadata Debezium has no field for (an XA
// transaction's xid), sorted.
func dbzExtra(dst source.Meta, ch *source.Change) source.Meta {
	for _, f := range ch.Meta {
		if !dbzKnown[f.Key] {
			dst = append(dst, f)
		}
	}
	if !dst.Sorted() {
		slices.SortFunc(dst, func(a, b source.Field) int { return strings.Compare(a.Key, b.Key) })
	}
	return dst
}

func (e *Envelope) appendDebeziumSource(b []byte, ch *source.Change, extra source.Meta) []byte {
	b = append(b, '{')
	for i, f := range e.dbzSource() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.name)
		b = append(b, ':')
		if f.put == nil {
			b = append(b, "null"...)
		} else {
			b = f.put(b, e, ch)
		}
	}
	if ch.Table != nil && ch.Table.Version > 0 {
		b = append(b, `,"schema_version":`...)
		b = strconv.AppendInt(b, int64(ch.Table.Version), 10)
	}
	for _, f := range extra {
		b = append(b, ',')
		b = appendString(b, f.Key)
		b = append(b, ':')
		b = appendValue(b, f.Value)
	}
	return append(b, '}')
}

// appendCachedSchema appends the envelope schema of ch, made once per
// table and set of extra source fields.
func (e *Envelope) appendCachedSchema(b []byte, ch *source.Change, dt *dbzTable, extra source.Meta) []byte {
	if dt == nil {
		return e.appendDebeziumSchema(b, ch, dt, extra)
	}
	var key []byte
	for _, f := range extra {
		key = append(key, f.Key...)
		switch f.Value.(type) {
		case int64, uint64, int:
			key = append(key, ":i,"...)
		default:
			key = append(key, ":s,"...)
		}
	}
	if c := dt.schema.Load(); c != nil && c.extras == string(key) {
		return append(b, c.json...)
	}
	js := e.appendDebeziumSchema(nil, ch, dt, extra)
	dt.schema.Store(&dbzSchema{extras: string(key), json: js})
	return append(b, js...)
}

func (e *Envelope) appendDebeziumSchema(b []byte, ch *source.Change, dt *dbzTable, extra source.Meta) []byte {
	table := "message"
	if ch.Table != nil {
		table = ch.Table.Namespace + "." + ch.Table.Name
	}
	row := func(b []byte, field string) []byte {
		b = append(b, `{"type":"struct","fields":[`...)
		if ch.Table != nil {
			for i := range ch.Table.Columns {
				if i > 0 {
					b = append(b, ',')
				}
				b = dt.cols[i].schema.appendJSON(b, ch.Table.Columns[i].Name)
			}
		}
		b = append(b, `],"optional":true,"name":`...)
		b = appendString(b, e.Name+"."+table+".Value")
		if ch.Table != nil && ch.Table.Version > 0 {
			b = append(b, `,"version":`...)
			b = strconv.AppendInt(b, int64(ch.Table.Version), 10)
		}
		b = append(b, `,"field":`...)
		b = appendString(b, field)
		return append(b, '}')
	}
	b = append(b, `{"type":"struct","fields":[`...)
	b = row(b, "before")
	b = append(b, ',')
	b = row(b, "after")
	b = append(b, `,{"type":"struct","fields":[`...)
	for i, f := range e.dbzSource() {
		if i > 0 {
			b = append(b, ',')
		}
		b = f.schema.appendJSON(b, f.name)
	}
	if ch.Table != nil && ch.Table.Version > 0 {
		b = append(b, ',')
		b = optInt64.appendJSON(b, "schema_version")
	}
	for _, f := range extra {
		s := optString
		switch f.Value.(type) {
		case int64, uint64, int:
			s = optInt64
		}
		b = append(b, ',')
		b = s.appendJSON(b, f.Key)
	}
	b = append(b, `],"optional":false,"name":`...)
	b = appendString(b, "io.debezium.connector."+e.Connector+".Source")
	b = append(b, `,"version":1,"field":"source"}`...)
	b = append(b, `,{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},`+
		`{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],`+
		`"optional":true,"name":"event.block","version":1,"field":"transaction"}`...)
	b = append(b, `,{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},`+
		`{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":`...)
	b = appendString(b, e.Name+"."+table+".Envelope")
	return append(b, `,"version":2}`...)
}
