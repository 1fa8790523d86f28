package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// A commit answered INVALID_TXN_STATE (Kafka 4's transaction protocol: the
// coordinator aborted our transaction for a newer instance, then took our
// commit for a retry of that end) committed nothing and can never commit:
// it is fencing within the transaction timeout, a timeout after it, and
// never a plain error to retry.
func TestCommitAnsweredInvalidTxnState(t *testing.T) {
	answer := fmt.Errorf("ending transaction: %w", kerr.InvalidTxnState)
	err := wrapTxn("committing kafka transaction", commitAnswer(answer), time.Second, 10*time.Second)
	if !errors.Is(err, ErrFenced) || errors.Is(err, ErrTransactionTimeout) || !strings.Contains(err.Error(), "INVALID_TXN_STATE") {
		t.Errorf("within the timeout: %v; want ErrFenced naming the answer", err)
	}
	err = wrapTxn("committing kafka transaction", commitAnswer(answer), 11*time.Second, 10*time.Second)
	if !errors.Is(err, ErrTransactionTimeout) || errors.Is(err, ErrFenced) {
		t.Errorf("after the timeout: %v; want ErrTransactionTimeout", err)
	}
	if err := commitAnswer(kerr.CoordinatorNotAvailable); isFenced(err) {
		t.Errorf("another answer became fencing: %v", err)
	}
}

func TestRetriable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"dial refused", fmt.Errorf("committing kafka transaction: unable to dial: %w", dial), true},
		{"connection reset", fmt.Errorf("flushing: %w", syscall.ECONNRESET), true},
		{"eof", fmt.Errorf("flushing: %w", io.EOF), true},
		{"request timed out", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"unreachable", fmt.Errorf("connecting: %w: boom", ErrUnreachable), true},
		{"retriable broker code", fmt.Errorf("x: %w", kerr.CoordinatorNotAvailable), true},
		{"commit not attempted", fmt.Errorf("x: %w", kerr.OperationNotAttempted), true},
		{"concurrent transactions (an abort being written)", fmt.Errorf("x: %w", kerr.ConcurrentTransactions), true},
		{"stop requested", fmt.Errorf("x: %w", context.Canceled), false},
		{"fenced", wrap("committing kafka transaction", kerr.ProducerFenced), false},
		{"aborted by coordinator", wrapTxn("committing kafka transaction", commitAnswer(kerr.InvalidTxnState), time.Second, 10*time.Second), false},
		{"transaction timeout", wrapTxn("committing kafka transaction", kerr.ProducerFenced, 11*time.Second, 10*time.Second), true},
		{"record too large", fmt.Errorf("writing: %w", ErrRecordTooLarge), false},
		{"authorization", fmt.Errorf("x: %w", kerr.TopicAuthorizationFailed), false},
		{"plain", errors.New("encoding position"), false},
	} {
		if got := Retriable(tc.err); got != tc.want {
			t.Errorf("%s: Retriable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
