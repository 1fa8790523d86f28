package transform

import (
	"bytes"
	"errors"

	"github.com/cdc-go/cdc/schema"
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

	// tables caches each table version's topic and key columns: both
	// were built for every change. Not safe for concurrent use, as Route
	// is not.
	tables map[*schema.Table]*tableInfo
}

type tableInfo struct {
	topic string
	key   []int
}

// info returns t's topic and key columns.
func (r *Tables) info(t *schema.Table) *tableInfo {
	if ti, ok := r.tables[t]; ok {
		return ti
	}
	if r.tables == nil || len(r.tables) >= maxCachedTables {
		r.tables = map[*schema.Table]*tableInfo{}
	}
	ti := &tableInfo{topic: r.Prefix + "." + t.Namespace + "." + t.Name, key: t.KeyColumns()}
	r.tables[t] = ti
	return ti
}

// Topic returns the topic of a table's events.
func (r *Tables) Topic(ch *source.Change) string {
	if ch.Op == source.OpMessage || ch.Table == nil {
		return r.Prefix + ".message"
	}
	return r.info(ch.Table).topic
}

// Route returns the records for one change: usually one; a delete with
// tombstones gives two; an update that changes the key gives a delete of the
// old key (and its tombstone) followed by a create under the new key, so
// that each key's history stays on its own partition in order.
func (r *Tables) Route(ch *source.Change) ([]Record, error) {
	return r.records(ch)
}

func (r *Tables) records(ch *source.Change) ([]Record, error) {
	var idx []int
	var topic string
	switch {
	case ch.Op != source.OpMessage && ch.Table != nil:
		ti := r.info(ch.Table) // one lookup for the topic and the key
		topic, idx = ti.topic, ti.key
	case ch.Table != nil:
		topic, idx = r.Topic(ch), ch.Table.KeyColumns()
	default:
		topic = r.Topic(ch)
	}
	key := func(row []any) ([]byte, error) { return r.Envelope.EventKey(ch.Table, idx, row) }
	var keyHeader func([]any) ([]byte, error)
	if r.Envelope.Debezium != nil {
		plain := r.Envelope
		plain.SchemaInPayload = false
		keyHeader = func(row []any) ([]byte, error) { return plain.EventKey(ch.Table, idx, row) }
	}
	return rowRecords(ch, topic, key, r.Envelope.Event, r.Tombstones, keyHeader)
}

// Debezium's headers on the records of a key change: the delete and its
// tombstone name the new key, the create the old one (the key payloads,
// without schemas).
const (
	headerNewKey = "__debezium.newkey"
	headerOldKey = "__debezium.oldkey"
)

// rowRecords returns the records of one change on topic, with key giving
// the key of a row image and value the encoded event: usually one record; a
// delete with tombstones gives two; an update that changes the key gives a
// delete of the old key (and its tombstone) followed by a create under the
// new key, so that each key's history stays on its own partition in order.
// An error of key or value is the change's: it goes to the dead-letter topic.
// keyHeader, when set (Debezium mode), gives the key-change records
// Debezium's old and new key headers.
func rowRecords(ch *source.Change, topic string, key func(row []any) ([]byte, error), value func(*source.Change) ([]byte, error), tombstones bool, keyHeader func([]any) ([]byte, error)) ([]Record, error) {
	switch ch.Op {
	case source.OpDelete:
		k, err := key(ch.Before)
		if err != nil {
			return nil, err
		}
		v, err := value(ch)
		if err != nil {
			return nil, err
		}
		recs := []Record{{Topic: topic, Key: k, Value: v}}
		if tombstones && k != nil {
			recs = append(recs, Record{Topic: topic, Key: k})
		}
		return recs, nil
	case source.OpUpdate:
		newKey, err := key(ch.After)
		if err != nil {
			return nil, err
		}
		if ch.Before != nil {
			oldKey, err := key(ch.Before)
			if err != nil {
				return nil, err
			}
			if oldKey != nil && !bytes.Equal(oldKey, newKey) {
				del := *ch
				del.Op, del.After = source.OpDelete, nil
				recs, err := rowRecords(&del, topic, key, value, tombstones, nil)
				if err != nil {
					return nil, err
				}
				ins := *ch
				ins.Op, ins.Before = source.OpCreate, nil
				// The create is the transaction's next event.
				ins.Tx.Order++
				ins.Tx.TableOrder++
				v, err := value(&ins)
				if err != nil {
					return nil, err
				}
				create := Record{Topic: topic, Key: newKey, Value: v}
				if keyHeader != nil {
					oldPlain, err1 := keyHeader(ch.Before)
					newPlain, err2 := keyHeader(ch.After)
					if err := errors.Join(err1, err2); err != nil {
						return nil, err
					}
					for i := range recs {
						recs[i].Headers = append(recs[i].Headers, Header{Key: headerNewKey, Value: newPlain})
					}
					create.Headers = append(create.Headers, Header{Key: headerOldKey, Value: oldPlain})
				}
				return append(recs, create), nil
			}
		}
		v, err := value(ch)
		if err != nil {
			return nil, err
		}
		return []Record{{Topic: topic, Key: newKey, Value: v}}, nil
	case source.OpMessage:
		var k []byte
		if ch.Message != nil {
			k = appendString(nil, ch.Message.Prefix)
		}
		v, err := value(ch)
		if err != nil {
			return nil, err
		}
		return []Record{{Topic: topic, Key: k, Value: v}}, nil
	default:
		k, err := key(ch.After)
		if err != nil {
			return nil, err
		}
		v, err := value(ch)
		if err != nil {
			return nil, err
		}
		return []Record{{Topic: topic, Key: k, Value: v}}, nil
	}
}
