package transform

import "strconv"

// connectSchema is a Kafka Connect schema as JsonConverter writes it with
// schemas.enable=true. Fields are written in JsonConverter's order (type,
// items or fields, optional, name, version, parameters), so that a schema
// cdc writes reads like the one Debezium's converter would.
type connectSchema struct {
	Type     string // JsonConverter's names: boolean, int16, int32, int64, float, double, string, bytes, array, struct
	Optional bool
	Name     string // logical name, such as io.debezium.time.Date; "" for none
	Version  int    // 0: none
	Params   [][2]string
	Default  string         // JSON of the default value; "" for none
	Items    *connectSchema // array element
	Fields   []connectField // struct fields
}

type connectField struct {
	Name   string
	Schema *connectSchema
}

// optional returns a copy of s with Optional set.
func (s connectSchema) optional(o bool) *connectSchema {
	s.Optional = o
	return &s
}

// appendJSON writes s as a JSON object; field, when not "", is added as its
// "field" member, as JsonConverter does for the fields of a struct.
func (s *connectSchema) appendJSON(b []byte, field string) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, s.Type)
	if s.Items != nil {
		b = append(b, `,"items":`...)
		b = s.Items.appendJSON(b, "")
	}
	if s.Type == "struct" {
		b = append(b, `,"fields":[`...)
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = f.Schema.appendJSON(b, f.Name)
		}
		b = append(b, ']')
	}
	b = append(b, `,"optional":`...)
	b = strconv.AppendBool(b, s.Optional)
	if s.Name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, s.Name)
	}
	if s.Version > 0 {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(s.Version), 10)
	}
	if len(s.Params) > 0 {
		b = append(b, `,"parameters":{`...)
		for i, p := range s.Params {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, p[0])
			b = append(b, ':')
			b = appendString(b, p[1])
		}
		b = append(b, '}')
	}
	if s.Default != "" {
		b = append(b, `,"default":`...)
		b = append(b, s.Default...)
	}
	if field != "" {
		b = append(b, `,"field":`...)
		b = appendString(b, field)
	}
	return append(b, '}')
}
