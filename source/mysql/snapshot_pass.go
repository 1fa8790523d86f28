package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
)

// A table without a primary key has no chunk order and no key to reconcile
// with the stream: it is read in one pass, in one transaction WITH
// CONSISTENT SNAPSHOT, chunk_size rows per step between event groups, each
// step emitted at once as a snapshot transaction. Not resumable: a restart
// reads the table again from its first row (its rows are sent again), and
// the transaction stays open until the table is read (purge waits, and DDL
// on the table waits for its metadata lock). docs/snapshots.md, "Tables
// without a primary key".

type myPass struct {
	conn  *sql.Conn
	stmt  *sql.Stmt
	rows  *sql.Rows
	shape *snapTable
	est   uint64
}

func (p *myPass) close() {
	if p == nil {
		return
	}
	if p.rows != nil {
		p.rows.Close()
	}
	if p.stmt != nil {
		p.stmt.Close()
	}
	p.conn.ExecContext(context.Background(), "ROLLBACK")
	p.conn.Close()
}

// passStep reads and emits the next part of the current table's one pass,
// opening the pass first.
func (r *reader) passStep(ctx context.Context, cur *snapshot.Progress) error {
	d, st := r.src.snap, &r.snapSt
	if st.pass == nil {
		if n := d.BeginPass(); n > 0 {
			r.src.log.Warn("the one-pass snapshot of a table without a primary key was interrupted; reading it again from its first row (the rows read before are sent again)",
				"table", cur.Table, "rows_before", n)
		}
		p, err := st.readers[0].openPass(ctx, cur.Table)
		if err != nil {
			return err
		}
		r.src.log.Info("table has no primary key: snapshot in one pass (one consistent read, held open until the table is read: purge waits, and DDL on the table waits; not resumable)",
			"table", cur.Table, "estimate", p.est)
		st.pass = p
	}
	p := st.pass
	var rows [][]any
	var errs []error
	for len(rows) < d.ChunkSize() && p.rows.Next() {
		vals := make([]any, len(p.shape.schema.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := p.rows.Scan(ptrs...); err != nil {
			p.close()
			st.pass = nil
			return fmt.Errorf("snapshot of %s (one pass): %w", cur.Table, err)
		}
		row, err := p.shape.row(vals)
		rows = append(rows, row)
		if err != nil {
			if errs == nil {
				errs = make([]error, d.ChunkSize())
			}
			errs[len(rows)-1] = err
		}
	}
	if len(rows) < d.ChunkSize() {
		if err := p.rows.Err(); err != nil {
			p.close()
			st.pass = nil
			return fmt.Errorf("snapshot of %s (one pass): %w", cur.Table, err)
		}
	}
	if len(rows) == 0 {
		p.close()
		st.pass = nil
	}
	msgs, err := d.Emit(snapshot.Chunk{
		ID: d.NextID(), Table: p.shape.schema, Rows: rows, Errs: errs, Read: len(rows), Estimate: p.est, OnePass: true,
		Meta: source.Meta{{Key: "db", Value: p.shape.schema.Namespace}},
	}, r.pos(r.reached), time.Now())
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		r.src.log.Info("snapshot of table done", "table", cur.Table, "tables_left", msgs[len(msgs)-1].Commit.Snapshot.Open)
	}
	return r.emitAll(ctx, msgs)
}

// openPass starts the one-pass read of a table on the chunk reader's
// connection (no chunk is read meanwhile: tables are read one at a time).
func (c *chunkReader) openPass(ctx context.Context, table string) (*myPass, error) {
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s: connecting: %w", table, err)
	}
	p := &myPass{conn: conn}
	fail := func(err error) (*myPass, error) {
		p.close()
		return nil, fmt.Errorf("snapshot of %s (one pass): %w", table, err)
	}
	for _, q := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fail(err)
		}
	}
	db, name, _ := strings.Cut(table, ".")
	if p.shape, err = c.src.readShape(ctx, conn, db, name); err != nil {
		return fail(err)
	}
	var est sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, name).Scan(&est); err == nil && est.Valid {
		p.est = uint64(est.Int64)
	}
	cols := make([]string, len(p.shape.schema.Columns))
	for i, col := range p.shape.schema.Columns {
		cols[i] = quoteIdent(col.Name)
	}
	// A prepared statement: the binary protocol, as chunks are read.
	if p.stmt, err = conn.PrepareContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+quoteIdent(db)+"."+quoteIdent(name)); err != nil {
		return fail(err)
	}
	if p.rows, err = p.stmt.QueryContext(ctx); err != nil {
		return fail(err)
	}
	return p, nil
}
