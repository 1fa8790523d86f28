package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
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
//   - euckr and gbk: golang.org/x/text's decoders, which were compared with
//     MariaDB 10.11's CONVERT for every 1- and 2-byte sequence: euckr
//     matches exactly; x/text's GBK also decodes 83 sequences MySQL's gbk
//     does not have (0x80 and GB18030 additions, gbkUnmapped), which are
//     rejected. A U+FFFD in their output (a sequence the decoder could not
//     map) is an error.
//   - the other multi-byte East Asian charsets (big5, gb2312, gb18030,
//     sjis, cp932, ujis, eucjpms): the same comparison finds hundreds of
//     differences (MySQL's big5 and sjis tables, the vendor extensions of
//     cp932 and eucjpms, gb2312 decoded as GBK), so their values are
//     conversion errors ("not supported") rather than guesses.

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
	case "euckr":
		return decodeWith(charset, korean.EUCKR, b, nil)
	case "gbk":
		return decodeWith(charset, simplifiedchinese.GBK, b, gbkUnmapped)
	}
	if t := cs.byteTable(charset); t != nil {
		return decodeBytes(charset, t, b)
	}
	return nil, fmt.Errorf("charset %s is not supported: cdc cannot convert it to UTF-8 exactly as the server does", charset)
}

func validUTF8(label string, b []byte, max rune) (any, error) {
	// utf8.Valid checks eight ASCII bytes at a time; the rune loop is
	// only needed to locate an error, or to find a 4-byte sequence in
	// utf8mb3 text (a lead byte of 0xF0 or more).
	if utf8.Valid(b) && (max >= utf8.MaxRune || !hasFourByte(b)) {
		return string(b), nil
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 || r > max {
			return nil, fmt.Errorf("invalid %s text: bytes %s at offset %d", label, hexAt(b, i, 4), i)
		}
		i += n
	}
	return string(b), nil
}

// validUTF8String reports whether s, a column's text in charset, is valid
// as it is: UTF-8 within the charset's range. False sends the caller to
// decodeText, which converts other charsets or names the error.
func validUTF8String(charset, s string) bool {
	switch charset {
	case "utf8mb4", "":
		return utf8.ValidString(s)
	case "utf8mb3", "utf8":
		return utf8.ValidString(s) && !hasFourByte(s)
	}
	return false
}

func hasFourByte[T string | []byte](b T) bool {
	for i := range len(b) {
		if b[i] >= 0xF0 {
			return true
		}
	}
	return false
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

// decodeWith decodes a double-byte charset (bytes below 0x80 are ASCII,
// others lead a two-byte sequence) with an x/text decoder that matches the
// server's table except for the sequences in unmapped.
func decodeWith(charset string, enc encoding.Encoding, b []byte, unmapped map[uint16]bool) (any, error) {
	for i := 0; i < len(b); {
		if b[i] < 0x80 {
			i++
			continue
		}
		code := uint16(b[i]) << 8
		if i+1 < len(b) {
			code |= uint16(b[i+1])
		}
		if unmapped[code] || b[i] == 0x80 && unmapped[0x80] {
			return nil, fmt.Errorf("%s bytes %s at offset %d have no Unicode mapping on the server", charset, hexAt(b, i, 2), i)
		}
		i += 2
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return nil, fmt.Errorf("decoding %s text: %w", charset, err)
	}
	if i := bytes.IndexRune(out, utf8.RuneError); i >= 0 {
		return nil, fmt.Errorf("invalid %s text: a byte sequence without a Unicode mapping (character %d of the decoded text)", charset, utf8.RuneCount(out[:i]))
	}
	return string(out), nil
}

// gbkUnmapped lists the sequences golang.org/x/text's GBK decodes but
// MySQL's gbk does not map (found by comparing both over every 1- and
// 2-byte sequence on MariaDB 10.11).
var gbkUnmapped = func() map[uint16]bool {
	m := map[uint16]bool{0x80: true}
	for _, f := range strings.Fields(`a2e3 a3a0 a8bf a989 a98a a98b a98c a98d a98e a98f a990 a991 a992 a993 a994 a995
		fe50 fe54 fe55 fe56 fe57 fe58 fe5a fe5b fe5c fe5d fe5e fe5f fe60 fe62 fe63 fe64 fe65 fe68 fe69 fe6a fe6b fe6e fe6f
		fe70 fe71 fe72 fe73 fe74 fe75 fe77 fe78 fe79 fe7a fe7b fe7c fe7d fe80 fe81 fe82 fe83 fe84 fe85 fe86 fe87 fe88 fe89
		fe8a fe8b fe8c fe8d fe8e fe8f fe92 fe93 fe94 fe95 fe96 fe97 fe98 fe99 fe9a fe9b fe9c fe9d fe9e fe9f`) {
		var c uint16
		fmt.Sscanf(f, "%x", &c)
		m[c] = true
	}
	return m
}()

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
// the built-in table or, without one, its values are errors; the others
// are still read.
func (cs *charsets) loadByteTables(ctx context.Context, db *sql.DB) error {
	var names []string
	for name, n := range cs.maxlen {
		if n == 1 && name != "binary" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var q strings.Builder
	var errs error
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
			errs = errors.Join(errs, fmt.Errorf("reading the %s byte table: %w", name, err))
			continue
		}
		t, err := parseByteTable(hexes)
		if err != nil {
			errs = errors.Join(errs, fmt.Errorf("reading the %s byte table: %w", name, err))
			continue
		}
		cs.tables[name] = t
	}
	return errs
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
