package snapshot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL spelling of a source database.
type Dialect uint8

// The dialects.
const (
	// Postgres: "double-quoted" identifiers, $n parameters.
	Postgres Dialect = 1
	// MySQL (and MariaDB): `backquoted` identifiers, ? parameters.
	MySQL Dialect = 2
)

func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// ChunkQuery describes the keyset-pagination read of a table's chunks:
//
//	SELECT <columns> FROM <namespace>.<table> [WHERE (k1, k2) > (p1, p2)] ORDER BY k1, k2 LIMIT n
//
// The database compares and orders the keys, with its own collations: the
// caller never orders keys itself. The row-value comparison (a, b) > (x, y)
// is lexicographic in both dialects, which is what keyset pagination needs;
// a conjunction a > x AND b > y would skip rows.
type ChunkQuery struct {
	Dialect   Dialect
	Namespace string // Postgres schema or MySQL database
	Table     string
	// Columns is the select list, in the order the decoder expects; empty
	// selects every column ("*").
	Columns []string
	// Key is the primary key's columns in the primary-key index order, so
	// that the ORDER BY walks the index.
	Key []string
	// Limit is the chunk size, at least 1.
	Limit int
	// Casts, when set, are aligned with Key: a key column's parameter is
	// converted to that type in the statement ($1::<type> on Postgres,
	// CAST(? AS <type>) on MySQL), so that the stored text form of the last
	// key is compared as the column's type. An empty entry means none.
	// On MySQL, give integer and decimal keys a cast (SIGNED, UNSIGNED,
	// DECIMAL(p,s)) or typed arguments: a string compared with a number is
	// compared as a double there, which loses digits past 2^53. Never
	// cast MySQL string keys: CAST(? AS CHAR) takes the connection's
	// collation, and the comparison then fails with an illegal mix of
	// collations or uses the wrong one.
	Casts []string
	// Expanded (MySQL) writes the lower bound as k1 >= ? AND (k1 > ? OR
	// (k1 = ? AND k2 > ?)) instead of a row-value comparison, for servers
	// whose optimizer does not turn (k1, k2) > (?, ?) into an index range
	// (check with EXPLAIN).
	Expanded bool
}

// Query is a built chunk query.
type Query struct {
	// SQL is the statement text.
	SQL string
	// args maps each placeholder to the index of the key column whose
	// last value it takes.
	args []int
}

// Args returns the statement's arguments for the last key of the previous
// chunk (aligned with ChunkQuery.Key). A first-chunk query takes none.
func (q Query) Args(last []any) ([]any, error) {
	if len(q.args) == 0 {
		if len(last) != 0 {
			return nil, fmt.Errorf("chunk query arguments: %d values for a first-chunk query", len(last))
		}
		return nil, nil
	}
	n := 0
	for _, i := range q.args {
		n = max(n, i+1)
	}
	if len(last) != n {
		return nil, fmt.Errorf("chunk query arguments: %d values for a key of %d columns", len(last), n)
	}
	out := make([]any, len(q.args))
	for j, i := range q.args {
		out[j] = last[i]
	}
	return out, nil
}

// First returns the query of a table's first chunk: no lower bound.
func (c ChunkQuery) First() (Query, error) { return c.build(false) }

// After returns the query of every later chunk: the rows after the last key
// of the previous one (see Query.Args).
func (c ChunkQuery) After() (Query, error) { return c.build(true) }

