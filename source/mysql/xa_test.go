package mysql

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/google/uuid"

	"github.com/cdc-go/cdc/source"
)

func (b *events) gtidFlags(seq uint64, flags byte) *replication.BinlogEvent {
	e := &replication.MariadbGTIDEvent{GTID: gomysql.MariadbGTID{DomainID: 0, ServerID: 1, SequenceNumber: seq}, Flags: flags}
	return b.ev(replication.MARIADB_GTID_EVENT, 42, e)
}

func (b *events) query(q string) *replication.BinlogEvent {
	return b.ev(replication.QUERY_EVENT, 60, &replication.QueryEvent{Schema: []byte("shop"), Query: []byte(q)})
}

// xaPrepareEvent is an XA_PREPARE_LOG_EVENT as MariaDB and MySQL write it.
func (b *events) xaPrepareEvent(gtrid, bqual string, format int32, onePhase bool) *replication.BinlogEvent {
	data := make([]byte, 13, 13+len(gtrid)+len(bqual))
	if onePhase {
		data[0] = 1
	}
	binary.LittleEndian.PutUint32(data[1:], uint32(format))
	binary.LittleEndian.PutUint32(data[5:], uint32(len(gtrid)))
	binary.LittleEndian.PutUint32(data[9:], uint32(len(bqual)))
	data = append(append(data, gtrid...), bqual...)
	return b.ev(replication.XA_PREPARE_LOG_EVENT, 38, &replication.GenericEvent{Data: data})
}

func xaRow(id uint64) []any {
	return []any{id, int64(1), int64(0), nil, nil, nil, nil, nil, nil, nil, nil}
}

// xaBinlog is a MariaDB binlog with XA transactions among others: x1 is
// prepared, another transaction commits, x1 commits; x2 is prepared and
// rolled back; x3 is committed in one phase. Each group is returned on its
// own, after the events of the groups before it.
func xaBinlog(tm *replication.TableMapEvent) [][]*replication.BinlogEvent {
	b := &events{pos: 4}
	return [][]*replication.BinlogEvent{
		{ // 0-1-10: x1's prepared part
			b.gtidFlags(10, flPreparedXA), b.ev(replication.TABLE_MAP_EVENT, 70, tm),
			b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(1), xaRow(2)),
			b.query("XA END X'7831',X'',1"), b.xaPrepareEvent("x1", "", 1, false),
		},
		{ // 0-1-11: an ordinary transaction
			b.gtid(11, false), b.ev(replication.TABLE_MAP_EVENT, 70, tm),
			b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(3)), b.ev(replication.XID_EVENT, 31, &replication.XIDEvent{}),
		},
		{ // 0-1-12: XA COMMIT x1
			b.gtidFlags(12, replication.BINLOG_MARIADB_FL_STANDALONE|flCompletedXA), b.query("XA COMMIT X'7831',X'',1"),
		},
		{ // 0-1-13: x2's prepared part
			b.gtidFlags(13, flPreparedXA), b.ev(replication.TABLE_MAP_EVENT, 70, tm),
			b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(4)),
			b.query("XA END X'7832',X'6231',7"), b.xaPrepareEvent("x2", "b1", 7, false),
		},
		{ // 0-1-14: XA ROLLBACK x2
			b.gtidFlags(14, replication.BINLOG_MARIADB_FL_STANDALONE|flCompletedXA), b.query("XA ROLLBACK X'7832',X'6231',7"),
		},
		{ // 0-1-15: XA COMMIT 'x3' ONE PHASE, an ordinary transaction on MariaDB
			b.gtid(15, false), b.ev(replication.TABLE_MAP_EVENT, 70, tm),
			b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(5)), b.ev(replication.XID_EVENT, 31, &replication.XIDEvent{}),
		},
	}
}

func newTestReader(t *testing.T, start string) (*reader, chan source.Message) {
	t.Helper()
	p, err := ParsePosition(start)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan source.Message, 100)
	r := &reader{
		src: &Source{cfg: Config{Tables: []string{"shop.*"}, MaxXABytes: defaultMaxXABytes}, log: slog.New(slog.DiscardHandler), charset: newCharsets(), srv: server{flavor: FlavorMariaDB}},
		out: out, file: "binlog.000001",
		tables: map[uint64]*tableEntry{}, cache: map[string]*cachedTable{}, captured: map[string]bool{},
	}
	r.resume(p)
	return r, out
}

