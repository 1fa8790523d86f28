package postgres

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
)

// Snapshots (docs/snapshots.md). Between two streamed transactions the
// reader reads one chunk of a table, on a connection of its own, in one
// REPEATABLE READ transaction that takes the snapshot S first, then selects
// the chunk, then writes a non-transactional logical message, the high
// mark, into the WAL. The stream delivers the mark where it was written.
// Until then, every streamed transaction that S does not see (it committed
// after S was taken) touches the keys it changes: the chunk's rows of those
// keys are stale and dropped. At the mark the rest of the chunk is emitted
// as snapshot reads. A transaction S does see has committed before S, so
// it is in the chunk and was or will be streamed before the mark: its
// events come first, then the chunk's rows, which are at least as new.
//
// The one case this cannot fix: a transaction whose commit the reader had
// already streamed before the chunk started, but which was still running
// for S (its commit record is in the WAL before it leaves the proc array).
// Its events are out and the chunk's rows are older. The reader remembers
// the xids it streamed that S might not see (those not below S's xmin) and
// reads such a chunk again.

// maxRecentXids bounds the xids the reader keeps for that check.
const maxRecentXids = 1 << 20

// SnapshotTables returns the captured tables that match patterns, in
// "schema.table" form, in the order Open found them.
func (s *Source) SnapshotTables(_ context.Context, patterns []string) ([]string, error) {
	names := make([]string, len(s.tables))
	for i, t := range s.tables {
		names[i] = t.String()
	}
	return snapshot.Select(names, patterns), nil
}

// SetSnapshot gives the next Stream a snapshot to run; an empty plan runs
// none. Call it before Stream.
func (s *Source) SetSnapshot(plan snapshot.Plan) error {
	d, err := snapshot.NewDriver(plan)
	if err != nil {
		return err
	}
	s.snap = d
	return nil
}

// pgSnapshot is a transaction snapshot, from pg_current_snapshot().
type pgSnapshot struct {
	xmin, xmax uint32
	xip        map[uint32]bool
}

// parseSnapshot parses pg_current_snapshot()'s text, "xmin:xmax:xip,...",
// keeping the low 32 bits that the stream's xids have.
func parseSnapshot(text string) (pgSnapshot, error) {
	parts := strings.Split(text, ":")
	if len(parts) != 3 {
		return pgSnapshot{}, fmt.Errorf("unexpected pg_current_snapshot() %q", text)
	}
	var s pgSnapshot
	for i, dst := range []*uint32{&s.xmin, &s.xmax} {
		v, err := strconv.ParseUint(parts[i], 10, 64)
		if err != nil {
			return pgSnapshot{}, fmt.Errorf("unexpected pg_current_snapshot() %q", text)
		}
		*dst = uint32(v)
	}
	s.xip = map[uint32]bool{}
	if parts[2] != "" {
		for _, x := range strings.Split(parts[2], ",") {
			v, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				return pgSnapshot{}, fmt.Errorf("unexpected pg_current_snapshot() %q", text)
			}
			s.xip[uint32(v)] = true
		}
	}
	return s, nil
}

// sees reports whether a committed transaction xid is visible to the
// snapshot. xids compare modulo 2^32, as Postgres compares them.
func (s pgSnapshot) sees(xid uint32) bool {
	if int32(xid-s.xmax) >= 0 {
		return false
	}
	return !s.xip[xid]
}

// below reports whether xid precedes the snapshot's xmin: every snapshot
// taken from now on sees it.
func (s pgSnapshot) below(xid uint32) bool { return int32(xid-s.xmin) < 0 }

// pgChunk is a chunk read and waiting for its high mark.
type pgChunk struct {
	id    snapshot.ChunkID
	table *schema.Table
	win   *snapshot.Window[[]any]
	snap  pgSnapshot
	read  int
	last  []snapshot.KeyValue
	est   uint64
	at    time.Time
	stale string // why the chunk must be read again ("" if it need not)
}

// markPrefix is the prefix of this connector's logical messages.
func (s *Source) markPrefix() string { return "cdc:" + s.cfg.Slot }

