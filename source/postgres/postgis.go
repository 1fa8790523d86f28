package postgres

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// PostGIS geometry and geography values are {"srid": n, "wkb": base64}, as
// MySQL's geometries are: pgoutput sends their hex EWKB, whose SRID moves
// to "srid" (null when the value has none) and whose remaining bytes are
// the WKB (for 2-D values exactly OGC WKB; Z and M keep EWKB's flags).

// isPostGIS reports whether a column's type (format_type's name) is a
// PostGIS geometry or geography.
func isPostGIS(typ string) bool {
	return strings.HasPrefix(typ, "geometry") || strings.HasPrefix(typ, "geography")
}

const (
	ewkbSRID = 0x20000000 // the type word's flag: an SRID follows it
)

// decodeEWKB turns hex EWKB into {"srid": n, "wkb": base64}.
func decodeEWKB(s string) (json.RawMessage, error) {
	ewkb, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("geometry text is not hex EWKB")
	}
	if len(ewkb) < 5 || ewkb[0] > 1 {
		return nil, errors.New("geometry EWKB has no byte order and type")
	}
	var order interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.BigEndian
	if ewkb[0] == 1 {
		order = binary.LittleEndian
	}
	typ := order.Uint32(ewkb[1:5])
	srid := "null"
	wkb := ewkb
	if typ&ewkbSRID != 0 {
		if len(ewkb) < 9 {
			return nil, errors.New("geometry EWKB ends inside its SRID")
		}
		srid = strconv.FormatUint(uint64(order.Uint32(ewkb[5:9])), 10)
		wkb = make([]byte, 0, len(ewkb)-4)
		wkb = append(wkb, ewkb[0])
		wkb = order.AppendUint32(wkb, typ&^ewkbSRID)
		wkb = append(wkb, ewkb[9:]...)
	}
	b := make([]byte, 0, 32+len(wkb)*4/3)
	b = append(b, `{"srid":`...)
	b = append(b, srid...)
	b = append(b, `,"wkb":"`...)
	b = base64.StdEncoding.AppendEncode(b, wkb)
	return append(b, `"}`...), nil
}
