//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"
)

// BINARY(n) values whose trailing bytes are 0x00 (the binlog drops them),
// as a primary key and as values, and MariaDB's INET6, INET4 and UUID
// columns (BINARY(16)/BINARY(4) in the binlog) come out exactly as the
// server has them: keys and values round-trip, and an update and a delete
// address the right key.
func TestMySQLFixedBinary(t *testing.T) {
	name := uniq("mybin")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id binary(16) PRIMARY KEY, b binary(4), ip inet6, v4 inet4, u uuid, n int)")
	p, _ := myStartCDC(t, name, "  batch:\n    linger: 20ms\n")
	p.logOnFailure()

	myExec(t, db,
		"INSERT INTO "+name+`.t VALUES
			(x'01', x'61', '::1', '10.0.0.0', '6ccd780c-baba-1026-9564-5b8c656024db', 1),
			(x'00', x'00', 'fe80::1', '0.0.0.0', '00000000-0000-0000-0000-000000000000', 2),
			(x'ff00ff', x'0000ff', '1:0:2:3:4:5:6:7', '1.2.3.4', '00112233-4455-6677-8899-aabbccddeeff', 3),
			(x'0100000000000000000000000000000a', NULL, '::ffff:1.2.3.4', NULL, uuid(), 4),
			(x'02', x'02', '::1.2.3.4', '255.255.255.255', '6ccd780c-baba-4026-c564-5b8c65602400', 5)`,
		"UPDATE "+name+".t SET n = 10 WHERE id = x'01000000000000000000000000000000'",
		"DELETE FROM "+name+".t WHERE id = x'00000000000000000000000000000000'",
	)
	// The server's own forms, for the rows still there and the deleted one.
	type row struct{ id, b, ip, v4, u string }
	server := map[string]row{}
	rs, err := db.Query("SELECT hex(id), hex(b), CAST(ip AS CHAR), CAST(v4 AS CHAR), CAST(u AS CHAR) FROM " + name + ".t")
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var r row
		var b, v4 *string
		if err := rs.Scan(&r.id, &b, &r.ip, &v4, &r.u); err != nil {
			t.Fatal(err)
		}
		if b != nil {
			r.b = *b
		}
		if v4 != nil {
			r.v4 = *v4
		}
		server[r.id] = r
	}
	rs.Close()
	server["00000000000000000000000000000000"] = row{id: "00000000000000000000000000000000", b: "00000000", ip: "fe80::1", v4: "0.0.0.0", u: "00000000-0000-0000-0000-000000000000"}
	if len(server) != 5 {
		t.Fatalf("server rows: %v", server)
	}

	c := newConsumer(t, "^"+name+`\.`+name+`\.t(\.DLT)?$`)
	es := c.until(60*time.Second, func(es []event) bool { return len(es) >= 5+1+2 || p.exited() }) // 5 inserts, 1 update, delete + tombstone
	es = c.settle(time.Second)
	for _, e := range es {
		if e.Topic != name+"."+name+".t" {
			t.Errorf("record on %s: %s %s", e.Topic, e.Headers["cdc.dlt.reason"], e.Value)
		}
	}
	got := byKey(es, name+"."+name+".t")
	if len(got) != 5 {
		t.Errorf("keys %v, want 5", keys(got))
	}
	b64 := func(hexText string) string {
		b, _ := hex.DecodeString(hexText)
		return base64.StdEncoding.EncodeToString(b)
	}
	for id, r := range server {
		key := `{"id":"` + b64(id) + `"}`
		evs := got[key]
		want := []string{"c"}
		switch id {
		case "01000000000000000000000000000000":
			want = []string{"c", "u"}
		case "00000000000000000000000000000000":
			want = []string{"c", "d", "tombstone"}
		}
		if s := summary(t, evs); !reflect.DeepEqual(s, want) {
			t.Errorf("key %s (id %s): %v, want %v", key, id, s, want)
			continue
		}
		for i, e := range evs {
			if e.Value == nil {
				continue
			}
			env := e.env(t)
			img := env.After
			if env.Op == "d" {
				img = env.Before
			}
			var wantB any
			if r.b != "" {
				wantB = b64(r.b)
			}
			var wantV4 any
			if r.v4 != "" {
				wantV4 = r.v4
			}
			gotRow := map[string]any{"id": img["id"], "b": img["b"], "ip": img["ip"], "v4": img["v4"], "u": img["u"]}
			wantRow := map[string]any{"id": b64(id), "b": wantB, "ip": r.ip, "v4": wantV4, "u": r.u}
			if !reflect.DeepEqual(gotRow, wantRow) {
				t.Errorf("id %s event %d (%s):\n got %v\nwant %v", id, i, env.Op, gotRow, wantRow)
			}
			if env.Op == "u" && (env.Before["id"] != b64(id) || env.After["n"] != float64(10)) {
				t.Errorf("update of id %s: before %v after %v", id, env.Before, env.After)
			}
		}
	}
	p.stopOK()
}

