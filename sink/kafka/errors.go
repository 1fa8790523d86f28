package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

var (
	// ErrFenced reports that another Writer with the same transactional id
	// has started (or this producer's epoch was otherwise taken over): this
	// Writer can never commit again. The caller should exit; the newer
	// instance owns the connector.
	ErrFenced = errors.New("fenced by a newer instance with the same transactional id")

	// ErrTransactionTimeout reports that the open transaction was open
	// longer than Config.TransactionTimeout, so the broker aborted it (and
	// bumped the producer epoch, which it then reports as fencing). The
	// transaction can only be aborted: Abort (and so Recover) then makes a
	// new producer, unless the coordinator says another instance took the
	// transactional id meanwhile (then ErrFenced, see reopen). Retriable
	// reports true for it. When it recurs, the fix is a longer timeout or
	// smaller transactions.
	ErrTransactionTimeout = errors.New("kafka transaction timed out; the broker aborted it")

	// ErrUnreachable reports that none of the configured brokers answered
	// before the context ended.
	ErrUnreachable = errors.New("no broker answered")

	// ErrRecordTooLarge reports a record that cannot fit in a produce batch
	// of Config.MaxRecordBytes. Write returns it without producing, so the
	// open transaction stays usable.
	ErrRecordTooLarge = errors.New("record too large")

	// ErrTopicLimit reports that a record held while its topic was being
	// looked up is larger than the topic takes (its max.message.bytes, below
	// Config.MaxRecordBytes), which Write could not know when it took the
	// record. The transaction can only be aborted; the Writer now knows the
	// limit, so when the caller resumes from the checkpoint and writes the
	// record again, Write fails it with ErrRecordTooLarge. Retriable reports
	// true for it.
	ErrTopicLimit = errors.New("record larger than its topic's max.message.bytes")

	// ErrTopicDenied reports a record for a topic the broker denied this
	// client (TOPIC_AUTHORIZATION_FAILED: no WRITE, or no DESCRIBE, on it
	// in the broker's ACLs). Write returns it without producing, so the
	// open transaction stays usable, once the Writer has learnt of the
	// denial; a denial of the checkpoint or history topic is reported with
	// it too, and the transaction can only be aborted.
	ErrTopicDenied = errors.New("the broker denied access to the topic")

	// ErrDeniedInTransaction reports that the broker denied a topic of the
	// open transaction (a record already taken for it failed). The
	// transaction can only be aborted; the Writer now knows the topic is
	// denied, so when the caller resumes from the checkpoint and writes the
	// record again, Write fails it with ErrTopicDenied. Retriable reports
	// true for it.
	ErrDeniedInTransaction = errors.New("the broker denied a topic of the transaction")
)

// fencingErrors are the broker answers meaning this producer's transactional
// id now belongs to a newer producer. TransactionalIDAuthorizationFailed is
// deliberately absent: it is an ACL problem, and "another instance took
// over" would send the operator looking in the wrong place.
var fencingErrors = []error{
	errAbortedByCoordinator,
	kerr.ProducerFenced,
	kerr.InvalidProducerEpoch,
	kerr.InvalidProducerIDMapping,
}

// errAbortedByCoordinator marks a commit the coordinator answered as a
// retry of a transaction it had already aborted (see commitAnswer).
var errAbortedByCoordinator = errors.New("the transaction coordinator had already aborted the transaction")

// DeniedError is the error wrapping ErrTopicDenied: the topic and the
// broker's answer.
type DeniedError struct {
	Topic string
	Err   error // the broker's TOPIC_AUTHORIZATION_FAILED, with what was asked
	// Create is set when what the broker refused is creating the topic
	// (no CREATE on it or on the cluster), not writing to it.
	Create bool
}

// errCreateRefused marks the broker's refusal of a CreateTopics.
var errCreateRefused = errors.New("the broker refused to create it")

func (e *DeniedError) Error() string {
	return fmt.Sprintf("%v: topic %q (%v)", ErrTopicDenied, e.Topic, e.Err)
}

