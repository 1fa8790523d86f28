package snapshot

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/transform"
)

// ErrNoKey reports a table without a primary key: it has no chunk order.
var ErrNoKey = errors.New("table has no primary key")

// Plan is the snapshot work a source is given when it starts streaming: the
// tables not done yet, with their committed progress, in the order they are
// read. A nil or empty Plan means no snapshot.
type Plan struct {
	// ID names the snapshot request ("initial").
	ID string
	// Tables are the progress records of the tables not done (pending or
	// running), in reading order.
	Tables []Progress
	// ChunkSize is the number of rows a chunk reads.
	ChunkSize int
	// Value is the envelope's source.snapshot value for the rows:
	// "true" for the initial snapshot, "incremental" for one on demand.
	Value string
	// After, when set, is a position the stream must pass before the first
	// chunk is read (the commit position of the checkpoint's partial
	// transaction, which the restart replays first); the source compares
	// it with its own positions.
	After source.Position
}

// Driver runs a Plan one chunk at a time for a source's stream reader: it
// says which table and key range to read next, and turns the rows of a
// chunk into a snapshot transaction for the pipeline. It knows nothing of
// watermarks: the reader decides when a chunk is read and when it is
// emitted (after reconciling it with the stream). Not safe for concurrent
// use; it belongs to the reader's goroutine.
type Driver struct {
	plan  Plan
	run   string // this process's nonce, in chunk ids
	n     uint64
	tasks []Progress // not done; tasks[0] is read now
}

// NewDriver returns the driver of plan, or nil when plan has no table.
func NewDriver(plan Plan) (*Driver, error) {
	if len(plan.Tables) == 0 {
		return nil, nil
	}
	if plan.ChunkSize < 1 {
		return nil, fmt.Errorf("snapshot: chunk size %d", plan.ChunkSize)
	}
	if plan.Value == "" {
		plan.Value = "true"
	}
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("snapshot: run nonce: %w", err)
	}
	d := &Driver{plan: plan, run: hex.EncodeToString(nonce[:]), tasks: append([]Progress(nil), plan.Tables...)}
	return d, nil
}

// Run returns the process's nonce that chunk ids start with.
func (d *Driver) Run() string { return d.run }

// After returns the position the stream must pass before the first chunk.
func (d *Driver) After() source.Position { return d.plan.After }

// Current returns the table being read and its committed progress, or nil
// when every table is done.
func (d *Driver) Current() *Progress {
	if d == nil || len(d.tasks) == 0 {
		return nil
	}
	return &d.tasks[0]
}

// ChunkSize is the plan's rows per chunk.
func (d *Driver) ChunkSize() int { return d.plan.ChunkSize }

// NextID returns a new chunk id.
func (d *Driver) NextID() ChunkID {
	d.n++
	id, err := NewChunkID(d.run, d.n)
	if err != nil {
		panic(err) // the nonce is hex: never invalid
	}
	return id
}

// Skip drops the current table from the plan with a cancelled record
// (a table that cannot be read: dropped, no key), returning the
// transaction that commits it, as Chunk does.
func (d *Driver) Skip(pos source.Position, at time.Time, reason string) ([]source.Message, error) {
	cur := d.Current()
	if cur == nil {
		return nil, errors.New("snapshot: no table to skip")
	}
	p := *cur
	p.State = StateCancelled
	return d.commit(p, nil, nil, nil, pos, at, "snapshot:"+string(d.NextID()), nil)
}

// Chunk is one read chunk of the current table, reconciled with the stream.
type Chunk struct {
	ID ChunkID
	// Table is the shape the rows were decoded with.
	Table *schema.Table
	// Rows are the rows to emit (those the stream did not make stale), in
	// key order; Read counts every row the chunk read, emitted or not. A
	// chunk that read nothing ends the table.
	Rows [][]any
	// Errs, when set, is aligned with Rows: a row's conversion error (the
	// row then holds the raw values, and goes to the dead-letter topic).
	Errs []error
	Read int
	// Last is the key of the last row read; nil when Read is 0.
	Last []KeyValue
	// Estimate is the table's row estimate, used when the table starts.
	Estimate uint64
	// Meta is the source block of the rows' events ("db" and the like);
	// "snapshot" is set here.
	Meta map[string]any
	// OnePass marks a part of the one-pass read of a table without a
	// primary key: no last key, not reconciled with the stream.
	OnePass bool
}

