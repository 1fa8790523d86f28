package mysql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text columns are converted to UTF-8 exactly as the server converts them
// (CONVERT(col USING utf8mb4)), or not at all: a byte sequence the charset
// cannot map is a conversion error (the change goes to the dead-letter
// topic with its raw bytes), never a silent U+FFFD or a guess.
//
//   - utf8mb4, utf8mb3: the bytes must be valid UTF-8 (a U+FFFD the user
//     stored is valid and stays a value).
//   - single-byte charsets (latin1, cp1250, koi8r, ...): a 256-entry table
//     read from the server at Open (byteTables), so that it is the
//     server's own mapping. Built in, for when the server cannot be asked:
//     latin1 (MySQL's latin1 is cp1252 with 0x81, 0x8D, 0x8F, 0x90 and 0x9D
//     mapped to the C1 controls U+0081... instead of left undefined) and
//     ascii.
//   - ucs2, utf16, utf16le, utf32: decoded by their definition; lone
//     surrogates (which MySQL's ucs2 accepts) have no UTF-8 form and are
//     errors.
//   - the multi-byte East Asian charsets (big5, gbk, gb2312, gb18030, sjis,
//     cp932, ujis, eucjpms, euckr): MySQL's tables differ from the WHATWG
//     and JIS ones in golang.org/x/text in places (the yen sign and
//     backslash in sjis, vendor extensions in cp932 and eucjpms, ...), and
//     cdc has not verified a table against the server for them, so their
//     values are conversion errors ("not supported") rather than guesses.

// byteTable maps each byte of a single-byte charset to its rune, or to -1
// when the charset has no mapping for it.
type byteTable [256]rune

// latin1Table is MySQL's latin1: Windows-1252, with the five bytes that
// Windows-1252 leaves undefined mapped to the C1 controls of the same value.
var latin1Table = func() *byteTable {
	var t byteTable
	for i := range t {
		t[i] = rune(i)
	}
	for i, r := range [32]rune{
		0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
		0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
	} {
		t[0x80+i] = r
	}
	return &t
}()

var asciiTable = func() *byteTable {
	var t byteTable
	for i := range t {
		t[i] = -1
		if i < 0x80 {
			t[i] = rune(i)
		}
	}
	return &t
}()

// decodeText converts a string column's bytes from its charset to UTF-8.
func (cs *charsets) decodeText(charset string, b []byte) (any, error) {
	switch charset {
	case "utf8mb4", "":
		return validUTF8(charsetLabel(charset), b, utf8.MaxRune)
	case "utf8mb3", "utf8":
		return validUTF8(charset, b, 0xFFFF)
	case "binary":
		return b, nil
	case "ucs2":
		return decodeUTF16(charset, b, bigEndian16, false)
	case "utf16":
		return decodeUTF16(charset, b, bigEndian16, true)
	case "utf16le":
		return decodeUTF16(charset, b, littleEndian16, true)
	case "utf32":
		return decodeUTF32(b)
	}
	if t := cs.byteTable(charset); t != nil {
		return decodeBytes(charset, t, b)
	}
	return nil, fmt.Errorf("charset %s is not supported: cdc cannot convert it to UTF-8 exactly as the server does", charset)
}

func validUTF8(label string, b []byte, max rune) (any, error) {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 || r > max {
			return nil, fmt.Errorf("invalid %s text: bytes %s at offset %d", label, hexAt(b, i, 4), i)
		}
		i += n
	}
	return string(b), nil
}

func decodeBytes(charset string, t *byteTable, b []byte) (any, error) {
	var s strings.Builder
	s.Grow(len(b))
	for i, c := range b {
		r := t[c]
		if r < 0 {
			return nil, fmt.Errorf("%s byte 0x%02x at offset %d has no Unicode mapping on the server", charset, c, i)
		}
		s.WriteRune(r)
	}
	return s.String(), nil
}

func bigEndian16(b []byte) rune    { return rune(b[0])<<8 | rune(b[1]) }
func littleEndian16(b []byte) rune { return rune(b[1])<<8 | rune(b[0]) }

