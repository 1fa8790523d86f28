package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/snapshot"
)

// Snapshot chunks on MariaDB (docs/snapshots.md, "Watermarks on MariaDB
// and MySQL"): each chunk is one SELECT in a transaction started WITH
// CONSISTENT SNAPSHOT, whose binlog_snapshot_file/position status is the
// binlog position exactly consistent with what the SELECT sees. That
// position is both watermarks: every event group that ends at or before it
// is in the chunk, every later one is not.

// Snapshot errors.
var (
	// ErrNoSnapshotPosition: the server does not report the binlog position
	// of a consistent snapshot (binlog_snapshot_file/position: MariaDB and
	// Percona Server have it, stock MySQL does not), so a chunk cannot be
	// placed in the binlog. MySQL needs the GTID-set or signal-table
	// watermarks (not built yet).
	ErrNoSnapshotPosition = errors.New("the server reports no consistent-snapshot binlog position (binlog_snapshot_file/position)")
	// ErrShapeChanged: the table's columns differ from the shape the chunk
	// was asked for: a DDL statement the stream has not reached yet (or
	// has passed). The chunk is dropped and read again once the stream and
	// the table agree.
	ErrShapeChanged = errors.New("the table's shape differs from the stream's")
)

// chunk is one chunk of a table's rows, read in one consistent snapshot.
type chunk struct {
	// rows are aligned with the table's columns; each value is what the
	// binlog decoder gives the same column in the stream (same Go type,
	// same value), so a snapshot row and a streamed row of the same row
	// are equal.
	rows [][]any
	// errs is aligned with rows: a row's conversion error (the stream
	// sends such a row to the dead-letter topic, with Change.Err set), or
	// nil. errs is nil when every row converted.
	errs []error
	// last is the canonical key of the last row, in key order (nil when
	// rows is empty): the next chunk's lower bound, stored in
	// snapshot.Progress.LastKey.
	last []snapshot.KeyValue
	// at is the binlog file position consistent with the read (a file
	// position; compare with Position.atOrAfter): every transaction that
	// ends at or before it is in the chunk, every later one is not.
	at Position
}

// chunkReader reads snapshot chunks on a connection of its own (neither
// the replication one nor the catalog pool), with the session settings the
// value conversion needs. It is owned by the stream's reader goroutine; it
// is not safe for concurrent use. A failed connection is replaced on the
// next read. Close it when the stream ends.
type chunkReader struct {
	src *Source
	db  *sql.DB // at most one connection
}

// newChunkReader prepares a chunk reader; it connects on the first read.
func (s *Source) newChunkReader() (*chunkReader, error) {
	cfg := s.dsn.Clone()
	// Prepared statements (binary protocol: exact FLOAT and DOUBLE) with
	// typed parameters, raw temporal text, and the session of snapshot_values.go.
	cfg.InterpolateParams = false
	cfg.ParseTime = false
	cfg.MultiStatements = false
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["character_set_results"] = "NULL"
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("snapshot connection: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return &chunkReader{src: s, db: db}, nil
}

// Close closes the connection.
func (c *chunkReader) Close() error { return c.db.Close() }

// readChunk reads the rows of table t after the key last (the first chunk
// when last is nil), at most limit, in the order of key (the primary key's
// columns in index order, from snapshotShape). t is the shape the rows are
// to carry, the stream's: when the table's current columns give another
// shape, readChunk fails with ErrShapeChanged and returns no rows.
//
// It blocks for one SELECT of at most limit rows; ctx cancels it (the
// connection is closed and replaced). It never writes to the server.
func (c *chunkReader) readChunk(ctx context.Context, t *schema.Table, key []string, last []snapshot.KeyValue, limit int) (chunk, error) {
	cols := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		cols[i] = col.Name
	}
	casts, err := keyCasts(t, key)
	if err != nil {
		return chunk{}, err
	}
	cq := snapshot.ChunkQuery{
		Dialect: snapshot.MySQL, Namespace: t.Namespace, Table: t.Name, Columns: cols, Key: key, Limit: limit, Casts: casts,
		// MariaDB 10.11 does not turn the row-value comparison (a, b) > (?, ?)
		// into a range on the primary key: EXPLAIN shows type "index" (a
		// full index scan from the start, 10182 rows read for 7 returned in
		// a 20000-row table), while a >= ? AND (a > ? OR (a = ? AND b > ?))
		// is a range (7 rows read, 2 pages). Same order, same rows.
		Expanded: true,
	}
	var q snapshot.Query
	var args []any
	if last == nil {
		q, err = cq.First()
	} else {
		q, err = cq.After()
		if err == nil {
			var vals []any
			if vals, err = keyArgs(t, key, last); err == nil {
				args, err = q.Args(vals)
			}
		}
	}
	if err != nil {
		return chunk{}, err
	}
	keyIdx := make([]int, len(key))
	for i, k := range key {
		keyIdx[i] = t.Column(k) // checked by keyCasts
	}

	conn, err := c.db.Conn(ctx)
	if err != nil {
		return chunk{}, fmt.Errorf("snapshot of %s: connecting: %w", t.ID(), err)
	}
	defer conn.Close()
	raw, at, shape, err := c.read(ctx, conn, t, q.SQL, args)
	if err != nil {
		// Never hand a connection with an open transaction back to the
		// pool: roll back, or drop the connection.
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil || ctx.Err() != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return chunk{}, fmt.Errorf("snapshot of %s: %w", t.ID(), err)
	}
	if got, want := shape.schema.Fingerprint(), t.Fingerprint(); got != want {
		return chunk{}, fmt.Errorf("snapshot of %s: the table is now %s, the stream's shape %s: %w", t.ID(), shape.schema, t, ErrShapeChanged)
	}
	out := chunk{at: at}
	for n, vals := range raw {
		row, err := shape.row(vals)
		out.rows = append(out.rows, row)
		if err != nil {
			if out.errs == nil {
				out.errs = make([]error, len(raw))
			}
			out.errs[n] = err
		}
	}
	if n := len(raw); n > 0 {
		out.last = make([]snapshot.KeyValue, len(key))
		for i, j := range keyIdx {
			if out.last[i], err = shape.keyValue(j, raw[n-1][j], out.rows[n-1][j]); err != nil {
				return chunk{}, fmt.Errorf("snapshot of %s: last key: %w", t.ID(), err)
			}
		}
	}
	return out, nil
}