// snapConn returns snapshot connection i (one per table read at once),
// opening it when needed.
func (s *Source) snapConn(ctx context.Context, i int) (*pgx.Conn, error) {
	s.snapMu.Lock()
	for len(s.snapSQL) <= i {
		s.snapSQL = append(s.snapSQL, nil)
	}
	conn := s.snapSQL[i]
	s.snapMu.Unlock()
	if conn != nil && !conn.IsClosed() {
		return conn, nil
	}
	conn, err := connectSQL(ctx, s.cfg.DSN)
	if err != nil {
		return nil, err
	}
	s.snapMu.Lock()
	s.snapSQL[i] = conn
	s.snapMu.Unlock()
	return conn, nil
}

// maybeChunk reads the next round of chunks (one of each table being
// read, at once, on connections of their own) when the reader is between
// transactions, no chunk waits for its mark, and the restart's replay is
// behind; or the next part of a one-pass table, read alone.
func (r *reader) maybeChunk(ctx context.Context) error {
	d := r.src.snap
	cur := d.Current()
	if cur == nil || len(r.chunks) > 0 || r.inTx {
		return nil
	}
	if after, ok := d.After().(LSN); ok && r.received <= after {
		return nil
	}
	if time.Now().Before(r.chunkRetry) {
		return nil
	}
	if r.pass != nil || r.keyless[cur.Table] {
		r.logStart(cur)
		return r.passStep(ctx, cur)
	}
	var tasks []snapshot.Progress
	for _, p := range d.Reading() {
		if !r.keyless[p.Table] { // read alone, when it is Current
			tasks = append(tasks, *p)
		}
	}
	ids := make([]snapshot.ChunkID, len(tasks))
	for i := range tasks {
		r.logStart(&tasks[i])
		ids[i] = d.NextID()
	}
	chunks := make([]*pgChunk, len(tasks))
	errs := make([]error, len(tasks))
	err := r.wait(ctx, func(ctx context.Context) error {
		var wg sync.WaitGroup
		for i := range tasks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				chunks[i], errs[i] = r.src.readChunk(ctx, i, ids[i], d.ChunkSize(), &tasks[i], r.rel)
			}()
		}
		wg.Wait()
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	failed := false
	for i, err := range errs {
		t := &tasks[i]
		if err == nil {
			r.addChunk(chunks[i])
			continue
		}
		if errors.Is(err, snapshot.ErrNoKey) {
			if r.keyless == nil {
				r.keyless = map[string]bool{}
			}
			r.keyless[t.Table] = true // read in one pass, when it is Current
			continue
		}
		var noTable *tableGoneError
		if errors.As(err, &noTable) {
			r.src.log.Warn("snapshot of table cancelled", "table", t.Table, "reason", err)
			msgs, err := d.Skip(t.Table, r.received, time.Now(), err.Error())
			if err != nil {
				return err
			}
			if err := r.emitAll(ctx, msgs); err != nil {
				return err
			}
			continue
		}
		failed = true
		r.src.log.Warn("snapshot chunk failed; reading it again", "table", t.Table, "error", err, "failures", r.chunkFailures+1)
	}
	if failed {
		r.chunkFailures++
		r.chunkRetry = time.Now().Add(min(time.Duration(r.chunkFailures)*time.Second, 30*time.Second))
	} else {
		r.chunkFailures = 0
	}
	if len(r.chunks) == 0 && !failed && d.Current() != nil {
		// Nothing waits for a mark (tables found keyless, or skipped):
		// go on at once with what is left.
		return r.maybeChunk(ctx)
	}
	return nil
}

// logStart logs the start of a table's snapshot, once.
func (r *reader) logStart(p *snapshot.Progress) {
	if p.State != snapshot.StatePending || p.Rows != 0 || r.startedTables[p.Table] {
		return
	}
	if r.startedTables == nil {
		r.startedTables = map[string]bool{}
	}
	r.startedTables[p.Table] = true
	r.src.log.Info("snapshot of table started", "table", p.Table, "snapshot", p.Snapshot)
}

// addChunk checks a chunk just read against the transactions streamed
// before it, and makes it wait for its high mark.
func (r *reader) addChunk(c *pgChunk) {
	r.src.log.Debug("snapshot chunk read", "table", c.table.ID(), "chunk", c.id, "rows", c.read, "took", time.Since(c.at), "stale", c.stale)
	// Transactions the reader streamed before the chunk that S does not
	// see: their events are out, the chunk's rows are older.
	for xid := range r.recent {
		if c.snap.below(xid) {
			delete(r.recent, xid)
		}
	}
	for xid := range r.recent {
		if !c.snap.sees(xid) {
			c.stale = fmt.Sprintf("transaction %d was streamed before the chunk but is not in its snapshot", xid)
			break
		}
	}
	if len(r.recent) > maxRecentXids {
		c.stale = fmt.Sprintf("%d transactions streamed since the oldest one still running", len(r.recent))
	}
	r.chunks = append(r.chunks, c)
}

