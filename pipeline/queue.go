package pipeline

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/cdc-go/cdc/source"
)

// queue carries messages from the source to the pipeline, bounded both by
// count (the channel's capacity) and by approximate bytes (the budget), so
// that rows of megabytes cannot pile up gigabytes between the two.
//
// The source sends on in, which is unbuffered; forward moves each message to
// out once the budget has room for it, so the source blocks (backpressure)
// while the budget is full. The pipeline calls release after handling a
// message. A message larger than the whole budget passes when the queue is
// empty, alone.
type queue struct {
	in  chan source.Message
	out chan queued

	mu    sync.Mutex
	used  int
	limit int
	freed chan struct{} // one pending wake-up for forward
}

type queued struct {
	m    source.Message
	size int
}

func newQueue(count, bytes int) *queue {
	return &queue{
		in:    make(chan source.Message),
		out:   make(chan queued, count),
		limit: bytes,
		freed: make(chan struct{}, 1),
	}
}

// forward runs until in is closed (after the source's Stream returned) and
// out is drained into, or ctx ends; it then closes out.
func (q *queue) forward(ctx context.Context) {
	defer close(q.out)
	for m := range q.in {
		n := messageSize(m)
		if !q.acquire(ctx, n) {
			return
		}
		select {
		case q.out <- queued{m, n}:
		case <-ctx.Done():
			return
		}
	}
}

// acquire waits until n bytes fit in the budget. Only forward calls it.
func (q *queue) acquire(ctx context.Context, n int) bool {
	for {
		q.mu.Lock()
		if q.used == 0 || q.used+n <= q.limit {
			q.used += n
			q.mu.Unlock()
			return true
		}
		q.mu.Unlock()
		select {
		case <-q.freed:
		case <-ctx.Done():
			return false
		}
	}
}

// release returns the bytes of a handled message to the budget.
func (q *queue) release(n int) {
	q.mu.Lock()
	q.used -= n
	q.mu.Unlock()
	select {
	case q.freed <- struct{}{}:
	default:
	}
}

// messageSize approximates the memory a message holds: its values' bytes
// plus a fixed cost per value and per message.
func messageSize(m source.Message) int {
	const perMessage, perValue = 128, 16
	n := perMessage
	if ch := m.Change; ch != nil {
		for _, row := range [][]any{ch.Before, ch.After} {
			for _, v := range row {
				n += perValue + valueSize(v)
			}
		}
		if ch.Message != nil {
			n += len(ch.Message.Prefix) + len(ch.Message.Content)
		}
		n += perValue * len(ch.Meta)
	}
	return n
}

func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []byte:
		return len(v)
	case json.RawMessage:
		return len(v)
	}
	return 8
}
