package kafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/cdc-go/cdc/source"
)

// Checkpoint is where a connector resumes: the source position after the last
// source transaction whose events were committed to Kafka in the same Kafka
// transaction as this checkpoint, and, when a Kafka transaction ended inside
// a source transaction, how much of that one is committed too.
type Checkpoint struct {
	// Connector is the connector's name and the record key in the
	// checkpoint topic.
	Connector string
	// Server is the database the position belongs to.
	Server source.Server
	// Position is the source position's text form (its MarshalText
	// output); this package stores it without interpreting it. It must be
	// valid UTF-8.
	Position []byte
	// Time is the wall time of the commit.
	Time time.Time
	// Seq counts committed Kafka transactions: the caller sets it to the
	// loaded checkpoint's Seq plus one on every Commit.
	Seq uint64
	// Partial, when set, is the source transaction that follows Position
	// and whose first Partial.Changes changes are committed (in this Kafka
	// transaction and earlier ones): a restart from Position must skip
	// exactly those. Nil when the checkpoint is at a transaction boundary.
	Partial *PartialTx
	// Snapshot, when set, names the snapshot in progress: its tables'
	// progress records are in the snapshot topic, committed with this
	// checkpoint. Nil when no snapshot runs.
	Snapshot *SnapshotRef
	// Replay, when set, says that the connector was moved back (`cdc
	// positions set`, `cdc run --from`) and the events after Position up to
	// Replay.Until are being sent again, marked as replays; nil once the
	// stream has passed that bound (see replay.go).
	Replay *ReplayBound
	// Signals is the offset of the signals topic (<topic_prefix>._signals,
	// one partition) up to which the connector has taken the on-demand
	// snapshot requests: a request's acceptance is committed with the
	// checkpoint that moves Signals past it, so it is taken exactly once.
	// 0 (absent) means from the start of the topic.
	Signals int64
}

// SnapshotRef names the snapshots in progress.
type SnapshotRef struct {
	// ID names the first snapshot request with tables not done
	// ("initial", or an on-demand request's id); Also the others, in the
	// order their tables are read.
	ID   string
	Also []string
	// Open is how many of their tables are not done; at least 1.
	Open int
}

// IDs returns ID and Also.
func (r *SnapshotRef) IDs() []string {
	if r == nil {
		return nil
	}
	return append([]string{r.ID}, r.Also...)
}

type snapshotJSON struct {
	ID   string   `json:"id"`
	Also []string `json:"also,omitempty"`
	Open int      `json:"open"`
}

// PartialTx identifies a source transaction that is committed to Kafka in
// part, and counts what is committed.
type PartialTx struct {
	// ID is the transaction id as the source's Begin reported it.
	ID string
	// CommitPos is the text form of the Begin's CommitPos (where the
	// transaction commits in the source's log), empty when the source
	// does not know it at Begin. With ID it pins the transaction.
	CommitPos []byte
	// Changes is how many of its changes are committed: a restart skips
	// that many changes of the source's stream of the transaction.
	Changes int
	// Events is how many events those changes made (an update that changes
	// the key is two, a delete and a create), so that total_order goes on
	// after a restart; 0 in a checkpoint that does not say means Changes.
	Events int
	// Tables counts the committed events per table, so that the END
	// record of the transaction-metadata topic carries the full counts.
	Tables map[string]int
}

// partialJSON is the stored form of PartialTx.
type partialJSON struct {
	ID        string         `json:"tx"`
	CommitPos string         `json:"commit_pos,omitempty"`
	Changes   int            `json:"changes"`
	Events    int            `json:"events,omitempty"`
	Tables    map[string]int `json:"tables,omitempty"`
}

// checkpointJSON is the stored form. Field order is the output order; the
// golden file pins it.
type checkpointJSON struct {
	Connector string        `json:"connector"`
	Server    source.Server `json:"server"`
	Position  string        `json:"position"`
	Time      time.Time     `json:"time"`
	Seq       uint64        `json:"seq"`
	// Partial is absent at transaction boundaries, so checkpoints written
	// before it existed decode unchanged, and older versions of cdc that
	// ignore it are refused nothing (see DecodeCheckpoint).
	Partial *partialJSON `json:"partial,omitempty"`
	// Snapshot is absent when no snapshot runs (and in checkpoints written
	// before snapshots existed).
	Snapshot *snapshotJSON `json:"snapshot,omitempty"`
	// Replay is absent outside a replay; an older cdc ignores it and sends
	// the rest of the replay unmarked.
	Replay *replayJSON `json:"replay,omitempty"`
	// Signals is absent until the connector takes its first on-demand
	// request.
	Signals int64 `json:"signals,omitempty"`
}

