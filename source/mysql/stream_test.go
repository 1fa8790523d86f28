package mysql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	pingcap "github.com/pingcap/errors"

	"github.com/cdc-go/cdc/source"
)

func TestClassify(t *testing.T) {
	reached, _ := ParsePosition("mariadb-gtid:0-1-42;binlog.000003:1234")
	r := &reader{src: &Source{cfg: Config{ServerID: 77, Name: "shop"}}, reached: reached}
	cases := []struct {
		name      string
		err       error
		transient bool
		is        error
		contains  []string
	}{
		{"binlog file purged", &gomysql.MyError{Code: 1236, Message: "Could not find first log file name in binary log index file"},
			false, ErrPositionPurged, []string{"0-1-42", "binlog.000003", `tombstone for key "shop"`, "delet"}},
		{"GTID purged (MariaDB)", &gomysql.MyError{Code: 1236, Message: "Could not find GTID state requested by slave in any binlog files. Probably the slave state is too old and required binlog files have been purged."},
			false, ErrPositionPurged, []string{"GTID position 0-1-42"}},
		{"GTID purged (MySQL)", &gomysql.MyError{Code: 1236, Message: "Cannot replicate because the source purged required binary logs."},
			false, ErrPositionPurged, nil},
		{"server_id taken", &gomysql.MyError{Code: 1236, Message: "A slave with the same server_uuid/server_id as this slave has connected to the master"},
			false, ErrServerIDConflict, []string{"source.server_id 77"}},
		{"other 1236", &gomysql.MyError{Code: 1236, Message: "Client requested master to start replication from position > file size"},
			false, nil, []string{"cannot send the binlog from mariadb-gtid:0-1-42"}},
		{"access denied", &gomysql.MyError{Code: 1045, Message: "Access denied"}, false, nil, nil},
		{"connection killed", &gomysql.MyError{Code: 1927, Message: "Connection was killed"}, true, nil, nil},
		{"EOF through pingcap's Trace", pingcap.Trace(io.EOF), true, nil, nil},
		{"bad connection", pingcap.Trace(gomysql.ErrBadConn), true, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.classify(context.Background(), c.err)
			var te transientError
			if errors.As(err, &te) != c.transient {
				t.Fatalf("transient = %v, want %v (%v)", !c.transient, c.transient, err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%v does not wrap %v", err, c.is)
			}
			for _, s := range c.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not mention %q", err, s)
				}
			}
			// cdc has no snapshots: a way out must not promise one.
			if strings.Contains(err.Error(), "snapshot") {
				t.Errorf("%q suggests a snapshot, which cdc cannot take", err)
			}
		})
	}
}

// events builds binlog events with the header fields the reader reads.
type events struct {
	pos uint32
}

func (b *events) ev(t replication.EventType, size uint32, e replication.Event) *replication.BinlogEvent {
	b.pos += size
	return &replication.BinlogEvent{Header: &replication.EventHeader{EventType: t, ServerID: 1, EventSize: size, LogPos: b.pos, Timestamp: 1700000000}, Event: e}
}

func (b *events) gtid(seq uint64, standalone bool) *replication.BinlogEvent {
	e := &replication.MariadbGTIDEvent{GTID: gomysql.MariadbGTID{DomainID: 0, ServerID: 1, SequenceNumber: seq}}
	if standalone {
		e.Flags = replication.BINLOG_MARIADB_FL_STANDALONE
	}
	return b.ev(replication.MARIADB_GTID_EVENT, 42, e)
}

func (b *events) rows(t replication.EventType, tm *replication.TableMapEvent, rows ...[]any) *replication.BinlogEvent {
	return b.ev(t, 50, &replication.RowsEvent{TableID: tm.TableID, Table: tm, Rows: rows})
}

