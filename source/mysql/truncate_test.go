package mysql

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"
)

func TestTruncatedTable(t *testing.T) {
	for _, c := range []struct{ q, db, want string }{
		{"TRUNCATE TABLE t", "shop", "shop.t"},
		{"truncate t", "shop", "shop.t"},
		{"TRUNCATE  `t`", "shop", "shop.t"},
		{"truncate table other.t", "shop", "other.t"},
		{"TRUNCATE TABLE `my db`.`we``ird.t`", "shop", "my db.we`ird.t"},
		{"/* app */ TRUNCATE /* x */ TABLE shop . orders NOWAIT", "", "shop.orders"},
		{"TRUNCATE TABLE t WAIT 5;", "shop", "shop.t"},
		{"TRUNCATE tables", "shop", "shop.tables"},
		{"TRUNCATE TABLE table_1", "shop", "shop.table_1"},
	} {
		db, name, err := truncatedTable(c.q, c.db)
		if err != nil || db+"."+name != c.want {
			t.Errorf("truncatedTable(%q, %q) = %q, %q, %v; want %s", c.q, c.db, db, name, err, c.want)
		}
	}
	for _, q := range []string{"TRUNCATE TABLE t", "TRUNCATE TABLE a.b.c", "TRUNCATE TABLE `t", "TRUNCATE TABLE t, u", "TRUNCATE"} {
		if db, name, err := truncatedTable(q, ""); err == nil {
			t.Errorf("truncatedTable(%q) accepted: %s.%s", q, db, name)
		}
	}
	if _, _, err := truncatedTable("CREATE TABLE truncate_log (id int)", "shop"); err != errNotTruncate {
		t.Errorf("CREATE TABLE: %v", err)
	}
}

// A TRUNCATE of a captured table is a transaction with one truncate change;
// of another table, a DDL statement that only advances the position.
func TestReaderTruncate(t *testing.T) {
	r, out := newTestReader(t, "mariadb-gtid:0-1-9;binlog.000001:4")
	tm := orderTableMap()
	b := &events{pos: 4}
	feed(t, r, []*replication.BinlogEvent{
		b.gtid(10, false), b.ev(replication.TABLE_MAP_EVENT, 70, tm),
		b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(1)), b.ev(replication.XID_EVENT, 31, &replication.XIDEvent{}),
		b.gtid(11, true), b.query("TRUNCATE TABLE orders"),
		b.gtid(12, true), b.query("TRUNCATE other.orders"),
		b.gtid(13, true), b.query("TRUNCATE TABLE shop.fresh"),
	})
	var got []string
	var tables []string
	for _, m := range messagesRaw(out) {
		switch {
		case m.Begin != nil:
			got = append(got, "begin "+m.Begin.TxID)
		case m.Change != nil:
			got = append(got, string(m.Change.Op)+" "+m.Change.Table.ID()+" "+m.Change.Meta.Get("gtid").(string)+" "+m.Change.Pos.String())
			tables = append(tables, m.Change.Table.ID())
			if m.Change.Op == 't' && m.Change.Table.ID() == "shop.orders" && m.Change.Table != r.cache["shop.orders"].table.schema {
				t.Error("truncate of a table read before: not its last shape")
			}
			if m.Change.Op == 't' && m.Change.Table.ID() == "shop.fresh" && len(m.Change.Table.Columns) != 0 {
				t.Error("truncate of a table never read: has columns")
			}
		case m.Commit != nil:
			got = append(got, "commit "+m.Commit.TxID+" "+m.Commit.Pos.String())
		case m.Heartbeat != nil:
			got = append(got, "heartbeat "+m.Heartbeat.String())
		}
	}
	sameLines(t, "messages", got, []string{
		"begin 0-1-10",
		"c shop.orders 0-1-10 file:binlog.000001:116",
		"commit 0-1-10 mariadb-gtid:0-1-10;binlog.000001:197",
		"begin 0-1-11",
		"t shop.orders 0-1-11 file:binlog.000001:239",
		"commit 0-1-11 mariadb-gtid:0-1-11;binlog.000001:299",
		"heartbeat mariadb-gtid:0-1-12;binlog.000001:401",
		"begin 0-1-13",
		"t shop.fresh 0-1-13 file:binlog.000001:443",
		"commit 0-1-13 mariadb-gtid:0-1-13;binlog.000001:503",
	})
	if len(r.ddls) != 0 {
		t.Errorf("TRUNCATE recorded as a schema change: %v", r.ddls)
	}
}
