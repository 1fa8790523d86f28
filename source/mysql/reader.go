package mysql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/google/uuid"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// reader is the state of a stream, carried across reconnections.
type reader struct {
	src *Source
	out chan<- source.Message

	reached Position // the last transaction boundary passed: the resume point, without XA parts
	scan    Position // reached, but advanced by every group read, covered ones too (see skipState)
	file    string   // current binlog file
	healthy bool     // the current session received an event
	started bool     // a session has started

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
	scanNext   Position // scan, advanced by this group's GTID
	txMaria    gomysql.MariadbGTID
	txStart    Position // file position of the group's first event
	txTime     time.Time
	thread     uint32
	box        metaBox // shared source-field values (change)
	order      int
	warnedStmt bool

	tables     map[uint64]*tableEntry // by table id; rebuilt by each table-map event
	cache      map[string]*cachedTable
	captured   map[string]bool // "db.table" -> matches source.tables
	decodeErrs sync.Map        // *replication.RowsEvent -> error, from the syncer's goroutine
	ext        *extTypes       // MariaDB INET4/INET6/UUID columns by table, from information_schema
	// ddls holds recent DDL statements until a change of a table they name
	// passes them on (Meta "ddl") to the schema history; at most 64.
	ddls []ddl

	// XA transactions (xa.go).
	xa         []*xaTx // prepared, not yet committed or rolled back; in prepare order
	xaCur      *xaTx   // the XA transaction whose prepared group is being read
	xaBytes    int     // binlog bytes of the changes held in xa and xaCur
	holdSize   int     // bytes counted for each change of the current rows event
	skip       *skipState
	skipping   bool     // the current group is covered by the resume position
	resumeFrom Position // the position the current session resumed from, when it had pending XA transactions

	snapSt snapState // snapshot_stream.go
}

// tableEntry is the table map in force for a table id.
type tableEntry struct {
	tm    *replication.TableMapEvent
	table *table // nil when the table is not captured
	raw   []byte // the table-map event as the server sent it, for dead letters
}

// cachedTable keeps the last schema built for a table, so that table maps
// of an unchanged table share one *schema.Table.
type cachedTable struct {
	fingerprint string
	table       *table
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
		r.file = string(e.NextLogName)
		if r.reached.kind == kindFile && !r.group && r.skip == nil {
			r.reached = FilePosition(r.file, uint32(e.Position))
		}
	case *replication.MariadbGTIDEvent:
		if err := r.beginGroup(h, start); err != nil {
			return err
		}
		g := e.GTID
		r.txGTID = fmt.Sprintf("%d-%d-%d", g.DomainID, g.ServerID, g.SequenceNumber)
		r.txMaria = g
		if r.reached.kind == kindMariaDB {
			r.txNext = r.reached.withMariaDBGTID(g)
			r.scanNext = r.scan.withMariaDBGTID(g)
		}
		r.inTx = !e.IsStandalone()
		return r.decideGroup(e.Flags&flPreparedXA != 0)
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
		if err := r.tableMap(ctx, e); err != nil {
			return err
		}
		r.tables[e.TableID].raw = ev.RawData
	case *replication.RowsEvent:
		return r.rows(ctx, h, start, e, ev.RawData)
	case *replication.XIDEvent:
		return r.commit(ctx, h)
	case *replication.TransactionPayloadEvent:
		for _, in := range e.Events {
			if err := r.handle(ctx, in, true); err != nil {
				return err
			}
		}
	case *replication.GenericEvent:
		if h.EventType == replication.XA_PREPARE_LOG_EVENT {
			return r.xaPrepare(ctx, h, e.Data)
		}
	case *replication.HeartbeatEvent:
		if !r.group && r.skip == nil && r.reached.kind == kindFile && e.Filename == r.file && h.LogPos > r.reached.offset {
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
		r.scanNext = r.scan.withMySQLGTID(sid, tag, e.GNO)
	}
	return r.decideGroup(false)
}

// beginGroup starts an event group at a GTID event (or a BEGIN without one).
func (r *reader) beginGroup(h *replication.EventHeader, start uint32) error {
	if r.begun {
		return fmt.Errorf("binlog transaction %s has no commit before the next transaction at %s:%d", r.txID(), r.file, start)
	}
	r.endGroup()
	r.group = true
	r.txNext, r.scanNext = r.reached, r.scan
	r.txStart = FilePosition(r.file, start)
	r.txTime = time.Unix(int64(h.Timestamp), 0).UTC()
	if r.reached.kind == kindFile {
		return r.decideGroup(false) // no GTID event to wait for
	}
	return nil
}

