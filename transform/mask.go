package transform

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cdc-go/cdc/schema"
)

// MaskKind is how a masked column's values are replaced.
type MaskKind uint8

// The masks.
const (
	// MaskNull replaces every value with NULL.
	MaskNull MaskKind = iota + 1
	// MaskHash replaces a value with the lowercase hex SHA-256 of the
	// route's salt followed by the value's text form.
	MaskHash
	// MaskTruncate keeps the first N characters (runes) of the value's text
	// form; bytes columns keep their first N bytes.
	MaskTruncate
)

// Mask is one column's mask.
type Mask struct {
	Kind MaskKind
	N    int // characters kept by MaskTruncate
}

// ParseMask parses a mask as written in the config: "hash", "truncate:N"
// (N >= 0) or "null"; "" is "null" too, so that a YAML null ("ssn: null")
// means the null mask.
func ParseMask(s string) (Mask, error) {
	switch {
	case s == "" || s == "null":
		return Mask{Kind: MaskNull}, nil
	case s == "hash":
		return Mask{Kind: MaskHash}, nil
	case strings.HasPrefix(s, "truncate:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "truncate:"))
		if err != nil || n < 0 {
			return Mask{}, fmt.Errorf("%q: truncate takes a number of characters to keep, e.g. truncate:4", s)
		}
		return Mask{Kind: MaskTruncate, N: n}, nil
	case s == "truncate":
		return Mask{}, errors.New(`"truncate" needs the number of characters to keep, e.g. truncate:4`)
	}
	return Mask{}, fmt.Errorf("unknown mask %q (valid: hash, truncate:N, null)", s)
}

func (m Mask) String() string {
	switch m.Kind {
	case MaskNull:
		return "null"
	case MaskHash:
		return "hash"
	case MaskTruncate:
		return "truncate:" + strconv.Itoa(m.N)
	}
	return "mask(" + strconv.Itoa(int(m.Kind)) + ")"
}

// Apply returns the masked form of v. NULL stays NULL under every mask,
// and a value the source did not send (schema.Unavailable) stays
// unavailable. Hashed values and truncated non-bytes values become strings.
func (m Mask) Apply(v any, salt string) any {
	switch v.(type) {
	case nil, schema.Unavailable:
		return v
	}
	switch m.Kind {
	case MaskHash:
		h := sha256.New()
		h.Write([]byte(salt))
		if b, ok := v.([]byte); ok {
			h.Write(b)
		} else {
			s, _ := textOf(v)
			h.Write([]byte(s))
		}
		return hex.EncodeToString(h.Sum(nil))
	case MaskTruncate:
		if b, ok := v.([]byte); ok {
			if len(b) > m.N {
				return b[:m.N:m.N]
			}
			return b
		}
		s, _ := textOf(v)
		return truncateRunes(s, m.N)
	default:
		return nil
	}
}

// truncateRunes keeps the first n runes of s (an invalid byte counts as one).
func truncateRunes(s string, n int) string {
	for i := 0; i < len(s); n-- {
		if n == 0 {
			return s[:i]
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s
}

// textOf returns the text form of a row value: strings as they are, numbers
// in decimal, a JSON string value unquoted and other JSON as its text,
// bytes as raw bytes, set members joined with ",". ok is false for NULL and
// for a value the source did not send.
func textOf(v any) (s string, ok bool) {
	switch v := v.(type) {
	case nil, schema.Unavailable:
		return "", false
	case string:
		return v, true
	case []byte:
		return string(v), true
	case json.RawMessage:
		var str string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &str) == nil {
			return str, true
		}
		return string(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case []string:
		return strings.Join(v, ","), true
	default:
		return fmt.Sprint(v), true
	}
}
