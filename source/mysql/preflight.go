package mysql

import (
	"context"
	"fmt"
	"slices"

	"github.com/cdc-go/cdc/source"
)

// Position order, for replays (`cdc positions set` moves a connector back;
// the pipeline marks what it sends again until the stream passes the
// position it replaced). Positions of one server are ordered by the binlog:
// GTID positions domain by domain (MariaDB) or by set inclusion (MySQL),
// file positions by file and offset (binlog.999999 < binlog.1000000).

// Reached reports whether p is at or after q: every transaction before q is
// before p too. A position never reaches one of another form, nor the zero
// Position. The XA parts of either are not compared.
func (p Position) Reached(q Position) bool {
	if p.kind != q.kind || p.kind == kindNone {
		return false
	}
	switch p.kind {
	case kindMariaDB:
		have := map[uint32]uint64{}
		for _, g := range p.maria {
			have[g.DomainID] = g.SequenceNumber
		}
		for _, g := range q.maria {
			if n, ok := have[g.DomainID]; !ok || n < g.SequenceNumber {
				return false
			}
		}
		return true
	case kindMySQL:
		return p.mysql.Contain(q.mysql)
	}
	return p.binlogPos().Compare(q.binlogPos()) >= 0
}

// CoversTx reports whether the transaction with id, as this source's Begin
// names it (a GTID, or the binlog file:offset of its first event), ends at
// or before p. An id of another form than p is not covered.
func (p Position) CoversTx(id string) bool {
	switch p.kind {
	case kindMariaDB:
		g, err := parseMariaDBGTIDs(id)
		if err != nil || len(g) != 1 {
			return false
		}
		for _, x := range p.maria {
			if x.DomainID == g[0].DomainID {
				return x.SequenceNumber >= g[0].SequenceNumber
			}
		}
		return false
	case kindMySQL:
		set, err := parseMySQLGTIDSet(id)
		return err == nil && p.mysql.Contain(set)
	case kindFile:
		name, off, err := parseFileOffset(id)
		return err == nil && FilePosition(name, off).binlogPos().Compare(p.binlogPos()) < 0
	}
	return false
}

// Order compares positions of this source for the pipeline's replay
// marking; it holds no state.
type Order struct{}

// Covers reports whether the transaction b begins ends at or before until.
func (Order) Covers(until source.Position, b *source.Begin) bool {
	u, ok := until.(Position)
	return ok && u.CoversTx(b.TxID)
}

// Reached reports whether pos is at or after until.
func (Order) Reached(until, pos source.Position) bool {
	u, ok1 := until.(Position)
	p, ok2 := pos.(Position)
	return ok1 && ok2 && p.Reached(u)
}

// CheckAvailable reports whether the stream could start at pos on this
// server, for `cdc positions set`: the position must be of this server's
// form, its binlog file (when it names one) must be in SHOW BINARY LOGS,
// and its GTIDs must not be purged (see CheckResume). A position that is
// gone is a *PurgedError. It changes nothing on the server.
func (s *Source) CheckAvailable(ctx context.Context, pos Position) error {
	if err := s.CheckResume(ctx, pos); err != nil {
		return err
	}
	if pos.kind == kindFile || pos.file == "" {
		return nil // a file position's file was checked by CheckResume
	}
	files, err := binlogFiles(ctx, s.db)
	if err != nil {
		return err
	}
	if !slices.Contains(files, pos.file) {
		return s.purged(pos, fmt.Sprintf("binlog file %s is not in the server's binlog index", pos.file), files)
	}
	return nil
}

// Current returns the position the server writes at now.
func (s *Source) Current(ctx context.Context) (Position, error) {
	return s.currentPosition(ctx)
}
