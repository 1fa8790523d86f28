package schema

import (
	"regexp"
	"slices"
	"strings"
)

// ColumnChange is one column's part in a Diff. Which fields are set depends
// on the list it is in: Added and Dropped carry the column's type and
// nullability in New*/Old* respectively; Retyped carries both types;
// Renamed carries OldName and the (unchanged) type in both; Nullability
// carries both nullabilities.
type ColumnChange struct {
	Name        string
	OldName     string // renames only
	OldType     string
	NewType     string
	OldNullable bool
	NewNullable bool
}

// Diff is what changed between two consecutive versions of a table. Each
// list is in column order (of the new version; of the old one for Dropped).
type Diff struct {
	Added       []ColumnChange
	Dropped     []ColumnChange
	Retyped     []ColumnChange // native type, kind or enum/set members changed
	Renamed     []ColumnChange
	Nullability []ColumnChange
	// KeyChanged: the key columns (names, in order) differ, so event keys
	// change shape.
	KeyChanged bool
	// Reordered: the columns both versions share are in a different order
	// (MySQL "MODIFY ... AFTER"). JSON consumers do not care, but the
	// fingerprint does, so a version can differ from its predecessor by
	// order alone.
	Reordered bool

	oldKey, newKey []string
}

// renameWords recognises DDL that can rename a column (Postgres RENAME
// COLUMN, MySQL RENAME COLUMN and CHANGE [COLUMN]).
var renameWords = regexp.MustCompile(`(?i)\b(rename|change)\b`)

// DiffVersions compares two versions of one table. old may be nil (the table
// was created): every column is then Added.
//
// Columns are matched by name. Postgres announces a rename only as a new
// relation shape, so renames are inferred: a column dropped and a column
// added in the same version step, at the same ordinal position, with the
// same native type and kind, are reported as one rename. Dropping the last
// column and adding one of the same type in a single step (no row in
// between) is therefore reported as a rename too. When the new version
// carries DDL (MySQL) and that DDL contains neither RENAME nor CHANGE, no
// rename is inferred.
func DiffVersions(old, new *Version) Diff {
	var d Diff
	var oldCols []Column
	if old != nil {
		oldCols = old.Columns
	}
	newCols := new.Columns
	oldIdx := indexByName(oldCols)
	newIdx := indexByName(newCols)

	type slot struct {
		i int
		c Column
	}
	var dropped, added []slot
	for i, c := range oldCols {
		if _, ok := newIdx[c.Name]; !ok {
			dropped = append(dropped, slot{i, c})
		}
	}
	for i, c := range newCols {
		j, ok := oldIdx[c.Name]
		if !ok {
			added = append(added, slot{i, c})
			continue
		}
		o := oldCols[j]
		if !sameType(o, c) {
			ot, nt := o.Type, c.Type
			if ot == nt {
				ot, nt = typeWithValues(o), typeWithValues(c)
			}
			d.Retyped = append(d.Retyped, ColumnChange{Name: c.Name, OldType: ot, NewType: nt, OldNullable: o.Nullable, NewNullable: c.Nullable})
		}
		if o.Nullable != c.Nullable {
			d.Nullability = append(d.Nullability, ColumnChange{Name: c.Name, OldType: o.Type, NewType: c.Type, OldNullable: o.Nullable, NewNullable: c.Nullable})
		}
	}

	renamed := map[string]string{} // old name -> new name
	if old != nil && (new.DDL == "" || renameWords.MatchString(new.DDL)) {
		for ai := 0; ai < len(added); ai++ {
			a := added[ai]
			di := slices.IndexFunc(dropped, func(s slot) bool { return s.i == a.i && sameType(s.c, a.c) })
			if di < 0 {
				continue
			}
			o := dropped[di].c
			d.Renamed = append(d.Renamed, ColumnChange{Name: a.c.Name, OldName: o.Name, OldType: o.Type, NewType: a.c.Type, OldNullable: o.Nullable, NewNullable: a.c.Nullable})
			renamed[o.Name] = a.c.Name
			dropped = slices.Delete(dropped, di, di+1)
			added = slices.Delete(added, ai, ai+1)
			ai--
		}
	}
	for _, s := range added {
		d.Added = append(d.Added, ColumnChange{Name: s.c.Name, NewType: s.c.Type, NewNullable: s.c.Nullable})
	}
	for _, s := range dropped {
		d.Dropped = append(d.Dropped, ColumnChange{Name: s.c.Name, OldType: s.c.Type, OldNullable: s.c.Nullable})
	}

	if old != nil {
		d.oldKey, d.newKey = keyNames(oldCols), keyNames(newCols)
		d.KeyChanged = !slices.Equal(d.oldKey, d.newKey)
		// Shared columns, under their new names, in each version's order.
		var before, after []string
		for _, c := range oldCols {
			name := c.Name
			if n, ok := renamed[name]; ok {
				name = n
			} else if _, ok := newIdx[name]; !ok {
				continue
			}
			before = append(before, name)
		}
		for _, c := range newCols {
			if _, ok := oldIdx[c.Name]; ok || slices.Contains(before, c.Name) {
				after = append(after, c.Name)
			}
		}
		d.Reordered = !slices.Equal(before, after)
	}
	return d
}

