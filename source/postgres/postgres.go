// Package postgres is the PostgreSQL source: logical replication with the
// built-in pgoutput plugin (protocol version 1), through pglogrepl.
//
// The source owns a replication slot and a publication. It reports to the
// server as flushed only positions the caller has acknowledged with Ack,
// which the pipeline does after Kafka committed them, so the server keeps
// every change that is not yet durable in Kafka.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
)

// Config is what the source needs; the config package fills it from YAML.
type Config struct {
	DSN         string
	Slot        string
	Publication string
	// Tables are "schema.table" patterns (path.Match syntax).
	Tables            []string
	CreateSlot        bool
	CreatePublication bool
	// StatusInterval is how often the source reports its flushed position to
	// the server and offers a heartbeat position to the pipeline.
	StatusInterval time.Duration
	// TablePollInterval is how often the source looks for new tables that
	// match Tables (default 5s), and adds them to a publication it manages.
	TablePollInterval time.Duration
}

// Source is a PostgreSQL logical-replication source. Open it, then call
// Stream once. Ack may be called from any goroutine; the other methods are
// not safe for concurrent use.
type Source struct {
	cfg    Config
	log    *slog.Logger
	sql    *pgx.Conn // catalog queries; used by Open, then only by Stream
	server source.Server
	db     string
	tables []tableName
	// pubManaged: cdc created the publication and keeps it in line with
	// source.tables; any other publication is used as it is.
	pubManaged bool
	// unpublished are new matching tables already reported as missing from
	// a publication cdc does not manage.
	unpublished map[tableName]bool
	// unmapped holds the columns whose unmapped type was logged (warnUnmapped).
	unmapped sync.Map
	acked    atomic.Uint64
	// snap runs the snapshot SetSnapshot gave, on its own connection.
	snap *snapshot.Driver
	// snapSQL are the snapshot connections, one per table read at once;
	// snapMu guards it, and the catalog connection while chunks are read.
	snapSQL []*pgx.Conn
	snapMu  sync.Mutex
	// createdSlot: Open created the replication slot (it did not exist).
	createdSlot bool
}

type tableName struct{ schema, name string }

func (t tableName) String() string { return t.schema + "." + t.name }

func (t tableName) quoted() string {
	return pgx.Identifier{t.schema, t.name}.Sanitize()
}

// Open connects, verifies the prerequisites (wal_level, privileges, tables)
// and creates the publication and the slot when they are missing and the
// configuration allows it. Problems that would stop replication are returned
// as one error that says how to fix them; replica-identity problems are
// logged as warnings.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Source, error) {
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = 10 * time.Second
	}
	if cfg.TablePollInterval <= 0 {
		cfg.TablePollInterval = 5 * time.Second
	}
	conn, err := connectSQL(ctx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, log: log, sql: conn}
	if err := s.setup(ctx); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return s, nil
}

func connectSQL(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing postgres dsn: %w", err)
	}
	pinSession(cc.RuntimeParams)
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres %s:%d as %q: %w", cc.Host, cc.Port, cc.User, unwrapConnect(err))
	}
	return conn, nil
}

// pinSession sets, as startup parameters, every setting that changes how
// the server prints values: the walsender formats pgoutput's text values
// with the session's settings, which otherwise come from the server, the
// database (ALTER DATABASE ... SET) or the role (ALTER ROLE ... SET).
// Startup parameters take precedence over all of these, and over the same
// settings given in the DSN's options. decodeText relies on these forms.
func pinSession(params map[string]string) {
	for k, v := range map[string]string{
		"client_encoding":    "UTF8",
		"bytea_output":       "hex",
		"lc_monetary":        "C",
		"DateStyle":          "ISO",
		"IntervalStyle":      "iso_8601",
		"TimeZone":           "UTC",
		"extra_float_digits": "3",
		// regclass, regtype and the like print names relative to it, and
		// format_type qualifies type names that it does not find there.
		"search_path": `"$user", public`,
	} {
		params[k] = v
	}
}

// unwrapConnect drops pgconn's "failed to connect to `user=... database=...`"
// preamble, which repeats what our message already says.
func unwrapConnect(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr
	}
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

func (s *Source) setup(ctx context.Context) error {
	probs, st, err := check(ctx, s.sql, s.cfg)
	if err != nil {
		return err
	}
	if err := source.Triage(probs, s.log); err != nil {
		return err
	}
	s.db, s.tables = st.db, st.tables
	s.server = source.Server{Type: "postgres", ID: st.systemID + "/" + st.db}
	s.pubManaged = !st.pub.exists || st.pub.managed
	switch {
	case !st.pub.exists:
		if err := s.createPublication(ctx, st.want); err != nil {
			return err
		}
	case !st.pub.managed:
		s.log.Info("using publication as it is: cdc changes only a publication it created, and only while source.create_publication is true", "publication", s.cfg.Publication, "created_by_cdc", st.pub.marked)
	case !st.want.equal(st.pub):
		for _, q := range alterPublicationSQL(s.cfg.Publication, st.pub, st.want) {
			if _, err := s.sql.Exec(ctx, q); err != nil {
				return fmt.Errorf("updating publication %q to the configured tables: %w", s.cfg.Publication, err)
			}
		}
		s.log.Info("updated publication to the configured tables", "publication", s.cfg.Publication,
			"schemas", st.want.schemas, "tables", len(st.want.tables))
		for _, t := range s.tables {
			if !st.pub.published[t] {
				s.log.Info("table added", "table", t.String(), "publication", s.cfg.Publication,
					"captured", "from now on; rows written to it before are not captured (no snapshot)")
			}
		}
	}
	if !st.slotExists {
		if err := s.createSlot(ctx); err != nil {
			return err
		}
	}
	return nil
}

