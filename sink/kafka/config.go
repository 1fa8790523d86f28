package kafka

import (
	"errors"
	"fmt"
	"time"
)

// Config configures a Writer. The zero value of every optional field means
// its default.
type Config struct {
	// Cluster is where and how to connect: seed brokers (required), TLS,
	// SASL, timeouts, compression.
	Cluster
	// ClientID names the client in broker logs and quotas. Default "cdc".
	ClientID string
	// TransactionalID identifies this connector's producer across restarts.
	// Required, and unique per connector: a second Writer with the same id
	// fences the first.
	TransactionalID string
	// CheckpointTopic holds the checkpoints, keyed by connector name. Open
	// creates it (compacted, one partition) if it is missing. Required.
	CheckpointTopic string
	// HistoryTopic, when set, receives every checkpoint Commit writes, in
	// the same transaction (see history.go). Open creates it (delete
	// policy, one partition) if it is missing.
	HistoryTopic string
	// HistoryRetention is the history topic's retention.ms when Open
	// creates it. Default 7 days.
	HistoryRetention time.Duration
	// Partitions is the partition count of event topics that Write creates
	// on demand. Default 1.
	Partitions int32
	// ReplicationFactor of topics this package creates; -1 (or 0) uses the
	// broker default.
	ReplicationFactor int16
	// TransactionTimeout is how long the broker lets a transaction stay
	// open before aborting it; it bounds how long a crashed instance's open
	// transaction blocks read_committed consumers. Default 1m. It must not
	// exceed the broker's transaction.max.timeout.ms (default 15m).
	TransactionTimeout time.Duration
	// MaxRecordBytes caps a produce batch, and so the largest single record
	// (key, value, headers and about 70 bytes of framing). Default 1 MiB;
	// keep it at or below the topics' max.message.bytes.
	MaxRecordBytes int
}

const (
	defaultClientID           = "cdc"
	defaultTransactionTimeout = time.Minute
	defaultMaxRecordBytes     = 1 << 20
	minMaxRecordBytes         = 512     // franz-go's lower bound for a batch
	maxMaxRecordBytes         = 1 << 30 // and its upper bound
)

func (c *Config) defaults() {
	if c.ClientID == "" {
		c.ClientID = defaultClientID
	}
	if c.Partitions == 0 {
		c.Partitions = 1
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = defaultTransactionTimeout
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = defaultMaxRecordBytes
	}
	if c.HistoryRetention == 0 {
		c.HistoryRetention = DefaultHistoryRetention
	}
}

// Validate reports every invalid field at once. Zero values of optional
// fields are valid (they mean the default).
func (c Config) Validate() error {
	c.defaults()
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka Brokers: at least one broker address (host:port) is required"))
	}
	for _, b := range c.Brokers {
		if b == "" {
			errs = append(errs, errors.New("kafka Brokers: empty broker address"))
			break
		}
	}
	if c.TransactionalID == "" {
		errs = append(errs, errors.New("kafka TransactionalID: required; use a name unique to this connector"))
	}
	if c.CheckpointTopic == "" {
		errs = append(errs, errors.New("kafka CheckpointTopic: required"))
	}
	if c.HistoryTopic != "" && c.HistoryTopic == c.CheckpointTopic {
		errs = append(errs, errors.New("kafka HistoryTopic: must differ from CheckpointTopic"))
	}
	if c.HistoryRetention < time.Minute {
		errs = append(errs, fmt.Errorf("kafka HistoryRetention: %s; want at least 1m", c.HistoryRetention))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("kafka Partitions: %d; want 1 or more", c.Partitions))
	}
	if c.ReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("kafka ReplicationFactor: %d; want -1 (broker default) or 1 or more", c.ReplicationFactor))
	}
	if c.TransactionTimeout < time.Second {
		errs = append(errs, fmt.Errorf("kafka TransactionTimeout: %s; want at least 1s", c.TransactionTimeout))
	}
	if c.MaxRecordBytes < minMaxRecordBytes || c.MaxRecordBytes > maxMaxRecordBytes {
		errs = append(errs, fmt.Errorf("kafka MaxRecordBytes: %d; want between %d and %d", c.MaxRecordBytes, minMaxRecordBytes, maxMaxRecordBytes))
	}
	return errors.Join(errs...)
}
