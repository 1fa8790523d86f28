package mysql

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// TRUNCATE TABLE is binlogged as a statement (a query event of its own
// group), not as rows: the reader turns it into one OpTruncate change of the
// table, in a transaction of its own, as Postgres sources do. It does not
// change the table's shape, so it is not recorded as the DDL of a schema
// version.
//
// The change's table is the shape of the table's last table map read by this
// stream; a table whose rows the stream has not read yet (a TRUNCATE right
// after a restart) gets a table with no columns, which the pipeline gives
// the table's latest known schema version (see source.Change).

// truncate handles a TRUNCATE statement; handled is false when it does not
// name a captured table, and the statement is then passed as other DDL is.
func (r *reader) truncate(ctx context.Context, h *replication.EventHeader, start uint32, e *replication.QueryEvent, q string) (handled bool, err error) {
	db, name, err := truncatedTable(q, string(e.Schema))
	if errors.Is(err, errNotTruncate) {
		return false, nil
	}
	if err != nil {
		r.src.log.Warn("TRUNCATE statement not understood; no truncate event is sent for it", "statement", truncate(q, 200), "db", string(e.Schema), "error", err)
		return false, nil
	}
	id := db + "." + name
	if !r.captures(id) {
		return false, nil
	}
	if !r.group {
		if err := r.beginGroup(h, start); err != nil {
			return true, err
		}
	}
	t := &schema.Table{Namespace: db, Name: name}
	if c, ok := r.cache[id]; ok {
		t = c.table.schema
	}
	r.src.log.Debug("TRUNCATE in the binlog", "table", id, "gtid", r.txGTID, "position", r.file+":"+strconv.FormatUint(uint64(h.LogPos), 10))
	r.begun = true
	if err := r.emit(ctx, source.Message{Begin: &source.Begin{TxID: r.txID(), CommitTime: r.txTime}}); err != nil {
		return true, err
	}
	pos := FilePosition(r.file, start)
	ch := &source.Change{
		Op: source.OpTruncate, Table: t, Pos: pos,
		Tx:   source.Tx{ID: r.txID(), Order: 1, CommitTime: r.txTime},
		Meta: source.Meta{{Key: "db", Value: db}, {Key: "file", Value: pos.file}, {Key: "pos", Value: int64(pos.offset)}, {Key: "row", Value: int64(0)}, {Key: "server_id", Value: int64(h.ServerID)}},
	}
	if r.txGTID != "" {
		ch.Meta.Set("gtid", r.txGTID)
	}
	if e.SlaveProxyID != 0 {
		ch.Meta.Set("thread", int64(e.SlaveProxyID))
	}
	if err := r.emit(ctx, source.Message{Change: ch}); err != nil {
		return true, err
	}
	return true, r.commit(ctx, h)
}

var errNotTruncate = errors.New("not a TRUNCATE statement")

// truncatedTable returns the table a TRUNCATE [TABLE] statement names,
// qualified with the statement's default database when it is not.
func truncatedTable(q, defaultDB string) (db, name string, err error) {
	s := skipSpace(q)
	word := func() string {
		i := 0
		for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
			i++
		}
		w := s[:i]
		s = skipSpace(s[i:])
		return strings.ToUpper(w)
	}
	if word() != "TRUNCATE" {
		return "", "", errNotTruncate
	}
	if strings.HasPrefix(strings.ToUpper(s), "TABLE") && (len(s) == 5 || !isIdentChar(s[5])) {
		s = skipSpace(s[5:])
	}
	var parts []string
	for {
		var ident string
		if ident, s, err = identifier(s); err != nil {
			return "", "", err
		}
		parts = append(parts, ident)
		s = skipSpace(s)
		if !strings.HasPrefix(s, ".") || len(parts) == 2 {
			break
		}
		s = skipSpace(s[1:])
	}
	// What may follow: WAIT n, NOWAIT (MariaDB), a statement terminator.
	if rest := strings.ToUpper(strings.TrimRight(s, "; \t\r\n")); rest != "" && rest != "NOWAIT" && !strings.HasPrefix(rest, "WAIT ") {
		return "", "", errors.New("unexpected " + strconv.Quote(truncate(s, 40)) + " after the table name")
	}
	if len(parts) == 1 {
		if defaultDB == "" {
			return "", "", errors.New("table " + parts[0] + " without a database, and the statement has no default database")
		}
		return defaultDB, parts[0], nil
	}
	return parts[0], parts[1], nil
}

// identifier reads a plain or `quoted` identifier.
func identifier(s string) (string, string, error) {
	if strings.HasPrefix(s, "`") {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '`' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '`' {
				b.WriteByte('`')
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		}
		return "", "", errors.New("unterminated `quoted` identifier")
	}
	i := 0
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	if i == 0 {
		return "", "", errors.New("want a table name")
	}
	return s[:i], s[i:], nil
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// skipSpace skips white space and comments (/* ... */, -- and # to the end
// of the line).
func skipSpace(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "/*"):
			end := strings.Index(s[2:], "*/")
			if end < 0 {
				return ""
			}
			s = s[end+4:]
		case strings.HasPrefix(s, "-- "), strings.HasPrefix(s, "#"):
			end := strings.IndexByte(s, '\n')
			if end < 0 {
				return ""
			}
			s = s[end+1:]
		default:
			return s
		}
	}
}
