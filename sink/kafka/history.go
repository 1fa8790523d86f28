package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Checkpoint history. The checkpoint topic is compacted: it keeps the latest
// checkpoint of each connector. To let an operator see and return to older
// positions (`cdc positions`), Commit also writes every checkpoint, with how
// many records its Kafka transaction held, to a history topic
// (Config.HistoryTopic), in the same transaction: the history never shows a
// position whose events were not committed, and misses none that was.
//
// The history topic has cleanup.policy=delete and retention.ms from
// Config.HistoryRetention (default 7 days): it holds one record of a few
// hundred bytes per Kafka transaction, which under load is several per
// second per connector (tens of MB a day), fine for a delete-policy topic and
// bounded by the retention. It has one partition, keyed by connector, so its
// offsets are commit order.

// DefaultHistoryRetention is how long the history topic keeps checkpoints.
const DefaultHistoryRetention = 7 * 24 * time.Hour

// HistoryEntry is one committed checkpoint as the history topic keeps it.
type HistoryEntry struct {
	Checkpoint
	// Records counts the records of the Kafka transaction that committed
	// the checkpoint, other than the checkpoint and this entry: events,
	// dead letters, transaction-metadata and schema records.
	Records int
}

// historyJSON is the stored form: the checkpoint exactly as the checkpoint
// topic stores it, and the counts.
type historyJSON struct {
	Checkpoint json.RawMessage `json:"checkpoint"`
	Records    int             `json:"records"`
}

// EncodeHistory returns the stored form of e, one line of JSON:
//
//	{"checkpoint":{...EncodeCheckpoint...},"records":120}
func EncodeHistory(e HistoryEntry) ([]byte, error) {
	cp, err := EncodeCheckpoint(e.Checkpoint)
	if err != nil {
		return nil, err
	}
	if e.Records < 0 {
		return nil, fmt.Errorf("encoding history entry: %d records", e.Records)
	}
	return json.Marshal(historyJSON{Checkpoint: cp, Records: e.Records})
}

// DecodeHistory parses the form written by EncodeHistory.
func DecodeHistory(b []byte) (HistoryEntry, error) {
	var j historyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return HistoryEntry{}, fmt.Errorf("decoding history entry: %w", err)
	}
	if len(j.Checkpoint) == 0 {
		return HistoryEntry{}, errors.New("decoding history entry: no checkpoint")
	}
	cp, err := DecodeCheckpoint(j.Checkpoint)
	if err != nil {
		return HistoryEntry{}, fmt.Errorf("decoding history entry: %w", err)
	}
	return HistoryEntry{Checkpoint: cp, Records: j.Records}, nil
}

// ensureHistoryTopic creates the history topic (one partition, delete
// policy, retention.ms from the config) if it is missing. An existing one
// is left as the operator configured it.
func (w *Writer) ensureHistoryTopic(ctx context.Context) error {
	topic := w.cfg.HistoryTopic
	if topic == "" {
		return nil
	}
	ms := strconv.FormatInt(w.cfg.HistoryRetention.Milliseconds(), 10)
	if _, err := w.createTopic(ctx, topic, 1, map[string]*string{
		"cleanup.policy": kadm.StringPtr("delete"),
		"retention.ms":   kadm.StringPtr(ms),
	}); err != nil {
		return fmt.Errorf("creating checkpoint history topic: %w", err)
	}
	w.topics[topic] = struct{}{}
	return nil
}

// ReadHistory returns the committed history entries of connector in topic,
// oldest first (commit order: a connector's entries share a partition),
// with a client of its own that fences
// nothing: it can run beside a running connector. A missing topic has no
// entries. A record that does not decode is an error naming its offset.
func ReadHistory(ctx context.Context, c Cluster, topic, connector string) ([]HistoryEntry, error) {
	var out []HistoryEntry
	n := 0
	err := ReadTopic(ctx, c, topic, func(key, value []byte) error {
		n++
		if string(key) != connector || value == nil {
			return nil
		}
		e, err := DecodeHistory(value)
		if err != nil {
			return fmt.Errorf("record %d: %w", n, err)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint history of connector %q from topic %q: %w", connector, topic, err)
	}
	return out, nil
}
