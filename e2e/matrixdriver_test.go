//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// matrixDriver is what the type matrix (typematrix_test.go) needs of one
// database; the matrix is written once, against both implementations.
// Columns are created and read under their own names: they are plain
// lower-case identifiers that neither database quotes.
type matrixDriver interface {
	fmt.Stringer // the database's name, for failure messages
	// create makes namespace ns (a schema or database, dropped at test end
	// with the connector's slot where there is one), runs setup in it (user
	// types), and creates the table ns.t: id int PRIMARY KEY plus cols, with
	// a full before image for updates and deletes.
	create(t *testing.T, ns string, setup []string, cols []matrixColumn)
	// exec runs statements in order on one connection.
	exec(t *testing.T, stmts ...string)
	// start starts cdc capturing ns with extra config lines and waits until
	// it streams.
	start(t *testing.T, ns, extra string) *proc
	// config is the connector config start runs on (one capturing every
	// table of ns, on CDC_KAFKA_BROKERS), for tests that start cdc
	// themselves.
	config(ns, extra string) string
	// read returns what the database itself reads back for every row of
	// ns.t: id -> column -> its text under readExpr, nil for NULL.
	read(t *testing.T, ns string, cols []matrixColumn) map[int]map[string]*string
}

// readExpr is the SQL that reads column c back as text, with the driver's
// default for c's kind unless the column names its own.
func readExpr(c matrixColumn, defaults map[valueKind]string, fallback string) string {
	f := c.read
	if f == "" {
		f = defaults[c.kind]
	}
	if f == "" {
		f = fallback
	}
	return fmt.Sprintf(f, c.name)
}

// pgMatrix is the PostgreSQL driver. Its session has the settings cdc pins
// on its own (DateStyle ISO, TimeZone UTC, IntervalStyle iso_8601,
// lc_monetary C), so the server's text forms are the ones pgoutput sends;
// the expected event values are derived from them by the mode.
type pgMatrix struct {
	db *pgx.Conn
}

func newPGMatrix(t *testing.T) *pgMatrix {
	db := pgConnect(t)
	pgExec(t, db, "SET DateStyle = ISO", "SET TimeZone = 'UTC'", "SET IntervalStyle = iso_8601",
		"SET lc_monetary = 'C'", "SET extra_float_digits = 1")
	return &pgMatrix{db: db}
}

// hasExtension reports whether the server can create extension name (the
// matrix leaves out columns that need a missing one).
func (d *pgMatrix) hasExtension(t *testing.T, name string) bool {
	t.Helper()
	var n int
	if err := d.db.QueryRow(context.Background(), "SELECT count(*) FROM pg_available_extensions WHERE name = $1", name).Scan(&n); err != nil {
		t.Fatalf("looking up extension %s: %v", name, err)
	}
	return n > 0
}

func (d *pgMatrix) create(t *testing.T, ns string, setup []string, cols []matrixColumn) {
	t.Helper()
	for _, c := range cols {
		if c.needs == "" {
			continue
		}
		// Another test may create it at the same moment: a lost race is a
		// unique violation, and the extension is there all the same.
		if _, err := d.db.Exec(context.Background(), "CREATE EXTENSION IF NOT EXISTS "+c.needs); err != nil && !strings.Contains(err.Error(), "duplicate key") {
			t.Fatalf("creating extension %s: %v", c.needs, err)
		}
	}
	pgExec(t, d.db, "CREATE SCHEMA "+ns)
	t.Cleanup(func() { d.db.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+ns+" CASCADE") })
	dropSlotAtEnd(t, d.db, ns, ns)
	pgExec(t, d.db, setup...)
	pgExec(t, d.db, "CREATE TABLE "+ns+".t ("+columnDefs(cols)+")", "ALTER TABLE "+ns+".t REPLICA IDENTITY FULL")
}

func (d *pgMatrix) String() string { return "postgres" }

func (d *pgMatrix) exec(t *testing.T, stmts ...string) { t.Helper(); pgExec(t, d.db, stmts...) }

func (d *pgMatrix) config(ns, extra string) string { return pgConfig(ns, extra) }

func (d *pgMatrix) start(t *testing.T, ns, extra string) *proc {
	t.Helper()
	p, _ := pgStartCDC(t, ns, extra)
	return p
}