// The reader turns event groups into messages: DDL and transactions of
// uncaptured tables only advance the position, captured transactions are
// Begin, changes, Commit with the position after them.
func TestReaderTransactions(t *testing.T) {
	out := make(chan source.Message, 100)
	start, _ := ParsePosition("mariadb-gtid:0-1-9;binlog.000001:4")
	r := &reader{
		src: &Source{cfg: Config{Tables: []string{"shop.*"}}, log: slog.New(slog.DiscardHandler), charset: newCharsets(), srv: server{flavor: FlavorMariaDB}},
		out: out, reached: start, file: "binlog.000001",
		tables: map[uint64]*tableEntry{}, cache: map[string]*cachedTable{}, captured: map[string]bool{},
	}
	tm := orderTableMap()
	other := orderTableMap()
	other.Schema, other.TableID = []byte("other"), 7
	row := func(id uint64, status int64) []any {
		return []any{id, status, int64(0), nil, nil, nil, nil, nil, nil, nil, nil}
	}
	b := &events{pos: 4}
	evs := []*replication.BinlogEvent{
		b.gtid(10, true),
		b.ev(replication.QUERY_EVENT, 60, &replication.QueryEvent{Schema: []byte("shop"), Query: []byte("ALTER TABLE orders ADD x int")}),
		b.gtid(11, false),
		b.ev(replication.TABLE_MAP_EVENT, 70, tm),
		b.rows(replication.WRITE_ROWS_EVENTv1, tm, row(1, 1), row(2, 1)),
		b.rows(replication.UPDATE_ROWS_EVENTv1, tm, row(1, 1), row(1, 2)),
		b.ev(replication.XID_EVENT, 31, &replication.XIDEvent{}),
		b.gtid(12, false),
		b.ev(replication.TABLE_MAP_EVENT, 70, other),
		b.rows(replication.DELETE_ROWS_EVENTv1, other, row(5, 1)),
		b.ev(replication.XID_EVENT, 31, &replication.XIDEvent{}),
		b.gtid(13, false),
		b.ev(replication.TABLE_MAP_EVENT, 70, tm),
		b.rows(replication.DELETE_ROWS_EVENTv1, tm, row(2, 1)),
		b.ev(replication.QUERY_EVENT, 40, &replication.QueryEvent{Query: []byte("COMMIT")}),
	}
	for _, e := range evs {
		if err := r.handle(context.Background(), e, false); err != nil {
			t.Fatal(err)
		}
	}
	close(out)
	var got []string
	for m := range out {
		switch {
		case m.Begin != nil:
			got = append(got, "begin "+m.Begin.TxID)
		case m.Change != nil:
			ch := m.Change
			got = append(got, string(ch.Op)+" "+ch.Tx.ID+" "+ch.Table.ID()+" "+ch.Meta.Get("gtid").(string)+" "+ch.Pos.String())
		case m.Commit != nil:
			got = append(got, "commit "+m.Commit.TxID+" "+m.Commit.Pos.String())
		case m.Heartbeat != nil:
			got = append(got, "heartbeat "+m.Heartbeat.String())
		}
	}
	want := []string{
		"heartbeat mariadb-gtid:0-1-10;binlog.000001:106", // DDL: its own transaction
		"begin 0-1-11",
		"c 0-1-11 shop.orders 0-1-11 file:binlog.000001:218",
		"c 0-1-11 shop.orders 0-1-11 file:binlog.000001:218",
		"u 0-1-11 shop.orders 0-1-11 file:binlog.000001:268",
		"commit 0-1-11 mariadb-gtid:0-1-11;binlog.000001:349",
		"heartbeat mariadb-gtid:0-1-12;binlog.000001:542", // an uncaptured transaction (no throttle: StatusInterval 0)
		"begin 0-1-13",
		"d 0-1-13 shop.orders 0-1-13 file:binlog.000001:654",
		"commit 0-1-13 mariadb-gtid:0-1-13;binlog.000001:744",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if r.reached.String() != "mariadb-gtid:0-1-13;binlog.000001:744" {
		t.Errorf("reached %s", r.reached)
	}

	// A transaction whose commit never came must not silently merge with the next.
	b2 := &events{pos: 744}
	for _, e := range []*replication.BinlogEvent{b2.gtid(14, false), b2.ev(replication.TABLE_MAP_EVENT, 70, tm), b2.rows(replication.WRITE_ROWS_EVENTv1, tm, row(9, 1))} {
		r.out = make(chan source.Message, 10)
		if err := r.handle(context.Background(), e, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.handle(context.Background(), b2.gtid(15, false), false); err == nil {
		t.Error("a GTID event inside a sent transaction must fail")
	}
}

func TestLibErrorDropsStacks(t *testing.T) {
	withStack := errors.New("connection was bad\ngithub.com/x/y.init\n\t<autogenerated>:1\nio.ReadFull(header) failed. err EOF\ngithub.com/x/packet.(*Conn).ReadPacketTo\n\t/x/conn.go:12")
	got := libError(withStack)
	if got.Error() != "connection was bad: io.ReadFull(header) failed. err EOF" || !errors.Is(got, withStack) {
		t.Errorf("got %q", got)
	}
	traced := pingcap.Trace(pingcap.Wrapf(gomysql.ErrBadConn, "io.ReadFull(header) failed. err %v", io.EOF))
	if got := fmt.Sprintf("%+v", libError(traced)); got != "io.ReadFull(header) failed. err EOF: connection was bad" {
		t.Errorf("%%+v (as slog's text handler prints errors) gives %q", got)
	}
}
