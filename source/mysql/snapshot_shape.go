package mysql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/cdc-go/cdc/schema"
)

// The shape of a table for its snapshot. A snapshot row must carry the
// same *schema.Table (columns, native types, kinds, key flags: the same
// Fingerprint, hence the same schema version) as a streamed row of the same
// table. The stream builds it with describe from a table-map event, so the
// snapshot does the same: it writes, from information_schema, the table-map
// event the server would binlog for the table (column types and metadata,
// null bitmap, signedness, charsets, enum and set members, primary key,
// geometry types) and passes it to describe. Whatever describe decides
// (names, kinds, "varchar(n)" counted in characters, BINARY(16) turned
// into uuid) is then decided once, for both paths.

// ErrNoPrimaryKey: the table has no primary key, so it cannot be read in
// key-ordered chunks (snapshot.keys or a one-pass read is needed).
var ErrNoPrimaryKey = errors.New("table has no primary key")

// snapTable is a table as a snapshot reads it: the stream's decoding of
// each column, and the column metadata of the table map it was built from
// (the fractional digits of TIME, DATETIME and TIMESTAMP columns).
type snapTable struct {
	*table
	meta []uint16
}

// snapshotShape returns the table's shape as the stream describes it, and
// its primary key's columns in index order (information_schema.STATISTICS
// SEQ_IN_INDEX), which is the chunk order. A table without a primary key
// returns its shape with ErrNoPrimaryKey. It reads information_schema on
// the catalog pool; it changes nothing.
func (s *Source) snapshotShape(ctx context.Context, db, table string) (*schema.Table, []string, error) {
	t, err := s.readShape(ctx, s.db, db, table)
	if err != nil {
		return nil, nil, err
	}
	key, err := primaryKey(ctx, s.db, db, table)
	if err != nil {
		return nil, nil, err
	}
	if len(key) == 0 {
		return t.schema, nil, fmt.Errorf("snapshot of %s.%s: %w", db, table, ErrNoPrimaryKey)
	}
	return t.schema, key, nil
}