// read runs the chunk's transaction on conn and returns the rows as the
// driver gives them, the snapshot's binlog position, and the table's shape
// read inside the transaction (after the SELECT, whose metadata lock keeps
// DDL on the table out until COMMIT, so it is the shape the SELECT read).
func (c *chunkReader) read(ctx context.Context, conn *sql.Conn, t *schema.Table, query string, args []any) ([][]any, Position, *snapTable, error) {
	for _, stmt := range []string{
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT",
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return nil, Position{}, nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	at, err := snapshotPosition(ctx, conn)
	if err != nil {
		return nil, Position{}, nil, err
	}
	// A prepared statement even without parameters: the binary protocol.
	stmt, err := conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, Position{}, nil, fmt.Errorf("preparing the chunk query %s: %w", query, err)
	}
	defer stmt.Close()
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, Position{}, nil, fmt.Errorf("chunk query %s: %w", query, err)
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(t.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return nil, Position{}, nil, fmt.Errorf("chunk query %s: %w", query, err)
		}
		out = append(out, vals)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, Position{}, nil, fmt.Errorf("chunk query %s: %w", query, err)
	}
	shape, err := c.src.readShape(ctx, conn, t.Namespace, t.Name)
	if err != nil {
		return nil, Position{}, nil, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, Position{}, nil, fmt.Errorf("COMMIT: %w", err)
	}
	return out, at, shape, nil
}

// snapshotPosition reads the binlog position of the transaction's
// consistent snapshot.
func snapshotPosition(ctx context.Context, conn *sql.Conn) (Position, error) {
	rows, err := conn.QueryContext(ctx, "SHOW STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return Position{}, fmt.Errorf("reading the snapshot's binlog position: %w", err)
	}
	defer rows.Close()
	var file, pos string
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return Position{}, fmt.Errorf("reading the snapshot's binlog position: %w", err)
		}
		switch strings.ToLower(name) {
		case "binlog_snapshot_file":
			file = value
		case "binlog_snapshot_position":
			pos = value
		}
	}
	if err := rows.Err(); err != nil {
		return Position{}, fmt.Errorf("reading the snapshot's binlog position: %w", err)
	}
	if file == "" || pos == "" {
		return Position{}, ErrNoSnapshotPosition
	}
	off, err := strconv.ParseUint(pos, 10, 32)
	if err != nil {
		return Position{}, fmt.Errorf("reading the snapshot's binlog position: offset %q: %w", pos, err)
	}
	if err := validFileName(file); err != nil {
		return Position{}, fmt.Errorf("reading the snapshot's binlog position: %w", err)
	}
	return FilePosition(file, uint32(off)), nil
}

// atOrAfter reports whether p's binlog file position is at or past q's
// (binlog.999999 before binlog.1000000). It compares the file parts only,
// which every stream position carries once the stream has read an event
// (GTID positions too); false when either has none.
//
// The reader emits a chunk read at `at` before the first event group that
// does not end at or before `at`: once its own file position atOrAfter(at)
// (after a commit, a DDL statement, or a heartbeat at or past it), every
// transaction in the chunk has been streamed and none newer.
func (p Position) atOrAfter(q Position) bool {
	if p.file == "" || q.file == "" {
		return false
	}
	return p.binlogPos().Compare(q.binlogPos()) >= 0
}
