package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// slotBusyWait bounds how long Stream waits for a slot that another
// connection still holds (a fenced predecessor shutting down).
const slotBusyWait = 60 * time.Second

// Stream replicates from the slot and sends messages to out until ctx ends
// or an error occurs. It blocks; the caller runs it in its own goroutine.
//
// from is the checkpointed position, or nil to start at the slot's confirmed
// position. Stream refuses to start when the slot has already confirmed more
// than from: the changes in between are no longer available (ErrSlotAhead).
//
// Sends on out block (backpressure); while blocked, Stream keeps answering
// the server so that wal_sender_timeout does not end the connection.
func (s *Source) Stream(ctx context.Context, from source.Position, out chan<- source.Message) error {
	here, err := s.identity(ctx)
	if err != nil {
		// The catalog connection died with the last session (a server
		// restart, a terminated backend, a network that went silent):
		// open a new one.
		cctx, cancel := context.WithTimeout(ctx, startTimeout)
		conn, cerr := connectSQL(cctx, s.cfg.DSN)
		cancel()
		if cerr != nil {
			return cerr
		}
		s.sql.Close(context.Background())
		s.sql = conn
		if here, err = s.identity(ctx); err != nil {
			return err
		}
	}
	if here != s.server {
		return fmt.Errorf("source.dsn now reaches postgres server %q, not %q that this run started on (the address now points elsewhere); stopping rather than resume a position of one server on another: %w",
			here.ID, s.server.ID, ErrServerChanged)
	}
	slot, _, err := s.slotLSN(ctx)
	if err != nil {
		return err
	}
	start := slot
	if from != nil {
		cp, ok := from.(LSN)
		if !ok {
			return fmt.Errorf("starting replication: position %v is not a postgres LSN", from)
		}
		if slot > cp && s.createdSlot {
			return fmt.Errorf("replication slot %q did not exist when cdc started (was it dropped?), so cdc created it, at %s; the last checkpoint in Kafka is %s, and the changes between them are not available from the new slot. Restarting will not help. To go on: with snapshot.mode: when_needed the next start snapshots the tables again and streams from the slot; or delete this connector's checkpoint (a tombstone for its key on the checkpoint topic), accepting the gap: %w",
				s.cfg.Slot, slot, cp, ErrSlotAhead)
		}
		if slot > cp {
			return fmt.Errorf("slot %q has confirmed %s but the last checkpoint in Kafka is %s; changes between them are no longer available from the slot. To start from the slot's position, accepting the gap, delete this connector's checkpoint (a tombstone for its key on the checkpoint topic); the changes in the gap can then only be recovered from the tables themselves: %w",
				s.cfg.Slot, slot, cp, ErrSlotAhead)
		}
		start = cp
	}
	if s.acked.Load() < uint64(start) {
		s.acked.Store(uint64(start))
	}

	conn, err := s.startReplication(ctx, start)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	s.log.Info("replication started", "slot", s.cfg.Slot, "publication", s.cfg.Publication, "from", start, "slot_confirmed", slot)

	r := &reader{
		src: s, conn: conn, out: out, rel: map[uint32]*schema.Table{}, skip: map[uint32]bool{},
		received: start, heartbeatSent: start, dbMeta: s.db,
	}
	if from == nil {
		// No checkpoint yet: offer the start at once, so that the pipeline
		// has a position to checkpoint even if the first transaction is
		// committed to Kafka in parts.
		if err := r.emit(ctx, source.Message{Heartbeat: start}); err != nil {
			return err
		}
	}
	defer func() { r.pass.close() }()
	return r.run(ctx)
}

// startTimeout bounds each step of starting a stream (a ping of the
// catalog connection, a new connection, the start of replication): a
// server behind a network that went silent answers none of them, and the
// stream must fail and retry rather than wait for ever.
const startTimeout = 15 * time.Second

// ping checks the catalog connection, within startTimeout.
// identity is the server the catalog connection reaches, asked on every
// (re)start of the stream: an address that moved to another server (a
// failover, a DNS change) must not resume this one's position there.
func (s *Source) identity(ctx context.Context) (source.Server, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var sysID, db string
	if err := s.sql.QueryRow(ctx, "SELECT (SELECT system_identifier::text FROM pg_control_system()), current_database()").Scan(&sysID, &db); err != nil {
		return source.Server{}, fmt.Errorf("reading the server's identity: %w", err)
	}
	return source.Server{Type: "postgres", ID: sysID + "/" + db}, nil
}

