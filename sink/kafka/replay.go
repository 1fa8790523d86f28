package kafka

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ReplayBound is how far a moved-back connector sends events again: up to
// and including the source transaction that ends at Until, the position of
// the checkpoint that the move replaced; and, when that checkpoint was
// inside a source transaction, the first Changes changes of transaction Tx
// too. Events in that range were committed to Kafka before the move; the
// pipeline marks them as replays (header cdc.replay) and drops the bound
// from its checkpoints once the stream has passed it.
type ReplayBound struct {
	// Until is the text form of the replaced checkpoint's position.
	Until []byte
	// Tx and Changes are the replaced checkpoint's partial transaction, if
	// it had one: its id and how many of its changes were committed.
	Tx      string
	Changes int
}

// replayJSON is the stored form of ReplayBound.
type replayJSON struct {
	Until   string `json:"until"`
	Tx      string `json:"tx,omitempty"`
	Changes int    `json:"changes,omitempty"`
}

func (r *ReplayBound) validate() error {
	switch {
	case len(r.Until) == 0 || !utf8.Valid(r.Until):
		return errors.New("replay bound without a valid position")
	case !utf8.ValidString(r.Tx):
		return errors.New("replay bound transaction is not valid UTF-8")
	case r.Changes < 0 || r.Changes > 0 && r.Tx == "":
		return fmt.Errorf("replay bound with %d changes of transaction %q", r.Changes, r.Tx)
	}
	return nil
}

func (r *ReplayBound) toJSON() *replayJSON {
	if r == nil {
		return nil
	}
	return &replayJSON{Until: string(r.Until), Tx: r.Tx, Changes: r.Changes}
}

func (j *replayJSON) bound() *ReplayBound {
	if j == nil {
		return nil
	}
	return &ReplayBound{Until: []byte(j.Until), Tx: j.Tx, Changes: j.Changes}
}
