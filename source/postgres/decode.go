package postgres

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cdc-go/cdc/schema"
)

// Built-in type OIDs (pg_type.dat); stable across Postgres versions.
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidXID         = 28
	oidJSON        = 114
	oidXML         = 142
	oidFloat4      = 700
	oidFloat8      = 701
	oidMoney       = 790
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestampTZ = 1184
	oidInterval    = 1186
	oidTimeTZ      = 1266
	oidBit         = 1560
	oidVarbit      = 1562
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
	oidPoint       = 600
	oidInet        = 869
	oidCidr        = 650
	oidMacaddr     = 829
	oidMacaddr8    = 774
)

// kindOf maps a type OID to the logical kind of its values. Types not listed
// (arrays, ranges, geometric, network, user-defined enums and domains) are
// KindUnknown and travel as Postgres's text form.
func kindOf(oid uint32) schema.Kind {
	switch oid {
	case oidBool:
		return schema.KindBool
	case oidInt2, oidInt4, oidInt8, oidOID, oidXID:
		return schema.KindInt
	case oidFloat4, oidFloat8:
		return schema.KindFloat
	case oidNumeric, oidMoney:
		return schema.KindDecimal
	case oidText, oidVarchar, oidBPChar, oidName, oidChar, oidXML, oidInet, oidCidr, oidMacaddr, oidMacaddr8:
		return schema.KindString
	case oidBytea:
		return schema.KindBytes
	case oidJSON, oidJSONB:
		return schema.KindJSON
	case oidUUID:
		return schema.KindUUID
	case oidDate:
		return schema.KindDate
	case oidTime, oidTimeTZ:
		return schema.KindTime
	case oidTimestamp:
		return schema.KindTimestamp
	case oidTimestampTZ:
		return schema.KindTimestampTZ
	case oidInterval:
		return schema.KindInterval
	case oidBit, oidVarbit:
		return schema.KindBits
	case oidPoint:
		return schema.KindJSON
	}
	if _, ok := arrayElem[oid]; ok {
		return schema.KindArray
	}
	if _, ok := rangeElem[oid]; ok {
		return schema.KindJSON
	}
	if _, ok := multirangeOf[oid]; ok {
		return schema.KindJSON
	}
	return schema.KindUnknown
}

// decodeText converts one column value from pgoutput's text format to the
// value types documented in package schema. The replication session runs
// with the settings of pinSession (bytea_output=hex, lc_monetary=C,
// DateStyle=ISO, TimeZone=UTC, IntervalStyle=iso_8601,
// extra_float_digits=3), which the parsing below relies on.
//
// text aliases the replication connection's read buffer (rows.go): nothing
// returned may share its memory. Numbers are parsed from it without a copy
// (a string(text) only passed to strconv stays on the stack); everything
// else works on s, a copy.
func decodeText(col *schema.Column, text []byte) (any, error) {
	switch col.Kind {
	case schema.KindBool:
		if len(text) == 1 {
			switch text[0] {
			case 't':
				return true, nil
			case 'f':
				return false, nil
			}
		}
	case schema.KindInt:
		if v, err := strconv.ParseInt(string(text), 10, 64); err == nil {
			return v, nil
		}
		if v, err := strconv.ParseUint(string(text), 10, 64); err == nil { // xid, oid above 2^63 cannot happen but be safe
			return v, nil
		}
	case schema.KindFloat:
		bits := 64
		if col.TypeID == oidFloat4 {
			bits = 32
		}
		v, err := strconv.ParseFloat(string(text), bits)
		if err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
			if bits == 32 {
				// Before PostgreSQL 12, extra_float_digits=3 printed
				// 0.1::real as 0.100000001: keep the shortest decimal that
				// reads back the same float32, as for MySQL's FLOAT.
				v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 32), 64)
			}
			return v, nil
		}
		return string(text), nil // "NaN", "Infinity", "-Infinity" have no JSON number form
	}
	s := string(text)
	switch col.Kind {
	case schema.KindBool, schema.KindInt:
		// Not parsed above: the error below.
	case schema.KindDecimal:
		if col.TypeID == oidMoney {
			if v, ok := parseMoney(s); ok {
				return v, nil
			}
			break
		}
		return s, nil
	case schema.KindBytes:
		if strings.HasPrefix(s, `\x`) {
			b, err := hex.DecodeString(s[2:])
			if err == nil {
				return b, nil
			}
		}
	case schema.KindJSON:
		if _, ok := rangeElem[col.TypeID]; ok {
			if v, err := decodeRange(col, s); err == nil {
				return v, nil
			}
			break
		}
		if _, ok := multirangeOf[col.TypeID]; ok {
			if v, err := decodeMultirange(col, s); err == nil {
				return v, nil
			}
			break
		}
		if col.TypeID == oidPoint {
			if v, err := decodePoint(s); err == nil {
				return v, nil
			}
			break
		}
		if len(col.Fields) > 0 {
			v, err := decodeComposite(col, s)
			if err != nil {
				return nil, fmt.Errorf("column %q of type %s: %w: %q", col.Name, col.Type, err, truncate(s, 64))
			}
			return v, nil
		}
		if isPostGIS(col.Type) {
			if v, err := decodeEWKB(s); err == nil {
				return v, nil
			}
			break
		}
		if col.Type == "hstore" {
			if v, err := decodeHstore(s); err == nil {
				return v, nil
			}
			break
		}
		if json.Valid(text) {
			return json.RawMessage(s), nil
		}
	case schema.KindArray:
		v, err := decodeArray(col, s)
		if err == nil {
			return v, nil
		}
		return nil, fmt.Errorf("column %q of type %s: %w: %q", col.Name, col.Type, err, truncate(s, 64))
	case schema.KindDate:
		if v, ok := pgDate(s); ok {
			return v, nil
		}
	case schema.KindTimestamp:
		if v, ok := pgTimestamp(s, false); ok {
			return v, nil
		}
	case schema.KindTimestampTZ:
		if v, ok := pgTimestamp(s, true); ok {
			return v, nil
		}
	default:
		return s, nil
	}
	return nil, fmt.Errorf("column %q of type %s: cannot decode %q", col.Name, col.Type, truncate(s, 64))
}

// parseMoney turns money's output under lc_monetary=C ("$1,234.56",
// "-$1,234.56") into a plain decimal ("1234.56", "-1234.56").
func parseMoney(s string) (string, bool) {
	neg := strings.HasPrefix(s, "-")
	digits, ok := strings.CutPrefix(strings.TrimPrefix(s, "-"), "$")
	if !ok || digits == "" {
		return "", false
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	point := false
	for i := 0; i < len(digits); i++ {
		switch c := digits[i]; {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ',' && !point && i > 0:
		case c == '.' && !point && i > 0 && i < len(digits)-1:
			point = true
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
