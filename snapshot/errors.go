package snapshot

import (
	"errors"
	"fmt"
)

// Errors of a Window. Each is a bug in the caller or a sign that the log
// does not hold the marks in the order they were written; the caller stops
// the snapshot (never the stream) and re-reads the chunk.
var (
	// ErrNoLowMark: the high mark arrived before the low mark.
	ErrNoLowMark = errors.New("high mark without a low mark")
	// ErrSecondLowMark: the low mark arrived twice.
	ErrSecondLowMark = errors.New("second low mark")
	// ErrNotSealed: the high mark arrived while rows may still be added,
	// that is before the chunk's SELECT finished.
	ErrNotSealed = errors.New("high mark before the chunk's rows are all read")
	// ErrClosed: the window was used after its high mark.
	ErrClosed = errors.New("window already closed")
	// ErrSealed: a row was added after Seal.
	ErrSealed = errors.New("row added after the chunk was sealed")
	// ErrDuplicateKey: the chunk holds the same key twice (the key encoding
	// is not canonical, or the key is not unique).
	ErrDuplicateKey = errors.New("key appears twice in the chunk")
	// ErrWindowFull: the chunk exceeds the window's row or byte limit.
	ErrWindowFull = errors.New("chunk exceeds the window's limits")
	// ErrOtherChunk: a mark names another chunk than the window's. See
	// MarkError.
	ErrOtherChunk = errors.New("mark of another chunk")
)

// MarkError reports a watermark of another chunk than the window's. After a
// restart the log replays the marks of chunks an earlier run wrote; the
// caller skips marks of chunks it did not open (Got older than Want) and
// treats any other mismatch as a bug. It matches ErrOtherChunk with
// errors.Is.
type MarkError struct {
	Want, Got ChunkID
	Mark      MarkKind
}

func (e *MarkError) Error() string {
	return fmt.Sprintf("%s mark of chunk %s in the window of chunk %s", e.Mark, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrOtherChunk) true.
func (e *MarkError) Is(target error) bool { return target == ErrOtherChunk }