// createPublication creates the publication, marked as cdc's with a
// comment, in one transaction.
func (s *Source) createPublication(ctx context.Context, m members) error {
	tx, err := s.sql.Begin(ctx)
	if err != nil {
		return fmt.Errorf("creating publication %q: %w", s.cfg.Publication, err)
	}
	defer tx.Rollback(context.Background())
	comment := fmt.Sprintf("COMMENT ON PUBLICATION %s IS '%s: its tables follow source.tables (slot %s)'",
		pgx.Identifier{s.cfg.Publication}.Sanitize(), pubMarker, strings.ReplaceAll(s.cfg.Slot, "'", "''"))
	for _, q := range []string{createPublicationSQL(s.cfg.Publication, m), comment} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("creating publication %q: %w", s.cfg.Publication, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("creating publication %q: %w", s.cfg.Publication, err)
	}
	s.log.Info("created publication", "publication", s.cfg.Publication, "schemas", m.schemas, "tables", len(m.tables))
	return nil
}

func (s *Source) createSlot(ctx context.Context) error {
	var lsn string
	err := s.sql.QueryRow(ctx, "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", s.cfg.Slot).Scan(&lsn)
	if err != nil {
		return fmt.Errorf("creating replication slot %q: %w", s.cfg.Slot, err)
	}
	s.log.Info("created replication slot", "slot", s.cfg.Slot, "lsn", lsn)
	s.createdSlot = true
	return nil
}

// Server identifies the database: the cluster's system identifier and the
// database name. Checkpoints from another server are refused.
func (s *Source) Server() source.Server { return s.server }

// Database returns the name of the captured database.
func (s *Source) Database() string { return s.db }

// ParsePosition decodes a checkpointed position.
func (s *Source) ParsePosition(text []byte) (source.Position, error) {
	return ParseLSN(string(text))
}

// Ack tells the source that everything up to pos is durable downstream. The
// next status update reports it to the server as flushed, which lets the
// server recycle WAL up to there. Safe for concurrent use.
func (s *Source) Ack(pos source.Position) {
	l, ok := pos.(LSN)
	if !ok {
		return
	}
	for {
		cur := s.acked.Load()
		if uint64(l) <= cur || s.acked.CompareAndSwap(cur, uint64(l)) {
			return
		}
	}
}

// Close releases the catalog connection. Stream closes its own.
func (s *Source) Close() error {
	for _, c := range s.snapSQL {
		if c != nil {
			c.Close(context.Background())
		}
	}
	return s.sql.Close(context.Background())
}

// slotLSN returns the slot's confirmed_flush_lsn, or 0 when it has none yet.
func (s *Source) slotLSN(ctx context.Context) (LSN, bool, error) {
	var text *string
	var active bool
	var walStatus string
	err := s.sql.QueryRow(ctx, "SELECT confirmed_flush_lsn::text, active, coalesce(to_jsonb(s)->>'wal_status', '') FROM pg_replication_slots s WHERE slot_name = $1", s.cfg.Slot).Scan(&text, &active, &walStatus)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, false, fmt.Errorf("replication slot %q does not exist any more (was it dropped?): %w", s.cfg.Slot, ErrSlotMissing)
		}
		return 0, false, fmt.Errorf("reading replication slot %q: %w", s.cfg.Slot, err)
	}
	if walStatus == "lost" {
		return 0, active, slotLostError(s.cfg.Slot, "wal_status lost")
	}
	if text == nil {
		return 0, active, nil
	}
	l, err := ParseLSN(*text)
	return l, active, err
}

func joinQuoted(ts []tableName) string {
	q := make([]string, len(ts))
	for i, t := range ts {
		q[i] = t.quoted()
	}
	return strings.Join(q, ", ")
}

func sameTables(a, b []tableName) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(ts []tableName) []string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = t.String()
		}
		sort.Strings(out)
		return out
	}
	ka, kb := key(a), key(b)
	for i := range ka {
		if ka[i] != kb[i] {
			return false
		}
	}
	return true
}

// matchTables returns the tables matching the patterns, and the patterns
// without a glob that match nothing.
func matchTables(patterns []string, all []tableName) (matched []tableName, unmatched []string) {
	seen := map[tableName]bool{}
	for _, p := range patterns {
		n := 0
		for _, t := range all {
			if ok, _ := path.Match(p, t.String()); ok {
				n++
				if !seen[t] {
					seen[t] = true
					matched = append(matched, t)
				}
			}
		}
		if n == 0 {
			unmatched = append(unmatched, p)
		}
	}
	return matched, unmatched
}
