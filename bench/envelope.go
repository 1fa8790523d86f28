package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// The consumer shares the machine with the connector it measures, so the
// common case takes a scanner that reads only the fields needed (about a
// tenth of encoding/json's cost); anything it does not expect falls back to
// encoding/json, and the fuzz test holds the two to the same answers.
func decodeValue(v []byte) (decoded, error) {
	if len(v) == 0 {
		return decoded{Tombstone: true}, nil
	}
	if d, ok := scanValue(v); ok {
		return d, nil
	}
	return decodeValueJSON(v)
}

// decodeValueJSON is decodeValue with encoding/json.
func decodeValueJSON(v []byte) (decoded, error) {
	var e envelope
	if err := json.Unmarshal(unwrapPayload(v), &e); err != nil {
		return decoded{}, fmt.Errorf("decoding the envelope: %w", err)
	}
	return fromEnvelope(e.Op, e.Before, e.After, e.Source.TsMs)
}

func fromEnvelope(op string, before, after *rowImage, tsMs int64) (decoded, error) {
	d := decoded{SourceTsMs: tsMs}
	img := after
	switch op {
	case "c", "u", "r":
	case "d":
		img = before
	default:
		return decoded{}, fmt.Errorf("op %q: not a row change", op)
	}
	if img == nil {
		return decoded{}, fmt.Errorf("op %q: %w", op, errNoImage)
	}
	d.Op = op[0] // 'r' stays: the snapshot workload tells reads apart
	d.Key, d.Seq = int64(img.ID), int64(img.Seq)
	if d.Op != 'd' {
		d.TsUs = int64(img.TsUs)
	}
	return d, nil
}

// scanValue reads a bare envelope without decoding what it does not need.
// ok is false for anything unusual (a schema wrapper, escapes in a needed
// string, non-integer numbers, malformed JSON): the caller then decodes it
// with encoding/json, which also produces the error.
func scanValue(v []byte) (decoded, bool) {
	s := scanner{b: v}
	var op string
	var before, after *rowImage
	var tsMs int64
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "before", "after":
			img, ok := s.image()
			if !ok {
				return false
			}
			if key[0] == 'b' {
				before = img
			} else {
				after = img
			}
			return true
		case "op":
			str, ok := s.plainString()
			op = string(str)
			return ok
		case "source":
			return s.object(func(key []byte) bool {
				if string(key) == "ts_ms" {
					n, ok := s.integer()
					tsMs = n
					return ok
				}
				if caseTwin(key, "ts_ms") {
					return false
				}
				return s.skip()
			})
		case "schema", "payload":
			return false // wrapped: let encoding/json unwrap it
		}
		if caseTwin(key, "before", "after", "op", "source") {
			return false
		}
		return s.skip()
	})
	if !ok {
		return decoded{}, false
	}
	s.ws()
	if s.i != len(s.b) {
		return decoded{}, false
	}
	d, err := fromEnvelope(op, before, after, tsMs)
	return d, err == nil
}

// scanner is a minimal JSON reader over one value.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// object reads an object, calling field with each key; field must read
// (or skip) the value.
func (s *scanner) object(field func(key []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		key, ok := s.plainString()
		if !ok || s.peek() != ':' {
			return false
		}
		s.i++
		if !field(key) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// plainString reads a string without escapes (a key or a short value).
func (s *scanner) plainString() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch b := s.b[j]; {
		case b == '\\' || b < 0x20 || b >= 0x80:
			// Escapes, control characters and non-ASCII (which
			// encoding/json may treat otherwise) go the slow way.
			return nil, false
		case b == '"':
			s.i = j + 1
			return s.b[start:j], true
		}
	}
	return nil, false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// caseTwin reports whether key is one of names in another case:
// encoding/json matches fields case-insensitively, the scanner does not, so
// such a key goes the slow way.
func caseTwin(key []byte, names ...string) bool {
	for _, n := range names {
		if string(key) != n && strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}

// skip skips any value.
func (s *scanner) skip() bool {
	switch c := s.peek(); {
	case c == '"':
		for j := s.i + 1; j < len(s.b); j++ {
			switch b := s.b[j]; {
			case b == '\\':
				// Only the escapes JSON has; \u with four hex digits.
				if j+1 >= len(s.b) {
					return false
				}
				switch s.b[j+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					j++
				case 'u':
					if j+5 >= len(s.b) || !isHex4(s.b[j+2:j+6]) {
						return false
					}
					j += 5
				default:
					return false
				}
			case b == '"':
				s.i = j + 1
				return true
			case b < 0x20:
				return false
			}
		}
		return false
	case c == '{':
		return s.object(func([]byte) bool { return s.skip() })
	case c == '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			if !s.skip() {
				return false
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

// number skips a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// integer reads an integer, a quoted one, or null (0).
func (s *scanner) integer() (int64, bool) {
	c := s.peek()
	if c == 'n' {
		return 0, s.literal("null")
	}
	if c == 0 {
		return 0, false
	}
	quoted := c == '"'
	if quoted {
		s.i++
	}
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || s.i-digits > 18 || (s.b[digits] == '0' && s.i-digits > 1) {
		return 0, false // no digits, possibly out of range, or a leading zero: encoding/json decides
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	if err != nil {
		return 0, false
	}
	if quoted {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return 0, false
		}
		s.i++
	} else if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	return n, true
}

// image reads a row image or null.
func (s *scanner) image() (*rowImage, bool) {
	if s.peek() == 'n' {
		return nil, s.literal("null")
	}
	img := &rowImage{}
	ok := s.object(func(key []byte) bool {
		var dst *flexInt
		switch string(key) {
		case "id":
			dst = &img.ID
		case "seq":
			dst = &img.Seq
		case "ts_us":
			dst = &img.TsUs
		default:
			if caseTwin(key, "id", "seq", "ts_us") {
				return false
			}
			return s.skip()
		}
		n, ok := s.integer()
		*dst = flexInt(n)
		return ok
	})
	return img, ok
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
