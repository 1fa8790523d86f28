package mysql

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/cdc-go/cdc/source"
)

// Reconnection: after a transient failure the stream restarts from the last
// transaction boundary it reached, waiting reconnectMin, doubling up to
// reconnectMax, and gives up when reconnectBudget passes without a working
// connection.
const (
	reconnectMin    = 250 * time.Millisecond
	reconnectMax    = 8 * time.Second
	reconnectBudget = 2 * time.Minute
	// heartbeatEvery bounds the transactions of uncaptured tables skipped
	// between two heartbeat positions, whatever the time.
	heartbeatEvery = 1000
	// syncerBuffer is how many decoded events the syncer reads ahead.
	syncerBuffer = 256
)

// Stream reads the binlog and sends messages to out until ctx ends or an
// error occurs. It blocks; the caller runs it in its own goroutine. It
// returns ctx.Err() when ctx ends.
//
// from is the checkpointed position, or nil to start at the server's
// current position (there is no snapshot yet). Each captured transaction is
// sent as Begin, its changes, and Commit, whose Pos is the position after the
// transaction; transactions that touch no captured table, and DDL
// statements, only advance the position, offered as a Heartbeat when no
// transaction is open.
//
// Sends on out block (backpressure). A lost connection is re-established
// with backoff from the last transaction boundary reached, unless part of
// the current transaction was already sent: then Stream returns an error,
// because a restart from the checkpoint is the only way to resume without
// sending that part twice. A position purged from the server fails with
// ErrPositionPurged before anything past it is sent.
func (s *Source) Stream(ctx context.Context, from source.Position, out chan<- source.Message) error {
	start, err := s.startPosition(ctx, from)
	if err != nil {
		return err
	}
	if from == nil {
		if err := s.checkPreparedXA(ctx, start); err != nil {
			return err
		}
	}
	r := &reader{
		src: s, out: out, reached: start, tables: map[uint64]*tableEntry{}, cache: map[string]*cachedTable{}, captured: map[string]bool{},
		hbAt: time.Now(),
	}
	if s.srv.flavor == FlavorMariaDB {
		r.ext = &extTypes{db: s.db}
	}
	r.file, _ = start.File()
	r.resume(start)
	if from == nil {
		// A new connector has no checkpoint, and MySQL keeps no replication
		// slot for it: offer the start position at once, so that the first
		// checkpoint does not wait for a captured transaction.
		r.progress = 1
		if err := r.heartbeat(ctx, true); err != nil {
			return err
		}
	}
	defer func() {
		r.snapSt.close()
	}()
	budget := time.Now().Add(reconnectBudget)
	delay := reconnectMin
	var firstErr error // the failure that started the current run of reconnections
	for {
		err := r.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var te transientError
		if !errors.As(err, &te) {
			return err
		}
		if r.begun {
			return fmt.Errorf("binlog connection lost inside transaction %s after part of it was sent; stopping so that a restart resumes from the checkpoint without sending that part twice: %w", r.txID(), te.err)
		}
		if r.healthy || firstErr == nil {
			budget, delay, firstErr = time.Now().Add(reconnectBudget), reconnectMin, te.err
		}
		if time.Now().After(budget) {
			return fmt.Errorf("reading the binlog: giving up after reconnecting for %v (first failure: %v): %w", reconnectBudget, firstErr, te.err)
		}
		s.log.Warn("binlog connection lost; reconnecting", "error", te.err, "from", r.reached.String(), "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, reconnectMax)
		// Whatever broke the binlog connection (a firewall that forgot
		// the connections, a server restart) may have broken the pool's
		// idle connections too, and a query on a black-holed one waits
		// for ever: drop them, so the queries below dial afresh.
		s.db.SetMaxIdleConns(0)
		s.db.SetMaxIdleConns(poolIdle)
		// Another replica may have taken our server_id (the server drops
		// the older of the two): reconnecting would drop it in turn.
		cctx, cancel := context.WithTimeout(ctx, conflictCheckTimeout)
		rep, err := replicaWithServerID(cctx, s.db, s.cfg.ServerID)
		cancel()
		if err == nil && rep != nil && rep.host != s.cfg.registerHost() {
			return fmt.Errorf("%s; fix: %s: %w", conflictProblem(s.cfg, rep).Message, conflictProblem(s.cfg, rep).Fix, ErrServerIDConflict)
		}
	}
}

// conflictCheckTimeout bounds the look for another replica with our
// server_id before a reconnection (it is skipped when it fails).
const conflictCheckTimeout = 10 * time.Second

// transientError marks failures that a new connection may cure.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// startPosition resolves where the stream starts, and refuses a file
// position whose binlog file is gone.
func (s *Source) startPosition(ctx context.Context, from source.Position) (Position, error) {
	if from == nil {
		return s.currentPosition(ctx)
	}
	p, ok := from.(Position)
	if !ok || p.IsZero() {
		return Position{}, fmt.Errorf("starting replication: position %v is not a binlog position", from)
	}
	switch {
	case p.kind == kindMariaDB && s.srv.flavor != FlavorMariaDB,
		p.kind == kindMySQL && (s.srv.flavor != FlavorMySQL || !s.srv.gtid):
		return Position{}, fmt.Errorf("starting replication: position %s does not fit this %s server (gtid: %v); delete the checkpoint or set a position of this server", p, s.srv.flavor, s.srv.gtid)
	}
	if p.kind == kindFile {
		files, err := binlogFiles(ctx, s.db)
		if err != nil {
			return Position{}, err
		}
		if !slices.Contains(files, p.file) {
			if n := len(files); n > 0 && validFileName(files[n-1]) == nil && p.binlogPos().Compare(FilePosition(files[n-1], 0).binlogPos()) > 0 {
				return Position{}, fmt.Errorf("starting replication: binlog file %s is newer than the server's newest (%s): the checkpoint is from another server or a newer copy of it; delete the checkpoint or set a position of this server", p.file, files[n-1])
			}
			return Position{}, s.purged(p, fmt.Sprintf("binlog file %s is not in the server's binlog index", p.file), files)
		}
		if p.xaFrom != nil && !slices.Contains(files, p.xaFrom.file) {
			return Position{}, s.purged(p, fmt.Sprintf("binlog file %s, where the prepared XA transactions %s start, is not in the server's binlog index", p.xaFrom.file, strings.Join(p.PendingXA(), " ")), files)
		}
	}
	return p, nil
}

// checkPreparedXA refuses a first start while XA transactions are prepared:
// their changes were binlogged before the start position, so their XA
// COMMIT could not be published.
func (s *Source) checkPreparedXA(ctx context.Context, start Position) error {
	xids, err := preparedXA(ctx, s.db)
	if err != nil {
		s.log.Warn("cannot list prepared XA transactions (XA RECOVER); an XA transaction prepared before the start position stops the connector at its XA COMMIT", "error", err)
		return nil
	}
	if len(xids) > 0 {
		return fmt.Errorf("starting a new connector at %s while XA transactions are prepared and not committed (%s): their changes are in the binlog before that position, so their XA COMMIT could not be published; commit or roll them back (XA COMMIT <xid> / XA ROLLBACK <xid>), then start the connector",
			start, strings.Join(xids, " "))
	}
	return nil
}

// preparedXA lists the XA transactions prepared on the server (XA RECOVER),
// in SQL form.
func preparedXA(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "XA RECOVER")
	if err != nil {
		return nil, fmt.Errorf("listing prepared XA transactions: %w", err)
	}
	defer rows.Close()
	var xids []string
	for rows.Next() {
		var format int64
		var gl, bl int
		var data []byte
		if err := rows.Scan(&format, &gl, &bl, &data); err != nil {
			return nil, fmt.Errorf("listing prepared XA transactions: %w", err)
		}
		if gl < 0 || bl < 0 || gl+bl > len(data) {
			return nil, fmt.Errorf("listing prepared XA transactions: lengths %d+%d for %d bytes of data", gl, bl, len(data))
		}
		xids = append(xids, xid{gtrid: data[:gl], bqual: data[gl : gl+bl], format: format}.String())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing prepared XA transactions: %w", err)
	}
	return xids, nil
}