// Text columns decode as the server converts them: all 256 latin1 bytes
// equal CONVERT(col USING utf8mb4) (MySQL's latin1 is not Windows-1252:
// 0x81, 0x8D, 0x8F, 0x90, 0x9D are the C1 controls), cp1250 text decodes,
// and a byte the charset cannot map sends the change to the dead-letter
// topic with the reason and the raw bytes, instead of a silent U+FFFD.
func TestMySQLCharsets(t *testing.T) {
	name := uniq("mycs")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY, "+
		"txt varchar(300) CHARACTER SET latin1, c varchar(10) CHARACTER SET cp1250, k varchar(10) CHARACTER SET koi8r)")
	p, _ := myStartCDC(t, name, "  batch:\n    linger: 20ms\n")
	p.logOnFailure()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	myExec(t, db,
		"INSERT INTO "+name+".t (id, txt, c, k) VALUES (1, x'"+hex.EncodeToString(all)+"', x'41e9', x'c1e2')",
		"INSERT INTO "+name+".t (id, c) VALUES (2, x'4181')", // 0x81 is not a cp1250 character
	)
	var txt, c, k string
	if err := db.QueryRow("SELECT CONVERT(txt USING utf8mb4), CONVERT(c USING utf8mb4), CONVERT(k USING utf8mb4) FROM "+name+".t WHERE id = 1").Scan(&txt, &c, &k); err != nil {
		t.Fatal(err)
	}
	if len([]rune(txt)) != 256 {
		t.Fatalf("server's latin1 text: %d characters", len([]rune(txt)))
	}

	cons := newConsumer(t, "^"+name+`\.`+name+`\.t(\.DLT)?$`)
	es := cons.until(60*time.Second, func(es []event) bool { return len(es) >= 2 || p.exited() })
	es = cons.settle(time.Second)
	var row, dead *event
	for i := range es {
		switch es[i].Topic {
		case name + "." + name + ".t":
			row = &es[i]
		case name + "." + name + ".t.DLT":
			dead = &es[i]
		}
	}
	if len(es) != 2 || row == nil || dead == nil {
		for _, e := range es {
			t.Logf("%s %s: %s", e.Topic, e.Key, e.Value)
		}
		t.Fatalf("want one row on the table topic and one dead letter, got %d records", len(es))
	}
	after := row.env(t).After
	if after["txt"] != txt {
		got, _ := after["txt"].(string)
		gr, wr := []rune(got), []rune(txt)
		for i := range wr {
			if i >= len(gr) || gr[i] != wr[i] {
				t.Errorf("latin1 byte 0x%02x: got %q, server %q", i, string(gr[i:min(i+1, len(gr))]), string(wr[i]))
			}
		}
	}
	if after["c"] != c || c != "Aé" || after["k"] != k || k != "аБ" {
		t.Errorf("cp1250 %q (server %q), koi8r %q (server %q)", after["c"], c, after["k"], k)
	}
	reason := dead.Headers["cdc.dlt.reason"]
	if !strings.Contains(reason, `column "c"`) || !strings.Contains(reason, "0x81") {
		t.Errorf("dead letter reason %q does not name the column and the byte", reason)
	}
	if got := dead.env(t).After["c"]; got != base64.StdEncoding.EncodeToString([]byte{0x41, 0x81}) {
		t.Errorf("dead letter value of c: %#v, want the raw bytes in base64", got)
	}
	p.stopOK()
}

