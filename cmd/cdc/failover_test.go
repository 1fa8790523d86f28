package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/source/mysql"
)

// A checkpoint of another server resumes there only with source.failover
// gtid, a GTID position and the same flavor, and then at its GTIDs alone
// (the binlog file and offset are the old server's).
func TestFailoverPosition(t *testing.T) {
	old := source.Server{Type: "mariadb", ID: "1@db-a:3306"}
	cp := &kafka.Checkpoint{Server: old}
	pos := func(s string) source.Position {
		p, err := mysql.ParsePosition(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	gtid := pos("mariadb-gtid:0-1-42;binlog.000007:1234")
	for _, c := range []struct {
		name     string
		failover string
		here     source.Server
		from     source.Position
		want     string // the position, or the error's text
	}{
		{"not told", "", source.Server{Type: "mariadb", ID: "2@db-b:3306"}, gtid, "set source.failover: gtid"},
		{"told", config.FailoverGTID, source.Server{Type: "mariadb", ID: "2@db-b:3306"}, gtid, "mariadb-gtid:0-1-42"},
		{"another flavor", config.FailoverGTID, source.Server{Type: "mysql", ID: "uuid"}, gtid, "needs the same flavor"},
		{"a file position", config.FailoverGTID, source.Server{Type: "mariadb", ID: "2@db-b:3306"}, pos("file:binlog.000007:1234"), "not a GTID position"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &config.Config{Name: "shop", Source: config.Source{Type: config.SourceMySQL, Failover: c.failover}}
			got, err := failoverPosition(cfg, cp, c.here, c.from)
			if err != nil {
				if !errors.Is(err, errOtherServer) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), old.ID) {
					t.Fatalf("error %q: want errOtherServer naming %s and saying %q", err, old.ID, c.want)
				}
				return
			}
			if got.String() != c.want {
				t.Fatalf("position %s, want %s", got, c.want)
			}
		})
	}
}