// takeRequest takes an on-demand snapshot request waiting for the reader
// (between transactions, no chunk in flight, the restart's partial
// transaction passed) and emits its answer as an empty snapshot
// transaction at the reader's position.
func (r *reader) takeRequest(ctx context.Context) error {
	d := r.src.snap
	if len(r.chunks) > 0 || r.inTx {
		return nil
	}
	if after, ok := d.After().(LSN); ok && r.received <= after {
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
	msgs, err := d.Accept(req, tables, reason, r.received, time.Now())
	if err != nil {
		return err
	}
	logRequest(r.src.log, req, msgs)
	return r.emitAll(ctx, msgs)
}

// logRequest logs the answer to req that msgs commit.
func logRequest(log *slog.Logger, req snapshot.Request, msgs []source.Message) {
	step := msgs[len(msgs)-1].Commit.Snapshot
	ans, err := snapshot.ParseSignal(step.Answer.Value)
	if err != nil {
		return
	}
	switch ans.Type {
	case snapshot.SignalRejected:
		log.Warn("snapshot request rejected", "snapshot", req.ID, "tables", req.Tables, "reason", ans.Reason)
	case snapshot.SignalCancelled:
		log.Info("snapshot cancelled", "snapshot", req.ID, "tables", ans.Tables, "tables_open", step.Open)
	default:
		log.Info("snapshot request accepted", "snapshot", req.ID, "tables", ans.Tables, "tables_open", step.Open)
	}
}

// noteRecent remembers the xid of a transaction just streamed, for the
// next chunk's check. While no table is being read the xids are kept for
// a minute (a request may start a snapshot at any time; a commit leaves
// the proc array within milliseconds of its WAL record), pruned at most
// every ten seconds.
func (r *reader) noteRecent() {
	now := time.Now()
	if r.recent == nil {
		r.recent = map[uint32]time.Time{}
	}
	r.recent[r.xid] = now
	if r.src.snap.Current() == nil && now.Sub(r.recentPruned) > 10*time.Second {
		r.recentPruned = now
		for xid, at := range r.recent {
			if now.Sub(at) > time.Minute {
				delete(r.recent, xid)
			}
		}
	}
}

// wait runs fn on its own goroutine, answering the server meanwhile so that
// wal_sender_timeout does not end the replication connection.
func (r *reader) wait(ctx context.Context, fn func(context.Context) error) error {
	done := make(chan error, 1)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { done <- fn(fctx) }()
	tick := time.NewTicker(r.src.cfg.StatusInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if err := r.sendStatus(); err != nil {
				cancel()
				<-done
				return err
			}
		}
	}
}