// pgReads are the PostgreSQL read-back expressions by kind; the rest use
// the type's output function (format's %s), which is what pgoutput sends.
var pgReads = map[valueKind]string{
	kindBool:   "%s::text",
	kindMoney:  "%s::numeric::text", // the server's own conversion, not a parse of "$1,234.56"
	kindBytes:  "encode(%s, 'hex')",
	kindJSON:   "%s::text",
	kindHstore: "to_jsonb(%s)::text",
	// Elements as their text (text casts, which for numbers and times are
	// the output functions; a column whose elements' text cast differs
	// from the output, such as inet or char(n), reads to_jsonb(col)).
	kindArray:   "to_jsonb(%s::text[])::text",
	kindInstant: "(%s AT TIME ZONE 'UTC')::text",
	kindRange: `CASE WHEN isempty(%[1]s) THEN '{"empty": true}' ELSE jsonb_build_object('lower', lower(%[1]s)::text, 'upper', upper(%[1]s)::text,
		'lower_inclusive', lower_inc(%[1]s), 'upper_inclusive', upper_inc(%[1]s))::text END`,
}

func (d *pgMatrix) read(t *testing.T, ns string, cols []matrixColumn) map[int]map[string]*string {
	t.Helper()
	sel := []string{"id"}
	for _, c := range cols {
		sel = append(sel, fmt.Sprintf("CASE WHEN %s IS NULL THEN NULL ELSE (%s) END", c.name, readExpr(c, pgReads, "format('%%s', %s)")))
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + ns + ".t"
	rows, err := d.db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("reading back: %v\n%s", err, q)
	}
	defer rows.Close()
	out := map[int]map[string]*string{}
	for rows.Next() {
		var id int
		vals := make([]*string, len(cols))
		dest := []any{&id}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("reading back: %v", err)
		}
		m := map[string]*string{}
		for i, c := range cols {
			m[c.name] = vals[i]
		}
		out[id] = m
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading back: %v", err)
	}
	return out
}

// myMatrix is the MariaDB driver. The server runs with time_zone +00:00
// (e2e/services.sh), as cdc reads timestamps.
type myMatrix struct {
	db *sql.DB
}

func newMyMatrix(t *testing.T) *myMatrix { return &myMatrix{db: myConnect(t)} }

func (d *myMatrix) create(t *testing.T, ns string, setup []string, cols []matrixColumn) {
	t.Helper()
	myDatabase(t, d.db, ns)
	myExec(t, d.db, setup...)
	// binlog_row_image=FULL (services.sh): every change has a full image.
	myExec(t, d.db, "CREATE TABLE "+ns+".t ("+columnDefs(cols)+")")
}

func (d *myMatrix) String() string { return "mariadb" }

func (d *myMatrix) exec(t *testing.T, stmts ...string) { t.Helper(); myExec(t, d.db, stmts...) }

func (d *myMatrix) config(ns, extra string) string { return myConfig(ns, newServerID(), extra) }

func (d *myMatrix) start(t *testing.T, ns, extra string) *proc {
	t.Helper()
	p, _ := myStartCDC(t, ns, extra)
	return p
}

// myReads are the MariaDB read-back expressions by kind; the rest are
// CAST(... AS CHAR), the server's text form.
var myReads = map[valueKind]string{
	kindFloat32:  "CAST(%s AS DOUBLE)", // the stored float's exact value; FLOAT's own text has 6 digits
	kindText:     "CONVERT(%s USING utf8mb4)",
	kindJSON:     "CONVERT(%s USING utf8mb4)",
	kindBytes:    "HEX(%s)",
	kindGeometry: `JSON_OBJECT('srid', ST_SRID(%[1]s), 'wkb', REPLACE(TO_BASE64(ST_AsBinary(%[1]s)), '\n', ''))`,
}

func (d *myMatrix) read(t *testing.T, ns string, cols []matrixColumn) map[int]map[string]*string {
	t.Helper()
	sel := []string{"id"}
	for _, c := range cols {
		sel = append(sel, fmt.Sprintf("CASE WHEN %s IS NULL THEN NULL ELSE (%s) END", c.name, readExpr(c, myReads, "CAST(%s AS CHAR)")))
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + ns + ".t"
	rows, err := d.db.Query(q) // no arguments: the text protocol, the server's own text
	if err != nil {
		t.Fatalf("reading back: %v\n%s", err, q)
	}
	defer rows.Close()
	out := map[int]map[string]*string{}
	for rows.Next() {
		var id int
		vals := make([]sql.NullString, len(cols))
		dest := []any{&id}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("reading back: %v", err)
		}
		m := map[string]*string{}
		for i, c := range cols {
			if vals[i].Valid {
				s := vals[i].String
				m[c.name] = &s
			} else {
				m[c.name] = nil
			}
		}
		out[id] = m
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading back: %v", err)
	}
	return out
}

// columnDefs is the column list of a matrix table.
func columnDefs(cols []matrixColumn) string {
	defs := []string{"id int PRIMARY KEY"}
	for _, c := range cols {
		defs = append(defs, c.name+" "+c.typ)
	}
	return strings.Join(defs, ", ")
}