// currentPosition is where the server writes now.
func (s *Source) currentPosition(ctx context.Context) (Position, error) {
	fp, err := currentBinlog(ctx, s.db)
	if err != nil {
		return Position{}, err
	}
	if !s.srv.gtid {
		return fp, nil
	}
	var text string
	if s.srv.flavor == FlavorMariaDB {
		err = s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&text)
	} else {
		err = s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&text)
	}
	if err != nil {
		return Position{}, fmt.Errorf("reading the server's GTID position: %w", err)
	}
	text = strings.Join(strings.Fields(text), "")
	prefix := prefixMySQL
	if s.srv.flavor == FlavorMariaDB {
		prefix = prefixMariaDB
	}
	p, err := ParsePosition(prefix + text)
	if err != nil {
		return Position{}, fmt.Errorf("reading the server's GTID position: %w", err)
	}
	return p.withFile(fp.File()), nil
}

// purged builds the error for a resume position the server no longer has.
func (s *Source) purged(p Position, detail string, files []string) error {
	oldest := "none"
	if len(files) > 0 {
		oldest = files[0]
	}
	return &PurgedError{Pos: p, Detail: detail, Oldest: oldest, connector: s.cfg.Name}
}

// PurgedError is a position the server no longer holds the binlog for. It
// wraps ErrPositionPurged; its message is the one for a checkpoint that
// cannot resume.
type PurgedError struct {
	Pos Position
	// Detail says what is missing ("binlog file binlog.000002 is not in
	// the server's binlog index").
	Detail string
	// Oldest is the oldest binlog file the server has ("none").
	Oldest    string
	connector string
}