func (s *Source) startReplication(ctx context.Context, start LSN) (*pgconn.PgConn, error) {
	cc, err := pgconn.ParseConfig(s.cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("parsing postgres dsn: %w", err)
	}
	cc.RuntimeParams["replication"] = "database"
	cc.RuntimeParams["application_name"] = "cdc:" + s.cfg.Slot
	pinSession(cc.RuntimeParams) // the text forms decodeText parses

	args := []string{
		"proto_version '1'",
		fmt.Sprintf("publication_names '%s'", s.cfg.Publication),
		"messages 'true'",
	}
	deadline := time.Now().Add(slotBusyWait)
	for {
		sctx, cancel := context.WithTimeout(ctx, startTimeout)
		conn, err := pgconn.ConnectConfig(sctx, cc)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("opening replication connection: %w", unwrapConnect(err))
		}
		err = pglogrepl.StartReplication(sctx, conn, s.cfg.Slot, pglogrepl.LSN(start), pglogrepl.StartReplicationOptions{PluginArgs: args})
		cancel()
		if err == nil {
			return conn, nil
		}
		conn.Close(context.Background())
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55006" && time.Now().Before(deadline) { // object_in_use: slot active
			s.log.Info("replication slot is still in use, waiting", "slot", s.cfg.Slot)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		if detail, ok := isSlotInvalidated(err); ok {
			return nil, slotLostError(s.cfg.Slot, detail)
		}
		return nil, fmt.Errorf("starting replication on slot %q: %w", s.cfg.Slot, err)
	}
}

// reader is the state of one replication session.
type reader struct {
	src  *Source
	conn *pgconn.PgConn
	out  chan<- source.Message
	rel  map[uint32]*schema.Table
	// skip holds the published relations that source.tables does not match.
	skip map[uint32]bool

	received      LSN // highest position seen from the server
	heartbeatSent LSN
	lastStatus    time.Time
	lastPoll      time.Time
	// lastRecv is when the server was last heard from (or when cdc last
	// came back to the connection after waiting on the pipeline), and
	// unanswered counts the status updates sent since, each asking for a
	// reply: a connection that stays silent through several is dead.
	lastRecv   time.Time
	unanswered int

	inTx  bool
	begun bool // the open transaction's Begin has been sent
	xid   uint32
	// The transaction id as text and as a source field value, and the
	// database name as one, made once rather than for every change.
	xidText string
	xidMeta any
	dbMeta  any
	commit  time.Time
	final   LSN // the open transaction's commit LSN (its Begin's CommitPos)
	order   int
	// convErr collects conversion errors of the change being decoded.
	convErr error
	// oldCols and newCols are the parsed tuples of the row message being
	// decoded (rows.go), reused from message to message.
	oldCols, newCols []tupleCol
	emitTick         *time.Ticker // emit's, while the pipeline is behind

	// The snapshot (snapshot.go): the chunks waiting for their high marks, the
	// captured transactions streamed that the next chunk's snapshot might
	// not see, and the retry state of failing chunks.
	chunks        []*pgChunk
	recent        map[uint32]time.Time // when streamed
	recentPruned  time.Time
	chunkRetry    time.Time
	chunkFailures int
	startedTables map[string]bool
	// pass is the one-pass read of a table without a primary key
	// (snapshot_pass.go); keyless names the tables found to have none.
	pass    *pgPass
	keyless map[string]bool
}

// idleFactor is how many status intervals, each with a status update
// asking for a reply, a replication connection may stay silent before cdc
// presumes it dead (a network that drops packets without resetting the
// connection: the kernel would notice only after many minutes, or never,
// as the stream only reads).
const idleFactor = 3

// ErrSilentConnection is a replication connection that went silent
// although cdc asked the server for an answer: cdc drops it and resumes
// from the checkpoint on a new one.
var ErrSilentConnection = errors.New("the replication connection is presumed dead")

