package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Wide rows (workload wide): tables t000, t001, ... besides t, each
//
//	id, seq, ts_us bigint   as in t
//	amount numeric(12,2)    a decimal
//	qty integer
//	name varchar(200)       64 characters
//	note text               160 characters (MariaDB: varchar(255))
//	body text               2,000 characters
//	tags text               400 characters
//	attrs text              1,400 characters
//
// about 4 KiB a row, in several text columns rather than one blob, so that
// a connector decodes and encodes a realistic number of values. The texts
// are words of random letters (no quotes or escapes), from a pool of
// variants picked by seq, so that rows differ and compress as text does.

const widePoolSize = 16

type widePool struct {
	name, note, body, tags, attrs [widePoolSize]string
}

var wideTexts = func() *widePool {
	rng := rand.New(rand.NewPCG(4, 4096))
	words := func(n int, sep string) string {
		var b strings.Builder
		for b.Len() < n {
			if b.Len() > 0 {
				b.WriteString(sep)
			}
			for i, l := 0, 3+rng.IntN(7); i < l; i++ {
				b.WriteByte(byte('a' + rng.IntN(26)))
			}
		}
		return b.String()[:n]
	}
	p := &widePool{}
	for i := range widePoolSize {
		p.name[i] = words(64, " ")
		p.note[i] = words(160, " ")
		p.body[i] = words(2000, " ")
		p.tags[i] = words(400, ",")
		p.attrs[i] = words(1400, "=")
	}
	return p
}()

// wideColumns is the column list of a wide table, with the database's
// types for the decimal, the integer, the name, the note and the long
// texts.
func wideColumns(decimal, integer, name, note, long string) string {
	return fmt.Sprintf("id bigint PRIMARY KEY, seq bigint NOT NULL, ts_us bigint NOT NULL, amount %s, qty %s, name %s, note %s, body %s, tags %s, attrs %s",
		decimal, integer, name, note, long, long, long)
}

// wideTableNames are the names of n wide tables: t000, t001, ...
func wideTableNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("t%03d", i)
	}
	return names
}

// wideTexts of a row version: each column its own variant.
func wideTextsOf(seq int64) (name, note, body, tags, attrs string) {
	i := int(seq % widePoolSize)
	p := wideTexts
	return p.name[i], p.note[(i+1)%widePoolSize], p.body[(i+3)%widePoolSize], p.tags[(i+5)%widePoolSize], p.attrs[(i+7)%widePoolSize]
}

func amountOf(seq int64) string { return fmt.Sprintf("%d.%02d", seq%1000000, seq%100) }

// wideInsertSQL inserts rows into a wide table; it returns the statement
// and the rows' source bytes (wideRowBytes).
func wideInsertSQL(table string, rows []row) (string, int64) {
	var b strings.Builder
	var n int64
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (id, seq, ts_us, amount, qty, name, note, body, tags, attrs) VALUES ")
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		name, note, body, tags, attrs := wideTextsOf(r.Seq)
		amount := amountOf(r.Seq)
		fmt.Fprintf(&b, "(%d,%d,%d,%s,%d,'%s','%s','%s','%s','%s')", r.ID, r.Seq, r.TsUs, amount, r.Seq%1000, name, note, body, tags, attrs)
		n += wideRowBytes(amount, name, note, body, tags, attrs)
	}
	return b.String(), n
}

// wideRowBytes is a row's source size as the MB/s figure counts it: 8
// bytes per bigint, 4 for the integer, the decimal's digits and the texts'
// lengths (no storage or protocol overhead).
func wideRowBytes(amount string, texts ...string) int64 {
	n := int64(3*8 + 4 + len(amount))
	for _, t := range texts {
		n += int64(len(t))
	}
	return n
}

// writeWide writes the wide backlog: b.Rows inserts in transactions of
// b.TxRows rows, row i going to table i mod b.Tables (so a transaction
// touches up to min(TxRows, Tables) tables, one statement each). Keys are
// per table (1, 2, ... in each), so correctness is checked per (table,
// key). It returns the rows' source bytes.
func (b backlog) writeWide(ctx context.Context, r *runCtx, w writer) (int64, error) {
	tables := wideTableNames(b.Tables)
	nextID := make([]int64, b.Tables)
	var bytes int64
	perTable := make([][]row, b.Tables)
	var stmts []string
	var expect []change
	index := make([]int, b.Tables)
	for t, name := range tables {
		index[t] = r.tableIndex(name)
	}
	for i := int64(0); i < b.Rows; {
		for t := range perTable {
			perTable[t] = perTable[t][:0]
		}
		stmts, expect = stmts[:0], expect[:0]
		now := time.Now().UnixMicro()
		for n := 0; n < b.TxRows && i < b.Rows; n, i = n+1, i+1 {
			t := int(i % int64(b.Tables))
			nextID[t]++
			x := row{ID: nextID[t], Seq: r.nextSeq(), TsUs: now}
			perTable[t] = append(perTable[t], x)
			expect = append(expect, change{Key: tableKey(index[t], x.ID), Seq: x.Seq, Op: 'c'})
		}
		for t, rows := range perTable {
			if len(rows) == 0 {
				continue
			}
			q, n := wideInsertSQL(r.ns+"."+tables[t], rows)
			stmts = append(stmts, q)
			bytes += n
		}
		if err := w.Tx(ctx, stmts); err != nil {
			return bytes, err
		}
		for _, c := range expect {
			r.tr.expect(c)
		}
		if i%(int64(b.TxRows)*20) < int64(b.TxRows) {
			r.progress("writing the wide backlog: %d/%d rows", i, b.Rows)
		}
	}
	return bytes, nil
}

// tableKey makes a change's key from its table's index and its id, so that
// the checker's keys are per (table, id): a row read from another table's
// topic does not match what was written.
func tableKey(table int, id int64) int64 {
	return int64(table)<<40 | id
}