// Dates MySQL stores but the calendar does not have (ALLOW_INVALID_DATES,
// the zero date, zero month or day parts) are kept, explicitly, with the
// fields the server stored: DATE as "2024-02-30", DATETIME as
// "2024-02-30T10:00:00" and TIMESTAMP's zero as "0000-00-00T00:00:00Z",
// the same layout as valid values. None goes to the dead-letter topic.
func TestMySQLInvalidDates(t *testing.T) {
	name := uniq("mydates")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY, d date, dt datetime, dt3 datetime(3), ts timestamp NULL)")
	p, _ := myStartCDC(t, name, "  batch:\n    linger: 20ms\n")
	p.logOnFailure()
	myExec(t, db,
		"SET SESSION sql_mode = 'ALLOW_INVALID_DATES'",
		"INSERT INTO "+name+".t VALUES (1, '2024-02-30', '2024-02-30 10:00:00', '2024-02-31 23:59:59.500', NULL)",
		"SET SESSION sql_mode = ''",
		"INSERT INTO "+name+".t VALUES (2, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000', '0000-00-00 00:00:00')",
		"INSERT INTO "+name+".t VALUES (3, '2024-00-15', '2024-05-00 01:02:03', '2024-00-00 01:02:03.120', '2024-01-02 03:04:05')",
	)
	want := map[string]map[string]any{
		`{"id":1}`: {"d": "2024-02-30", "dt": "2024-02-30T10:00:00", "dt3": "2024-02-31T23:59:59.5", "ts": nil},
		`{"id":2}`: {"d": "0000-00-00", "dt": "0000-00-00T00:00:00", "dt3": "0000-00-00T00:00:00", "ts": "0000-00-00T00:00:00Z"},
		`{"id":3}`: {"d": "2024-00-15", "dt": "2024-05-00T01:02:03", "dt3": "2024-00-00T01:02:03.12", "ts": "2024-01-02T03:04:05Z"},
	}
	// The same fields as the server's own text.
	rs, err := db.Query("SELECT id, CAST(d AS CHAR), CAST(dt AS CHAR), CAST(dt3 AS CHAR) FROM " + name + ".t")
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var id int
		var d, dt, dt3 string
		if err := rs.Scan(&id, &d, &dt, &dt3); err != nil {
			t.Fatal(err)
		}
		w := want[`{"id":`+string(rune('0'+id))+`}`]
		iso := func(s string) string {
			s = strings.Replace(s, " ", "T", 1)
			if strings.Contains(s, ".") {
				s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
			}
			return s
		}
		if w["d"] != d || w["dt"] != iso(dt) || w["dt3"] != iso(dt3) {
			t.Errorf("row %d on the server: %s, %s, %s; the test expects %v", id, d, dt, dt3, w)
		}
	}
	rs.Close()

	c := newConsumer(t, "^"+name+`\.`+name+`\.t(\.DLT)?$`)
	es := c.until(60*time.Second, func(es []event) bool { return len(es) >= 3 || p.exited() })
	es = c.settle(time.Second)
	if len(es) != 3 {
		t.Errorf("%d records, want 3", len(es))
	}
	for _, e := range es {
		if e.Topic != name+"."+name+".t" {
			t.Errorf("record on %s: %s", e.Topic, e.Headers["cdc.dlt.reason"])
			continue
		}
		after := e.env(t).After
		for k, w := range want[e.Key] {
			if after[k] != w {
				t.Errorf("%s %s: got %#v, want %#v", e.Key, k, after[k], w)
			}
		}
	}
	p.stopOK()
}

