package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/cdc-go/cdc/source"
)

// server is what check learned about the server.
type server struct {
	flavor   Flavor // resolved: mysql or mariadb
	version  string
	serverID uint32
	uuid     string // MySQL @@server_uuid
	host     string // @@report_host, else @@hostname
	port     int
	gtid     bool // positions are GTIDs (always on MariaDB)
	tables   []string
	user     string // CURRENT_USER(), quoted for GRANT statements
}

// Check connects and reports every unmet prerequisite with its fix, for
// `cdc check`. It changes nothing on the server.
func Check(ctx context.Context, cfg Config) ([]Problem, error) {
	cfg.defaults()
	db, _, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	probs, _, err := check(ctx, db, cfg)
	return probs, err
}

// Fixes that say how to change a setting at runtime and for good.
func setGlobal(name, value string) string {
	return fmt.Sprintf("SET GLOBAL %s = '%s'; and add %s = %s under [mysqld] in my.cnf", name, value, name, value)
}

// maxListed caps the names one problem lists.
const maxListed = 20

func check(ctx context.Context, db *sql.DB, cfg Config) ([]Problem, server, error) {
	var st server
	var probs []Problem
	add := func(warn bool, fix, format string, args ...any) {
		probs = append(probs, Problem{Message: fmt.Sprintf(format, args...), Fix: fix, Warning: warn})
	}

	vars, err := globalVariables(ctx, db)
	if err != nil {
		return nil, st, err
	}
	st.version = vars["version"]
	st.flavor = FlavorMySQL
	if strings.Contains(strings.ToLower(st.version+" "+vars["version_comment"]), "mariadb") {
		st.flavor = FlavorMariaDB
	}
	if cfg.Flavor != FlavorAuto && cfg.Flavor != st.flavor {
		add(false, fmt.Sprintf("set source.flavor: %s (or auto)", st.flavor),
			"source.flavor is %s but the server is %s %s", cfg.Flavor, st.flavor, st.version)
	}
	sid, _ := strconv.ParseUint(vars["server_id"], 10, 32)
	st.serverID = uint32(sid)
	st.uuid = vars["server_uuid"]
	st.host = vars["report_host"]
	if st.host == "" {
		st.host = vars["hostname"]
	}
	st.port, _ = strconv.Atoi(vars["port"])
	if err := db.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&st.user); err != nil {
		return nil, st, fmt.Errorf("reading the current user: %w", err)
	}
	if u, h, ok := strings.Cut(st.user, "@"); ok {
		st.user = fmt.Sprintf("'%s'@'%s'", u, h)
	}

	if on := vars["log_bin"]; on != "ON" && on != "1" {
		add(false, "add log_bin = binlog under [mysqld] in my.cnf (and remove skip-log-bin) and restart the server; log_bin cannot be changed at runtime",
			"binary logging is off (log_bin = %s)", on)
	}
	if f := vars["binlog_format"]; f != "ROW" {
		add(false, setGlobal("binlog_format", "ROW")+"; SET GLOBAL affects new sessions only, so reconnect the applications that write",
			"binlog_format is %s: cdc needs ROW events", f)
	}
	if im := vars["binlog_row_image"]; im != "FULL" {
		add(false, setGlobal("binlog_row_image", "FULL"),
			"binlog_row_image is %s: updates and deletes would not carry every column", im)
	}
	switch md, ok := vars["binlog_row_metadata"]; {
	case !ok:
		add(false, "upgrade to MySQL 8.0.1+ or MariaDB 10.5+",
			"the server (%s) has no binlog_row_metadata setting: cdc reads column names and types from the binlog", st.version)
	case md != "FULL":
		add(false, setGlobal("binlog_row_metadata", "FULL"),
			"binlog_row_metadata is %s: the binlog lacks column names, signedness and enum values", md)
	}
	if o := vars["binlog_row_value_options"]; o != "" {
		add(false, setGlobal("binlog_row_value_options", ""),
			"binlog_row_value_options is %s: partial JSON updates do not carry the new document", o)
	}
	switch st.flavor {
	case FlavorMariaDB:
		st.gtid = true
		if vars["gtid_strict_mode"] != "ON" && vars["gtid_strict_mode"] != "1" {
			add(true, setGlobal("gtid_strict_mode", "ON"),
				"gtid_strict_mode is OFF: out-of-order GTIDs in a domain would make GTID checkpoints ambiguous")
		}
	default:
		st.gtid = vars["gtid_mode"] == "ON"
		if !st.gtid {
			add(true, "SET GLOBAL enforce_gtid_consistency = ON; then SET GLOBAL gtid_mode = OFF_PERMISSIVE, ON_PERMISSIVE, ON in turn; and add gtid_mode = ON and enforce_gtid_consistency = ON under [mysqld] in my.cnf",
				"gtid_mode is %s: checkpoints are binlog file+offset, which do not survive a failover to another server", vars["gtid_mode"])
		}
	}

	// server_id: the binlog dump protocol identifies replicas by it, and the
	// server disconnects the older of two replicas that share one.
	if cfg.ServerID == 0 {
		add(false, "set source.server_id to a number from 1 to 4294967295, unique among the server's replicas", "source.server_id is not set")
	} else if cfg.ServerID == st.serverID {
		add(false, "choose another source.server_id, unique among the server's replicas",
			"source.server_id %d is the server's own server_id", cfg.ServerID)
	}
	if r, err := replicaWithServerID(ctx, db, cfg.ServerID); err != nil {
		add(true, "GRANT REPLICATION MASTER ADMIN ON *.* TO "+st.user+" (MariaDB) so that cdc can list the server's replicas",
			"cannot check whether another replica uses source.server_id %d: %v", cfg.ServerID, err)
	} else if r != nil && r.host != cfg.registerHost() {
		p := conflictProblem(cfg, r)
		probs = append(probs, p)
	}

	grants, err := readGrants(ctx, db)
	if err != nil {
		return nil, st, err
	}
	var missing []string
	if !grants.has("*.*", "REPLICATION SLAVE") {
		missing = append(missing, "REPLICATION SLAVE")
	}
	clientPriv := "REPLICATION CLIENT"
	if st.flavor == FlavorMariaDB {
		clientPriv = "BINLOG MONITOR"
	}
	if _, err := currentBinlog(ctx, db); err != nil {
		if !isAccessDenied(err) {
			return nil, st, err
		}
		missing = append(missing, clientPriv)
	}
	if len(missing) > 0 {
		add(false, fmt.Sprintf("GRANT %s ON *.* TO %s;", strings.Join(missing, ", "), st.user),
			"user %s lacks the %s privilege needed to read the binlog", st.user, strings.Join(missing, " and "))
	}

	all, err := listTables(ctx, db)
	if err != nil {
		return nil, st, err
	}
	var unmatched []string
	st.tables, unmatched = matchTables(cfg.Tables, all)
	var absent []string
	for _, p := range unmatched {
		if strings.ContainsAny(p, "*?[") {
			add(true, "", "source.tables: pattern %q matches no table yet", p)
		} else {
			absent = append(absent, strconv.Quote(p))
		}
	}
	switch len(absent) {
	case 0:
	case 1:
		add(false, "create the table, fix its name in source.tables, or GRANT SELECT on it", "source.tables: table %s does not exist or is not visible to %s", absent[0], st.user)
	default:
		add(false, "create the tables, fix their names in source.tables, or GRANT SELECT on them", "source.tables: %d tables do not exist or are not visible to %s: %s", len(absent), st.user, source.Abbreviate(absent, maxListed))
	}
	var noSelect []string
	for _, t := range st.tables {
		dbName, name, _ := strings.Cut(t, ".")
		if !grants.has("*.*", "SELECT") && !grants.has(quoteIdent(dbName)+".*", "SELECT") && !grants.has(quoteIdent(dbName)+"."+quoteIdent(name), "SELECT") {
			noSelect = append(noSelect, t)
		}
	}
	if len(noSelect) == 0 && len(st.tables) == 0 && !grants.has("*.*", "SELECT") && !grants.anySelect() {
		noSelect = append(noSelect, "*")
	}
	if len(noSelect) > 0 {
		add(false, fmt.Sprintf("GRANT SELECT ON <database>.* TO %s; for each captured database", st.user),
			"user %s lacks SELECT on %s (needed to resolve the tables)", st.user, source.Abbreviate(noSelect, maxListed))
	}
	if xids, err := preparedXA(ctx, db); err == nil && len(xids) > 0 {
		add(true, "XA COMMIT <xid> or XA ROLLBACK <xid> on the server (XA RECOVER FORMAT='SQL' lists them)",
			"XA transactions are prepared and not committed (%s): a connector without a checkpoint waits (retrying) until they end before it starts streaming", source.Abbreviate(xids, maxListed))
	}
	return probs, st, nil
}

