package transform

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// Envelope describes the connector for the "source" block of each event.
type Envelope struct {
	// Connector is "postgresql" or "mysql", as Debezium names them.
	Connector string
	// Name is source.name: the topic prefix, as Debezium writes it (and
	// the namespace of the Connect schema names).
	Name string
	// Version is cdc's version.
	Version string
	// Now gives the processing time for the top-level ts_ms; time.Now when nil.
	Now func() time.Time
	// SchemaInPayload wraps each value as Kafka Connect's JsonConverter
	// does with schemas.enable=true: {"schema":{...},"payload":{...}};
	// JSON columns are then strings (io.debezium.data.Json), as Connect
	// has no type for embedded JSON.
	SchemaInPayload bool
	// Debezium, when set, writes column values in Debezium's forms
	// (events.format: debezium); nil is cdc's readable form.
	Debezium *Debezium
}

// Value encodes a change in the Debezium envelope:
//
//	{"before":{...},"after":{...},"source":{...},"op":"c","ts_ms":...,
//	 "transaction":{"id":"...","total_order":N,"data_collection_order":N}}
//
// Field order is fixed, so equal changes encode to equal bytes.
func (e *Envelope) Value(ch *source.Change) []byte {
	p := getScratch()
	return keep(p, e.appendValue(*p, ch))
}

func (e *Envelope) appendValue(b []byte, ch *source.Change) []byte {
	if e.SchemaInPayload {
		b = append(b, `{"schema":`...)
		b = e.appendConnectSchema(b, ch)
		b = append(b, `,"payload":`...)
	}
	b = append(b, `{"before":`...)
	b = appendRowAs(b, ch.Table, ch.Before, e.SchemaInPayload)
	b = append(b, `,"after":`...)
	b = appendRowAs(b, ch.Table, ch.After, e.SchemaInPayload)
	b = append(b, `,"source":`...)
	b = e.appendSource(b, ch)
	b = append(b, `,"op":`...)
	b = appendString(b, ch.Op.String())
	if ch.Message != nil {
		b = append(b, `,"message":{"prefix":`...)
		b = appendString(b, ch.Message.Prefix)
		b = append(b, `,"content":`...)
		b = appendValue(b, ch.Message.Content)
		b = append(b, '}')
	}
	b = append(b, `,"ts_ms":`...)
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	t := now()
	b = strconv.AppendInt(b, t.UnixMilli(), 10)
	b = append(b, `,"ts_us":`...)
	b = strconv.AppendInt(b, t.UnixMicro(), 10)
	b = append(b, `,"ts_ns":`...)
	b = strconv.AppendInt(b, t.UnixNano(), 10)
	b = append(b, `,"transaction":{"id":`...)
	b = appendString(b, ch.Tx.ID)
	b = append(b, `,"total_order":`...)
	b = strconv.AppendInt(b, int64(ch.Tx.Order), 10)
	b = append(b, `,"data_collection_order":`...)
	b = strconv.AppendInt(b, int64(ch.Tx.TableOrder), 10)
	b = append(b, "}}"...)
	if e.SchemaInPayload {
		b = append(b, '}')
	}
	return b
}

func (e *Envelope) appendSource(b []byte, ch *source.Change) []byte {
	b = append(b, `{"version":`...)
	b = appendString(b, e.Version)
	b = append(b, `,"connector":`...)
	b = appendString(b, e.Connector)
	b = append(b, `,"name":`...)
	b = appendString(b, e.Name)
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, ch.Tx.CommitTime.UnixMilli(), 10)
	b = append(b, `,"ts_us":`...)
	b = strconv.AppendInt(b, ch.Tx.CommitTime.UnixMicro(), 10)
	b = append(b, `,"ts_ns":`...)
	b = strconv.AppendInt(b, ch.Tx.CommitTime.UnixNano(), 10)
	b = append(b, `,"snapshot":`...)
	// The reader of a snapshot says which ("true" for the initial one,
	// "incremental" for one on demand); a streamed change is "false".
	if v, ok := ch.Meta.Get("snapshot").(string); ok {
		b = appendString(b, v)
	} else if ch.Op == source.OpRead {
		b = append(b, `"true"`...)
	} else {
		b = append(b, `"false"`...)
	}
	if db, ok := ch.Meta.Lookup("db"); ok {
		b = append(b, `,"db":`...)
		b = appendValue(b, db)
	}
	if e.Connector == "postgresql" {
		b = append(b, `,"xmin":null`...) // not tracked; Debezium's is null too unless xmin.fetch.interval.ms is set
	}
	if ch.Table != nil {
		if e.Connector == "postgresql" {
			b = append(b, `,"schema":`...)
			b = appendString(b, ch.Table.Namespace)
		}
		b = append(b, `,"table":`...)
		b = appendString(b, ch.Table.Name)
		if ch.Table.Version > 0 {
			b = append(b, `,"schema_version":`...)
			b = strconv.AppendInt(b, int64(ch.Table.Version), 10)
		}
	}
	var arr [16]source.Field
	for _, f := range sourceFields(arr[:0], ch.Meta) {
		b = append(b, ',')
		b = appendString(b, f.Key)
		b = append(b, ':')
		b = appendValue(b, f.Value)
	}
	return append(b, '}')
}

// sourceFields appends to dst the fields of meta that go into the source
// block after its fixed fields, sorted by key: all but db and snapshot (written among
// the fixed fields) and ddl (which goes to the schema history, not into
// every event). Callers pass a stack array, so the sort allocates nothing.
func sourceFields(dst source.Meta, meta source.Meta) source.Meta {
	for _, f := range meta {
		if f.Key != "db" && f.Key != "ddl" && f.Key != "snapshot" {
			dst = append(dst, f)
		}
	}
	if !dst.Sorted() { // sources build Meta sorted; a literal may not be
		slices.SortFunc(dst, func(a, b source.Field) int { return strings.Compare(a.Key, b.Key) })
	}
	return dst
}

// appendRow writes a row as a JSON object in column order, or null.
func appendRow(b []byte, t *schema.Table, row []any) []byte {
	return appendRowAs(b, t, row, false)
}

// appendRowAs is appendRow; jsonAsString writes JSON values as strings.
func appendRowAs(b []byte, t *schema.Table, row []any, jsonAsString bool) []byte {
	if row == nil || t == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, c := range t.Columns {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c.Name)
		b = append(b, ':')
		if raw, ok := row[i].(json.RawMessage); ok && jsonAsString {
			b = appendString(b, string(raw))
			continue
		}
		b = appendValue(b, row[i])
	}
	return append(b, '}')
}

// Key encodes the key columns of row as a JSON object, or returns nil when
// the table has no key.
func Key(t *schema.Table, row []any) []byte {
	if t == nil || row == nil {
		return nil
	}
	return plainKey(t, t.KeyColumns(), row)
}

// plainKey writes the columns idx of row as a JSON object in cdc's
// format; nil without key columns.
func plainKey(t *schema.Table, idx []int, row []any) []byte {
	if len(idx) == 0 {
		return nil
	}
	p := getScratch()
	b := append(*p, '{')
	for n, i := range idx {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t.Columns[i].Name)
		b = append(b, ':')
		b = appendValue(b, row[i])
	}
	return keep(p, append(b, '}'))
}
