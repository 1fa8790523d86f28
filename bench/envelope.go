package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The harness reads the Debezium envelope, whoever wrote it: cdc (either
// events.format), or Debezium through Kafka Connect's JsonConverter with
// schemas.enable=false. A value wrapped as {"schema":..., "payload":...}
// (schemas.enable=true, cdc's kafka.schema_in_payload) is unwrapped.
// Only the benchmark table's own columns are read: id (the key), seq (the
// writer's run-unique sequence number) and ts_us (the writer's clock, in
// microseconds since the epoch, when it sent the change).

// rowImage is the part of a before or after image the harness needs.
type rowImage struct {
	ID   flexInt `json:"id"`
	Seq  flexInt `json:"seq"`
	TsUs flexInt `json:"ts_us"`
}

type envelope struct {
	Before *rowImage `json:"before"`
	After  *rowImage `json:"after"`
	Op     string    `json:"op"`
	Source struct {
		TsMs int64 `json:"ts_ms"`
	} `json:"source"`
}

// decoded is one event as the checker and the latency histograms see it.
type decoded struct {
	change
	TsUs       int64 // writer's clock for creates and updates; 0 for deletes
	SourceTsMs int64 // source.ts_ms: the source's commit time (milliseconds)
	Tombstone  bool
}

var errNoImage = errors.New("event has no row image for its op")

// decodeValue decodes a record value. A nil or empty value is a tombstone.
func decodeValue(v []byte) (decoded, error) {
	var d decoded
	if len(v) == 0 {
		d.Tombstone = true
		return d, nil
	}
	var e envelope
	if err := json.Unmarshal(unwrapPayload(v), &e); err != nil {
		return d, fmt.Errorf("decoding the envelope: %w", err)
	}
	d.SourceTsMs = e.Source.TsMs
	img := e.After
	switch e.Op {
	case "c", "u", "r":
	case "d":
		img = e.Before
	default:
		return d, fmt.Errorf("op %q: not a row change", e.Op)
	}
	if img == nil {
		return d, fmt.Errorf("op %q: %w", e.Op, errNoImage)
	}
	d.Op = e.Op[0]
	if d.Op == 'r' {
		d.Op = 'c' // a snapshot read counts as the row's creation
	}
	d.Key, d.Seq = int64(img.ID), int64(img.Seq)
	if d.Op != 'd' {
		d.TsUs = int64(img.TsUs)
	}
	return d, nil
}

// unwrapPayload returns the payload of a {"schema":..., "payload":...}
// value, or the value itself. It looks only at the start: an envelope's
// first key is "before" (both writers put it first), a wrapped one's is
// "schema".
func unwrapPayload(v []byte) []byte {
	t := bytes.TrimLeft(v, " \t\r\n")
	if !bytes.HasPrefix(t, []byte(`{"schema"`)) {
		return v
	}
	var w struct {
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(v, &w); err != nil || len(w.Payload) == 0 {
		return v
	}
	return w.Payload
}

// flexInt is an integer written as a JSON number or a string (a writer
// may quote 64-bit integers for JavaScript readers).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("integer column: %w", err)
	}
	*f = flexInt(n)
	return nil
}