func conflictProblem(cfg Config, r *replica) Problem {
	return Problem{
		Message: fmt.Sprintf("source.server_id %d is already used by another replica of this server (registered as host %q, port %d): another cdc connector or a real replica; the server disconnects one of two replicas that share a server_id", cfg.ServerID, r.host, r.port),
		Fix:     "give each connector its own source.server_id, unique among the server's replicas",
	}
}

// globalVariables reads the settings check looks at.
func globalVariables(ctx context.Context, db *sql.DB) (map[string]string, error) {
	names := []string{
		"version", "version_comment", "server_id", "server_uuid", "hostname", "report_host", "port",
		"log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata", "binlog_row_value_options",
		"gtid_mode", "gtid_strict_mode",
	}
	q := "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('" + strings.Join(names, "','") + "')"
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reading server variables: %w", err)
	}
	defer rows.Close()
	vars := map[string]string{}
	for rows.Next() {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("reading server variables: %w", err)
		}
		vars[strings.ToLower(k)] = v.String
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading server variables: %w", err)
	}
	return vars, nil
}

// replica is one row of SHOW SLAVE HOSTS / SHOW REPLICAS.
type replica struct {
	serverID uint32
	host     string
	port     int
}

// replicaQueries list the registered replicas: MySQL 8.0.22+, MariaDB
// 10.5.2+, and the older name both still accept.
var replicaQueries = []string{"SHOW REPLICAS", "SHOW REPLICA HOSTS", "SHOW SLAVE HOSTS"}

