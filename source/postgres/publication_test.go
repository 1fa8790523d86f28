package postgres

import (
	"reflect"
	"testing"
)

func TestWantedMembers(t *testing.T) {
	tn := func(s, n string) tableName { return tableName{s, n} }
	matched := []tableName{tn("public", "b"), tn("public", "a"), tn("sales", "part_1"), tn("x", "t")}
	schemas := map[string]bool{"public": true, "sales": true, "x": true}
	cases := []struct {
		name       string
		patterns   []string
		schemaPubs bool
		want       members
		sql        string
	}{
		{"whole schema as a schema publication", []string{"public.*", "sales.part_*", "x.t"}, true,
			members{schemas: []string{"public"}, tables: []tableName{tn("sales", "part_1"), tn("x", "t")}},
			`TABLES IN SCHEMA "public", TABLE "sales"."part_1", "x"."t"`},
		{"no schema publications without PostgreSQL 15 and superuser", []string{"public.*", "sales.part_*", "x.t"}, false,
			members{tables: []tableName{tn("public", "a"), tn("public", "b"), tn("sales", "part_1"), tn("x", "t")}},
			`TABLE "public"."a", "public"."b", "sales"."part_1", "x"."t"`},
		{"a glob in the schema part is not a whole schema", []string{"pub*.*", "sales.*", "x.t", "missing.*"}, true,
			members{schemas: []string{"sales"}, tables: []tableName{tn("public", "a"), tn("public", "b"), tn("x", "t")}},
			`TABLES IN SCHEMA "sales", TABLE "public"."a", "public"."b", "x"."t"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := wantedMembers(c.patterns, matched, schemas, c.schemaPubs)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			if s := got.sql(); s != c.sql {
				t.Errorf("sql %q, want %q", s, c.sql)
			}
		})
	}
}

func TestAlterPublicationSQL(t *testing.T) {
	cur := publication{schemas: []string{"s"}, tables: []tableName{{"public", "a"}}}
	if got := alterPublicationSQL("p", cur, members{tables: []tableName{{"public", "b"}}}); !reflect.DeepEqual(got, []string{`ALTER PUBLICATION "p" SET TABLE "public"."b"`}) {
		t.Errorf("set: %q", got)
	}
	want := []string{`ALTER PUBLICATION "p" DROP TABLE "public"."a"`, `ALTER PUBLICATION "p" DROP TABLES IN SCHEMA "s"`}
	if got := alterPublicationSQL("p", cur, members{}); !reflect.DeepEqual(got, want) {
		t.Errorf("empty: %q", got)
	}
	if !(members{schemas: []string{"s"}, tables: []tableName{{"public", "a"}}}).equal(cur) {
		t.Error("equal members reported different")
	}
	if (members{tables: []tableName{{"public", "a"}}}).equal(publication{allTables: true}) {
		t.Error("a FOR ALL TABLES publication equals a table list")
	}
}

func TestExplicitTables(t *testing.T) {
	got := explicitTables([]string{"public.a", "public.b*", "s.[x]"}, []tableName{{"public", "a"}, {"public", "b1"}, {"s", "x"}})
	if !reflect.DeepEqual(got, map[tableName]bool{{"public", "a"}: true}) {
		t.Errorf("got %v", got)
	}
}