// endGroup forgets the current group; the position moves only where the
// group's end is handled.
func (r *reader) endGroup() {
	if r.group {
		r.scan = r.scanNext
	}
	if x := r.xaCur; x != nil && !slices.Contains(r.xa, x) {
		r.xaBytes -= x.bytes
	}
	r.group, r.inTx, r.begun = false, false, false
	r.txGTID, r.thread, r.order, r.warnedStmt = "", 0, 0, false
	r.txMaria, r.xaCur, r.skipping = gomysql.MariadbGTID{}, nil, false
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
		if w[0] == "XA" {
			r.startXA() // MySQL; MariaDB flags the GTID event
		}
		return nil
	case w[0] == "COMMIT":
		return r.commit(ctx, h)
	case w[0] == "ROLLBACK" && w[1] != "TO":
		// Written for transactions that changed non-transactional tables:
		// those changes stay, so what was sent is committed.
		return r.commit(ctx, h)
	case w[0] == "XA" && (w[1] == "COMMIT" || w[1] == "ROLLBACK"):
		rest := strings.TrimSpace(q[2:])
		return r.xaEnd(ctx, h, w[1] == "COMMIT", rest[min(len(rest), len(w[1])):])
	case w[0] == "SAVEPOINT" || w[0] == "ROLLBACK" || w[0] == "RELEASE" || w[0] == "XA":
		return nil
	}
	if r.skipping {
		if r.inTx {
			return nil
		}
		return r.passGroup(ctx, h, false) // a DDL statement published before
	}
	if !r.inTx {
		if handled, err := r.truncate(ctx, h, start, e, q); handled || err != nil {
			return err
		}
	}
	d := ddl{DB: string(e.Schema), Statement: q, GTID: r.txGTID}
	r.ext.forget() // a column may have changed type
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
	level := slog.LevelDebug
	// TRUNCATE keeps the table's shape: it is no schema version's DDL.
	if r.concerns(d) && leadingWords(skipSpace(d.Statement))[0] != "TRUNCATE" {
		level = slog.LevelInfo
		if len(r.ddls) >= 64 {
			r.ddls = append(r.ddls[:0], r.ddls[1:]...)
		}
		r.ddls = append(r.ddls, d)
	}
	r.src.log.Log(context.Background(), level, "DDL in the binlog", "statement", truncate(d.Statement, 1000), "db", d.DB, "gtid", d.GTID, "position", d.Pos.String())
}

