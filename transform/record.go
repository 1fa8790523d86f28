// Package transform turns source changes into Kafka records: the event
// envelope, topic and key routing, column filters and masking, and the
// outbox event router. Everything here is a pure function of its inputs (the
// version guard keeps bounded state): no I/O.
package transform

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is what the sink writes: a topic, a key, a value and headers.
// A nil Value is a tombstone.
type Record struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers []Header
}

// Size is the record's approximate size on the wire, for batching decisions.
func (r *Record) Size() int {
	n := len(r.Topic) + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}
