package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// PositionText is a source position known only by its text form, such as
// the one a dead-lettered event carries in its cdc.dlt.position header. It
// is for display and headers only: it cannot be resumed from.
type PositionText string

// MarshalText returns the text.
func (p PositionText) MarshalText() ([]byte, error) { return []byte(p), nil }

func (p PositionText) String() string { return string(p) }

// DecodeEnvelope reads an event written by Envelope.Value back into a
// change, for re-routing dead-lettered rows. The envelope has no table
// schema, so the table is rebuilt from the row objects: columns in the
// order of their keys (the after image's, else the before image's), each
// kind guessed from its JSON values, key columns those named in the record
// key (a JSON object, as Key writes it). Values come back as the schema
// value types: strings, int64 for integral numbers, float64 for others,
// bool, json.RawMessage for objects and arrays, nil for null and
// schema.Unavailable for the placeholder. Good enough to re-route outbox
// rows and table rows; not a faithful round trip of every column type
// (bytes stay base64 strings, decimals stay strings).
//
// The change's Pos is the position, when known (pass "" otherwise).
func DecodeEnvelope(key, value []byte, pos string) (*source.Change, error) {
	if value == nil {
		return nil, errors.New("a tombstone holds no event")
	}
	key, value = unwrapConnect(key), unwrapConnect(value)
	var env struct {
		Before  json.RawMessage            `json:"before"`
		After   json.RawMessage            `json:"after"`
		Source  map[string]json.RawMessage `json:"source"`
		Op      string                     `json:"op"`
		Message *struct {
			Prefix  string `json:"prefix"`
			Content []byte `json:"content"` // base64, as appendValue writes bytes
		} `json:"message"`
		Transaction *struct {
			ID                  string `json:"id"`
			TotalOrder          int    `json:"total_order"`
			DataCollectionOrder int    `json:"data_collection_order"`
		} `json:"transaction"`
	}
	if err := json.Unmarshal(value, &env); err != nil {
		return nil, fmt.Errorf("decoding event envelope: %w", err)
	}
	if len(env.Op) != 1 {
		return nil, fmt.Errorf("decoding event envelope: op %q is not one letter", env.Op)
	}
	ch := &source.Change{Op: source.Op(env.Op[0])}
	if pos != "" {
		ch.Pos = PositionText(pos)
	}
	if env.Transaction != nil {
		ch.Tx = source.Tx{ID: env.Transaction.ID, Order: env.Transaction.TotalOrder, TableOrder: env.Transaction.DataCollectionOrder}
	}
	var ns, table string
	var commitNs int64
	for k, raw := range env.Source {
		switch k {
		case "version", "connector", "name", "snapshot", "schema_version", "ts_us", "xmin": // written by the envelope itself
		case "ts_ms":
			var ms int64
			if json.Unmarshal(raw, &ms) == nil && commitNs == 0 {
				ch.Tx.CommitTime = time.UnixMilli(ms)
			}
		case "ts_ns": // the commit time to the nanosecond, when the event has it
			if json.Unmarshal(raw, &commitNs) == nil && commitNs != 0 {
				ch.Tx.CommitTime = time.Unix(0, commitNs)
			}
		case "schema":
			json.Unmarshal(raw, &ns)
		case "table":
			json.Unmarshal(raw, &table)
		default:
			v, err := jsonValue(raw)
			if err != nil {
				return nil, fmt.Errorf("decoding source.%s: %w", k, err)
			}
			ch.Meta = append(ch.Meta, source.Field{Key: k, Value: v})
		}
	}
	slices.SortFunc(ch.Meta, func(a, b source.Field) int { return strings.Compare(a.Key, b.Key) })
	if ns == "" {
		ns, _ = ch.Meta.Get("db").(string) // MySQL: the database is the namespace
	}
	if env.Message != nil {
		ch.Message = &source.LogicalMessage{Prefix: env.Message.Prefix, Content: env.Message.Content}
		return ch, nil
	}
	if table == "" {
		return ch, nil
	}
	before, err := decodeRow(env.Before)
	if err != nil {
		return nil, fmt.Errorf("decoding before: %w", err)
	}
	after, err := decodeRow(env.After)
	if err != nil {
		return nil, fmt.Errorf("decoding after: %w", err)
	}
	keyCols := map[string]bool{}
	if len(key) > 0 && key[0] == '{' {
		if kr, err := decodeRow(key); err == nil {
			for _, f := range kr.fields {
				keyCols[f.name] = true
			}
		}
	}
	t := &schema.Table{Namespace: ns, Name: table}
	shape := after
	if shape == nil {
		shape = before
	}
	if shape != nil {
		for _, f := range shape.fields {
			t.Columns = append(t.Columns, schema.Column{Name: f.name, Type: "json", Kind: kindOf(f.value), Nullable: true, Key: keyCols[f.name]})
		}
	}
	ch.Table = t
	if ch.Before, err = before.align(t, "before"); err != nil {
		return nil, err
	}
	if ch.After, err = after.align(t, "after"); err != nil {
		return nil, err
	}
	for i, c := range t.Columns { // a NULL in one image, a value in the other
		if c.Kind == schema.KindUnknown && ch.Before != nil {
			t.Columns[i].Kind = kindOf(ch.Before[i])
		}
	}
	return ch, nil
}

