package postgres

import "errors"

// Sentinel errors; each is wrapped with the details that explain it.
var (
	// ErrSlotAhead: the slot has confirmed more than the checkpoint holds, so
	// changes between the two are gone from the slot.
	ErrSlotAhead = errors.New("replication slot is ahead of the checkpoint")
	// ErrSlotMissing: the slot disappeared while the connector relied on it.
	ErrSlotMissing = errors.New("replication slot missing")
)

// Problem is one unmet prerequisite, with the statement that fixes it.
type Problem struct {
	Message string
	Fix     string
	// Warning problems do not stop the connector (a table whose deletes
	// would lose their key, for instance).
	Warning bool
}

func (p Problem) Error() string {
	if p.Fix == "" {
		return p.Message
	}
	return p.Message + "; fix: " + p.Fix
}
