package main

import (
	"fmt"
	"math/bits"
)

// Correctness of one run, from what the writer committed and what the
// consumer read. The writer registers every change it committed (Expect),
// in commit order; the consumer registers every event it read (Observe), in
// each partition's order. Both may run at once: an event is often visible
// before the writer's commit returns, so nothing is judged until Result.
//
// An event is identified by its op and the seq of its row image: a create or
// update writes a new, run-unique seq into the row; a delete carries the
// seq of the row it deletes (its before image), so (op, seq) is unique too.

// change is one row change, as written or as read.
type change struct {
	Key int64
	Seq int64
	Op  byte // 'c', 'u' or 'd'; as read also 'r' (a snapshot read)
}

// slot is the change's index in the seen bitmap: two per seq, one for
// creates and updates, one for deletes.
func (c change) slot() int64 {
	s := c.Seq * 2
	if c.Op == 'd' {
		s++
	}
	return s
}

// checker is not safe for concurrent use: the caller serialises Expect and
// Observe (the workloads hold one mutex around it).
type checker struct {
	expected []change // in commit order
	observed []change // first and repeated reads, in read order
	seen     bitset   // slots read at least once
	distinct int64
	dups     int64
	bad      int64 // events that are not a valid change of this run (seq <= 0, unknown op)
}

// Expect records a change the writer committed.
func (c *checker) Expect(ch change) { c.expected = append(c.expected, ch) }

// Observe records an event read from Kafka and reports whether it is the
// first read of that change.
func (c *checker) Observe(ch change) bool {
	if ch.Op == 'r' {
		ch.Op = 'c' // a snapshot read counts as the row's creation
	}
	if ch.Seq <= 0 || (ch.Op != 'c' && ch.Op != 'u' && ch.Op != 'd') {
		c.bad++
		return false
	}
	c.observed = append(c.observed, ch)
	if c.seen.set(ch.slot()) {
		c.dups++
		return false
	}
	c.distinct++
	return true
}

// Distinct is the number of different changes read so far.
func (c *checker) Distinct() int64 { return c.distinct }

// correctness is the verdict on a run; OK is false when any change is
// missing, unexpected, out of order per key, or (for an exactly-once
// connector) read twice.
type correctness struct {
	Expected        int64 `json:"expected"`
	Received        int64 `json:"received"` // events read, duplicates included
	Distinct        int64 `json:"distinct"`
	Missing         int64 `json:"missing"`
	Unexpected      int64 `json:"unexpected"` // read but never written (or not a valid change)
	Duplicates      int64 `json:"duplicates"`
	OrderViolations int64 `json:"order_violations"` // per key, first reads out of commit order
	// Snapshot runs (snapChecker): snapshot reads (op r), re-reads (a
	// snapshot read of the state a streamed change had just delivered) and
	// changes written before the stream began that no read shows (the
	// snapshot read a later state). None of them is a problem.
	SnapshotReads int64 `json:"snapshot_reads,omitempty"`
	Rereads       int64 `json:"rereads,omitempty"`
	Superseded    int64 `json:"superseded,omitempty"`
}

// Result compares the reads with the writes.
func (c *checker) Result() correctness {
	r := correctness{
		Expected:   int64(len(c.expected)),
		Received:   int64(len(c.observed)) + c.bad,
		Distinct:   c.distinct,
		Duplicates: c.dups,
		Unexpected: c.bad,
	}
	// Position of each change in its key's commit order.
	type pos struct {
		key int64
		idx int
	}
	where := make(map[int64]pos, len(c.expected))
	perKey := map[int64]int{}
	var written bitset
	for _, e := range c.expected {
		where[e.slot()] = pos{e.Key, perKey[e.Key]}
		perKey[e.Key]++
		written.set(e.slot())
	}
	for s := range c.seen.all() {
		if !written.has(s) {
			r.Unexpected++
		}
	}
	r.Missing = r.Expected - (r.Distinct - (r.Unexpected - c.bad))
	// Per key, the first reads must follow commit order. A repeat (an
	// at-least-once redelivery) is a duplicate, not a reordering.
	last := map[int64]int{}
	var firsts bitset
	for _, o := range c.observed {
		s := o.slot()
		if firsts.set(s) {
			continue
		}
		p, ok := where[s]
		if !ok {
			continue
		}
		if p.key != o.Key {
			r.Unexpected++ // the right seq under the wrong key
			continue
		}
		if prev, ok := last[p.key]; ok && p.idx <= prev {
			r.OrderViolations++
		}
		if prev, ok := last[p.key]; !ok || p.idx > prev {
			last[p.key] = p.idx
		}
	}
	return r
}

// OK reports whether the run counts: everything present, nothing foreign,
// per-key order kept, and no duplicates unless the connector is only
// at-least-once.
func (r correctness) OK(exactlyOnce bool) bool {
	return len(r.Problems(exactlyOnce)) == 0
}

// Problems says what is wrong, one phrase each.
func (r correctness) Problems(exactlyOnce bool) []string {
	var p []string
	if r.Missing > 0 {
		p = append(p, fmt.Sprintf("%d of %d changes missing", r.Missing, r.Expected))
	}
	if r.Unexpected > 0 {
		p = append(p, fmt.Sprintf("%d unexpected events", r.Unexpected))
	}
	if r.OrderViolations > 0 {
		p = append(p, fmt.Sprintf("%d events out of order per key", r.OrderViolations))
	}
	if r.Duplicates > 0 && exactlyOnce {
		p = append(p, fmt.Sprintf("%d duplicates from an exactly-once connector", r.Duplicates))
	}
	return p
}

// bitset is a growable set of non-negative integers.
type bitset []uint64

// set adds i and reports whether it was already there.
func (b *bitset) set(i int64) bool {
	w := int(i / 64)
	for len(*b) <= w {
		*b = append(*b, 0)
	}
	m := uint64(1) << (i % 64)
	had := (*b)[w]&m != 0
	(*b)[w] |= m
	return had
}

func (b bitset) has(i int64) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(uint64(1)<<(i%64)) != 0
}

// all yields the members in increasing order.
func (b bitset) all() func(yield func(int64) bool) {
	return func(yield func(int64) bool) {
		for w, x := range b {
			for x != 0 {
				i := int64(w)*64 + int64(bits.TrailingZeros64(x))
				if !yield(i) {
					return
				}
				x &= x - 1
			}
		}
	}
}
