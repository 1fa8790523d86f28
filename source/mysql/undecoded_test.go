package mysql

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/cdc-go/cdc/source"
)

// Events captured from MariaDB 10.11 (binlog_checksum CRC32) for
//
//	CREATE TABLE probe.r (id int PRIMARY KEY, s varchar(20));
//	INSERT INTO probe.r VALUES (1, 'hello');
const (
	capturedFDE      = "88250f6b0f01000000fc000000000100000000040031302e31312e31392d4d6172696144422d302b646562313275312d6c6f6700000000000000000000000000000000000000000000000013380d000800120004040404120000e400041a08000000080808020000000a0a0a0000000000000a0a0a0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000041304000d0808080a0a0a0148d924c1"
	capturedTableMap = "88250f6b130100000040000000cc020000000026000000000001000570726f62650001720002030f0250000201010002012d04050269640173080100c55af53d"
	capturedRows     = "88250f6b17010000002c000000f8020000000026000000000001000203fc010000000568656c6c6f75697f12"
)

// A rows event that fails to decode (here: a varchar length past the end
// of the event) becomes one change for the dead-letter topic with the
// reason, its position and GTID, and the raw rows event and table map, so
// that it can be decoded later. The stream goes on.
func TestUndecodableRowsEvent(t *testing.T) {
	out := make(chan source.Message, 10)
	start, _ := ParsePosition("mariadb-gtid:0-1-9;binlog.000004:4")
	r := &reader{
		src: &Source{cfg: Config{Tables: []string{"probe.*"}}, log: slog.New(slog.DiscardHandler), charset: newCharsets(), srv: server{flavor: FlavorMariaDB}},
		out: out, reached: start, file: "binlog.000004",
		tables: map[uint64]*tableEntry{}, cache: map[string]*cachedTable{}, captured: map[string]bool{},
	}
	p := replication.NewBinlogParser()
	p.SetFlavor("mariadb")
	p.SetRowsEventDecodeFunc(r.decodeRows)
	parse := func(h string) *replication.BinlogEvent {
		t.Helper()
		raw, _ := hex.DecodeString(h)
		ev, err := p.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	fde := parse(capturedFDE)
	parse(capturedTableMap)
	good := parse(capturedRows)
	if rows := good.Event.(*replication.RowsEvent).Rows; len(rows) != 1 || string(rows[0][1].(string)) != "hello" {
		t.Fatalf("the captured event decodes to %v", rows)
	}
	// The varchar's length byte (5, before "hello") becomes 200.
	corrupt := strings.Replace(capturedRows, "0568656c6c6f", "c868656c6c6f", 1)
	b := &events{pos: 600}
	evs := []*replication.BinlogEvent{fde, b.gtid(10, false), parse(capturedTableMap), parse(corrupt)}
	for _, e := range evs {
		if err := r.handle(context.Background(), e, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.handle(context.Background(), b.ev(replication.XID_EVENT, 31, &replication.XIDEvent{}), false); err != nil {
		t.Fatal(err)
	}
	close(out)
	var changes []*source.Change
	commits := 0
	for m := range out {
		if m.Change != nil {
			changes = append(changes, m.Change)
		}
		if m.Commit != nil {
			commits++
		}
	}
	if len(changes) != 1 || commits != 1 {
		t.Fatalf("%d changes and %d commits, want 1 and 1", len(changes), commits)
	}
	ch := changes[0]
	if ch.Err == nil || ch.Op != source.OpCreate || ch.After != nil || ch.Table.ID() != "probe.r" {
		t.Fatalf("change %+v", ch)
	}
	reason := ch.Err.Error()
	for _, want := range []string{"decoding rows event for probe.r at file:binlog.000004:716", "binlog_event"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q does not say %q", reason, want)
		}
	}
	if len(reason) > maxDecodeReason+300 {
		t.Errorf("reason of %d bytes: the raw bytes travel in the source block, not in the reason", len(reason))
	}
	rawRows, _ := hex.DecodeString(corrupt)
	rawTM, _ := hex.DecodeString(capturedTableMap)
	if got, _ := ch.Meta.Get("binlog_event").([]byte); !bytes.Equal(got, rawRows) {
		t.Errorf("binlog_event: %x", got)
	}
	if got, _ := ch.Meta.Get("binlog_table_map").([]byte); !bytes.Equal(got, rawTM) {
		t.Errorf("binlog_table_map: %x", got)
	}
	if ch.Meta.Get("gtid") != "0-1-10" || ch.Meta.Get("file") != "binlog.000004" || ch.Meta.Get("pos") != int64(716) {
		t.Errorf("position in meta: %v", ch.Meta)
	}

	// What was kept decodes again: with the table map first, the repaired
	// event gives the row.
	p2 := replication.NewBinlogParser()
	p2.SetFlavor("mariadb")
	parse2 := func(raw []byte) *replication.BinlogEvent {
		ev, err := p2.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	rawFDE, _ := hex.DecodeString(capturedFDE)
	parse2(rawFDE)
	parse2(ch.Meta.Get("binlog_table_map").([]byte))
	fixed := bytes.Replace(ch.Meta.Get("binlog_event").([]byte), []byte("\xc8hello"), []byte("\x05hello"), 1)
	if rows := parse2(fixed).Event.(*replication.RowsEvent).Rows; len(rows) != 1 || rows[0][0] != int32(1) {
		t.Errorf("replayed rows: %v", rows)
	}
}
