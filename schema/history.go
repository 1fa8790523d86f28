package schema

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// fingerprintTag starts the hashed encoding. Changing the encoding below
// changes the tag, so a stored fingerprint never silently means two things.
const fingerprintTag = "cdc-table-shape-v1"

// Fingerprint identifies the table's shape: its namespace and name, and for
// each column in order its name, native type, kind, nullability, key flag
// and enum/set members. TypeID and Version are not part of it. Equal shapes
// give equal fingerprints; any change to a column gives a different one.
//
// It is the first 16 bytes of a SHA-256, as 32 lowercase hex digits, of a
// length-prefixed encoding (so "ab"+"c" and "a"+"bc" differ). Kinds are
// hashed by name, so reordering the Kind constants would not change it.
func (t *Table) Fingerprint() string {
	h := sha256.New()
	var buf []byte
	str := func(s string) {
		buf = binary.AppendUvarint(buf[:0], uint64(len(s)))
		buf = append(buf, s...)
		h.Write(buf)
	}
	flag := func(b bool) {
		if b {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
	}
	str(fingerprintTag)
	str(t.Namespace)
	str(t.Name)
	buf = binary.AppendUvarint(buf[:0], uint64(len(t.Columns)))
	h.Write(buf)
	for _, c := range t.Columns {
		str(c.Name)
		str(c.Type)
		str(c.Kind.String())
		flag(c.Nullable)
		flag(c.Key)
		buf = binary.AppendUvarint(buf[:0], uint64(len(c.Values)))
		h.Write(buf)
		for _, v := range c.Values {
			str(v)
		}
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// Version is one schema version of one table, as stored in the schema topic.
// A *Version handed out by a History is shared: treat it as read-only.
type Version struct {
	// Table is the qualified name, "namespace.name" (Table.ID).
	Table string
	// Version numbers a table's shapes in stream order: 1, 2, 3...
	Version     int
	Fingerprint string
	// Columns is the shape, in column order.
	Columns []Column
	// Position is the source position's text form where this version took
	// effect (the first change seen with it); "" when unknown.
	Position string
	// DDL is the statement that produced the version when the source knows
	// it (MySQL query events); "" otherwise.
	DDL string
	// Time is the wall-clock time the version was first seen.
	Time time.Time
}

// Shape returns the table this version describes, with Version set. The
// namespace is the text before the first "." of v.Table, so a namespace
// that itself contains a dot is split wrongly (the name keeps the rest);
// fingerprints are computed from the same split and stay consistent.
func (v *Version) Shape() *Table {
	ns, name, _ := strings.Cut(v.Table, ".")
	return &Table{Namespace: ns, Name: name, Columns: slices.Clone(v.Columns), Version: v.Version}
}

// History assigns schema versions to table shapes in stream order and holds
// the versions loaded from the schema topic. It does no I/O: the caller
// stores each fresh version. Not safe for concurrent use.
type History struct {
	tables map[string]*tableHistory
}

type tableHistory struct {
	versions []*Version          // ascending by Version, no duplicates
	byPrint  map[string]*Version // lowest version with each fingerprint
}

// NewHistory returns an empty history.
func NewHistory() *History {
	return &History{tables: map[string]*tableHistory{}}
}

func (h *History) table(id string) *tableHistory {
	th := h.tables[id]
	if th == nil {
		th = &tableHistory{byPrint: map[string]*Version{}}
		h.tables[id] = th
	}
	return th
}

func (th *tableHistory) latest() *Version {
	if len(th.versions) == 0 {
		return nil
	}
	return th.versions[len(th.versions)-1]
}

// Load adds a stored version, as read from the schema topic at start-up.
// Versions may arrive in any order. A record equal in table, version and
// fingerprint to one already held is ignored (at-least-once reads of the
// topic). A record with the same table and version but another fingerprint
// is ErrConflict; a record whose fingerprint does not match its columns, or
// with an empty table or a version below 1, is ErrInvalidVersion. An empty
// Fingerprint is computed from the columns. Load keeps its own copy of v.
func (h *History) Load(v Version) error {
	if v.Table == "" || v.Version < 1 {
		return fmt.Errorf("loading %q version %d: %w", v.Table, v.Version, ErrInvalidVersion)
	}
	v.Columns = slices.Clone(v.Columns)
	fp := v.Shape().Fingerprint()
	if v.Fingerprint == "" {
		v.Fingerprint = fp
	} else if v.Fingerprint != fp {
		return fmt.Errorf("loading %s version %d: stored fingerprint %s, columns give %s: %w",
			v.Table, v.Version, v.Fingerprint, fp, ErrInvalidVersion)
	}
	th := h.table(v.Table)
	i, found := sort.Find(len(th.versions), func(i int) int { return v.Version - th.versions[i].Version })
	if found {
		if old := th.versions[i]; old.Fingerprint != v.Fingerprint {
			return fmt.Errorf("loading %s version %d: fingerprint %s, already held as %s: %w",
				v.Table, v.Version, v.Fingerprint, old.Fingerprint, ErrConflict)
		}
		return nil
	}
	p := &v
	th.versions = slices.Insert(th.versions, i, p)
	if old, ok := th.byPrint[p.Fingerprint]; !ok || p.Version < old.Version {
		th.byPrint[p.Fingerprint] = p
	}
	return nil
}

// Resolve returns the version of t's shape, creating it if the shape is new.
//
//   - If the table's latest version has t's fingerprint, that version is
//     returned with fresh=false: the common case, every row of a stable table.
//   - Else if an older version has t's fingerprint, the lowest such version
//     is returned with fresh=false. This is what a replay from an older
//     checkpoint needs: rows written before a change are re-read with their
//     old shape and must carry their old version, not a new one. The known
//     limit: a table that goes from shape A to B and back to A maps the
//     second A to A's first version; no new version (and so no schema-change
//     event for B->A) is created, and versions seen by a consumer in stream
//     order are then not monotonic (1, 2, 1). The shape each event names is
//     always exactly right.
//   - Otherwise it creates version latest+1 (1 for a new table) with the
//     given position, DDL and time, and returns it with fresh=true. The
//     caller must store it (schema topic) before or with the first event
//     that uses it.
//
// t is not modified; the returned *Version is shared and read-only.
func (h *History) Resolve(t *Table, position string, ddl string, now time.Time) (v *Version, fresh bool) {
	fp := t.Fingerprint()
	th := h.table(t.ID())
	if last := th.latest(); last != nil && last.Fingerprint == fp {
		return last, false
	}
	if old, ok := th.byPrint[fp]; ok {
		return old, false
	}
	next := 1
	if last := th.latest(); last != nil {
		next = last.Version + 1
	}
	v = &Version{
		Table:       t.ID(),
		Version:     next,
		Fingerprint: fp,
		Columns:     slices.Clone(t.Columns),
		Position:    position,
		DDL:         ddl,
		Time:        now,
	}
	th.versions = append(th.versions, v)
	th.byPrint[fp] = v
	return v, true
}

// Versions returns the table's versions in ascending order, nil if none.
// The slice is the caller's; the versions are shared and read-only.
func (h *History) Versions(table string) []*Version {
	th := h.tables[table]
	if th == nil || len(th.versions) == 0 {
		return nil
	}
	return slices.Clone(th.versions)
}

// Latest returns the table's highest version, or nil if it has none.
func (h *History) Latest(table string) *Version {
	if th := h.tables[table]; th != nil {
		return th.latest()
	}
	return nil
}

// Tables returns the names of the tables with at least one version, sorted.
func (h *History) Tables() []string {
	out := make([]string, 0, len(h.tables))
	for id, th := range h.tables {
		if len(th.versions) > 0 {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