// messagesRaw returns what the reader sent.
func messagesRaw(out chan source.Message) []source.Message {
	var got []source.Message
	for {
		select {
		case m := <-out:
			got = append(got, m)
		default:
			return got
		}
	}
}

// messages renders what the reader sent.
func messages(out chan source.Message) []string {
	var got []string
	for _, m := range messagesRaw(out) {
		{
			switch {
			case m.Begin != nil:
				got = append(got, "begin "+m.Begin.TxID)
			case m.Change != nil:
				ch := m.Change
				got = append(got, fmt.Sprintf("%s %s #%d id=%v gtid=%v xid=%v", ch.Op, ch.Tx.ID, ch.Tx.Order, ch.After[0], ch.Meta.Get("gtid"), ch.Meta.Get("xid")))
			case m.Commit != nil:
				got = append(got, "commit "+m.Commit.TxID+" "+m.Commit.Pos.String())
			case m.Heartbeat != nil:
				got = append(got, "heartbeat "+m.Heartbeat.String())
			}
		}
	}
	return got
}

func feed(t *testing.T, r *reader, groups ...[]*replication.BinlogEvent) {
	t.Helper()
	for _, g := range groups {
		for _, e := range g {
			if err := r.handle(context.Background(), e, false); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s\n got %s\nwant %s", what, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// A prepared XA transaction is held until its XA COMMIT and published then,
// after the transactions that committed meanwhile, as one transaction
// committed at the XA COMMIT; an XA ROLLBACK publishes nothing. The
// positions passed meanwhile list it.
func TestReaderXA(t *testing.T) {
	r, out := newTestReader(t, "mariadb-gtid:0-1-9;binlog.000001:4")
	feed(t, r, xaBinlog(orderTableMap())...)
	x1 := ";xa-from=0-1-9;xa=X'7831',X'',1@0-1-10"
	sameLines(t, "messages", messages(out), []string{
		"heartbeat mariadb-gtid:0-1-10;binlog.000001:264" + x1,
		"begin 0-1-11",
		"c 0-1-11 #1 id=3 gtid=0-1-11 xid=<nil>",
		"commit 0-1-11 mariadb-gtid:0-1-11;binlog.000001:457" + x1,
		"begin 0-1-12",
		"c 0-1-12 #1 id=1 gtid=0-1-12 xid=X'7831',X'',1",
		"c 0-1-12 #2 id=2 gtid=0-1-12 xid=X'7831',X'',1",
		"commit 0-1-12 mariadb-gtid:0-1-12;binlog.000001:559",
		"heartbeat mariadb-gtid:0-1-13;binlog.000001:819;xa-from=0-1-12;xa=X'7832',X'6231',7@0-1-13",
		"heartbeat mariadb-gtid:0-1-14;binlog.000001:921",
		"begin 0-1-15",
		"c 0-1-15 #1 id=5 gtid=0-1-15 xid=<nil>",
		"commit 0-1-15 mariadb-gtid:0-1-15;binlog.000001:1114",
	})
	if r.xaBytes != 0 || len(r.xa) != 0 {
		t.Errorf("%d bytes held for %d transactions after all resolved", r.xaBytes, len(r.xa))
	}
}

// Resuming from a position taken between XA PREPARE and XA COMMIT (with
// another transaction published meanwhile) re-reads the prepared group,
// skips the published transaction, and publishes the XA transaction once, at
// its XA COMMIT; every checkpoint in between keeps listing it.
func TestReaderXAResume(t *testing.T) {
	tm := orderTableMap()
	cp := "mariadb-gtid:0-1-11;binlog.000001:457;xa-from=0-1-9;xa=X'7831',X'',1@0-1-10"
	r, out := newTestReader(t, cp)
	if got := r.pos(r.reached).String(); got != cp {
		t.Fatalf("position before reading %s, want %s", got, cp)
	}
	groups := xaBinlog(tm)
	feed(t, r, groups[0], groups[1])
	sameLines(t, "messages while re-reading", messages(out), nil)
	if got := r.pos(r.reached).String(); got != cp {
		t.Errorf("position after re-reading %s, want %s", got, cp)
	}
	feed(t, r, groups[2:4]...)
	sameLines(t, "messages after", messages(out), []string{
		"begin 0-1-12",
		"c 0-1-12 #1 id=1 gtid=0-1-12 xid=X'7831',X'',1",
		"c 0-1-12 #2 id=2 gtid=0-1-12 xid=X'7831',X'',1",
		"commit 0-1-12 mariadb-gtid:0-1-12;binlog.000001:559",
		"heartbeat mariadb-gtid:0-1-13;binlog.000001:819;xa-from=0-1-12;xa=X'7832',X'6231',7@0-1-13",
	})
	if r.skip != nil {
		t.Error("still skipping after the resume position")
	}

	// A resume between x2's prepare and its rollback: nothing to publish.
	r, out = newTestReader(t, "mariadb-gtid:0-1-13;binlog.000001:819;xa-from=0-1-12;xa=X'7832',X'6231',7@0-1-13")
	feed(t, r, groups[3:]...)
	sameLines(t, "messages after a resume before a rollback", messages(out), []string{
		"heartbeat mariadb-gtid:0-1-14;binlog.000001:921",
		"begin 0-1-15",
		"c 0-1-15 #1 id=5 gtid=0-1-15 xid=<nil>",
		"commit 0-1-15 mariadb-gtid:0-1-15;binlog.000001:1114",
	})
}

// A resume whose pending prepared group is not in the binlog read again
// stops, naming the xid, instead of publishing the commit without its rows.
func TestReaderXAResumeMissingGroup(t *testing.T) {
	groups := xaBinlog(orderTableMap())
	// The position claims x1 was prepared in 0-1-8, which is not re-read.
	r, _ := newTestReader(t, "mariadb-gtid:0-1-11;binlog.000001:457;xa-from=0-1-9;xa=X'7831',X'',1@0-1-8")
	var err error
	for _, g := range groups[:3] {
		for _, e := range g {
			if err = r.handle(context.Background(), e, false); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "X'7831',X'',1") {
		t.Fatalf("got %v, want an error naming the xid", err)
	}
}

// An XA COMMIT of a transaction prepared before the connector's first
// position cannot be published: the stream stops and says so.
func TestReaderXACommitUnknown(t *testing.T) {
	groups := xaBinlog(orderTableMap())
	r, _ := newTestReader(t, "mariadb-gtid:0-1-11;binlog.000001:457")
	var err error
	for _, e := range groups[2] {
		if err = r.handle(context.Background(), e, false); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "X'7831',X'',1") || !strings.Contains(err.Error(), "not read") {
		t.Fatalf("got %v", err)
	}
}

// Past Config.MaxXABytes a prepared transaction's changes are dropped: its
// XA COMMIT stops the stream (ErrXATooLarge), nothing of it published.
func TestReaderXATooLarge(t *testing.T) {
	r, out := newTestReader(t, "mariadb-gtid:0-1-9;binlog.000001:4")
	r.src.cfg.MaxXABytes = 10
	groups := xaBinlog(orderTableMap())
	feed(t, r, groups[:2]...)
	var err error
	for _, e := range groups[2] {
		if err = r.handle(context.Background(), e, false); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "X'7831',X'',1") {
		t.Fatalf("got %v, want ErrXATooLarge naming the xid", err)
	}
	for _, m := range messages(out) {
		if strings.Contains(m, "xid=X'7831'") {
			t.Errorf("published %s", m)
		}
	}
}

func TestParseXID(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"X'7831',X'',1", "X'7831',X'',1"},
		{"'x1'", "X'7831',X'',1"},
		{"'x1','b1',7", "X'7831',X'6231',7"},
		{" x'7831' , X'6231' , -3 ", "X'7831',X'6231',-3"},
	} {
		x, err := parseXID(c.in)
		if err != nil || x.String() != c.want {
			t.Errorf("parseXID(%q) = %v, %v; want %s", c.in, x, err, c.want)
		}
	}
	for _, s := range []string{"", "x1", "X'7'", "X'zz'", "'', 'a'", "'a',", "'a','b',x", "'a' b"} {
		if x, err := parseXID(s); err == nil {
			t.Errorf("parseXID(%q) accepted: %v", s, x)
		}
	}
}

// Two MariaDB domains: the resume covers each domain until its own GTID of
// the position is read again.
func TestReaderXAResumeDomains(t *testing.T) {
	tm := orderTableMap()
	b := &events{pos: 4}
	gtid := func(domain uint32, seq uint64, flags byte) *replication.BinlogEvent {
		return b.ev(replication.MARIADB_GTID_EVENT, 42, &replication.MariadbGTIDEvent{GTID: gomysql.MariadbGTID{DomainID: domain, ServerID: 1, SequenceNumber: seq}, Flags: flags})
	}
	tx := func(domain uint32, seq uint64, id uint64) []*replication.BinlogEvent {
		return []*replication.BinlogEvent{gtid(domain, seq, 0), b.ev(replication.TABLE_MAP_EVENT, 70, tm),
			b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(id)), b.ev(replication.XID_EVENT, 31, &replication.XIDEvent{})}
	}
	groups := [][]*replication.BinlogEvent{
		{gtid(0, 10, flPreparedXA), b.ev(replication.TABLE_MAP_EVENT, 70, tm), b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(1)),
			b.query("XA END X'7831',X'',1"), b.xaPrepareEvent("x1", "", 1, false)},
		tx(1, 6, 2),
		tx(0, 11, 3),
		tx(1, 7, 4),
		{gtid(0, 12, replication.BINLOG_MARIADB_FL_STANDALONE|flCompletedXA), b.query("XA COMMIT X'7831',X'',1")},
	}
	// The first run, for the checkpoint after group 2 (0-1-11).
	r, out := newTestReader(t, "mariadb-gtid:0-1-9,1-1-5")
	feed(t, r, groups[:3]...)
	var cp string
	for _, m := range messagesRaw(out) {
		if m.Commit != nil {
			cp = m.Commit.Pos.String()
		}
	}
	if want := "mariadb-gtid:0-1-11,1-1-6;binlog.000001:650;xa-from=0-1-9,1-1-5;xa=X'7831',X'',1@0-1-10"; cp != want {
		t.Fatalf("checkpoint %s, want %s", cp, want)
	}
	r, out = newTestReader(t, cp)
	feed(t, r, groups...)
	sameLines(t, "messages after the resume", messages(out), []string{
		"begin 1-1-7",
		"c 1-1-7 #1 id=4 gtid=1-1-7 xid=<nil>",
		"commit 1-1-7 mariadb-gtid:0-1-11,1-1-7;binlog.000001:843;xa-from=0-1-9,1-1-5;xa=X'7831',X'',1@0-1-10",
		"begin 0-1-12",
		"c 0-1-12 #1 id=1 gtid=0-1-12 xid=X'7831',X'',1",
		"commit 0-1-12 mariadb-gtid:0-1-12,1-1-7;binlog.000001:945",
	})
}

