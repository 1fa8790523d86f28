package transform

import "sync"

// Encoded keys and values are built in a reused scratch buffer and then
// copied into a shared chunk. Appending to a fresh slice per event grew it
// two or three times for a typical row (a quarter of a backlog drain's
// allocated bytes), and every value was its own object for the GC to
// track; now a chunk serves a hundred small events. A chunk lives until the
// last record carved from it is gone, which is the Kafka commit of its
// batch, so the memory held is about what the open batch holds anyway.
const (
	chunkSize = 32 << 10
	// bigValue and larger get an allocation of their own, so that one
	// long-lived large record cannot pin a chunk of small ones.
	bigValue = 4 << 10
	// maxScratch is the largest scratch buffer kept for the next event.
	maxScratch = 256 << 10
)

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// chunks carves the final copies; a mutex, not per-goroutine chunks,
// because one pipeline encodes and the lock is uncontended.
var chunks struct {
	mu  sync.Mutex
	buf []byte
}

// getScratch returns an empty buffer to encode into; pass what was built
// to keep, which copies it and recycles the buffer.
func getScratch() *[]byte {
	p := scratchPool.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

// keep copies b (built in the scratch buffer p) into memory of its own
// length and capacity, recycles p, and returns the copy.
func keep(p *[]byte, b []byte) []byte {
	out := carve(b)
	if cap(b) <= maxScratch {
		*p = b[:0]
		scratchPool.Put(p)
	}
	return out
}

// carve returns a copy of b whose capacity is its length: appending to it
// never writes into a neighbour's bytes.
func carve(b []byte) []byte {
	n := len(b)
	if n == 0 {
		return []byte{}
	}
	if n >= bigValue {
		return append(make([]byte, 0, n), b...)
	}
	chunks.mu.Lock()
	if len(chunks.buf)+n > cap(chunks.buf) {
		chunks.buf = make([]byte, 0, chunkSize)
	}
	off := len(chunks.buf)
	chunks.buf = append(chunks.buf, b...)
	out := chunks.buf[off : off+n : off+n]
	chunks.mu.Unlock()
	return out
}