func (c ChunkQuery) validate() error {
	var errs []error
	if c.Dialect != Postgres && c.Dialect != MySQL {
		errs = append(errs, fmt.Errorf("unknown dialect %v", c.Dialect))
	}
	if c.Table == "" {
		errs = append(errs, errors.New("empty table name"))
	}
	if len(c.Key) == 0 {
		errs = append(errs, errors.New("no key columns (a table without a primary key is read in one pass, not in chunks)"))
	}
	if c.Limit < 1 {
		errs = append(errs, fmt.Errorf("chunk size %d, want at least 1", c.Limit))
	}
	if len(c.Casts) > 0 && len(c.Casts) != len(c.Key) {
		errs = append(errs, fmt.Errorf("%d casts for %d key columns", len(c.Casts), len(c.Key)))
	}
	if c.Expanded && c.Dialect != MySQL {
		errs = append(errs, errors.New("the expanded lower bound is for mysql only"))
	}
	for _, t := range c.Casts {
		if t != "" && !validCast(t) {
			errs = append(errs, fmt.Errorf("cast %q: want a type name of letters, digits, spaces, _ . ( ) , [ ] and double quotes", t))
		}
	}
	seen := map[string]bool{}
	for _, k := range c.Key {
		if seen[k] {
			errs = append(errs, fmt.Errorf("key column %q listed twice", k))
		}
		seen[k] = true
	}
	for _, name := range append(append([]string{c.Namespace, c.Table}, c.Columns...), c.Key...) {
		if strings.IndexByte(name, 0) >= 0 {
			errs = append(errs, fmt.Errorf("identifier %q holds a NUL byte", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("chunk query for %s: %w", c.Table, err)
	}
	return nil
}

// validCast accepts what format_type writes ("character varying(20)",
// "timestamp(3) with time zone", "\"MyType\"", "public.t[]"), nothing that
// could end the cast.
func validCast(t string) bool {
	if t == "" {
		return false
	}
	for _, r := range t {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(" _.(),[]\"", r):
		default:
			return false
		}
	}
	return strings.Count(t, `"`)%2 == 0
}

func (c ChunkQuery) build(after bool) (Query, error) {
	if err := c.validate(); err != nil {
		return Query{}, err
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	if len(c.Columns) == 0 {
		b.WriteByte('*')
	}
	for i, col := range c.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.quote(col))
	}
	b.WriteString(" FROM ")
	if c.Namespace != "" {
		b.WriteString(c.quote(c.Namespace))
		b.WriteByte('.')
	}
	b.WriteString(c.quote(c.Table))
	var q Query
	if after {
		b.WriteString(" WHERE ")
		if c.Expanded {
			c.expanded(&b, &q)
		} else {
			c.rowValue(&b, &q)
		}
	}
	b.WriteString(" ORDER BY ")
	for i, k := range c.Key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.quote(k))
	}
	b.WriteString(" LIMIT ")
	b.WriteString(strconv.Itoa(c.Limit))
	q.SQL = b.String()
	return q, nil
}

// rowValue writes (k1, k2) > (p1, p2), or k1 > p1 for a single column.
func (c ChunkQuery) rowValue(b *strings.Builder, q *Query) {
	multi := len(c.Key) > 1
	if multi {
		b.WriteByte('(')
	}
	for i, k := range c.Key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.quote(k))
	}
	if multi {
		b.WriteString(") > (")
	} else {
		b.WriteString(" > ")
	}
	for i := range c.Key {
		if i > 0 {
			b.WriteString(", ")
		}
		c.param(b, q, i)
	}
	if multi {
		b.WriteByte(')')
	}
}

// expanded writes k1 >= ? AND (k1 > ? OR k1 = ? AND k2 > ? OR ...), the
// same order as the row-value comparison, with a leading range on k1.
func (c ChunkQuery) expanded(b *strings.Builder, q *Query) {
	if len(c.Key) == 1 {
		c.rowValue(b, q)
		return
	}
	b.WriteString(c.quote(c.Key[0]))
	b.WriteString(" >= ")
	c.param(b, q, 0)
	b.WriteString(" AND (")
	for i := range c.Key {
		if i > 0 {
			b.WriteString(" OR ")
		}
		if i > 0 {
			b.WriteByte('(')
		}
		for j := 0; j < i; j++ {
			b.WriteString(c.quote(c.Key[j]))
			b.WriteString(" = ")
			c.param(b, q, j)
			b.WriteString(" AND ")
		}
		b.WriteString(c.quote(c.Key[i]))
		b.WriteString(" > ")
		c.param(b, q, i)
		if i > 0 {
			b.WriteByte(')')
		}
	}
	b.WriteByte(')')
}

// param writes the next placeholder, taking key column i's value.
func (c ChunkQuery) param(b *strings.Builder, q *Query, i int) {
	q.args = append(q.args, i)
	cast := ""
	if len(c.Casts) > 0 {
		cast = c.Casts[i]
	}
	if c.Dialect == MySQL {
		if cast == "" {
			b.WriteByte('?')
			return
		}
		b.WriteString("CAST(? AS ")
		b.WriteString(cast)
		b.WriteByte(')')
		return
	}
	b.WriteByte('$')
	b.WriteString(strconv.Itoa(len(q.args)))
	if cast != "" {
		b.WriteString("::")
		b.WriteString(cast)
	}
}

// quote quotes an identifier in the dialect's quote character, doubling
// that character inside the name.
func (c ChunkQuery) quote(name string) string {
	if c.Dialect == MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
