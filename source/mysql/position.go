package mysql

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/google/uuid"
)

// Position is a place in a server's binary log, the resume point of this
// source. It has one of three forms, fixed when the stream starts:
//
//   - MariaDB GTID position: one domain-server-seq GTID per replication
//     domain (MariaDB always writes GTIDs);
//   - MySQL GTID set: the executed set uuid:1-n[,...] (gtid_mode=ON);
//   - binlog file and offset (MySQL with gtid_mode=OFF).
//
// A GTID position also carries the binlog file and offset where it was
// reached, when known. They are informational (error messages, lag): a GTID
// stream resumes from the GTIDs alone, so a failover to a replica keeps the
// checkpoint valid.
//
// Its one text form, pinned by testdata/position.golden:
//
//	file:binlog.000003:1234
//	mariadb-gtid:0-1-42,1-2-7;binlog.000003:1234
//	mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5;binlog.000003:1234
//
// The ";file:offset" tail of the GTID forms is optional. A checkpointed
// Position is always the end of a transaction (or of a DDL statement), so a
// restart there neither repeats nor skips one.
//
// Positions are immutable values; methods that advance one return a copy.
type Position struct {
	kind   posKind
	maria  []gomysql.MariadbGTID // kindMariaDB: sorted by domain, one per domain
	mysql  *gomysql.MysqlGTIDSet // kindMySQL; never modified once in a Position
	file   string
	offset uint32
}

type posKind uint8

const (
	kindNone posKind = iota
	kindFile
	kindMariaDB
	kindMySQL
)

// Text prefixes of the three forms.
const (
	prefixFile    = "file:"
	prefixMariaDB = "mariadb-gtid:"
	prefixMySQL   = "mysql-gtid:"
)

// FilePosition returns the file-and-offset position.
func FilePosition(file string, offset uint32) Position {
	return Position{kind: kindFile, file: file, offset: offset}
}

// IsZero reports whether p is the zero Position, which names no place.
func (p Position) IsZero() bool { return p.kind == kindNone }

// HasGTID reports whether p is a GTID position.
func (p Position) HasGTID() bool { return p.kind == kindMariaDB || p.kind == kindMySQL }

// File returns the binlog file and offset; "" when a GTID position does not
// know them.
func (p Position) File() (name string, offset uint32) { return p.file, p.offset }

// GTID returns the GTID part of the text form ("0-1-42,1-2-7" or
// "uuid:1-5"), or "" for a file position.
func (p Position) GTID() string {
	switch p.kind {
	case kindMariaDB:
		var b strings.Builder
		for i, g := range p.maria {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d-%d-%d", g.DomainID, g.ServerID, g.SequenceNumber)
		}
		return b.String()
	case kindMySQL:
		return p.mysql.String()
	}
	return ""
}

// String returns the text form; "" for the zero Position.
func (p Position) String() string {
	var s string
	switch p.kind {
	case kindNone:
		return ""
	case kindFile:
		return prefixFile + p.file + ":" + strconv.FormatUint(uint64(p.offset), 10)
	case kindMariaDB:
		s = prefixMariaDB + p.GTID()
	case kindMySQL:
		s = prefixMySQL + p.GTID()
	}
	if p.file != "" {
		s += ";" + p.file + ":" + strconv.FormatUint(uint64(p.offset), 10)
	}
	return s
}

// MarshalText implements encoding.TextMarshaler. The zero Position is an
// error: it is never a resume point.
func (p Position) MarshalText() ([]byte, error) {
	if p.kind == kindNone {
		return nil, errors.New("encoding binlog position: empty position")
	}
	return []byte(p.String()), nil
}