func (r *reader) emitAll(ctx context.Context, msgs []source.Message) error {
	for _, m := range msgs {
		if err := r.emit(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// touch removes from the open chunk of t's table the rows a streamed
// change makes stale.
func (r *reader) touch(t *schema.Table, op source.Op, before, after []any) {
	for _, c := range r.chunks {
		if c.stale != "" || t.ID() != c.table.ID() || c.snap.sees(r.xid) {
			continue
		}
		if op == source.OpTruncate {
			c.win.TouchAll()
			continue
		}
		for _, row := range [][]any{before, after} {
			if row != nil {
				c.win.Touch(snapshot.Key(t, row))
			}
		}
	}
}

// relationChanged drops the open chunk when its table's shape changes in
// the stream: its rows were decoded with the old one.
func (r *reader) relationChanged(t *schema.Table) {
	for _, c := range r.chunks {
		if c.stale == "" && t.ID() == c.table.ID() && !sameShape(t, c.table) {
			c.stale = "the table's shape changed"
		}
	}
}

// highMark handles a logical message of this connector: the high mark of
// the open chunk emits it.
func (r *reader) highMark(ctx context.Context, at LSN, content []byte) error {
	m, err := snapshot.ParseMark(content)
	if err != nil {
		r.src.log.Warn("ignoring a logical message with cdc's prefix that is not a snapshot mark", "prefix", r.src.markPrefix(), "error", err)
		return nil
	}
	var c *pgChunk
	for i, w := range r.chunks {
		if m.Kind == snapshot.High && m.Chunk == w.id {
			c = w
			r.chunks = append(r.chunks[:i], r.chunks[i+1:]...)
			break
		}
	}
	if c == nil {
		// Written by an earlier run (replayed after a restart), or by a
		// chunk of this run whose read failed after its mark: no window.
		return nil
	}
	r.src.log.Debug("snapshot chunk's mark streamed", "chunk", c.id, "since_read", time.Since(c.at))
	if c.stale != "" {
		r.src.log.Info("snapshot chunk read again", "table", c.table.ID(), "reason", c.stale)
		return nil
	}
	rows, err := c.win.HighMark(c.id)
	if err != nil {
		return err
	}
	pos := max(at, r.received)
	r.received = pos
	msgs, err := r.src.snap.Emit(snapshot.Chunk{
		ID: c.id, Table: c.table, Rows: rows, Read: c.read, Last: c.last, Estimate: c.est,
		Meta: source.Meta{{Key: "db", Value: r.src.db}, {Key: "lsn", Value: uint64(at)}},
	}, pos, c.at)
	if err != nil {
		return err
	}
	if c.read == 0 {
		cur := msgs[len(msgs)-1].Commit.Snapshot
		r.src.log.Info("snapshot of table done", "table", cur.Table, "tables_left", cur.Open)
	}
	return r.emitAll(ctx, msgs)
}

// tableGoneError reports a snapshot table that no longer exists.
type tableGoneError struct{ table string }

func (e *tableGoneError) Error() string { return "table " + e.table + " does not exist any more" }

// readChunk reads chunk id of cur's table, of at most size rows, on
// snapshot connection slot, in one REPEATABLE READ transaction: the
// snapshot, the shape, the rows, the high mark. The chunks of a round are
// read at once: it only reads rel, and describes a new shape under
// s.snapMu (the catalog connection is one).
func (s *Source) readChunk(ctx context.Context, slot int, id snapshot.ChunkID, size int, cur *snapshot.Progress, rel map[uint32]*schema.Table) (*pgChunk, error) {
	conn, err := s.snapConn(ctx, slot)
	if err != nil {
		return nil, err
	}
	ns, name, _ := strings.Cut(cur.Table, ".")
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
	}
	defer tx.Rollback(context.Background())
	c := &pgChunk{id: id, at: time.Now()}
	var snapText string
	if err := tx.QueryRow(ctx, "SELECT pg_current_snapshot()::text").Scan(&snapText); err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
	}
	if c.snap, err = parseSnapshot(snapText); err != nil {
		return nil, err
	}
	rm, key, est, err := s.relationOf(ctx, tx, ns, name)
	if err != nil {
		return nil, err
	}
	c.est = est
	c.table = rel[rm.RelationID]
	if c.table == nil || !sameColumns(c.table, rm) {
		s.snapMu.Lock()
		c.table, err = s.describe(ctx, rm)
		s.snapMu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, snapshot.ErrNoKey)
	}
	q := snapshot.ChunkQuery{Dialect: snapshot.Postgres, Namespace: ns, Table: name, Limit: size}
	keyIdx := make([]int, len(key))
	for i, k := range key {
		keyIdx[i] = c.table.Column(k)
		if keyIdx[i] < 0 {
			return nil, fmt.Errorf("snapshot of %s: key column %q is not in the table", cur.Table, k)
		}
		q.Key = append(q.Key, k)
		q.Casts = append(q.Casts, c.table.Columns[keyIdx[i]].Type)
	}
	for _, col := range c.table.Columns {
		q.Columns = append(q.Columns, col.Name)
	}
	var built snapshot.Query
	var args []any
	if cur.LastKey == nil {
		built, err = q.First()
	} else {
		built, err = q.After()
		if err == nil {
			last := make([]any, len(cur.LastKey))
			for i, kv := range cur.LastKey {
				if kv.Column != key[i] {
					return nil, fmt.Errorf("snapshot of %s: the stored last key has column %q where the primary key has %q; restart the table's snapshot", cur.Table, kv.Column, key[i])
				}
				if last[i], err = keyParam(kv); err != nil {
					return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
				}
			}
			args, err = built.Args(last)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
	}
	// Text results, decoded by the stream's decoder: the same values.
	params := make([][]byte, len(args))
	for i, a := range args {
		params[i] = []byte(a.(string))
	}
	res := tx.Conn().PgConn().ExecParams(ctx, built.SQL, params, nil, nil, nil)
	c.win = snapshot.NewWindow[[]any](c.id, snapshot.Limits{Rows: size})
	var lastRaw [][]byte
	for res.NextRow() {
		vals := res.Values()
		row := make([]any, len(c.table.Columns))
		size := 0
		for i := range row {
			if vals[i] == nil {
				continue
			}
			size += len(vals[i])
			v, derr := decodeText(&c.table.Columns[i], vals[i])
			if derr != nil {
				v = string(vals[i]) // as the stream does; the pipeline dead-letters it
			}
			row[i] = v
		}
		if err := c.win.Add(snapshot.Key(c.table, row), row, size); err != nil {
			res.Close()
			return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
		}
		lastRaw = lastRaw[:0]
		for _, i := range keyIdx {
			lastRaw = append(lastRaw, append([]byte(nil), vals[i]...))
		}
		c.read++
	}
	if _, err := res.Close(); err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
	}
	if err := c.win.Seal(); err != nil {
		return nil, err
	}
	// The window opens at once (the low mark is R, the reader's position):
	// every transaction streamed from now on that S does not see touches
	// it (see touch). Opened at the high mark instead, the window would
	// ignore those touches, and a chunk row older than a change streamed
	// before it would win.
	if err := c.win.LowMark(c.id); err != nil {
		return nil, err
	}
	if c.read > 0 {
		for j, i := range keyIdx {
			kv, err := keyValue(&c.table.Columns[i], lastRaw[j])
			if err != nil {
				return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
			}
			c.last = append(c.last, kv)
		}
	}
	mark, err := snapshot.Mark{Kind: snapshot.High, Chunk: c.id}.MarshalText()
	if err != nil {
		return nil, err
	}
	// The mark must reach the WAL's flushed end at once: the walsender
	// sends only flushed WAL, and a non-transactional message is not
	// flushed by itself (the WAL writer would, after wal_writer_delay,
	// 200ms by default: a chunk every 200ms). PostgreSQL 17 flushes on
	// request; before it, the transaction takes an xid, so that its
	// COMMIT (an empty transaction, which pgoutput skips), made
	// synchronous, flushes.
	emit := "SELECT pg_logical_emit_message(false, $1, $2)"
	if serverMajor(conn.PgConn().ParameterStatus("server_version")) >= 17 {
		emit = "SELECT pg_logical_emit_message(false, $1, $2, true)"
	}
	if _, err := tx.Exec(ctx, emit, s.markPrefix(), string(mark)); err != nil {
		return nil, fmt.Errorf("snapshot of %s: writing the chunk's mark: %w", cur.Table, err)
	}
	if !strings.HasSuffix(emit, "true)") {
		// synchronous_commit may be off for the server or the role; the
		// flush is what this commit is for.
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit TO on"); err != nil {
			return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
		}
		if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
			return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", cur.Table, err)
	}
	return c, nil
}

