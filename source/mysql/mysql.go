// Package mysql is the MySQL and MariaDB source: it reads the binary log as
// a replica does (COM_BINLOG_DUMP, through go-mysql's BinlogSyncer) and
// turns ROW events into changes.
//
// The schema of every change comes from the binlog itself: with
// binlog_row_metadata=FULL each table-map event carries the column names,
// signedness, charsets, enum and set members and the primary key of the
// table as it was when the rows were written. Rows written before an ALTER
// TABLE therefore decode with the old columns even when read after it.
//
// Positions are GTIDs when the server has them (MariaDB always; MySQL with
// gtid_mode=ON), else binlog file and offset; see Position. MySQL has no
// server-side acknowledgement: the binlog is kept for binlog_expire_logs_seconds
// whatever cdc has read, so a connector stopped for longer than that finds
// its position purged (ErrPositionPurged).
package mysql

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/cdc-go/cdc/snapshot"
	"github.com/cdc-go/cdc/source"
)

// Flavor is the server family.
type Flavor string

// Flavors. FlavorAuto detects the family from the server's version string.
const (
	FlavorAuto    Flavor = "auto"
	FlavorMySQL   Flavor = "mysql"
	FlavorMariaDB Flavor = "mariadb"
)

// Config is what the source needs; the config package fills it from YAML.
type Config struct {
	// DSN is a go-sql-driver DSN: user:pass@tcp(host:port)/db[?params].
	DSN string
	// TLS, when set, returns the TLS configuration of every connection to
	// the server: catalog, snapshot and binlog. Nil leaves TLS to the DSN's
	// tls parameter (true, skip-verify, preferred); setting both is an
	// error. An error fails the connection.
	TLS func() (*tls.Config, error)
	// ServerID is the replica server id the source registers with; unique
	// among the server's replicas and different from the server's own.
	ServerID uint32
	Flavor   Flavor
	// Tables are "database.table" patterns (path.Match syntax).
	Tables []string
	// Heartbeat is the period of the server's heartbeat events on an idle
	// binlog. No event and no heartbeat for three periods means the
	// connection is dead.
	Heartbeat time.Duration
	// StatusInterval paces the heartbeat positions offered to the pipeline
	// while transactions of uncaptured tables go by.
	StatusInterval time.Duration
	// MaxXABytes bounds the memory the changes of prepared XA transactions
	// take until their XA COMMIT (binlog bytes of their captured rows, all
	// pending transactions together); default 64 MiB. A committed XA
	// transaction over it stops the stream with ErrXATooLarge.
	MaxXABytes int
	// Name is the connector's name. The source registers with the server
	// under the host name "cdc:<Name>", which tells this connector's own
	// earlier sessions from another replica that uses the same ServerID.
	Name string
}

func (c *Config) defaults() {
	if c.Flavor == "" {
		c.Flavor = FlavorAuto
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 10 * time.Second
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = 10 * time.Second
	}
	if c.MaxXABytes <= 0 {
		c.MaxXABytes = defaultMaxXABytes
	}
}

// registerHost is the host name the source reports in COM_REGISTER_SLAVE,
// shown by SHOW SLAVE HOSTS.
func (c *Config) registerHost() string {
	if c.Name == "" {
		return "cdc"
	}
	return "cdc:" + c.Name
}

// Source is a MySQL/MariaDB binlog source. Open it, then call Stream once.
// Ack may be called from any goroutine; the other methods are not safe for
// concurrent use.
type Source struct {
	// unmapped holds the columns whose unmapped type was logged.
	unmapped sync.Map
	cfg      Config
	log      *slog.Logger
	db       *sql.DB // catalog queries; used by Open, then by Stream
	dsn      *mysqldrv.Config
	srv      server
	id       source.Server
	charset  *charsets

	mu    sync.Mutex
	acked Position

	// snap runs the snapshot SetSnapshot gave (snapshot_stream.go).
	snap *snapshot.Driver
}

