package schema

import (
	"strings"
	"testing"
)

func ver(n int, ddl string, cols ...Column) *Version {
	return &Version{Table: "public.t", Version: n, Columns: cols, DDL: ddl}
}

var (
	colID     = Column{Name: "id", Type: "bigint", Kind: KindInt, Key: true}
	colName   = Column{Name: "name", Type: "text", Kind: KindString, Nullable: true}
	colAmount = Column{Name: "amount", Type: "numeric(10,2)", Kind: KindDecimal, Nullable: true}
	colLegacy = Column{Name: "legacy", Type: "integer", Kind: KindInt, Nullable: true}
)

func with(c Column, f func(*Column)) Column {
	f(&c)
	return c
}

func TestDiffVersions(t *testing.T) {
	tests := []struct {
		name     string
		old, new *Version
		want     string // Diff.String()
	}{
		{"created table: every column added", nil, ver(1, "", colID, colName),
			"+ id bigint NOT NULL\n+ name text NULL"},
		{"same shape: empty", ver(1, "", colID, colName), ver(2, "", colID, colName), ""},
		{"added nullable column", ver(1, "", colID), ver(2, "", colID, colName), "+ name text NULL"},
		{"dropped column", ver(1, "", colID, colLegacy), ver(2, "", colID), "- legacy integer"},
		{"retyped column", ver(1, "", colID, colAmount),
			ver(2, "", colID, with(colAmount, func(c *Column) { c.Type = "numeric(12,2)" })),
			"~ amount numeric(10,2) -> numeric(12,2)"},
		{"nullability change", ver(1, "", colID, colName),
			ver(2, "", colID, with(colName, func(c *Column) { c.Nullable = false })),
			"~ name NULL -> NOT NULL"},
		{"rename: same ordinal, same type", ver(1, "", colID, colName, colAmount),
			ver(2, "", colID, with(colName, func(c *Column) { c.Name = "full_name" }), colAmount),
			"> name -> full_name (text)"},
		{"rename keeps nullability change visible in the rename", ver(1, "", colID, colName),
			ver(2, "", colID, with(colName, func(c *Column) { c.Name = "full_name"; c.Nullable = false })),
			"> name -> full_name (text)"},
		{"no rename: other ordinal (drop one column, append another)", ver(1, "", colID, colName, colAmount),
			ver(2, "", colID, colAmount, with(colName, func(c *Column) { c.Name = "full_name" })),
			"+ full_name text NULL\n- name text"},
		{"no rename: other type at the same ordinal", ver(1, "", colID, colLegacy),
			ver(2, "", colID, colName),
			"+ name text NULL\n- legacy integer"},
		{"drop last + add same type in one step looks like a rename (documented)", ver(1, "", colID, colName),
			ver(2, "", colID, with(colName, func(c *Column) { c.Name = "comment" })),
			"> name -> comment (text)"},
		{"DDL without RENAME/CHANGE suppresses the heuristic", ver(1, "", colID, colName),
			ver(2, "ALTER TABLE t DROP COLUMN name, ADD COLUMN comment text", colID, with(colName, func(c *Column) { c.Name = "comment" })),
			"+ comment text NULL\n- name text"},
		{"DDL with CHANGE allows it", ver(1, "", colID, colName),
			ver(2, "alter table t change name comment text", colID, with(colName, func(c *Column) { c.Name = "comment" })),
			"> name -> comment (text)"},
		{"key change", ver(1, "", colID, colName),
			ver(2, "", colID, with(colName, func(c *Column) { c.Key = true; c.Nullable = false })),
			"~ name NULL -> NOT NULL\n* key (id) -> (id, name)"},
		{"reorder only", ver(1, "", colID, colName, colAmount), ver(2, "", colID, colAmount, colName),
			"* column order changed"},
		{"enum member added under the same type name", ver(1, "", colID, Column{Name: "s", Type: "mood", Kind: KindEnum, Values: []string{"a"}}),
			ver(2, "", colID, Column{Name: "s", Type: "mood", Kind: KindEnum, Values: []string{"a", "b"}}),
			"~ s mood{a} -> mood{a,b}"},
		{"kind change under the same type name", ver(1, "", colID, Column{Name: "x", Type: "mood", Kind: KindUnknown}),
			ver(2, "", colID, Column{Name: "x", Type: "mood", Kind: KindString}),
			"~ x mood unknown -> mood string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := DiffVersions(tc.old, tc.new)
			if got := d.String(); got != tc.want {
				t.Fatalf("diff:\n%s\nwant:\n%s", got, tc.want)
			}
			if d.Empty() != (tc.want == "") {
				t.Fatalf("Empty() = %v for %q", d.Empty(), tc.want)
			}
		})
	}
}

