package snapshot

import "fmt"

// ChunkID names one chunk of one snapshot run. It must be unique across
// restarts (it is written into the log with the marks, and a restart replays
// the marks of earlier runs): NewChunkID makes one from the run's nonce and
// the chunk's number. The window only compares ids.
type ChunkID string

// MarkKind is a watermark's kind.
type MarkKind uint8

// The two watermarks of a chunk.
const (
	Low  MarkKind = 1
	High MarkKind = 2
)

func (k MarkKind) String() string {
	switch k {
	case Low:
		return "low"
	case High:
		return "high"
	}
	return fmt.Sprintf("MarkKind(%d)", uint8(k))
}

// Limits bound a window's memory. Zero means no bound.
type Limits struct {
	Rows  int
	Bytes int
}

// Window reconciles one chunk with the stream, by the watermark method:
//
//   - the chunk's rows are added (Add) in the order the database returned
//     them, which is the key order of the chunk's ORDER BY, and Seal says
//     the SELECT is complete;
//   - LowMark is called when the stream passes the chunk's low mark; from
//     then on every key a streamed change touches (Touch) is removed from
//     the chunk: the stream's version of that row is at least as new;
//   - HighMark is called when the stream reaches the high mark; it returns
//     the rows left, in the order they were added, to be emitted as
//     snapshot reads at that place in the stream.
//
// Rows may be added before or after the low mark (the chunk may be read
// before or while the stream passes it): a key touched after the low mark
// and before its row was added is remembered until Seal, so that the row
// is dropped when it arrives (memory for those keys grows with the table's
// streamed changes until Seal; a caller that reads the chunk before the
// stream passes the low mark never needs it). Touches before the low mark
// are ignored (those changes are older than the chunk).
//
// Keys are opaque, canonical encodings of a row's primary key chosen by the
// caller (the envelope's JSON key, say): two rows have the same key exactly
// when their encodings are equal bytes. Keys are never ordered here; order
// is the database's.
//
// A Window is not safe for concurrent use: it belongs to the goroutine that
// reads the stream. It holds at most Limits of rows; Add fails beyond. After
// any error the window is unusable: the caller drops the chunk and reads it
// again with a new window (dropping a chunk is always safe: nothing of it
// was emitted).
type Window[R any] struct {
	id     ChunkID
	limits Limits
	state  windowState
	sealed bool

	rows    []R            // in the order added
	live    []bool         // aligned with rows: not yet made stale
	index   map[string]int // key -> position in rows; -1 for a row dropped as it was added
	removed int            // rows in rows no longer live
	bytes   int
	touched map[string]struct{} // keys touched after the low mark, before Seal, with no row yet
	// allTouched: TouchAll was called before Seal; rows added until Seal are dropped.
	allTouched bool
	dropped    int
	err        error
}

type windowState uint8

const (
	stateLoading windowState = iota // before the low mark
	stateOpen                       // between the marks
	stateClosed                     // after the high mark
)

// NewWindow returns the empty window of chunk id.
func NewWindow[R any](id ChunkID, limits Limits) *Window[R] {
	return &Window[R]{id: id, limits: limits, index: map[string]int{}}
}

// ID returns the window's chunk.
func (w *Window[R]) ID() ChunkID { return w.id }

// Add adds a row of the chunk, of about size bytes (for Limits.Bytes). A
// row whose key the stream already touched since the low mark is dropped at
// once. It fails after Seal, after the high mark, for a key added before,
// and beyond the limits.
func (w *Window[R]) Add(key string, row R, size int) error {
	if err := w.usable(); err != nil {
		return err
	}
	switch {
	case w.state == stateClosed:
		return w.fail(ErrClosed)
	case w.sealed:
		return w.fail(ErrSealed)
	}
	if _, dup := w.index[key]; dup {
		return w.fail(fmt.Errorf("chunk %s: key %s: %w", w.id, key, ErrDuplicateKey))
	}
	if _, ok := w.touched[key]; ok || w.allTouched {
		// Record it as seen, so that the database cannot return it twice
		// unnoticed, but keep no row.
		delete(w.touched, key)
		w.index[key] = -1
		w.dropped++
		return nil
	}
	if w.limits.Rows > 0 && len(w.rows)+1 > w.limits.Rows || w.limits.Bytes > 0 && w.bytes+size > w.limits.Bytes {
		return w.fail(fmt.Errorf("chunk %s: %d rows, %d bytes with this one (limits %d rows, %d bytes): %w",
			w.id, len(w.rows)+1, w.bytes+size, w.limits.Rows, w.limits.Bytes, ErrWindowFull))
	}
	w.index[key] = len(w.rows)
	w.rows = append(w.rows, row)
	w.live = append(w.live, true)
	w.bytes += size
	return nil
}

