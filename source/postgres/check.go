package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cdc-go/cdc/source"
)

// state is what check learned about the server.
type state struct {
	systemID string
	db       string
	tables   []tableName
	pub      publication
	// want is what the publication should hold when cdc manages it.
	want       members
	slotExists bool
}

// Check connects and reports every unmet prerequisite with its fix, for
// `cdc check`. It changes nothing on the server.
func Check(ctx context.Context, cfg Config) ([]Problem, error) {
	conn, err := connectSQL(ctx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	probs, _, err := check(ctx, conn, cfg)
	return probs, err
}

// maxListed caps the names one problem lists.
const maxListed = 20

func check(ctx context.Context, conn *pgx.Conn, cfg Config) ([]Problem, state, error) {
	var st state
	var probs []Problem
	add := func(warn bool, fix, format string, args ...any) {
		probs = append(probs, Problem{Message: fmt.Sprintf(format, args...), Fix: fix, Warning: warn})
	}

	var walLevel, user string
	var replication, super, canCreate bool
	var maxSlots, usedSlots, version int
	var schemas []string
	err := conn.QueryRow(ctx, `SELECT current_setting('wal_level'), current_user, current_database(),
		(SELECT system_identifier::text FROM pg_control_system()),
		r.rolreplication, r.rolsuper, has_database_privilege(current_database(), 'CREATE'),
		current_setting('max_replication_slots')::int, (SELECT count(*) FROM pg_replication_slots),
		current_setting('server_version_num')::int, (SELECT array_agg(nspname::text) FROM pg_namespace)
		FROM pg_roles r WHERE r.rolname = current_user`).
		Scan(&walLevel, &user, &st.db, &st.systemID, &replication, &super, &canCreate, &maxSlots, &usedSlots, &version, &schemas)
	if err != nil {
		return nil, st, fmt.Errorf("reading server settings: %w", err)
	}
	if walLevel != "logical" {
		add(false, "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL",
			"wal_level is %q, logical decoding needs \"logical\"", walLevel)
	}
	if !replication && !super {
		add(false, fmt.Sprintf("ALTER ROLE %s WITH REPLICATION;", pgx.Identifier{user}.Sanitize()),
			"role %q lacks the REPLICATION attribute", user)
	}

	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname, c.relreplident::text,
		EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
		pg_has_role(c.relowner, 'USAGE')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)
	if err != nil {
		return nil, st, fmt.Errorf("listing tables: %w", err)
	}
	type tinfo struct {
		ident string
		hasPK bool
		owned bool
	}
	info := map[tableName]tinfo{}
	var all []tableName
	for rows.Next() {
		var t tableName
		var ti tinfo
		if err := rows.Scan(&t.schema, &t.name, &ti.ident, &ti.hasPK, &ti.owned); err != nil {
			return nil, st, fmt.Errorf("listing tables: %w", err)
		}
		info[t] = ti
		all = append(all, t)
	}
	if err := rows.Err(); err != nil {
		return nil, st, fmt.Errorf("listing tables: %w", err)
	}
	var unmatched []string
	st.tables, unmatched = matchTables(cfg.Tables, all)
	var missing []string
	for _, p := range unmatched {
		if strings.ContainsAny(p, "*?[") {
			add(true, "", "source.tables: pattern %q matches no table yet", p)
		} else {
			missing = append(missing, strconv.Quote(p))
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		add(false, "create the table, or remove it from source.tables", "source.tables: table %s does not exist in database %q", missing[0], st.db)
	default:
		add(false, "create the tables, or remove them from source.tables", "source.tables: %d tables do not exist in database %q: %s", len(missing), st.db, source.Abbreviate(missing, maxListed))
	}
	if len(st.tables) == 0 && len(unmatched) == 0 {
		add(false, "list at least one existing table in source.tables", "source.tables matches no table")
	}
	for _, t := range st.tables {
		ti := info[t]
		switch {
		case ti.ident == "n":
			add(true, fmt.Sprintf("ALTER TABLE %s REPLICA IDENTITY FULL;", t.quoted()),
				"table %s has REPLICA IDENTITY NOTHING: its updates and deletes cannot be captured", t)
		case ti.ident == "d" && !ti.hasPK:
			add(true, fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (...); or ALTER TABLE %s REPLICA IDENTITY FULL;", t.quoted(), t.quoted()),
				"table %s has no primary key: its updates and deletes fail while it is published, and its events have no key", t)
		}
	}

	existing := map[string]bool{}
	for _, n := range schemas {
		existing[n] = true
	}
	// FOR TABLES IN SCHEMA needs PostgreSQL 15 and a superuser.
	st.want = wantedMembers(cfg.Tables, st.tables, existing, version >= 150000 && super)
	st.pub, err = readPublication(ctx, conn, cfg.Publication, version, cfg.CreatePublication)
	if err != nil {
		return nil, st, err
	}
	createPub := createPublicationSQL(cfg.Publication, st.want) + ";"
	switch {
	case st.pub.exists && !st.pub.managed:
		probs = append(probs, foreignPublication(cfg, st)...)
	case st.pub.exists:
		// cdc created it and keeps it in line with source.tables.
	case !cfg.CreatePublication:
		add(false, createPub, "publication %q does not exist and source.create_publication is false", cfg.Publication)
	case !super && !canCreate:
		add(false, fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s; or have the table owner run %s",
			pgx.Identifier{st.db}.Sanitize(), pgx.Identifier{user}.Sanitize(), createPub),
			"role %q may not create publication %q", user, cfg.Publication)
	case !super:
		for _, t := range st.tables {
			if !info[t].owned {
				add(false, "have the table owner run "+createPub,
					"role %q does not own table %s and so cannot publish it", user, t)
			}
		}
	}

	var plugin, slotDB, slotType string
	var active bool
	err = conn.QueryRow(ctx, "SELECT coalesce(plugin, ''), coalesce(database, ''), active, slot_type FROM pg_replication_slots WHERE slot_name = $1", cfg.Slot).Scan(&plugin, &slotDB, &active, &slotType)
	switch {
	case err == pgx.ErrNoRows:
		if !cfg.CreateSlot {
			add(false, fmt.Sprintf("SELECT pg_create_logical_replication_slot('%s', 'pgoutput');", cfg.Slot),
				"replication slot %q does not exist and source.create_slot is false", cfg.Slot)
		} else if usedSlots >= maxSlots {
			add(false, "ALTER SYSTEM SET max_replication_slots = <more>; then restart PostgreSQL, or drop an unused slot",
				"all %d replication slots are in use, none left for slot %q", maxSlots, cfg.Slot)
		}
	case err != nil:
		return nil, st, fmt.Errorf("reading replication slot %q: %w", cfg.Slot, err)
	default:
		st.slotExists = true
		if slotType == "physical" {
			add(false, "choose another source.slot (cdc creates a logical one); the physical slot probably serves a standby, so drop it only if nothing uses it",
				"replication slot %q is a physical slot, not a logical one decoding with pgoutput", cfg.Slot)
			break
		}
		if plugin != "pgoutput" {
			add(false, fmt.Sprintf("choose another source.slot, or SELECT pg_drop_replication_slot('%s');", cfg.Slot),
				"replication slot %q uses plugin %q, not pgoutput", cfg.Slot, plugin)
		}
		if slotDB != st.db {
			add(false, "choose another source.slot", "replication slot %q belongs to database %q, not %q", cfg.Slot, slotDB, st.db)
		}
		if active {
			add(true, "stop the other consumer of the slot (another cdc instance with the same name is fenced and stops by itself)",
				"replication slot %q is in use by another connection; replication waits for it", cfg.Slot)
		}
	}
	return probs, st, nil
}