func (e *DeniedError) Unwrap() []error { return []error{ErrTopicDenied, e.Err} }

// denial is what Write answers for the records of topic once the broker
// denied it with err.
func denial(topic string, err error) error {
	return &DeniedError{Topic: topic, Err: err, Create: errors.Is(err, errCreateRefused)}
}

// deniedInTransaction is the failure of the open transaction that taught
// the Writer topic is denied.
func deniedInTransaction(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, ErrDeniedInTransaction, err)
}

func isFenced(err error) bool {
	for _, f := range fencingErrors {
		if errors.Is(err, f) {
			return true
		}
	}
	return errors.Is(err, ErrFenced)
}

// commitAnswer interprets the answer to a commit. With Kafka's transaction
// protocol v2 (KIP-890) the coordinator bumps the producer epoch when it
// ends a transaction, and takes a request with the epoch just below the
// current one for a retry of that end: a commit that arrives after the
// coordinator aborted our transaction, because a newer instance
// initialized the same transactional id or the transaction timed out, is
// then answered INVALID_TXN_STATE (asked to commit what ended as an
// abort) instead of PRODUCER_FENCED. Either way nothing was committed and
// the epoch is gone, so it is reported in the fencing class.
func commitAnswer(err error) error {
	if errors.Is(err, kerr.InvalidTxnState) {
		return fmt.Errorf("%w: %w", errAbortedByCoordinator, err)
	}
	return err
}

// wrapTxn is wrap for the answers about a transaction that has been open for
// open: a fencing answer after the transaction timeout is the broker
// aborting our own transaction (its epoch bump looks like fencing), not a
// newer instance, which would have fenced us within the timeout. Our open
// time starts before the broker's (at Begin, not at the first record), so
// an answer within the timeout is never taken for a timeout.
func wrapTxn(op string, err error, open, timeout time.Duration) error {
	if isFenced(err) && !errors.Is(err, ErrFenced) && open >= timeout {
		return fmt.Errorf("%s: %w after %s open, longer than kafka.transaction_timeout (%s); raise kafka.transaction_timeout, or lower kafka.batch.max_events / max_bytes so that each Kafka transaction commits sooner: %w",
			op, ErrTransactionTimeout, open.Round(time.Millisecond), timeout, err)
	}
	return wrap(op, err)
}

// wrap returns "op: err", adding ErrFenced to the chain when err is a
// fencing answer from the broker.
func wrap(op string, err error) error {
	if isFenced(err) && !errors.Is(err, ErrFenced) {
		return fmt.Errorf("%s: %w: %w", op, ErrFenced, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Retriable reports whether err, from Write, Commit or Abort, is Kafka being
// out of reach or answering "not now" (a dropped connection, a refused dial,
// a request that timed out, a retriable broker code) rather than a failure
// that needs an operator (fencing, a record too large, a denied
// authorization, a bad topic). A transaction timeout is retriable: the
// broker aborted the transaction, and Recover makes a new producer. After a retriable error the
// outcome of the transaction may be unknown; Recover settles it, and the
// caller resumes from LoadCheckpoint.
func Retriable(err error) bool {
	if errors.Is(err, ErrTransactionTimeout) && !errors.Is(err, ErrFenced) {
		return true
	}
	if err == nil || isFenced(err) || errors.Is(err, ErrRecordTooLarge) || errors.Is(err, ErrTopicDenied) || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrTopicLimit) || errors.Is(err, ErrDeniedInTransaction) || errors.Is(err, kerr.ConcurrentTransactions) {
		return true
	}
	if ke, ok := errors.AsType[*kerr.Error](err); ok {
		return ke.Retriable || errors.Is(err, kerr.OperationNotAttempted) || errors.Is(err, kerr.TransactionAbortable)
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return true
	}
	for _, e := range []error{ErrUnreachable, io.EOF, io.ErrUnexpectedEOF, net.ErrClosed, context.DeadlineExceeded,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, syscall.ETIMEDOUT} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
