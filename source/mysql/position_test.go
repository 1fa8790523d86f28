package mysql

import (
	"os"
	"strings"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/google/uuid"
)

// The checkpoint text form is a stored format: changing it breaks resuming
// from checkpoints written by older versions. The golden file pins it.
func TestPositionGolden(t *testing.T) {
	sid := uuid.MustParse("3E11FA47-71CA-11E1-9E33-C80AA9429562")
	mysqlSet, err := parseMySQLGTIDSet("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,0b4c7a1e-0000-4000-8000-000000000001:1-100")
	if err != nil {
		t.Fatal(err)
	}
	emptyMySQL, _ := parseMySQLGTIDSet("")
	maria := Position{kind: kindMariaDB}.withMariaDBGTID(gomysql.MariadbGTID{DomainID: 0, ServerID: 1, SequenceNumber: 42})
	cases := []Position{
		FilePosition("binlog.000003", 1234),
		FilePosition("binlog.000001", 4),
		FilePosition("mysql-bin.1000000", 4294967295),
		FilePosition("host:with:colons-bin.000007", 0),
		maria,
		maria.withFile("binlog.000003", 2485),
		maria.withMariaDBGTID(gomysql.MariadbGTID{DomainID: 10, ServerID: 3, SequenceNumber: 7}).
			withMariaDBGTID(gomysql.MariadbGTID{DomainID: 2, ServerID: 2, SequenceNumber: 18446744073709551615}).
			withMariaDBGTID(gomysql.MariadbGTID{DomainID: 0, ServerID: 1, SequenceNumber: 43}),
		{kind: kindMariaDB},
		{kind: kindMariaDB, file: "binlog.000001", offset: 4},
		{kind: kindMySQL, mysql: mysqlSet},
		Position{kind: kindMySQL, mysql: mysqlSet}.withMySQLGTID(sid, gomysql.Tag{}, 6).withFile("binlog.000012", 157),
		{kind: kindMySQL, mysql: emptyMySQL},
		// Pending prepared XA transactions.
		maria.withFile("binlog.000003", 2485).withXA(Position{kind: kindMariaDB}.withMariaDBGTID(gomysql.MariadbGTID{DomainID: 0, ServerID: 1, SequenceNumber: 30}).withFile("binlog.000002", 9),
			[]xaPending{{xid: "X'7831',X'',1", id: "0-1-31"}, {xid: "X'7832',X'6231',7", id: "0-1-40"}}),
		{kind: kindMariaDB, xaFrom: &Position{kind: kindMariaDB}, xaPending: []xaPending{{xid: "X'7831',X'',1", id: "0-1-1"}}},
		Position{kind: kindMySQL, mysql: mysqlSet}.withXA(Position{kind: kindMySQL, mysql: emptyMySQL},
			[]xaPending{{xid: "X'7831',X'',-1", id: "3e11fa47-71ca-11e1-9e33-c80aa9429562:5"}}),
		FilePosition("binlog.000003", 1234).withXA(FilePosition("binlog.000002", 400),
			[]xaPending{{xid: "X'7831',X'',1", id: "binlog.000002:400"}, {xid: "X'7832',X'',1", id: "binlog.000003:4"}}),
	}
	var b strings.Builder
	for _, p := range cases {
		text, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		b.Write(text)
		b.WriteByte('\n')
		back, err := ParsePosition(string(text))
		if err != nil {
			t.Fatalf("parsing %q: %v", text, err)
		}
		if back.String() != string(text) {
			t.Fatalf("round trip of %q gives %q", text, back.String())
		}
	}
	want, err := os.ReadFile("testdata/position.golden")
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatalf("text form changed:\n got %q\nwant %q", b.String(), want)
	}
}

func TestParsePositionAccepts(t *testing.T) {
	cases := []struct{ in, want string }{
		// MariaDB GTIDs in any order come back sorted by domain.
		{"mariadb-gtid:10-1-5,2-1-9", "mariadb-gtid:2-1-9,10-1-5"},
		// MySQL GTID sets are normalised.
		{"mysql-gtid:3E11FA47-71CA-11E1-9E33-C80AA9429562:3-4:1-2", "mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4"},
		{"mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:mytag:1-2", "mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:mytag:1-2"},
	}
	for _, c := range cases {
		p, err := ParsePosition(c.in)
		if err != nil {
			t.Errorf("ParsePosition(%q): %v", c.in, err)
			continue
		}
		if p.String() != c.want {
			t.Errorf("ParsePosition(%q) = %q, want %q", c.in, p.String(), c.want)
		}
	}
}

