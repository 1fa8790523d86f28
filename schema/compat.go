package schema

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Compatibility is the rule a new version of a table must keep towards its
// predecessor, as in schema registries, judged for JSON events.
type Compatibility string

// The compatibility modes.
const (
	// CompatNone accepts every change.
	CompatNone Compatibility = "none"
	// CompatBackward: consumers using the new schema can read events written
	// with the old one. Added columns must be nullable (old events lack
	// them), no column may become NOT NULL, retypes must widen (old values
	// fit the new type; enum/set members may only be added), no renames.
	CompatBackward Compatibility = "backward"
	// CompatForward: consumers using the old schema can read events written
	// with the new one. Dropped columns must have been nullable, no column
	// may become nullable, retypes must widen (enum/set members may only be
	// removed, since old readers know only the old members), no renames.
	CompatForward Compatibility = "forward"
	// CompatFull is backward and forward.
	CompatFull Compatibility = "full"
)

// ParseCompatibility accepts exactly "none", "backward", "forward" or "full".
func ParseCompatibility(s string) (Compatibility, error) {
	switch c := Compatibility(s); c {
	case CompatNone, CompatBackward, CompatForward, CompatFull:
		return c, nil
	}
	return "", fmt.Errorf("unknown schema compatibility %q (want none, backward, forward or full)", s)
}

