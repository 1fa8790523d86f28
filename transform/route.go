package transform

import (
	"bytes"

	"github.com/cdc-go/cdc/source"
)

// Tables routes row changes to one topic per table,
// "<prefix>.<namespace>.<table>", keyed by the primary key.
type Tables struct {
	Envelope Envelope
	Prefix   string
	// Tombstones adds a null-valued record after each delete, so that
	// compacted topics forget the key (Debezium's default).
	Tombstones bool
}

// Topic returns the topic of a table's events.
func (r *Tables) Topic(ch *source.Change) string {
	if ch.Op == source.OpMessage || ch.Table == nil {
		return r.Prefix + ".message"
	}
	return r.Prefix + "." + ch.Table.Namespace + "." + ch.Table.Name
}

// Route returns the records for one change: usually one; a delete with
// tombstones gives two; an update that changes the key gives a delete of the
// old key (and its tombstone) followed by a create under the new key, so
// that each key's history stays on its own partition in order.
func (r *Tables) Route(ch *source.Change) ([]Record, error) {
	return r.records(ch), nil
}

func (r *Tables) records(ch *source.Change) []Record {
	topic := r.Topic(ch)
	switch ch.Op {
	case source.OpDelete:
		key := Key(ch.Table, ch.Before)
		recs := []Record{{Topic: topic, Key: key, Value: r.Envelope.Value(ch)}}
		if r.Tombstones && key != nil {
			recs = append(recs, Record{Topic: topic, Key: key})
		}
		return recs
	case source.OpUpdate:
		newKey := Key(ch.Table, ch.After)
		if ch.Before != nil {
			if oldKey := Key(ch.Table, ch.Before); oldKey != nil && !bytes.Equal(oldKey, newKey) {
				del := *ch
				del.Op, del.After = source.OpDelete, nil
				recs := r.records(&del)
				ins := *ch
				ins.Op, ins.Before = source.OpCreate, nil
				return append(recs, Record{Topic: topic, Key: newKey, Value: r.Envelope.Value(&ins)})
			}
		}
		return []Record{{Topic: topic, Key: newKey, Value: r.Envelope.Value(ch)}}
	case source.OpMessage:
		var key []byte
		if ch.Message != nil {
			key = appendString(nil, ch.Message.Prefix)
		}
		return []Record{{Topic: topic, Key: key, Value: r.Envelope.Value(ch)}}
	default:
		return []Record{{Topic: topic, Key: Key(ch.Table, ch.After), Value: r.Envelope.Value(ch)}}
	}
}
