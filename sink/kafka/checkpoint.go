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
// transaction as this checkpoint.
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
}

// checkpointJSON is the stored form. Field order is the output order; the
// golden file pins it.
type checkpointJSON struct {
	Connector string        `json:"connector"`
	Server    source.Server `json:"server"`
	Position  string        `json:"position"`
	Time      time.Time     `json:"time"`
	Seq       uint64        `json:"seq"`
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
	return nil
}

// EncodeCheckpoint returns the stored form of cp, one line of JSON:
//
//	{"connector":"shop","server":{"type":"postgres","id":"7310..."},"position":"0/16B3748","time":"2026-...Z","seq":42}
//
// Time is written in UTC with nanoseconds. It fails for a checkpoint that
// DecodeCheckpoint would reject.
func EncodeCheckpoint(cp Checkpoint) ([]byte, error) {
	if err := cp.validate(); err != nil {
		return nil, fmt.Errorf("encoding checkpoint: %w", err)
	}
	return json.Marshal(checkpointJSON{
		Connector: cp.Connector,
		Server:    cp.Server,
		Position:  string(cp.Position),
		Time:      cp.Time.UTC(),
		Seq:       cp.Seq,
	})
}

// DecodeCheckpoint parses the form written by EncodeCheckpoint. Unknown
// fields are ignored, so a newer version may add some; missing required
// fields are an error.
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
	if err := cp.validate(); err != nil {
		return Checkpoint{}, fmt.Errorf("decoding checkpoint: %w", err)
	}
	return cp, nil
}