// Open connects with a normal client connection, detects the flavor,
// checks the prerequisites (binlog settings, grants, server_id) and
// resolves the tables. Problems that would stop replication are returned as
// one error that says how to fix each; warnings are logged.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Source, error) {
	cfg.defaults()
	db, dsn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, log: log, db: db, dsn: dsn}
	if err := s.setup(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Source) setup(ctx context.Context) error {
	probs, st, err := check(ctx, s.db, s.cfg)
	if err != nil {
		return err
	}
	if err := source.Triage(probs, s.log); err != nil {
		return err
	}
	s.srv = st
	s.id = serverIdentity(st)
	s.charset = newCharsets()
	if err := s.charset.load(ctx, s.db); err != nil {
		s.log.Warn("reading the server's collations; using the built-in table", "error", err)
	}
	s.log.Info("connected", "flavor", st.flavor, "version", st.version, "server", s.id.ID, "gtid", st.gtid, "tables", len(st.tables))
	return nil
}

// serverIdentity names the server a checkpoint belongs to.
//
// MySQL: @@server_uuid, generated on first start and kept in auto.cnf.
// MariaDB has no server UUID. Its @@server_id alone does not tell servers
// apart (it is 1 unless configured), and nothing generated is stored in the
// data directory; the binlog files' creation times change as old files are
// purged. So MariaDB is identified by @@server_id with the host and port it
// serves on: @@report_host when set (the administrator's name for the
// server, which survives moving it), else @@hostname. Pointing the connector
// at another server changes it; a server whose host name changes (a
// recreated container without a fixed hostname) is refused too, which is the
// safe mistake: set report_host to keep the identity stable.
func serverIdentity(st server) source.Server {
	if st.flavor == FlavorMySQL && st.uuid != "" {
		return source.Server{Type: string(FlavorMySQL), ID: st.uuid}
	}
	return source.Server{Type: string(st.flavor), ID: fmt.Sprintf("%d@%s:%d", st.serverID, st.host, st.port)}
}

// The catalog pool: at most poolIdle idle connections, each read bounded by
// poolReadTimeout unless the DSN sets readTimeout.
const (
	poolIdle        = 2
	poolReadTimeout = 2 * time.Minute
)

// connect opens a small pool for catalog queries and checks that the server
// answers. The returned driver config, TLS included, is the one every later
// connection (snapshot, binlog) starts from.
func connect(ctx context.Context, src Config) (*sql.DB, *mysqldrv.Config, error) {
	cfg, err := mysqldrv.ParseDSN(src.DSN)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing mysql dsn (want user:pass@tcp(host:port)/db): %w", err)
	}
	if src.TLS != nil {
		if cfg.TLSConfig != "" && cfg.TLSConfig != "false" {
			return nil, nil, fmt.Errorf("mysql dsn: its tls=%s parameter and source.tls both configure TLS; remove one", cfg.TLSConfig)
		}
		tc, err := src.TLS()
		if err != nil {
			return nil, nil, fmt.Errorf("source.tls: %w", err)
		}
		if tc != nil && tc.ServerName == "" && !tc.InsecureSkipVerify && cfg.Net != "unix" {
			if host, _, err := net.SplitHostPort(cfg.Addr); err == nil {
				tc.ServerName = strings.Trim(host, "[]")
			}
		}
		// Set on the driver config directly rather than through
		// mysqldrv.RegisterTLSConfig, a process-wide registry.
		cfg.TLS = tc
	}
	if cfg.Net != "tcp" && cfg.Net != "tcp4" && cfg.Net != "tcp6" && cfg.Net != "unix" {
		return nil, nil, fmt.Errorf("mysql dsn: network %q is not supported (use tcp(host:port) or unix(/path))", cfg.Net)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	pool := cfg.Clone()
	if pool.ReadTimeout == 0 {
		// A catalog query on a connection gone silent (black-holed by a
		// firewall) would otherwise wait for ever; none takes this long.
		pool.ReadTimeout = poolReadTimeout
	}
	conn, err := mysqldrv.NewConnector(pool)
	if err != nil {
		return nil, nil, fmt.Errorf("mysql dsn: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(poolIdle)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connecting to mysql %s as %q: %w", cfg.Addr, cfg.User, err)
	}
	return db, cfg, nil
}