// relationOf builds, from the catalog, the relation message the stream
// would send for the table (columns, types, replica identity flags), and
// returns the primary key's columns in index order and the row estimate.
func (s *Source) relationOf(ctx context.Context, tx pgx.Tx, ns, name string) (*pglogrepl.RelationMessage, []string, uint64, error) {
	var oid uint32
	var identText string
	var est float64
	err := tx.QueryRow(ctx, `SELECT c.oid, c.relreplident::text, c.reltuples::float8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, ns, name).Scan(&oid, &identText, &est)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, 0, &tableGoneError{ns + "." + name}
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("snapshot of %s.%s: %w", ns, name, err)
	}
	ident := byte('d')
	if identText != "" {
		ident = identText[0]
	}
	// Columns in attnum order, as pgoutput sends them (generated columns are
	// not published); flags as pgoutput sets them: the replica identity's
	// columns (all of them under FULL).
	rows, err := tx.Query(ctx, `SELECT a.attname, a.atttypid, a.atttypmod,
		coalesce(a.attnum = ANY (ri.indkey), false),
		coalesce((SELECT k.n FROM unnest(pk.indkey::int2[]) WITH ORDINALITY AS k(att, n) WHERE k.att = a.attnum), 0)::int4
		FROM pg_attribute a
		LEFT JOIN pg_index ri ON ri.indrelid = a.attrelid AND ri.indisreplident
		LEFT JOIN pg_index pk ON pk.indrelid = a.attrelid AND pk.indisprimary
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		ORDER BY a.attnum`, oid)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("snapshot of %s.%s: %w", ns, name, err)
	}
	rm := &pglogrepl.RelationMessage{RelationID: oid, Namespace: ns, RelationName: name, ReplicaIdentity: ident}
	type pkCol struct {
		name string
		pos  int32
	}
	var pk []pkCol
	for rows.Next() {
		var c pglogrepl.RelationMessageColumn
		var inIdent bool
		var pkPos int32
		if err := rows.Scan(&c.Name, &c.DataType, &c.TypeModifier, &inIdent, &pkPos); err != nil {
			return nil, nil, 0, fmt.Errorf("snapshot of %s.%s: %w", ns, name, err)
		}
		if pkPos > 0 && (ident == 'd' || ident == 'i' || ident == 'f' || ident == 'n') {
			pk = append(pk, pkCol{c.Name, pkPos})
		}
		switch ident {
		case 'f':
			c.Flags = 1
		case 'd':
			if pkPos > 0 {
				c.Flags = 1
			}
		case 'i':
			if inIdent {
				c.Flags = 1
			}
		}
		rm.Columns = append(rm.Columns, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("snapshot of %s.%s: %w", ns, name, err)
	}
	rm.ColumnNum = uint16(len(rm.Columns))
	key := make([]string, len(pk))
	for _, c := range pk {
		if int(c.pos) <= len(key) {
			key[c.pos-1] = c.name
		}
	}
	return rm, key, uint64(max(est, 0)), nil
}

// sameColumns reports whether t has rm's columns (names and types), so that
// rows selected by rm's column list decode with t.
func sameColumns(t *schema.Table, rm *pglogrepl.RelationMessage) bool {
	if len(t.Columns) != len(rm.Columns) {
		return false
	}
	for i, c := range rm.Columns {
		if t.Columns[i].Name != c.Name || t.Columns[i].TypeID != c.DataType {
			return false
		}
	}
	return true
}

// sameShape reports whether two shapes of a table decode rows alike.
func sameShape(a, b *schema.Table) bool {
	if len(a.Columns) != len(b.Columns) {
		return false
	}
	for i := range a.Columns {
		if a.Columns[i].Name != b.Columns[i].Name || a.Columns[i].Type != b.Columns[i].Type || a.Columns[i].Key != b.Columns[i].Key {
			return false
		}
	}
	return true
}

// keyValue turns a key column's text, as the server printed it, into the
// canonical stored form of snapshot.KeyValue.
func keyValue(col *schema.Column, text []byte) (snapshot.KeyValue, error) {
	kv := snapshot.KeyValue{Column: col.Name, Kind: col.Kind, Text: string(text)}
	switch col.Kind {
	case schema.KindBool:
		kv.Text = strconv.FormatBool(string(text) == "t")
	case schema.KindFloat:
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil {
			return kv, fmt.Errorf("key column %q: %w", col.Name, err)
		}
		kv.Text = strconv.FormatFloat(f, 'g', -1, 64)
	case schema.KindBytes:
		b, err := hex.DecodeString(strings.TrimPrefix(string(text), `\x`))
		if err != nil {
			return kv, fmt.Errorf("key column %q: %w", col.Name, err)
		}
		kv.Text = base64.StdEncoding.EncodeToString(b)
	case schema.KindUnknown:
		// The database's text goes back as it came, with the column's cast.
		kv.Kind = schema.KindString
	}
	return kv, nil
}

// keyParam turns a stored key value back into the text parameter that the
// chunk query casts to the column's type.
func keyParam(kv snapshot.KeyValue) (any, error) {
	if kv.Kind == schema.KindBytes {
		b, err := base64.StdEncoding.DecodeString(kv.Text)
		if err != nil {
			return nil, fmt.Errorf("stored key column %q: %w", kv.Column, err)
		}
		return `\x` + hex.EncodeToString(b), nil
	}
	return kv.Text, nil
}

// serverMajor is the major version in a server_version ("15.18 (Debian
// 15.18-0+deb12u1)" is 15); 0 when it does not start with one.
func serverMajor(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