func decodeUTF16(charset string, b []byte, unit func([]byte) rune, pairs bool) (any, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("invalid %s text: %d bytes, not a multiple of 2", charset, len(b))
	}
	var s strings.Builder
	for i := 0; i < len(b); i += 2 {
		r := unit(b[i:])
		if r >= 0xD800 && r < 0xE000 {
			if !pairs || r >= 0xDC00 || i+4 > len(b) {
				return nil, fmt.Errorf("invalid %s text: lone surrogate %s at offset %d", charset, hexAt(b, i, 2), i)
			}
			lo := unit(b[i+2:])
			if lo < 0xDC00 || lo >= 0xE000 {
				return nil, fmt.Errorf("invalid %s text: lone surrogate %s at offset %d", charset, hexAt(b, i, 2), i)
			}
			r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
			i += 2
		}
		s.WriteRune(r)
	}
	return s.String(), nil
}

func decodeUTF32(b []byte) (any, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("invalid utf32 text: %d bytes, not a multiple of 4", len(b))
	}
	var s strings.Builder
	for i := 0; i < len(b); i += 4 {
		r := rune(b[i])<<24 | rune(b[i+1])<<16 | rune(b[i+2])<<8 | rune(b[i+3])
		if !utf8.ValidRune(r) {
			return nil, fmt.Errorf("invalid utf32 text: %s at offset %d is not a Unicode scalar value", hexAt(b, i, 4), i)
		}
		s.WriteRune(r)
	}
	return s.String(), nil
}

// hexAt shows up to n bytes of b from offset i, for error messages.
func hexAt(b []byte, i, n int) string {
	return "0x" + hex.EncodeToString(b[i:min(len(b), i+n)])
}

func charsetLabel(cs string) string {
	if cs == "" {
		return "utf8"
	}
	return cs
}

// byteTable returns the table of a single-byte charset: the server's when
// it was read, else a built-in one, else nil.
func (cs *charsets) byteTable(charset string) *byteTable {
	if cs != nil {
		if t, ok := cs.tables[charset]; ok {
			return t
		}
	}
	switch charset {
	case "latin1":
		return latin1Table
	case "ascii":
		return asciiTable
	}
	return nil
}

// loadByteTables reads the server's mapping of every byte of each
// single-byte charset (MAXLEN 1) to Unicode: CONVERT(CAST(x'NN' AS CHAR
// CHARACTER SET cs) USING utf8mb4). A byte other than 0x3F that converts
// to "?" has no mapping. A charset whose table cannot be read is left to
// the built-in table or, without one, its values are errors.
func (cs *charsets) loadByteTables(ctx context.Context, db *sql.DB) error {
	var names []string
	for name, n := range cs.maxlen {
		if n == 1 && name != "binary" {
			names = append(names, name)
		}
	}
	var q strings.Builder
	for _, name := range names {
		q.Reset()
		q.WriteString("SELECT ")
		for i := 0; i < 256; i++ {
			if i > 0 {
				q.WriteByte(',')
			}
			fmt.Fprintf(&q, "HEX(CONVERT(CAST(x'%02x' AS CHAR CHARACTER SET %s) USING utf8mb4))", i, name)
		}
		var hexes [256]string
		dest := make([]any, 256)
		for i := range dest {
			dest[i] = &hexes[i]
		}
		if err := db.QueryRowContext(ctx, q.String()).Scan(dest...); err != nil {
			return fmt.Errorf("reading the %s byte table: %w", name, err)
		}
		t, err := parseByteTable(hexes)
		if err != nil {
			return fmt.Errorf("reading the %s byte table: %w", name, err)
		}
		cs.tables[name] = t
	}
	return nil
}

// parseByteTable builds a table from the server's UTF-8 forms of the 256
// bytes, in hex.
func parseByteTable(hexes [256]string) (*byteTable, error) {
	var t byteTable
	for i, h := range hexes {
		u, err := hex.DecodeString(h)
		if err != nil {
			return nil, err
		}
		r, n := utf8.DecodeRune(u)
		switch {
		case n != len(u) || r == utf8.RuneError && n <= 1:
			return nil, fmt.Errorf("byte 0x%02x converts to %q, not one character", i, u)
		case r == '?' && i != '?':
			t[i] = -1
		default:
			t[i] = r
		}
	}
	return &t, nil
}