// Server identifies the database server; checkpoints from another server are
// refused.
func (s *Source) Server() source.Server { return s.id }

// Flavor returns the detected server family.
func (s *Source) Flavor() Flavor { return s.srv.flavor }

// ParsePosition decodes a checkpointed position.
func (s *Source) ParsePosition(text []byte) (source.Position, error) {
	return ParsePosition(string(text))
}

// Ack records that everything up to pos is durable downstream. MySQL has no
// server-side acknowledgement, so this only feeds Acked (and a lag metric,
// later). Safe for concurrent use.
func (s *Source) Ack(pos source.Position) {
	p, ok := pos.(Position)
	if !ok {
		return
	}
	s.mu.Lock()
	s.acked = p
	s.mu.Unlock()
}

// Acked returns the last position passed to Ack (zero before the first).
func (s *Source) Acked() Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

// Close releases the catalog connections. Stream closes its own.
func (s *Source) Close() error { return s.db.Close() }

// currentBinlog returns the binlog file and offset the server writes at.
func currentBinlog(ctx context.Context, db *sql.DB) (Position, error) {
	var err error
	for _, q := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"} {
		var rows *sql.Rows
		rows, err = db.QueryContext(ctx, q)
		if err != nil {
			if isAccessDenied(err) {
				return Position{}, err
			}
			continue
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return Position{}, fmt.Errorf("reading the binlog position: %w", err)
			}
			return Position{}, errors.New("reading the binlog position: the server reports none (is log_bin on?)")
		}
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return Position{}, fmt.Errorf("reading the binlog position: %w", err)
		}
		off, err := strconv.ParseUint(vals[1].String, 10, 32)
		if err != nil {
			return Position{}, fmt.Errorf("reading the binlog position: offset %q: %w", vals[1].String, err)
		}
		return FilePosition(vals[0].String, uint32(off)), nil
	}
	return Position{}, fmt.Errorf("reading the binlog position: %w", err)
}

// binlogFiles lists the binlog files the server still has, oldest first.
func binlogFiles(ctx context.Context, db *sql.DB) ([]string, error) {
	sized, err := binlogSizes(ctx, db)
	if err != nil {
		return nil, err
	}
	files := make([]string, len(sized))
	for i, f := range sized {
		files[i] = f.name
	}
	return files, nil
}

// load adds the server's collations to the built-in table.
func (cs *charsets) load(ctx context.Context, db *sql.DB) error {
	queries := []string{
		`SELECT c.ID, c.CHARACTER_SET_NAME, s.MAXLEN FROM information_schema.COLLATIONS c
			JOIN information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME`,
		// MariaDB 10.10+: the full collation ids that table maps may carry.
		`SELECT a.ID, a.CHARACTER_SET_NAME, s.MAXLEN FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY a
			JOIN information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = a.CHARACTER_SET_NAME`,
	}
	for i, q := range queries {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			if i == 0 {
				return err
			}
			continue // MySQL has no ID column there
		}
		for rows.Next() {
			var id uint64
			var name string
			var maxlen int
			if err := rows.Scan(&id, &name, &maxlen); err != nil {
				rows.Close()
				return err
			}
			cs.byID[id] = name
			cs.maxlen[name] = maxlen
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return cs.loadByteTables(ctx, db)
}

// hostPort splits the DSN address for the binlog connection.
func hostPort(cfg *mysqldrv.Config) (string, uint16, error) {
	if cfg.Net == "unix" {
		return cfg.Addr, 0, nil
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "", 0, fmt.Errorf("mysql dsn address %q: %w", cfg.Addr, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("mysql dsn address %q: port: %w", cfg.Addr, err)
	}
	return strings.Trim(host, "[]"), uint16(p), nil
}

// warnUnmapped reports whether the column key's unmapped type is to be
// logged now: once per column and process.
func (s *Source) warnUnmapped(key string) bool {
	_, seen := s.unmapped.LoadOrStore(key, true)
	return !seen
}