// queryer is what readShape needs: the catalog pool, or the chunk's own
// connection inside its transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// primaryKey lists the primary key's columns in index order.
func primaryKey(ctx context.Context, q queryer, db, table string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`, db, table)
	if err != nil {
		return nil, fmt.Errorf("reading the primary key of %s.%s: %w", db, table, err)
	}
	defer rows.Close()
	var key []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("reading the primary key of %s.%s: %w", db, table, err)
		}
		key = append(key, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the primary key of %s.%s: %w", db, table, err)
	}
	return key, nil
}

// isColumn is one row of information_schema.COLUMNS.
type isColumn struct {
	name, dataType, columnType string
	nullable                   bool
	charset                    sql.NullString
	octets                     sql.NullInt64 // CHARACTER_OCTET_LENGTH
	precision, scale           sql.NullInt64 // NUMERIC_PRECISION, NUMERIC_SCALE
	fsp                        sql.NullInt64 // DATETIME_PRECISION
	key                        bool          // COLUMN_KEY = 'PRI'
}

// readShape reads the table's columns and builds its shape with describe.
func (s *Source) readShape(ctx context.Context, q queryer, db, table string) (*snapTable, error) {
	rows, err := q.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE = 'YES', CHARACTER_SET_NAME,
			CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, COLUMN_KEY = 'PRI'
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db, table)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s.%s: %w", db, table, err)
	}
	var cols []isColumn
	for rows.Next() {
		var c isColumn
		if err := rows.Scan(&c.name, &c.dataType, &c.columnType, &c.nullable, &c.charset, &c.octets, &c.precision, &c.scale, &c.fsp, &c.key); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the columns of %s.%s: %w", db, table, err)
		}
		c.dataType = strings.ToLower(c.dataType)
		cols = append(cols, c)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s.%s: %w", db, table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("reading the columns of %s.%s: no such table (or no privilege on it)", db, table)
	}
	tm, ext, err := s.tableMapOf(ctx, q, db, table, cols)
	if err != nil {
		return nil, fmt.Errorf("shape of %s.%s: %w", db, table, err)
	}
	t, err := describe(tm, s.charset, ext)
	if err != nil {
		return nil, err
	}
	return &snapTable{table: t, meta: tm.ColumnMeta}, nil
}

// tableMapOf writes the table-map event the server binlogs for a table of
// these columns with binlog_row_metadata=FULL, and the MariaDB
// binary-stored types (for describe's ext argument).
func (s *Source) tableMapOf(ctx context.Context, q queryer, db, table string, cols []isColumn) (*replication.TableMapEvent, map[string]string, error) {
	n := len(cols)
	tm := &replication.TableMapEvent{
		Schema: []byte(db), Table: []byte(table), ColumnCount: uint64(n),
		ColumnType: make([]byte, n), ColumnMeta: make([]uint16, n), NullBitmap: make([]byte, (n+7)/8),
	}
	var ext map[string]string
	var signed bitWriter
	for i, c := range cols {
		typ, meta, err := s.columnType(ctx, q, c, tm)
		if err != nil {
			return nil, nil, fmt.Errorf("column %q (%s): %w", c.name, c.columnType, err)
		}
		tm.ColumnType[i], tm.ColumnMeta[i] = typ, meta
		tm.ColumnName = append(tm.ColumnName, []byte(c.name))
		if c.nullable {
			tm.NullBitmap[i/8] |= 1 << (i % 8)
		}
		if tm.IsNumericColumn(i) {
			signed.add(strings.Contains(" "+strings.ToLower(c.columnType)+" ", " unsigned ") || c.dataType == "year")
		}
		if c.key {
			tm.PrimaryKey = append(tm.PrimaryKey, uint64(i))
		}
		switch c.dataType {
		case extInet4, extInet6, extUUID:
			if ext == nil {
				ext = map[string]string{}
			}
			ext[c.name] = c.dataType
		}
		// Collations: the table map carries one per character column and
		// one per enum/set column; describe needs only their charset.
		charset := "binary"
		if c.charset.Valid {
			charset = c.charset.String
		}
		switch {
		case tm.IsEnumOrSetColumn(i):
			id, err := s.collationOf(charset)
			if err != nil {
				return nil, nil, fmt.Errorf("column %q: %w", c.name, err)
			}
			tm.EnumSetColumnCharset = append(tm.EnumSetColumnCharset, id)
		case tm.IsCharacterColumn(i):
			id, err := s.collationOf(charset)
			if err != nil {
				return nil, nil, fmt.Errorf("column %q: %w", c.name, err)
			}
			tm.ColumnCharset = append(tm.ColumnCharset, id)
		}
	}
	tm.SignednessBitmap = signed.bytes
	var longtext []string
	for _, c := range cols {
		if c.dataType == "longtext" {
			longtext = append(longtext, c.name)
		}
	}
	jsonCols, err := jsonColumns(ctx, q, db, table, longtext)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range jsonCols {
		if ext == nil {
			ext = map[string]string{}
		}
		ext[name] = extJSON
	}
	return tm, ext, nil
}

// bitWriter appends bits most significant first, as the table map's
// signedness bitmap has them.
type bitWriter struct {
	bytes []byte
	n     int
}

func (w *bitWriter) add(bit bool) {
	if w.n%8 == 0 {
		w.bytes = append(w.bytes, 0)
	}
	if bit {
		w.bytes[w.n/8] |= 0x80 >> (w.n % 8)
	}
	w.n++
}

// collationOf returns a collation id of the charset, as the table map
// would carry (describe resolves it back to the charset's name).
func (s *Source) collationOf(charset string) (uint64, error) {
	best, found := uint64(0), false
	for id, name := range s.charset.byID {
		if name == charset && (!found || id < best) {
			best, found = id, true
		}
	}
	if !found {
		return 0, fmt.Errorf("charset %s has no known collation id", charset)
	}
	return best, nil
}

var geometryIndex = func() map[string]uint64 {
	m := map[string]uint64{}
	for i, n := range geometryNames {
		m[n] = uint64(i)
	}
	return m
}()

// columnType returns a column's binlog type and metadata, as the server's
// Field::binlog_type and save_field_metadata write them, and records enum
// and set members and geometry types in tm.
func (s *Source) columnType(ctx context.Context, q queryer, c isColumn, tm *replication.TableMapEvent) (byte, uint16, error) {
	if strings.Contains(c.columnType, "mariadb-5.3") {
		return 0, 0, errors.New("a temporal column in the pre-MariaDB-10.0 format (/* mariadb-5.3 */), which the stream does not decode either; fix: ALTER TABLE ... FORCE converts it")
	}
	octets := int(c.octets.Int64)
	switch c.dataType {
	case "tinyint":
		return gomysql.MYSQL_TYPE_TINY, 0, nil
	case "smallint":
		return gomysql.MYSQL_TYPE_SHORT, 0, nil
	case "mediumint":
		return gomysql.MYSQL_TYPE_INT24, 0, nil
	case "int", "integer":
		return gomysql.MYSQL_TYPE_LONG, 0, nil
	case "bigint":
		return gomysql.MYSQL_TYPE_LONGLONG, 0, nil
	case "decimal", "numeric":
		return gomysql.MYSQL_TYPE_NEWDECIMAL, uint16(c.precision.Int64)<<8 | uint16(c.scale.Int64), nil
	case "float":
		return gomysql.MYSQL_TYPE_FLOAT, 4, nil
	case "double", "real", "double precision":
		return gomysql.MYSQL_TYPE_DOUBLE, 8, nil
	case "bit":
		bits := int(c.precision.Int64)
		return gomysql.MYSQL_TYPE_BIT, uint16(bits/8)<<8 | uint16(bits%8), nil
	case "year":
		return gomysql.MYSQL_TYPE_YEAR, 0, nil
	case "date":
		return gomysql.MYSQL_TYPE_DATE, 0, nil
	case "time":
		return gomysql.MYSQL_TYPE_TIME2, uint16(c.fsp.Int64), nil
	case "datetime":
		return gomysql.MYSQL_TYPE_DATETIME2, uint16(c.fsp.Int64), nil
	case "timestamp":
		return gomysql.MYSQL_TYPE_TIMESTAMP2, uint16(c.fsp.Int64), nil
	case "char", "binary":
		return gomysql.MYSQL_TYPE_STRING, stringMeta(gomysql.MYSQL_TYPE_STRING, octets), nil
	case extInet4:
		return gomysql.MYSQL_TYPE_STRING, stringMeta(gomysql.MYSQL_TYPE_STRING, 4), nil
	case extInet6, extUUID:
		return gomysql.MYSQL_TYPE_STRING, stringMeta(gomysql.MYSQL_TYPE_STRING, 16), nil
	case "varchar", "varbinary":
		return gomysql.MYSQL_TYPE_VARCHAR, uint16(octets), nil
	case "tinytext", "tinyblob":
		return gomysql.MYSQL_TYPE_BLOB, 1, nil
	case "text", "blob":
		return gomysql.MYSQL_TYPE_BLOB, 2, nil
	case "mediumtext", "mediumblob":
		return gomysql.MYSQL_TYPE_BLOB, 3, nil
	case "longtext", "longblob":
		return gomysql.MYSQL_TYPE_BLOB, 4, nil
	case "json":
		// MySQL's binary JSON; MariaDB reports its JSON columns as longtext.
		return gomysql.MYSQL_TYPE_JSON, 4, nil
	case "enum", "set":
		members, err := parseMembers(c.columnType)
		if err != nil {
			return 0, 0, err
		}
		raw, err := s.membersInCharset(ctx, q, members, c.charset)
		if err != nil {
			return 0, 0, err
		}
		if c.dataType == "enum" {
			tm.EnumStrValue = append(tm.EnumStrValue, raw)
			pack := 1
			if len(members) > 255 {
				pack = 2
			}
			return gomysql.MYSQL_TYPE_STRING, uint16(gomysql.MYSQL_TYPE_ENUM)<<8 | uint16(pack), nil
		}
		tm.SetStrValue = append(tm.SetStrValue, raw)
		pack := (len(members) + 7) / 8
		if pack > 4 {
			pack = 8
		}
		return gomysql.MYSQL_TYPE_STRING, uint16(gomysql.MYSQL_TYPE_SET)<<8 | uint16(pack), nil
	}
	if g, ok := geometryIndex[c.dataType]; ok {
		tm.GeometryType = append(tm.GeometryType, g)
		return gomysql.MYSQL_TYPE_GEOMETRY, 4, nil
	}
	return 0, 0, fmt.Errorf("type %s is not supported by the snapshot", c.dataType)
}

// stringMeta is the metadata of a CHAR/BINARY column of n bytes: the real
// type in the high byte, with bits 8 and 9 of the length folded into it.
func stringMeta(real byte, n int) uint16 {
	b0 := real ^ byte((n&0x300)>>4)
	return uint16(b0)<<8 | uint16(n&0xff)
}

var membersList = regexp.MustCompile(`^(?i)(enum|set)\((.*)\)$`)

// parseMembers splits the member list of an information_schema
// COLUMN_TYPE such as
//
//	enum('a','it''s','back\\slash')
//
// The server writes each member as append_unescaped does: quotes doubled,
// backslash, NUL, CR and LF escaped with a backslash.
func parseMembers(columnType string) ([]string, error) {
	m := membersList.FindStringSubmatch(columnType)
	if m == nil {
		return nil, fmt.Errorf("cannot read the members of %q", columnType)
	}
	list := m[2]
	var out []string
	for i := 0; i < len(list); {
		if list[i] != '\'' {
			return nil, fmt.Errorf("cannot read the members of %q at offset %d", columnType, i)
		}
		i++
		var b strings.Builder
		for {
			if i >= len(list) {
				return nil, fmt.Errorf("unterminated member in %q", columnType)
			}
			ch := list[i]
			if ch == '\'' {
				if i+1 < len(list) && list[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				i++
				break
			}
			if ch == '\\' && i+1 < len(list) {
				switch list[i+1] {
				case '0':
					b.WriteByte(0)
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 'Z':
					b.WriteByte(0x1a)
				default:
					b.WriteByte(list[i+1])
				}
				i += 2
				continue
			}
			b.WriteByte(ch)
			i++
		}
		out = append(out, b.String())
		if i < len(list) {
			if list[i] != ',' {
				return nil, fmt.Errorf("cannot read the members of %q at offset %d", columnType, i)
			}
			i++
		}
	}
	return out, nil
}

var charsetName = regexp.MustCompile(`^[a-z0-9_]+$`)

// membersInCharset returns enum or set members in the column's charset, as
// the table map carries them: information_schema shows them in UTF-8.
// Members in UTF-8 columns and ASCII members need no conversion; others are
// converted by the server (CONVERT ... USING), so that the mapping is its
// own.
func (s *Source) membersInCharset(ctx context.Context, q queryer, members []string, charset sql.NullString) ([][]byte, error) {
	out := make([][]byte, len(members))
	cs := charset.String
	for i, m := range members {
		out[i] = []byte(m)
		if !charset.Valid || cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8" || isASCII(m) {
			continue
		}
		if !charsetName.MatchString(cs) {
			return nil, fmt.Errorf("charset name %q", cs)
		}
		rows, err := q.QueryContext(ctx, "SELECT HEX(CONVERT(? USING "+cs+"))", m)
		if err != nil {
			return nil, fmt.Errorf("converting member %q to %s: %w", m, cs, err)
		}
		var h string
		if rows.Next() {
			err = rows.Scan(&h)
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("converting member %q to %s: %w", m, cs, err)
		}
		if out[i], err = hex.DecodeString(h); err != nil {
			return nil, fmt.Errorf("converting member %q to %s: %w", m, cs, err)
		}
	}
	return out, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
