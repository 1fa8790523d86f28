package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/cdc-go/cdc/source"
)

// CheckResume reports whether the stream could resume from from (a
// checkpoint) on this server, as Stream would decide it, without reading
// the binlog: a position of another flavor, a binlog file the server no
// longer has, or GTIDs the server has purged (MySQL: gtid_purged not
// contained in from; MariaDB: the oldest binlog's Gtid_list ahead of from in
// some domain). A position that cannot resume is returned as an error
// wrapping ErrPositionPurged (or a plain error for a position of another
// server), with the ways out. It changes nothing on the server.
func (s *Source) CheckResume(ctx context.Context, from source.Position) error {
	p, err := s.startPosition(ctx, from)
	if err != nil || !p.HasGTID() {
		return err
	}
	files, err := binlogFiles(ctx, s.db)
	if err != nil {
		return err
	}
	if s.srv.flavor != FlavorMariaDB {
		var purged string
		if err := s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_purged").Scan(&purged); err != nil {
			return fmt.Errorf("reading gtid_purged: %w", err)
		}
		purged = strings.Join(strings.Fields(purged), "")
		if purged == "" {
			return nil
		}
		set, err := gomysql.ParseMysqlGTIDSet(purged)
		if err != nil {
			return fmt.Errorf("parsing gtid_purged %q: %w", purged, err)
		}
		if !p.mysql.Contain(set) {
			return s.purged(p, "the server's gtid_purged "+purged+" is not contained in it", files)
		}
		return nil
	}
	if len(files) == 0 {
		return nil
	}
	list, err := gtidList(ctx, s, files[0])
	if err != nil || list == "" {
		return err
	}
	have := map[uint32]uint64{}
	for _, g := range p.maria {
		have[g.DomainID] = g.SequenceNumber
	}
	for _, g := range strings.Split(list, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		mg, err := gomysql.ParseMariadbGTID(g)
		if err != nil {
			return fmt.Errorf("parsing the Gtid_list of binlog %s (%q): %w", files[0], list, err)
		}
		if have[mg.DomainID] < mg.SequenceNumber {
			return s.purged(p, fmt.Sprintf("the oldest binlog file %s starts after GTID %s", files[0], g), files)
		}
	}
	return nil
}

// gtidList returns the GTID list written at the start of a MariaDB binlog
// file ("0-1-5,1-2-3"): every transaction up to it is in older files.
func gtidList(ctx context.Context, s *Source, file string) (string, error) {
	rows, err := s.db.QueryContext(ctx, "SHOW BINLOG EVENTS IN '"+strings.ReplaceAll(file, "'", "''")+"' LIMIT 4")
	if err != nil {
		return "", fmt.Errorf("reading the start of binlog %s: %w", file, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		texts := make([]*string, len(cols))
		for i := range vals {
			vals[i] = &texts[i]
		}
		if err := rows.Scan(vals...); err != nil {
			return "", fmt.Errorf("reading the start of binlog %s: %w", file, err)
		}
		var typ, info string
		for i, c := range cols {
			if texts[i] == nil {
				continue
			}
			switch c {
			case "Event_type":
				typ = *texts[i]
			case "Info":
				info = *texts[i]
			}
		}
		if typ == "Gtid_list" {
			return strings.Trim(strings.TrimSpace(info), "[]"), nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("reading the start of binlog %s: %w", file, err)
	}
	return "", errors.New("binlog " + file + " has no Gtid_list event")
}
