package snapshot

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
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
	// Parallel is how many tables have a chunk read at once
	// (snapshot.parallel_tables); 0 means 1.
	Parallel int
	// Value is the envelope's source.snapshot value for the rows of
	// tables whose Progress.Snapshot is ID: "true" for the initial
	// snapshot, "incremental" for one on demand. Rows of other snapshots
	// (on-demand requests the plan resumes or takes) are "incremental".
	Value string
	// Requests, when set, delivers on-demand requests (and cancels) from
	// the signals topic; the reader takes them between transactions with
	// Driver.Request and answers each with Driver.Accept.
	Requests <-chan Request
	// Patterns are the tables a request without tables snapshots
	// (snapshot.tables).
	Patterns []string
	// Partial says that the run resumes inside a source transaction (the
	// checkpoint's partial transaction): a reader whose positions cannot
	// tell where it ends (After is nil) takes no request before it has
	// sent that transaction's Commit.
	Partial bool
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

// NewDriver returns the driver of plan, or nil when plan has no table and
// no Requests channel.
func NewDriver(plan Plan) (*Driver, error) {
	if len(plan.Tables) == 0 && plan.Requests == nil {
		return nil, nil
	}
	if plan.ChunkSize < 1 {
		return nil, fmt.Errorf("snapshot: chunk size %d", plan.ChunkSize)
	}
	if plan.Value == "" {
		plan.Value = "incremental"
		if plan.ID == Initial || plan.ID == "" {
			plan.Value = "true"
		}
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

// Partial reports whether the run resumes inside a source transaction.
func (d *Driver) Partial() bool { return d.plan.Partial }

// Resolve returns the captured tables that req's patterns (the plan's
// Patterns when it names none) match, in order and without repeats, and
// the reason to reject it when a pattern matches no captured table. list
// returns the captured tables matching one pattern (the source's
// SnapshotTables).
func (d *Driver) Resolve(req Request, list func(pattern string) ([]string, error)) (tables []string, reason string, err error) {
	patterns := req.Tables
	if len(patterns) == 0 {
		patterns = d.plan.Patterns
	}
	if len(patterns) == 0 {
		patterns = []string{"*"} // every captured table
	}
	seen := map[string]bool{}
	var missing []string
	for _, p := range patterns {
		got, err := list(p)
		if err != nil {
			return nil, "", err
		}
		if len(got) == 0 {
			missing = append(missing, p)
		}
		for _, t := range got {
			if !seen[t] {
				seen[t] = true
				tables = append(tables, t)
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Sprintf("not captured (source.tables, or the publication): %s", strings.Join(missing, ", ")), nil
	}
	return tables, "", nil
}

// Current returns the table being read and its committed progress, or nil
// when every table is done.
func (d *Driver) Current() *Progress {
	if d == nil || len(d.tasks) == 0 {
		return nil
	}
	return &d.tasks[0]
}

// Reading returns the tables whose next chunks are read now, in plan order:
// the first Plan.Parallel tables not done. The first is Current. A source
// reads one chunk of each (at once, on connections of its own), emits each
// where the stream reconciles it, and reads the next ones when every chunk
// of the round is emitted; a table read in one pass (no primary key) is
// read alone, when it is Current.
func (d *Driver) Reading() []*Progress {
	if d == nil {
		return nil
	}
	n := min(max(d.plan.Parallel, 1), len(d.tasks))
	out := make([]*Progress, n)
	for i := range out {
		out[i] = &d.tasks[i]
	}
	return out
}

// task returns the index of table's task, or -1.
func (d *Driver) task(table string) int {
	for i := range d.tasks {
		if d.tasks[i].Table == table {
			return i
		}
	}
	return -1
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

// Skip drops table from the plan with a cancelled record (a table that
// cannot be read: dropped, say), returning the transaction that commits
// it, as Emit does.
func (d *Driver) Skip(table string, pos source.Position, at time.Time, reason string) ([]source.Message, error) {
	i := d.task(table)
	if i < 0 {
		return nil, fmt.Errorf("snapshot: no table %s to skip", table)
	}
	p := d.tasks[i]
	p.State = StateCancelled
	return d.commit(p, nil, nil, nil, pos, at, "snapshot:"+string(d.NextID()), nil)
}

// Request returns an on-demand request waiting for the reader, without
// blocking. The reader calls it between transactions when no chunk is in
// flight, and answers what it gets with Accept.
func (d *Driver) Request() (Request, bool) {
	if d == nil || d.plan.Requests == nil {
		return Request{}, false
	}
	select {
	case r, ok := <-d.plan.Requests:
		return r, ok
	default:
		return Request{}, false
	}
}

// Accept answers req and returns the empty snapshot transaction that
// commits the answer, committed at pos (the reader's position: nothing
// was read), with the signals offset after req. For a snapshot request,
// tables are the captured tables req's patterns resolve to, and reason,
// when not empty, rejects it (a pattern that matches no captured table):
// an accepted request appends a pending task per table, and a table that
// is in the plan already (being read, or waiting) is dropped from it and
// restarts from its first chunk under req's id. A cancel stops the tasks
// of req.ID not done with cancelled records (tables is ignored). Call it
// only when no chunk is in flight: the current table may change.
func (d *Driver) Accept(req Request, tables []string, reason string, pos source.Position, at time.Time) ([]source.Message, error) {
	ans := Signal{ID: req.ID, Connector: req.Connector, Tables: req.Tables}
	var recs []source.SnapshotRecord
	add := func(p Progress) error {
		text, err := p.MarshalText()
		if err != nil {
			return err
		}
		recs = append(recs, source.SnapshotRecord{Table: p.Table, Progress: text})
		return nil
	}
	switch {
	case req.Type == SignalCancel:
		ans.Type, ans.Tables = SignalCancelled, nil
		kept := d.tasks[:0]
		for _, t := range d.tasks {
			if t.Snapshot != req.ID {
				kept = append(kept, t)
				continue
			}
			t.State = StateCancelled
			if err := add(t); err != nil {
				return nil, err
			}
			ans.Tables = append(ans.Tables, t.Table)
		}
		d.tasks = kept
	case req.Type != SignalSnapshot:
		return nil, fmt.Errorf("snapshot: %s signal %q is not a request", req.Type, req.ID)
	case reason == "" && d.hasID(req.ID):
		ans.Type, ans.Reason = SignalRejected, fmt.Sprintf("snapshot %q is running; cancel it or use another id", req.ID)
	case reason == "" && len(tables) == 0:
		ans.Type, ans.Reason = SignalRejected, "no table to snapshot"
	case reason != "":
		ans.Type, ans.Reason = SignalRejected, reason
	default:
		ans.Type, ans.Tables = SignalAccepted, tables
		want := map[string]bool{}
		for _, t := range tables {
			want[t] = true
		}
		kept := d.tasks[:0]
		for _, t := range d.tasks {
			if !want[t.Table] {
				kept = append(kept, t)
			}
		}
		d.tasks = kept
		for _, t := range tables {
			p := Progress{Table: t, Snapshot: req.ID, State: StatePending}
			if err := add(p); err != nil {
				return nil, err
			}
			d.tasks = append(d.tasks, p)
		}
	}
	value, err := ans.MarshalText()
	if err != nil {
		return nil, err
	}
	txID := "snapshot:" + string(d.NextID())
	step := d.state()
	step.Records = recs
	step.Answer = &source.SignalAnswer{ID: req.ID, Value: value, Offset: req.Offset}
	return []source.Message{
		{Begin: &source.Begin{TxID: txID, CommitTime: at, Snapshot: true}},
		{Commit: &source.Commit{TxID: txID, Pos: pos, CommitTime: at, Snapshot: &step}},
	}, nil
}

func (d *Driver) hasID(id string) bool {
	for _, t := range d.tasks {
		if t.Snapshot == id {
			return true
		}
	}
	return false
}

// state is the snapshot state of the plan as it stands: the ids with
// tables not done, and how many tables.
func (d *Driver) state() source.SnapshotStep {
	st := source.SnapshotStep{Open: len(d.tasks)}
	seen := map[string]bool{}
	for _, t := range d.tasks {
		if seen[t.Snapshot] {
			continue
		}
		seen[t.Snapshot] = true
		if st.ID == "" {
			st.ID = t.Snapshot
		} else {
			st.Also = append(st.Also, t.Snapshot)
		}
	}
	return st
}

// value is the source.snapshot value of the rows of snapshot id.
func (d *Driver) value(id string) string {
	if id == d.plan.ID || id == "" {
		return d.plan.Value
	}
	if id == Initial {
		return "true"
	}
	return "incremental"
}

// Chunk is one read chunk of a table being read, reconciled with the stream.
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
	Meta source.Meta
	// OnePass marks a part of the one-pass read of a table without a
	// primary key: no last key, not reconciled with the stream.
	OnePass bool
}

// BeginPass is called when a one-pass read of the current table opens. A
// pass that an earlier run began and a restart cut cannot be resumed: the
// table's progress starts over, and BeginPass returns how many rows the cut
// pass had committed (they are read, and sent, again); 0 otherwise.
func (d *Driver) BeginPass() (resent uint64) {
	cur := d.Current()
	if cur == nil || cur.State != StateRunning {
		return 0
	}
	resent = cur.Rows
	*cur = Progress{Table: cur.Table, Snapshot: cur.Snapshot, State: StatePending, Estimate: cur.Estimate}
	return resent
}

// Emit returns the snapshot transaction of chunk c, committed at pos (the
// stream's position where the chunk is emitted: a restart from there reads
// the stream on without a gap), and advances the plan: a chunk that read
// nothing marks its table done, and the next table waiting is read.
func (d *Driver) Emit(c Chunk, pos source.Position, at time.Time) ([]source.Message, error) {
	if c.Table == nil {
		return nil, errors.New("snapshot: chunk without a table")
	}
	i := d.task(c.Table.ID())
	if i < 0 || i >= max(d.plan.Parallel, 1) {
		return nil, fmt.Errorf("snapshot: chunk of %s, which is not being read", c.Table.ID())
	}
	cur := &d.tasks[i]
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
	meta := c.Meta
	meta.Set("snapshot", d.value(p.Snapshot)) // a copy: c.Meta is the reader's
	return d.commit(p, c.Table, c.Rows, c.Errs, pos, at, "snapshot:"+string(c.ID), meta)
}

func (d *Driver) commit(p Progress, t *schema.Table, rows [][]any, errs []error, pos source.Position, at time.Time, txID string, meta source.Meta) ([]source.Message, error) {
	text, err := p.MarshalText()
	if err != nil {
		return nil, err
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
	// The plan moves on now; if the Kafka transaction fails, the run ends
	// and the next one starts from what Kafka holds.
	i := d.task(p.Table)
	switch {
	case i < 0:
		return nil, fmt.Errorf("snapshot: no table %s in the plan", p.Table)
	case p.State == StateDone || p.State == StateCancelled:
		d.tasks = append(d.tasks[:i], d.tasks[i+1:]...)
	default:
		d.tasks[i] = p
	}
	step := d.state()
	step.Table, step.Progress = p.Table, text
	msgs = append(msgs, source.Message{Commit: &source.Commit{TxID: txID, Pos: pos, CommitTime: at, Snapshot: &step}})
	return msgs, nil
}

// Key is the canonical encoding of row's key in the window: the envelope's
// JSON key, computed from the decoded values, so that a streamed change and
// a chunk row of the same row have the same key.
func Key(t *schema.Table, row []any) string {
	return string(transform.Key(t, row))
}

// Select returns the tables ("namespace.table") that match one of the
// patterns (path.Match syntax), in their order.
func Select(tables, patterns []string) []string {
	var out []string
	for _, t := range tables {
		for _, p := range patterns {
			if ok, _ := path.Match(p, t); ok {
				out = append(out, t)
				break
			}
		}
	}
	return out
}
