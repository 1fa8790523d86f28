//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// checkpoints returns the committed checkpoint records of a connector, oldest first.
func checkpoints(t *testing.T, connector string) [][]byte {
	t.Helper()
	c := newConsumer(t, "^_cdc_checkpoints_e2e$")
	var out [][]byte
	for _, e := range c.drain(2 * time.Second) {
		if e.Key == connector && e.Value != nil {
			out = append(out, e.Value)
		}
	}
	return out
}

// rewindCheckpoint writes an older checkpoint value as the newest, which
// makes the next start replay from there.
func rewindCheckpoint(t *testing.T, connector string, value []byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "_cdc_checkpoints_e2e", Key: []byte(connector), Value: value}).FirstErr(); err != nil {
		t.Fatalf("rewinding checkpoint: %v", err)
	}
}

func TestMySQLSchemaVersions(t *testing.T) {
	name := uniq("myschema")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY, a int)")
	cfg := writeConfig(t, myConfig(name, newServerID(), "  batch:\n    linger: 20ms\n"))
	topic := name + "." + name + ".t"
	c := newSchemaConsumer(t, "^"+name+`\.`)
	rows := func(es []event) []event { return rowsByID(es, topic) }
	waitRows := func(n int) []event {
		t.Helper()
		return rows(c.until(60*time.Second, func(es []event) bool { return len(rows(es)) >= n }))
	}

	p := startCDC(t, cfg)
	waitStreaming(t, p)
	// The first checkpoint (the start position) is the replay point of part B.
	var first []byte
	for deadline := time.Now().Add(30 * time.Second); first == nil; {
		if cps := checkpoints(t, name); len(cps) > 0 {
			first = cps[0]
		} else if time.Now().After(deadline) {
			t.Fatal("no checkpoint written at start")
		}
	}

	// Part A: five shapes of t, and a table created and dropped mid-stream.
	myExec(t, db,
		"INSERT INTO "+name+".t VALUES (1, 10)",
		"ALTER TABLE "+name+".t ADD COLUMN b varchar(10)",
		"INSERT INTO "+name+".t VALUES (2, 20, '20')",
		"ALTER TABLE "+name+".t DROP COLUMN a",
		"INSERT INTO "+name+".t VALUES (3, '30')",
		"ALTER TABLE "+name+".t MODIFY b int",
		"INSERT INTO "+name+".t VALUES (4, 40)",
		"ALTER TABLE "+name+".t RENAME COLUMN b TO c",
		"INSERT INTO "+name+".t VALUES (5, 50)",
		"CREATE TABLE "+name+".t2 (id int PRIMARY KEY)",
		"INSERT INTO "+name+".t2 VALUES (1)",
		"DROP TABLE "+name+".t2",
	)
	es := waitRows(5)
	for i, e := range es {
		if v := versionOf(t, e); v != i+1 {
			t.Errorf("row %d carries schema version %d, want %d", i+1, v, i+1)
		}
	}
	p.stopOK()

	// Part B: replay from the first checkpoint.
	rewindCheckpoint(t, name, first)
	p = startCDC(t, cfg)
	es = waitRows(10)
	for i := 0; i < 5; i++ {
		if v := versionOf(t, es[2*i+1]); v != i+1 {
			t.Errorf("replayed row %d carries schema version %d, want its original %d", i+1, v, i+1)
		}
	}
	p.stopOK()

	// Part C: DDL while the connector is down.
	myExec(t, db, "ALTER TABLE "+name+".t ADD COLUMN d bool", "INSERT INTO "+name+".t VALUES (6, 60, true)")
	p = startCDC(t, cfg)
	es = waitRows(11)
	if v := versionOf(t, es[10]); v != 6 {
		t.Errorf("row after DDL while down: version %d, want 6", v)
	}

	// Part D: SIGKILL between a DDL and the next row.
	myExec(t, db, "ALTER TABLE "+name+".t ADD COLUMN e text")
	time.Sleep(500 * time.Millisecond) // let the connector read past the DDL
	p.kill()
	myExec(t, db, "INSERT INTO "+name+".t VALUES (7, 70, false, 'e')")
	p = startCDC(t, cfg)
	es = waitRows(12)
	if v := versionOf(t, es[11]); v != 7 {
		t.Errorf("row after DDL and SIGKILL: version %d, want 7", v)
	}
	all := c.settle(2 * time.Second)
	p.stopOK()

	checkSchemaHistory(t, all, name, map[int]string{2: "ADD COLUMN", 3: "DROP COLUMN", 4: "MODIFY", 5: "RENAME COLUMN"})
}
