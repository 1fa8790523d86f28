package mysql

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cdc-go/cdc/schema"
)

// MySQL's latin1 is cp1252 with the five undefined bytes mapped to the C1
// controls: every byte has a character, none becomes U+FFFD.
func TestLatin1AllBytes(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	got, err := newCharsets().decodeText("latin1", all)
	if err != nil {
		t.Fatal(err)
	}
	runes := []rune(got.(string))
	if len(runes) != 256 {
		t.Fatalf("%d characters, want 256", len(runes))
	}
	want := map[int]rune{0x00: 0, 0x41: 'A', 0x80: '€', 0x81: 0x81, 0x8D: 0x8D, 0x8F: 0x8F, 0x90: 0x90, 0x9D: 0x9D, 0x9F: 'Ÿ', 0xA0: 0xA0, 0xE9: 'é', 0xFF: 'ÿ'}
	for i, r := range want {
		if runes[i] != r {
			t.Errorf("byte 0x%02x: got U+%04X, want U+%04X", i, runes[i], r)
		}
	}
	if strings.ContainsRune(got.(string), utf8.RuneError) {
		t.Error("latin1 produced U+FFFD")
	}
}

// Every decoder either converts exactly or fails; a U+FFFD the user stored
// is a value.
func TestDecodeTextStrict(t *testing.T) {
	server := newCharsets()
	var hexes [256]string
	for i := range hexes {
		hexes[i] = hex.EncodeToString([]byte(string(rune(i))))
	}
	hexes[0x81] = "3f" // the server converts an unmapped byte to "?"
	cp, err := parseByteTable(hexes)
	if err != nil {
		t.Fatal(err)
	}
	server.tables["cp1250"] = cp
	cases := []struct {
		name, charset string
		in            string
		want          string // "" with err
		err           string
	}{
		{"utf8mb4 with a stored U+FFFD", "utf8mb4", "a\uFFFDb", "a\uFFFDb", ""},
		{"invalid utf8mb4", "utf8mb4", "ab\xff", "", "offset 2"},
		{"truncated utf8mb4", "utf8mb4", "\xe2\x82", "", "offset 0"},
		{"utf8mb3 has no 4-byte characters", "utf8mb3", "😀", "", "utf8mb3"},
		{"ascii high byte", "ascii", "a\x80", "", "0x80 at offset 1"},
		{"server table", "cp1250", "\x41\xe9", "Aé", ""},
		{"server table: unmapped byte", "cp1250", "a\x81", "", "cp1250 byte 0x81 at offset 1"},
		{"a question mark is a question mark", "cp1250", "?", "?", ""},
		{"single-byte charset without a table", "koi8r", "a", "", "not supported"},
		{"east asian charsets are not guessed", "sjis", "\x5c", "", "not supported"},
		{"big5 is not guessed", "big5", "a", "", "not supported"},
		{"gbk", "gbk", "a\xc4\xe3\xba\xc3", "a你好", ""},
		{"gbk: the euro of cp936 is not MySQL's", "gbk", "a\x80", "", "0x80 at offset 1"},
		{"gbk: a GB18030 addition", "gbk", "\xfe\x50", "", "0xfe50 at offset 0"},
		{"gbk: bad trail byte", "gbk", "\x81\x20", "", "invalid gbk"},
		{"gbk: truncated", "gbk", "a\xc4", "", "gbk"},
		{"euckr", "euckr", "\xc7\xd1", "한", ""},
		{"euckr: bad sequence", "euckr", "\xc7", "", "euckr"},
		{"ucs2", "ucs2", "\x00h\x00\xe9", "hé", ""},
		{"ucs2 lone surrogate", "ucs2", "\xd8\x00", "", "surrogate"},
		{"utf16 pair", "utf16", "\xd8\x3d\xde\x00", "😀", ""},
		{"utf16 lone low surrogate", "utf16", "\xde\x00", "", "surrogate"},
		{"utf16le", "utf16le", "h\x00i\x00", "hi", ""},
		{"utf16 odd length", "utf16", "\x00", "", "multiple of 2"},
		{"utf32", "utf32", "\x00\x01\xf6\x00", "😀", ""},
		{"utf32 out of range", "utf32", "\x00\x11\x00\x00", "", "scalar"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := server.decodeText(c.charset, []byte(c.in))
			// go-mysql hands VARCHAR and TEXT over as strings, which
			// convert passes on without a copy when they are valid as
			// they are: the same verdict.
			col := &column{charset: c.charset, cs: server}
			gotS, errS := convert(col, schema.KindString, c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %q, %v; want an error with %q", got, err, c.err)
				}
				if errS == nil || !strings.Contains(errS.Error(), c.err) {
					t.Fatalf("from a string: got %q, %v; want an error with %q", gotS, errS, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
			if errS != nil || gotS != c.want {
				t.Fatalf("from a string: got %q, %v; want %q", gotS, errS, c.want)
			}
		})
	}
}

// A text value that cannot be converted keeps its raw bytes in the row
// (base64 in the dead letter), and the error says which column and why.
func TestRowKeepsRawBytesOfBadText(t *testing.T) {
	tb, err := describe(orderTableMap(), newCharsets(), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := []any{uint64(1), int64(1), int64(0), "caf\xe9", []byte("ok \xff\xfe"), nil, nil, nil, nil, nil, nil}
	got, err := tb.row(raw, nil)
	if err == nil || !strings.Contains(err.Error(), `column "body"`) || !strings.Contains(err.Error(), "raw bytes") {
		t.Fatalf("want an error naming column body and its raw bytes, got %v", err)
	}
	if b, ok := got[4].([]byte); !ok || !bytes.Equal(b, []byte("ok \xff\xfe")) {
		t.Errorf("body: got %#v, want its raw bytes", got[4])
	}
	if got[3] != "café" {
		t.Errorf("note: %#v", got[3])
	}
}