type decodedRow struct {
	fields []decodedField
}

type decodedField struct {
	name  string
	value any
}

// align returns the row's values in the table's column order.
func (r *decodedRow) align(t *schema.Table, what string) ([]any, error) {
	if r == nil {
		return nil, nil
	}
	if len(r.fields) != len(t.Columns) {
		return nil, fmt.Errorf("decoding %s: %d columns, the other image has %d", what, len(r.fields), len(t.Columns))
	}
	row := make([]any, len(t.Columns))
	for _, f := range r.fields {
		i := t.Column(f.name)
		if i < 0 {
			return nil, fmt.Errorf("decoding %s: column %q is not in the other image", what, f.name)
		}
		row[i] = f.value
	}
	return row, nil
}

// unwrapConnect returns the payload of a record written with
// schema_in_payload ({"schema": ..., "payload": ...}), else b itself.
func unwrapConnect(b []byte) []byte {
	if len(b) == 0 || b[0] != '{' || !bytes.HasPrefix(b, []byte(`{"schema":`)) {
		return b
	}
	var w struct {
		Schema  json.RawMessage `json:"schema"`
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(b, &w) != nil || len(w.Schema) == 0 || len(w.Payload) == 0 {
		return b
	}
	return w.Payload
}

// decodeRow reads a JSON object keeping its key order; null gives nil.
func decodeRow(raw json.RawMessage) (*decodedRow, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object: %s", preview(raw))
	}
	r := &decodedRow{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("column %q: %w", name, err)
		}
		val, err := jsonValue(v)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", name, err)
		}
		r.fields = append(r.fields, decodedField{name, val})
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return nil, err
	}
	return r, nil
}

// jsonValue turns one JSON value into a row value.
func jsonValue(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("no value")
	}
	switch raw[0] {
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if s == schema.UnavailablePlaceholder {
			return schema.Unavailable{}, nil
		}
		return s, nil
	case '{', '[':
		return json.RawMessage(bytes.Clone(raw)), nil
	}
	if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
		return u, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) {
		return string(raw), nil // a decimal beyond float64: keep its digits
	}
	return f, nil
}

func kindOf(v any) schema.Kind {
	switch v.(type) {
	case bool:
		return schema.KindBool
	case int64:
		return schema.KindInt
	case uint64:
		return schema.KindUint
	case float64:
		return schema.KindFloat
	case string:
		return schema.KindString
	case json.RawMessage:
		return schema.KindJSON
	}
	return schema.KindUnknown
}
