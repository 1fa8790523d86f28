package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// tailTopics prints the committed records of the connector's topics
// (read_committed, from the beginning): one line per record, "topic key value".
// The schema topics are left out unless -all is given.
// It stops after n records (n > 0), or after idle without a new record.
func tailTopics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "connector configuration `file` (YAML)")
	n := fs.Int("n", 0, "stop after this many records (0: no limit)")
	idle := fs.Duration("timeout", 0, "stop after this long without a record (0: never)")
	all := fs.Bool("all", false, "include the schema history, schema-change and snapshot-progress topics")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *path == "" {
		return usageError{errors.New("tail: -c FILE is required")}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	pattern := "^" + regexp.QuoteMeta(cfg.Kafka.TopicPrefix) + `\.`
	if t := cfg.Kafka.TransactionTopic; t != "" {
		pattern = "(" + pattern + ")|^" + regexp.QuoteMeta(t) + "$"
	}
	cl, err := kafkaCluster(cfg).NewClient(
		kgo.ConsumeRegex(), kgo.ConsumeTopics(pattern),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.MetadataMinAge(250*time.Millisecond), kgo.MetadataMaxAge(time.Second),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	seen := 0
	last := time.Now()
	for *n == 0 || seen < *n {
		if *idle > 0 && time.Since(last) > *idle {
			return fmt.Errorf("tail: no new record for %v (read %d)", *idle, seen)
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				return fmt.Errorf("tail: reading %s: %w", e.Topic, e.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			if *n > 0 && seen >= *n {
				return
			}
			if !*all && (r.Topic == cfg.Schema.Topic || r.Topic == cfg.Schema.ChangesTopic || r.Topic == snapshotTopic(cfg) || r.Topic == signalsTopic(cfg)) {
				return
			}
			value := string(r.Value)
			if r.Value == nil {
				value = "<tombstone>"
			}
			fmt.Fprintf(stdout, "%s %s %s\n", r.Topic, r.Key, value)
			seen++
			last = time.Now()
		})
	}
	return nil
}
