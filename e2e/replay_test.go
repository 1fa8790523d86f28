//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// positionRow is one line of `cdc positions -json`.
type positionRow struct {
	Seq         uint64    `json:"seq"`
	Time        time.Time `json:"time"`
	Position    string    `json:"position"`
	Records     int       `json:"records"`
	ReplayUntil string    `json:"replay_until"`
	Current     bool      `json:"current"`
}

// positions runs `cdc positions -json -limit 0` and returns the history,
// newest first.
func positions(t *testing.T, cfg string) []positionRow {
	t.Helper()
	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "positions", "-c", cfg, "-json", "-limit", "0")
	if code != 0 {
		t.Fatalf("cdc positions: exit %d; stderr:\n%s", code, stderr)
	}
	var rows []positionRow
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if line == "" {
			continue
		}
		var r positionRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("cdc positions -json line %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// pgWaitSlotConfirmed waits until the slot has confirmed lsn (the connector
// acknowledges at its status interval).
func pgWaitSlotConfirmed(t *testing.T, slot, lsn string) {
	t.Helper()
	db := pgConnect(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok bool
		if err := db.QueryRow(context.Background(), "SELECT confirmed_flush_lsn >= $2::pg_lsn FROM pg_replication_slots WHERE slot_name = $1", slot, lsn).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot %s did not confirm %s within 30s", slot, lsn)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The history lists every committed checkpoint, newest first, with no gap
// in the sequence, the newest being the current checkpoint; -limit cuts it.
func TestPositionsList(t *testing.T) {
	name := uniq("pgpositions")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	dropSlotAtEnd(t, db, name, name)
	p, cfg := pgStartCDC(t, name, "  batch:\n    linger: 0s\n")
	p.logOnFailure()
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	for i := 1; i <= 3; i++ {
		pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (%d)", name, i))
		c.atLeast(i, 60*time.Second)
	}
	// It reads beside the running instance without disturbing it.
	if rows := positions(t, cfg); len(rows) == 0 {
		t.Fatal("no history while running")
	}
	p.stopOK()

	rows := positions(t, cfg)
	if len(rows) < 4 { // the start, three transactions
		t.Fatalf("%d checkpoints in the history, want at least 4: %+v", len(rows), rows)
	}
	withRecords := 0
	for i, r := range rows {
		if want := rows[0].Seq - uint64(i); r.Seq != want {
			t.Fatalf("row %d has seq %d, want %d (newest first, none missing): %+v", i, r.Seq, want, rows)
		}
		if i > 0 && r.Time.After(rows[i-1].Time) {
			t.Errorf("seq %d committed after seq %d", r.Seq, rows[i-1].Seq)
		}
		if r.Current != (i == 0) {
			t.Errorf("seq %d current=%v", r.Seq, r.Current)
		}
		if r.Records > 0 {
			withRecords++
		}
	}
	if rows[len(rows)-1].Seq != 1 {
		t.Errorf("oldest seq %d, want 1", rows[len(rows)-1].Seq)
	}
	if withRecords < 3 {
		t.Errorf("%d checkpoints with records, want one per inserting transaction (3): %+v", withRecords, rows)
	}
	// The current checkpoint is the newest history entry.
	cps := checkpoints(t, name)
	if len(cps) == 0 {
		t.Fatalf("no checkpoint of %s in the checkpoint topic", name)
	}
	var cur struct {
		Seq      uint64 `json:"seq"`
		Position string `json:"position"`
	}
	if err := json.Unmarshal(cps[len(cps)-1], &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Seq != rows[0].Seq || cur.Position != rows[0].Position {
		t.Errorf("checkpoint topic has seq %d at %s, history's newest seq %d at %s", cur.Seq, cur.Position, rows[0].Seq, rows[0].Position)
	}

	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "positions", "-c", cfg, "-limit", "2")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("checkpoint seq %d at %s", cur.Seq, cur.Position)) ||
		!strings.Contains(stdout, fmt.Sprintf("(2 of %d,", len(rows))) || strings.Count(stdout, "\n") != 8 ||
		!regexp.MustCompile(`(?m)^`+name+`\.t +initial +done `).MatchString(stdout) {
		t.Errorf("cdc positions -limit 2: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("cdc positions -limit 2:\n%s", stdout)
}

// positions set -seq to an older checkpoint on MariaDB: the next run sends
// exactly the changes after it again, marked cdc.replay, and then new
// changes unmarked; nothing else twice.
func TestMySQLPositionsSetReplays(t *testing.T) {
	name := uniq("myreplay")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY, v int)")
	p, cfg := myStartCDC(t, name, "  batch:\n    linger: 0s\n")
	p.logOnFailure()
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	const n = 6
	for i := 1; i <= n; i++ {
		myExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (%d, %d)", name, i, i*10))
	}
	es := c.atLeast(n, 60*time.Second)
	p.stopOK()

	// The checkpoint right after the third insert: its transaction id is
	// the GTID the position ends with.
	var gtid string
	for _, e := range es {
		if env := e.env(t); fmt.Sprint(env.After["id"]) == "3" {
			gtid = env.Transaction.ID
		}
	}
	rows := positions(t, cfg)
	var seq uint64
	for _, r := range rows {
		if strings.HasPrefix(r.Position, "mariadb-gtid:"+gtid+";") || r.Position == "mariadb-gtid:"+gtid {
			seq = r.Seq // rows are newest first: the last match is the first checkpoint there
		}
	}
	if seq == 0 {
		t.Fatalf("no checkpoint at GTID %s in the history: %+v", gtid, rows)
	}
	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "positions", "set", "-c", cfg, "-seq", fmt.Sprint(seq), "-dry-run")
	if code != 0 || !strings.Contains(stdout, "dry run: nothing written") || !strings.Contains(stdout, "re-emits the changes after") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if again := positions(t, cfg); again[0].Seq != rows[0].Seq {
		t.Fatalf("the dry run wrote a checkpoint: seq %d, was %d", again[0].Seq, rows[0].Seq)
	}
	code, stdout, stderr = runCDC(t, 60*time.Second, nil, "positions", "set", "-c", cfg, "-seq", fmt.Sprint(seq))
	if code != 0 || !strings.Contains(stdout, "wrote checkpoint seq") || !strings.Contains(stdout, "the server still has binlog file") {
		t.Fatalf("positions set: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("positions set:\n%s", stdout)
	moved := positions(t, cfg)[0]
	if moved.Seq != rows[0].Seq+1 || moved.ReplayUntil != rows[0].Position {
		t.Fatalf("moved checkpoint %+v, want seq %d replaying until %s", moved, rows[0].Seq+1, rows[0].Position)
	}

	p = startCDC(t, cfg)
	p.logOnFailure()
	waitStreaming(t, p)
	waitLog(t, p, "replay done")
	myExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (%d, %d)", name, n+1, (n+1)*10))
	const want = n + (n - 3) + 1
	es = c.atLeast(want, 60*time.Second)
	es = c.settle(2 * time.Second)
	p.stopOK()
	if len(es) != want {
		t.Fatalf("%d events, want %d (%d, the %d after the checkpoint again, 1 new)", len(es), want, n, n-3)
	}
	var got []string
	for _, e := range es {
		id := fmt.Sprint(e.env(t).After["id"])
		if e.Headers["cdc.replay"] == "true" {
			id += "r"
		}
		got = append(got, id)
	}
	// Partitions interleave; compare per key order.
	perID := map[string][]string{}
	for _, g := range got {
		id := strings.TrimSuffix(g, "r")
		perID[id] = append(perID[id], g)
	}
	wantPer := map[string][]string{"1": {"1"}, "2": {"2"}, "3": {"3"}, "4": {"4", "4r"}, "5": {"5", "5r"}, "6": {"6", "6r"}, "7": {"7"}}
	if fmt.Sprint(perID) != fmt.Sprint(wantPer) {
		t.Fatalf("events per id %v, want %v", perID, wantPer)
	}
	// A replay keeps the event's schema headers as they were.
	for _, e := range es {
		if e.Headers["cdc.replay"] != "true" {
			continue
		}
		if e.Headers["cdc.schema.version"] == "" {
			t.Errorf("replayed %s has no schema version header: %v", e.Key, e.Headers)
		}
		for k, v := range e.Headers {
			if k == "cdc.replay" || !strings.HasPrefix(k, "cdc.") {
				continue
			}
			var orig string
			for _, o := range es {
				if o.Key == e.Key && o.Headers["cdc.replay"] == "" {
					orig = o.Headers[k]
				}
			}
			if orig != v {
				t.Errorf("replayed %s header %s=%q, original %q", e.Key, k, v, orig)
			}
		}
	}
	if last := positions(t, cfg)[0]; last.ReplayUntil != "" {
		t.Errorf("after the replay the checkpoint still carries the bound: %+v", last)
	}
}

// positions set to a position whose binlog file was purged is refused,
// naming the file and the alternatives, and changes nothing.
func TestMySQLPositionsSetPurgedRefused(t *testing.T) {
	name := uniq("mysetpurge")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY)", "FLUSH BINARY LOGS")
	first := currentBinlogFile(t, db)
	p, cfg := myStartCDC(t, name, "  batch:\n    linger: 0s\n")
	p.logOnFailure()
	myExec(t, db, "INSERT INTO "+name+".t VALUES (1)")
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	c.atLeast(1, 60*time.Second)
	p.stopOK()
	rows := positions(t, cfg)
	oldest := rows[len(rows)-1]
	if !strings.Contains(oldest.Position, ";"+first+":") {
		t.Fatalf("the first checkpoint %s is not in binlog file %s", oldest.Position, first)
	}

	myExec(t, db, "FLUSH BINARY LOGS", "INSERT INTO "+name+".t VALUES (2)", "FLUSH BINARY LOGS")
	purgeBinlogs(t, db)

	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "positions", "set", "-c", cfg, "-seq", fmt.Sprint(oldest.Seq))
	if code != 1 {
		t.Errorf("exit code %d, want 1; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	assertOneLineError(t, stderr, "purged")
	for _, want := range []string{first, "cdc snapshot", "snapshot.mode: when_needed", "choose a later position"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error does not mention %q:\n%s", want, stderr)
		}
	}
	t.Log(strings.TrimSpace(stderr))
	if now := positions(t, cfg); now[0].Seq != rows[0].Seq {
		t.Errorf("a refused move wrote a checkpoint: seq %d, was %d", now[0].Seq, rows[0].Seq)
	}
	// cdc run -from refuses the same way, before streaming anything.
	code, _, stderr = runCDC(t, 60*time.Second, nil, "run", "-c", cfg, "-from", oldest.Position)
	if code != 1 || !strings.Contains(stderr, first) || !strings.Contains(stderr, "cdc snapshot") {
		t.Errorf("run -from a purged position: exit %d\n%s", code, stderr)
	}
}

// On Postgres a logical slot never goes back before its confirmed
// position: moving there is refused with that reason and the snapshot
// alternative; moving to the slot's position itself is allowed.
func TestPostgresPositionsSetBeforeSlotRefused(t *testing.T) {
	name := uniq("pgsetslot")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	dropSlotAtEnd(t, db, name, name)
	p, cfg := pgStartCDC(t, name, "  batch:\n    linger: 0s\n")
	p.logOnFailure()
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	for i := 1; i <= 3; i++ {
		pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (%d)", name, i))
	}
	c.atLeast(3, 60*time.Second)
	rows := positions(t, cfg)
	pgWaitSlotConfirmed(t, name, rows[0].Position)
	p.stopOK()
	rows = positions(t, cfg)
	var older positionRow
	for _, r := range rows {
		if r.Position != rows[0].Position {
			older = r
			break
		}
	}
	if older.Seq == 0 {
		t.Fatalf("no older position in the history: %+v", rows)
	}

	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "positions", "set", "-c", cfg, "-seq", fmt.Sprint(older.Seq))
	if code != 1 {
		t.Errorf("exit code %d, want 1; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"cannot go back before its confirmed position", "has confirmed", "cdc snapshot", "snapshot.mode: when_needed", older.Position} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error does not mention %q:\n%s", want, stderr)
		}
	}
	t.Log(strings.TrimSpace(stderr))
	if now := positions(t, cfg); now[0].Seq != rows[0].Seq {
		t.Errorf("a refused move wrote a checkpoint: seq %d, was %d", now[0].Seq, rows[0].Seq)
	}
	// The slot's confirmed position (the current checkpoint) is allowed.
	code, stdout, stderr = runCDC(t, 60*time.Second, nil, "positions", "set", "-c", cfg, "-position", rows[0].Position, "-dry-run")
	if code != 0 || !strings.Contains(stdout, "same position") {
		t.Errorf("moving to the slot's position: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// A running connector is seen and the move refused; once it stopped, the
// same command goes through.
func TestPositionsSetRefusedWhileRunning(t *testing.T) {
	name := uniq("pgsetrunning")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	dropSlotAtEnd(t, db, name, name)
	p, cfg := pgStartCDC(t, name, "  batch:\n    linger: 0s\n")
	p.logOnFailure()
	c := newConsumer(t, "^"+name+`\.`+name+`\.`)
	pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (1)", name))
	c.atLeast(1, 60*time.Second)
	cur := positions(t, cfg)[0]

	for _, args := range [][]string{
		{"positions", "set", "-c", cfg, "-position", cur.Position, "-dry-run"},
		{"positions", "set", "-c", cfg, "-seq", fmt.Sprint(cur.Seq)},
		{"run", "-c", cfg, "-from", cur.Position},
	} {
		code, _, stderr := runCDC(t, 60*time.Second, nil, args...)
		if code != 1 || !strings.Contains(stderr, "is running (pid ") || !strings.Contains(stderr, "stop it first") {
			t.Errorf("%v beside a running connector: exit %d, want 1 saying it runs; stderr:\n%s", args, code, stderr)
		}
	}
	if p.exited() {
		t.Fatalf("the refused commands stopped the running connector; log:\n%s", p.Log())
	}
	pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (2)", name))
	c.atLeast(2, 60*time.Second)
	p.stopOK()

	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "positions", "set", "-c", cfg, "-position", positions(t, cfg)[0].Position, "-dry-run")
	if code != 0 {
		t.Errorf("after the stop: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