// listReplicas runs the first of replicaQueries the server accepts. When
// none runs it returns the first error that is not a syntax error (the
// statement of another flavor), such as a missing privilege, so that the
// reason is not hidden behind the syntax of a statement this server lacks.
func listReplicas(ctx context.Context, db *sql.DB) (*sql.Rows, error) {
	var first, syntax error
	for _, q := range replicaQueries {
		rows, err := db.QueryContext(ctx, q)
		if err == nil {
			return rows, nil
		}
		var me *mysqldrv.MySQLError
		if errors.As(err, &me) && me.Number == 1064 { // ER_PARSE_ERROR
			if syntax == nil {
				syntax = fmt.Errorf("%s: %w", q, err)
			}
			continue
		}
		if first == nil {
			first = fmt.Errorf("%s: %w", q, err)
		}
	}
	if first != nil {
		return nil, first
	}
	return nil, syntax
}

// replicaWithServerID returns the registered replica that uses id, or nil.
func replicaWithServerID(ctx context.Context, db *sql.DB, id uint32) (*replica, error) {
	rows, err := listReplicas(ctx, db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var r replica
		for i, c := range cols {
			switch strings.ToLower(c) {
			case "server_id":
				n, _ := strconv.ParseUint(vals[i].String, 10, 32)
				r.serverID = uint32(n)
			case "host":
				r.host = vals[i].String
			case "port":
				r.port, _ = strconv.Atoi(vals[i].String)
			}
		}
		if r.serverID == id {
			return &r, nil
		}
	}
	return nil, rows.Err()
}

// grants holds the privileges of SHOW GRANTS, by object ("*.*",
// "`shop`.*", "`shop`.`orders`").
type grants map[string]map[string]bool

var grantLine = regexp.MustCompile("^GRANT (.+?) ON (\\S+) TO ")

func readGrants(ctx context.Context, db *sql.DB) (grants, error) {
	rows, err := db.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		return nil, fmt.Errorf("reading grants: %w", err)
	}
	defer rows.Close()
	g := grants{}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, fmt.Errorf("reading grants: %w", err)
		}
		m := grantLine.FindStringSubmatch(line)
		if m == nil {
			continue // role grants, proxies
		}
		obj := m[2]
		if g[obj] == nil {
			g[obj] = map[string]bool{}
		}
		for _, p := range strings.Split(m[1], ",") {
			p = strings.TrimSpace(p)
			if i := strings.IndexByte(p, '('); i >= 0 {
				p = strings.TrimSpace(p[:i]) // column grants: SELECT (a, b)
			}
			g[obj][strings.ToUpper(p)] = true
		}
	}
	return g, rows.Err()
}

// has reports whether priv, or ALL PRIVILEGES, is granted on obj.
func (g grants) has(obj, priv string) bool {
	return g[obj][priv] || g[obj]["ALL PRIVILEGES"] || g[obj]["ALL"]
}

func (g grants) anySelect() bool {
	for _, ps := range g {
		if ps["SELECT"] || ps["ALL PRIVILEGES"] {
			return true
		}
	}
	return false
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func isAccessDenied(err error) bool {
	var me *mysqldrv.MySQLError
	return errors.As(err, &me) && (me.Number == 1227 || me.Number == 1142 || me.Number == 1044 || me.Number == 1045)
}

func listTables(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')`)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var s, t string
		if err := rows.Scan(&s, &t); err != nil {
			return nil, fmt.Errorf("listing tables: %w", err)
		}
		all = append(all, s+"."+t)
	}
	return all, rows.Err()
}

// matchTables returns the tables matching the patterns, and the patterns
// that match nothing.
func matchTables(patterns []string, all []string) (matched []string, unmatched []string) {
	seen := map[string]bool{}
	for _, p := range patterns {
		n := 0
		for _, t := range all {
			if ok, _ := path.Match(p, t); ok {
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