// gbk and euckr text decodes as the server converts it, for every 2-byte
// sequence the server maps; a sequence the server stores but cannot map
// ('?' in CONVERT) sends the row to the dead-letter topic.
func TestMySQLDoubleByteCharsets(t *testing.T) {
	name := uniq("mydbcs")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".probe (cs varchar(10) PRIMARY KEY, b mediumblob)",
		"CREATE TABLE "+name+".t (id int PRIMARY KEY, g mediumtext CHARACTER SET gbk, k mediumtext CHARACTER SET euckr)")
	var all []byte
	for lead := 0x81; lead <= 0xfe; lead++ {
		for trail := 0x40; trail <= 0xfe; trail++ {
			if trail != 0x7f {
				all = append(all, byte(lead), byte(trail), ' ')
			}
		}
	}
	// What each charset stores (sql_mode '' keeps what it can), and which
	// of the stored characters the server maps.
	mapped, unmapped := map[string][]byte{}, map[string][]byte{}
	for _, cs := range []string{"gbk", "euckr"} {
		myExec(t, db, "SET SESSION sql_mode = ''",
			"INSERT INTO "+name+".probe VALUES ('"+cs+"', CAST(CONVERT(CAST(x'"+hex.EncodeToString(all)+"' AS CHAR CHARACTER SET "+cs+") USING "+cs+") AS BINARY))")
		var stored []byte
		var conv string
		if err := db.QueryRow("SELECT b, CONVERT(CAST(b AS CHAR CHARACTER SET "+cs+") USING utf8mb4) FROM "+name+".probe WHERE cs = ?", cs).Scan(&stored, &conv); err != nil {
			t.Fatal(err)
		}
		sb, cb := strings.Split(strings.TrimSpace(string(stored)), " "), strings.Split(strings.TrimSpace(conv), " ")
		if len(sb) != len(cb) {
			t.Fatalf("%s: %d stored characters, %d converted", cs, len(sb), len(cb))
		}
		for i := range sb {
			if cb[i] == "?" && sb[i] != "?" {
				if unmapped[cs] == nil {
					unmapped[cs] = []byte(sb[i])
				}
				continue
			}
			mapped[cs] = append(append(mapped[cs], sb[i]...), ' ')
		}
		t.Logf("%s: %d characters mapped; first stored but unmapped: %x", cs, strings.Count(string(mapped[cs]), " "), unmapped[cs])
	}

	p, _ := myStartCDC(t, name, "  batch:\n    linger: 20ms\n")
	p.logOnFailure()
	stmts := []string{"SET SESSION sql_mode = ''",
		"INSERT INTO " + name + ".t VALUES (1, x'" + hex.EncodeToString(mapped["gbk"]) + "', x'" + hex.EncodeToString(mapped["euckr"]) + "')"}
	dead := 0
	if unmapped["gbk"] != nil {
		stmts = append(stmts, "INSERT INTO "+name+".t (id, g) VALUES (2, x'"+hex.EncodeToString(unmapped["gbk"])+"')")
		dead++
	}
	if unmapped["euckr"] != nil {
		stmts = append(stmts, "INSERT INTO "+name+".t (id, k) VALUES (3, x'"+hex.EncodeToString(unmapped["euckr"])+"')")
		dead++
	}
	myExec(t, db, stmts...)
	var g, k string
	if err := db.QueryRow("SELECT CONVERT(g USING utf8mb4), CONVERT(k USING utf8mb4) FROM "+name+".t WHERE id = 1").Scan(&g, &k); err != nil {
		t.Fatal(err)
	}
	c := newConsumer(t, "^"+name+`\.`+name+`\.t(\.DLT)?$`)
	es := c.until(60*time.Second, func(es []event) bool { return len(es) >= 1+dead || p.exited() })
	es = c.settle(time.Second)
	var row *event
	dlt := 0
	for i, e := range es {
		switch {
		case e.Topic == name+"."+name+".t" && e.Key == `{"id":1}`:
			row = &es[i]
		case e.Topic == name+"."+name+".t.DLT" && e.Key != `{"id":1}`:
			dlt++
			if !strings.Contains(e.Headers["cdc.dlt.reason"], "no Unicode mapping") && !strings.Contains(e.Headers["cdc.dlt.reason"], "without a Unicode mapping") {
				t.Errorf("dead letter %s: %s", e.Key, e.Headers["cdc.dlt.reason"])
			}
		default:
			t.Errorf("unexpected record on %s key %s: %s", e.Topic, e.Key, e.Headers["cdc.dlt.reason"])
		}
	}
	if row == nil || dlt != dead || len(es) != 1+dead {
		t.Fatalf("want row 1 on the table topic and %d dead letters, got %d records", dead, len(es))
	}
	after := row.env(t).After
	for col, want := range map[string]string{"g": g, "k": k} {
		got, _ := after[col].(string)
		if got == want {
			continue
		}
		gw, ww := strings.Split(got, " "), strings.Split(want, " ")
		bad := 0
		for i := range ww {
			if i < len(gw) && gw[i] != ww[i] && bad < 10 {
				t.Errorf("%s character %d: got %q, server %q", col, i, gw[i], ww[i])
				bad++
			}
		}
		t.Errorf("%s differs from the server's conversion (%d vs %d characters)", col, len(gw), len(ww))
	}
	p.stopOK()
}