func (e *PurgedError) Unwrap() error { return ErrPositionPurged }

func (e *PurgedError) Error() string {
	return fmt.Sprintf("resuming from %s: %s; the server has purged the binary logs it needs (oldest left: %s), so the changes after it are lost to cdc and nothing past the gap is sent. To continue from the server's current position, accepting the gap, delete this connector's checkpoint (a tombstone for key %q on the checkpoint topic); the changes in the gap can then only be recovered from the tables themselves: %v",
		e.What(), e.Detail, e.Oldest, e.connector, ErrPositionPurged)
}

// What names the position: "binlog position file:..." or "GTID position
// 0-1-5 (binlog file binlog.000002)".
func (e *PurgedError) What() string {
	if e.Pos.HasGTID() {
		return fmt.Sprintf("GTID position %s (binlog file %s)", e.Pos.GTID(), orUnknown(e.Pos.file))
	}
	return "binlog position " + e.Pos.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// session runs one binlog connection from r.reached until it fails.
func (r *reader) session(ctx context.Context) error {
	s := r.src
	host, port, err := hostPort(s.dsn)
	if err != nil {
		return err
	}
	if err := s.sameServer(ctx); err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if s.dsn.TLS != nil {
		tlsCfg = s.dsn.TLS.Clone()
	}
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID:                s.cfg.ServerID,
		Flavor:                  string(s.srv.flavor),
		Host:                    host,
		Port:                    port,
		User:                    s.dsn.User,
		Password:                s.dsn.Passwd,
		Localhost:               s.cfg.registerHost(),
		TLSConfig:               tlsCfg,
		TimestampStringLocation: time.UTC,
		HeartbeatPeriod:         s.cfg.Heartbeat,
		// We reconnect ourselves, from a transaction boundary: the
		// syncer's own retry resumes mid-transaction.
		DisableRetrySync:    true,
		FillZeroLogPos:      s.srv.flavor == FlavorMariaDB,
		EventCacheCount:     syncerBuffer,
		Logger:              slog.New(debugHandler{s.log.Handler()}).With("lib", "go-mysql"),
		RowsEventDecodeFunc: r.decodeRows,
	})
	defer syncer.Close()

	r.endGroup()
	clear(r.tables)
	r.healthy = false
	from := r.resume(r.pos(r.reached))
	if r.skip != nil {
		s.log.Info("re-reading the binlog for prepared XA transactions", "from", from.xaFromText(), "xids", strings.Join(r.resumeFrom.PendingXA(), " "), "resume", r.reached.String())
	}
	var streamer *replication.BinlogStreamer
	switch from.kind {
	case kindMariaDB:
		streamer, err = syncer.StartSyncGTID(from.mariaDBSet())
	case kindMySQL:
		streamer, err = syncer.StartSyncGTID(from.mysql.Clone())
	default:
		streamer, err = syncer.StartSync(from.binlogPos())
	}
	if err != nil {
		return r.classify(ctx, fmt.Errorf("starting binlog replication: %w", err))
	}
	if !r.started {
		r.started = true
		s.log.Info("replication started", "from", r.reached.String(), "server_id", s.cfg.ServerID, "flavor", s.srv.flavor)
	}
	idle := 3 * s.cfg.Heartbeat
	// One watchdog for the whole session, pushed back after every event,
	// instead of a context with a timeout per event (which allocated a
	// context and a timer for each row event of a backlog). It runs only
	// while cdc waits for the server: time spent handing an event to a
	// pipeline that is behind is no silence of the server's (its events
	// wait in the syncer and the socket).
	var (
		wctx    context.Context
		wcancel context.CancelCauseFunc
		dog     *time.Timer
	)
	arm := func() {
		// The timer's func cancels its own context: a watchdog that fired
		// late, as the next one is armed, must not read wcancel (a data
		// race) nor cancel the new context.
		c, cancel := context.WithCancelCause(ctx)
		wctx, wcancel = c, cancel
		dog = time.AfterFunc(idle, func() { cancel(errIdleBinlog) })
	}
	arm()
	defer func() { dog.Stop(); wcancel(nil) }()
	for {
		ev, err := streamer.GetEvent(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(context.Cause(wctx), errIdleBinlog) {
				return transientError{fmt.Errorf("no binlog event or heartbeat from the server for %v (3 x source.heartbeat): the connection is dead", idle)}
			}
			return r.classify(ctx, err)
		}
		// The watchdog may have fired while this event arrived: the
		// connection is alive after all, so watch it afresh.
		fired := !dog.Stop()
		r.healthy = true
		if err := r.handle(ctx, ev, false); err != nil {
			return err
		}
		if r.src.snap != nil {
			r.notePosition(ev)
			if err := r.snapStep(ctx); err != nil {
				return err
			}
		}
		if fired {
			wcancel(nil)
			arm()
		} else {
			dog.Reset(idle)
		}
	}
}

