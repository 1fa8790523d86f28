package mysql

import (
	"context"
	"fmt"

	"github.com/cdc-go/cdc/schema"
)

// CatalogTables returns the captured tables (those cfg.Tables matches) as
// information_schema describes them now: column names, native types and
// primary key, in column order. Kinds are not resolved: the result is for
// checking a configuration against the tables (`cdc check`), not for
// decoding. It changes nothing on the server.
func CatalogTables(ctx context.Context, cfg Config) ([]*schema.Table, error) {
	db, _, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.COLUMN_KEY = 'PRI'
		FROM information_schema.COLUMNS c
		JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
		WHERE t.TABLE_TYPE = 'BASE TABLE' AND c.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
		ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`)
	if err != nil {
		return nil, fmt.Errorf("reading table columns: %w", err)
	}
	defer rows.Close()
	byName := map[string]*schema.Table{}
	var all []string
	for rows.Next() {
		var db, name string
		var col schema.Column
		if err := rows.Scan(&db, &name, &col.Name, &col.Type, &col.Key); err != nil {
			return nil, fmt.Errorf("reading table columns: %w", err)
		}
		id := db + "." + name
		t := byName[id]
		if t == nil {
			t = &schema.Table{Namespace: db, Name: name}
			byName[id] = t
			all = append(all, id)
		}
		t.Columns = append(t.Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading table columns: %w", err)
	}
	matched, _ := matchTables(cfg.Tables, all)
	out := make([]*schema.Table, len(matched))
	for i, id := range matched {
		out[i] = byName[id]
	}
	return out, nil
}
