package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cdc-go/cdc/source"
)

// Plan reports, without changing anything, what Open would create or alter
// on the server for cfg (the slot, the publication and its tables), the
// prerequisites `cdc check` reports, and drift: cdc's slots and
// publications in this database that no connector of this name uses (an
// inactive cdc_ slot retains WAL for ever).
func Plan(ctx context.Context, cfg Config) ([]source.PlanStep, []Problem, error) {
	conn, err := connectSQL(ctx, cfg.DSN)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close(context.Background())
	probs, st, err := check(ctx, conn, cfg)
	if err != nil {
		return nil, probs, err
	}
	var steps []source.PlanStep
	add := func(kind source.PlanKind, object, sql, format string, args ...any) {
		steps = append(steps, source.PlanStep{Kind: kind, Object: object, Detail: fmt.Sprintf(format, args...), SQL: sql})
	}
	slot := "slot " + cfg.Slot
	if st.slotExists {
		var confirmed, walStatus string
		err := conn.QueryRow(ctx, `SELECT coalesce(confirmed_flush_lsn::text, ''), coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = $1`, cfg.Slot).Scan(&confirmed, &walStatus)
		if err != nil {
			return nil, probs, fmt.Errorf("reading replication slot %q: %w", cfg.Slot, err)
		}
		add(source.PlanKeep, slot, "", "exists (confirmed up to %s, wal_status %s)", confirmed, walStatus)
	} else if cfg.CreateSlot {
		add(source.PlanCreate, slot, fmt.Sprintf("SELECT pg_create_logical_replication_slot('%s', 'pgoutput')", cfg.Slot),
			"logical slot decoding with pgoutput, in database %q; streaming starts at its position", st.db)
	}
	pub := "publication " + cfg.Publication
	switch {
	case !st.pub.exists && cfg.CreatePublication:
		add(source.PlanCreate, pub, createPublicationSQL(cfg.Publication, st.want), "%s", describeMembers(st.want))
	case !st.pub.exists:
		// check reports it: create_publication is false.
	case !st.pub.managed:
		add(source.PlanKeep, pub, "", "exists and is not cdc's: used as it is (%d tables published)", len(st.pub.published))
	case st.want.equal(st.pub):
		add(source.PlanKeep, pub, "", "exists: %s", describeMembers(st.want))
	default:
		stmts := alterPublicationSQL(cfg.Publication, st.pub, st.want)
		add(source.PlanAlter, pub, strings.Join(stmts, "; "), "%s", describeChange(st.pub, st.want))
	}
	drift, err := planDrift(ctx, conn, cfg, st.db)
	if err != nil {
		return nil, probs, err
	}
	return append(steps, drift...), probs, nil
}

// describeMembers says what a publication with members m publishes.
func describeMembers(m members) string {
	var parts []string
	if len(m.schemas) > 0 {
		parts = append(parts, "tables in schema "+strings.Join(m.schemas, ", "))
	}
	if len(m.tables) > 0 {
		names := make([]string, len(m.tables))
		for i, t := range m.tables {
			names[i] = t.String()
		}
		parts = append(parts, "tables "+source.Abbreviate(names, maxListed))
	}
	if len(parts) == 0 {
		return "no table yet"
	}
	return "publishes " + strings.Join(parts, "; ")
}

// describeChange lists the tables and schemas want adds to and drops from p.
func describeChange(p publication, want members) string {
	has := map[string]bool{}
	for _, t := range p.tables {
		has["table "+t.String()] = true
	}
	for _, s := range p.schemas {
		has["schema "+s] = true
	}
	wants := map[string]bool{}
	var added, dropped []string
	for _, t := range want.tables {
		wants["table "+t.String()] = true
	}
	for _, s := range want.schemas {
		wants["schema "+s] = true
	}
	for _, k := range sortedKeys(wants) {
		if !has[k] {
			added = append(added, k)
		}
	}
	for _, k := range sortedKeys(has) {
		if !wants[k] {
			dropped = append(dropped, k)
		}
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "adds "+source.Abbreviate(added, maxListed))
	}
	if len(dropped) > 0 {
		parts = append(parts, "drops "+source.Abbreviate(dropped, maxListed))
	}
	if len(parts) == 0 {
		return "changes its members to match source.tables"
	}
	return strings.Join(parts, "; ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// planDrift finds cdc's slots and publications in this database that this
// connector does not use: inactive logical slots named cdc_* (they retain
// WAL until dropped) and publications named cdc_* that no slot of the same
// name reads (cdc names both after the connector).
func planDrift(ctx context.Context, conn *pgx.Conn, cfg Config, db string) ([]source.PlanStep, error) {
	var steps []source.PlanStep
	rows, err := conn.Query(ctx, `SELECT slot_name::text, active, coalesce(pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)), '?')
		FROM pg_replication_slots WHERE slot_type = 'logical' AND database = current_database() AND slot_name LIKE 'cdc\_%' AND slot_name <> $1 ORDER BY 1`, cfg.Slot)
	if err != nil {
		return nil, fmt.Errorf("listing replication slots: %w", err)
	}
	slots := map[string]bool{}
	for rows.Next() {
		var name, retained string
		var active bool
		if err := rows.Scan(&name, &active, &retained); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing replication slots: %w", err)
		}
		slots[name] = true
		if !active {
			steps = append(steps, source.PlanStep{Kind: source.PlanDrift, Object: "slot " + name,
				Detail: fmt.Sprintf("inactive and retains %s of WAL; drop it if no connector uses it any more", retained),
				SQL:    fmt.Sprintf("SELECT pg_drop_replication_slot('%s')", name)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing replication slots: %w", err)
	}
	rows, err = conn.Query(ctx, `SELECT pubname::text FROM pg_publication WHERE pubname LIKE 'cdc\_%' AND pubname <> $1 ORDER BY 1`, cfg.Publication)
	if err != nil {
		return nil, fmt.Errorf("listing publications: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("listing publications: %w", err)
		}
		var inUse bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)", name).Scan(&inUse); err != nil {
			return nil, fmt.Errorf("listing publications: %w", err)
		}
		if !inUse && !slots[name] {
			steps = append(steps, source.PlanStep{Kind: source.PlanDrift, Object: "publication " + name,
				Detail: fmt.Sprintf("no slot of the same name in database %q reads it; drop it if no connector uses it any more", db),
				SQL:    "DROP PUBLICATION " + pgx.Identifier{name}.Sanitize()})
		}
	}
	return steps, rows.Err()
}
