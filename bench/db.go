package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Every run has a namespace of its own (a Postgres schema, a MariaDB
// database) holding one table t:
//
//	id bigint primary key   the key
//	seq bigint              the writer's run-unique sequence number of the row version
//	ts_us bigint            the writer's clock (µs since the epoch) when it sent the change
//	amount numeric(12,2)    a decimal, as real tables have (Debezium: decimal.handling.mode=string)
//	note text               padding to ~200 bytes a row
//
// Postgres tables get REPLICA IDENTITY FULL, so a delete's before image
// carries seq (as MariaDB's full row image does).

// noteText pads a row to about 200 bytes.
var noteText = strings.Repeat("benchmark row padding 0123456789 ", 5)[:160]

// row is one row version to write.
type row struct {
	ID, Seq, TsUs int64
}

func (r row) values() string {
	return fmt.Sprintf("(%d,%d,%d,%d.%02d,'%s')", r.ID, r.Seq, r.TsUs, r.Seq%1000000, r.Seq%100, noteText)
}

// database is a source database the benchmark writes to.
type database interface {
	Kind() string // "postgres" or "mariadb"
	// Create makes the namespace ns and its table t.
	Create(ctx context.Context, ns string) error
	// Drop removes ns and what connectors left for it (Postgres: the
	// replication slots and publications named ns).
	Drop(ctx context.Context, ns string) error
	// CreateWide makes the wide tables (see wideRow) in ns.
	CreateWide(ctx context.Context, ns string, tables []string) error
	// Writer opens a session writing ns.t; each call is one transaction.
	Writer(ctx context.Context, ns string) (writer, error)
	// Endpoint is how connectors reach the database.
	Endpoint() endpoint
}

// writer writes the benchmark table in one session; each call is one
// transaction, committed durably (Postgres: synchronous_commit on).
type writer interface {
	Insert(ctx context.Context, rows []row) error
	// Update sets seq and ts_us (and the amount) of existing rows.
	Update(ctx context.Context, rows []row) error
	Delete(ctx context.Context, ids []int64) error
	// Tx runs statements (of any table of the namespace) in one
	// transaction.
	Tx(ctx context.Context, stmts []string) error
	Close() error
}

// endpoint is a database's address and credentials.
type endpoint struct {
	DSN                        string // as cdc takes it
	Host, Port, User, Password string
	Database                   string // Postgres: the database; MariaDB: unused
}

func insertSQL(table string, rows []row) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (id, seq, ts_us, amount, note) VALUES ")
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.values())
	}
	return b.String()
}

func idList(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// postgres is a PostgreSQL database with logical replication.
type postgres struct{ ep endpoint }

func newPostgres(dsn string) (*postgres, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("parsing the Postgres DSN: want a URL postgres://user:pass@host:port/db")
	}
	pw, _ := u.User.Password()
	ep := endpoint{DSN: dsn, Host: u.Hostname(), Port: u.Port(), User: u.User.Username(), Password: pw, Database: strings.TrimPrefix(u.Path, "/")}
	if ep.Port == "" {
		ep.Port = "5432"
	}
	return &postgres{ep: ep}, nil
}

func (p *postgres) Kind() string       { return "postgres" }
func (p *postgres) Endpoint() endpoint { return p.ep }

