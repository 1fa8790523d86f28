//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The steps of an order's life: one database transaction each, writing the
// orders row and one outbox event with aggregate_version 1..4.
var orderSteps = []struct{ status, eventType string }{
	{"created", "OrderCreated"},
	{"paid", "OrderPaid"},
	{"shipped", "OrderShipped"},
	{"cancelled", "OrderCancelled"},
}

// outboxWrite is one outbox event as the service committed it.
type outboxWrite struct {
	id, eventType string
	version       int
	payload       string // JSON
}

// orderService is the demo service: workers goroutines each own perWorker
// orders and walk them through orderSteps in random interleaving, writing
// the orders row and the outbox event in one transaction per step. Odd
// workers delete their outbox row in the same transaction right after
// inserting it (keeping the table empty); the connector must still publish
// the event and ignore the delete. It remembers what committed.
type orderService struct {
	aggType   string // unique per run, so topics do not collide across runs
	workers   int
	perWorker int
	pause     time.Duration // up to this long between steps
	// step writes one step in one transaction: the orders row (insert for
	// the first step, else update) and the outbox event (deleted at once
	// when del is set).
	step func(ctx context.Context, worker int, orderID int64, status string, ev outboxWrite, del bool) error

	mu        sync.Mutex
	committed map[string][]outboxWrite // aggregate id -> events in commit order
}

func aggregateID(orderID int64) string { return "o-" + strconv.FormatInt(orderID, 10) }

func (s *orderService) orders() int { return s.workers * s.perWorker }

// run writes every step of every order, the workers concurrently, and
// returns the first error.
func (s *orderService) run(ctx context.Context) error {
	s.committed = map[string][]outboxWrite{}
	errs := make(chan error, s.workers)
	var wg sync.WaitGroup
	for w := range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.worker(ctx, w)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *orderService) worker(ctx context.Context, w int) error {
	rng := rand.New(rand.NewPCG(uint64(w), 99))
	next := map[int64]int{} // order id -> next step
	for j := range s.perWorker {
		next[int64(w*1000+j+1)] = 0
	}
	for len(next) > 0 {
		ids := make([]int64, 0, len(next))
		for id := range next {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		id := ids[rng.IntN(len(ids))]
		step := next[id]
		ev := outboxWrite{
			id: uuid.NewString(), eventType: orderSteps[step].eventType, version: step + 1,
			payload: fmt.Sprintf(`{"order_id": %d, "status": %q, "lines": [{"sku": "sku-%d", "qty": %d}], "note": "zażółć \"gęślą\""}`,
				id, orderSteps[step].status, id%7, step+1),
		}
		if err := s.step(ctx, w, id, orderSteps[step].status, ev, w%2 == 1); err != nil {
			return fmt.Errorf("worker %d, order %d, step %d: %w", w, id, step+1, err)
		}
		s.mu.Lock()
		s.committed[aggregateID(id)] = append(s.committed[aggregateID(id)], ev)
		s.mu.Unlock()
		if next[id] = step + 1; next[id] == len(orderSteps) {
			delete(next, id)
		}
		if s.pause > 0 {
			time.Sleep(time.Duration(rng.Int64N(int64(s.pause))))
		}
	}
	return nil
}

// pgOrderSteps writes steps into <schema>.orders and <schema>.outbox_event
// (jsonb payload), one connection per worker.
func pgOrderSteps(t *testing.T, schema, aggType string, workers int) func(context.Context, int, int64, string, outboxWrite, bool) error {
	conns := make([]*pgx.Conn, workers)
	for i := range conns {
		conns[i] = pgConnect(t)
	}
	return func(ctx context.Context, w int, orderID int64, status string, ev outboxWrite, del bool) error {
		return pgx.BeginFunc(ctx, conns[w], func(tx pgx.Tx) error {
			var err error
			if ev.version == 1 {
				_, err = tx.Exec(ctx, "INSERT INTO "+schema+".orders (id, status, version) VALUES ($1, $2, 1)", orderID, status)
			} else {
				_, err = tx.Exec(ctx, "UPDATE "+schema+".orders SET status = $2, version = $3 WHERE id = $1", orderID, status, ev.version)
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+schema+".outbox_event (id, aggregate_type, aggregate_id, aggregate_version, event_type, payload) VALUES ($1, $2, $3, $4, $5, $6)",
				ev.id, aggType, aggregateID(orderID), ev.version, ev.eventType, ev.payload); err != nil {
				return err
			}
			if del {
				_, err = tx.Exec(ctx, "DELETE FROM "+schema+".outbox_event WHERE id = $1", ev.id)
			}
			return err
		})
	}
}

// pgOrderTables creates the service's tables in a new schema.
func pgOrderTables(t *testing.T, db *pgx.Conn, schema string) {
	pgExec(t, db,
		"CREATE SCHEMA "+schema,
		"CREATE TABLE "+schema+".orders (id bigint PRIMARY KEY, status text NOT NULL, version int NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
		"CREATE TABLE "+schema+".outbox_event (id uuid PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text NOT NULL, aggregate_version bigint NOT NULL,"+
			" event_type text NOT NULL, payload jsonb, created_at timestamptz NOT NULL DEFAULT now())",
	)
}

// myOrderSteps is pgOrderSteps for MariaDB (the JSON payload is a JSON
// column, which MariaDB stores as LONGTEXT).
func myOrderSteps(db *sql.DB, database, aggType string) func(context.Context, int, int64, string, outboxWrite, bool) error {
	return func(ctx context.Context, w int, orderID int64, status string, ev outboxWrite, del bool) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if ev.version == 1 {
			_, err = tx.ExecContext(ctx, "INSERT INTO "+database+".orders (id, status, version) VALUES (?, ?, 1)", orderID, status)
		} else {
			_, err = tx.ExecContext(ctx, "UPDATE "+database+".orders SET status = ?, version = ? WHERE id = ?", status, ev.version, orderID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+database+".outbox_event (id, aggregate_type, aggregate_id, aggregate_version, event_type, payload) VALUES (?, ?, ?, ?, ?, ?)",
			ev.id, aggType, aggregateID(orderID), ev.version, ev.eventType, ev.payload); err != nil {
			return err
		}
		if del {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+database+".outbox_event WHERE id = ?", ev.id); err != nil {
				return err
			}
		}
		return tx.Commit()
	}
}