// Empty reports whether nothing changed.
func (d Diff) Empty() bool {
	return len(d.Added) == 0 && len(d.Dropped) == 0 && len(d.Retyped) == 0 && len(d.Renamed) == 0 &&
		len(d.Nullability) == 0 && !d.KeyChanged && !d.Reordered
}

// String renders the diff for people, one line per change:
//
//   - note text NULL                      added
//   - legacy int                          dropped
//     ~ amount numeric(10,2) -> numeric(12,2)   retyped
//     > name -> full_name (text)            renamed
//     ~ note NULL -> NOT NULL               nullability
//   - key (id) -> (id, region)            key columns
//   - column order changed
//
// An empty diff renders as "".
func (d Diff) String() string {
	var b strings.Builder
	line := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	for _, c := range d.Added {
		line("+ ", c.Name, " ", c.NewType, " ", nullText(c.NewNullable))
	}
	for _, c := range d.Dropped {
		line("- ", c.Name, " ", c.OldType)
	}
	for _, c := range d.Retyped {
		line("~ ", c.Name, " ", c.OldType, " -> ", c.NewType)
	}
	for _, c := range d.Renamed {
		line("> ", c.OldName, " -> ", c.Name, " (", c.NewType, ")")
	}
	for _, c := range d.Nullability {
		line("~ ", c.Name, " ", nullText(c.OldNullable), " -> ", nullText(c.NewNullable))
	}
	if d.KeyChanged {
		line("* key (", strings.Join(d.oldKey, ", "), ") -> (", strings.Join(d.newKey, ", "), ")")
	}
	if d.Reordered {
		line("* column order changed")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func nullText(nullable bool) string {
	if nullable {
		return "NULL"
	}
	return "NOT NULL"
}

func indexByName(cols []Column) map[string]int {
	m := make(map[string]int, len(cols))
	for i, c := range cols {
		m[c.Name] = i
	}
	return m
}

func keyNames(cols []Column) []string {
	var ks []string
	for _, c := range cols {
		if c.Key {
			ks = append(ks, c.Name)
		}
	}
	return ks
}

// sameType reports whether two columns hold the same type: native type,
// kind and enum/set members.
func sameType(a, b Column) bool {
	return a.Type == b.Type && a.Kind == b.Kind && slices.Equal(a.Values, b.Values)
}

// typeWithValues shows a type with its members, for enum changes whose
// native type name stays the same (a Postgres ALTER TYPE ... ADD VALUE).
func typeWithValues(c Column) string {
	if len(c.Values) == 0 {
		return c.Type + " " + c.Kind.String()
	}
	return c.Type + "{" + strings.Join(c.Values, ",") + "}"
}
