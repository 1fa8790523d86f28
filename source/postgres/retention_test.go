package postgres

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// The server's refusal to stream from an invalidated slot becomes
// ErrSlotLost, whose message says that restarting does not help and what
// to do; other errors of the same SQLSTATE do not.
func TestSlotInvalidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		lost bool
	}{
		{"PostgreSQL 15", &pgconn.PgError{Code: "55000", Message: `cannot read from logical replication slot "s"`, Detail: "This slot has been invalidated because it exceeded the maximum reserved size."}, true},
		{"PostgreSQL 16", fmt.Errorf("starting: %w", &pgconn.PgError{Code: "55000", Message: `can no longer get changes from replication slot "s"`, Detail: "This slot has been invalidated because it exceeded the maximum reserved size."}), true},
		{"same code, other cause", &pgconn.PgError{Code: "55000", Message: "logical decoding requires wal_level >= logical"}, false},
		{"other code", &pgconn.PgError{Code: "42704", Message: `replication slot "s" does not exist`}, false},
		{"not a server error", errors.New("invalidated"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			detail, ok := isSlotInvalidated(tc.err)
			if ok != tc.lost {
				t.Fatalf("isSlotInvalidated = %v, want %v", ok, tc.lost)
			}
			if !ok {
				return
			}
			err := slotLostError("s", detail)
			if !errors.Is(err, ErrSlotLost) {
				t.Errorf("%v does not wrap ErrSlotLost", err)
			}
			for _, want := range []string{`replication slot "s" was invalidated`, "max_slot_wal_keep_size", "Restarting will not help", "pg_drop_replication_slot('s')", "snapshot.mode: when_needed"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
		})
	}
}
