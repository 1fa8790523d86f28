package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// Initial is the id of the snapshot snapshot.mode starts; every other id
// names an on-demand request (`cdc snapshot`).
const Initial = "initial"

// SignalType says what a record of the signals topic
// (<topic_prefix>._signals) is. Requests are written by `cdc snapshot` or an
// orchestrator; answers by the connector that took the request, in the same
// Kafka transaction as its acceptance.
type SignalType string

// The signal types.
const (
	// SignalSnapshot requests a snapshot of Tables under ID.
	SignalSnapshot SignalType = "snapshot"
	// SignalCancel requests that the tables of snapshot ID not done yet
	// stop (their records become cancelled).
	SignalCancel SignalType = "cancel"
	// SignalAccepted answers a snapshot request: Tables are the tables it
	// snapshots (patterns resolved).
	SignalAccepted SignalType = "accepted"
	// SignalRejected answers a request that was not taken; Reason says why
	// (a table that is not captured, an id already used).
	SignalRejected SignalType = "rejected"
	// SignalCancelled answers a cancel: Tables are the tables it stopped.
	SignalCancelled SignalType = "cancelled"
)

// Request reports whether t is written by a requester (not an answer).
func (t SignalType) Request() bool { return t == SignalSnapshot || t == SignalCancel }

func (t SignalType) valid() bool {
	switch t {
	case SignalSnapshot, SignalCancel, SignalAccepted, SignalRejected, SignalCancelled:
		return true
	}
	return false
}

// Signal is one record of the signals topic; its key is ID. The stored
// form is one line of JSON (MarshalText, pinned by
// testdata/signal.golden):
//
//	{"type":"snapshot","id":"orders-2024","connector":"shop","tables":["public.orders"]}
//	{"type":"cancel","id":"orders-2024"}
//	{"type":"rejected","id":"orders-2024","connector":"shop","tables":["public.nope"],"reason":"..."}
type Signal struct {
	Type SignalType
	// ID names the request; it is the snapshot id of the tables' progress
	// records and the record's key. Letters, digits and ._:- only, at most
	// 200 bytes; "initial" is reserved.
	ID string
	// Connector, when set, limits the request to the connector of that
	// name (several connectors may share a topic prefix); empty: any
	// connector reading the topic.
	Connector string
	// Tables are "namespace.name" names or globs (path.Match) of captured
	// tables; empty in a snapshot request means snapshot.tables.
	Tables []string
	// Reason says why a request was rejected.
	Reason string
}

type signalJSON struct {
	Type      SignalType `json:"type"`
	ID        string     `json:"id"`
	Connector string     `json:"connector,omitempty"`
	Tables    []string   `json:"tables,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

var signalID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,200}$`)

// ValidID reports an id that a request may not carry.
func ValidID(id string) error {
	switch {
	case !signalID.MatchString(id):
		return fmt.Errorf("snapshot id %q: want 1 to 200 letters, digits or ._:-", id)
	case id == Initial:
		return fmt.Errorf("snapshot id %q is reserved for the initial snapshot", id)
	}
	return nil
}

func (s Signal) validate() error {
	if !s.Type.valid() {
		return fmt.Errorf("unknown type %q (want snapshot, cancel, accepted, rejected or cancelled)", s.Type)
	}
	if err := ValidID(s.ID); err != nil {
		return err
	}
	if !utf8.ValidString(s.Connector) || !utf8.ValidString(s.Reason) {
		return errors.New("connector or reason not valid UTF-8")
	}
	for _, t := range s.Tables {
		if t == "" || !utf8.ValidString(t) {
			return fmt.Errorf("table %q empty or not valid UTF-8", t)
		}
	}
	return nil
}

// MarshalText returns the stored form; it fails for a signal ParseSignal
// would reject.
func (s Signal) MarshalText() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("encoding signal: %w", err)
	}
	return json.Marshal(signalJSON{Type: s.Type, ID: s.ID, Connector: s.Connector, Tables: s.Tables, Reason: s.Reason})
}

// ParseSignal parses the stored form. Unknown fields are ignored; an
// unknown type, a bad id or a table that is not a string is an error.
func ParseSignal(b []byte) (Signal, error) {
	var j signalJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Signal{}, fmt.Errorf("decoding signal: %w", err)
	}
	s := Signal{Type: j.Type, ID: j.ID, Connector: j.Connector, Tables: j.Tables, Reason: j.Reason}
	if err := s.validate(); err != nil {
		return Signal{}, fmt.Errorf("decoding signal: %w", err)
	}
	return s, nil
}

// Request is a snapshot or cancel signal handed from the signals consumer
// to the source reader that owns the Driver. Offset is the signals topic
// offset after the request's record: the checkpoint that commits the
// request's acceptance stores it, so a request is taken exactly once.
type Request struct {
	Signal
	Offset int64
}
