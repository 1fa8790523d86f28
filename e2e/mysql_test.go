//go:build e2e

package e2e

import (
	"database/sql"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestMySQLRowEvents(t *testing.T) {
	name := uniq("myrows")
	db := myConnect(t)
	myDatabase(t, db, name)
	myDatabase(t, db, name+"_off")
	myExec(t, db,
		"CREATE TABLE "+name+`.orders (id bigint PRIMARY KEY, status varchar(20) NOT NULL, amount decimal(10,2), meta json,
			created timestamp(6) NULL, flag tinyint(1), qty int unsigned, kind enum('a','b'), tags set('x','y','z'),
			data blob, bits bit(3), dt datetime, yr year, d date, tm time(2), note text CHARACTER SET latin1, f float)`,
		"CREATE TABLE "+name+".items (order_id bigint, line int, sku varchar(20), PRIMARY KEY (order_id, line))",
		"CREATE TABLE "+name+".notes (body text)",
		"CREATE TABLE "+name+"_off.t (id int PRIMARY KEY)",
	)
	p, _ := myStartCDC(t, name, "  transaction_topic: "+name+".transactions\n  batch:\n    linger: 20ms\n")

	myExec(t, db,
		"BEGIN",
		"INSERT INTO "+name+`.orders VALUES (1, 'new', 12.50, '{"tags":["a"]}', '2024-02-29 13:14:15.123456', 1, 4000000000,
			'b', 'x,z', x'00ff', b'101', '2024-01-02 03:04:05', 2024, '2024-03-01', '-12:34:56.78', 'héllo wörld', 0.1),
			(2, 'new', 0.10, NULL, NULL, 0, 0, 'a', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		"INSERT INTO "+name+".items VALUES (1, 1, 'sku-1'), (1, 2, 'sku-2')",
		"COMMIT",
		"UPDATE "+name+".orders SET status = 'paid' WHERE id = 1",
		"DELETE FROM "+name+".orders WHERE id = 2",
		"BEGIN",
		"INSERT INTO "+name+".orders (id, status) VALUES (99, 'rolled back')",
		"ROLLBACK",
		"INSERT INTO "+name+"_off.t VALUES (1)", // not captured: nothing, not even BEGIN/END
		"UPDATE "+name+".orders SET id = 3 WHERE id = 1",
		"INSERT INTO "+name+".notes VALUES ('hello')",
		"UPDATE "+name+".notes SET body = 'bye'",
		"DELETE FROM "+name+".notes",
		"UPDATE "+name+".items SET sku = concat(sku, '!') WHERE order_id = 1", // one statement, two rows
	)

	// Table topics (both databases) and the transaction topic; not the
	// schema-history topics.
	c := newConsumer(t, "^"+name+`\.(`+name+`(_off)?\..+|transactions)$`)
	// 4 (tx1) + 1 + 2 (delete+tombstone) + 3 (key change) + 3 notes + 2 items = 15 row records,
	// plus BEGIN/END for 8 transactions.
	es := c.atLeast(15+16, 60*time.Second)
	es = c.settle(2 * time.Second)
	if len(es) != 31 {
		t.Errorf("%d records, want exactly 31", len(es))
	}

	orders := name + "." + name + ".orders"
	got := byKey(es, orders)
	want := map[string][]string{
		`{"id":1}`: {"c", "u", "d", "tombstone"},
		`{"id":2}`: {"c", "d", "tombstone"},
		`{"id":3}`: {"c"},
	}
	for k, w := range want {
		if s := summary(t, got[k]); !reflect.DeepEqual(s, w) {
			t.Errorf("orders key %s: got %v, want %v", k, s, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("orders keys: got %v, want %d keys (the rolled-back row must be absent)", keys(got), len(want))
	}
	for _, e := range es {
		if strings.Contains(e.Topic, "_off") {
			t.Errorf("uncaptured table on topic %s", e.Topic)
		}
	}

	// Typed values of the first insert.
	first := got[`{"id":1}`][0].env(t)
	wantAfter := map[string]any{
		"id": float64(1), "status": "new", "amount": "12.50", "created": "2024-02-29T13:14:15.123456Z", "flag": float64(1),
		"qty": float64(4000000000), "kind": "b", "tags": []any{"x", "z"}, "data": "AP8=", "bits": "101",
		"dt": "2024-01-02T03:04:05", "yr": float64(2024), "d": "2024-03-01", "tm": "-12:34:56.78", "note": "héllo wörld", "f": 0.1,
	}
	for k, w := range wantAfter {
		if !reflect.DeepEqual(first.After[k], w) {
			t.Errorf("insert value %s: got %#v, want %#v", k, first.After[k], w)
		}
	}
	// MariaDB's JSON is LONGTEXT with a json_valid check: embedded as JSON,
	// as on Postgres and MySQL, not a string.
	if m, ok := first.After["meta"].(map[string]any); !ok || !reflect.DeepEqual(m["tags"], []any{"a"}) {
		t.Errorf("json column: %#v, want the embedded object", first.After["meta"])
	}
	if sec := got[`{"id":2}`][0].env(t); !reflect.DeepEqual(sec.After["tags"], []any{}) || sec.After["amount"] != "0.10" || sec.After["data"] != nil {
		t.Errorf("second insert: %v", sec.After)
	}
	if first.Before != nil {
		t.Errorf("insert has before: %v", first.Before)
	}
	src := first.Source
	// As Debezium's MariaDB connector writes it; ts_us and ts_ns carry the
	// commit time to the microsecond and nanosecond.
	if src["connector"] != "mariadb" || src["name"] != name || src["db"] != name || src["table"] != "orders" || src["ts_us"] == nil || src["ts_ns"] == nil ||
		src["gtid"] == nil || src["file"] == nil || src["pos"] == nil || src["server_id"] == nil || src["schema"] != nil {
		t.Errorf("source block: %v", src)
	}
	upd := got[`{"id":1}`][1].env(t)
	if upd.Before["status"] != "new" || upd.After["status"] != "paid" || upd.After["note"] != "héllo wörld" {
		t.Errorf("update: before %v after %v", upd.Before, upd.After)
	}
	del := got[`{"id":2}`][1].env(t)
	if del.Before == nil || del.Before["id"] != float64(2) || del.After != nil {
		t.Errorf("delete: before %v after %v", del.Before, del.After)
	}

	items := byKey(es, name+"."+name+".items")
	for _, k := range []string{`{"order_id":1,"line":1}`, `{"order_id":1,"line":2}`} {
		if s := summary(t, items[k]); !reflect.DeepEqual(s, []string{"c", "u"}) {
			t.Errorf("items %s: %v", k, s)
		}
	}
	// Both items rows share one transaction with the orders rows: same id, orders 1..4.
	tx := first.Transaction.ID
	if it := items[`{"order_id":1,"line":2}`][0].env(t).Transaction; it.ID != tx || it.TotalOrder != 4 {
		t.Errorf("transaction block of the 4th change of tx %s: %+v", tx, it)
	}
	// The two-row UPDATE is one transaction with two changes.
	u1, u2 := items[`{"order_id":1,"line":1}`][1].env(t), items[`{"order_id":1,"line":2}`][1].env(t)
	if u1.Transaction.ID != u2.Transaction.ID || u1.Transaction.TotalOrder != 1 || u2.Transaction.TotalOrder != 2 || u2.After["sku"] != "sku-2!" {
		t.Errorf("multi-row update: %+v %+v %v", u1.Transaction, u2.Transaction, u2.After)
	}

	notes := byKey(es, name+"."+name+".notes")
	if s := summary(t, notes[""]); !reflect.DeepEqual(s, []string{"c", "u", "d"}) {
		t.Errorf("notes (no primary key): %v", s)
	}
	if u := notes[""][1].env(t); u.Before["body"] != "hello" || u.After["body"] != "bye" {
		t.Errorf("notes update must carry before (binlog_row_image=FULL): %v -> %v", u.Before, u.After)
	}

	begins, ends := txMarkers(es, name+".transactions")
	if begins != 8 || ends != 8 {
		t.Errorf("transaction topic: %d BEGIN, %d END; want 8 each", begins, ends)
	}
	p.stopOK()
}

// A table altered (column added, dropped, retyped) while the connector is
// stopped: after the restart, rows written before each ALTER decode with the
// columns they were written with, from the binlog's own table maps.
func TestMySQLAlterWhileStopped(t *testing.T) {
	name := uniq("myalter")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY, a varchar(10), b int)")
	p, cfg := myStartCDC(t, name, "  batch:\n    linger: 0s\n")
	myExec(t, db, "INSERT INTO "+name+".t VALUES (1, 'one', 10)")
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	c.atLeast(1, 60*time.Second)
	p.stopOK()

	myExec(t, db,
		"INSERT INTO "+name+".t VALUES (2, 'two', 20)",
		"ALTER TABLE "+name+".t ADD COLUMN c varchar(10)",
		"INSERT INTO "+name+".t VALUES (3, 'three', 30, 'c3')",
		"ALTER TABLE "+name+".t DROP COLUMN a",
		"INSERT INTO "+name+".t VALUES (4, 40, 'c4')",
		"ALTER TABLE "+name+".t MODIFY b varchar(20)",
		"INSERT INTO "+name+".t VALUES (5, 'fifty', 'c5')",
		"UPDATE "+name+".t SET c = 'c1' WHERE id = 1",
	)
	p = startCDC(t, cfg)
	es := c.atLeast(6, 60*time.Second)
	es = c.settle(2 * time.Second)
	if len(es) != 6 {
		t.Errorf("%d events, want 6", len(es))
	}
	rows := byKey(es, name+"."+name+".t")
	cols := func(m map[string]any) string {
		var ks []string
		for k, v := range m {
			ks = append(ks, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(ks)
		return strings.Join(ks, " ")
	}
	wantAfter := map[string]string{
		`{"id":2}`: "a=two b=20 id=2",        // before any ALTER
		`{"id":3}`: "a=three b=30 c=c3 id=3", // after ADD COLUMN
		`{"id":4}`: "b=40 c=c4 id=4",         // after DROP COLUMN
		`{"id":5}`: "b=fifty c=c5 id=5",      // after MODIFY: b is text now
		`{"id":1}`: "b=10 c=c1 id=1",         // the update, second event of id 1
	}
	for k, w := range wantAfter {
		evs := rows[k]
		if len(evs) == 0 {
			t.Errorf("no event for %s", k)
			continue
		}
		if got := cols(evs[len(evs)-1].env(t).After); got != w {
			t.Errorf("%s: after %q, want %q", k, got, w)
		}
	}
	if b := rows[`{"id":4}`][0].env(t).After["b"]; b != float64(40) {
		t.Errorf("id 4: b written as int must stay a number, got %#v", b)
	}
	p.stopOK()
}

// The binlog holding the transactions after the checkpoint is purged while
// the connector is stopped: it must stop with an error naming the position
// and the ways out, and send nothing from past the gap.
func TestMySQLPurgedCheckpoint(t *testing.T) {
	name := uniq("mypurge")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY)", "FLUSH BINARY LOGS")
	p, cfg := myStartCDC(t, name, "  batch:\n    linger: 0s\n")
	myExec(t, db, "INSERT INTO "+name+".t VALUES (1)")
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	c.atLeast(1, 60*time.Second)
	p.stopOK()

	myExec(t, db, "INSERT INTO "+name+".t VALUES (2)", "FLUSH BINARY LOGS")
	purgeBinlogs(t, db)
	myExec(t, db, "INSERT INTO "+name+".t VALUES (3)")

	code, _, stderr := runCDC(t, 60*time.Second, nil, "run", "-c", cfg)
	if code != 3 { // halted: a restart cannot fix it
		t.Errorf("exit code %d, want 3; stderr:\n%s", code, stderr)
	}
	assertOneLineError(t, stderr, "purged")
	t.Log(stderr[strings.LastIndex(strings.TrimRight(stderr, "\n"), "\n")+1:])
	for _, want := range []string{"GTID position", "tombstone", "delet"} { // no "re-snapshot": there is no snapshot
		if !strings.Contains(stderr, want) {
			t.Errorf("error does not mention %q:\n%s", want, stderr)
		}
	}
	es := c.settle(2 * time.Second)
	if len(es) != 1 {
		t.Errorf("%d events, want only the one before the gap", len(es))
	}
}

// purgeBinlogs purges every binlog file but the newest. MariaDB keeps a
// file until InnoDB has checkpointed its transactions (its binlog checkpoint
// event), so the purge is retried until the older files are gone.
func purgeBinlogs(t *testing.T, db *sql.DB) {
	t.Helper()
	newest := currentBinlogFile(t, db)
	deadline := time.Now().Add(30 * time.Second)
	for {
		myExec(t, db, "PURGE BINARY LOGS TO '"+newest+"'")
		var first string
		var size any
		if err := db.QueryRow("SHOW BINARY LOGS").Scan(&first, &size); err != nil {
			t.Fatal(err)
		}
		if first == newest {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("binlog %s still there after PURGE BINARY LOGS TO '%s' for 30s", first, newest)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func currentBinlogFile(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !rows.Next() {
		t.Fatal("SHOW MASTER STATUS returned nothing")
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	return string(vals[0])
}

func TestMySQLBadSetup(t *testing.T) {
	db := myConnect(t)
	name := uniq("mybad")
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	var ownID uint32
	if err := db.QueryRow("SELECT @@server_id").Scan(&ownID); err != nil {
		t.Fatal(err)
	}

	user := name + "_ro"
	myExec(t, db, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'pw'", user), fmt.Sprintf("GRANT SELECT ON *.* TO '%s'@'%%'", user))
	t.Cleanup(func() { db.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })
	roDSN := myDSNFor(t, user, "pw")

	cases := []struct {
		name, config string
		want         []string
	}{
		{"server_id of the server itself", myConfig(name, ownID, ""), []string{"source.server_id", "server's own server_id"}},
		{"missing replication grants", strings.Replace(myConfig(name, newServerID(), ""), "${CDC_MYSQL_DSN}", roDSN, 1),
			[]string{"REPLICATION SLAVE", "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO"}},
		{"literal table that does not exist", strings.Replace(myConfig(name, newServerID(), ""), `["`+name+`.*"]`, `["`+name+`.nope"]`, 1),
			[]string{"does not exist"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeConfig(t, c.config)
			code, _, stderr := runCDC(t, 60*time.Second, nil, "run", "-c", cfg)
			if code != 1 {
				t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
			}
			for _, w := range c.want {
				assertOneLineError(t, stderr, w)
			}
			code, stdout, _ := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
			if code != 1 || !strings.Contains(stdout, "fix:") {
				t.Errorf("check: exit %d; stdout:\n%s", code, stdout)
			}
		})
	}

	t.Run("two connectors with one server_id", func(t *testing.T) {
		id := newServerID()
		first := startCDC(t, writeConfig(t, myConfig(name, id, "")))
		waitStreaming(t, first)
		second := strings.Replace(myConfig(name, id, ""), "name: "+name, "name: "+name+"_b", 1)
		code, _, stderr := runCDC(t, 60*time.Second, nil, "run", "-c", writeConfig(t, second))
		if code != 1 {
			t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
		}
		assertOneLineError(t, stderr, fmt.Sprintf("source.server_id %d is already used by another replica", id))
		if first.exited() {
			t.Errorf("the first connector must keep running; log:\n%s", first.Log())
		}
		if code := first.stop(30 * time.Second); code != 0 {
			t.Errorf("first connector: exit code %d; log:\n%s", code, first.Log())
		}
	})

	// SET GLOBAL changes the server for every test: restore it whatever happens.
	for _, v := range []struct{ variable, bad, good, want string }{
		{"binlog_format", "STATEMENT", "ROW", "SET GLOBAL binlog_format = 'ROW'"},
		{"binlog_row_metadata", "MINIMAL", "FULL", "SET GLOBAL binlog_row_metadata = 'FULL'"},
	} {
		t.Run(v.variable+"="+v.bad, func(t *testing.T) {
			myExec(t, db, fmt.Sprintf("SET GLOBAL %s = '%s'", v.variable, v.bad))
			t.Cleanup(func() {
				if _, err := db.Exec(fmt.Sprintf("SET GLOBAL %s = '%s'", v.variable, v.good)); err != nil {
					t.Errorf("restoring %s: %v", v.variable, err)
				}
			})
			cfg := writeConfig(t, myConfig(name, newServerID(), ""))
			code, _, stderr := runCDC(t, 60*time.Second, nil, "run", "-c", cfg)
			if code != 1 {
				t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
			}
			assertOneLineError(t, stderr, v.want)
			code, stdout, _ := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
			if code != 1 || !strings.Contains(stdout, v.want) {
				t.Errorf("check: exit %d; stdout:\n%s", code, stdout)
			}
		})
	}

	t.Run("check passes on a good config", func(t *testing.T) {
		code, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", writeConfig(t, myConfig(name, newServerID(), "")))
		if code != 0 {
			t.Errorf("check: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
}

// The server drops the binlog connection between transactions: the
// connector reconnects from the last boundary and loses nothing.
func TestMySQLReconnect(t *testing.T) {
	name := uniq("myreconn")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	p, _ := myStartCDC(t, name, "  batch:\n    linger: 0s\n")
	myExec(t, db, "INSERT INTO "+name+".t VALUES (1)")
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	c.atLeast(1, 60*time.Second)

	// Only this test's connector is streaming from the server now.
	rows, err := db.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) == 0 {
		t.Fatal("no binlog dump thread on the server")
	}
	for _, id := range ids {
		db.Exec(fmt.Sprintf("KILL CONNECTION %d", id))
	}
	myExec(t, db, "INSERT INTO "+name+".t VALUES (2)")
	es := c.atLeast(2, 60*time.Second)
	es = c.settle(2 * time.Second)
	if len(es) != 2 || p.exited() {
		t.Errorf("%d events (want 2), exited %v; log:\n%s", len(es), p.exited(), p.Log())
	}
	waitLog(t, p, "reconnecting")
	for _, l := range strings.Split(p.Log(), "\n") {
		if strings.Contains(l, "reconnecting") {
			t.Log(l)
		}
	}
	p.stopOK()
}