// foreignPublication checks a publication cdc did not create, which cdc
// uses as it is and never changes: a table named in source.tables that it
// does not publish stops the connector; a table only a glob matches is a
// warning, as are filters and operations it leaves out.
func foreignPublication(cfg Config, st state) []Problem {
	var probs []Problem
	pub := pgx.Identifier{cfg.Publication}.Sanitize()
	explicit := explicitTables(cfg.Tables, st.tables)
	why := "not created by cdc, so cdc does not change it"
	if st.pub.marked {
		why = "source.create_publication is false, so cdc does not change it"
	}
	for _, t := range st.tables {
		fix := fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE %s;", pub, t.quoted())
		switch {
		case !st.pub.published[t] && explicit[t]:
			probs = append(probs, Problem{Fix: fix, Message: fmt.Sprintf(
				"publication %q (%s) does not publish table %s of source.tables", cfg.Publication, why, t)})
		case !st.pub.published[t]:
			probs = append(probs, Problem{Warning: true, Fix: fix, Message: fmt.Sprintf(
				"publication %q (%s) does not publish table %s, which source.tables matches: its changes are not captured", cfg.Publication, why, t)})
		case st.pub.filtered[t]:
			probs = append(probs, Problem{Warning: true, Message: fmt.Sprintf(
				"publication %q publishes table %s with a row filter or a column list: rows or columns it leaves out are not captured", cfg.Publication, t)})
		}
	}
	if len(st.pub.opsOff) > 0 {
		probs = append(probs, Problem{Warning: true,
			Fix:     fmt.Sprintf("ALTER PUBLICATION %s SET (publish = 'insert, update, delete, truncate');", pub),
			Message: fmt.Sprintf("publication %q does not publish %s: those changes are not captured", cfg.Publication, strings.Join(st.pub.opsOff, ", "))})
	}
	return probs
}
