package main

// snapChecker judges a snapshot run (workload snapshot). Keys 1..rows
// exist before the connector starts, each with seq = key; while the
// snapshot runs, a writer updates those keys and inserts new ones, each
// change with a new seq (in commit order). A snapshot shows states, not
// history, so the rules are not checker's:
//
//   - Nothing missed, nothing stale wins: for every key, the newest state
//     written must be read.
//   - Per key, the states read follow commit order. The one exception is a
//     snapshot read (op r) of the state a streamed change of the key has
//     just delivered: the chunk read the row after that change, which is a
//     re-read of the same state, not a reordering and not a duplicate.
//     A streamed change of a state already read by the snapshot means the
//     change is in both: that is counted as out of order.
//   - A change may be absent only if no older state of its key is read
//     (the snapshot read a later state: superseded); it may be read as
//     op r. Once a connector has shown a state of a key, it must show
//     every later change of it. A change committed after a streamed change
//     was read (mustStream) is in the stream, and must be read with its
//     own op.
//   - The same (snapshot read or streamed, seq) read twice is a duplicate.
//
// The initial rows are judged as they are read, in arrays indexed by key,
// so that a 5M-row snapshot costs some 50 MB here, not a map per row. Like
// checker, it is not safe for concurrent use.
type snapChecker struct {
	rows int64 // keys 1..rows, seq = key, written before the connector started

	last   []int64 // per key: the newest seq read (0: none)
	lastR  []bool  // per key: whether that read was a snapshot read
	seen   bitset  // (seq, snapshot read or streamed) read at least once
	writes map[int64]snapWrite
	final  map[int64]int64 // key -> seq of its newest concurrent change
	late   []change        // reads of concurrent seqs, judged in Result

	received, distinct, dups, bad, order, rereads, reads int64
	keysRead                                             int64 // keys of 1..rows read at least once
	streamed                                             bool  // a streamed change has been read
}

// snapWrite is a change written while the snapshot ran.
type snapWrite struct {
	change
	mustStream bool
}

func newSnapChecker(rows int64) *snapChecker {
	return &snapChecker{rows: rows, last: make([]int64, rows+1), lastR: make([]bool, rows+1),
		writes: map[int64]snapWrite{}, final: map[int64]int64{}}
}

// Expect records a change written while the snapshot ran (not the initial
// rows). mustStream says the writer sent it after a streamed change had
// been read (Streamed).
func (c *snapChecker) Expect(ch change, mustStream bool) {
	c.writes[ch.Seq] = snapWrite{ch, mustStream}
	c.final[ch.Key] = ch.Seq
}

// Streamed reports whether a streamed change (op c or u) has been read:
// then the connector streams, and every change committed from now on is
// in its stream.
func (c *snapChecker) Streamed() bool { return c.streamed }

func (c *snapChecker) slot(ch change) int64 {
	s := ch.Seq * 2
	if ch.Op != 'r' {
		s++
	}
	return s
}

// Observe records an event and reports whether it is the first read of
// its (op class, seq).
func (c *snapChecker) Observe(ch change) bool {
	c.received++
	initial := ch.Seq <= c.rows
	if ch.Seq <= 0 || ch.Key <= 0 || (ch.Op != 'c' && ch.Op != 'u' && ch.Op != 'r') ||
		initial && (ch.Key != ch.Seq || ch.Op != 'r') { // the initial rows are only in the snapshot
		c.bad++
		return false
	}
	if c.seen.set(c.slot(ch)) {
		c.dups++
		return false
	}
	c.distinct++
	if ch.Op == 'r' {
		c.reads++
	} else {
		c.streamed = true
	}
	for int64(len(c.last)) <= ch.Key {
		c.last, c.lastR = append(c.last, 0), append(c.lastR, false)
	}
	prev := c.last[ch.Key]
	switch {
	case ch.Seq > prev:
		if prev == 0 && ch.Key <= c.rows {
			c.keysRead++
		}
		c.last[ch.Key], c.lastR[ch.Key] = ch.Seq, ch.Op == 'r'
	case ch.Seq == prev && ch.Op == 'r' && !c.lastR[ch.Key]:
		c.rereads++
		c.lastR[ch.Key] = true
	default:
		c.order++ // a stale state, or a streamed change the snapshot had read
	}
	if !initial {
		c.late = append(c.late, ch)
	}
	return true
}

// Distinct is the number of different reads so far.
func (c *snapChecker) Distinct() int64 { return c.distinct }

// KeysRead is how many of the initial rows' keys have been read in some
// state: all of them once the snapshot is done.
func (c *snapChecker) KeysRead() int64 { return c.keysRead }

func (c *snapChecker) lastOf(key int64) int64 {
	if key < int64(len(c.last)) {
		return c.last[key]
	}
	return 0
}

// Unsettled is how many keys' newest state is not read yet (0 at the end
// of a correct run).
func (c *snapChecker) Unsettled() int64 {
	n := c.rows - c.keysRead
	for k, s := range c.final {
		if l := c.lastOf(k); l < s && !(k <= c.rows && l == 0) { // an unread initial key is counted already
			n++
		}
	}
	return n
}

// Result judges the run.
func (c *snapChecker) Result() correctness {
	r := correctness{
		Expected: c.rows + int64(len(c.writes)), Received: c.received, Distinct: c.distinct,
		Duplicates: c.dups, Unexpected: c.bad, OrderViolations: c.order,
		SnapshotReads: c.reads, Rereads: c.rereads,
	}
	// The oldest state read of each key, and which reads of concurrent
	// changes were under their own key.
	oldest := map[int64]int64{}
	var valid bitset
	for _, o := range c.late {
		if w, ok := c.writes[o.Seq]; !ok || w.Key != o.Key {
			r.Unexpected++
			continue
		}
		valid.set(c.slot(o))
		if m, ok := oldest[o.Key]; !ok || o.Seq < m {
			oldest[o.Key] = o.Seq
		}
	}
	for k := int64(1); k <= c.rows; k++ {
		_, changed := c.final[k]
		switch {
		case c.seen.has(k * 2):
			oldest[k] = k
		case !changed:
			r.Missing++ // a row the snapshot never read
		default:
			r.Superseded++
		}
	}
	for s, w := range c.writes {
		read := valid.has(s*2) || valid.has(s*2+1)
		first, shown := oldest[w.Key]
		switch {
		case w.mustStream && !valid.has(s*2+1):
			r.Missing++ // committed while the connector streamed
		case read:
		case c.final[w.Key] == s:
			r.Missing++ // the key's newest state
		case shown && first < s:
			// The connector had shown an older state of the key, so this
			// change came after its view of the key: it had to be read.
			r.Missing++
		default:
			r.Superseded++
		}
	}
	return r
}
