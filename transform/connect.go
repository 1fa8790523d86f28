package transform

import (
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// ConnectType is the Kafka Connect schema of a column's values in events
// written with schema_in_payload: type and, where Debezium names one, a
// logical name (docs/types.md).
func ConnectType(c *schema.Column) (typ, name string) { return connectType(c) }

// connectType is the Kafka Connect schema of a column's values, as this
// package encodes them: type and, where Debezium names one, a logical name.
func connectType(c *schema.Column) (typ, name string) {
	switch c.Kind {
	case schema.KindBool:
		return "boolean", ""
	case schema.KindInt, schema.KindUint:
		return "int64", ""
	case schema.KindFloat:
		return "double", "" // NaN and Infinity travel as strings: not representable here
	case schema.KindBytes:
		return "bytes", ""
	case schema.KindJSON, schema.KindArray:
		return "string", "io.debezium.data.Json" // written as the JSON text
	case schema.KindUUID:
		return "string", "io.debezium.data.Uuid"
	case schema.KindTimestampTZ:
		return "string", "io.debezium.time.ZonedTimestamp"
	case schema.KindSet:
		return "array", ""
	}
	return "string", ""
}

func appendField(b []byte, field, typ string, optional bool, name string) []byte {
	b = append(b, `{"field":`...)
	b = appendString(b, field)
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	if typ == "array" {
		b = append(b, `,"items":{"type":"string","optional":false}`...)
	}
	if name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, name)
	}
	if optional {
		b = append(b, `,"optional":true}`...)
	} else {
		b = append(b, `,"optional":false}`...)
	}
	return b
}

func (e *Envelope) appendRowSchema(b []byte, field string, ch *source.Change) []byte {
	b = append(b, `{"field":`...)
	b = appendString(b, field)
	b = append(b, `,"type":"struct","optional":true`...)
	if ch.Table == nil {
		return append(b, `,"fields":[]}`...)
	}
	b = append(b, `,"name":`...)
	b = appendString(b, e.Name+"."+ch.Table.Namespace+"."+ch.Table.Name+".Value")
	if ch.Table.Version > 0 {
		b = append(b, `,"version":`...)
		b = appendValue(b, int64(ch.Table.Version))
	}
	b = append(b, `,"fields":[`...)
	for i := range ch.Table.Columns {
		c := &ch.Table.Columns[i]
		if i > 0 {
			b = append(b, ',')
		}
		typ, name := connectType(c)
		b = appendField(b, c.Name, typ, c.Nullable || !c.Key, name)
	}
	return append(b, "]}"...)
}

// appendConnectSchema writes the Connect schema of the envelope of ch.
func (e *Envelope) appendConnectSchema(b []byte, ch *source.Change) []byte {
	b = append(b, `{"type":"struct","optional":false,"name":`...)
	table := "message"
	if ch.Table != nil {
		table = ch.Table.Namespace + "." + ch.Table.Name
	}
	b = appendString(b, e.Name+"."+table+".Envelope")
	b = append(b, `,"fields":[`...)
	b = e.appendRowSchema(b, "before", ch)
	b = append(b, ',')
	b = e.appendRowSchema(b, "after", ch)
	b = append(b, `,{"field":"source","type":"struct","optional":false,"name":`...)
	b = appendString(b, "io.debezium.connector."+e.Connector+".Source")
	b = append(b, `,"fields":[`...)
	b = appendField(b, "version", "string", false, "")
	for _, f := range []string{"connector", "name"} {
		b = append(b, ',')
		b = appendField(b, f, "string", false, "")
	}
	for _, f := range []string{"ts_ms", "ts_us", "ts_ns"} {
		b = append(b, ',')
		b = appendField(b, f, "int64", false, "")
	}
	b = append(b, ',')
	b = appendField(b, "snapshot", "string", true, "")
	if _, ok := ch.Meta.Lookup("db"); ok {
		b = append(b, ',')
		b = appendField(b, "db", "string", false, "")
	}
	if e.Connector == "postgresql" {
		b = append(b, ',')
		b = appendField(b, "xmin", "int64", true, "")
	}
	if ch.Table != nil {
		if e.Connector == "postgresql" {
			b = append(b, ',')
			b = appendField(b, "schema", "string", true, "")
		}
		b = append(b, ',')
		b = appendField(b, "table", "string", true, "")
		if ch.Table.Version > 0 {
			b = append(b, ',')
			b = appendField(b, "schema_version", "int64", true, "")
		}
	}
	var arr [16]source.Field
	for _, f := range sourceFields(arr[:0], ch.Meta) { // as appendSource writes them
		typ := "string"
		switch f.Value.(type) {
		case int64, uint64, int:
			typ = "int64"
		}
		b = append(b, ',')
		b = appendField(b, f.Key, typ, true, "")
	}
	b = append(b, "]},"...)
	b = appendField(b, "op", "string", false, "")
	if ch.Message != nil {
		b = append(b, `,{"field":"message","type":"struct","optional":true,"fields":[`...)
		b = appendField(b, "prefix", "string", false, "")
		b = append(b, ',')
		b = appendField(b, "content", "bytes", true, "")
		b = append(b, "]}"...)
	}
	b = append(b, ',')
	for _, f := range []string{"ts_ms", "ts_us", "ts_ns"} {
		b = appendField(b, f, "int64", true, "")
		if f != "ts_ns" {
			b = append(b, ',')
		}
	}
	b = append(b, `,{"field":"transaction","type":"struct","optional":true,"name":"event.block","fields":[`...)
	b = appendField(b, "id", "string", false, "")
	b = append(b, ',')
	b = appendField(b, "total_order", "int64", false, "")
	b = append(b, ',')
	b = appendField(b, "data_collection_order", "int64", false, "")
	return append(b, "]}]}"...)
}
