package source

import (
	"cmp"
	"slices"
)

// Meta is the source block's source-specific fields of a change, sorted by
// key, each key once. It is a slice rather than a map because every change
// of a backlog carries one: building a map of half a dozen entries, and
// sorting its keys again to encode it, cost more than encoding the row.
//
// Several changes may share one Meta (a snapshot chunk's rows do): Set and
// Delete never write into the receiver's backing array, they replace it.
type Meta []Field

// Field is one source field.
type Field struct {
	Key   string
	Value any
}

// MetaOf builds a Meta from a map, sorted (for tests and cold paths).
func MetaOf(m map[string]any) Meta {
	out := make(Meta, 0, len(m))
	for k, v := range m {
		out = append(out, Field{k, v})
	}
	slices.SortFunc(out, func(a, b Field) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// Lookup returns the value of key and whether m has it.
func (m Meta) Lookup(key string) (any, bool) {
	for _, f := range m {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Get returns the value of key, nil when m does not have it.
func (m Meta) Get(key string) any {
	v, _ := m.Lookup(key)
	return v
}

// Set sets key to v, in key order, in a new backing array.
func (m *Meta) Set(key string, v any) {
	i, found := slices.BinarySearchFunc(*m, key, func(f Field, k string) int { return cmp.Compare(f.Key, k) })
	out := make(Meta, len(*m), len(*m)+1)
	copy(out, *m)
	if found {
		out[i].Value = v
	} else {
		out = slices.Insert(out, i, Field{key, v})
	}
	*m = out
}

// Delete removes key, in a new backing array.
func (m *Meta) Delete(key string) {
	i := slices.IndexFunc(*m, func(f Field) bool { return f.Key == key })
	if i < 0 {
		return
	}
	out := make(Meta, 0, len(*m)-1)
	out = append(out, (*m)[:i]...)
	*m = append(out, (*m)[i+1:]...)
}

// Sorted reports whether m's keys are in order (encoders rely on it, and
// sort a copy otherwise).
func (m Meta) Sorted() bool {
	return slices.IsSortedFunc(m, func(a, b Field) int { return cmp.Compare(a.Key, b.Key) })
}
