package postgres

import (
	"errors"

	"github.com/cdc-go/cdc/source"
)

// Sentinel errors; each is wrapped with the details that explain it.
var (
	// ErrSlotAhead: the slot has confirmed more than the checkpoint holds, so
	// changes between the two are gone from the slot.
	ErrSlotAhead = errors.New("replication slot is ahead of the checkpoint")
	// ErrServerChanged: source.dsn reaches another server than the one the
	// run started on (its system identifier or database changed across a
	// reconnection).
	ErrServerChanged = errors.New("source server changed")
	// ErrSlotMissing: the slot disappeared while the connector relied on it.
	ErrSlotMissing = errors.New("replication slot missing")
	// ErrSlotLost: the server invalidated the slot (wal_status lost, after
	// it retained more than max_slot_wal_keep_size): the WAL the checkpoint
	// needs is gone.
	ErrSlotLost = errors.New("replication slot lost")
)

// Problem is one unmet prerequisite, with its fix.
type Problem = source.Problem
