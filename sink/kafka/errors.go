package kafka

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

var (
	// ErrFenced reports that another Writer with the same transactional id
	// has started (or this producer's epoch was otherwise taken over): this
	// Writer can never commit again. The caller should exit; the newer
	// instance owns the connector.
	ErrFenced = errors.New("fenced by a newer instance with the same transactional id")

	// ErrUnreachable reports that none of the configured brokers answered
	// before the context ended.
	ErrUnreachable = errors.New("no broker answered")

	// ErrRecordTooLarge reports a record that cannot fit in a produce batch
	// of Config.MaxRecordBytes. Write returns it without producing, so the
	// open transaction stays usable.
	ErrRecordTooLarge = errors.New("record too large")
)

// fencingErrors are the broker answers meaning this producer's transactional
// id now belongs to a newer producer. TransactionalIDAuthorizationFailed is
// deliberately absent: it is an ACL problem, and "another instance took
// over" would send the operator looking in the wrong place.
var fencingErrors = []error{
	kerr.ProducerFenced,
	kerr.InvalidProducerEpoch,
	kerr.InvalidProducerIDMapping,
}

func isFenced(err error) bool {
	for _, f := range fencingErrors {
		if errors.Is(err, f) {
			return true
		}
	}
	return errors.Is(err, ErrFenced)
}

// wrap returns "op: err", adding ErrFenced to the chain when err is a
// fencing answer from the broker.
func wrap(op string, err error) error {
	if isFenced(err) && !errors.Is(err, ErrFenced) {
		return fmt.Errorf("%s: %w: %w", op, ErrFenced, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
