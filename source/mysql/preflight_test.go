package mysql

import (
	"testing"

	"github.com/cdc-go/cdc/source"
)

func mustPos(t *testing.T, s string) Position {
	t.Helper()
	p, err := ParsePosition(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReached(t *testing.T) {
	const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	for _, tc := range []struct {
		p, q string
		want bool
	}{
		{"mariadb-gtid:0-1-42", "mariadb-gtid:0-1-42", true},
		{"mariadb-gtid:0-1-43;binlog.000003:900", "mariadb-gtid:0-1-42;binlog.000004:4", true}, // the file part is informational
		{"mariadb-gtid:0-1-41", "mariadb-gtid:0-1-42", false},
		{"mariadb-gtid:0-1-50", "mariadb-gtid:0-1-42,1-1-3", false}, // a domain p has not seen
		{"mariadb-gtid:0-1-50,1-1-3", "mariadb-gtid:0-1-42,1-1-3", true},
		{"mysql-gtid:" + uuid + ":1-10", "mysql-gtid:" + uuid + ":1-9", true},
		{"mysql-gtid:" + uuid + ":1-9", "mysql-gtid:" + uuid + ":1-10", false},
		{"file:binlog.999999:4", "file:binlog.1000000:4", false},
		{"file:binlog.1000000:4", "file:binlog.999999:900", true},
		{"file:binlog.000003:100", "file:binlog.000003:100", true},
		{"file:binlog.000003:100", "mariadb-gtid:0-1-1", false}, // other form
	} {
		if got := mustPos(t, tc.p).Reached(mustPos(t, tc.q)); got != tc.want {
			t.Errorf("%s reached %s = %v, want %v", tc.p, tc.q, got, tc.want)
		}
	}
}

func TestCoversTx(t *testing.T) {
	const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	for _, tc := range []struct {
		p, id string
		want  bool
	}{
		{"mariadb-gtid:0-1-42", "0-1-42", true}, // the transaction that ends there
		{"mariadb-gtid:0-1-42", "0-1-43", false},
		{"mariadb-gtid:0-1-42", "0-2-40", true}, // same domain, another server: seq decides
		{"mariadb-gtid:0-1-42", "1-1-1", false},
		{"mysql-gtid:" + uuid + ":1-5", uuid + ":5", true},
		{"mysql-gtid:" + uuid + ":1-5", uuid + ":6", false},
		{"file:binlog.000003:1000", "binlog.000003:900", true}, // starts before the end
		{"file:binlog.000003:1000", "binlog.000003:1000", false},
		{"file:binlog.000003:1000", "binlog.000002:99999", true},
		{"file:binlog.000003:1000", "0-1-1", false},
	} {
		if got := mustPos(t, tc.p).CoversTx(tc.id); got != tc.want {
			t.Errorf("%s covers %s = %v, want %v", tc.p, tc.id, got, tc.want)
		}
	}
	var o Order
	if !o.Covers(mustPos(t, "mariadb-gtid:0-1-42"), &source.Begin{TxID: "0-1-40"}) || o.Covers(mustPos(t, "mariadb-gtid:0-1-42"), &source.Begin{TxID: "0-1-44"}) {
		t.Error("Order.Covers disagrees with CoversTx")
	}
}