// errIdleBinlog ends a binlog session that went silent for longer than
// three heartbeats.
var errIdleBinlog = errors.New("binlog connection idle")

// MySQL error codes the stream distinguishes.
const (
	errFatalReadingBinlog = 1236 // ER_MASTER_FATAL_ERROR_READING_BINLOG
	errServerShutdown     = 1053
	errQueryInterrupted   = 1317
	errConnectionKilled   = 1927 // MariaDB
)

// classify tells transient failures (network, server restart) from fatal
// ones (privileges, purged position, server_id conflict).
func (r *reader) classify(ctx context.Context, err error) error {
	err = libError(err)
	var me *gomysql.MyError
	if errors.As(err, &me) {
		switch me.Code {
		case errServerShutdown, errQueryInterrupted, errConnectionKilled:
			return transientError{err}
		case errFatalReadingBinlog:
			msg := strings.ToLower(me.Message)
			switch {
			case strings.Contains(msg, "could not find first log file"), strings.Contains(msg, "purged"):
				var files []string
				if r.src.db != nil {
					files, _ = binlogFiles(ctx, r.src.db)
				}
				detail := "the server says: " + strings.TrimRight(me.Message, ". ")
				if r.skip != nil {
					detail = fmt.Sprintf("re-reading from %s for the prepared XA transactions %s, %s", r.resumeFrom.xaFrom.xaFromText(), strings.Join(r.resumeFrom.PendingXA(), " "), detail)
				}
				return r.src.purged(r.reached, detail, files)
			case strings.Contains(msg, "same server_uuid/server_id"), strings.Contains(msg, "same server_id"):
				return fmt.Errorf("the server dropped this connection because another replica registered with source.server_id %d (%s); fix: give each connector its own source.server_id: %w",
					r.src.cfg.ServerID, me.Message, ErrServerIDConflict)
			}
			return fmt.Errorf("the server cannot send the binlog from %s: %w", r.reached, err)
		}
		return fmt.Errorf("reading the binlog: %w", err)
	}
	var ee *replication.EventError
	if errors.As(err, &ee) {
		return fmt.Errorf("decoding a binlog event after %s: %w", r.reached, err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, gomysql.ErrBadConn) || errors.Is(err, replication.ErrSyncClosed) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe") {
		return transientError{err}
	}
	return fmt.Errorf("reading the binlog: %w", err)
}

