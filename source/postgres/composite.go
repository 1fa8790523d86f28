package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cdc-go/cdc/schema"
)

// Composite (row) types are JSON objects of their attributes, each typed
// as a column of its type would be, null for NULL: (1,"a b",) of
// (n int, s text, t text) is {"n":1,"s":"a b","t":null}. Their attributes
// come from the catalog when the table is described (kindOfType).

// decodeComposite decodes a record's text, as record_out writes it.
func decodeComposite(col *schema.Column, s string) (json.RawMessage, error) {
	raw, err := splitRecord(s)
	if err != nil {
		return nil, err
	}
	if len(raw) != len(col.Fields) {
		return nil, fmt.Errorf("composite value has %d attributes, type %s has %d (the type changed since the table was described; a restart describes it again)", len(raw), col.Type, len(col.Fields))
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range raw {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(col.Fields[i].Name)
		b.Write(name)
		b.WriteByte(':')
		if f == nil {
			b.WriteString("null")
			continue
		}
		v, err := decodeText(&col.Fields[i], []byte(*f))
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", col.Fields[i].Name, err)
		}
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// splitRecord splits "(1,"a ""b""",)" into its attributes' texts, nil
// for NULL (nothing between the commas).
func splitRecord(s string) ([]*string, error) {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return nil, errors.New("composite text is not (...)")
	}
	s = s[1 : len(s)-1]
	var out []*string
	for {
		if s == "" || s[0] == ',' {
			out = append(out, nil)
		} else if s[0] != '"' {
			i := strings.IndexByte(s, ',')
			if i < 0 {
				i = len(s)
			}
			v := s[:i]
			out = append(out, &v)
			s = s[i:]
		} else {
			var v strings.Builder
			i := 1
			for ; i < len(s); i++ {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					i++
					v.WriteByte(s[i])
					continue
				}
				if c == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						v.WriteByte('"')
						i++
						continue
					}
					break
				}
				v.WriteByte(c)
			}
			if i >= len(s) {
				return nil, errors.New("composite text ends inside a quoted attribute")
			}
			str := v.String()
			out = append(out, &str)
			s = s[i+1:]
		}
		if s == "" {
			return out, nil
		}
		if s[0] != ',' {
			return nil, errors.New("composite text has no ',' between its attributes")
		}
		s = s[1:]
	}
}
