package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-go/cdc/source"
)

// BinlogRetention is where a position stands among the binlog files the
// server keeps, and how long the server keeps them.
type BinlogRetention struct {
	// Expire is binlog_expire_logs_seconds (or expire_logs_days); 0 when
	// the server never purges binlogs by age.
	Expire time.Duration
	// File is the position's binlog file; empty when the position names
	// none (a GTID-only position): the fields below are then unknown.
	File string
	// Oldest is the oldest binlog the server keeps.
	Oldest string
	// Active: File is the binlog the server writes to, which is never
	// purged; or, for a position with GTIDs, nothing but the rotation to
	// the next file follows the position in File: the server resumes it
	// from the next file's GTID list, so File itself is no longer needed.
	Active bool
	// Purged: File is no longer on the server.
	Purged bool
	// LagBytes is how much binlog follows the position (to the end of the
	// newest file); -1 when unknown.
	LagBytes int64
}

// BinlogRetention reports where pos stands among the server's binlogs. It
// reads SHOW BINARY LOGS and the expiry settings, and is safe to call while
// Stream runs (the catalog pool).
func (s *Source) BinlogRetention(ctx context.Context, pos source.Position) (BinlogRetention, error) {
	r := BinlogRetention{LagBytes: -1}
	var err error
	if r.Expire, err = binlogExpiry(ctx, s.db); err != nil {
		return r, err
	}
	files, err := binlogSizes(ctx, s.db)
	if err != nil {
		return r, err
	}
	if len(files) > 0 {
		r.Oldest = files[0].name
	}
	p, ok := pos.(Position)
	if !ok {
		return r, nil
	}
	file, offset := p.File()
	if file == "" {
		return r, nil
	}
	r.File = file
	r.Purged = true
	for i, f := range files {
		switch {
		case f.name == file:
			r.Purged = false
			r.Active = i == len(files)-1
			r.LagBytes = max(0, f.size-int64(offset))
		case !r.Purged:
			r.LagBytes += f.size
		}
	}
	if r.Purged {
		r.LagBytes = -1
	}
	if !r.Purged && !r.Active && p.HasGTID() {
		if r.Active, err = onlyRotationAfter(ctx, s.db, file, offset); err != nil {
			return r, err
		}
	}
	return r, nil
}

// onlyRotationAfter tells whether nothing but a Rotate or Stop event
// follows offset in file.
func onlyRotationAfter(ctx context.Context, db *sql.DB, file string, offset uint32) (bool, error) {
	q := fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %d LIMIT 2", strings.ReplaceAll(file, "'", "''"), offset)
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return false, fmt.Errorf("reading binlog %s after %d: %w", file, offset, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return false, fmt.Errorf("reading binlog %s after %d: %w", file, offset, err)
		}
		for i, c := range cols {
			if c == "Event_type" && vals[i].String != "Rotate" && vals[i].String != "Stop" {
				return false, rows.Close()
			}
		}
	}
	return true, rows.Err()
}

type binlogFile struct {
	name string
	size int64
}

// binlogSizes lists the binlog files with their sizes, oldest first.
func binlogSizes(ctx context.Context, db *sql.DB) ([]binlogFile, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("listing binary logs: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var files []binlogFile
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("listing binary logs: %w", err)
		}
		f := binlogFile{name: vals[0].String}
		if len(vals) > 1 {
			f.size, _ = strconv.ParseInt(vals[1].String, 10, 64)
		}
		files = append(files, f)
	}
	return files, rows.Err()
}

// binlogExpiry reads how long the server keeps binlogs: 0 for ever.
// binlog_expire_logs_seconds (MySQL 8, MariaDB 10.6+) wins when set;
// expire_logs_days (older servers, and its alias on MariaDB) otherwise.
// MySQL's binlog_expire_logs_auto_purge OFF means no expiry.
func binlogExpiry(ctx context.Context, db *sql.DB) (time.Duration, error) {
	var auto sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.binlog_expire_logs_auto_purge").Scan(&auto); err == nil && auto.Valid && auto.Int64 == 0 {
		return 0, nil
	}
	var secs sql.NullFloat64
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.binlog_expire_logs_seconds").Scan(&secs); err == nil && secs.Valid && secs.Float64 > 0 {
		return time.Duration(secs.Float64 * float64(time.Second)), nil
	}
	var days sql.NullFloat64
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.expire_logs_days").Scan(&days); err != nil {
		// MySQL 8.4 has no expire_logs_days; binlog_expire_logs_seconds 0
		// there means no expiry.
		return 0, nil
	}
	return time.Duration(days.Float64 * 24 * float64(time.Hour)), nil
}
