package pipeline

import (
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/transform"
)

// Replays. `cdc positions set` (or `cdc run --from`) can move a stopped
// connector back to an older position; its checkpoint then carries the
// position it replaced as a replay bound. The events between the two were
// committed to Kafka before: the run sends them again, each record with the
// header cdc.replay: true, and keeps the bound in its checkpoints until the
// stream has passed it, so that a restart in the middle of the replay goes
// on marking. Past the bound, records are new and unmarked, and the
// checkpoints drop the bound.
//
// Whether a transaction is a replay is decided at its Begin (its records
// are written before its Commit arrives), by the source's own order:
// ReplayOrder.Covers. Sources emit transactions in commit order, so once one
// is not covered none after it is.

// ReplayHeader is the header that marks a replayed record.
const ReplayHeader = "cdc.replay"

// ReplayOrder orders a source's positions (source/mysql.Order,
// source/postgres.Order).
type ReplayOrder interface {
	// Covers reports whether the transaction b begins ends at or before
	// until: it was sent before the move.
	Covers(until source.Position, b *source.Begin) bool
	// Reached reports whether pos is at or after until.
	Reached(until, pos source.Position) bool
}

// Replay is the replay bound a run starts with.
type Replay struct {
	// Until is the parsed Bound.Until.
	Until source.Position
	// Bound is the bound as the checkpoint stores it; the run's
	// checkpoints carry it while the replay lasts.
	Bound kafka.ReplayBound
	Order ReplayOrder
}

func (p *run) startReplay() {
	if p.replay == nil {
		return
	}
	if p.resume != nil && p.replay.Bound.Tx == "" && p.replay.Order.Reached(p.replay.Until, p.resume) {
		p.replay = nil // the start is at or past the bound already
		return
	}
	p.opt.Log.Info("replaying: events up to the replaced position are sent again with the header "+ReplayHeader+": true",
		"from", p.resume, "until", p.replay.Until.String())
}

// replayOf returns how many changes of the transaction b begins are
// replays: -1 for all, 0 for none; past the bound it ends the replay.
func (p *run) replayOf(b *source.Begin) int {
	r := p.replay
	switch {
	case r == nil:
		return 0
	case r.Bound.Tx != "" && r.Bound.Tx == b.TxID:
		// The replaced checkpoint was inside this transaction: its first
		// Bound.Changes changes were committed before. The replay ends at
		// its Commit.
		return r.Bound.Changes
	case r.Order.Covers(r.Until, b):
		return -1
	}
	p.endReplay()
	return 0
}

// passed ends the replay when the stream reached its bound at pos (the end
// of transaction tx, or a heartbeat when tx is "").
func (p *run) passed(tx string, pos source.Position) {
	r := p.replay
	switch {
	case r == nil:
	case r.Bound.Tx != "":
		if tx == r.Bound.Tx {
			p.endReplay()
		}
	case pos != nil && r.Order.Reached(r.Until, pos):
		p.endReplay()
	}
}

func (p *run) endReplay() {
	if p.replay == nil {
		return
	}
	p.opt.Log.Info("replay done: the stream passed the replaced position; events from here on are new", "until", p.replay.Until.String(), "replayed_events", p.replayed)
	p.replay = nil
}

// replayBound is the bound the next checkpoint carries.
func (p *run) replayBound() *kafka.ReplayBound {
	if p.replay == nil {
		return nil
	}
	b := p.replay.Bound
	return &b
}

// markReplay adds the replay header to r when replay is set. It does not
// modify r's header slice in place.
func markReplay(r transform.Record, replay bool) transform.Record {
	if !replay {
		return r
	}
	h := make([]transform.Header, 0, len(r.Headers)+1)
	h = append(h, r.Headers...)
	r.Headers = append(h, transform.Header{Key: ReplayHeader, Value: []byte("true")})
	return r
}
