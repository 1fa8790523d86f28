package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// outboxEvent is an outbox row or logical message read into its parts.
type outboxEvent struct {
	id, aggType, aggID, eventType string
	version                       int64
	hasVersion                    bool
	payload                       []byte // nil: a tombstone
	extra                         []Header
	// lookup resolves template variables that are not logical fields.
	lookup func(name string) (string, error)
	source string // for notices
}

// outboxRow routes a change of an outbox table: inserts become events,
// deletes and updates follow on_delete and on_update.
func (r *Router) outboxRow(o *outboxRoute, b *binding, ch *source.Change) ([]Record, error) {
	switch ch.Op {
	case source.OpCreate, source.OpRead:
	case source.OpDelete, source.OpTruncate:
		if o.onDelete == DeleteDLT {
			return nil, fmt.Errorf("%s: outbox rows are not deleted through this route (on_delete: dlt)", o.name)
		}
		r.stats.deletes.Add(1)
		return nil, nil
	case source.OpUpdate:
		if o.onUpdate == UpdateDLT {
			return nil, fmt.Errorf("%s: an outbox row was updated; outbox rows are immutable events, insert a new one (on_update: dlt)", o.name)
		}
		r.stats.updates.Add(1)
		r.notify(Notice{Kind: NoticeUpdateIgnored, Route: o.name, Source: ch.Table.ID(), TxID: ch.Tx.ID, Position: posText(ch.Pos)})
		return nil, nil
	default:
		return nil, fmt.Errorf("%s: unexpected operation %q on an outbox table", o.name, ch.Op)
	}
	row := ch.After
	f := o.fields
	ev := outboxEvent{source: ch.Table.ID()}
	var errs []error
	text := func(field, column string, i int) string {
		s, ok := textOf(row[i])
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s column %q is NULL", field, column))
		case s == "":
			errs = append(errs, fmt.Errorf("%s column %q is empty", field, column))
		}
		return s
	}
	ev.id = text("id", f.ID, b.id)
	ev.aggType = text("aggregate_type", f.AggregateType, b.aggType)
	ev.aggID = text("aggregate_id", f.AggregateID, b.aggID)
	ev.eventType = text("event_type", f.EventType, b.eventType)
	if b.version >= 0 && row[b.version] != nil {
		v, err := versionOf(row[b.version])
		if err != nil {
			errs = append(errs, fmt.Errorf("aggregate_version column %q: %w", f.AggregateVersion, err))
		}
		ev.version, ev.hasVersion = v, err == nil
	}
	payload, err := payloadJSON(row[b.payload])
	if err != nil {
		errs = append(errs, fmt.Errorf("payload column %q: %w", f.Payload, err))
	}
	ev.payload = payload
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", o.name, errors.Join(errs...))
	}
	for n, i := range b.headers {
		h := Header{Key: o.headers[n]}
		if s, ok := textOf(row[i]); ok {
			h.Value = []byte(s)
		}
		ev.extra = append(ev.extra, h)
	}
	ev.lookup = func(name string) (string, error) {
		if isFixedVar(name) {
			return r.fixedVar(name, ch)
		}
		s, ok := textOf(row[ch.Table.Column(name)]) // bound: the column exists
		if !ok {
			return "", fmt.Errorf("column %q is NULL", name)
		}
		return s, nil
	}
	return r.event(o, &ev, ch)
}

// message routes a logical message whose content is an outbox event in
// JSON.
func (r *Router) message(m *messageRoute, ch *source.Change) ([]Record, error) {
	fail := func(err error) ([]Record, error) {
		return nil, fmt.Errorf("%s: message with prefix %q: %w", m.name, m.prefix, err)
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(ch.Message.Content))
	if err := dec.Decode(&fields); err != nil {
		return fail(fmt.Errorf("content is not a JSON object: %w", err))
	}
	if dec.More() {
		return fail(errors.New("content has data after its JSON object"))
	}
	if fields == nil {
		return fail(errors.New("content is JSON null, not an object"))
	}
	f := m.fields
	ev := outboxEvent{source: "message:" + m.prefix}
	var errs []error
	text := func(field, name string) string {
		raw, ok := fields[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s field %q is missing", field, name))
			return ""
		}
		s, err := jsonScalar(raw)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s field %q: %w", field, name, err))
		case s == "":
			errs = append(errs, fmt.Errorf("%s field %q is empty", field, name))
		}
		return s
	}
	ev.id = text("id", f.ID)
	ev.aggType = text("aggregate_type", f.AggregateType)
	ev.aggID = text("aggregate_id", f.AggregateID)
	ev.eventType = text("event_type", f.EventType)
	if raw, ok := fields[f.AggregateVersion]; ok && f.AggregateVersion != "" && string(raw) != "null" {
		v, err := versionOf(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("aggregate_version field %q: %w", f.AggregateVersion, err))
		}
		ev.version, ev.hasVersion = v, err == nil
	} else if !ok && m.versionSet {
		errs = append(errs, fmt.Errorf("aggregate_version field %q is missing", f.AggregateVersion))
	}
	if raw, ok := fields[f.Payload]; !ok {
		errs = append(errs, fmt.Errorf("payload field %q is missing", f.Payload))
	} else if string(raw) != "null" {
		ev.payload = raw
	}
	if len(errs) > 0 {
		return fail(errors.Join(errs...))
	}
	for _, name := range m.headers {
		h := Header{Key: name}
		if raw, ok := fields[name]; ok && string(raw) != "null" {
			s, err := jsonScalar(raw)
			if err != nil {
				s = string(raw) // objects and arrays as their JSON text
			}
			h.Value = []byte(s)
		}
		ev.extra = append(ev.extra, h)
	}
	ev.lookup = func(name string) (string, error) {
		if name == "prefix" || name == "db" {
			return r.fixedVar(name, ch)
		}
		raw, ok := fields[name]
		if !ok {
			return "", fmt.Errorf("the message has no field %q", name)
		}
		return jsonScalar(raw)
	}
	return r.event(&m.outboxRoute, &ev, ch)
}