func (r *reader) run(ctx context.Context) error {
	interval := r.src.cfg.StatusInterval
	r.lastPoll = time.Now() // Open has just matched the tables
	r.lastRecv = time.Now()
	silence := idleFactor * interval
	// Reads wait on the connection's own read deadline, not on a context
	// per message: pgconn arms a watcher goroutine hand-off for every
	// ReceiveMessage with a cancellable context, which cost a tenth of the
	// CPU of a backlog drain. Cancellation ends the wait by moving the
	// deadline to now; the loop checks ctx after every deadline it sets, so
	// a cancellation between the two is not lost.
	nc := r.conn.Conn()
	stop := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Now()) })
	defer stop()
	var armed time.Time
	for {
		if time.Since(r.lastStatus) >= interval {
			if err := r.sendStatus(); err != nil {
				return err
			}
		}
		if time.Since(r.lastPoll) >= r.src.cfg.TablePollInterval {
			// Bounded: the catalog connection may have gone silent
			// (with the stream, or while the stream is fine); meanwhile
			// nothing watches the stream, so no longer than its own
			// silence bound.
			pctx, cancel := context.WithTimeout(ctx, min(startTimeout, silence))
			err := r.src.pollTables(pctx)
			cancel()
			if err != nil {
				return err
			}
			r.lastPoll = time.Now()
		}
		deadline := r.lastStatus.Add(interval)
		if next := r.lastRecv.Add(silence); next.Before(deadline) {
			deadline = next
		}
		if next := r.lastPoll.Add(r.src.cfg.TablePollInterval); next.Before(deadline) {
			deadline = next
		}
		if r.src.snap != nil && !r.inTx {
			if err := r.takeRequest(ctx); err != nil {
				return err
			}
			if err := r.maybeChunk(ctx); err != nil {
				return err
			}
		}
		if r.pass != nil && !r.inTx {
			// A one-pass read goes on step after step: only look whether
			// the stream has something first.
			deadline = time.Now().Add(time.Millisecond)
		}
		if !deadline.Equal(armed) {
			if err := nc.SetReadDeadline(deadline); err != nil {
				return fmt.Errorf("setting the replication read deadline: %w", err)
			}
			armed = deadline
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		raw, err := r.conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) {
				if r.unanswered >= idleFactor && time.Since(r.lastRecv) >= silence {
					return fmt.Errorf("receiving replication data: no message from the server for %v although cdc asked for one %d times (every source.status_interval): %w",
						time.Since(r.lastRecv).Round(time.Millisecond), r.unanswered, ErrSilentConnection)
				}
				continue
			}
			return fmt.Errorf("receiving replication data: %w", err)
		}
		r.lastRecv, r.unanswered = time.Now(), 0
		switch m := raw.(type) {
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication stream: %w", pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyData:
			if err := r.handleCopyData(ctx, m.Data); err != nil {
				return err
			}
		}
	}
}

func (r *reader) sendStatus() error {
	acked := pglogrepl.LSN(r.src.acked.Load())
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), r.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: acked, WALFlushPosition: acked, WALApplyPosition: acked,
		// The server answers with a keepalive: an idle stream still
		// proves its connection alive (see run).
		ReplyRequested: true,
	})
	if err != nil {
		return fmt.Errorf("sending standby status: %w", err)
	}
	r.lastStatus = time.Now()
	r.unanswered++
	return nil
}

// emit sends m, answering the server while the pipeline applies backpressure.
func (r *reader) emit(ctx context.Context, m source.Message) error {
	select {
	case r.out <- m: // the usual case: no backpressure, no ticker
		return nil
	default:
	}
	// One ticker for the reader's life: under backpressure every message
	// comes here, and a new ticker each was a tenth of a drain's
	// allocations. (Since Go 1.23 Reset leaves no stale tick behind.)
	if r.emitTick == nil {
		r.emitTick = time.NewTicker(r.src.cfg.StatusInterval)
	} else {
		r.emitTick.Reset(r.src.cfg.StatusInterval)
	}
	tick := r.emitTick
	defer tick.Stop()
	// The time spent waiting here, not reading, is no silence of the
	// server's: its answers wait in the socket.
	defer func() { r.lastRecv, r.unanswered = time.Now(), 0 }()
	for {
		select {
		case r.out <- m:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if err := r.sendStatus(); err != nil {
				return err
			}
		}
	}
}

func (r *reader) handleCopyData(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return fmt.Errorf("parsing keepalive: %w", err)
		}
		if ka.ReplyRequested {
			r.lastStatus = time.Time{}
		}
		return r.heartbeat(ctx, LSN(ka.ServerWALEnd))
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return fmt.Errorf("parsing XLogData: %w", err)
		}
		if w := xld.WALData; len(w) > 0 && (w[0] == 'I' || w[0] == 'U' || w[0] == 'D') {
			return r.handleRow(ctx, LSN(xld.WALStart), w)
		}
		msg, err := pglogrepl.Parse(xld.WALData)
		if err != nil {
			return fmt.Errorf("parsing pgoutput message at %s: %w", LSN(xld.WALStart), err)
		}
		return r.handle(ctx, LSN(xld.WALStart), msg)
	}
	return nil
}

// heartbeat offers the server's decoding position to the pipeline when no
// transaction is open. Every transaction that committed before it has been
// sent already, so a restart from there loses nothing.
func (r *reader) heartbeat(ctx context.Context, pos LSN) error {
	if r.inTx || pos <= r.received {
		return nil
	}
	r.received = pos
	if pos <= r.heartbeatSent || time.Since(r.lastStatus) < r.src.cfg.StatusInterval/2 && pos-r.heartbeatSent < 1<<20 {
		// Throttled: heartbeats matter for WAL retention, not latency.
		return nil
	}
	r.heartbeatSent = pos
	return r.emit(ctx, source.Message{Heartbeat: pos})
}