// ParsePosition parses the text form written by String. It is strict about
// numbers (decimal, no sign, no leading zeros) and binlog file names (a
// base name and a numeric extension), so that every accepted text
// round-trips; MySQL GTID sets are normalised (sorted, merged intervals,
// lower-case UUIDs).
func ParsePosition(s string) (Position, error) {
	fail := func(format string, args ...any) (Position, error) {
		return Position{}, fmt.Errorf("parsing binlog position %q: "+format, append([]any{s}, args...)...)
	}
	if !utf8.ValidString(s) {
		return fail("not valid UTF-8")
	}
	switch {
	case strings.HasPrefix(s, prefixFile):
		name, off, err := parseFileOffset(s[len(prefixFile):])
		if err != nil {
			return fail("%v", err)
		}
		return FilePosition(name, off), nil
	case strings.HasPrefix(s, prefixMariaDB), strings.HasPrefix(s, prefixMySQL):
		var p Position
		rest := strings.TrimPrefix(s, prefixMariaDB)
		p.kind = kindMariaDB
		if rest == s {
			rest = strings.TrimPrefix(s, prefixMySQL)
			p.kind = kindMySQL
		}
		set, file, hasFile := strings.Cut(rest, ";")
		if hasFile {
			var err error
			if p.file, p.offset, err = parseFileOffset(file); err != nil {
				return fail("%v", err)
			}
		}
		var err error
		if p.kind == kindMariaDB {
			p.maria, err = parseMariaDBGTIDs(set)
		} else {
			p.mysql, err = parseMySQLGTIDSet(set)
		}
		if err != nil {
			return fail("%v", err)
		}
		return p, nil
	}
	return fail("want file:<binlog file>:<offset>, mariadb-gtid:<d-s-n,...> or mysql-gtid:<uuid:n-m,...>")
}

// parseFileOffset parses "binlog.000003:1234".
func parseFileOffset(s string) (string, uint32, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, errors.New("want <binlog file>:<offset>")
	}
	name, offText := s[:i], s[i+1:]
	if err := validFileName(name); err != nil {
		return "", 0, err
	}
	off, err := parseCanonicalUint(offText, 32)
	if err != nil {
		return "", 0, fmt.Errorf("offset %q: %w", offText, err)
	}
	return name, uint32(off), nil
}

// validFileName accepts what the server writes: a base name and a numeric
// extension ("binlog.000003"). mysql.CompareBinlogFileName relies on that
// extension; it panics without one.
func validFileName(name string) error {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || dot == len(name)-1 || len(name)-dot-1 > 18 {
		return fmt.Errorf("binlog file %q: want <base name>.<number>", name)
	}
	for _, c := range name[dot+1:] {
		if c < '0' || c > '9' {
			return fmt.Errorf("binlog file %q: want <base name>.<number>", name)
		}
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || c == ';' {
			return fmt.Errorf("binlog file %q: control character or ';' in the name", name)
		}
	}
	return nil
}

// parseCanonicalUint parses a decimal without sign or leading zeros.
func parseCanonicalUint(s string, bits int) (uint64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("want a decimal number without leading zeros")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("want a decimal number")
		}
	}
	return strconv.ParseUint(s, 10, bits)
}

// parseMariaDBGTIDs parses "0-1-42,1-2-7": at most one GTID per domain,
// returned sorted by domain. The empty string is the empty position (a
// server that has written no GTID yet).
func parseMariaDBGTIDs(s string) ([]gomysql.MariadbGTID, error) {
	if s == "" {
		return nil, nil
	}
	var out []gomysql.MariadbGTID
	for _, part := range strings.Split(s, ",") {
		f := strings.Split(part, "-")
		if len(f) != 3 {
			return nil, fmt.Errorf("MariaDB GTID %q: want domain-server-sequence", part)
		}
		d, err1 := parseCanonicalUint(f[0], 32)
		sv, err2 := parseCanonicalUint(f[1], 32)
		n, err3 := parseCanonicalUint(f[2], 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("MariaDB GTID %q: %w", part, err)
		}
		if d == 0 && sv == 0 && n == 0 {
			return nil, fmt.Errorf("MariaDB GTID %q: 0-0-0 is not a GTID", part)
		}
		for _, g := range out {
			if g.DomainID == uint32(d) {
				return nil, fmt.Errorf("MariaDB GTID position %q: domain %d appears twice", s, d)
			}
		}
		out = append(out, gomysql.MariadbGTID{DomainID: uint32(d), ServerID: uint32(sv), SequenceNumber: n})
	}
	slices.SortFunc(out, func(a, b gomysql.MariadbGTID) int { return int(int64(a.DomainID) - int64(b.DomainID)) })
	return out, nil
}

