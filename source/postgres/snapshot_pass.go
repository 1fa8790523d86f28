package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
)

// A table without a primary key has no chunk order and no key to reconcile
// with the stream: it is read in one pass, in one REPEATABLE READ
// transaction through a cursor, chunk_size rows per step between streamed
// transactions, and each step is emitted at once as a snapshot
// transaction. The pass is not resumable: a restart reads the table again
// from its first row (its rows are sent again), and it holds the
// transaction open (vacuum is held back, and DDL on the table waits) until
// it ends. docs/snapshots.md, "Tables without a primary key".

type pgPass struct {
	conn  *pgx.Conn
	tx    pgx.Tx
	table *schema.Table
	est   uint64
}

func (p *pgPass) close() {
	if p != nil {
		p.tx.Rollback(context.Background())
		p.conn.Close(context.Background())
	}
}

// passStep reads and emits the next part of the current table's one pass,
// opening the pass first.
func (r *reader) passStep(ctx context.Context, cur *snapshot.Progress) error {
	d := r.src.snap
	if r.pass == nil {
		if n := d.BeginPass(); n > 0 {
			r.src.log.Warn("the one-pass snapshot of a table without a primary key was interrupted; reading it again from its first row (the rows read before are sent again)",
				"table", cur.Table, "rows_before", n)
		}
		p, err := r.src.openPass(ctx, cur.Table, r.rel)
		if err != nil {
			return err
		}
		r.src.log.Info("table has no primary key: snapshot in one pass (one consistent read, held open until the table is read: vacuum waits, and DDL on the table waits; not resumable)",
			"table", cur.Table, "estimate", p.est)
		r.pass = p
	}
	p := r.pass
	var rows [][]any
	err := r.wait(ctx, func(ctx context.Context) error {
		res, err := p.tx.Conn().PgConn().Exec(ctx, fmt.Sprintf("FETCH FORWARD %d FROM cdc_pass", d.ChunkSize())).ReadAll()
		if err != nil {
			return err
		}
		for _, rs := range res {
			for _, vals := range rs.Rows {
				row := make([]any, len(p.table.Columns))
				for i := range row {
					if i >= len(vals) || vals[i] == nil {
						continue
					}
					v, derr := decodeText(&p.table.Columns[i], vals[i])
					if derr != nil {
						v = string(vals[i])
					}
					row[i] = v
				}
				rows = append(rows, row)
			}
		}
		return nil
	})
	if err != nil {
		p.close()
		r.pass = nil
		return fmt.Errorf("snapshot of %s (one pass): %w", cur.Table, err)
	}
	if len(rows) == 0 {
		if err := p.tx.Commit(ctx); err != nil {
			r.src.log.Warn("ending the one-pass read", "table", cur.Table, "error", err)
		}
		p.close()
		r.pass = nil
	}
	msgs, err := d.Emit(snapshot.Chunk{
		ID: d.NextID(), Table: p.table, Rows: rows, Read: len(rows), Estimate: p.est, OnePass: true,
		Meta: source.Meta{{Key: "db", Value: r.src.db}},
	}, r.received, time.Now())
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		r.src.log.Info("snapshot of table done", "table", cur.Table, "tables_left", msgs[len(msgs)-1].Commit.Snapshot.Open)
	}
	return r.emitAll(ctx, msgs)
}

// openPass starts the one-pass read of a table.
func (s *Source) openPass(ctx context.Context, table string, rel map[uint32]*schema.Table) (*pgPass, error) {
	conn, err := connectSQL(ctx, s.cfg.DSN)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("snapshot of %s: %w", table, err)
	}
	p := &pgPass{conn: conn, tx: tx}
	fail := func(err error) (*pgPass, error) {
		p.close()
		return nil, err
	}
	ns, name, _ := strings.Cut(table, ".")
	rm, _, est, err := s.relationOf(ctx, tx, ns, name)
	if err != nil {
		return fail(err)
	}
	p.est = est
	p.table = rel[rm.RelationID]
	if p.table == nil || !sameColumns(p.table, rm) {
		if p.table, err = s.describe(ctx, rm); err != nil {
			return fail(err)
		}
	}
	cols := make([]string, len(p.table.Columns))
	for i, c := range p.table.Columns {
		cols[i] = pgx.Identifier{c.Name}.Sanitize()
	}
	q := "DECLARE cdc_pass NO SCROLL CURSOR FOR SELECT " + strings.Join(cols, ", ") + " FROM " + pgx.Identifier{ns, name}.Sanitize()
	if _, err := tx.Exec(ctx, q); err != nil {
		return fail(fmt.Errorf("snapshot of %s: %w", table, err))
	}
	return p, nil
}
