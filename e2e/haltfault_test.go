//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Faults after which cdc must halt (issue 13): going on would skip
// changes. Each test checks the documented message, and that what reached
// Kafka is exactly a prefix of what committed, nothing of it past the
// fault.

// The replication slot dropped under a streaming connector (its walsender
// terminated, then the slot dropped): cdc stops, exit 1, saying the slot
// does not exist any more. The restart (a supervisor's) does not start
// over from a new slot, which would skip every change since the
// checkpoint: cdc creates the slot, sees it starts after the checkpoint,
// and halts (exit 3), saying what to do. (Exit 1 first, not 3: with
// snapshot.mode when_needed the restart goes on by itself, snapshotting.)
func TestFaultPGSlotDropped(t *testing.T) {
	r := faultDBs[0].start(t, faultOpts{prefix: "slotdrop", extra: "  batch:\n    linger: 50ms\n"})
	r.p.logOnFailure()
	r.awaitProgress(t, 60*time.Second)
	time.Sleep(time.Second) // some changes streamed, not only the seed
	r.awaitProgress(t, 60*time.Second)
	slot, _, _ := strings.Cut(r.topics, ".")
	db := pgConnect(t)
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := db.Exec(ctx, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL", slot); err != nil {
			t.Fatal(err)
		}
		_, err := db.Exec(ctx, "SELECT pg_drop_replication_slot($1)", slot)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "is active") || time.Now().After(deadline) {
			t.Fatalf("dropping slot %s: %v", slot, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	limit := r.book.snapshot()
	if code := r.p.waitExit(60 * time.Second); code != 1 {
		t.Fatalf("slot dropped: exit code %d, want 1; log:\n%s", code, r.p.Log())
	}
	assertOneLineError(t, r.p.Log(), "does not exist any more (was it dropped?)")
	r.stopWriting()
	r.book.verifyHalted(t, r.c.settle(2*time.Second), r.topics, limit)

	p := startCDC(t, r.cfg)
	p.logOnFailure()
	if code := p.waitExit(60 * time.Second); code != 3 {
		t.Fatalf("restart without the slot: exit code %d, want 3 (halted); log:\n%s", code, p.Log())
	}
	assertOneLineError(t, p.Log(), "did not exist when cdc started (was it dropped?), so cdc created it")
	for _, want := range []string{"snapshot.mode: when_needed", "delete this connector's checkpoint"} {
		if !strings.Contains(p.Log(), want) {
			t.Errorf("restart without the slot: the message does not say %q:\n%s", want, p.Log())
		}
	}
	r.book.verifyHalted(t, r.c.settle(2*time.Second), r.topics, limit)
}

// A connector whose checkpoint was written from one server, started with
// source.dsn pointing at another that holds the same tables (a restored
// copy, a replica promoted without telling cdc, a wrong DSN), on both
// databases: cdc halts at start (exit 3), naming both servers, and emits
// nothing. Resuming at the checkpoint's position on another server would
// skip or invent changes.
func TestFaultOtherServer(t *testing.T) {
	for _, db := range faultDBs {
		t.Run(db.name, func(t *testing.T) {
			r := db.start(t, faultOpts{prefix: "othersrv", extra: "  batch:\n    linger: 50ms\n"})
			r.p.logOnFailure()
			r.awaitProgress(t, 60*time.Second)
			r.finish(t)
			before := len(r.c.settle(time.Second))

			db.other(t, r)
			p := startCDC(t, r.cfg)
			p.logOnFailure()
			if code := p.waitExit(60 * time.Second); code != 3 {
				t.Fatalf("pointed at another server: exit code %d, want 3 (halted); log:\n%s", code, p.Log())
			}
			assertOneLineError(t, p.Log(), "server")
			if !strings.Contains(p.Log(), "belongs to") || !strings.Contains(p.Log(), "but source.dsn points at") {
				t.Errorf("the message does not name both servers:\n%s", p.Log())
			}
			if after := len(r.c.settle(2 * time.Second)); after != before {
				t.Errorf("%d events arrived after the connector was pointed at another server, want none", after-before)
			}
		})
	}
}