// outboxDone reports whether every committed event and every orders row
// change has arrived.
func (s *orderService) outboxDone(es []event, ordersTopic string) bool {
	events, rows := 0, 0
	for _, e := range es {
		switch e.Topic {
		case s.aggType + ".events":
			events++
		case ordersTopic:
			rows++
		}
	}
	n := s.orders() * len(orderSteps)
	return events >= n && rows >= n
}

// verify checks the per-aggregate topic and the orders topic: every
// committed event exactly once, keyed by aggregate id, in aggregate_version
// order, with its payload as JSON and its headers; every orders row change
// exactly once.
func (s *orderService) verify(t *testing.T, es []event, ordersTopic string, extraHeader string) {
	t.Helper()
	topic := s.aggType + ".events"
	got := byKey(es, topic)
	if len(got) != s.orders() {
		t.Errorf("%s: %d keys, want %d aggregates", topic, len(got), s.orders())
	}
	total := 0
	for agg, want := range s.committed {
		evs := got[agg]
		total += len(evs)
		if len(evs) != len(want) {
			t.Errorf("aggregate %s: %d events, want %d", agg, len(evs), len(want))
			continue
		}
		partition := evs[0].Partition
		for i, e := range evs {
			w := want[i]
			h := e.Headers
			if h["aggregateVersion"] != strconv.Itoa(w.version) || h["eventType"] != w.eventType || h["id"] != w.id {
				t.Errorf("aggregate %s event %d: version %s type %s id %s; want %d %s %s (events out of order or wrong)",
					agg, i, h["aggregateVersion"], h["eventType"], h["id"], w.version, w.eventType, w.id)
			}
			if h["aggregateType"] != s.aggType || h["cdc.tx.id"] == "" || h["cdc.source.position"] == "" {
				t.Errorf("aggregate %s event %d: headers %v", agg, i, h)
			}
			if _, ok := h[extraHeader]; extraHeader != "" && !ok {
				t.Errorf("aggregate %s event %d: no %s header: %v", agg, i, extraHeader, h)
			}
			if a, ok := h["cdc.version.anomaly"]; ok {
				t.Errorf("aggregate %s event %d: flagged %s", agg, i, a)
			}
			if e.Partition != partition {
				t.Errorf("aggregate %s: events on partitions %d and %d", agg, partition, e.Partition)
			}
			var gotV, wantV any
			if err := json.Unmarshal(e.Value, &gotV); err != nil {
				t.Errorf("aggregate %s event %d: value is not JSON: %v: %s", agg, i, err, e.Value)
			}
			json.Unmarshal([]byte(w.payload), &wantV)
			if !reflect.DeepEqual(gotV, wantV) {
				t.Errorf("aggregate %s event %d: value %s, want %s", agg, i, e.Value, w.payload)
			}
		}
	}
	if n := len(byKeyAll(es, topic)); n != total {
		t.Errorf("%s: %d records, %d committed events", topic, n, total)
	}

	rows := byKey(es, ordersTopic)
	for agg := range s.committed {
		id, _ := strconv.ParseInt(agg[2:], 10, 64)
		key := fmt.Sprintf(`{"id":%d}`, id)
		if ops := summary(t, rows[key]); fmt.Sprint(ops) != "[c u u u]" {
			t.Errorf("orders row %s: %v, want [c u u u]", key, ops)
		}
	}
	if len(rows) != s.orders() {
		t.Errorf("%s: %d keys, want %d", ordersTopic, len(rows), s.orders())
	}
}

func byKeyAll(es []event, topic string) []event {
	var out []event
	for _, e := range es {
		if e.Topic == topic {
			out = append(out, e)
		}
	}
	return out
}

// killCycles SIGKILLs and restarts the connector n times at random points
// while write runs, and returns the last connector started (running).
func killCycles(t *testing.T, cfg string, p *proc, n int, seed uint64) *proc {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	for i := range n {
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		if p.exited() {
			t.Fatalf("cycle %d: connector exited by itself; log:\n%s", i, p.Log())
		}
		p.kill()
		p = startCDC(t, cfg)
	}
	return p
}