// concerns tells whether a statement may touch a captured database: its
// default database is one, or it names one. A guess (statements are not
// parsed), used only to keep unrelated DDL out of the info log.
func (r *reader) concerns(d ddl) bool {
	for _, p := range r.src.cfg.Tables {
		dbPattern, _, _ := strings.Cut(p, ".")
		if ok, _ := path.Match(dbPattern, d.DB); ok {
			return true
		}
		if !strings.ContainsAny(dbPattern, "*?[\\") && strings.Contains(d.Statement, dbPattern) {
			return true
		}
	}
	for _, t := range r.src.srv.tables {
		if db, _, _ := strings.Cut(t, "."); strings.Contains(d.Statement, db) {
			return true
		}
	}
	for name := range r.cache {
		if db, _, _ := strings.Cut(name, "."); strings.Contains(d.Statement, db) {
			return true
		}
	}
	return false
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
func (r *reader) tableMap(ctx context.Context, tm *replication.TableMapEvent) error {
	name := string(tm.Schema) + "." + string(tm.Table)
	if !r.captures(name) {
		r.tables[tm.TableID] = &tableEntry{tm: tm}
		return nil
	}
	var ext map[string]string
	if hasExtCandidates(tm) {
		var err error
		if ext, err = r.ext.lookup(ctx, string(tm.Schema), string(tm.Table)); err != nil {
			return err
		}
	}
	fp := fingerprint(tm) + extSignature(ext)
	if c, ok := r.cache[name]; ok && c.fingerprint == fp {
		r.tables[tm.TableID] = &tableEntry{tm: tm, table: c.table}
		return nil
	}
	t, err := describe(tm, r.src.charset, ext)
	if err != nil {
		return err
	}
	if _, ok := r.cache[name]; ok {
		r.src.log.Info("table schema changed", "table", name, "schema", t.schema.String())
	}
	for _, col := range t.schema.Columns {
		if col.Kind == schema.KindUnknown && r.src.warnUnmapped(name+"."+col.Name+":"+col.Type) {
			r.src.log.Warn("column type has no mapping; its values are the server's text form, as strings", "table", name, "column", col.Name, "type", col.Type)
		}
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

func (r *reader) rows(ctx context.Context, h *replication.EventHeader, start uint32, e *replication.RowsEvent, raw []byte) error {
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
	if r.skipping && r.xaCur == nil {
		return nil // published before the resume position
	}
	if !r.begun && r.xaCur == nil {
		r.begun = true
		if err := r.emit(ctx, source.Message{Begin: &source.Begin{TxID: r.txID(), CommitTime: r.txTime}}); err != nil {
			return err
		}
	}
	op, ok := rowsOp(h.EventType)
	if !ok {
		return fmt.Errorf("rows event at %s:%d of unknown type %s", r.file, start, h.EventType)
	}
	pos := FilePosition(r.file, start)
	r.holdSize = int(h.EventSize)
	if decodeErr != nil {
		return r.change(ctx, h, pos, 0, undecodedRows(op, t.schema, pos, decodeErr.(error), raw, entry.raw))
	}
	step := 1
	if op == source.OpUpdate {
		step = 2
	}
	r.holdSize = int(h.EventSize) / max(1, len(e.Rows)/step)
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

// rowsOp maps a rows event type to its operation.
func rowsOp(t replication.EventType) (source.Op, bool) {
	switch t {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2,
		replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:
		return source.OpCreate, true
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
		replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1, replication.PARTIAL_UPDATE_ROWS_EVENT:
		return source.OpUpdate, true
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2,
		replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		return source.OpDelete, true
	}
	return 0, false
}

// metaBox keeps the source fields that rows of one event (or one
// transaction, or one binlog file) share as interface values, so that
// each row's source block does not box them again: a backlog of small
// rows spent a tenth of its allocations there.
type metaBox struct {
	db       string
	dbV      any
	serverID uint32
	server   any
	file     string
	fileV    any
	offset   uint32
	offsetV  any
	gtid     string
	gtidV    any
	thread   uint32
	threadV  any
}

// fields appends a change's source fields to m in key order: db, file,
// gtid (when set), pos, row, server_id, thread (when set).
func (b *metaBox) fields(m source.Meta, db string, h *replication.EventHeader, pos Position, row int, gtid string, thread uint32) source.Meta {
	if b.dbV == nil || b.db != db {
		b.db, b.dbV = db, db
	}
	if b.server == nil || b.serverID != h.ServerID {
		b.serverID, b.server = h.ServerID, int64(h.ServerID)
	}
	if b.fileV == nil || b.file != pos.file {
		b.file, b.fileV = pos.file, pos.file
	}
	if b.offsetV == nil || b.offset != pos.offset {
		b.offset, b.offsetV = pos.offset, int64(pos.offset)
	}
	m = append(m, source.Field{Key: "db", Value: b.dbV}, source.Field{Key: "file", Value: b.fileV})
	if gtid != "" {
		if b.gtidV == nil || b.gtid != gtid {
			b.gtid, b.gtidV = gtid, gtid
		}
		m = append(m, source.Field{Key: "gtid", Value: b.gtidV})
	}
	m = append(m, source.Field{Key: "pos", Value: b.offsetV}, source.Field{Key: "row", Value: int64(row)},
		source.Field{Key: "server_id", Value: b.server})
	if thread != 0 {
		if b.threadV == nil || b.thread != thread {
			b.thread, b.threadV = thread, int64(thread)
		}
		m = append(m, source.Field{Key: "thread", Value: b.threadV})
	}
	return m
}

// change completes a change with its transaction and source fields, and sends it.
func (r *reader) change(ctx context.Context, h *replication.EventHeader, pos Position, row int, ch *source.Change) error {
	r.order++
	ch.Tx = source.Tx{ID: r.txID(), Order: r.order, CommitTime: r.txTime}
	ch.Pos = pos
	meta := r.box.fields(make(source.Meta, 0, 8), ch.Table.Namespace, h, pos, row, r.txGTID, r.thread)
	for _, f := range ch.Meta { // set by the decoder (undecodedRows)
		meta.Set(f.Key, f.Value)
	}
	ch.Meta = meta
	if len(r.ddls) > 0 {
		// Statements are not parsed: one names the table if it mentions
		// it and runs in, or mentions, its database.
		keep := r.ddls[:0]
		for _, d := range r.ddls {
			if (d.DB == ch.Table.Namespace || strings.Contains(d.Statement, ch.Table.Namespace)) && strings.Contains(d.Statement, ch.Table.Name) {
				ch.Meta.Set("ddl", d.Statement) // the latest one naming the table wins
			} else {
				keep = append(keep, d)
			}
		}
		r.ddls = keep
	}
	if r.xaCur != nil {
		r.holdXA(ch, r.holdSize)
		return nil
	}
	return r.emit(ctx, source.Message{Change: ch})
}

// commit ends the event group at an XID event or a COMMIT query. The
// position after it is the resume point.
func (r *reader) commit(ctx context.Context, h *replication.EventHeader) error {
	if r.skipping {
		return r.passGroup(ctx, h, false)
	}
	if x := r.xaCur; x != nil && !r.begun {
		// An XA transaction's group that ends in a commit: XA COMMIT ... ONE PHASE.
		r.xaCur = nil
		r.xaBytes -= x.bytes
		return r.publishXA(ctx, h, x)
	}
	if !r.group {
		r.txNext, r.scanNext = r.reached, r.scan
	}
	next := r.txNext.withFile(r.file, h.LogPos)
	r.reached = next
	r.progress++
	begun, id, at := r.begun, r.txID(), r.txTime
	r.endGroup()
	if begun {
		return r.emit(ctx, source.Message{Commit: &source.Commit{TxID: id, Pos: r.pos(next), CommitTime: at}})
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
	return r.emit(ctx, source.Message{Heartbeat: r.pos(r.reached)})
}

func (r *reader) emit(ctx context.Context, m source.Message) error {
	select {
	case r.out <- m:
		if m.Commit != nil {
			r.snapSt.committed = true
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
