package mysql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// Fixed-length binary columns. The binlog drops the trailing 0x00 bytes of
// a BINARY(n) value (the server pads them back when it reads the row), so
// a value is padded to its declared length before anything else: without
// that, binary(16) keys and MariaDB's INET6 and UUID values (stored as 16
// bytes) come out truncated.

// padBinary pads a BINARY(n) value to its n bytes. It copies, so the
// syncer's buffers are never written to.
func padBinary(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	out := make([]byte, n)
	copy(out, b)
	return out
}

// MariaDB data types that the binlog shows as BINARY(n): the table map has
// no type name for them, so the reader asks information_schema (see
// extTypes) and describe applies the answer to columns of the right size.
const (
	extInet4 = "inet4" // BINARY(4), MariaDB 10.10+
	extInet6 = "inet6" // BINARY(16), MariaDB 10.5+
	extUUID  = "uuid"  // BINARY(16), MariaDB 10.7+
	// extJSON is a MariaDB JSON column: LONGTEXT with the CHECK
	// (json_valid(`col`)) constraint MariaDB adds to it. Its values are
	// embedded as JSON, as MySQL's JSON columns are.
	extJSON = "json"
)

// extSize is the binlog byte length of each MariaDB binary-stored type.
var extSize = map[string]int{extInet4: 4, extInet6: 16, extUUID: 16}

// isExtCandidate tells whether a table-map column could be one of the
// MariaDB binary-stored types: BINARY(4) or BINARY(16).
func isExtCandidate(c *column) bool {
	return c.typ == gomysql.MYSQL_TYPE_STRING && c.charset == "binary" && (c.length == 4 || c.length == 16)
}

// formatExt renders a padded value of a MariaDB binary-stored type in the
// server's text form (what SELECT CAST(col AS CHAR) returns).
func formatExt(typ string, b []byte) (string, error) {
	if len(b) != extSize[typ] {
		return "", fmt.Errorf("%s value of %d bytes, want %d", typ, len(b), extSize[typ])
	}
	switch typ {
	case extInet4:
		return formatInet4(b), nil
	case extInet6:
		return formatInet6(b), nil
	case extUUID:
		return formatUUID(b), nil
	}
	return "", fmt.Errorf("unknown type %s", typ)
}

func formatInet4(b []byte) string {
	return strconv.Itoa(int(b[0])) + "." + strconv.Itoa(int(b[1])) + "." + strconv.Itoa(int(b[2])) + "." + strconv.Itoa(int(b[3]))
}

// formatInet6 follows MariaDB's Inet6::to_string: lower-case hex words
// without leading zeros, the first longest run of zero words (even a single
// one) written as "::", and IPv4-compatible (::a.b.c.d) and IPv4-mapped
// (::ffff:a.b.c.d) addresses with a dotted IPv4 tail. It differs from Go's
// netip (RFC 5952), which keeps a single zero word and prints ::a.b.c.d in
// hex.
func formatInet6(b []byte) string {
	var w [8]int
	for i := range w {
		w[i] = int(b[2*i])<<8 | int(b[2*i+1])
	}
	gapPos, gapLen := -1, -1
	pos, n := -1, -1
	for i, v := range w {
		if v != 0 {
			if pos >= 0 {
				if n > gapLen {
					gapPos, gapLen = pos, n
				}
				pos, n = -1, -1
			}
			continue
		}
		if pos >= 0 {
			n++
		} else {
			pos, n = i, 1
		}
	}
	if pos >= 0 && n > gapLen {
		gapPos, gapLen = pos, n
	}
	var s strings.Builder
	for i := 0; i < len(w); i++ {
		switch {
		case i == gapPos:
			if i == 0 {
				s.WriteByte(':')
			}
			s.WriteByte(':')
			i += gapLen - 1
		case i == 6 && gapPos == 0 && (gapLen == 6 || gapLen == 5 && w[5] == 0xffff):
			s.WriteString(formatInet4(b[12:]))
			return s.String()
		default:
			s.WriteString(strconv.FormatInt(int64(w[i]), 16))
			if i+1 != len(w) {
				s.WriteByte(':')
			}
		}
	}
	return s.String()
}

