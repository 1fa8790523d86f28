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
// Prepared XA transactions. An XA transaction's changes are binlogged at XA
// PREPARE, as a group of their own, and its XA COMMIT or XA ROLLBACK comes
// later as another group; the changes are published only at XA COMMIT. A
// position passed while XA transactions are prepared but not yet resolved
// lists them, and where the oldest one's group starts:
//
//	mariadb-gtid:0-1-42;binlog.000003:1234;xa-from=0-1-30;xa=X'7831',X'',1@0-1-31
//	mysql-gtid:<uuid>:1-9;xa-from=<uuid>:1-4;xa=X'7831',X'6231',7@<uuid>:5
//	file:binlog.000003:1234;xa-from=binlog.000003:400;xa=X'7831',X'',1@binlog.000003:400
//
// xa-from is the position (of the same form, without file or XA parts) to
// re-read the binlog from; each xa= names a pending transaction's xid (as
// the binlog writes it) and the transaction id of its prepared
// group (GTID, or file:offset of its first event), in binlog order. A stream
// resumed there re-reads from xa-from, holds the listed groups' changes
// again and skips every other group the main position already covers.
//
// Positions are immutable values; methods that advance one return a copy.
type Position struct {
	kind   posKind
	maria  []gomysql.MariadbGTID // kindMariaDB: sorted by domain, one per domain
	mysql  *gomysql.MysqlGTIDSet // kindMySQL; never modified once in a Position
	file   string
	offset uint32
	// xaFrom and xaPending are set together, when XA transactions are
	// prepared and not yet committed or rolled back; never modified.
	xaFrom    *Position // the re-read point: no file, no XA parts
	xaPending []xaPending
}

// xaPending is a prepared XA transaction a position has passed the
// prepared group of but not yet its XA COMMIT or XA ROLLBACK.
type xaPending struct {
	xid string // SQL form, X'<gtrid hex>',X'<bqual hex>',<formatID>
	id  string // transaction id of the prepared group (reader.txID)
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

// OnAnotherServer returns the GTID position p as another server of the same
// replication lineage knows it: without the binlog file and offset, which
// are each server's own. ok is false for a file position, and for one that
// holds prepared XA transactions (they are found again by file offsets).
func (p Position) OnAnotherServer() (Position, bool) {
	if !p.HasGTID() || len(p.xaPending) > 0 {
		return Position{}, false
	}
	p.file, p.offset = "", 0
	return p, true
}

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
		s = prefixFile + p.file + ":" + strconv.FormatUint(uint64(p.offset), 10)
	case kindMariaDB:
		s = prefixMariaDB + p.GTID()
	case kindMySQL:
		s = prefixMySQL + p.GTID()
	}
	if p.file != "" && p.kind != kindFile {
		s += ";" + p.file + ":" + strconv.FormatUint(uint64(p.offset), 10)
	}
	if p.xaFrom != nil {
		s += ";" + xaFromKey + p.xaFrom.xaFromText()
		for _, x := range p.xaPending {
			s += ";" + xaKey + x.xid + "@" + x.id
		}
	}
	return s
}

// Keys of the XA parts of the text form.
const (
	xaFromKey = "xa-from="
	xaKey     = "xa="
)

// xaFromText is the text of a re-read point: the GTIDs, or file:offset.
func (p Position) xaFromText() string {
	if p.kind == kindFile {
		return p.file + ":" + strconv.FormatUint(uint64(p.offset), 10)
	}
	return p.GTID()
}

// HasPendingXA reports whether p lists prepared XA transactions.
func (p Position) HasPendingXA() bool { return p.xaFrom != nil }

// PendingXA returns the xids of the prepared XA transactions p lists, in
// prepare order.
func (p Position) PendingXA() []string {
	var out []string
	for _, x := range p.xaPending {
		out = append(out, x.xid)
	}
	return out
}

