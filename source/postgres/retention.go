package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SlotRetention is what the server says about the WAL the slot holds for
// cdc (pg_replication_slots).
type SlotRetention struct {
	// WALStatus is the slot's wal_status: reserved (within max_wal_size),
	// extended (beyond it, still kept), unreserved (beyond
	// max_slot_wal_keep_size: the next checkpoint may remove it) or lost
	// (invalidated). Empty before PostgreSQL 13.
	WALStatus string
	// SafeBytes is safe_wal_size: how much more WAL can be written before
	// the slot is in danger; -1 when max_slot_wal_keep_size is unlimited
	// (or unknown).
	SafeBytes int64
	// MaxKeepBytes is max_slot_wal_keep_size in bytes; -1 for unlimited.
	MaxKeepBytes int64
	// LagBytes is the WAL written after the slot's confirmed position
	// (pg_current_wal_lsn() - confirmed_flush_lsn); RetainedBytes the WAL
	// the slot keeps (pg_current_wal_lsn() - restart_lsn).
	LagBytes      int64
	RetainedBytes int64
}

// Lost reports whether the server invalidated the slot.
func (r SlotRetention) Lost() bool { return r.WALStatus == "lost" }

// retentionSQL reads the slot's retention; to_jsonb keeps it working on
// servers whose pg_replication_slots lacks wal_status and safe_wal_size
// (before 13).
const retentionSQL = `SELECT coalesce(to_jsonb(s)->>'wal_status', ''),
	coalesce((to_jsonb(s)->>'safe_wal_size')::bigint, -1),
	coalesce((pg_current_wal_lsn() - confirmed_flush_lsn)::bigint, 0),
	coalesce((pg_current_wal_lsn() - restart_lsn)::bigint, 0),
	CASE WHEN current_setting('max_slot_wal_keep_size', true) IS NULL
		OR current_setting('max_slot_wal_keep_size', true) = '-1' THEN -1
		ELSE pg_size_bytes(current_setting('max_slot_wal_keep_size', true)) END
FROM pg_replication_slots s WHERE slot_name = $1`

// RetentionProbe reads the slot's retention on a connection of its own, so
// that it can run beside Stream. It is safe for concurrent use; Close it
// when done.
type RetentionProbe struct {
	cfg  Config
	mu   sync.Mutex
	conn *pgx.Conn
}

// NewRetentionProbe returns a probe of cfg's slot; it connects on first use.
func NewRetentionProbe(cfg Config) *RetentionProbe { return &RetentionProbe{cfg: cfg} }

// Slot returns the slot's retention. A slot that does not exist is an
// error wrapping ErrSlotMissing. A lost connection is opened again on the
// next call.
func (p *RetentionProbe) Slot(ctx context.Context) (SlotRetention, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil || p.conn.IsClosed() {
		conn, err := connectSQL(ctx, p.cfg.DSN)
		if err != nil {
			return SlotRetention{}, err
		}
		p.conn = conn
	}
	var r SlotRetention
	err := p.conn.QueryRow(ctx, retentionSQL, p.cfg.Slot).Scan(&r.WALStatus, &r.SafeBytes, &r.LagBytes, &r.RetainedBytes, &r.MaxKeepBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("replication slot %q does not exist any more (was it dropped?): %w", p.cfg.Slot, ErrSlotMissing)
	}
	if err != nil {
		// Connect again next time: the connection may be what failed.
		p.conn.Close(context.Background())
		p.conn = nil
		return r, fmt.Errorf("reading the retention of replication slot %q: %w", p.cfg.Slot, err)
	}
	return r, nil
}

// Close closes the probe's connection.
func (p *RetentionProbe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		return nil
	}
	err := p.conn.Close(context.Background())
	p.conn = nil
	return err
}

// slotLostError is the error for a slot the server invalidated.
func slotLostError(slot string, detail string) error {
	if detail != "" {
		detail = " (" + detail + ")"
	}
	return fmt.Errorf("replication slot %q was invalidated by the server%s: the WAL from the checkpoint on was removed (max_slot_wal_keep_size), so the changes since the checkpoint can no longer be streamed. "+
		"Restarting will not help. To go on: drop the slot (SELECT pg_drop_replication_slot('%s')); with snapshot.mode: when_needed the next start then snapshots the tables again, otherwise delete this connector's checkpoint too, accepting the gap. To avoid it, raise max_slot_wal_keep_size or keep cdc from lagging that far: %w",
		slot, detail, slot, ErrSlotLost)
}

// isSlotInvalidated tells whether err is the server refusing to stream
// from an invalidated slot.
func isSlotInvalidated(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "55000" || // object_not_in_prerequisite_state
		!strings.Contains(pgErr.Message+pgErr.Detail, "invalidated") {
		return "", false
	}
	if pgErr.Detail == "" {
		return pgErr.Message, true
	}
	return pgErr.Message + ": " + pgErr.Detail, true
}
