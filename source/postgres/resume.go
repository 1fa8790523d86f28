package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cdc-go/cdc/source"
)

// CheckCheckpoint reports, for `cdc check`, what would stop `cdc run` from
// resuming at the checkpoint cp of server srv: a checkpoint of another
// server, a slot that has confirmed more than cp (the changes between are
// gone), or a missing slot (a new one would start after them). It changes
// nothing on the server.
func CheckCheckpoint(ctx context.Context, cfg Config, srv source.Server, cp LSN) ([]Problem, error) {
	conn, err := connectSQL(ctx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	var sysID, db string
	if err := conn.QueryRow(ctx, "SELECT (SELECT system_identifier::text FROM pg_control_system()), current_database()").Scan(&sysID, &db); err != nil {
		return nil, fmt.Errorf("reading the server's identity: %w", err)
	}
	if here := (source.Server{Type: "postgres", ID: sysID + "/" + db}); srv != here {
		return []Problem{{
			Message: fmt.Sprintf("the checkpoint belongs to %s server %q, but source.dsn points at postgres server %q", srv.Type, srv.ID, here.ID),
			Fix:     "use another connector name for another server, or delete the checkpoint to start over",
		}}, nil
	}
	var text *string
	var walStatus string
	err = conn.QueryRow(ctx, "SELECT confirmed_flush_lsn::text, coalesce(to_jsonb(s)->>'wal_status', '') FROM pg_replication_slots s WHERE slot_name = $1", cfg.Slot).Scan(&text, &walStatus)
	if errors.Is(err, pgx.ErrNoRows) {
		return []Problem{{
			Message: fmt.Sprintf("replication slot %q does not exist, but the checkpoint in Kafka is at %s: a new slot starts at the server's current position, after the changes since the checkpoint", cfg.Slot, cp),
			Fix:     "if the changes since the checkpoint do not matter, delete this connector's checkpoint (a tombstone for its key on the checkpoint topic) and let cdc run create the slot; otherwise they can only be recovered from the tables themselves",
		}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading replication slot %q: %w", cfg.Slot, err)
	}
	if walStatus == "lost" {
		return []Problem{{
			Message: fmt.Sprintf("replication slot %q was invalidated by the server (wal_status lost, max_slot_wal_keep_size exceeded): the changes since the checkpoint %s can no longer be streamed, and cdc run stops at once", cfg.Slot, cp),
			Fix:     fmt.Sprintf("drop the slot (SELECT pg_drop_replication_slot('%s')); with snapshot.mode: when_needed the next start snapshots the tables again, otherwise delete this connector's checkpoint too, accepting the gap", cfg.Slot),
		}}, nil
	}
	if text == nil {
		return nil, nil
	}
	slot, err := ParseLSN(*text)
	if err != nil {
		return nil, err
	}
	if slot > cp {
		return []Problem{{
			Message: fmt.Sprintf("replication slot %q has confirmed %s but the checkpoint in Kafka is %s: the changes between them are no longer available from the slot, and cdc run refuses to start", cfg.Slot, slot, cp),
			Fix:     "delete this connector's checkpoint (a tombstone for its key on the checkpoint topic) to start from the slot's position, accepting the gap; or drop the slot and recover the missing changes from the tables themselves",
		}}, nil
	}
	return nil, nil
}
