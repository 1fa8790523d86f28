package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pglogrepl"

	"github.com/cdc-go/cdc/schema"
)

// describe builds the table schema for a relation message. Column names,
// order and type OIDs come from the message itself, which reflects the
// table as it was when the change was written; the catalog adds native type
// names, NOT NULL and the primary key where the columns still match.
func (s *Source) describe(ctx context.Context, m *pglogrepl.RelationMessage) (*schema.Table, error) {
	t := &schema.Table{Namespace: m.Namespace, Name: m.RelationName, Columns: make([]schema.Column, len(m.Columns))}
	for i, c := range m.Columns {
		t.Columns[i] = schema.Column{
			Name: c.Name, TypeID: c.DataType, Kind: kindOf(c.DataType), Nullable: true,
			Key: c.Flags&1 == 1, Type: fmt.Sprintf("oid:%d", c.DataType),
		}
	}
	// Type names come from the message's own type OIDs and modifiers, so a
	// row decoded again later (a replay) gets the same shape.
	oids := make([]uint32, len(m.Columns))
	mods := make([]int32, len(m.Columns))
	for i, c := range m.Columns {
		oids[i], mods[i] = c.DataType, c.TypeModifier
	}
	trows, err := s.sql.Query(ctx, `SELECT format_type(t.oid, t.mod) FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS t(oid, mod, n) ORDER BY n`, oids, mods)
	if err != nil {
		return nil, fmt.Errorf("describing table %s.%s: %w", m.Namespace, m.RelationName, err)
	}
	for i := 0; trows.Next(); i++ {
		var name *string
		if err := trows.Scan(&name); err != nil {
			return nil, fmt.Errorf("describing table %s.%s: %w", m.Namespace, m.RelationName, err)
		}
		if name != nil && i < len(t.Columns) {
			t.Columns[i].Type = *name
		}
	}
	if err := trows.Err(); err != nil {
		return nil, fmt.Errorf("describing table %s.%s: %w", m.Namespace, m.RelationName, err)
	}
	for i := range t.Columns {
		if col := &t.Columns[i]; col.Kind == schema.KindUnknown {
			kind, fields, err := s.kindOfType(ctx, col.TypeID, 0)
			if err != nil {
				return nil, fmt.Errorf("describing table %s.%s: %w", m.Namespace, m.RelationName, err)
			}
			col.Kind, col.Fields = kind, fields
			if kind == schema.KindUnknown {
				s.warnUnmapped(t, col)
			}
		}
	}
	rows, err := s.sql.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid, a.attnotnull,
		coalesce(a.attnum = ANY (i.indkey), false)
		FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped`, m.RelationID)
	if err != nil {
		return nil, fmt.Errorf("describing table %s.%s: %w", m.Namespace, m.RelationName, err)
	}
	type cat struct {
		typ     string
		oid     uint32
		notNull bool
		pk      bool
	}
	byName := map[string]cat{}
	anyPK := false
	for rows.Next() {
		var name string
		var c cat
		if err := rows.Scan(&name, &c.typ, &c.oid, &c.notNull, &c.pk); err != nil {
			return nil, fmt.Errorf("describing table %s.%s: %w", m.Namespace, m.RelationName, err)
		}
		byName[name] = c
		anyPK = anyPK || c.pk
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describing table %s.%s: %w", m.Namespace, m.RelationName, err)
	}
	if !anyPK && m.ReplicaIdentity == 'f' {
		// REPLICA IDENTITY FULL flags every column; without a primary key
		// the table has no key, and its events have a null key.
		for i := range t.Columns {
			t.Columns[i].Key = false
		}
	}
	for i := range t.Columns {
		col := &t.Columns[i]
		c, ok := byName[col.Name]
		if !ok || c.oid != col.TypeID {
			continue // the table changed since this row was written; keep what the stream says
		}
		col.Nullable = !c.notNull
		if anyPK {
			// The primary key is the event key; under REPLICA IDENTITY FULL
			// the stream flags every column.
			col.Key = c.pk
		}
	}
	return t, nil
}

// kindOfType resolves the kind of a type kindOf does not know from the
// catalog: a domain has its base type's kind (domains over domains too),
// a user enum is KindEnum, hstore is KindJSON (decoded to a JSON object),
// PostGIS's geometry and geography KindJSON ({"srid", "wkb"}),
// a composite type KindJSON with its attributes as fields (decoded to a
// JSON object of them). Domains over money or arrays, ranges of other
// types and other extension types stay KindUnknown: their text form.
// depth bounds composites nested in composites.
func (s *Source) kindOfType(ctx context.Context, oid uint32, depth int) (schema.Kind, []schema.Column, error) {
	for range 10 { // domain chains are short; a cycle cannot exist
		var typtype, typname string
		var base, relid uint32
		err := s.sql.QueryRow(ctx, "SELECT typtype::text, typbasetype, typname::text, typrelid FROM pg_type WHERE oid = $1", oid).Scan(&typtype, &base, &typname, &relid)
		if err != nil {
			return schema.KindUnknown, nil, fmt.Errorf("reading type %d: %w", oid, err)
		}
		switch {
		case typtype == "d":
			if k := kindOf(base); k != schema.KindUnknown {
				if base == oidMoney || k == schema.KindArray {
					return schema.KindUnknown, nil, nil // decoded by their own OID
				}
				return k, nil, nil
			}
			oid = base
			continue
		case typtype == "e":
			return schema.KindEnum, nil, nil
		case typtype == "b" && (typname == "hstore" || typname == "geometry" || typname == "geography"):
			return schema.KindJSON, nil, nil
		case typtype == "c" && depth < maxCompositeDepth:
			fields, err := s.compositeFields(ctx, relid, depth+1)
			if err != nil {
				return schema.KindUnknown, nil, fmt.Errorf("reading composite type %s: %w", typname, err)
			}
			return schema.KindJSON, fields, nil
		}
		return schema.KindUnknown, nil, nil
	}
	return schema.KindUnknown, nil, nil
}

// maxCompositeDepth bounds composite types nested in composite types;
// deeper ones keep their text.
const maxCompositeDepth = 8

// compositeFields lists a composite type's attributes (its pg_class
// relid's columns), each typed as a table column of that type would be.
func (s *Source) compositeFields(ctx context.Context, relid uint32, depth int) ([]schema.Column, error) {
	rows, err := s.sql.Query(ctx, `SELECT attname::text, atttypid, format_type(atttypid, atttypmod)
		FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, relid)
	if err != nil {
		return nil, err
	}
	var fields []schema.Column
	for rows.Next() {
		var f schema.Column
		if err := rows.Scan(&f.Name, &f.TypeID, &f.Type); err != nil {
			rows.Close()
			return nil, err
		}
		f.Kind, f.Nullable = kindOf(f.TypeID), true
		fields = append(fields, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range fields {
		if f := &fields[i]; f.Kind == schema.KindUnknown {
			if f.Kind, f.Fields, err = s.kindOfType(ctx, f.TypeID, depth); err != nil {
				return nil, err
			}
		}
	}
	return fields, nil
}

// warnUnmapped logs, once per column and process, that a column's type has
// no mapping: its values travel as Postgres's text form.
func (s *Source) warnUnmapped(t *schema.Table, col *schema.Column) {
	key := t.ID() + "." + col.Name + ":" + col.Type
	if _, seen := s.unmapped.LoadOrStore(key, true); seen {
		return
	}
	s.log.Warn("column type has no mapping; its values are Postgres's text form, as strings", "table", t.ID(), "column", col.Name, "type", col.Type)
}
