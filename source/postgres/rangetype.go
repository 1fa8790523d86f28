package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/cdc-go/cdc/schema"
)

// Ranges of built-in types are JSON objects: {"lower": L, "upper": U,
// "lower_inclusive": bool, "upper_inclusive": bool}, the bounds typed as
// their element type's columns would be, null when unbounded; an empty
// range is {"empty": true}. A multirange of built-in ranges is a JSON
// array of its ranges, in Postgres's order. Ranges of other types stay
// Postgres's text.

// rangeElem maps built-in range type OIDs to their element type OIDs.
var rangeElem = map[uint32]uint32{
	3904: oidInt4, 3926: oidInt8, 3906: oidNumeric, 3908: oidTimestamp, 3910: oidTimestampTZ, 3912: oidDate,
}

// multirangeOf maps built-in multirange type OIDs (PostgreSQL 14+) to
// their range type OIDs.
var multirangeOf = map[uint32]uint32{
	4451: 3904, 4536: 3926, 4532: 3906, 4533: 3908, 4534: 3910, 4535: 3912,
}

// decodeMultirange decodes a multirange's text, "{[1,3),[5,7)}", into a
// JSON array of its ranges.
func decodeMultirange(col *schema.Column, s string) (json.RawMessage, error) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, errors.New("multirange text is not {...}")
	}
	rng := &schema.Column{Name: col.Name, TypeID: multirangeOf[col.TypeID], Kind: schema.KindJSON}
	var b bytes.Buffer
	b.WriteByte('[')
	inner := s[1 : len(s)-1]
	for n := 0; inner != ""; n++ {
		if n > 0 {
			if inner[0] != ',' {
				return nil, errors.New("multirange text has no ',' between its ranges")
			}
			inner = inner[1:]
			b.WriteByte(',')
		}
		end, err := rangeEnd(inner)
		if err != nil {
			return nil, err
		}
		r, err := decodeRange(rng, inner[:end])
		if err != nil {
			return nil, err
		}
		b.Write(r)
		inner = inner[end:]
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// rangeEnd is the length of the range at the start of s: up to its closing
// ']' or ')' outside double quotes.
func rangeEnd(s string) (int, error) {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ']' || c == ')'):
			return i + 1, nil
		}
	}
	return 0, errors.New("multirange text ends inside a range")
}

// decodeRange decodes a range's text.
func decodeRange(col *schema.Column, s string) (json.RawMessage, error) {
	if s == "empty" {
		return json.RawMessage(`{"empty":true}`), nil
	}
	elemOID := rangeElem[col.TypeID]
	elem := &schema.Column{Name: col.Name, TypeID: elemOID, Kind: kindOf(elemOID)}
	if len(s) < 3 || (s[0] != '[' && s[0] != '(') || (s[len(s)-1] != ']' && s[len(s)-1] != ')') {
		return nil, errors.New("range text is not [lower,upper)")
	}
	lowerInc, upperInc := s[0] == '[', s[len(s)-1] == ']'
	inner := s[1 : len(s)-1]
	lower, rest, err := rangeBound(inner)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(rest, ",") {
		return nil, errors.New("range text has no ',' between its bounds")
	}
	upper, rest, err := rangeBound(rest[1:])
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, errors.New("range text has more than two bounds")
	}
	var b bytes.Buffer
	b.WriteString(`{"lower":`)
	for i, bound := range []*string{lower, upper} {
		if i == 1 {
			b.WriteString(`,"upper":`)
		}
		if bound == nil {
			b.WriteString("null")
			continue
		}
		v, err := decodeText(elem, []byte(*bound))
		if err != nil {
			return nil, err
		}
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
	}
	if lowerInc {
		b.WriteString(`,"lower_inclusive":true`)
	} else {
		b.WriteString(`,"lower_inclusive":false`)
	}
	if upperInc {
		b.WriteString(`,"upper_inclusive":true}`)
	} else {
		b.WriteString(`,"upper_inclusive":false}`)
	}
	return b.Bytes(), nil
}

// rangeBound reads one bound: empty (unbounded, nil), plain up to ',', or
// double-quoted with backslash escapes.
func rangeBound(s string) (*string, string, error) {
	if s == "" || s[0] == ',' {
		return nil, s, nil
	}
	if s[0] != '"' {
		i := strings.IndexByte(s, ',')
		if i < 0 {
			i = len(s)
		}
		v := s[:i]
		return &v, s[i:], nil
	}
	var v strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				v.WriteByte(s[i])
			}
		case '"':
			if i+1 < len(s) && s[i+1] == '"' { // "" inside quotes is a quote
				v.WriteByte('"')
				i++
				continue
			}
			out := v.String()
			return &out, s[i+1:], nil
		default:
			v.WriteByte(c)
		}
	}
	return nil, "", errors.New("range text ends inside a quoted bound")
}