// MySQL without GTIDs (file positions): the resume skips by binlog offset.
func TestReaderXAResumeFile(t *testing.T) {
	tm := orderTableMap()
	b := &events{pos: 4}
	anon := func() *replication.BinlogEvent {
		return b.ev(replication.ANONYMOUS_GTID_EVENT, 65, &replication.GTIDEvent{})
	}
	tx := func(id uint64) []*replication.BinlogEvent {
		return []*replication.BinlogEvent{anon(), b.query("BEGIN"), b.ev(replication.TABLE_MAP_EVENT, 70, tm),
			b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(id)), b.ev(replication.XID_EVENT, 31, &replication.XIDEvent{})}
	}
	groups := [][]*replication.BinlogEvent{
		{anon(), b.query("XA START X'7831',X'',1"), b.ev(replication.TABLE_MAP_EVENT, 70, tm), b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(1)),
			b.query("XA END X'7831',X'',1"), b.xaPrepareEvent("x1", "", 1, false)},
		tx(2),
		tx(3),
		{anon(), b.query("XA COMMIT X'7831',X'',1")},
		{anon(), b.query("XA START X'7832',X'',1"), b.ev(replication.TABLE_MAP_EVENT, 70, tm), b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(5)),
			b.query("XA END X'7832',X'',1"), b.xaPrepareEvent("x2", "", 1, true)}, // XA COMMIT ... ONE PHASE
	}
	r, out := newTestReader(t, "file:binlog.000001:4")
	feed(t, r, groups[:2]...)
	var cp string
	for _, m := range messagesRaw(out) {
		if m.Commit != nil {
			cp = m.Commit.Pos.String()
		}
	}
	if want := "file:binlog.000001:623;xa-from=binlog.000001:4;xa=X'7831',X'',1@binlog.000001:4"; cp != want {
		t.Fatalf("checkpoint %s, want %s", cp, want)
	}
	r, out = newTestReader(t, cp)
	feed(t, r, groups...)
	sameLines(t, "messages after the resume", messages(out), []string{
		"begin binlog.000001:623",
		"c binlog.000001:623 #1 id=3 gtid=<nil> xid=<nil>",
		"commit binlog.000001:623 file:binlog.000001:899;xa-from=binlog.000001:4;xa=X'7831',X'',1@binlog.000001:4",
		"begin binlog.000001:899",
		"c binlog.000001:899 #1 id=1 gtid=<nil> xid=X'7831',X'',1",
		"commit binlog.000001:899 file:binlog.000001:1024",
		"begin binlog.000001:1024",
		"c binlog.000001:1024 #1 id=5 gtid=<nil> xid=X'7832',X'',1",
		"commit binlog.000001:1024 file:binlog.000001:1367",
	})
}

