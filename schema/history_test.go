package schema

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func ordersTable() *Table {
	return &Table{Namespace: "public", Name: "orders", Columns: []Column{
		{Name: "id", Type: "bigint", Kind: KindInt, TypeID: 20, Key: true},
		{Name: "status", Type: "enum('new','paid')", Kind: KindEnum, Nullable: true, Values: []string{"new", "paid"}},
		{Name: "amount", Type: "numeric(10,2)", Kind: KindDecimal, TypeID: 1700, Nullable: true},
	}}
}

func TestFingerprintStable(t *testing.T) {
	a, b := ordersTable(), ordersTable()
	b.Version = 7            // pins: the version number is not part of the shape
	b.Columns[0].TypeID = 99 // pins: type OIDs are not part of the shape
	b.Columns[1].Values = []string{"new", "paid"}[:2:2]
	if a.Fingerprint() != b.Fingerprint() {
		t.Fatalf("equal shapes, different fingerprints: %s, %s", a.Fingerprint(), b.Fingerprint())
	}
	if fp := a.Fingerprint(); len(fp) != 32 {
		t.Fatalf("fingerprint %q: want 32 hex digits", fp)
	}
	// pins the encoding itself: a change here invalidates every stored
	// fingerprint, so it must come with a new fingerprintTag.
	const want = "e499855a0f34cda754dab9fd529d4642"
	if a.Fingerprint() != want {
		t.Fatalf("fingerprint of ordersTable changed: %s", a.Fingerprint())
	}
}

func TestFingerprintSensitive(t *testing.T) {
	base := ordersTable().Fingerprint()
	tests := []struct {
		name   string
		change func(*Table)
	}{
		{"namespace", func(t *Table) { t.Namespace = "shop" }},
		{"name", func(t *Table) { t.Name = "order" }},
		{"column name", func(t *Table) { t.Columns[2].Name = "total" }},
		{"native type", func(t *Table) { t.Columns[2].Type = "numeric(12,2)" }},
		{"kind", func(t *Table) { t.Columns[2].Kind = KindString }},
		{"nullable", func(t *Table) { t.Columns[2].Nullable = false }},
		{"key", func(t *Table) { t.Columns[2].Key = true }},
		{"enum member", func(t *Table) { t.Columns[1].Values = []string{"new", "paid", "shipped"} }},
		{"enum member order", func(t *Table) { t.Columns[1].Values = []string{"paid", "new"} }},
		{"column order", func(t *Table) { t.Columns[1], t.Columns[2] = t.Columns[2], t.Columns[1] }},
		{"added column", func(t *Table) { t.Columns = append(t.Columns, Column{Name: "note", Type: "text", Kind: KindString}) }},
		{"dropped column", func(t *Table) { t.Columns = t.Columns[:2] }},
		{"boundary between name and type", func(t *Table) { t.Columns[0].Name, t.Columns[0].Type = "idb", "igint" }},
		{"boundary between namespace and name", func(t *Table) { t.Namespace, t.Name = "publico", "rders" }},
		{"values moved to another column", func(t *Table) {
			t.Columns[1].Values = nil
			t.Columns[2].Values = []string{"new", "paid"}
		}},
	}
	seen := map[string]string{base: "base"}
	for _, tc := range tests {
		tab := ordersTable()
		tc.change(tab)
		fp := tab.Fingerprint()
		if prev, dup := seen[fp]; dup {
			t.Errorf("%s: same fingerprint as %s", tc.name, prev)
		}
		seen[fp] = tc.name
	}
}