// CheckCompatibility returns why new breaks mode towards old, one reason per
// problem; nil means compatible. A created table (old nil) is always
// compatible. A change of the key columns breaks every mode but none: it
// changes the Kafka message key, and with it partitioning and compaction.
// An unknown mode is reported as a reason rather than passing silently.
func CheckCompatibility(mode Compatibility, old, new *Version) []string {
	if old == nil || new == nil || mode == CompatNone {
		return nil
	}
	var back, fwd bool
	switch mode {
	case CompatBackward:
		back = true
	case CompatForward:
		fwd = true
	case CompatFull:
		back, fwd = true, true
	default:
		return []string{fmt.Sprintf("unknown compatibility mode %q", mode)}
	}
	d := DiffVersions(old, new)
	var out []string
	add := func(format string, args ...any) {
		r := fmt.Sprintf(format, args...)
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	oldIdx := indexByName(old.Columns)
	newIdx := indexByName(new.Columns)
	for _, c := range d.Added {
		if back && !c.NewNullable {
			add("added column %q is NOT NULL: events written before it lack it (backward)", c.Name)
		}
	}
	for _, c := range d.Dropped {
		if fwd && !c.OldNullable {
			add("dropped column %q was NOT NULL: readers of the old schema require it (forward)", c.Name)
		}
	}
	for _, c := range d.Retyped {
		o, n := old.Columns[oldIdx[c.Name]], new.Columns[newIdx[c.Name]]
		if back && !widens(o, n) {
			add("column %q retyped %s -> %s, not a widening (backward)", c.Name, c.OldType, c.NewType)
		}
		if fwd {
			ok := widens(o, n)
			if isMembers(o.Kind) && o.Kind == n.Kind {
				ok = subset(n.Values, o.Values)
			}
			if !ok {
				add("column %q retyped %s -> %s, old readers cannot read new values (forward)", c.Name, c.OldType, c.NewType)
			}
		}
	}
	for _, c := range d.Renamed {
		add("column %q renamed to %q", c.OldName, c.Name)
	}
	for _, c := range d.Nullability {
		if back && c.OldNullable && !c.NewNullable {
			add("column %q became NOT NULL: events written before may hold null (backward)", c.Name)
		}
		if fwd && !c.OldNullable && c.NewNullable {
			add("column %q became nullable: readers of the old schema do not expect null (forward)", c.Name)
		}
	}
	if d.KeyChanged {
		add("key columns changed (%s) -> (%s)", strings.Join(d.oldKey, ", "), strings.Join(d.newKey, ", "))
	}
	return out
}

func isMembers(k Kind) bool { return k == KindEnum || k == KindSet }

func subset(a, b []string) bool {
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}

// widens reports whether every value of column a is a value of column b with
// the same JSON form. It knows a small, explicit table of native types
// (Postgres format_type and MySQL spellings); anything else widens only to
// itself.
//
//	integers   int2/smallint < int4/integer/int < int8/bigint; MySQL tinyint <
//	           smallint < mediumint < int < bigint; "unsigned" n bits fits
//	           signed with more bits
//	floats     float4/real/float < float8/double precision/double
//	decimals   numeric/decimal(p,s) -> (p2,s2) with s2 >= s and p2-s2 >= p-s;
//	           anything -> unbounded numeric
//	strings    varchar(n) -> varchar(m >= n), char(n) -> char/varchar(m >= n),
//	           -> text and the MySQL text sizes by capacity
//	bytes      binary/varbinary(n) -> varbinary(m >= n), blob sizes, bytea
//	times      the same type with more fractional digits: datetime(3) -> datetime(6)
//	enum/set   members only added
func widens(a, b Column) bool {
	if sameType(a, b) {
		return true
	}
	ak, bk := a.Kind, b.Kind
	intKind := func(k Kind) bool { return k == KindInt || k == KindUint }
	if ak != bk && !(intKind(ak) && intKind(bk)) {
		return false
	}
	at, bt := parseType(a.Type), parseType(b.Type)
	switch ak {
	case KindInt, KindUint:
		abits, aok := intBits[at.base]
		bbits, bok := intBits[bt.base]
		if !aok || !bok {
			return false
		}
		au, bu := at.unsigned || ak == KindUint, bt.unsigned || bk == KindUint
		switch {
		case au == bu:
			return bbits >= abits
		case au && !bu:
			return bbits > abits
		}
		return false
	case KindFloat:
		abits, aok := floatBits[at.base]
		bbits, bok := floatBits[bt.base]
		return aok && bok && bbits >= abits
	case KindDecimal:
		if !decimalNames[at.base] || !decimalNames[bt.base] || (!at.unsigned && bt.unsigned) {
			return false
		}
		if len(bt.args) == 0 && bt.base == "numeric" {
			return true // unbounded Postgres numeric
		}
		ap, as, aok := precision(at)
		bp, bs, bok := precision(bt)
		return aok && bok && bs >= as && bp-bs >= ap-as
	case KindString:
		return capacity(at, stringCaps) <= capacity(bt, stringCaps) && capacity(at, stringCaps) > 0
	case KindBytes:
		return capacity(at, bytesCaps) <= capacity(bt, bytesCaps) && capacity(at, bytesCaps) > 0
	case KindTime, KindTimestamp, KindTimestampTZ:
		return at.base == bt.base && at.rest == bt.rest && len(at.args) == 1 && len(bt.args) == 1 && bt.args[0] >= at.args[0]
	case KindEnum, KindSet:
		return subset(a.Values, b.Values)
	}
	return false
}

var intBits = map[string]int{
	"int2": 16, "smallint": 16, "int4": 32, "integer": 32, "int": 32, "int8": 64, "bigint": 64,
	"tinyint": 8, "mediumint": 24,
}

var floatBits = map[string]int{
	"float4": 32, "real": 32, "float": 32, "float8": 64, "double precision": 64, "double": 64,
}

var decimalNames = map[string]bool{"numeric": true, "decimal": true}

// Capacities of string and byte types; 0 means "the length argument". Text
// is unbounded in Postgres but 64 KiB in MySQL; ranking text < mediumtext <
// longtext just below MaxInt serves both: varchar(n) -> text widens on
// either, and MySQL's text sizes keep their order.
var stringCaps = map[string]int{
	"varchar": 0, "character varying": 0, "char": 0, "character": 0, "bpchar": 0,
	"tinytext": 255, "text": math.MaxInt - 2, "mediumtext": math.MaxInt - 1, "longtext": math.MaxInt,
}

var bytesCaps = map[string]int{
	"binary": 0, "varbinary": 0, "bytea": math.MaxInt,
	"tinyblob": 255, "blob": 1<<16 - 1, "mediumblob": 1<<24 - 1, "longblob": 1<<32 - 1,
}

// capacity is the maximum length of a string or bytes type, 0 if unknown.
// Postgres varchar without length is text.
func capacity(t typeName, caps map[string]int) int {
	c, ok := caps[t.base]
	if !ok {
		return 0
	}
	if c != 0 {
		if len(t.args) > 0 {
			return 0 // "text(10)" and the like: not in the table
		}
		return c
	}
	switch len(t.args) {
	case 0:
		if t.base == "varchar" || t.base == "character varying" {
			return caps["text"] // Postgres varchar without length
		}
		return 1 // char = char(1)
	case 1:
		return t.args[0]
	}
	return 0
}

// precision returns a decimal's precision and scale; MySQL DECIMAL without
// arguments is DECIMAL(10,0).
func precision(t typeName) (p, s int, ok bool) {
	switch len(t.args) {
	case 0:
		if t.base == "decimal" {
			return 10, 0, true
		}
		return 0, 0, false
	case 1:
		return t.args[0], 0, true
	case 2:
		return t.args[0], t.args[1], true
	}
	return 0, 0, false
}

// typeName is a native type spelled "base(args) rest", e.g.
// "timestamp(3) without time zone", "int(11) unsigned zerofill",
// "character varying(255)".
type typeName struct {
	base     string
	args     []int
	rest     string
	unsigned bool
}

func parseType(s string) typeName {
	s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	var t typeName
	if open := strings.IndexByte(s, '('); open >= 0 {
		if end := strings.IndexByte(s[open:], ')'); end >= 0 {
			for _, a := range strings.Split(s[open+1:open+end], ",") {
				n, err := strconv.Atoi(strings.TrimSpace(a))
				if err != nil {
					return typeName{base: s} // not numeric arguments: enum(...), set(...)
				}
				t.args = append(t.args, n)
			}
			t.base = strings.TrimSpace(s[:open])
			t.rest = strings.TrimSpace(s[open+end+1:])
		}
	} else {
		t.base = s
		// "timestamp without time zone", "double precision", "bigint unsigned"
		for _, suffix := range []string{" without time zone", " with time zone", " unsigned zerofill", " unsigned"} {
			if base, ok := strings.CutSuffix(t.base, suffix); ok {
				t.base, t.rest = base, strings.TrimSpace(suffix)
				break
			}
		}
	}
	if t.base == "" {
		t.base = s
	}
	t.unsigned = strings.Contains(t.rest, "unsigned")
	if t.unsigned {
		t.rest = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(t.rest, "unsigned", ""), "zerofill", ""))
	}
	return t
}