// event turns an outbox event into its record: topic from the template,
// key the aggregate id, value the payload, and headers; and runs the
// ordering guard.
func (r *Router) event(o *outboxRoute, ev *outboxEvent, ch *source.Change) ([]Record, error) {
	topic, err := o.topic.Execute(func(name string) (string, error) {
		switch name {
		case "id":
			return ev.id, nil
		case "aggregate_type":
			return ev.aggType, nil
		case "aggregate_id":
			return ev.aggID, nil
		case "event_type":
			return ev.eventType, nil
		case "aggregate_version":
			if !ev.hasVersion {
				return "", errors.New("the event has no aggregate_version")
			}
			return strconv.FormatInt(ev.version, 10), nil
		}
		return ev.lookup(name)
	})
	if err == nil {
		err = CheckTopic(topic)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.name, err)
	}
	h := make([]Header, 0, 8+len(ev.extra))
	h = append(h,
		Header{Key: HeaderID, Value: []byte(ev.id)},
		Header{Key: HeaderEventType, Value: []byte(ev.eventType)},
		Header{Key: HeaderAggregateType, Value: []byte(ev.aggType)},
	)
	if ev.hasVersion {
		h = append(h, Header{Key: HeaderAggregateVersion, Value: strconv.AppendInt(nil, ev.version, 10)})
		if o.check != VersionOff {
			a, last := r.guard.Observe(ev.aggType, ev.aggID, ev.version)
			if a != AnomalyNone {
				if a == AnomalyGap {
					r.stats.gaps.Add(1)
				} else {
					r.stats.repeats.Add(1)
				}
				r.notify(Notice{Kind: NoticeVersionAnomaly, Route: o.name, Source: ev.source, TxID: ch.Tx.ID, Position: posText(ch.Pos),
					AggregateType: ev.aggType, AggregateID: ev.aggID, Anomaly: a, Version: ev.version, Last: last})
				if o.check == VersionDLT {
					return nil, fmt.Errorf("%s: aggregate %s/%s: version %d after %d (%s; version_check: dlt)", o.name, ev.aggType, ev.aggID, ev.version, last, a)
				}
				h = append(h, Header{Key: HeaderAnomaly, Value: []byte(a.String())})
			}
		}
	}
	h = append(h, ev.extra...)
	h = append(h, Header{Key: HeaderTxID, Value: []byte(ch.Tx.ID)})
	if p := posText(ch.Pos); p != "" {
		h = append(h, Header{Key: HeaderPosition, Value: []byte(p)})
	}
	r.stats.outbox.Add(1)
	return []Record{{Topic: topic, Key: []byte(ev.aggID), Value: ev.payload, Headers: h}}, nil
}

func (r *Router) notify(n Notice) {
	if r.cfg.Notify != nil {
		r.cfg.Notify(n)
	}
}

func posText(p source.Position) string {
	if p == nil {
		return ""
	}
	return p.String()
}

// payloadJSON returns the payload column's value as JSON: json and jsonb
// columns as they are, text and bytes columns after checking that they hold
// JSON, other values in their JSON form. NULL gives nil (a tombstone).
func payloadJSON(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case schema.Unavailable:
		return nil, errors.New("the source did not send the value (an unchanged TOASTed column)")
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, errors.New("invalid JSON from a json column")
		}
		return v, nil
	case string:
		return checkJSON([]byte(v))
	case []byte:
		return checkJSON(v)
	default:
		return appendValue(nil, v), nil
	}
}

func checkJSON(b []byte) ([]byte, error) {
	if json.Valid(b) {
		return bytes.TrimSpace(b), nil
	}
	var x any
	err := json.Unmarshal(b, &x)
	if err == nil { // cannot happen: Valid and Unmarshal agree
		err = errors.New("invalid")
	}
	return nil, fmt.Errorf("holds invalid JSON (%v): %s", err, preview(b))
}

// preview shows the start of a value in an error.
func preview(b []byte) string {
	const n = 40
	s := string(b)
	if len(s) > n {
		s = truncateRunes(s, n) + "..."
	}
	return strconv.Quote(s)
}

// jsonScalar is the text of a JSON string, number or boolean.
func jsonScalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", errors.New("no value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case '{', '[':
		return "", errors.New("is an object or array, not a string or number")
	case 'n':
		return "", errors.New("is null")
	}
	return string(raw), nil
}

// versionOf reads an aggregate version: an integer column, or text or JSON
// holding an integer.
func versionOf(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case uint64:
		if v > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of range", v)
		}
		return int64(v), nil
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, fmt.Errorf("%v is not an integer", v)
		}
		return int64(v), nil
	}
	s, ok := textOf(v)
	if !ok {
		return 0, errors.New("is NULL")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer", preview([]byte(s)))
	}
	return n, nil
}
