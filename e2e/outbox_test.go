//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// outboxRoute routes <namespace>.outbox_event as outbox events with the
// created_at column as an extra header.
func outboxRoute(namespace, extra string) string {
	return fmt.Sprintf("routes:\n  - table: %s.outbox_event\n    outbox:\n      headers: [created_at]\n%s", namespace, extra)
}

// outboxTopics matches the per-aggregate topic and the connector's own.
func outboxTopics(aggType, name string) string {
	return "^(" + regexp.QuoteMeta(aggType) + `\.events|` + regexp.QuoteMeta(name) + `\..*)$`
}

func noDeadLetters(t *testing.T, es []event) {
	t.Helper()
	for _, e := range es {
		if strings.HasSuffix(e.Topic, ".DLT") {
			t.Errorf("dead letter on %s: %s (%v)", e.Topic, e.Headers["cdc.dlt.reason"], e.Headers)
		}
	}
}

// The demo: an order service writes orders rows and outbox events in one
// transaction per step, many aggregates concurrently; each aggregate's
// events arrive exactly once, in order, keyed by aggregate id, on the
// aggregate type's topic, and the orders table's topic gets its row events.
func TestOutboxOrderService(t *testing.T) {
	name := uniq("obx")
	db := pgConnect(t)
	pgOrderTables(t, db, name)
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "  batch:\n    linger: 30ms\n"+outboxRoute(name, ""))

	s := &orderService{aggType: uniq("order"), workers: 8, perWorker: 6}
	s.step = pgOrderSteps(t, name, s.aggType, s.workers)
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Updating an outbox row is a misuse: logged, not routed.
	pgExec(t, db, "UPDATE "+name+".outbox_event SET event_type = 'Tampered' WHERE id = (SELECT id FROM "+name+".outbox_event LIMIT 1)")

	ordersTopic := name + "." + name + ".orders"
	c := newConsumer(t, outboxTopics(s.aggType, name))
	c.until(60*time.Second, func(es []event) bool { return s.outboxDone(es, ordersTopic) })
	waitLog(t, p, "outbox row updated")
	es := c.settle(2 * time.Second)
	s.verify(t, es, ordersTopic, "created_at")
	noDeadLetters(t, es)
	for _, e := range es {
		if e.Topic == name+"."+name+".outbox_event" {
			t.Errorf("outbox table row event on its own topic: %s", e.Value)
		}
	}
	p.stopOK()
}

// The same while the connector is SIGKILLed and restarted a few times
// mid-stream: still every event exactly once and in order per aggregate.
func TestOutboxOrderServiceKillRestart(t *testing.T) {
	name := uniq("obxkill")
	db := pgConnect(t)
	pgOrderTables(t, db, name)
	dropSlotAtEnd(t, db, name, name)
	p, cfg := pgStartCDC(t, name, "  batch:\n    linger: 30ms\n    max_events: 50\n"+outboxRoute(name, ""))

	s := &orderService{aggType: uniq("order"), workers: 6, perWorker: 8, pause: 250 * time.Millisecond}
	s.step = pgOrderSteps(t, name, s.aggType, s.workers)
	werr := make(chan error, 1)
	go func() { werr <- s.run(context.Background()) }()
	p = killCycles(t, cfg, p, 5, 3)
	if err := <-werr; err != nil {
		t.Fatal(err)
	}

	ordersTopic := name + "." + name + ".orders"
	c := newConsumer(t, outboxTopics(s.aggType, name))
	c.until(90*time.Second, func(es []event) bool { return s.outboxDone(es, ordersTopic) })
	es := c.settle(3 * time.Second)
	s.verify(t, es, ordersTopic, "created_at")
	noDeadLetters(t, es)
	p.stopOK()
}

