package kafka

import (
	"errors"
	"fmt"
	"strings"
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