// Seal says that every row of the chunk has been added. It forgets the keys
// touched without a row: no row can arrive for them any more.
func (w *Window[R]) Seal() error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.state == stateClosed {
		return w.fail(ErrClosed)
	}
	w.sealed, w.touched, w.allTouched = true, nil, false
	return nil
}

// LowMark records that the stream passed the low mark of chunk id. A mark of
// another chunk fails with a *MarkError and leaves the window as it was (the
// caller may skip stale marks); a second low mark fails.
func (w *Window[R]) LowMark(id ChunkID) error {
	if err := w.usable(); err != nil {
		return err
	}
	if id != w.id {
		return &MarkError{Want: w.id, Got: id, Mark: Low}
	}
	switch w.state {
	case stateOpen:
		return w.fail(fmt.Errorf("chunk %s: %w", w.id, ErrSecondLowMark))
	case stateClosed:
		return w.fail(ErrClosed)
	}
	w.state = stateOpen
	if !w.sealed {
		w.touched = map[string]struct{}{}
	}
	return nil
}

// Touch records that a streamed change (insert, update, delete, on the old
// or the new key) touched key. Between the marks it removes the key's row
// and reports whether there was one; before the low mark it does nothing.
// It never fails: touching a closed window is ignored.
func (w *Window[R]) Touch(key string) bool {
	if w.err != nil || w.state != stateOpen {
		return false
	}
	i, ok := w.index[key]
	if !ok {
		if !w.sealed {
			w.touched[key] = struct{}{}
		}
		return false
	}
	if i < 0 || !w.live[i] {
		return false // already dropped
	}
	w.remove(i)
	return true
}

// TouchAll removes every row: a change the caller cannot attribute to keys
// (a truncate, a change of the table's shape) makes the whole chunk stale.
// Rows added after it and before Seal are dropped too: the SELECT may have
// read them before that change.
func (w *Window[R]) TouchAll() {
	if w.err != nil || w.state != stateOpen {
		return
	}
	if !w.sealed {
		w.allTouched = true
	}
	for i := range w.rows {
		if w.live[i] {
			w.remove(i)
		}
	}
}

// HighMark records that the stream reached the high mark of chunk id and
// returns the rows left, in the order they were added. A mark of another
// chunk fails with a *MarkError and leaves the window as it was; a high
// mark before the low mark or before Seal fails. After it, the window is
// closed.
func (w *Window[R]) HighMark(id ChunkID) ([]R, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	if id != w.id {
		return nil, &MarkError{Want: w.id, Got: id, Mark: High}
	}
	switch {
	case w.state == stateClosed:
		return nil, w.fail(ErrClosed)
	case w.state == stateLoading:
		return nil, w.fail(fmt.Errorf("chunk %s: %w", w.id, ErrNoLowMark))
	case !w.sealed:
		return nil, w.fail(fmt.Errorf("chunk %s: %w", w.id, ErrNotSealed))
	}
	w.state = stateClosed
	out := make([]R, 0, len(w.rows)-w.removed)
	for i, r := range w.rows {
		if w.live[i] {
			out = append(out, r)
		}
	}
	w.rows, w.live, w.index = nil, nil, nil
	return out, nil
}

// Dropped returns how many of the chunk's rows the stream made stale.
func (w *Window[R]) Dropped() int { return w.dropped }

// Len returns how many rows the window holds now.
func (w *Window[R]) Len() int { return len(w.rows) - w.removed }

// remove makes row i stale and lets its value be collected.
func (w *Window[R]) remove(i int) {
	var zero R
	w.rows[i], w.live[i] = zero, false
	w.removed++
	w.dropped++
}

func (w *Window[R]) usable() error {
	if w.err != nil {
		return fmt.Errorf("chunk %s: window failed before: %w", w.id, w.err)
	}
	return nil
}

func (w *Window[R]) fail(err error) error {
	w.err = err
	return err
}