func TestDiffRenameFields(t *testing.T) {
	d := DiffVersions(ver(1, "", colID, colName), ver(2, "", colID, with(colName, func(c *Column) { c.Name = "full_name"; c.Nullable = false })))
	want := ColumnChange{Name: "full_name", OldName: "name", OldType: "text", NewType: "text", OldNullable: true, NewNullable: false}
	if len(d.Renamed) != 1 || d.Renamed[0] != want || len(d.Added)+len(d.Dropped)+len(d.Nullability) != 0 || d.KeyChanged || d.Reordered {
		t.Fatalf("diff %+v", d)
	}
}

func TestCheckCompatibility(t *testing.T) {
	typed := func(c Column, typ string) Column { return with(c, func(c *Column) { c.Type = typ }) }
	intCol := func(typ string, k Kind) Column { return Column{Name: "n", Type: typ, Kind: k, Nullable: true} }
	enumCol := func(vals ...string) Column {
		return Column{Name: "e", Type: "enum", Kind: KindEnum, Nullable: true, Values: vals}
	}
	notNull := func(c Column) Column { return with(c, func(c *Column) { c.Nullable = false }) }
	// Which modes a change breaks: b = backward, f = forward. full breaks
	// when either does; none never.
	tests := []struct {
		name     string
		old, new []Column
		breaks   string
		reason   string // a substring of the first reason, when it breaks
	}{
		{"add nullable column", []Column{colID}, []Column{colID, colName}, "", ""},
		{"add NOT NULL column", []Column{colID}, []Column{colID, notNull(colName)}, "b", `added column "name" is NOT NULL`},
		{"drop nullable column", []Column{colID, colName}, []Column{colID}, "", ""},
		{"drop NOT NULL column", []Column{colID, notNull(colName)}, []Column{colID}, "f", `dropped column "name" was NOT NULL`},
		{"rename", []Column{colID, colName}, []Column{colID, with(colName, func(c *Column) { c.Name = "full" })}, "bf", `renamed to "full"`},
		{"NULL -> NOT NULL", []Column{colID, colName}, []Column{colID, notNull(colName)}, "b", "became NOT NULL"},
		{"NOT NULL -> NULL", []Column{colID, notNull(colName)}, []Column{colID, colName}, "f", "became nullable"},
		{"key change", []Column{colID, notNull(colName)}, []Column{colID, with(notNull(colName), func(c *Column) { c.Key = true })}, "bf", "key columns changed (id) -> (id, name)"},
		{"int4 -> int8 widens", []Column{colID, intCol("integer", KindInt)}, []Column{colID, intCol("bigint", KindInt)}, "", ""},
		{"int2 -> int4 widens (pg short names)", []Column{colID, intCol("int2", KindInt)}, []Column{colID, intCol("int4", KindInt)}, "", ""},
		{"int8 -> int4 narrows", []Column{colID, intCol("bigint", KindInt)}, []Column{colID, intCol("integer", KindInt)}, "bf", "retyped bigint -> integer"},
		{"tinyint unsigned -> smallint widens", []Column{colID, intCol("tinyint unsigned", KindUint)}, []Column{colID, intCol("smallint", KindInt)}, "", ""},
		{"int unsigned -> int narrows", []Column{colID, intCol("int unsigned", KindUint)}, []Column{colID, intCol("int", KindInt)}, "bf", ""},
		{"int -> int unsigned narrows", []Column{colID, intCol("int", KindInt)}, []Column{colID, intCol("int unsigned", KindUint)}, "bf", ""},
		{"int(11) -> bigint(20) widens despite display widths", []Column{colID, intCol("int(11)", KindInt)}, []Column{colID, intCol("bigint(20)", KindInt)}, "", ""},
		{"float4 -> float8 widens", []Column{colID, intCol("real", KindFloat)}, []Column{colID, intCol("double precision", KindFloat)}, "", ""},
		{"double -> float narrows", []Column{colID, intCol("double", KindFloat)}, []Column{colID, intCol("float", KindFloat)}, "bf", ""},
		{"numeric precision increase widens", []Column{colID, colAmount}, []Column{colID, typed(colAmount, "numeric(12,2)")}, "", ""},
		{"numeric scale increase keeping integer digits widens", []Column{colID, colAmount}, []Column{colID, typed(colAmount, "numeric(12,4)")}, "", ""},
		{"numeric scale increase losing integer digits narrows", []Column{colID, colAmount}, []Column{colID, typed(colAmount, "numeric(10,4)")}, "bf", ""},
		{"numeric -> unbounded numeric widens", []Column{colID, colAmount}, []Column{colID, typed(colAmount, "numeric")}, "", ""},
		{"numeric precision decrease narrows", []Column{colID, colAmount}, []Column{colID, typed(colAmount, "numeric(8,2)")}, "bf", ""},
		{"varchar(n) -> varchar(m>n) widens", []Column{colID, typed(colName, "varchar(10)")}, []Column{colID, typed(colName, "varchar(20)")}, "", ""},
		{"character varying(n) -> text widens", []Column{colID, typed(colName, "character varying(10)")}, []Column{colID, colName}, "", ""},
		{"varchar(20) -> varchar(10) narrows", []Column{colID, typed(colName, "varchar(20)")}, []Column{colID, typed(colName, "varchar(10)")}, "bf", ""},
		{"text -> mediumtext widens", []Column{colID, colName}, []Column{colID, typed(colName, "mediumtext")}, "", ""},
		{"longtext -> text narrows", []Column{colID, typed(colName, "longtext")}, []Column{colID, colName}, "bf", ""},
		{"varbinary(4) -> blob widens", []Column{colID, {Name: "b", Type: "varbinary(4)", Kind: KindBytes, Nullable: true}}, []Column{colID, {Name: "b", Type: "blob", Kind: KindBytes, Nullable: true}}, "", ""},
		{"datetime(3) -> datetime(6) widens", []Column{colID, {Name: "d", Type: "datetime(3)", Kind: KindTimestamp, Nullable: true}}, []Column{colID, {Name: "d", Type: "datetime(6)", Kind: KindTimestamp, Nullable: true}}, "", ""},
		{"int -> text changes the JSON type", []Column{colID, intCol("integer", KindInt)}, []Column{colID, intCol("text", KindString)}, "bf", ""},
		{"timestamp -> timestamptz changes the value form", []Column{colID, {Name: "d", Type: "timestamp without time zone", Kind: KindTimestamp, Nullable: true}}, []Column{colID, {Name: "d", Type: "timestamp with time zone", Kind: KindTimestampTZ, Nullable: true}}, "bf", ""},
		{"enum member added: old events fit, old readers do not know it", []Column{colID, enumCol("a")}, []Column{colID, enumCol("a", "b")}, "f", "old readers cannot read new values"},
		{"enum member removed: new readers reject old events", []Column{colID, enumCol("a", "b")}, []Column{colID, enumCol("a")}, "b", "not a widening"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, new := ver(1, "", tc.old...), ver(2, "", tc.new...)
			for _, m := range []struct {
				mode Compatibility
				want bool
			}{
				{CompatNone, false},
				{CompatBackward, strings.Contains(tc.breaks, "b")},
				{CompatForward, strings.Contains(tc.breaks, "f")},
				{CompatFull, tc.breaks != ""},
			} {
				got := CheckCompatibility(m.mode, old, new)
				if (len(got) > 0) != m.want {
					t.Errorf("%s: reasons %q, want breaking=%v", m.mode, got, m.want)
					continue
				}
				if len(got) > 0 && tc.reason != "" && !strings.Contains(strings.Join(got, "; "), tc.reason) {
					t.Errorf("%s: reasons %q lack %q", m.mode, got, tc.reason)
				}
			}
		})
	}
}

func TestCheckCompatibilityEdges(t *testing.T) {
	v := ver(1, "", colID)
	if got := CheckCompatibility(CompatFull, nil, v); got != nil {
		t.Errorf("created table (old nil) pins compatible, got %q", got)
	}
	rename := ver(2, "", with(colID, func(c *Column) { c.Name = "key" }))
	if got := CheckCompatibility(CompatFull, v, rename); len(got) != 2 {
		// pins: full reports each reason once (rename and key change), not twice
		t.Errorf("full: %q", got)
	}
	if got := CheckCompatibility("sideways", v, rename); len(got) != 1 || !strings.Contains(got[0], "unknown compatibility") {
		t.Errorf("unknown mode pins a loud reason, got %q", got)
	}
}

func TestParseCompatibility(t *testing.T) {
	for _, s := range []string{"none", "backward", "forward", "full"} {
		if c, err := ParseCompatibility(s); err != nil || string(c) != s {
			t.Errorf("%q: %v %v", s, c, err)
		}
	}
	for _, s := range []string{"", "Full", "backwards", "transitive"} {
		if _, err := ParseCompatibility(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
