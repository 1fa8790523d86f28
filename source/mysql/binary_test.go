package mysql

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/cdc-go/cdc/schema"
)

// The binlog drops the trailing 0x00 bytes of BINARY(n) values; they are
// padded back to the declared length, and the syncer's bytes are not
// written to.
func TestBinaryPadding(t *testing.T) {
	c := column{typ: gomysql.MYSQL_TYPE_STRING, charset: "binary", length: 16}
	in := []byte{0x01}
	got, err := convert(&c, schema.KindBytes, in)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0x01}, make([]byte, 15)...)
	if !bytes.Equal(got.([]byte), want) {
		t.Errorf("binary(16) 0x01: got %x, want %x", got, want)
	}
	if len(in) != 1 || in[0] != 1 {
		t.Errorf("input changed: %x", in)
	}
	if got, _ := convert(&c, schema.KindBytes, ""); !bytes.Equal(got.([]byte), make([]byte, 16)) {
		t.Errorf("binary(16) of zeros: got %x", got)
	}
	// VARBINARY keeps its length: its zeros are in the binlog.
	vb := column{typ: gomysql.MYSQL_TYPE_VARCHAR, charset: "binary", length: 16}
	if got, _ := convert(&vb, schema.KindBytes, "\x01"); !bytes.Equal(got.([]byte), []byte{1}) {
		t.Errorf("varbinary: got %x", got)
	}
}

// describe names MariaDB's INET6, INET4 and UUID columns (BINARY(n) in
// the binlog) only where information_schema says so and the size fits.
func TestDescribeExtTypes(t *testing.T) {
	tm := orderTableMap()
	tm.ColumnType = append(tm.ColumnType, gomysql.MYSQL_TYPE_STRING, gomysql.MYSQL_TYPE_STRING, gomysql.MYSQL_TYPE_STRING, gomysql.MYSQL_TYPE_STRING)
	tm.ColumnMeta = append(tm.ColumnMeta, uint16(gomysql.MYSQL_TYPE_STRING)<<8|16, uint16(gomysql.MYSQL_TYPE_STRING)<<8|16, uint16(gomysql.MYSQL_TYPE_STRING)<<8|4, uint16(gomysql.MYSQL_TYPE_STRING)<<8|16)
	tm.ColumnCharset = append(tm.ColumnCharset, 63, 63, 63, 63)
	for _, n := range []string{"ip", "u", "v4", "plain"} {
		tm.ColumnName = append(tm.ColumnName, []byte(n))
	}
	tm.ColumnCount += 4
	tm.NullBitmap = []byte{0xfc, 0x7f}
	if !hasExtCandidates(tm) {
		t.Fatal("binary(16) columns are candidates")
	}
	tb, err := describe(tm, newCharsets(), map[string]string{"ip": "inet6", "u": "uuid", "v4": "inet4", "status": "uuid"})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, c := range tb.schema.Columns[10:] {
		types = append(types, c.Type+"/"+c.Kind.String())
	}
	if want := []string{"tinyint/int", "inet6/string", "uuid/uuid", "inet4/string", "binary(16)/bytes"}; !reflect.DeepEqual(types, want) {
		t.Errorf("types %v, want %v", types, want)
	}
	if tb.schema.Columns[1].Type != "enum('new','paid')" {
		t.Errorf("an enum named uuid by a stale lookup must stay an enum: %s", tb.schema.Columns[1].Type)
	}
	row := []any{uint64(1), int64(1), int64(0), nil, nil, nil, nil, nil, nil, nil, nil,
		"\xfe\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", "\x6c\xcd\x78\x0c\xba\xba\x10\x26\x95\x64\x5b\x8c\x65\x60\x24", "\x0a", "\x01"}
	got, err := tb.row(row, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got[11] != "fe80::1" || got[12] != "6ccd780c-baba-1026-9564-5b8c65602400" || got[13] != "10.0.0.0" || len(got[14].([]byte)) != 16 {
		t.Errorf("values %#v", got[11:])
	}
}

// formatInet6 writes what MariaDB's CAST(inet6 AS CHAR) writes.
func TestFormatInet6(t *testing.T) {
	cases := map[string]string{
		"::":                           "::",
		"::1":                          "::1",
		"fe80::1":                      "fe80::1",
		"fe80::":                       "fe80::",
		"1:0:2:3:4:5:6:7":              "1::2:3:4:5:6:7", // a single zero word is compressed too
		"1:0:0:2:0:0:0:3":              "1:0:0:2::3",     // the longest run
		"1:0:0:2:0:0:3:4":              "1::2:0:0:3:4",   // the first of equal runs
		"::1.2.3.4":                    "::1.2.3.4",      // IPv4-compatible
		"::ffff:1.2.3.4":               "::ffff:1.2.3.4", // IPv4-mapped
		"::1:0:0":                      "::1:0:0",
		"2001:db8:85a3::8a2e:370:7334": "2001:db8:85a3::8a2e:370:7334",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	}
	for in, want := range cases {
		a := netip.MustParseAddr(in).As16()
		if got := formatInet6(a[:]); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestIsJSONCheck(t *testing.T) {
	for _, c := range []struct {
		clause, col string
		want        bool
	}{
		{"json_valid(`j`)", "j", true},
		{"json_valid(`J`)", "j", true},
		{" json_valid( `j` ) ", "j", true},
		{"json_valid(`a``b`)", "a`b", true},
		{"json_valid(`a b`)", "a b", true},
		{"json_valid(`k`)", "j", false},
		{"json_valid(`j`) and `j` <> ''", "j", false},
		{"`j` <> 'x'", "j", false},
		{"json_valid(`a`b`)", "a`b", false},
	} {
		if got := isJSONCheck(c.clause, c.col); got != c.want {
			t.Errorf("isJSONCheck(%q, %q) = %v, want %v", c.clause, c.col, got, c.want)
		}
	}
}
