package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Recovering from a transaction timeout. The broker aborts a transaction
// left open longer than Config.TransactionTimeout (the process was frozen,
// or Kafka was out of reach) and bumps the producer epoch, so every later
// request of the producer is answered as fenced. Under transaction.version
// 2 franz-go takes that as fatal for its client: nothing more can be
// produced on it. But a fencing answer after the timeout is ambiguous: the
// broker's own abort, or a newer instance that started meanwhile (whose
// InitProducerId aborted our transaction the same way).
//
// The transaction coordinator can tell them apart (KIP-588): an
// InitProducerId that names our producer id and the epoch our transaction
// had is accepted, bumping the epoch, only if no other producer initialized
// the transactional id since; otherwise it is answered PRODUCER_FENCED. It
// has one catch: while a transaction is ongoing, the coordinator aborts it
// (fencing its producer) before it looks at the epoch. So reopen first
// describes the transactional id, read-only: an ongoing transaction there
// is another producer's (ours ended when its epoch moved), and reopen
// stops as fenced without touching it. Otherwise it asks the coordinator,
// on the old client, and only when accepted replaces the client with a new
// one, whose own InitProducerId fences the id again.
//
// A newer instance that starts a transaction in the milliseconds between
// the describe and the InitProducerId, or between that and the new
// client's, has its transaction aborted and stops as fenced: the connector
// still keeps one instance, which resumes from the checkpoint. (Kafka's
// Java producer, recovering the same way, has the same window.)

// reopen replaces the producer client after the open transaction failed
// with ErrTransactionTimeout, the transaction already aborted by the
// broker. On success the Writer has no transaction open and a new producer
// epoch; a fencing answer makes the Writer fenced (ErrFenced, with the
// timeout in the chain); any other error leaves it to be called again (from
// Abort, by Recover).
func (w *Writer) reopen(ctx context.Context) error {
	id, epoch, err := w.cl.ProducerID(ctx)
	switch {
	case err == nil:
		// franz-go reloaded the producer id itself, with our epoch
		// (KIP-360; transaction.version 1), which the coordinator
		// accepts only from the latest producer. The new client below
		// still starts clean.
	case !isKafkaError(err):
		return fmt.Errorf("reading the producer id after the transaction timeout: %w", err)
	default:
		if err := w.checkTransactionalID(ctx, id, epoch); err != nil {
			return err
		}
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &w.cfg.TransactionalID
		req.TransactionTimeoutMillis = int32(w.cfg.TransactionTimeout.Milliseconds())
		req.ProducerID, req.ProducerEpoch = id, epoch
		resp, err := req.RequestWith(ctx, w.cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil && isFenced(err) {
			w.fenced = fmt.Errorf("%w: another producer initialized transactional id %q while this one's transaction was open (%w); answer to re-initializing producer %d epoch %d: %w",
				ErrFenced, w.cfg.TransactionalID, w.timedOut, id, epoch, err)
			return w.fenced
		}
		if err != nil {
			return fmt.Errorf("re-initializing producer %d epoch %d after the transaction timeout: %w", id, epoch, err)
		}
	}
	cl, err := w.cfg.Cluster.NewClient(w.opts...)
	if err != nil {
		return fmt.Errorf("making a new kafka producer after the transaction timeout: %w", err)
	}
	// The creator uses the client: stop it first. Creations it cut short
	// are asked for again on the topic's next record.
	w.endLife()
	<-w.created
	clear(w.creating)
	w.clMu.Lock()
	old := w.cl
	w.cl, w.adm = cl, kadm.NewClient(cl)
	w.clMu.Unlock()
	old.Close()
	w.life, w.endLife = context.WithCancel(context.Background())
	w.startCreator()
	w.inTxn, w.failed, w.timedOut = false, nil, nil
	w.records, w.bytes = 0, 0
	// From here the Writer is a new one: a failure below is retried by
	// the next Recover as any other (the Abort it starts with has no
	// transaction to end).
	newID, newEpoch, err := cl.ProducerID(ctx)
	if err != nil {
		return wrap("initializing the new kafka producer after the transaction timeout", err)
	}
	w.log.Info("kafka producer re-initialized after the broker aborted its timed-out transaction",
		"producer_id", newID, "producer_epoch", newEpoch, "old_epoch", epoch)
	return nil
}

// isKafkaError reports whether err carries a broker's error code.
func isKafkaError(err error) bool {
	_, ok := errors.AsType[*kerr.Error](err)
	return ok
}

// checkTransactionalID describes the transactional id, and fails unless
// the InitProducerId of reopen can be sent without aborting a transaction
// of another producer: ErrFenced for another producer's transaction
// ongoing or committing, or another producer id; kerr.ConcurrentTransactions
// (Retriable) while an abort is being written. DescribeTransactions is
// Kafka 3.0's, so a broker answering it takes InitProducerId with an epoch
// (version 3, Kafka 2.5).
func (w *Writer) checkTransactionalID(ctx context.Context, id int64, epoch int16) error {
	txnID := w.cfg.TransactionalID
	ds, err := w.adm.DescribeTransactions(ctx, txnID)
	if err != nil {
		return fmt.Errorf("describing transactional id %q after the transaction timeout: %w", txnID, err)
	}
	d, ok := ds[txnID]
	switch {
	case !ok:
		return fmt.Errorf("describing transactional id %q after the transaction timeout: no answer for it", txnID)
	case d.Err != nil:
		return fmt.Errorf("describing transactional id %q after the transaction timeout: %w", txnID, d.Err)
	}
	fenced := func(why string) error {
		w.fenced = fmt.Errorf("%w: %s (transactional id %q, producer %d epoch %d, state %s; this one's was producer %d epoch %d): %w",
			ErrFenced, why, txnID, d.ProducerID, d.ProducerEpoch, d.State, id, epoch, w.timedOut)
		return w.fenced
	}
	switch {
	case d.ProducerID != id:
		return fenced("another producer id holds the transactional id")
	case d.State == "Ongoing" || d.State == "PrepareCommit":
		return fenced("another producer's transaction is open on the transactional id")
	case d.State == "PrepareAbort" || d.State == "PrepareEpochFence":
		return fmt.Errorf("transactional id %q is being aborted (%s): %w", txnID, d.State, kerr.ConcurrentTransactions)
	}
	return nil
}
