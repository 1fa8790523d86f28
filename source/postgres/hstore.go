package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// decodeHstore turns hstore's text ("a"=>"1", "b"=>NULL) into a JSON
// object of string values (null for NULL), keys in the order written.
func decodeHstore(s string) (json.RawMessage, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	i, n := 0, 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
	}
	quoted := func() (string, error) {
		if i >= len(s) || s[i] != '"' {
			return "", errors.New("hstore: expected '\"'")
		}
		i++
		var v strings.Builder
		for i < len(s) {
			c := s[i]
			i++
			switch c {
			case '\\':
				if i < len(s) {
					v.WriteByte(s[i])
					i++
				}
			case '"':
				return v.String(), nil
			default:
				v.WriteByte(c)
			}
		}
		return "", errors.New("hstore: unterminated string")
	}
	for skip(); i < len(s); skip() {
		key, err := quoted()
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(s[i:], "=>") {
			return nil, errors.New("hstore: expected '=>'")
		}
		i += 2
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		writeJSONString(&b, key)
		b.WriteByte(':')
		if strings.HasPrefix(s[i:], "NULL") {
			i += 4
			b.WriteString("null")
		} else {
			val, err := quoted()
			if err != nil {
				return nil, err
			}
			writeJSONString(&b, val)
		}
		if i < len(s) && s[i] != ',' {
			return nil, fmt.Errorf("hstore: unexpected %q", s[i])
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}

// decodePoint turns a point's text "(x,y)" into {"x":x,"y":y}.
func decodePoint(s string) (json.RawMessage, error) {
	inner, ok := strings.CutPrefix(s, "(")
	if inner, ok = strings.CutSuffix(inner, ")"); !ok {
		return nil, errors.New("point: expected (x,y)")
	}
	xs, ys, ok := strings.Cut(inner, ",")
	if !ok {
		return nil, errors.New("point: expected (x,y)")
	}
	x, err1 := strconv.ParseFloat(xs, 64)
	y, err2 := strconv.ParseFloat(ys, 64)
	if err1 != nil || err2 != nil {
		return nil, errors.New("point: coordinates are not numbers")
	}
	num := func(f float64, text string) string {
		if _, err := json.Marshal(f); err != nil { // NaN, Infinity
			return strconv.Quote(text)
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return json.RawMessage(`{"x":` + num(x, xs) + `,"y":` + num(y, ys) + `}`), nil
}