// validate reports a checkpoint that could not be resumed from.
func (cp *Checkpoint) validate() error {
	switch {
	case cp.Connector == "":
		return errors.New("empty connector")
	case cp.Server.Type == "" || cp.Server.ID == "":
		return errors.New("server type or id missing")
	case len(cp.Position) == 0:
		return errors.New("empty position")
	case !utf8.Valid(cp.Position):
		return errors.New("position is not valid UTF-8")
	case cp.Time.UTC().Year() < 0 || cp.Time.UTC().Year() > 9999:
		return errors.New("time outside years 0-9999")
	}
	if r := cp.Snapshot; r != nil {
		if r.Open < len(r.IDs()) {
			return fmt.Errorf("snapshots %q with %d open tables", r.IDs(), r.Open)
		}
		for _, id := range r.IDs() {
			if id == "" || !utf8.ValidString(id) {
				return fmt.Errorf("snapshot id %q empty or not valid UTF-8", id)
			}
		}
	}
	if cp.Signals < 0 {
		return fmt.Errorf("signals offset %d", cp.Signals)
	}
	if p := cp.Partial; p != nil {
		switch {
		case p.ID == "" || !utf8.ValidString(p.ID):
			return errors.New("partial transaction without a valid id")
		case !utf8.Valid(p.CommitPos):
			return errors.New("partial transaction commit position is not valid UTF-8")
		case p.Changes < 0:
			return fmt.Errorf("partial transaction with %d changes", p.Changes)
		case p.Events != 0 && p.Events < p.Changes:
			return fmt.Errorf("partial transaction with %d changes but %d events", p.Changes, p.Events)
		}
		for table, n := range p.Tables {
			if n < 0 || !utf8.ValidString(table) {
				return fmt.Errorf("partial transaction: table %q with %d changes", table, n)
			}
		}
	}
	if r := cp.Replay; r != nil {
		if err := r.validate(); err != nil {
			return err
		}
	}
	return nil
}

// EncodeCheckpoint returns the stored form of cp, one line of JSON:
//
//	{"connector":"shop","server":{"type":"postgres","id":"7310..."},"position":"0/16B3748","time":"2026-...Z","seq":42}
//
// A checkpoint inside a source transaction adds
//
//	"partial":{"tx":"735","commit_pos":"0/16C0000","changes":5000,"tables":{"public.orders":5000}}
//
// one during a replay
//
//	"replay":{"until":"0/16D0000","tx":"736","changes":200}
//
// one during snapshots (the initial one and on-demand requests)
//
//	"snapshot":{"id":"initial","also":["orders-2024"],"open":3}
//
// and one that took on-demand requests from the signals topic
//
//	"signals":17
//
// Time is written in UTC with nanoseconds. It fails for a checkpoint that
// DecodeCheckpoint would reject.
func EncodeCheckpoint(cp Checkpoint) ([]byte, error) {
	if err := cp.validate(); err != nil {
		return nil, fmt.Errorf("encoding checkpoint: %w", err)
	}
	j := checkpointJSON{
		Connector: cp.Connector,
		Server:    cp.Server,
		Position:  string(cp.Position),
		Time:      cp.Time.UTC(),
		Seq:       cp.Seq,
	}
	if p := cp.Partial; p != nil {
		j.Partial = &partialJSON{ID: p.ID, CommitPos: string(p.CommitPos), Changes: p.Changes, Events: p.Events, Tables: p.Tables}
	}
	if r := cp.Snapshot; r != nil {
		j.Snapshot = &snapshotJSON{ID: r.ID, Also: r.Also, Open: r.Open}
	}
	j.Replay = cp.Replay.toJSON()
	j.Signals = cp.Signals
	return json.Marshal(j)
}

// DecodeCheckpoint parses the form written by EncodeCheckpoint. Unknown
// fields are ignored, so a newer version may add some; missing required
// fields are an error. (An older cdc reading a checkpoint with "partial"
// would ignore it and send that transaction's committed part again: do not
// downgrade while a checkpoint names a partial transaction.)
func DecodeCheckpoint(b []byte) (Checkpoint, error) {
	var j checkpointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Checkpoint{}, fmt.Errorf("decoding checkpoint: %w", err)
	}
	cp := Checkpoint{
		Connector: j.Connector,
		Server:    j.Server,
		Position:  []byte(j.Position),
		Time:      j.Time,
		Seq:       j.Seq,
	}
	if p := j.Partial; p != nil {
		cp.Partial = &PartialTx{ID: p.ID, Changes: p.Changes, Events: p.Events, Tables: p.Tables}
		if p.CommitPos != "" {
			cp.Partial.CommitPos = []byte(p.CommitPos)
		}
	}
	if r := j.Snapshot; r != nil {
		cp.Snapshot = &SnapshotRef{ID: r.ID, Also: r.Also, Open: r.Open}
	}
	cp.Replay = j.Replay.bound()
	cp.Signals = j.Signals
	if err := cp.validate(); err != nil {
		return Checkpoint{}, fmt.Errorf("decoding checkpoint: %w", err)
	}
	return cp, nil
}
