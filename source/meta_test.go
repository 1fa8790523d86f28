package source

import (
	"reflect"
	"testing"
)

func TestMeta(t *testing.T) {
	shared := MetaOf(map[string]any{"lsn": uint64(7), "db": "shop"})
	if !reflect.DeepEqual(shared, Meta{{"db", "shop"}, {"lsn", uint64(7)}}) {
		t.Fatalf("MetaOf: %v, want sorted", shared)
	}
	// Changes may share a Meta: Set and Delete must leave it alone.
	m := shared
	m.Set("ddl", "ALTER TABLE t")
	m.Set("lsn", uint64(8))
	m.Set("a", 1)
	if !reflect.DeepEqual(shared, Meta{{"db", "shop"}, {"lsn", uint64(7)}}) {
		t.Fatalf("Set wrote into the shared Meta: %v", shared)
	}
	want := Meta{{"a", 1}, {"db", "shop"}, {"ddl", "ALTER TABLE t"}, {"lsn", uint64(8)}}
	if !reflect.DeepEqual(m, want) || !m.Sorted() {
		t.Fatalf("after Set: %v, want %v", m, want)
	}
	m2 := m
	m2.Delete("db")
	m2.Delete("nope")
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("Delete wrote into the shared Meta: %v", m)
	}
	if got := (Meta{{"a", 1}, {"ddl", "ALTER TABLE t"}, {"lsn", uint64(8)}}); !reflect.DeepEqual(m2, got) {
		t.Fatalf("after Delete: %v, want %v", m2, got)
	}
	if v, ok := m.Lookup("ddl"); !ok || v != "ALTER TABLE t" || m.Get("nope") != nil {
		t.Fatalf("Lookup/Get: %v %v", v, ok)
	}
	if (Meta{{"b", 1}, {"a", 2}}).Sorted() {
		t.Fatal("Sorted says yes to an unsorted Meta")
	}
}
