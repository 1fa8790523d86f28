package mysql

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/google/uuid"

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
	r := &reader{
		src: s, out: out, reached: start, tables: map[uint64]*tableEntry{}, cache: map[string]*cachedTable{}, captured: map[string]bool{},
		hbAt: time.Now(),
	}
	r.file, r.offset = start.File()
	budget := time.Now().Add(reconnectBudget)
	delay := reconnectMin
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
		if r.healthy {
			budget, delay = time.Now().Add(reconnectBudget), reconnectMin
		}
		if time.Now().After(budget) {
			return fmt.Errorf("reading the binlog: giving up after reconnecting for %v: %w", reconnectBudget, te.err)
		}
		s.log.Warn("binlog connection lost; reconnecting", "error", te.err, "from", r.reached.String(), "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, reconnectMax)
		// Another replica may have taken our server_id (the server drops
		// the older of the two): reconnecting would drop it in turn.
		if rep, err := replicaWithServerID(ctx, s.db, s.cfg.ServerID); err == nil && rep != nil && rep.host != s.cfg.registerHost() {
			return fmt.Errorf("%s; fix: %s: %w", conflictProblem(s.cfg, rep).Message, conflictProblem(s.cfg, rep).Fix, ErrServerIDConflict)
		}
	}
}

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
			return Position{}, s.purged(p, fmt.Sprintf("binlog file %s is not in the server's binlog index", p.file), files)
		}
	}
	return p, nil
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
	what := "binlog position " + p.String()
	if p.HasGTID() {
		what = fmt.Sprintf("GTID position %s (binlog file %s)", p.GTID(), orUnknown(p.file))
	}
	return fmt.Errorf("resuming from %s: %s; the server has purged the binary logs it needs (oldest left: %s), so the changes after it are lost to cdc and nothing past the gap is sent. Recover by re-snapshotting the captured tables, or by deleting this connector's checkpoint (or setting a new start position) to continue from the server's current position, accepting the gap: %w",
		what, detail, oldest, ErrPositionPurged)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// reader is the state of a stream, carried across reconnections.
type reader struct {
	src *Source
	out chan<- source.Message

	reached Position // the last transaction boundary passed: the resume point
	file    string   // current binlog file
	offset  uint32
	healthy bool // the current session received an event

	// Heartbeat throttling.
	progress   int // transaction boundaries passed
	hbProgress int
	hbAt       time.Time

	// The current event group (transaction or DDL statement).
	group      bool
	inTx       bool // inside BEGIN ... COMMIT (explicit or implied by a MariaDB GTID event)
	begun      bool // Begin sent
	txGTID     string
	txNext     Position // reached, advanced by this group's GTID
	txStart    Position // file position of the group's first event
	txTime     time.Time
	thread     uint32
	order      int
	warnedStmt bool

	tables     map[uint64]*tableEntry // by table id; rebuilt by each table-map event
	cache      map[string]*cachedTable
	captured   map[string]bool // "db.table" -> matches source.tables
	decodeErrs sync.Map        // *replication.RowsEvent -> error, from the syncer's goroutine
}

// tableEntry is the table map in force for a table id.
type tableEntry struct {
	tm    *replication.TableMapEvent
	table *table // nil when the table is not captured
}

// cachedTable keeps the last schema built for a table, so that table maps
// of an unchanged table share one *schema.Table.
type cachedTable struct {
	fingerprint string
	table       *table
}

