package mysql

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
)

// Snapshots in the stream (docs/snapshots.md). Between two event groups the
// reader reads one chunk of a table in a consistent snapshot whose binlog
// position `at` is exactly what the chunk saw: every group that ends at or
// before `at` is in it, no later one is. The chunk waits until the stream
// has passed `at`, and is emitted there, before the first later group: so
// no streamed change of a key is older than the chunk's row, and none is
// missed. Nothing is written to the server. Prepared XA transactions count
// where their XA COMMIT is, which is also where the reader publishes them.

// SnapshotTables returns the captured tables that match patterns, as
// "db.table".
func (s *Source) SnapshotTables(ctx context.Context, patterns []string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
		ORDER BY TABLE_SCHEMA, TABLE_NAME`)
	if err != nil {
		return nil, fmt.Errorf("listing tables to snapshot: %w", err)
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var db, name string
		if err := rows.Scan(&db, &name); err != nil {
			return nil, fmt.Errorf("listing tables to snapshot: %w", err)
		}
		all = append(all, db+"."+name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tables to snapshot: %w", err)
	}
	captured, _ := matchTables(s.cfg.Tables, all)
	return snapshot.Select(captured, patterns), nil
}

// SetSnapshot gives the next Stream a snapshot to run; an empty plan runs
// none. Call it before Stream.
func (s *Source) SetSnapshot(plan snapshot.Plan) error {
	if len(plan.Tables) > 0 && s.srv.flavor == FlavorMySQL {
		return fmt.Errorf("snapshot of %d table(s): snapshots read chunks at MariaDB's consistent-snapshot binlog position (binlog_snapshot_file/position), which MySQL does not report, and MySQL's GTID-set watermarks are not built yet; set snapshot.mode: never to stream without reading the rows already in the tables: %w",
			len(plan.Tables), ErrNoSnapshotPosition)
	}
	d, err := snapshot.NewDriver(plan)
	if err != nil {
		return err
	}
	s.snap = d
	return nil
}

// myChunk is a chunk read and waiting for the stream to reach its position.
type myChunk struct {
	id    snapshot.ChunkID
	table *schema.Table
	chunk
	est uint64
	at  time.Time
}

// snapState is the reader's snapshot state.
type snapState struct {
	// readers read the chunks of a round, one per table read at once
	// (snapshot.parallel_tables); readers[0] also reads one-pass tables.
	readers []*chunkReader
	shapes  map[string]shapeKey // table -> shape and key, until a chunk finds it changed
	// pending are the chunks of the round read and not emitted yet.
	pending  []*myChunk
	filePos  Position // the file position after the last event outside a group
	retry    time.Time
	failures int
	started  map[string]bool // tables whose start was logged
	// pass is the one-pass read of a table without a primary key
	// (snapshot_pass.go); keyless names the tables found to have none.
	pass    *myPass
	keyless map[string]bool
	// committed is set once the reader sent a Commit: past the restart's
	// partial transaction, if any.
	committed bool
}

func (st *snapState) close() {
	st.pass.close()
	for _, c := range st.readers {
		c.Close()
	}
}

type shapeKey struct {
	table *schema.Table
	key   []string
}

// snapStep runs after each event: outside a group, and not while the
// stream re-reads for prepared XA transactions, it emits each waiting
// chunk once the stream passed its position, and reads the next round
// when none is left.
func (r *reader) snapStep(ctx context.Context) error {
	d := r.src.snap
	if d == nil || r.group || r.skip != nil {
		return nil
	}
	st := &r.snapSt
	// Round after round while the stream has nothing newer than they saw
	// (an idle server): no need to wait for the next event.
	for {
		kept := st.pending[:0]
		for _, c := range st.pending {
			// Outside a group the reader has passed r.reached too, which
			// carries a file position from the start (before the first
			// event of a session that resumed by GTID says where it is).
			if !st.filePos.atOrAfter(c.chunk.at) && !(r.reached.file != "" && FilePosition(r.reached.file, r.reached.offset).atOrAfter(c.chunk.at)) {
				kept = append(kept, c)
				continue
			}
			if err := r.emitChunk(ctx, c); err != nil {
				return err
			}
		}
		st.pending = kept
		if len(st.pending) > 0 {
			return nil
		}
		if err := r.takeRequest(ctx, d); err != nil {
			return err
		}
		more, err := r.nextChunk(ctx, d)
		if err != nil || !more {
			return err
		}
	}
}

// nextChunk reads the next round into st.pending: a chunk of each table
// being read, at once; or it reads a part of a one-pass table, or skips a
// table that cannot be read. It reports false when it did none of that
// (every table done, a failed chunk's backoff).
func (r *reader) nextChunk(ctx context.Context, d *snapshot.Driver) (bool, error) {
	st := &r.snapSt
	cur := d.Current()
	if cur == nil || time.Now().Before(st.retry) {
		return false, nil
	}
	if st.shapes == nil {
		st.shapes, st.started = map[string]shapeKey{}, map[string]bool{}
	}
	if len(st.readers) == 0 {
		cr, err := r.src.newChunkReader()
		if err != nil {
			return false, err
		}
		st.readers = append(st.readers, cr)
	}
	if st.pass != nil || st.keyless[cur.Table] {
		return true, r.passStep(ctx, cur)
	}
	var tasks []snapshot.Progress
	for _, p := range d.Reading() {
		if !st.keyless[p.Table] { // read alone, when it is Current
			tasks = append(tasks, *p)
		}
	}
	for len(st.readers) < len(tasks) {
		cr, err := r.src.newChunkReader()
		if err != nil {
			return false, err
		}
		st.readers = append(st.readers, cr)
	}
	// Shapes and ids here (the driver and the maps are this goroutine's),
	// the SELECTs at once.
	chunks := make([]*myChunk, len(tasks))
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i := range tasks {
		t := &tasks[i]
		if !st.started[t.Table] {
			st.started[t.Table] = true
			if t.State == snapshot.StatePending {
				r.src.log.Info("snapshot of table started", "table", t.Table, "snapshot", t.Snapshot)
			}
		}
		sk, err := r.chunkShape(ctx, t.Table)
		if err != nil {
			errs[i] = err
			continue
		}
		c := &myChunk{id: d.NextID(), table: sk.table, at: time.Now()}
		chunks[i] = c
		wg.Add(1)
		go func(cr *chunkReader) {
			defer wg.Done()
			errs[i] = r.readChunk(ctx, cr, c, sk, t, d.ChunkSize())
		}(st.readers[i])
	}
	wg.Wait()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	did, failed := false, false
	for i, err := range errs {
		t := &tasks[i]
		switch {
		case err == nil:
			st.pending = append(st.pending, chunks[i])
			did = true
		case errors.Is(err, ErrNoPrimaryKey):
			if st.keyless == nil {
				st.keyless = map[string]bool{}
			}
			st.keyless[t.Table] = true
			did = true // read in one pass, when it is Current
		case errors.Is(err, errTableGone) || errors.Is(err, ErrNoSnapshotPosition):
			r.src.log.Warn("snapshot of table cancelled", "table", t.Table, "reason", err)
			msgs, err := d.Skip(t.Table, r.pos(r.reached), time.Now(), err.Error())
			if err != nil {
				return false, err
			}
			if err := r.emitAll(ctx, msgs); err != nil {
				return false, err
			}
			did = true
		default:
			if errors.Is(err, ErrShapeChanged) {
				delete(st.shapes, t.Table)
			}
			failed = true
			r.src.log.Warn("snapshot chunk failed; reading it again", "table", t.Table, "error", err, "failures", st.failures+1)
		}
	}
	if failed {
		st.failures++
		st.retry = time.Now().Add(min(time.Duration(st.failures)*time.Second, 30*time.Second))
	} else {
		st.failures = 0
	}
	// Emitted at their positions, in the stream's order.
	sort.SliceStable(st.pending, func(i, j int) bool {
		return !st.pending[i].chunk.at.atOrAfter(st.pending[j].chunk.at)
	})
	return did, nil
}

// takeRequest takes an on-demand snapshot request waiting for the reader
// (outside a group, no chunk waiting, past the restart's partial
// transaction) and emits its answer as an empty snapshot transaction at
// the reached position.
func (r *reader) takeRequest(ctx context.Context, d *snapshot.Driver) error {
	st := &r.snapSt
	if len(st.pending) > 0 || d.Partial() && !st.committed {
		return nil
	}
	req, ok := d.Request()
	if !ok {
		return nil
	}
	tables, reason, err := d.Resolve(req, func(p string) ([]string, error) { return r.src.SnapshotTables(ctx, []string{p}) })
	if err != nil {
		return err
	}
	msgs, err := d.Accept(req, tables, reason, r.pos(r.reached), time.Now())
	if err != nil {
		return err
	}
	step := msgs[len(msgs)-1].Commit.Snapshot
	if ans, err := snapshot.ParseSignal(step.Answer.Value); err == nil {
		switch ans.Type {
		case snapshot.SignalRejected:
			r.src.log.Warn("snapshot request rejected", "snapshot", req.ID, "tables", req.Tables, "reason", ans.Reason)
		case snapshot.SignalCancelled:
			r.src.log.Info("snapshot cancelled", "snapshot", req.ID, "tables", ans.Tables, "tables_open", step.Open)
		default:
			r.src.log.Info("snapshot request accepted", "snapshot", req.ID, "tables", ans.Tables, "tables_open", step.Open)
		}
	}
	return r.emitAll(ctx, msgs)
}

// errTableGone reports a snapshot table that no longer exists.
var errTableGone = errors.New("table does not exist any more")

// chunkShape returns the shape and key table's chunks are read with.
func (r *reader) chunkShape(ctx context.Context, table string) (shapeKey, error) {
	st := &r.snapSt
	if sk, ok := st.shapes[table]; ok {
		return sk, nil
	}
	db, name, _ := strings.Cut(table, ".")
	t, key, err := r.src.snapshotShape(ctx, db, name)
	if err != nil {
		if t == nil && !errors.Is(err, ErrNoPrimaryKey) {
			var n int
			if qerr := r.src.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, name).Scan(&n); qerr == nil && n == 0 {
				return shapeKey{}, fmt.Errorf("snapshot of %s: %w", table, errTableGone)
			}
		}
		return shapeKey{}, err
	}
	sk := shapeKey{t, key}
	st.shapes[table] = sk
	return sk, nil
}

// readChunk reads c, the next chunk of cur, with cr. It may run at once
// with the other chunks of a round: it touches nothing but c.
func (r *reader) readChunk(ctx context.Context, cr *chunkReader, c *myChunk, sk shapeKey, cur *snapshot.Progress, size int) error {
	if cur.State == snapshot.StatePending {
		db, name, _ := strings.Cut(cur.Table, ".")
		var est *uint64
		if err := r.src.db.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, name).Scan(&est); err == nil && est != nil {
			c.est = *est
		}
	}
	ch, err := cr.readChunk(ctx, sk.table, sk.key, cur.LastKey, size)
	if err != nil {
		return err
	}
	c.chunk = ch
	return nil
}

func (r *reader) emitChunk(ctx context.Context, c *myChunk) error {
	msgs, err := r.src.snap.Emit(snapshot.Chunk{
		ID: c.id, Table: c.table, Rows: c.rows, Errs: c.errs, Read: len(c.rows), Last: c.last, Estimate: c.est,
		Meta: source.Meta{{Key: "db", Value: c.table.Namespace}},
	}, r.pos(r.reached), c.at)
	if err != nil {
		return err
	}
	if len(c.rows) == 0 {
		step := msgs[len(msgs)-1].Commit.Snapshot
		r.src.log.Info("snapshot of table done", "table", step.Table, "tables_left", step.Open)
	}
	return r.emitAll(ctx, msgs)
}

func (r *reader) emitAll(ctx context.Context, msgs []source.Message) error {
	for _, m := range msgs {
		if err := r.emit(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// notePosition keeps the file position after the last event read outside
// an event group: where a waiting chunk may be emitted.
func (r *reader) notePosition(ev *replication.BinlogEvent) {
	if r.group || r.file == "" {
		return
	}
	switch e := ev.Event.(type) {
	case *replication.HeartbeatEvent:
		if string(e.Filename) == r.file && ev.Header.LogPos > 0 {
			r.snapSt.filePos = FilePosition(r.file, ev.Header.LogPos)
		}
	case *replication.RotateEvent:
		r.snapSt.filePos = FilePosition(r.file, uint32(e.Position))
	default:
		if ev.Header.LogPos > 0 {
			r.snapSt.filePos = FilePosition(r.file, ev.Header.LogPos)
		}
	}
}
