package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cdc-go/cdc/schema"
)

// Arrays of built-in types are JSON arrays of their elements, each decoded
// as a column of the element type would be (numbers, booleans, ISO times,
// embedded JSON, base64 bytes; NULL elements as null); a multi-dimensional
// array is nested arrays. A lower bound other than 1 ("[0:2]={...}") is
// not kept. Arrays of other types (user enums, composites, ranges) stay
// Postgres's text.

// arrayElem maps built-in array type OIDs to their element type OIDs.
var arrayElem = map[uint32]uint32{
	1000: oidBool, 1001: oidBytea, 1002: oidChar, 1003: oidName, 1005: oidInt2, 1007: oidInt4,
	1009: oidText, 1014: oidBPChar, 1015: oidVarchar, 1016: oidInt8, 1021: oidFloat4, 1022: oidFloat8,
	1028: oidOID, 1011: oidXID, 199: oidJSON, 3807: oidJSONB, 143: oidXML, 791: oidMoney,
	1115: oidTimestamp, 1182: oidDate, 1183: oidTime, 1185: oidTimestampTZ, 1187: oidInterval,
	1231: oidNumeric, 1270: oidTimeTZ, 1561: oidBit, 1563: oidVarbit, 2951: oidUUID,
	1041: oidInet, 651: oidCidr, 1040: oidMacaddr, 775: oidMacaddr8,
}

// decodeArray decodes an array's text into a JSON array.
func decodeArray(col *schema.Column, text string) (json.RawMessage, error) {
	elemOID := arrayElem[col.TypeID]
	elem := &schema.Column{Name: col.Name, Type: strings.TrimSuffix(col.Type, "[]"), TypeID: elemOID, Kind: kindOf(elemOID)}
	if strings.HasPrefix(text, "[") { // explicit bounds: "[1:2][0:1]={...}"
		i := strings.Index(text, "=")
		if i < 0 {
			return nil, errors.New("array bounds without '='")
		}
		text = text[i+1:]
	}
	p := arrayParser{s: text}
	v, err := p.value(func(raw string, quoted bool) (any, error) {
		if !quoted && raw == "NULL" {
			return nil, nil
		}
		return decodeText(elem, []byte(raw))
	})
	if err != nil {
		return nil, err
	}
	if p.i != len(p.s) {
		return nil, fmt.Errorf("array text has %q after its end", p.s[p.i:])
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding array elements: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// arrayParser reads Postgres's array output: "{a,b}", "{{1,2},{3,4}}",
// elements double-quoted when they contain delimiters, quotes, backslashes,
// braces or spaces, or are empty or "NULL"; backslash escapes inside quotes.
type arrayParser struct {
	s string
	i int
}

func (p *arrayParser) value(elem func(raw string, quoted bool) (any, error)) ([]any, error) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, errors.New("array text does not start with '{'")
	}
	p.i++
	out := []any{}
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return out, nil
	}
	for {
		if p.i >= len(p.s) {
			return nil, errors.New("array text ends inside the array")
		}
		switch p.s[p.i] {
		case '{':
			sub, err := p.value(elem)
			if err != nil {
				return nil, err
			}
			out = append(out, sub)
		case '"':
			p.i++
			var b strings.Builder
			for {
				if p.i >= len(p.s) {
					return nil, errors.New("array text ends inside a quoted element")
				}
				c := p.s[p.i]
				p.i++
				if c == '\\' && p.i < len(p.s) {
					b.WriteByte(p.s[p.i])
					p.i++
					continue
				}
				if c == '"' {
					break
				}
				b.WriteByte(c)
			}
			v, err := elem(b.String(), true)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		default:
			j := p.i
			for j < len(p.s) && p.s[j] != ',' && p.s[j] != '}' {
				j++
			}
			v, err := elem(p.s[p.i:j], false)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			p.i = j
		}
		if p.i >= len(p.s) {
			return nil, errors.New("array text ends inside the array")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return out, nil
		default:
			return nil, fmt.Errorf("unexpected %q in array text", p.s[p.i])
		}
	}
}