func (r *reader) handle(ctx context.Context, at LSN, msg pglogrepl.Message) error {
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		if !matchesAny(r.src.cfg.Tables, tableName{m.Namespace, m.RelationName}) {
			// Published (FOR ALL TABLES, a schema, a publication cdc did
			// not create) but not in source.tables: not captured.
			delete(r.rel, m.RelationID)
			r.skip[m.RelationID] = true
			return nil
		}
		delete(r.skip, m.RelationID)
		// Bounded like the table poll: a silent catalog connection
		// would stop the stream for good.
		dctx, cancel := context.WithTimeout(ctx, startTimeout)
		t, err := r.src.describe(dctx, m)
		cancel()
		if err != nil {
			return err
		}
		r.rel[m.RelationID] = t
		r.relationChanged(t)
	case *pglogrepl.BeginMessage:
		// Begin goes out with the first captured change (begin): a
		// transaction that touched only tables source.tables does not match
		// (published FOR ALL TABLES, say) is no transaction downstream.
		r.inTx, r.begun, r.xid, r.commit, r.final, r.order = true, false, m.Xid, m.CommitTime, LSN(m.FinalLSN), 0
		r.xidText, r.xidMeta = strconv.FormatUint(uint64(m.Xid), 10), int64(m.Xid)
		return nil
	case *pglogrepl.CommitMessage:
		end := LSN(m.TransactionEndLSN)
		r.inTx = false
		if !r.begun {
			return r.heartbeat(ctx, end) // nothing captured: only a position
		}
		if end > r.received {
			r.received = end
		}
		if r.src.snap != nil {
			r.noteRecent()
		}
		return r.emit(ctx, source.Message{Commit: &source.Commit{TxID: r.xidText, Pos: end, CommitTime: m.CommitTime}})
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			t, err := r.table(id)
			if err != nil {
				return err
			}
			if t == nil {
				continue
			}
			if err := r.change(ctx, at, source.OpTruncate, t, nil, nil); err != nil {
				return err
			}
		}
	case *pglogrepl.LogicalDecodingMessage:
		if !m.Transactional && m.Prefix == r.src.markPrefix() && r.src.snap != nil {
			if r.inTx {
				return fmt.Errorf("snapshot mark at %s inside transaction %d", LSN(m.LSN), r.xid)
			}
			return r.highMark(ctx, LSN(m.LSN), m.Content)
		}
		if !m.Transactional || !r.inTx {
			return nil // only transactional messages carry exactly-once meaning
		}
		if err := r.begin(ctx); err != nil {
			return err
		}
		r.order++
		return r.emit(ctx, source.Message{Change: &source.Change{
			Op: source.OpMessage, Tx: r.tx(), Pos: LSN(m.LSN),
			// Content aliases the connection's read buffer, which the next
			// receive overwrites while the change is still queued: copy it.
			Message: &source.LogicalMessage{Prefix: m.Prefix, Content: bytes.Clone(m.Content)},
			Meta:    source.Meta{{Key: "db", Value: r.dbMeta}, {Key: "lsn", Value: uint64(m.LSN)}, {Key: "txId", Value: r.xidMeta}},
		}})
	}
	return nil
}

func (r *reader) tx() source.Tx {
	return source.Tx{ID: r.xidText, Order: r.order, CommitTime: r.commit}
}

// begin sends the open transaction's Begin unless it went out already.
func (r *reader) begin(ctx context.Context) error {
	if r.begun {
		return nil
	}
	r.begun = true
	return r.emit(ctx, source.Message{Begin: &source.Begin{TxID: r.xidText, CommitTime: r.commit, CommitPos: r.final}})
}

func (r *reader) change(ctx context.Context, at LSN, op source.Op, t *schema.Table, before, after []any) error {
	if err := r.begin(ctx); err != nil {
		return err
	}
	r.order++
	convErr := r.convErr
	r.convErr = nil
	r.touch(t, op, before, after)
	return r.emit(ctx, source.Message{Change: &source.Change{
		Op: op, Table: t, Before: before, After: after, Tx: r.tx(), Pos: at, Err: convErr,
		Meta: source.Meta{{Key: "db", Value: r.dbMeta}, {Key: "lsn", Value: uint64(at)}, {Key: "txId", Value: r.xidMeta}},
	}})
}

// table returns the relation's table, or nil for a table that is not
// captured.
func (r *reader) table(id uint32) (*schema.Table, error) {
	if r.skip[id] {
		return nil, nil
	}
	t, ok := r.rel[id]
	if !ok {
		return nil, fmt.Errorf("change for relation %d before its relation message", id)
	}
	return t, nil
}
