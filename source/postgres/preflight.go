package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cdc-go/cdc/source"
)

// Order compares LSNs for the pipeline's replay marking (`cdc positions
// set`); it holds no state.
type Order struct{}

// Covers reports whether the transaction b begins ends before until: its
// commit record (the Begin's CommitPos) lies before until, which is the
// end of a committed transaction or a keepalive position. A Begin without a
// commit position is not covered.
func (Order) Covers(until source.Position, b *source.Begin) bool {
	u, ok1 := until.(LSN)
	c, ok2 := b.CommitPos.(LSN)
	return ok1 && ok2 && c < u
}

// Reached reports whether pos is at or after until.
func (Order) Reached(until, pos source.Position) bool {
	u, ok1 := until.(LSN)
	p, ok2 := pos.(LSN)
	return ok1 && ok2 && p >= u
}

// SlotState is what the server says about the connector's slot.
type SlotState struct {
	// Confirmed is the slot's confirmed_flush_lsn: a logical slot streams
	// only what commits after it, and it never moves back.
	Confirmed LSN
	// Current is the server's current WAL write position.
	Current LSN
}

// CheckAvailable reports whether a stream on the configured slot can start
// at to on server srv, for `cdc positions set`: the server must be srv, the
// slot must exist, to must not be before the slot's confirmed position
// (error wrapping ErrSlotAhead) nor after the server's current WAL
// position. It returns the slot's state either way (zero when unknown) and
// changes nothing on the server.
func CheckAvailable(ctx context.Context, cfg Config, srv source.Server, to LSN) (SlotState, error) {
	conn, err := connectSQL(ctx, cfg.DSN)
	if err != nil {
		return SlotState{}, err
	}
	defer conn.Close(context.Background())
	var sysID, db, current string
	if err := conn.QueryRow(ctx, "SELECT (SELECT system_identifier::text FROM pg_control_system()), current_database(), pg_current_wal_lsn()::text").Scan(&sysID, &db, &current); err != nil {
		return SlotState{}, fmt.Errorf("reading the server's identity: %w", err)
	}
	var st SlotState
	if st.Current, err = ParseLSN(current); err != nil {
		return SlotState{}, err
	}
	if here := (source.Server{Type: "postgres", ID: sysID + "/" + db}); srv != here {
		return st, fmt.Errorf("the checkpoint belongs to %s server %q, but source.dsn points at postgres server %q", srv.Type, srv.ID, here.ID)
	}
	var text *string
	err = conn.QueryRow(ctx, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", cfg.Slot).Scan(&text)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("replication slot %q does not exist: no position can be streamed from it: %w", cfg.Slot, ErrSlotMissing)
	}
	if err != nil {
		return st, fmt.Errorf("reading replication slot %q: %w", cfg.Slot, err)
	}
	if text != nil {
		if st.Confirmed, err = ParseLSN(*text); err != nil {
			return st, err
		}
	}
	switch {
	case to < st.Confirmed:
		return st, fmt.Errorf("replication slot %q has confirmed %s, and a logical replication slot cannot go back before its confirmed position: the changes before it are no longer available from the slot, so position %s cannot be streamed again: %w",
			cfg.Slot, st.Confirmed, to, ErrSlotAhead)
	case to > st.Current:
		return st, fmt.Errorf("position %s is after the server's current WAL position %s: it belongs to another server or a newer copy of this one", to, st.Current)
	}
	return st, nil
}