// session runs one binlog connection from r.reached until it fails.
func (r *reader) session(ctx context.Context) error {
	s := r.src
	host, port, err := hostPort(s.dsn)
	if err != nil {
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
		DisableRetrySync: true,
		FillZeroLogPos:   s.srv.flavor == FlavorMariaDB,
		EventCacheCount:  syncerBuffer,
		Logger:           slog.New(debugHandler{s.log.Handler()}).With("lib", "go-mysql"),
		RowsEventDecodeFunc: func(re *replication.RowsEvent, data []byte) error {
			pos, err := re.DecodeHeader(data)
			if err != nil {
				return err
			}
			if err := re.DecodeData(pos, data); err != nil {
				// Keep the stream going: the change goes to the dead-letter topic.
				re.Rows = nil
				r.decodeErrs.Store(re, err)
			}
			return nil
		},
	})
	defer syncer.Close()

	r.endGroup()
	clear(r.tables)
	r.healthy = false
	var streamer *replication.BinlogStreamer
	switch r.reached.kind {
	case kindMariaDB:
		streamer, err = syncer.StartSyncGTID(r.reached.mariaDBSet())
	case kindMySQL:
		streamer, err = syncer.StartSyncGTID(r.reached.mysql.Clone())
	default:
		streamer, err = syncer.StartSync(r.reached.binlogPos())
	}
	if err != nil {
		return r.classify(ctx, fmt.Errorf("starting binlog replication: %w", err))
	}
	if r.progress == 0 && r.hbProgress == 0 {
		s.log.Info("replication started", "from", r.reached.String(), "server_id", s.cfg.ServerID, "flavor", s.srv.flavor)
	}
	idle := 3 * s.cfg.Heartbeat
	for {
		ectx, cancel := context.WithTimeout(ctx, idle)
		ev, err := streamer.GetEvent(ectx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return transientError{fmt.Errorf("no binlog event or heartbeat from the server for %v (3 x source.heartbeat): the connection is dead", idle)}
			}
			return r.classify(ctx, err)
		}
		r.healthy = true
		if err := r.handle(ctx, ev, false); err != nil {
			return err
		}
	}
}

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
	var me *gomysql.MyError
	if errors.As(err, &me) {
		switch me.Code {
		case errServerShutdown, errQueryInterrupted, errConnectionKilled:
			return transientError{err}
		case errFatalReadingBinlog:
			msg := strings.ToLower(me.Message)
			switch {
			case strings.Contains(msg, "could not find first log file"), strings.Contains(msg, "purged"):
				files, _ := binlogFiles(ctx, r.src.db)
				return r.src.purged(r.reached, "the server says: "+me.Message, files)
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

// handle applies one binlog event. inner is set for the events of a MySQL
// compressed transaction payload, whose positions are the payload's.
func (r *reader) handle(ctx context.Context, ev *replication.BinlogEvent, inner bool) error {
	h := ev.Header
	start := h.LogPos
	if !inner && h.LogPos >= h.EventSize {
		start = h.LogPos - h.EventSize
	}
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		r.file, r.offset = string(e.NextLogName), uint32(e.Position)
		if r.reached.kind == kindFile && !r.group {
			r.reached = FilePosition(r.file, r.offset)
		}
	case *replication.MariadbGTIDEvent:
		if err := r.beginGroup(h, start); err != nil {
			return err
		}
		g := e.GTID
		r.txGTID = fmt.Sprintf("%d-%d-%d", g.DomainID, g.ServerID, g.SequenceNumber)
		if r.reached.kind == kindMariaDB {
			r.txNext = r.reached.withMariaDBGTID(g)
		}
		r.inTx = !e.IsStandalone()
	case *replication.GtidTaggedLogEvent:
		return r.mysqlGTID(h, start, &e.GTIDEvent, e.Tag)
	case *replication.GTIDEvent:
		if h.EventType == replication.ANONYMOUS_GTID_EVENT {
			return r.beginGroup(h, start)
		}
		return r.mysqlGTID(h, start, e, gomysql.Tag{})
	case *replication.QueryEvent:
		return r.query(ctx, h, start, e)
	case *replication.TableMapEvent:
		return r.tableMap(e)
	case *replication.RowsEvent:
		return r.rows(ctx, h, start, e)
	case *replication.XIDEvent:
		return r.commit(ctx, h)
	case *replication.TransactionPayloadEvent:
		for _, in := range e.Events {
			if err := r.handle(ctx, in, true); err != nil {
				return err
			}
		}
	case *replication.HeartbeatEvent:
		if !r.group && r.reached.kind == kindFile && e.Filename == r.file && h.LogPos > r.reached.offset {
			r.reached = FilePosition(r.file, h.LogPos)
			r.progress++
		}
		return r.heartbeat(ctx, false)
	}
	return nil
}

func (r *reader) mysqlGTID(h *replication.EventHeader, start uint32, e *replication.GTIDEvent, tag gomysql.Tag) error {
	if err := r.beginGroup(h, start); err != nil {
		return err
	}
	sid, err := uuid.FromBytes(e.SID)
	if err != nil {
		return fmt.Errorf("decoding GTID event at %s:%d: %w", r.file, start, err)
	}
	r.txGTID = sid.String() + ":" + strconv.FormatInt(e.GNO, 10)
	if tag != (gomysql.Tag{}) {
		r.txGTID = sid.String() + ":" + tag.String() + ":" + strconv.FormatInt(e.GNO, 10)
	}
	if e.ImmediateCommitTimestamp > 0 {
		r.txTime = time.UnixMicro(int64(e.ImmediateCommitTimestamp)).UTC()
	}
	if r.reached.kind == kindMySQL {
		r.txNext = r.reached.withMySQLGTID(sid, tag, e.GNO)
	}
	return nil
}

// beginGroup starts an event group at a GTID event (or a BEGIN without one).
func (r *reader) beginGroup(h *replication.EventHeader, start uint32) error {
	if r.begun {
		return fmt.Errorf("binlog transaction %s has no commit before the next transaction at %s:%d", r.txID(), r.file, start)
	}
	r.endGroup()
	r.group = true
	r.txNext = r.reached
	r.txStart = FilePosition(r.file, start)
	r.txTime = time.Unix(int64(h.Timestamp), 0).UTC()
	return nil
}

func (r *reader) endGroup() {
	r.group, r.inTx, r.begun = false, false, false
	r.txGTID, r.thread, r.order, r.warnedStmt = "", 0, 0, false
}

// txID is the GTID when there is one, else the file position of the
// transaction's first event.
func (r *reader) txID() string {
	if r.txGTID != "" {
		return r.txGTID
	}
	return r.txStart.file + ":" + strconv.FormatUint(uint64(r.txStart.offset), 10)
}

// query handles QUERY events: BEGIN and COMMIT of non-transactional
// tables, and DDL.
func (r *reader) query(ctx context.Context, h *replication.EventHeader, start uint32, e *replication.QueryEvent) error {
	q := strings.TrimSpace(string(e.Query))
	w := leadingWords(q)
	switch {
	case w[0] == "BEGIN" || w[0] == "XA" && w[1] == "START":
		if !r.group {
			if err := r.beginGroup(h, start); err != nil {
				return err
			}
		}
		r.inTx, r.thread = true, e.SlaveProxyID
		return nil
	case w[0] == "COMMIT":
		return r.commit(ctx, h)
	case w[0] == "ROLLBACK" && w[1] != "TO":
		// Written for transactions that changed non-transactional tables:
		// those changes stay, so what was sent is committed.
		return r.commit(ctx, h)
	case w[0] == "SAVEPOINT" || w[0] == "ROLLBACK" || w[0] == "RELEASE" || w[0] == "XA":
		return nil
	}
	d := ddl{DB: string(e.Schema), Statement: q, GTID: r.txGTID}
	if r.inTx && !isDDL(w[0]) {
		// A statement-based event inside a transaction: a session still
		// writes with binlog_format=STATEMENT or MIXED. Its changes are not
		// in the stream.
		if !r.warnedStmt {
			r.warnedStmt = true
			r.src.log.Warn("statement-based event in the binlog: its changes cannot be captured",
				"statement", truncate(q, 200), "db", d.DB, "position", r.file+":"+strconv.FormatUint(uint64(start), 10),
				"fix", "SET GLOBAL binlog_format = 'ROW'; and reconnect the applications that write (SET GLOBAL affects new sessions only)")
		}
		return nil
	}
	if r.inTx {
		// CREATE TABLE ... SELECT inside its transaction: the rows follow.
		d.Pos = r.txNext.withFile(r.file, h.LogPos)
		r.recordDDL(d)
		return nil
	}
	// A DDL statement is its own transaction.
	if !r.group {
		if err := r.beginGroup(h, start); err != nil {
			return err
		}
		d.GTID = ""
	}
	d.Pos = r.txNext.withFile(r.file, h.LogPos)
	r.recordDDL(d)
	r.reached = d.Pos
	r.progress++
	r.endGroup()
	return r.heartbeat(ctx, true)
}

// ddl is a schema change (or another statement written as a QUERY event
// outside a transaction). The schema-history work builds on recordDDL.
type ddl struct {
	DB        string
	Statement string
	GTID      string
	Pos       Position // after the statement
}

func (r *reader) recordDDL(d ddl) {
	r.src.log.Info("DDL in the binlog", "statement", truncate(d.Statement, 1000), "db", d.DB, "gtid", d.GTID, "position", d.Pos.String())
}

func isDDL(word string) bool {
	switch word {
	case "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE":
		return true
	}
	return false
}

// leadingWords returns the first two words of a statement, upper-cased
// ("" when missing).
func leadingWords(q string) [2]string {
	var w [2]string
	f := strings.Fields(q[:min(len(q), 64)])
	for i := 0; i < len(w) && i < len(f); i++ {
		w[i] = strings.ToUpper(f[i])
	}
	return w
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// tableMap records the table map in force for its table id. Rows are
// always decoded with the table map that precedes them (go-mysql attaches
// it to the rows event), so rows written before an ALTER decode with the old
// columns.
func (r *reader) tableMap(tm *replication.TableMapEvent) error {
	name := string(tm.Schema) + "." + string(tm.Table)
	if !r.captures(name) {
		r.tables[tm.TableID] = &tableEntry{tm: tm}
		return nil
	}
	fp := fingerprint(tm)
	if c, ok := r.cache[name]; ok && c.fingerprint == fp {
		r.tables[tm.TableID] = &tableEntry{tm: tm, table: c.table}
		return nil
	}
	t, err := describe(tm, r.src.charset)
	if err != nil {
		return err
	}
	if _, ok := r.cache[name]; ok {
		r.src.log.Info("table schema changed", "table", name, "schema", t.schema.String())
	}
	r.cache[name] = &cachedTable{fingerprint: fp, table: t}
	r.tables[tm.TableID] = &tableEntry{tm: tm, table: t}
	return nil
}

// fingerprint identifies what describe reads from a table map.
func fingerprint(tm *replication.TableMapEvent) string {
	var b strings.Builder
	field := func(p []byte) {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.Write(p)
	}
	field(tm.ColumnType)
	for _, m := range tm.ColumnMeta {
		b.WriteString(strconv.Itoa(int(m)))
		b.WriteByte(',')
	}
	field(tm.NullBitmap)
	field(tm.SignednessBitmap)
	for _, n := range tm.ColumnName {
		field(n)
	}
	for _, vs := range append(append([][][]byte{}, tm.EnumStrValue...), tm.SetStrValue...) {
		b.WriteByte('|')
		for _, v := range vs {
			field(v)
		}
	}
	for _, list := range [][]uint64{tm.DefaultCharset, tm.ColumnCharset, tm.EnumSetDefaultCharset, tm.EnumSetColumnCharset, tm.PrimaryKey, tm.GeometryType} {
		b.WriteByte('|')
		for _, n := range list {
			b.WriteString(strconv.FormatUint(n, 10))
			b.WriteByte(',')
		}
	}
	return b.String()
}

// captures reports whether a "db.table" matches the configured patterns.
func (r *reader) captures(name string) bool {
	ok, seen := r.captured[name]
	if !seen {
		m, _ := matchTables(r.src.cfg.Tables, []string{name})
		ok = len(m) > 0
		r.captured[name] = ok
	}
	return ok
}

func (r *reader) rows(ctx context.Context, h *replication.EventHeader, start uint32, e *replication.RowsEvent) error {
	decodeErr, _ := r.decodeErrs.LoadAndDelete(e)
	entry := r.tables[e.TableID]
	if entry == nil {
		return fmt.Errorf("rows event at %s:%d for table id %d without its table map", r.file, start, e.TableID)
	}
	t := entry.table
	if t == nil {
		return nil // not captured
	}
	if entry.tm != e.Table {
		return fmt.Errorf("rows event at %s:%d: its table map is not the one in force for table id %d", r.file, start, e.TableID)
	}
	if !r.group {
		if err := r.beginGroup(h, start); err != nil {
			return err
		}
		r.inTx = true
	}
	if !r.begun {
		r.begun = true
		if err := r.emit(ctx, source.Message{Begin: &source.Begin{TxID: r.txID(), CommitTime: r.txTime}}); err != nil {
			return err
		}
	}
	var op source.Op
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert:
		op = source.OpCreate
	case replication.EnumRowsEventTypeUpdate:
		op = source.OpUpdate
	case replication.EnumRowsEventTypeDelete:
		op = source.OpDelete
	default:
		return fmt.Errorf("rows event at %s:%d of unknown type %s", r.file, start, h.EventType)
	}
	pos := FilePosition(r.file, start)
	if decodeErr != nil {
		return r.change(ctx, h, pos, 0, &source.Change{Op: op, Table: t.schema,
			Err: fmt.Errorf("decoding rows event for %s at %s: %w", t.schema.ID(), pos, decodeErr.(error))})
	}
	step := 1
	if op == source.OpUpdate {
		step = 2
	}
	for i := 0; i+step <= len(e.Rows); i += step {
		var before, after []any
		var err1, err2 error
		skipped := func(j int) []int {
			if j < len(e.SkippedColumns) {
				return e.SkippedColumns[j]
			}
			return nil
		}
		switch op {
		case source.OpCreate:
			after, err1 = t.row(e.Rows[i], skipped(i))
		case source.OpDelete:
			before, err1 = t.row(e.Rows[i], skipped(i))
		case source.OpUpdate:
			before, err1 = t.row(e.Rows[i], skipped(i))
			after, err2 = t.row(e.Rows[i+1], skipped(i+1))
		}
		if err := r.change(ctx, h, pos, i/step, &source.Change{Op: op, Table: t.schema, Before: before, After: after, Err: errors.Join(err1, err2)}); err != nil {
			return err
		}
	}
	return nil
}

// change completes a change with its transaction and source fields, and sends it.
func (r *reader) change(ctx context.Context, h *replication.EventHeader, pos Position, row int, ch *source.Change) error {
	r.order++
	ch.Tx = source.Tx{ID: r.txID(), Order: r.order, CommitTime: r.txTime}
	ch.Pos = pos
	ch.Meta = map[string]any{
		"db": ch.Table.Namespace, "server_id": int64(h.ServerID), "file": pos.file, "pos": int64(pos.offset), "row": int64(row),
	}
	if r.txGTID != "" {
		ch.Meta["gtid"] = r.txGTID
	}
	if r.thread != 0 {
		ch.Meta["thread"] = int64(r.thread)
	}
	return r.emit(ctx, source.Message{Change: ch})
}

// commit ends the event group at an XID event or a COMMIT query. The
// position after it is the resume point.
func (r *reader) commit(ctx context.Context, h *replication.EventHeader) error {
	if !r.group {
		r.txNext = r.reached
	}
	next := r.txNext.withFile(r.file, h.LogPos)
	r.reached = next
	r.progress++
	begun, id, at := r.begun, r.txID(), r.txTime
	r.endGroup()
	if begun {
		return r.emit(ctx, source.Message{Commit: &source.Commit{TxID: id, Pos: next, CommitTime: at}})
	}
	return r.heartbeat(ctx, false)
}

// heartbeat offers the reached position to the pipeline while no
// transaction is open, so that transactions of uncaptured tables and DDL
// advance the checkpoint. Unless forced it is throttled to one per half
// status interval, or heartbeatEvery transactions.
func (r *reader) heartbeat(ctx context.Context, force bool) error {
	if r.group || r.progress == r.hbProgress {
		return nil
	}
	if !force && time.Since(r.hbAt) < r.src.cfg.StatusInterval/2 && r.progress-r.hbProgress < heartbeatEvery {
		return nil
	}
	r.hbProgress, r.hbAt = r.progress, time.Now()
	return r.emit(ctx, source.Message{Heartbeat: r.reached})
}

func (r *reader) emit(ctx context.Context, m source.Message) error {
	select {
	case r.out <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

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