// libError hides the stack traces of go-mysql's errors (pingcap/errors):
// they print them for %+v, which slog's text handler uses, and some put
// them into their messages. It keeps the messages of the chain ("connection
// was bad: io.ReadFull(header) failed. err EOF"); the original stays
// reachable through errors.Is and errors.As.
func libError(err error) error {
	text := err.Error()
	if !strings.Contains(text, "\n") {
		return &cleanError{msg: text, err: err}
	}
	lines := strings.Split(text, "\n")
	var keep []string
	for i, l := range lines {
		stackFunc := i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t")
		if l == "" || strings.HasPrefix(l, "\t") || stackFunc {
			continue
		}
		keep = append(keep, l)
	}
	return &cleanError{msg: strings.Join(keep, ": "), err: err}
}

type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

// debugHandler logs everything go-mysql logs at debug level: the library
// logs errors it also returns (handled once, by us) and chatty progress.
type debugHandler struct{ h slog.Handler }

func (d debugHandler) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.h.Enabled(ctx, slog.LevelDebug)
}

func (d debugHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return d.h.Handle(ctx, r)
}

func (d debugHandler) WithAttrs(as []slog.Attr) slog.Handler { return debugHandler{d.h.WithAttrs(as)} }
func (d debugHandler) WithGroup(name string) slog.Handler    { return debugHandler{d.h.WithGroup(name)} }

// sameServer checks, on a new connection, that source.dsn still reaches
// the server cdc started on: after a failover, or a name that now points
// elsewhere, resuming at a position of the old server would skip or
// invent changes. It returns an error wrapping ErrServerChanged if not;
// an unreachable server is a transientError like any lost connection.
func (s *Source) sameServer(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := mysqldrv.NewConnector(s.dsn)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	vars, err := globalVariables(ctx, db)
	if err != nil {
		return transientError{fmt.Errorf("checking the server's identity: %w", err)}
	}
	st := server{flavor: s.srv.flavor, uuid: vars["server_uuid"], host: vars["report_host"]}
	if st.host == "" {
		st.host = vars["hostname"]
	}
	sid, _ := strconv.ParseUint(vars["server_id"], 10, 32)
	st.serverID = uint32(sid)
	st.port, _ = strconv.Atoi(vars["port"])
	if now := serverIdentity(st); now != s.id {
		return fmt.Errorf("source.dsn now reaches %s server %q, not %q that this run started on (a failover, or the address now points elsewhere); stopping rather than resume a position of one server on another (with source.failover: gtid a restart resumes on the new server at the same GTIDs): %w",
			now.Type, now.ID, s.id.ID, ErrServerChanged)
	}
	return nil
}