// parseMySQLGTIDSet parses a MySQL executed GTID set with go-mysql's parser,
// after rejecting what that parser tolerates but would not give back
// (whitespace, braces, URN-form UUIDs).
func parseMySQLGTIDSet(s string) (*gomysql.MysqlGTIDSet, error) {
	for _, part := range strings.Split(s, ",") {
		if s == "" {
			break
		}
		uuidText, _, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("MySQL GTID set %q: want uuid:interval[,...]", s)
		}
		if len(uuidText) != 36 {
			return nil, fmt.Errorf("MySQL GTID set %q: %q is not a UUID in 8-4-4-4-12 form", s, uuidText)
		}
		if _, err := uuid.Parse(uuidText); err != nil {
			return nil, fmt.Errorf("MySQL GTID set %q: %w", s, err)
		}
		for _, c := range part {
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '+' {
				return nil, fmt.Errorf("MySQL GTID set %q: unexpected %q", s, c)
			}
		}
	}
	set, err := gomysql.ParseMysqlGTIDSet(s)
	if err != nil {
		return nil, fmt.Errorf("MySQL GTID set %q: %w", s, err)
	}
	ms := set.(*gomysql.MysqlGTIDSet)
	// Refuse what would not come back the same (zero-length intervals after
	// normalisation, numbers that do not fit).
	back, err := gomysql.ParseMysqlGTIDSet(ms.String())
	if err != nil || !back.Equal(ms) {
		return nil, fmt.Errorf("MySQL GTID set %q does not round-trip", s)
	}
	return ms, nil
}

// withFile returns p at file:offset, keeping its GTIDs.
func (p Position) withFile(file string, offset uint32) Position {
	p.file, p.offset = file, offset
	return p
}

// withMariaDBGTID returns p advanced past g: g replaces the GTID of its domain.
func (p Position) withMariaDBGTID(g gomysql.MariadbGTID) Position {
	maria := make([]gomysql.MariadbGTID, 0, len(p.maria)+1)
	done := false
	for _, x := range p.maria {
		switch {
		case x.DomainID == g.DomainID:
			maria = append(maria, g)
			done = true
		case !done && x.DomainID > g.DomainID:
			maria = append(maria, g, x)
			done = true
		default:
			maria = append(maria, x)
		}
	}
	if !done {
		maria = append(maria, g)
	}
	p.maria = maria
	return p
}

// withMySQLGTID returns p advanced past one MySQL GTID.
func (p Position) withMySQLGTID(sid uuid.UUID, tag gomysql.Tag, gno int64) Position {
	set := p.mysql.Clone().(*gomysql.MysqlGTIDSet)
	set.AddGTIDWithTag(sid, tag, gno)
	p.mysql = set
	return p
}

// mariaDBSet converts the position to go-mysql's type, for StartSyncGTID.
func (p Position) mariaDBSet() *gomysql.MariadbGTIDSet {
	set := &gomysql.MariadbGTIDSet{Sets: map[uint32]*gomysql.MariadbGTID{}}
	for _, g := range p.maria {
		g := g
		set.Sets[g.DomainID] = &g
	}
	return set
}

// binlogPos is the file position as go-mysql's type, whose Compare orders
// binlog.999999 before binlog.1000000.
func (p Position) binlogPos() gomysql.Position {
	return gomysql.Position{Name: p.file, Pos: p.offset}
}
