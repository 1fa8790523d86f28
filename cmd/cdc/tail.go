package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-go/cdc/config"
)

const tailUsage = `usage: cdc tail -c FILE [-from beginning|end|TIME] [-n N] [-timeout D | -follow] [-offsets] [-headers] [-all]

Prints the committed records of the connector's topics (read_committed), one
line per record: "topic key value". The topics are those under
kafka.topic_prefix, kafka.transaction_topic, the topics of routes, outbox
routes and message routes (outside the prefix too), and their dead-letter
topics; never the checkpoint and history topics. Only Kafka is contacted:
the database's password is not needed.
`

// Tail's defaults.
const (
	tailIdle      = 10 * time.Second // -timeout
	tailFirstWait = 5 * time.Second  // how long to wait for a first matching topic
)

// tailTopics runs `cdc tail`. Without -follow it stops after -timeout
// without a new record (the end of what is committed), or after -n records.
func tailTopics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tailUsage); fs.PrintDefaults() }
	path := fs.String("c", "", "connector configuration `file` (YAML)")
	n := fs.Int("n", 0, "stop after this many records (0: no limit)")
	idle := fs.Duration("timeout", tailIdle, "stop after this long without a new record")
	follow := fs.Bool("follow", false, "keep waiting for new records (and topics) until interrupted; -timeout is ignored")
	from := fs.String("from", "beginning", "where to start: `beginning`, end, or a time (RFC 3339, e.g. 2026-12-01T10:00:00Z)")
	offsets := fs.Bool("offsets", false, "print each record's partition and offset")
	headers := fs.Bool("headers", false, "print each record's headers")
	all := fs.Bool("all", false, "include the schema history, schema-change, snapshot-progress and signals topics")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *path == "" {
		return usageError{errors.New("tail: -c FILE is required")}
	}
	start, err := tailStart(*from)
	if err != nil {
		return usageError{err}
	}
	cfg, err := config.LoadWithoutSource(*path)
	if err != nil {
		return usageError{err}
	}
	sel := newTailSelection(cfg, *all)
	cl, err := kafkaCluster(cfg).NewClient(
		kgo.ConsumeRegex(), kgo.ConsumeTopics(sel.patterns...),
		kgo.ConsumeResetOffset(start),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.MetadataMinAge(250*time.Millisecond), kgo.MetadataMaxAge(time.Second),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := sel.waitTopics(ctx, kadm.NewClient(cl), *follow, stderr); err != nil {
		return err
	}
	seen := 0
	last := time.Now()
	for *n == 0 || seen < *n {
		if !*follow && time.Since(last) > *idle {
			if seen == 0 {
				fmt.Fprintf(stderr, "tail: no committed record from %s in %d topic(s) within %v (-follow waits for new ones)\n", *from, len(sel.found), *idle)
			} else {
				fmt.Fprintf(stderr, "tail: %d record(s); no new one for %v (-follow waits for new ones)\n", seen, *idle)
			}
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		for _, e := range fetches.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				return fmt.Errorf("tail: reading %s: %w", e.Topic, e.Err)
			}
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if *n > 0 && seen >= *n || !sel.shows(r.Topic) {
				return
			}
			fmt.Fprintln(stdout, sel.format(r, *offsets, *headers))
			seen++
			last = time.Now()
		})
	}
	return nil
}

