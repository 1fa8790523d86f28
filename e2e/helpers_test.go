//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// event is one record read from Kafka.
type event struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     []byte
	Headers   map[string]string
}

// envelope decodes a Debezium-style value.
type envelope struct {
	Before      map[string]any `json:"before"`
	After       map[string]any `json:"after"`
	Op          string         `json:"op"`
	Source      map[string]any `json:"source"`
	Transaction struct {
		ID         string `json:"id"`
		TotalOrder int    `json:"total_order"`
	} `json:"transaction"`
}

func (e event) env(t *testing.T) envelope {
	t.Helper()
	var v envelope
	if err := json.Unmarshal(e.Value, &v); err != nil {
		t.Fatalf("decoding event on %s at offset %d: %v\n%s", e.Topic, e.Offset, err, e.Value)
	}
	return v
}

// consumer reads committed records of topics matching a regular expression,
// from the beginning.
type consumer struct {
	t   *testing.T
	cl  *kgo.Client
	got []event
	// schemas keeps the schema-history and schema-change topics, which
	// other tests leave out of their counts.
	schemas bool
}

func isSchemaTopic(topic string) bool {
	return strings.HasSuffix(topic, "._schemas") || strings.HasSuffix(topic, ".schema-changes") || strings.HasSuffix(topic, "._snapshots")
}

// newSchemaConsumer is newConsumer including the schema topics.
func newSchemaConsumer(t *testing.T, topicRegex string) *consumer {
	c := newConsumer(t, topicRegex)
	c.schemas = true
	return c
}

func newConsumer(t *testing.T, topicRegex string) *consumer {
	t.Helper()
	return newConsumerAt(t, []string{brokers}, topicRegex)
}

// newConsumerAt is newConsumer on the brokers seeds.
func newConsumerAt(t *testing.T, seeds []string, topicRegex string) *consumer {
	t.Helper()
	regexp.MustCompile(topicRegex)
	cl, err := kgo.NewClient(append(consumerOpts(topicRegex), kgo.SeedBrokers(seeds...))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &consumer{t: t, cl: cl}
}

// consumerOpts are the options of a test consumer of topicRegex: committed
// records from the beginning, with quick metadata refreshes.
func consumerOpts(topicRegex string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumeRegex(),
		kgo.ConsumeTopics(topicRegex),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.MetadataMinAge(100 * time.Millisecond),
		kgo.MetadataMaxAge(time.Second),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}
}

// until polls until done(all events so far) is true or timeout passes, and
// returns everything read.
func (c *consumer) until(timeout time.Duration, done func([]event) bool) []event {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !done(c.got) {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for events; have %d", timeout, len(c.got))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := c.cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			if isSchemaTopic(r.Topic) && !c.schemas {
				return
			}
			h := map[string]string{}
			for _, x := range r.Headers {
				h[x.Key] = string(x.Value)
			}
			c.got = append(c.got, event{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: r.Value, Headers: h})
		})
	}
	return c.got
}

// atLeast waits for n events.
func (c *consumer) atLeast(n int, timeout time.Duration) []event {
	c.t.Helper()
	return c.until(timeout, func(es []event) bool { return len(es) >= n })
}

// settle keeps reading for quiet and returns everything: for asserting that
// nothing more arrives.
func (c *consumer) settle(quiet time.Duration) []event {
	c.t.Helper()
	end := time.Now().Add(quiet)
	return c.until(quiet+5*time.Second, func([]event) bool { return time.Now().After(end) })
}

func pgConnect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgDSN)
	if err != nil {
		t.Fatalf("connecting to postgres: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func pgExec(t *testing.T, conn *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, q := range sqls {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// dropSlot removes a test's replication slot and publication at the end.
func dropSlotAtEnd(t *testing.T, conn *pgx.Conn, slot, pub string) {
	t.Cleanup(func() {
		ctx := context.Background()
		for i := 0; i < 20; i++ {
			_, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot)
			if err == nil {
				break
			}
			time.Sleep(250 * time.Millisecond) // the walsender may still hold it
		}
		conn.Exec(ctx, "DROP PUBLICATION IF EXISTS "+pub)
	})
}

// drain reads until no new record arrived for quiet (however long the
// topics are: a shared checkpoint topic grows with every run), at most a
// minute, and returns everything read.
func (c *consumer) drain(quiet time.Duration) []event {
	c.t.Helper()
	n, last := -1, time.Now()
	return c.until(time.Minute, func(es []event) bool {
		if len(es) != n {
			n, last = len(es), time.Now()
		}
		return time.Since(last) >= quiet
	})
}

// kafkaAdmin returns an admin client of the shared broker.
func kafkaAdmin(t *testing.T) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}
