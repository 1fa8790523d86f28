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
// range is {"empty": true}. Multiranges and ranges of other types stay
// Postgres's text.

// rangeElem maps built-in range type OIDs to their element type OIDs.
var rangeElem = map[uint32]uint32{
	3904: oidInt4, 3926: oidInt8, 3906: oidNumeric, 3908: oidTimestamp, 3910: oidTimestampTZ, 3912: oidDate,
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