// Poison rows (a text payload that is not JSON, a NULL aggregate id) and an
// aggregate_version gap under version_check: dlt go to the dead-letter
// topic with their reasons and the original row, while the good rows
// around them, in the same transactions, flow. Then `cdc dlt replay`,
// after the fix (version_check: flag), delivers the gap event once with its
// original position, and lists the rows that still fail; a second replay
// replays nothing.
func TestOutboxPoisonRowsDLTReplay(t *testing.T) {
	name := uniq("obxdlt")
	aggType := uniq("order")
	db := pgConnect(t)
	pgExec(t, db,
		"CREATE SCHEMA "+name,
		"CREATE TABLE "+name+".outbox_event (id text PRIMARY KEY, aggregate_type text, aggregate_id text, aggregate_version int, event_type text, payload text)",
	)
	dropSlotAtEnd(t, db, name, name)
	config := func(check string) string {
		return pgConfig(name, "  batch:\n    linger: 20ms\n"+
			fmt.Sprintf("routes:\n  - table: %s.outbox_event\n    outbox:\n      version_check: %s\n", name, check))
	}
	cfg := writeConfig(t, config("dlt"))
	p := startCDC(t, cfg)
	waitStreaming(t, p)

	ins := func(id, aggID string, version int, payload string) string {
		agg := "'" + aggID + "'"
		if aggID == "" {
			agg = "NULL"
		}
		return fmt.Sprintf("INSERT INTO %s.outbox_event VALUES ('%s', '%s', %s, %d, 'E%d', '%s')", name, id, aggType, agg, version, version, payload)
	}
	pgExec(t, db,
		ins("a1", "A", 1, `{"n":1}`),
		ins("b1", "B", 1, `{"n":`), // not JSON
		"BEGIN",
		ins("a2", "A", 2, `{"n":2}`),
		ins("x1", "", 1, `{"n":0}`), // NULL aggregate id, between good rows of one transaction
		ins("c1", "C", 1, `["c"]`),
		"COMMIT",
		ins("a4", "A", 4, `{"n":4}`), // skips version 3
		ins("a5", "A", 5, `{"n":5}`),
	)

	topic, dlt := aggType+".events", name+"."+name+".outbox_event.DLT"
	c := newConsumer(t, outboxTopics(aggType, name))
	c.until(60*time.Second, func(es []event) bool { return len(byKeyAll(es, topic)) >= 4 && len(byKeyAll(es, dlt)) >= 3 })
	es := c.settle(2 * time.Second)
	versions := func(es []event, agg string) string {
		var v []string
		for _, e := range byKey(es, topic)[agg] {
			v = append(v, e.Headers["aggregateVersion"])
		}
		return strings.Join(v, ",")
	}
	if got := versions(es, "A"); got != "1,2,5" {
		t.Errorf("aggregate A versions %s, want 1,2,5", got)
	}
	if got := versions(es, "C"); got != "1" || string(byKey(es, topic)["C"][0].Value) != `["c"]` {
		t.Errorf("aggregate C: %s", got)
	}
	reasons := map[string]string{} // outbox id -> reason
	positions := map[string]string{}
	for _, e := range byKeyAll(es, dlt) {
		env := e.env(t)
		id := env.After["id"].(string)
		reasons[id] = e.Headers["cdc.dlt.reason"]
		positions[id] = e.Headers["cdc.dlt.position"]
		if e.Headers["cdc.dlt.topic"] != name+"."+name+".outbox_event" || e.Headers["cdc.dlt.tx"] == "" || positions[id] == "" || env.Op != "c" {
			t.Errorf("dead letter %s: headers %v op %s", id, e.Headers, env.Op)
		}
	}
	wantReasons := map[string]string{
		"b1": `payload column "payload": holds invalid JSON`,
		"x1": `aggregate_id column "aggregate_id" is NULL`,
		"a4": "version 4 after 2 (gap; version_check: dlt)",
	}
	if len(reasons) != len(wantReasons) {
		t.Errorf("dead letters %v, want %v", reasons, wantReasons)
	}
	for id, want := range wantReasons {
		if !strings.Contains(reasons[id], want) || !strings.HasPrefix(reasons[id], "routes[0]") {
			t.Errorf("dead letter %s: reason %q, want it to name the route and say %q", id, reasons[id], want)
		}
	}
	p.stopOK()

	// The fix: flag gaps instead of dead-lettering them. Replay.
	fixed := writeConfig(t, config("flag"))
	code, stdout, stderr := runCDC(t, 90*time.Second, nil, "dlt", "replay", "-c", fixed)
	if code != 1 || !strings.Contains(stdout, "replayed 1 dead-lettered rows as 1 records; 2 still fail") ||
		!strings.Contains(stdout, "holds invalid JSON") || !strings.Contains(stdout, `aggregate_id column "aggregate_id" is NULL`) ||
		!strings.Contains(stderr, "2 dead-lettered rows still fail") {
		t.Fatalf("replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	es = c.until(30*time.Second, func(es []event) bool { return len(byKey(es, topic)["A"]) >= 4 })
	replayed := byKey(es, topic)["A"][3]
	if replayed.Headers["aggregateVersion"] != "4" || replayed.Headers["cdc.dlt.original.position"] != positions["a4"] ||
		replayed.Headers["cdc.source.position"] != positions["a4"] || string(replayed.Value) != `{"n":4}` || string(replayed.Key) != "A" {
		t.Errorf("replayed event: key %s value %s headers %v; want version 4 at position %s", replayed.Key, replayed.Value, replayed.Headers, positions["a4"])
	}

	// Idempotent: a second run finds nothing new.
	code, stdout, stderr = runCDC(t, 90*time.Second, nil, "dlt", "replay", "-c", fixed)
	if code != 0 || !strings.Contains(stdout, "replayed 0 dead-lettered rows") {
		t.Fatalf("second replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	es = c.settle(2 * time.Second)
	if got := versions(es, "A"); got != "1,2,5,4" {
		t.Errorf("aggregate A after replays: versions %s, want 1,2,5,4", got)
	}
}

// pg_logical_emit_message: a service publishes its events in its
// transaction without an outbox table; they are routed like outbox rows.
func TestOutboxLogicalMessages(t *testing.T) {
	name := uniq("obxmsg")
	db := pgConnect(t)
	pgOrderTables(t, db, name)
	dropSlotAtEnd(t, db, name, name)
	p, _ := pgStartCDC(t, name, "  batch:\n    linger: 30ms\nmessages:\n  - prefix: outbox\n    headers: [trace]\n")

	s := &orderService{aggType: uniq("order"), workers: 4, perWorker: 5}
	conns := make([]*pgx.Conn, s.workers)
	for i := range conns {
		conns[i] = pgConnect(t)
	}
	s.step = func(ctx context.Context, w int, orderID int64, status string, ev outboxWrite, _ bool) error {
		return pgx.BeginFunc(ctx, conns[w], func(tx pgx.Tx) error {
			var err error
			if ev.version == 1 {
				_, err = tx.Exec(ctx, "INSERT INTO "+name+".orders (id, status, version) VALUES ($1, $2, 1)", orderID, status)
			} else {
				_, err = tx.Exec(ctx, "UPDATE "+name+".orders SET status = $2, version = $3 WHERE id = $1", orderID, status, ev.version)
			}
			if err != nil {
				return err
			}
			msg, _ := json.Marshal(map[string]any{
				"id": ev.id, "aggregate_type": s.aggType, "aggregate_id": aggregateID(orderID), "aggregate_version": ev.version,
				"event_type": ev.eventType, "payload": json.RawMessage(ev.payload), "trace": "t-" + strconv.Itoa(w),
			})
			_, err = tx.Exec(ctx, "SELECT pg_logical_emit_message(true, 'outbox', $1::text)", string(msg))
			return err
		})
	}
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A message the route cannot read goes to the dead-letter topic; other
	// prefixes keep the default message topic; non-transactional messages
	// are not captured.
	pgExec(t, db,
		`SELECT pg_logical_emit_message(true, 'outbox', '{"id":"bad","aggregate_type":"x","event_type":"E","payload":{}}')`,
		`SELECT pg_logical_emit_message(true, 'audit', 'login ann')`,
	)

	ordersTopic := name + "." + name + ".orders"
	c := newConsumer(t, outboxTopics(s.aggType, name))
	c.until(60*time.Second, func(es []event) bool {
		return s.outboxDone(es, ordersTopic) && len(byKeyAll(es, name+".message.DLT")) >= 1 && len(byKeyAll(es, name+".message")) >= 1
	})
	es := c.settle(2 * time.Second)
	s.verify(t, es, ordersTopic, "trace")
	dl := byKeyAll(es, name+".message.DLT")
	if len(dl) != 1 || !strings.Contains(dl[0].Headers["cdc.dlt.reason"], `messages[0]: message with prefix "outbox": aggregate_id field "aggregate_id" is missing`) {
		t.Errorf("dead letters %v", dl)
	}
	if m := byKeyAll(es, name+".message"); len(m) != 1 || m[0].Key != `"audit"` {
		t.Errorf("default message topic: %v", m)
	}
	p.stopOK()
}

// The order service on MariaDB, with SIGKILL/restart cycles mid-stream.
func TestOutboxMySQLOrderServiceKillRestart(t *testing.T) {
	name := uniq("myobx")
	db := myConnect(t)
	myDatabase(t, db, name)
	myExec(t, db,
		"CREATE TABLE "+name+".orders (id BIGINT PRIMARY KEY, status VARCHAR(32) NOT NULL, version INT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))",
		"CREATE TABLE "+name+".outbox_event (id CHAR(36) PRIMARY KEY, aggregate_type VARCHAR(64) NOT NULL, aggregate_id VARCHAR(64) NOT NULL,"+
			" aggregate_version BIGINT NOT NULL, event_type VARCHAR(64) NOT NULL, payload JSON, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))",
		"CREATE TABLE "+name+".warmup (id INT PRIMARY KEY)",
	)
	p, cfg := myStartCDC(t, name, "  batch:\n    linger: 30ms\n    max_events: 50\n"+outboxRoute(name, ""))
	// MySQL keeps no slot: kill only once a first checkpoint exists.
	myExec(t, db, "INSERT INTO "+name+".warmup VALUES (1)")
	c := newConsumer(t, "^"+name+`\.`+name+`\.warmup$`)
	c.atLeast(1, 60*time.Second)

	s := &orderService{aggType: uniq("order"), workers: 6, perWorker: 8, pause: 250 * time.Millisecond}
	s.step = myOrderSteps(db, name, s.aggType)
	werr := make(chan error, 1)
	go func() { werr <- s.run(context.Background()) }()
	p = killCycles(t, cfg, p, 5, 4)
	if err := <-werr; err != nil {
		t.Fatal(err)
	}

	ordersTopic := name + "." + name + ".orders"
	c = newConsumer(t, outboxTopics(s.aggType, name))
	c.until(90*time.Second, func(es []event) bool { return s.outboxDone(es, ordersTopic) })
	es := c.settle(3 * time.Second)
	s.verify(t, es, ordersTopic, "created_at")
	noDeadLetters(t, es)
	p.stopOK()
}