// formatUUID writes the 8-4-4-4-12 lower-case form. MariaDB 10.11 keeps
// some UUIDs with their segments swapped in the table (for index order),
// but the binlog row image carries the text order; the e2e test
// TestMySQLFixedBinary pins this against SELECT CAST(col AS CHAR).
func formatUUID(b []byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// extTypes looks up, in information_schema, which BINARY(4)/BINARY(16)
// columns of a table are MariaDB INET4, INET6 or UUID columns, and caches
// the answer per table until the next DDL statement (forget). The answer
// is today's schema, not necessarily the one the rows were written with:
// rows read long after an ALTER that turned such a column into BINARY(n),
// or back, are labelled and formatted by the current type. Both forms are
// lossless (the text forms parse back to the same bytes), so the value is
// never lost, only, in that window, possibly shown in the other form.
type extTypes struct {
	db      *sql.DB // nil: no lookups (unit tests, MySQL)
	byTable map[string]map[string]string
}

// lookup returns column name -> type for the table's binary-stored
// MariaDB columns ("inet6", "uuid", "inet4"); an empty map when there are
// none. A failing query is an error: guessing would mislabel values.
func (x *extTypes) lookup(ctx context.Context, db, table string) (map[string]string, error) {
	if x == nil || x.db == nil {
		return nil, nil
	}
	key := db + "." + table
	if m, ok := x.byTable[key]; ok {
		return m, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Two lookups by constant schema and table name, which MariaDB answers
	// from the one table's definition; see jsonColumns.
	rows, err := x.db.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND DATA_TYPE IN ('inet4', 'inet6', 'uuid', 'longtext')`, db, table)
	if err != nil {
		return nil, fmt.Errorf("reading the column types of %s from information_schema: %w", key, err)
	}
	defer rows.Close()
	m := map[string]string{}
	var longtext []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("reading the column types of %s from information_schema: %w", key, err)
		}
		if typ = strings.ToLower(typ); typ == "longtext" {
			longtext = append(longtext, name)
		} else {
			m[name] = typ
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the column types of %s from information_schema: %w", key, err)
	}
	rows.Close()
	json, err := jsonColumns(ctx, x.db, db, table, longtext)
	if err != nil {
		return nil, err
	}
	for _, name := range json {
		m[name] = extJSON
	}
	if x.byTable == nil {
		x.byTable = map[string]map[string]string{}
	}
	x.byTable[key] = m
	return m, nil
}

// forget drops the cached answers (after a DDL statement).
func (x *extTypes) forget() {
	if x != nil {
		clear(x.byTable)
	}
}

// extSignature is the part of a table's cache fingerprint that the
// information_schema lookup contributes.
func extSignature(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("|" + strconv.Itoa(len(k)) + ":" + k + "=" + m[k])
	}
	return b.String()
}

// jsonColumns returns which of the given LONGTEXT columns of a table are
// MariaDB JSON columns: those with the check constraint json_valid(`col`),
// which MariaDB names after the column. It reads the table's check
// constraints by constant schema and table name and matches them here: the
// same match as a join with information_schema.COLUMNS made MariaDB 10.11
// read the columns of every table on the server (15-20 ms with 300 tables,
// against 0.5 ms), which a snapshot paid once per chunk.
func jsonColumns(ctx context.Context, q queryer, db, table string, longtext []string) ([]string, error) {
	if q == nil || len(longtext) == 0 { // nil: unit tests that need no catalog
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, db, table)
	if err != nil {
		return nil, fmt.Errorf("reading the JSON columns of %s.%s from information_schema: %w", db, table, err)
	}
	defer rows.Close()
	checks := map[string]string{}
	for rows.Next() {
		var name, clause string
		if err := rows.Scan(&name, &clause); err != nil {
			return nil, fmt.Errorf("reading the JSON columns of %s.%s from information_schema: %w", db, table, err)
		}
		checks[strings.ToLower(name)] = clause
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the JSON columns of %s.%s from information_schema: %w", db, table, err)
	}
	var out []string
	for _, col := range longtext {
		if clause, ok := checks[strings.ToLower(col)]; ok && isJSONCheck(clause, col) {
			out = append(out, col)
		}
	}
	return out, nil
}

// isJSONCheck tells whether a check clause is MariaDB's JSON column
// constraint json_valid(`col`) on col, spaces aside; names compare without
// case, as MariaDB's do (and as information_schema's collation did when
// the match was SQL).
func isJSONCheck(clause, col string) bool {
	want := "json_valid(`" + strings.ReplaceAll(col, "`", "``") + "`)"
	return strings.EqualFold(strings.ReplaceAll(clause, " ", ""), strings.ReplaceAll(want, " ", ""))
}

// hasExtCandidates tells whether a table map has a BINARY(4) or BINARY(16)
// column, or a blob/text one (a MariaDB JSON column is LONGTEXT), the only
// ones worth an information_schema lookup.
func hasExtCandidates(tm *replication.TableMapEvent) bool {
	for i, t := range tm.ColumnType {
		typ, n := realType(t, tm.ColumnMeta[i])
		if typ == gomysql.MYSQL_TYPE_STRING && (n == 4 || n == 16) || typ == gomysql.MYSQL_TYPE_BLOB {
			return true
		}
	}
	return false
}

// isJSONCandidate tells whether a table-map column can be a MariaDB JSON
// column: text of the LONGTEXT size.
func isJSONCandidate(c *column, meta uint16) bool {
	return c.typ == gomysql.MYSQL_TYPE_BLOB && meta == 4 && c.charset != "binary" && c.charset != ""
}
