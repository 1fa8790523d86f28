package snapshot

import "fmt"

// Mode is snapshot.mode: when a connector reads the tables' existing rows.
type Mode string

// The modes, with Debezium's meanings.
const (
	// ModeInitial (the default): snapshot when the connector has no
	// checkpoint yet, streaming at the same time; then stream.
	ModeInitial Mode = "initial"
	// ModeNever: never snapshot; stream from the slot or the current
	// binlog position.
	ModeNever Mode = "never"
	// ModeInitialOnly: snapshot as ModeInitial, then stop (exit 0) once
	// every table is done; the checkpoint keeps the stream's position, so
	// a later run in another mode streams on from there.
	ModeInitialOnly Mode = "initial_only"
	// ModeWhenNeeded: snapshot when there is no checkpoint, or when the
	// checkpoint's position is no longer available on the server (purged
	// binlog, a slot that was recreated); otherwise stream.
	ModeWhenNeeded Mode = "when_needed"
)

// ParseMode accepts exactly the four mode names; "" is ModeInitial.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return ModeInitial, nil
	case ModeInitial, ModeNever, ModeInitialOnly, ModeWhenNeeded:
		return m, nil
	}
	return "", fmt.Errorf("unknown snapshot.mode %q (want initial, never, initial_only or when_needed)", s)
}

// Snapshots reports whether the mode snapshots a connector that has no
// checkpoint. (ModeWhenNeeded also snapshots when the checkpoint is
// unavailable; the caller decides that with the server.)
func (m Mode) Snapshots() bool { return m != ModeNever }