// RestartPass starts the current table's one-pass read over: a pass that a
// restart interrupted cannot be resumed, its rows are read (and sent)
// again.
func (d *Driver) RestartPass() {
	if cur := d.Current(); cur != nil {
		*cur = Progress{Table: cur.Table, Snapshot: cur.Snapshot, State: StatePending, Estimate: cur.Estimate}
	}
}

// Emit returns the snapshot transaction of chunk c, committed at pos (the
// stream's position where the chunk is emitted: a restart from there reads
// the stream on without a gap), and advances the plan: a chunk that read
// nothing marks the table done and moves to the next one.
func (d *Driver) Emit(c Chunk, pos source.Position, at time.Time) ([]source.Message, error) {
	cur := d.Current()
	if cur == nil {
		return nil, errors.New("snapshot: chunk after every table is done")
	}
	if c.Table == nil || c.Table.ID() != cur.Table {
		return nil, fmt.Errorf("snapshot: chunk of %v while reading %s", c.Table, cur.Table)
	}
	p := *cur
	if p.State == StatePending {
		p.Estimate = c.Estimate
	}
	p.OnePass = c.OnePass
	switch {
	case c.Read == 0:
		p.State = StateDone
	case c.OnePass:
		p.State = StateRunning
		p.Rows += uint64(c.Read)
		p.Chunks++
	case len(c.Last) == 0:
		return nil, fmt.Errorf("snapshot: chunk of %s read %d rows without a last key", cur.Table, c.Read)
	default:
		p.State, p.LastKey = StateRunning, c.Last
		p.Rows += uint64(c.Read)
		p.Chunks++
	}
	meta := make(map[string]any, len(c.Meta)+1)
	for k, v := range c.Meta {
		meta[k] = v
	}
	meta["snapshot"] = d.plan.Value
	return d.commit(p, c.Table, c.Rows, c.Errs, pos, at, "snapshot:"+string(c.ID), meta)
}

func (d *Driver) commit(p Progress, t *schema.Table, rows [][]any, errs []error, pos source.Position, at time.Time, txID string, meta map[string]any) ([]source.Message, error) {
	text, err := p.MarshalText()
	if err != nil {
		return nil, err
	}
	open := len(d.tasks)
	if p.State == StateDone || p.State == StateCancelled {
		open--
	}
	msgs := make([]source.Message, 0, len(rows)+2)
	msgs = append(msgs, source.Message{Begin: &source.Begin{TxID: txID, CommitTime: at, Snapshot: true}})
	for i, row := range rows {
		ch := &source.Change{
			Op: source.OpRead, Table: t, After: row, Meta: meta,
			Tx: source.Tx{ID: txID, Order: i + 1, CommitTime: at},
		}
		if i < len(errs) {
			ch.Err = errs[i]
		}
		msgs = append(msgs, source.Message{Change: ch})
	}
	msgs = append(msgs, source.Message{Commit: &source.Commit{TxID: txID, Pos: pos, CommitTime: at,
		Snapshot: &source.SnapshotStep{Table: p.Table, Progress: text, ID: d.plan.ID, Open: open}}})
	// The plan moves on now; if the Kafka transaction fails, the run ends
	// and the next one starts from what Kafka holds.
	if open < len(d.tasks) {
		d.tasks = d.tasks[1:]
	} else {
		d.tasks[0] = p
	}
	return msgs, nil
}

// Key is the canonical encoding of row's key in the window: the envelope's
// JSON key, computed from the decoded values, so that a streamed change and
// a chunk row of the same row have the same key.
func Key(t *schema.Table, row []any) string {
	return string(transform.Key(t, row))
}
