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
	key := func(row []any) []byte { return Key(ch.Table, row) }
	return rowRecords(ch, r.Topic(ch), key, r.Envelope.Value, r.Tombstones)
}

// rowRecords returns the records of one change on topic, with key giving
// the key of a row image and value the encoded event: usually one record; a
// delete with tombstones gives two; an update that changes the key gives a
// delete of the old key (and its tombstone) followed by a create under the
// new key, so that each key's history stays on its own partition in order.
func rowRecords(ch *source.Change, topic string, key func(row []any) []byte, value func(*source.Change) []byte, tombstones bool) []Record {
	switch ch.Op {
	case source.OpDelete:
		k := key(ch.Before)
		recs := []Record{{Topic: topic, Key: k, Value: value(ch)}}
		if tombstones && k != nil {
			recs = append(recs, Record{Topic: topic, Key: k})
		}
		return recs
	case source.OpUpdate:
		newKey := key(ch.After)
		if ch.Before != nil {
			if oldKey := key(ch.Before); oldKey != nil && !bytes.Equal(oldKey, newKey) {
				del := *ch
				del.Op, del.After = source.OpDelete, nil
				recs := rowRecords(&del, topic, key, value, tombstones)
				ins := *ch
				ins.Op, ins.Before = source.OpCreate, nil
				// The create is the transaction's next event.
				ins.Tx.Order++
				ins.Tx.TableOrder++
				return append(recs, Record{Topic: topic, Key: newKey, Value: value(&ins)})
			}
		}
		return []Record{{Topic: topic, Key: newKey, Value: value(ch)}}
	case source.OpMessage:
		var k []byte
		if ch.Message != nil {
			k = appendString(nil, ch.Message.Prefix)
		}
		return []Record{{Topic: topic, Key: k, Value: value(ch)}}
	default:
		return []Record{{Topic: topic, Key: key(ch.After), Value: value(ch)}}
	}
}