// MySQL GTIDs: the resume skips the transactions in the position's GTID set.
func TestReaderXAResumeMySQL(t *testing.T) {
	tm := orderTableMap()
	b := &events{pos: 4}
	const sid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	sidBytes, _ := uuid.MustParse(sid).MarshalBinary()
	gtid := func(gno int64) *replication.BinlogEvent {
		return b.ev(replication.GTID_EVENT, 65, &replication.GTIDEvent{SID: sidBytes, GNO: gno})
	}
	tx := func(gno int64, id uint64) []*replication.BinlogEvent {
		return []*replication.BinlogEvent{gtid(gno), b.query("BEGIN"), b.ev(replication.TABLE_MAP_EVENT, 70, tm),
			b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(id)), b.ev(replication.XID_EVENT, 31, &replication.XIDEvent{})}
	}
	groups := [][]*replication.BinlogEvent{
		{gtid(5), b.query("XA START X'7831',X'',1"), b.ev(replication.TABLE_MAP_EVENT, 70, tm), b.rows(replication.WRITE_ROWS_EVENTv1, tm, xaRow(1)),
			b.query("XA END X'7831',X'',1"), b.xaPrepareEvent("x1", "", 1, false)},
		tx(6, 2),
		tx(7, 3),
		{gtid(8), b.query("XA COMMIT X'7831',X'',1")},
	}
	r, out := newTestReader(t, "mysql-gtid:"+sid+":1-4")
	feed(t, r, groups[:2]...)
	var cp string
	for _, m := range messagesRaw(out) {
		if m.Commit != nil {
			cp = m.Commit.Pos.String()
		}
	}
	if want := "mysql-gtid:" + sid + ":1-6;binlog.000001:"; !strings.HasPrefix(cp, want) || !strings.HasSuffix(cp, ";xa-from="+sid+":1-4;xa=X'7831',X'',1@"+sid+":5") {
		t.Fatalf("checkpoint %s", cp)
	}
	r, out = newTestReader(t, cp)
	// The server sends what the re-read point lacks: from GTID 5 on.
	feed(t, r, groups...)
	got := messages(out)
	want := []string{
		"begin " + sid + ":7",
		"c " + sid + ":7 #1 id=3 gtid=" + sid + ":7 xid=<nil>",
		"commit " + sid + ":7 ",
		"begin " + sid + ":8",
		"c " + sid + ":8 #1 id=1 gtid=" + sid + ":8 xid=X'7831',X'',1",
		"commit " + sid + ":8 mysql-gtid:" + sid + ":1-8;",
	}
	for i := range got {
		if i < len(want) && strings.HasPrefix(got[i], "commit ") {
			got[i] = got[i][:min(len(got[i]), len(want[i]))]
		}
	}
	sameLines(t, "messages after the resume", got, want)
}