var (
	t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

func withNote(t *Table) *Table {
	t.Columns = append(t.Columns, Column{Name: "note", Type: "text", Kind: KindString, Nullable: true})
	return t
}

func TestHistoryResolve(t *testing.T) {
	type step struct {
		table     *Table
		want      int
		wantFresh bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"same shape twice is version 1 only", []step{{ordersTable(), 1, true}, {ordersTable(), 1, false}}},
		{"a change makes version 2", []step{{ordersTable(), 1, true}, {withNote(ordersTable()), 2, true}, {withNote(ordersTable()), 2, false}}},
		{"replay of an old shape maps to its old version", []step{
			{ordersTable(), 1, true}, {withNote(ordersTable()), 2, true}, {ordersTable(), 1, false}, {withNote(ordersTable()), 2, false},
		}},
		{"A->B->A maps back to the first A (documented limit)", []step{
			{ordersTable(), 1, true}, {withNote(ordersTable()), 2, true}, {ordersTable(), 1, false},
			{func() *Table { x := ordersTable(); x.Columns[2].Type = "numeric(12,2)"; return x }(), 3, true},
		}},
		{"tables are numbered independently", []step{
			{ordersTable(), 1, true}, {&Table{Namespace: "public", Name: "items"}, 1, true}, {withNote(ordersTable()), 2, true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistory()
			for i, s := range tc.steps {
				v, fresh := h.Resolve(s.table, "pos"+string(rune('0'+i)), "", t0)
				if v.Version != s.want || fresh != s.wantFresh {
					t.Fatalf("step %d: got v%d fresh=%v, want v%d fresh=%v", i, v.Version, fresh, s.want, s.wantFresh)
				}
				if v.Fingerprint != s.table.Fingerprint() || v.Table != s.table.ID() {
					t.Fatalf("step %d: version %+v does not describe %s", i, v, s.table)
				}
			}
		})
	}
}

func TestHistoryResolveRecordsArguments(t *testing.T) {
	h := NewHistory()
	tab := ordersTable()
	v, _ := h.Resolve(tab, "0/16B3748", "ALTER TABLE orders ADD note text", t0)
	if v.Position != "0/16B3748" || v.DDL != "ALTER TABLE orders ADD note text" || !v.Time.Equal(t0) {
		t.Fatalf("version does not carry its arguments: %+v", v)
	}
	tab.Columns[0].Name = "mutated" // pins: the history keeps its own copy of the columns
	if v.Columns[0].Name != "id" {
		t.Fatal("Resolve aliases the table's columns")
	}
	got := v.Shape()
	if got.Namespace != "public" || got.Name != "orders" || got.Version != 1 || got.Fingerprint() != v.Fingerprint {
		t.Fatalf("Shape() = %+v", got)
	}
}

func TestHistoryLoad(t *testing.T) {
	v1 := Version{Table: "public.orders", Version: 1, Fingerprint: ordersTable().Fingerprint(), Columns: ordersTable().Columns, Time: t0}
	v2 := Version{Table: "public.orders", Version: 2, Fingerprint: withNote(ordersTable()).Fingerprint(), Columns: withNote(ordersTable()).Columns, Time: t1}

	t.Run("out of order, duplicates ignored, numbering continues", func(t *testing.T) {
		h := NewHistory()
		for _, v := range []Version{v2, v1, v2} {
			if err := h.Load(v); err != nil {
				t.Fatal(err)
			}
		}
		vs := h.Versions("public.orders")
		if len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 {
			t.Fatalf("versions %v", vs)
		}
		if got, fresh := h.Resolve(withNote(ordersTable()), "", "", t1); got.Version != 2 || fresh {
			t.Fatalf("latest shape: v%d fresh=%v", got.Version, fresh)
		}
		if got, fresh := h.Resolve(ordersTable(), "", "", t1); got.Version != 1 || fresh {
			t.Fatalf("replayed shape: v%d fresh=%v", got.Version, fresh)
		}
		x := withNote(ordersTable())
		x.Columns[3].Nullable = false
		if got, fresh := h.Resolve(x, "", "", t1); got.Version != 3 || !fresh {
			t.Fatalf("new shape: v%d fresh=%v", got.Version, fresh)
		}
		if got := h.Tables(); !slices.Equal(got, []string{"public.orders"}) {
			t.Fatalf("Tables() = %v", got)
		}
	})
	t.Run("empty fingerprint is computed", func(t *testing.T) {
		h := NewHistory()
		v := v1
		v.Fingerprint = ""
		if err := h.Load(v); err != nil {
			t.Fatal(err)
		}
		if h.Versions("public.orders")[0].Fingerprint != v1.Fingerprint {
			t.Fatal("fingerprint not computed")
		}
	})

	errTests := []struct {
		name string
		load []Version
		want error
	}{
		{"same version, other shape", []Version{v1, {Table: v1.Table, Version: 1, Columns: v2.Columns}}, ErrConflict},
		{"fingerprint does not match columns", []Version{{Table: v1.Table, Version: 1, Fingerprint: v2.Fingerprint, Columns: v1.Columns}}, ErrInvalidVersion},
		{"version 0", []Version{{Table: v1.Table, Columns: v1.Columns}}, ErrInvalidVersion},
		{"no table", []Version{{Version: 1}}, ErrInvalidVersion},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistory()
			var err error
			for _, v := range tc.load {
				if err = h.Load(v); err != nil {
					break
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHistoryTables(t *testing.T) {
	h := NewHistory()
	for _, n := range []string{"zeta", "alpha", "mid"} {
		h.Resolve(&Table{Namespace: "s", Name: n}, "", "", t0)
	}
	if got := h.Tables(); !slices.Equal(got, []string{"s.alpha", "s.mid", "s.zeta"}) {
		t.Fatalf("Tables() = %v", got)
	}
	if h.Versions("s.none") != nil || h.Latest("s.none") != nil {
		t.Fatal("unknown table has versions")
	}
}