func (p *postgres) exec(ctx context.Context, stmts ...string) error {
	conn, err := pgx.Connect(ctx, p.ep.DSN)
	if err != nil {
		return fmt.Errorf("connecting to Postgres: %w", err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (p *postgres) Create(ctx context.Context, ns string) error {
	return p.exec(ctx,
		"CREATE SCHEMA "+ns,
		"CREATE TABLE "+ns+".t (id bigint PRIMARY KEY, seq bigint NOT NULL, ts_us bigint NOT NULL, amount numeric(12,2), note text)",
		"ALTER TABLE "+ns+".t REPLICA IDENTITY FULL")
}

func (p *postgres) CreateWide(ctx context.Context, ns string, tables []string) error {
	var stmts []string
	for _, t := range tables {
		stmts = append(stmts,
			"CREATE TABLE "+ns+"."+t+" ("+wideColumns("numeric(12,2)", "integer", "varchar(200)", "text", "text")+")",
			"ALTER TABLE "+ns+"."+t+" REPLICA IDENTITY FULL")
	}
	return p.exec(ctx, stmts...)
}

func (p *postgres) Drop(ctx context.Context, ns string) error {
	// A slot is dropped once its connector has let go of it; the
	// walsender may take a moment after the process exits.
	var slotErr error
	for i := 0; i < 20; i++ {
		slotErr = p.exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '"+ns+"'")
		if slotErr == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	err := p.exec(ctx, "DROP PUBLICATION IF EXISTS "+ns, "DROP SCHEMA IF EXISTS "+ns+" CASCADE")
	if slotErr != nil {
		return fmt.Errorf("dropping slot %s: %w", ns, slotErr)
	}
	return err
}

func (p *postgres) Writer(ctx context.Context, ns string) (writer, error) {
	conn, err := pgx.Connect(ctx, p.ep.DSN)
	if err != nil {
		return nil, fmt.Errorf("connecting to Postgres: %w", err)
	}
	// The services run with synchronous_commit=off; the benchmark's writer
	// commits as an application that needs durability does.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = on"); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("setting synchronous_commit: %w", err)
	}
	return &pgWriter{conn: conn, table: ns + ".t"}, nil
}

type pgWriter struct {
	conn  *pgx.Conn
	table string
}

// run executes one statement with the simple protocol: every statement
// text differs, so preparing them would only fill the statement cache.
func (w *pgWriter) run(ctx context.Context, q string) error {
	_, err := w.conn.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol)
	return err
}

func (w *pgWriter) Insert(ctx context.Context, rows []row) error {
	return w.run(ctx, insertSQL(w.table, rows))
}

func (w *pgWriter) Update(ctx context.Context, rows []row) error {
	return w.run(ctx, updateSQL(w.table, rows))
}

func (w *pgWriter) Delete(ctx context.Context, ids []int64) error {
	return w.run(ctx, "DELETE FROM "+w.table+" WHERE id IN ("+idList(ids)+")")
}

// Tx sends the statements as one simple query, which Postgres runs as
// one transaction.
func (w *pgWriter) Tx(ctx context.Context, stmts []string) error {
	return w.run(ctx, strings.Join(stmts, ";\n"))
}

func (w *pgWriter) Close() error { return w.conn.Close(context.Background()) }

// updateSQL updates rows in one statement (so one transaction in
// autocommit) with a CASE per column.
func updateSQL(table string, rows []row) string {
	var seq, ts strings.Builder
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		fmt.Fprintf(&seq, " WHEN %d THEN %d", r.ID, r.Seq)
		fmt.Fprintf(&ts, " WHEN %d THEN %d", r.ID, r.TsUs)
	}
	return fmt.Sprintf("UPDATE %s SET seq = CASE id%s END, ts_us = CASE id%s END, amount = amount + 1 WHERE id IN (%s)",
		table, seq.String(), ts.String(), idList(ids))
}

// mariadb is a MariaDB (or MySQL) server with a row-based binlog.
type mariadb struct {
	ep  endpoint
	cfg *mysql.Config
}

func newMariaDB(dsn string) (*mariadb, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing the MariaDB DSN: %w", err)
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("MariaDB DSN address %q: %w", cfg.Addr, err)
	}
	return &mariadb{cfg: cfg, ep: endpoint{DSN: dsn, Host: host, Port: port, User: cfg.User, Password: cfg.Passwd, Database: cfg.DBName}}, nil
}

func (m *mariadb) Kind() string       { return "mariadb" }
func (m *mariadb) Endpoint() endpoint { return m.ep }

func (m *mariadb) open() (*sql.DB, error) {
	c := m.cfg.Clone()
	c.DBName = ""
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("opening MariaDB: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func (m *mariadb) exec(ctx context.Context, stmts ...string) error {
	db, err := m.open()
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (m *mariadb) Create(ctx context.Context, ns string) error {
	return m.exec(ctx,
		"CREATE DATABASE "+ns,
		"CREATE TABLE "+ns+".t (id bigint PRIMARY KEY, seq bigint NOT NULL, ts_us bigint NOT NULL, amount decimal(12,2), note varchar(255))")
}

func (m *mariadb) CreateWide(ctx context.Context, ns string, tables []string) error {
	var stmts []string
	for _, t := range tables {
		stmts = append(stmts, "CREATE TABLE "+ns+"."+t+" ("+wideColumns("decimal(12,2)", "int", "varchar(200)", "varchar(255)", "text")+")")
	}
	return m.exec(ctx, stmts...)
}

func (m *mariadb) Drop(ctx context.Context, ns string) error {
	return m.exec(ctx, "DROP DATABASE IF EXISTS "+ns)
}

func (m *mariadb) Writer(ctx context.Context, ns string) (writer, error) {
	db, err := m.open()
	if err != nil {
		return nil, err
	}
	// One session for all statements; autocommit makes each one a
	// transaction. Durability is the server's (innodb_flush_log_at_trx_commit,
	// sync_binlog): global settings, not changed here.
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to MariaDB: %w", err)
	}
	return &myWriter{db: db, conn: conn, table: ns + ".t"}, nil
}

type myWriter struct {
	db    *sql.DB
	conn  *sql.Conn
	table string
}

func (w *myWriter) Insert(ctx context.Context, rows []row) error {
	_, err := w.conn.ExecContext(ctx, insertSQL(w.table, rows))
	return err
}

func (w *myWriter) Update(ctx context.Context, rows []row) error {
	_, err := w.conn.ExecContext(ctx, updateSQL(w.table, rows))
	return err
}

func (w *myWriter) Delete(ctx context.Context, ids []int64) error {
	_, err := w.conn.ExecContext(ctx, "DELETE FROM "+w.table+" WHERE id IN ("+idList(ids)+")")
	return err
}

func (w *myWriter) Tx(ctx context.Context, stmts []string) error {
	tx, err := w.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

func (w *myWriter) Close() error {
	w.conn.Close()
	return w.db.Close()
}