func TestParsePositionRejects(t *testing.T) {
	for _, s := range []string{
		"", "binlog.000003:4", "file:", "file:binlog.000003", "file:binlog.000003:", "file::4",
		"file:binlog:4", "file:binlog.:4", "file:.000001:4", "file:binlog.00x:4", "file:binlog.000003:04",
		"file:binlog.000003:-4", "file:binlog.000003:+4", "file:binlog.000003:4294967296",
		"file:binlog.0000000000000000001:4", "file:bin\nlog.000001:4", "file:a;b.000001:4",
		"mariadb-gtid:0-1", "mariadb-gtid:0-1-2-3", "mariadb-gtid:0-1-x", "mariadb-gtid:01-1-2",
		"mariadb-gtid:0-1-2,0-2-3", "mariadb-gtid:0-0-0", "mariadb-gtid:4294967296-1-1", "mariadb-gtid:0-1-2,",
		"mariadb-gtid:0-1-2;", "mariadb-gtid:0-1-2;binlog.000001", "mariadb-gtid: 0-1-2",
		"mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562", "mysql-gtid:nope:1-2",
		"mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:5-1", "mysql-gtid: 3e11fa47-71ca-11e1-9e33-c80aa9429562:1",
		"mysql-gtid:{3e11fa47-71ca-11e1-9e33-c80aa9429562}:1", "mysql-gtid:3e11fa4771ca11e19e33c80aa9429562:1",
		"gtid:0-1-2", "FILE:binlog.000001:4", "file:bin\xfflog.000001:4",
		// XA parts.
		"mariadb-gtid:0-1-2;xa-from=0-1-1", "mariadb-gtid:0-1-2;xa=X'7831',X'',1@0-1-2",
		"mariadb-gtid:0-1-2;xa-from=0-1-1;xa='x1'@0-1-2", "mariadb-gtid:0-1-2;xa-from=0-1-1;xa=X'7831',X'',1",
		"mariadb-gtid:0-1-2;xa-from=0-1-1;xa=X'7831',X'',1@0-1-2;xa=X'7831',X'',1@0-1-3",
		"mariadb-gtid:0-1-2;xa-from=0-1-1;xa=X'7831',X'',1@0-1-2,1-1-1", "mariadb-gtid:0-1-2;xa-from=x;xa=X'7831',X'',1@0-1-2",
		"mariadb-gtid:0-1-2;xa-from=0-1-1;xa=X'7831',X'',1@0-1-2;binlog.000001:4",
		"mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5;xa-from=;xa=X'7831',X'',1@3e11fa47-71ca-11e1-9e33-c80aa9429562:1-2",
		"file:binlog.000001:4;xa-from=binlog.000001:4;xa=X'7831',X'',1@0-1-2", "file:xa-from=b.000001:4",
	} {
		if p, err := ParsePosition(s); err == nil {
			t.Errorf("ParsePosition(%q) accepted: %v", s, p)
		}
	}
}

// Binlog file order is numeric, not lexical: the server goes from
// binlog.999999 to binlog.1000000.
func TestFileOrder(t *testing.T) {
	a, _ := ParsePosition("file:binlog.999999:500")
	b, _ := ParsePosition("file:binlog.1000000:4")
	if a.binlogPos().Compare(b.binlogPos()) != -1 {
		t.Fatalf("%v must sort before %v", a, b)
	}
}

func TestAdvance(t *testing.T) {
	p, err := ParsePosition("mariadb-gtid:0-1-5,3-1-2")
	if err != nil {
		t.Fatal(err)
	}
	q := p.withMariaDBGTID(gomysql.MariadbGTID{DomainID: 1, ServerID: 9, SequenceNumber: 1}).withFile("binlog.000002", 99)
	if got := q.String(); got != "mariadb-gtid:0-1-5,1-9-1,3-1-2;binlog.000002:99" {
		t.Errorf("advanced position %q", got)
	}
	if p.String() != "mariadb-gtid:0-1-5,3-1-2" {
		t.Errorf("advancing changed the original: %q", p)
	}
	m, _ := ParsePosition("mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5")
	n := m.withMySQLGTID(uuid.MustParse("3e11fa47-71ca-11e1-9e33-c80aa9429562"), gomysql.Tag{}, 6)
	if n.String() != "mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-6" || m.String() != "mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5" {
		t.Errorf("advanced %q from %q", n, m)
	}
}

func FuzzParsePosition(f *testing.F) {
	for _, s := range []string{
		"file:binlog.000003:1234", "mariadb-gtid:0-1-42,1-2-7;binlog.000003:1234", "mariadb-gtid:",
		"mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7", "mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:t:1-5;b.1:4",
		"file:x.1:0", "", "mariadb-gtid:0-0-0", "mariadb-gtid:0-1-2;xa-from=0-1-1;xa=X'7831',X'',1@0-1-2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePosition(s)
		if err != nil {
			return
		}
		// Whatever parses must round-trip to the same text form, and its
		// file part must be comparable without go-mysql panicking.
		text := p.String()
		back, err := ParsePosition(text)
		if err != nil || back.String() != text {
			t.Fatalf("%q parsed to %q, which gives %q, %v", s, text, back.String(), err)
		}
		if p.file != "" {
			p.binlogPos().Compare(FilePosition("binlog.000001", 4).binlogPos())
		}
	})
}
