package postgres

import (
	"context"
	"fmt"

	"github.com/cdc-go/cdc/schema"
)

// CatalogTables returns the captured tables (those cfg.Tables matches) as
// the catalog describes them now: column names, native types and primary
// key, in column order. Kinds are not resolved: the result is for checking
// a configuration against the tables (`cdc check`), not for decoding. It
// connects once and changes nothing on the server.
func CatalogTables(ctx context.Context, cfg Config) ([]*schema.Table, error) {
	conn, err := connectSQL(ctx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT n.nspname::text, c.relname::text, a.attname::text,
			format_type(a.atttypid, a.atttypmod), coalesce(a.attnum = ANY(i.indkey), false)
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			AND n.nspname NOT LIKE 'pg_toast%'
		ORDER BY 1, 2, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("reading table columns: %w", err)
	}
	defer rows.Close()
	byName := map[tableName]*schema.Table{}
	var all []tableName
	for rows.Next() {
		var tn tableName
		var col schema.Column
		if err := rows.Scan(&tn.schema, &tn.name, &col.Name, &col.Type, &col.Key); err != nil {
			return nil, fmt.Errorf("reading table columns: %w", err)
		}
		t := byName[tn]
		if t == nil {
			t = &schema.Table{Namespace: tn.schema, Name: tn.name}
			byName[tn] = t
			all = append(all, tn)
		}
		t.Columns = append(t.Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading table columns: %w", err)
	}
	matched, _ := matchTables(cfg.Tables, all)
	out := make([]*schema.Table, len(matched))
	for i, tn := range matched {
		out[i] = byName[tn]
	}
	return out, nil
}
