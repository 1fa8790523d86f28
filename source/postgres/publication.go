package postgres

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pubMarker starts the comment cdc puts on the publications it creates.
// Only a publication carrying it is changed by cdc (and only while
// source.create_publication is true); any other is used as it is.
const pubMarker = "managed by cdc"

// publication is what the catalog says about the configured publication.
type publication struct {
	exists    bool
	marked    bool // created by cdc (pubMarker)
	managed   bool // marked and create_publication is true
	allTables bool // FOR ALL TABLES
	// schemas and tables are its members: FOR TABLES IN SCHEMA and FOR TABLE.
	schemas []string
	tables  []tableName
	// filtered are member tables with a row filter or a column list.
	filtered map[tableName]bool
	// published is every table it publishes (pg_publication_tables).
	published map[tableName]bool
	// ops are the operations it publishes that are off ("delete", ...).
	opsOff []string
}

// readPublication reads the publication named name; version is
// server_version_num (schema publications exist from 15 on).
func readPublication(ctx context.Context, conn *pgx.Conn, name string, version int, create bool) (publication, error) {
	p := publication{filtered: map[tableName]bool{}, published: map[tableName]bool{}}
	var oid uint32
	var ins, upd, del, trunc bool
	var comment string
	err := conn.QueryRow(ctx, `SELECT oid, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate,
		coalesce(obj_description(oid, 'pg_publication'), '') FROM pg_publication WHERE pubname = $1`, name).
		Scan(&oid, &p.allTables, &ins, &upd, &del, &trunc, &comment)
	if err == pgx.ErrNoRows {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("reading publication %q: %w", name, err)
	}
	p.exists = true
	p.marked = strings.HasPrefix(comment, pubMarker)
	p.managed = create && p.marked
	for op, on := range map[string]bool{"insert": ins, "update": upd, "delete": del, "truncate": trunc} {
		if !on {
			p.opsOff = append(p.opsOff, op)
		}
	}
	sort.Strings(p.opsOff)

	filters := "false, false"
	if version >= 150000 {
		filters = "pr.prqual IS NOT NULL, pr.prattrs IS NOT NULL"
	}
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname, `+filters+`
		FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE pr.prpubid = $1`, oid)
	if err != nil {
		return p, fmt.Errorf("reading publication %q: %w", name, err)
	}
	for rows.Next() {
		var t tableName
		var rowFilter, colList bool
		if err := rows.Scan(&t.schema, &t.name, &rowFilter, &colList); err != nil {
			return p, fmt.Errorf("reading publication %q: %w", name, err)
		}
		p.tables = append(p.tables, t)
		if rowFilter || colList {
			p.filtered[t] = true
		}
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("reading publication %q: %w", name, err)
	}
	if version >= 150000 {
		rows, err := conn.Query(ctx, `SELECT n.nspname FROM pg_publication_namespace pn
			JOIN pg_namespace n ON n.oid = pn.pnnspid WHERE pn.pnpubid = $1`, oid)
		if err != nil {
			return p, fmt.Errorf("reading publication %q: %w", name, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return p, fmt.Errorf("reading publication %q: %w", name, err)
			}
			p.schemas = append(p.schemas, s)
		}
		if err := rows.Err(); err != nil {
			return p, fmt.Errorf("reading publication %q: %w", name, err)
		}
	}
	p.published, err = publishedTables(ctx, conn, name)
	return p, err
}

// publishedTables returns every table the publication publishes, whether
// listed, in a listed schema or FOR ALL TABLES.
func publishedTables(ctx context.Context, conn *pgx.Conn, name string) (map[tableName]bool, error) {
	out := map[tableName]bool{}
	rows, err := conn.Query(ctx, "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1", name)
	if err != nil {
		return nil, fmt.Errorf("reading the tables of publication %q: %w", name, err)
	}
	for rows.Next() {
		var t tableName
		if err := rows.Scan(&t.schema, &t.name); err != nil {
			return nil, fmt.Errorf("reading the tables of publication %q: %w", name, err)
		}
		out[t] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the tables of publication %q: %w", name, err)
	}
	return out, nil
}

// members is what a publication cdc manages should contain: every schema
// that a pattern covers whole ("public.*") as FOR TABLES IN SCHEMA, when the
// server and role allow it, so that tables created later are published
// from their first row; the other matched tables as FOR TABLE.
type members struct {
	schemas []string
	tables  []tableName
}

func wantedMembers(patterns []string, matched []tableName, existingSchemas map[string]bool, schemaPubs bool) members {
	var m members
	in := map[string]bool{}
	if schemaPubs {
		for _, s := range wholeSchemas(patterns) {
			if existingSchemas[s] && !in[s] {
				in[s] = true
				m.schemas = append(m.schemas, s)
			}
		}
	}
	for _, t := range matched {
		if !in[t.schema] {
			m.tables = append(m.tables, t)
		}
	}
	sort.Strings(m.schemas)
	sort.Slice(m.tables, func(i, j int) bool { return m.tables[i].String() < m.tables[j].String() })
	return m
}

// wholeSchemas returns the schemas of the patterns "schema.*" whose schema
// part has no glob character.
func wholeSchemas(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		s, ok := strings.CutSuffix(p, ".*")
		if ok && s != "" && !strings.ContainsAny(s, `*?[\`) {
			out = append(out, s)
		}
	}
	return out
}

func (m members) equal(p publication) bool {
	a := append([]string(nil), p.schemas...)
	sort.Strings(a)
	return !p.allTables && strings.Join(a, "\x00") == strings.Join(m.schemas, "\x00") && sameTables(m.tables, p.tables)
}

// sql renders the members as publication objects: "TABLES IN SCHEMA a, b,
// TABLE x, y"; empty when there are none.
func (m members) sql() string {
	var parts []string
	if len(m.schemas) > 0 {
		q := make([]string, len(m.schemas))
		for i, s := range m.schemas {
			q[i] = pgx.Identifier{s}.Sanitize()
		}
		parts = append(parts, "TABLES IN SCHEMA "+strings.Join(q, ", "))
	}
	if len(m.tables) > 0 {
		parts = append(parts, "TABLE "+joinQuoted(m.tables))
	}
	return strings.Join(parts, ", ")
}

// createPublicationSQL is the statement that creates the publication with
// the given members.
func createPublicationSQL(name string, m members) string {
	q := "CREATE PUBLICATION " + pgx.Identifier{name}.Sanitize()
	if objs := m.sql(); objs != "" {
		q += " FOR " + objs
	}
	return q
}

// alterPublicationSQL returns the statements that turn the publication p
// into one with members m.
func alterPublicationSQL(name string, p publication, m members) []string {
	pub := pgx.Identifier{name}.Sanitize()
	if objs := m.sql(); objs != "" {
		return []string{"ALTER PUBLICATION " + pub + " SET " + objs}
	}
	// SET needs at least one object: drop the members instead.
	var out []string
	if len(p.tables) > 0 {
		out = append(out, "ALTER PUBLICATION "+pub+" DROP TABLE "+joinQuoted(p.tables))
	}
	if len(p.schemas) > 0 {
		q := make([]string, len(p.schemas))
		for i, s := range p.schemas {
			q[i] = pgx.Identifier{s}.Sanitize()
		}
		out = append(out, "ALTER PUBLICATION "+pub+" DROP TABLES IN SCHEMA "+strings.Join(q, ", "))
	}
	return out
}

// explicitTables reports which matched tables a pattern without glob
// characters names.
func explicitTables(patterns []string, matched []tableName) map[tableName]bool {
	out := map[tableName]bool{}
	for _, p := range patterns {
		if strings.ContainsAny(p, `*?[\`) {
			continue
		}
		for _, t := range matched {
			if t.String() == p {
				out[t] = true
			}
		}
	}
	return out
}

// matchesAny reports whether the table matches one of the patterns.
func matchesAny(patterns []string, t tableName) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, t.String()); ok {
			return true
		}
	}
	return false
}

// pollTables looks for tables that match source.tables but that the
// replication stream does not carry yet, typically tables created since
// the connector started. A publication cdc manages gets them added
// (ALTER PUBLICATION ... ADD TABLE): their rows are captured from then on,
// and rows written between CREATE TABLE and the addition are not (there
// is no snapshot yet), which the log line says. A schema or all-tables
// publication publishes them by itself from their first row. A publication
// cdc did not create is never changed: each such table gets a warning.
//
// It runs on the goroutine of Stream, which owns the catalog connection.
func (s *Source) pollTables(ctx context.Context) error {
	rows, err := s.sql.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)
	if err != nil {
		return fmt.Errorf("looking for new tables: %w", err)
	}
	var all []tableName
	for rows.Next() {
		var t tableName
		if err := rows.Scan(&t.schema, &t.name); err != nil {
			return fmt.Errorf("looking for new tables: %w", err)
		}
		all = append(all, t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("looking for new tables: %w", err)
	}
	matched, _ := matchTables(s.cfg.Tables, all)
	published, err := publishedTables(ctx, s.sql, s.cfg.Publication)
	if err != nil {
		return err
	}
	known := map[tableName]bool{}
	for _, t := range s.tables {
		known[t] = true
	}
	if s.unpublished == nil {
		s.unpublished = map[tableName]bool{}
	}
	pub := pgx.Identifier{s.cfg.Publication}.Sanitize()
	for _, t := range matched {
		fix := fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE %s;", pub, t.quoted())
		switch {
		case published[t]:
			if !known[t] {
				s.log.Info("table added", "table", t.String(), "publication", s.cfg.Publication,
					"captured", "from its first row (the publication covers its schema or all tables)")
			}
		case s.unpublished[t]:
			// Reported already.
		case !s.pubManaged:
			s.unpublished[t] = true
			s.log.Warn("table matches source.tables but the publication does not publish it, and cdc does not change this publication (not created by cdc, or source.create_publication is false): its changes are not captured",
				"table", t.String(), "publication", s.cfg.Publication, "fix", fix)
		default:
			if _, err := s.sql.Exec(ctx, "ALTER PUBLICATION "+pub+" ADD TABLE "+t.quoted()); err != nil {
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: dropped meanwhile
					continue
				}
				s.unpublished[t] = true
				s.log.Warn("table matches source.tables but cannot be added to the publication: its changes are not captured",
					"table", t.String(), "publication", s.cfg.Publication, "error", err, "fix", fix)
				continue
			}
			s.log.Info("table added", "table", t.String(), "publication", s.cfg.Publication,
				"captured", "from now on; rows written to it before are not captured (no snapshot)")
		}
		if !known[t] {
			known[t] = true
			s.tables = append(s.tables, t)
		}
	}
	return nil
}