// withXA returns p listing pending (in prepare order) with the re-read point
// from; with no pending transactions, p without XA parts.
func (p Position) withXA(from Position, pending []xaPending) Position {
	if len(pending) == 0 {
		p.xaFrom, p.xaPending = nil, nil
		return p
	}
	from.file, from.offset = from.xaFromFile()
	from.xaFrom, from.xaPending = nil, nil
	p.xaFrom, p.xaPending = &from, slices.Clip(slices.Clone(pending))
	return p
}

// xaFromFile is the file part a re-read point keeps: only file positions
// have one.
func (p Position) xaFromFile() (string, uint32) {
	if p.kind == kindFile {
		return p.file, p.offset
	}
	return "", 0
}

// withoutXA returns p without its XA parts.
func (p Position) withoutXA() Position {
	p.xaFrom, p.xaPending = nil, nil
	return p
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
	// The XA parts start at ";xa-from=" (binlog file names are checked
	// not to start with it).
	main, xaText, hasXA := strings.Cut(s, ";"+xaFromKey)
	var p Position
	switch {
	case strings.HasPrefix(main, prefixFile):
		name, off, err := parseFileOffset(main[len(prefixFile):])
		if err != nil {
			return fail("%v", err)
		}
		p = FilePosition(name, off)
	case strings.HasPrefix(main, prefixMariaDB), strings.HasPrefix(main, prefixMySQL):
		rest := strings.TrimPrefix(main, prefixMariaDB)
		p.kind = kindMariaDB
		if rest == main {
			rest = strings.TrimPrefix(main, prefixMySQL)
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
	default:
		return fail("want file:<binlog file>:<offset>, mariadb-gtid:<d-s-n,...> or mysql-gtid:<uuid:n-m,...>")
	}
	if hasXA {
		var err error
		if p, err = parseXA(p, xaFromKey+xaText); err != nil {
			return fail("%v", err)
		}
	}
	return p, nil
}

// parseXA parses the XA parts, "xa-from=<from>;xa=<xid>@<id>[;xa=...]",
// and adds them to p.
func parseXA(p Position, s string) (Position, error) {
	parts := strings.Split(s, ";")
	fromText, ok := strings.CutPrefix(parts[0], xaFromKey)
	if !ok {
		return Position{}, fmt.Errorf("XA part %q: want %s<position> first", parts[0], xaFromKey)
	}
	from := Position{kind: p.kind}
	var err error
	switch p.kind {
	case kindMariaDB:
		from.maria, err = parseMariaDBGTIDs(fromText)
	case kindMySQL:
		from.mysql, err = parseMySQLGTIDSet(fromText)
	default:
		from.file, from.offset, err = parseFileOffset(fromText)
	}
	if err != nil {
		return Position{}, fmt.Errorf("%s: %w", xaFromKey, err)
	}
	if len(parts) == 1 {
		return Position{}, errors.New("xa-from without a pending XA transaction")
	}
	var pending []xaPending
	for _, part := range parts[1:] {
		entry, ok := strings.CutPrefix(part, xaKey)
		if !ok {
			return Position{}, fmt.Errorf("XA part %q: want %s<xid>@<transaction>", part, xaKey)
		}
		xid, id, ok := strings.Cut(entry, "@")
		if !ok {
			return Position{}, fmt.Errorf("XA part %q: want %s<xid>@<transaction>", part, xaKey)
		}
		if x, err := parseXID(xid); err != nil || x.String() != xid {
			return Position{}, fmt.Errorf("XA part %q: want the xid as X'<gtrid hex>',X'<bqual hex>',<formatID>", part)
		}
		if err := validTxID(p.kind, id); err != nil {
			return Position{}, fmt.Errorf("XA part %q: %w", part, err)
		}
		for _, x := range pending {
			if x.xid == xid || x.id == id {
				return Position{}, fmt.Errorf("XA part %q: xid or transaction listed twice", part)
			}
		}
		pending = append(pending, xaPending{xid: xid, id: id})
	}
	return p.withXA(from, pending), nil
}

// validTxID checks the transaction id of a prepared group: a GTID of the
// position's kind, or the file:offset of its first event.
func validTxID(kind posKind, id string) error {
	switch kind {
	case kindMariaDB:
		g, err := parseMariaDBGTIDs(id)
		if err != nil || len(g) != 1 || strings.Contains(id, ",") {
			return fmt.Errorf("transaction %q: want one MariaDB GTID", id)
		}
	case kindMySQL:
		set, err := parseMySQLGTIDSet(id)
		if err != nil || set.String() != id || strings.Contains(id, ",") || strings.Count(id, "-") != 4 {
			return fmt.Errorf("transaction %q: want one MySQL GTID uuid[:tag]:n", id)
		}
	default:
		name, off, err := parseFileOffset(id)
		if err != nil || name+":"+strconv.FormatUint(uint64(off), 10) != id {
			return fmt.Errorf("transaction %q: want <binlog file>:<offset>", id)
		}
	}
	return nil
}

// xid is an XA transaction id: gtrid, bqual and formatID.
type xid struct {
	gtrid, bqual []byte
	format       int64
}

// String is the SQL form MariaDB and MySQL write in the binlog:
// X'<gtrid hex>',X'<bqual hex>',<formatID>.
func (x xid) String() string {
	return fmt.Sprintf("X'%x',X'%x',%d", x.gtrid, x.bqual, x.format)
}

// parseXID parses the SQL form of an xid as String writes it, or as a
// statement may write it: each of gtrid and bqual a 'string' or X'hex'
// literal, bqual and formatID optional (formatID 1 by default).
func parseXID(s string) (xid, error) {
	fail := func(why string) (xid, error) {
		return xid{}, fmt.Errorf("XA xid %q: %s", s, why)
	}
	rest := strings.TrimSpace(s)
	lit := func() ([]byte, bool) {
		rest = strings.TrimSpace(rest)
		hex := len(rest) > 0 && (rest[0] == 'X' || rest[0] == 'x') && len(rest) > 1 && rest[1] == '\''
		if hex {
			rest = rest[1:]
		}
		if len(rest) == 0 || rest[0] != '\'' {
			return nil, false
		}
		end := strings.IndexByte(rest[1:], '\'')
		if end < 0 {
			return nil, false
		}
		text := rest[1 : 1+end]
		rest = rest[2+end:]
		if !hex {
			return []byte(text), true
		}
		if len(text)%2 != 0 {
			return nil, false
		}
		b := make([]byte, len(text)/2)
		for i := range b {
			v, err := strconv.ParseUint(text[2*i:2*i+2], 16, 8)
			if err != nil {
				return nil, false
			}
			b[i] = byte(v)
		}
		return b, true
	}
	var x xid
	var ok bool
	if x.gtrid, ok = lit(); !ok || len(x.gtrid) == 0 || len(x.gtrid) > 64 {
		return fail("want a gtrid of 1 to 64 bytes as 'text' or X'hex'")
	}
	x.format = 1
	if rest = strings.TrimSpace(rest); strings.HasPrefix(rest, ",") {
		rest = rest[1:]
		if x.bqual, ok = lit(); !ok || len(x.bqual) > 64 {
			return fail("want a bqual of up to 64 bytes as 'text' or X'hex'")
		}
		if rest = strings.TrimSpace(rest); strings.HasPrefix(rest, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(rest[1:]), 10, 64)
			if err != nil {
				return fail("want a decimal formatID")
			}
			x.format, rest = n, ""
		}
	}
	if strings.TrimSpace(rest) != "" {
		return fail("unexpected " + strconv.Quote(rest))
	}
	return x, nil
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
	if strings.HasPrefix(name, xaFromKey) {
		return fmt.Errorf("binlog file %q: a name starting with %q is not supported", name, xaFromKey)
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
