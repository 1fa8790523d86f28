//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// One source transaction writes to 20 tables whose topics do not exist yet:
// creating them must not stall the Kafka transaction for seconds per topic
// (franz-go waited for its next metadata refresh, about 5 s, before the
// first record of a new topic could be sent).
func TestPostgresNewTopicsAreFast(t *testing.T) {
	const tables = 20
	name := uniq("pgnewtopics")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name)
	for i := 0; i < tables; i++ {
		pgExec(t, db, fmt.Sprintf("CREATE TABLE %s.t%d (id int PRIMARY KEY)", name, i))
	}
	dropSlotAtEnd(t, db, name, name)
	cfg := writeConfig(t, pgConfig(name, "  batch:\n    linger: 0s\n"))
	p := startCDC(t, cfg)
	waitStreaming(t, p)
	c := newConsumer(t, "^"+name+`\.`)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cdc log:\n%s", p.Log())
		}
	})

	var b strings.Builder
	b.WriteString("BEGIN;")
	for i := 0; i < tables; i++ {
		fmt.Fprintf(&b, "INSERT INTO %s.t%d VALUES (1);", name, i)
	}
	b.WriteString("COMMIT")
	start := time.Now()
	pgExec(t, db, b.String())
	c.atLeast(tables, 60*time.Second)
	took := time.Since(start)
	t.Logf("%d new topics: events visible after %v", tables, took)
	// Generous (the machine is shared): the old code took over 8 s here.
	if took > 6*time.Second {
		t.Errorf("a transaction over %d new topics took %v to become visible, want well under 6s", tables, took)
	}
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