// tailStart parses -from.
func tailStart(from string) (kgo.Offset, error) {
	switch from {
	case "", "beginning", "start":
		return kgo.NewOffset().AtStart(), nil
	case "end":
		return kgo.NewOffset().AtEnd(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, from)
	if err != nil {
		return kgo.Offset{}, fmt.Errorf("tail: -from %q: want beginning, end or an RFC 3339 time (e.g. 2026-12-01T10:00:00Z)", from)
	}
	return kgo.NewOffset().AfterMilli(t.UnixMilli()), nil
}

// tailSelection is which topics tail reads and how it prints their records.
type tailSelection struct {
	patterns []string         // regular expressions of the topics to read
	res      []*regexp.Regexp // compiled patterns
	hidden   map[string]bool  // never printed (checkpoint, history; schema topics without -all)
	dlt      *regexp.Regexp   // dead-letter topics
	found    []string         // matching topics when tail started
}

// newTailSelection derives the topics of cfg: the prefix's, the
// transaction topic, every route's topic template (placeholders match any
// text), their dead-letter topics, the dead-letter topic; hidden are the
// checkpoint and history topics, and without all the schema, snapshot and
// signals topics.
func newTailSelection(cfg *config.Config, all bool) *tailSelection {
	s := &tailSelection{hidden: map[string]bool{cfg.Kafka.CheckpointTopic: true}}
	if cfg.Kafka.HistoryTopic != "" {
		s.hidden[cfg.Kafka.HistoryTopic] = true
	}
	if !all {
		for _, t := range []string{cfg.Schema.Topic, cfg.Schema.ChangesTopic, snapshotTopic(cfg), signalsTopic(cfg)} {
			s.hidden[t] = true
		}
	}
	add := func(p string) {
		for _, q := range s.patterns {
			if q == p {
				return
			}
		}
		s.patterns = append(s.patterns, p)
	}
	add("^" + regexp.QuoteMeta(cfg.Kafka.TopicPrefix) + `\..+$`)
	if t := cfg.Kafka.TransactionTopic; t != "" {
		add("^" + regexp.QuoteMeta(t) + "$")
	}
	if t := cfg.Kafka.DeadLetterTopic; t != "" {
		add("^" + regexp.QuoteMeta(t) + "$")
	}
	var templates []string
	for _, r := range cfg.Routes {
		switch {
		case r.Outbox != nil:
			t := r.Outbox.Topic
			if t == "" {
				t = "{aggregate_type}.events"
			}
			templates = append(templates, t)
		case r.TopicReplacement != "":
			templates = append(templates, r.TopicReplacement)
		case r.Topic != "":
			templates = append(templates, r.Topic)
		}
	}
	for _, m := range cfg.Messages {
		t := m.Topic
		if t == "" {
			t = "{aggregate_type}.events"
		}
		templates = append(templates, t)
	}
	for _, t := range templates {
		add("^" + templatePattern(t, cfg.Kafka.TopicPrefix) + `(\.DLT)?$`)
	}
	for _, p := range s.patterns {
		s.res = append(s.res, regexp.MustCompile(p))
	}
	dlt := `\.DLT$`
	if t := cfg.Kafka.DeadLetterTopic; t != "" {
		dlt = `(\.DLT$)|(^` + regexp.QuoteMeta(t) + `$)`
	}
	s.dlt = regexp.MustCompile(dlt)
	return s
}

// templatePattern turns a topic template into a regular expression: the
// {prefix} placeholder is the prefix, other {placeholders} and $1 / ${name}
// replacement references match any text.
func templatePattern(t, prefix string) string {
	var b strings.Builder
	for i := 0; i < len(t); {
		switch {
		case strings.HasPrefix(t[i:], "{prefix}"):
			b.WriteString(regexp.QuoteMeta(prefix))
			i += len("{prefix}")
		case t[i] == '{':
			if end := strings.IndexByte(t[i:], '}'); end > 0 {
				b.WriteString(".+")
				i += end + 1
				continue
			}
			b.WriteString(regexp.QuoteMeta(t[i : i+1]))
			i++
		case t[i] == '$' && i+1 < len(t) && t[i+1] == '{':
			if end := strings.IndexByte(t[i:], '}'); end > 0 {
				b.WriteString(".+")
				i += end + 1
				continue
			}
			b.WriteString(regexp.QuoteMeta(t[i : i+1]))
			i++
		case t[i] == '$' && i+1 < len(t) && t[i+1] >= '0' && t[i+1] <= '9':
			b.WriteString(".+")
			i += 2
			for i < len(t) && t[i] >= '0' && t[i] <= '9' {
				i++
			}
		default:
			b.WriteString(regexp.QuoteMeta(t[i : i+1]))
			i++
		}
	}
	return b.String()
}

// matches reports whether tail reads topic.
func (s *tailSelection) matches(topic string) bool {
	for _, re := range s.res {
		if re.MatchString(topic) {
			return true
		}
	}
	return false
}

// shows reports whether tail prints topic's records.
func (s *tailSelection) shows(topic string) bool {
	return !s.hidden[topic] && s.matches(topic)
}

// waitTopics lists the topics tail will show; with none, it says so and
// fails, or, with follow, says it waits.
func (s *tailSelection) waitTopics(ctx context.Context, adm *kadm.Client, follow bool, stderr io.Writer) error {
	deadline := time.Now().Add(tailFirstWait)
	for {
		lctx, cancel := context.WithTimeout(ctx, tailFirstWait)
		topics, err := adm.ListTopics(lctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tail: listing kafka topics: %w", err)
		}
		s.found = s.found[:0]
		for _, t := range topics.Names() {
			if s.shows(t) {
				s.found = append(s.found, t)
			}
		}
		sort.Strings(s.found)
		if len(s.found) > 0 || follow {
			if len(s.found) == 0 {
				fmt.Fprintf(stderr, "tail: no topic matches %s yet; waiting (-follow)\n", strings.Join(s.patterns, " or "))
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tail: no topic matches %s: has the connector written anything yet? (check kafka.brokers and kafka.topic_prefix; -follow waits for the topics)", strings.Join(s.patterns, " or "))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// format is one record's line: "topic key value", with "p=P o=O" after the
// topic when offsets, and "| h=v ..." after the value when headers. A
// record without a value is "<tombstone>", or on a dead-letter topic
// "<no value: reason>" (a record too large to keep).
func (s *tailSelection) format(r *kgo.Record, offsets, headers bool) string {
	var b strings.Builder
	b.WriteString(r.Topic)
	if offsets {
		fmt.Fprintf(&b, " p=%d o=%d", r.Partition, r.Offset)
	}
	b.WriteByte(' ')
	if r.Key == nil {
		b.WriteString("<no key>")
	} else {
		b.Write(r.Key)
	}
	b.WriteByte(' ')
	switch {
	case r.Value != nil:
		b.Write(r.Value)
	case s.dlt.MatchString(r.Topic):
		reason := "no reason given"
		for _, h := range r.Headers {
			if h.Key == "cdc.dlt.reason" {
				reason = string(h.Value)
			}
		}
		fmt.Fprintf(&b, "<no value: %s>", reason)
	default:
		b.WriteString("<tombstone>")
	}
	if headers && len(r.Headers) > 0 {
		b.WriteString(" |")
		for _, h := range r.Headers {
			fmt.Fprintf(&b, " %s=%s", h.Key, h.Value)
		}
	}
	return b.String()
}
