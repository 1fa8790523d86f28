package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/source/mysql"
	"github.com/cdc-go/cdc/source/postgres"
)

// exitPending is `cdc plan`'s exit code when running the file would change
// something (1 and 2 mean failure and bad usage).
const exitPending = 4

// pendingError makes runMain exit with exitPending; it prints nothing more.
type pendingError struct{ n int }

func (e pendingError) Error() string { return fmt.Sprintf("%d change(s) pending", e.n) }

// planConnector runs `cdc plan`: without changing anything, it shows what
// `cdc run` on the file would create or alter on the source and in Kafka,
// what it would leave for later (a table's topic, created with its first
// event), the checkpoint it would resume from, and drift (cdc's slots and
// publications no connector of this name uses, topics not as cdc makes
// them).
func planConnector(ctx context.Context, path string, stdout io.Writer) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var steps []source.PlanStep
	var probs []source.Problem
	var tables []*schema.Table
	switch cfg.Source.Type {
	case config.SourcePostgres:
		steps, probs, err = postgres.Plan(ctx, postgresConfig(cfg))
		if err == nil && fatalCount(probs) == 0 {
			tables, err = postgres.CatalogTables(ctx, postgresConfig(cfg))
		}
	case config.SourceMySQL:
		steps, probs, err = mysql.Plan(ctx, mysqlConfig(cfg))
		if err == nil && fatalCount(probs) == 0 {
			tables, err = mysql.CatalogTables(ctx, mysqlConfig(cfg))
		}
	default:
		return usageError{fmt.Errorf("source.type %q is not supported yet", cfg.Source.Type)}
	}
	if err != nil {
		return err
	}
	ksteps, kprobs, err := planKafka(ctx, cfg, tables)
	if err != nil {
		return err
	}
	steps = append(steps, ksteps...)
	probs = append(probs, kprobs...)
	return printPlan(stdout, cfg, steps, probs)
}

// planKafka plans the topics and reads the checkpoint.
func planKafka(ctx context.Context, cfg *config.Config, tables []*schema.Table) ([]source.PlanStep, []source.Problem, error) {
	cl, err := kafkaCluster(cfg).NewClient()
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing kafka topics on %s: %w", strings.Join(cfg.Kafka.Brokers, ","), err)
	}
	var steps []source.PlanStep
	var probs []source.Problem
	rf := "the broker's default replication factor"
	if cfg.Kafka.ReplicationFactor > 0 {
		rf = fmt.Sprintf("replication factor %d", cfg.Kafka.ReplicationFactor)
	}
	policy := func(topic string) (string, error) {
		rcs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			return "", fmt.Errorf("reading the configs of topic %q: %w", topic, err)
		}
		for _, rc := range rcs {
			for _, c := range rc.Configs {
				if c.Key == "cleanup.policy" && c.Value != nil {
					return *c.Value, nil
				}
			}
		}
		return "delete", nil
	}
	// Topics run creates at start, with the policy it needs.
	atStart := []struct{ topic, policy, what string }{
		{cfg.Kafka.CheckpointTopic, "compact", "checkpoints"},
		{cfg.Schema.Topic, "compact", "schema history"},
	}
	if cfg.Kafka.HistoryTopic != "" {
		atStart = append(atStart, struct{ topic, policy, what string }{cfg.Kafka.HistoryTopic, "delete", "checkpoint history, retention " + cfg.Kafka.HistoryRetention.String()})
	}
	for _, t := range atStart {
		object := "topic " + t.topic
		d, ok := details[t.topic]
		if !ok {
			steps = append(steps, source.PlanStep{Kind: source.PlanCreate, Object: object,
				Detail: fmt.Sprintf("%s: 1 partition, cleanup.policy=%s, %s", t.what, t.policy, rf)})
			continue
		}
		got, err := policy(t.topic)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case got == t.policy:
			steps = append(steps, source.PlanStep{Kind: source.PlanKeep, Object: object, Detail: fmt.Sprintf("%s: exists, %d partition(s), cleanup.policy=%s", t.what, len(d.Partitions), got)})
		case t.topic == cfg.Kafka.CheckpointTopic:
			probs = append(probs, source.Problem{Message: fmt.Sprintf("checkpoint topic %q has cleanup.policy=%s: checkpoints would expire, and `cdc run` refuses it", t.topic, got),
				Fix: fmt.Sprintf("kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact, or choose another kafka.checkpoint_topic", t.topic)})
		default:
			steps = append(steps, source.PlanStep{Kind: source.PlanDrift, Object: object,
				Detail: fmt.Sprintf("%s: cleanup.policy=%s, cdc creates it with %s; run uses it as it is", t.what, got, t.policy)})
		}
	}
	// The tables' topics, created with their first event.
	router, _, err := newRouter(cfg, cfg.Name, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, usageError{err}
	}
	seen := map[string]bool{}
	var later []string
	for _, t := range tables {
		topic, perRow, err := router.TableTopic(t, source.Meta{{Key: "db", Value: t.Namespace}})
		if err != nil {
			probs = append(probs, source.Problem{Message: "routes: " + err.Error(), Fix: "fix the route; the table's changes would go to the dead-letter topic"})
			continue
		}
		if perRow {
			steps = append(steps, source.PlanStep{Kind: source.PlanLater, Object: "topics " + topic,
				Detail: fmt.Sprintf("outbox events of %s, one topic per value, created with its first event (%d partition(s), %s)", t.ID(), cfg.Kafka.Partitions, rf)})
			continue
		}
		if seen[topic] {
			continue
		}
		seen[topic] = true
		d, ok := details[topic]
		switch {
		case !ok:
			later = append(later, topic)
		case len(d.Partitions) != cfg.Kafka.Partitions:
			steps = append(steps, source.PlanStep{Kind: source.PlanDrift, Object: "topic " + topic,
				Detail: fmt.Sprintf("events of %s: %d partition(s) where kafka.partitions is %d; run uses it as it is", t.ID(), len(d.Partitions), cfg.Kafka.Partitions)})
		default:
			steps = append(steps, source.PlanStep{Kind: source.PlanKeep, Object: "topic " + topic,
				Detail: fmt.Sprintf("events of %s: exists, %d partition(s)", t.ID(), len(d.Partitions))})
		}
	}
	sort.Strings(later)
	for _, topic := range later {
		steps = append(steps, source.PlanStep{Kind: source.PlanLater, Object: "topic " + topic,
			Detail: fmt.Sprintf("created with its first event: %d partition(s), %s", cfg.Kafka.Partitions, rf)})
	}
	// The checkpoint run resumes from.
	cp, err := kafka.PeekCheckpoint(ctx, kafkaCluster(cfg), cfg.Kafka.CheckpointTopic, cfg.Name)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, nil, err
	}
	detail := "none: a new connector"
	switch {
	case cp != nil:
		detail = fmt.Sprintf("seq %d at position %s, committed %s", cp.Seq, cp.Position, cp.Time.UTC().Format(time.RFC3339))
		if cp.Snapshot != nil {
			detail += "; a snapshot is unfinished and resumes"
		}
	case cfg.Snapshot.Mode == config.SnapshotNever:
		detail += "; snapshot.mode never: streams only new changes"
	default:
		detail += fmt.Sprintf("; snapshot.mode %s: reads the rows already in %d table(s) while it streams", cfg.Snapshot.Mode, len(tables))
	}
	steps = append(steps, source.PlanStep{Kind: source.PlanKeep, Object: "checkpoint " + strconv.Quote(cfg.Name), Detail: detail})
	return steps, probs, nil
}

// printPlan writes the plan and returns nil when nothing would change,
// pendingError when something would, or an error for the problems that
// would stop `cdc run`.
func printPlan(stdout io.Writer, cfg *config.Config, steps []source.PlanStep, probs []source.Problem) error {
	var out bytes.Buffer
	fmt.Fprintf(&out, "plan for connector %q (%s, %s):\n", cfg.Name, cfg.Source.Type, cfg.File)
	pending := 0
	for _, s := range steps {
		fmt.Fprintf(&out, "  %-6s  %s: %s\n", s.Kind, s.Object, s.Detail)
		if s.SQL != "" {
			fmt.Fprintf(&out, "          sql: %s\n", s.SQL)
		}
		if s.Pending() {
			pending++
		}
	}
	failed := 0
	for _, p := range probs {
		level := "warning"
		if !p.Warning {
			level = "error"
			failed++
		}
		fmt.Fprintf(&out, "%s: %s\n", level, p.Message)
		if p.Fix != "" {
			fmt.Fprintf(&out, "  fix: %s\n", p.Fix)
		}
	}
	switch {
	case failed > 0:
		stdout.Write(out.Bytes())
		return fmt.Errorf("%d problem(s) would stop `cdc run`; see the fixes above", failed)
	case pending > 0:
		fmt.Fprintf(&out, "%d change(s) pending: `cdc run -c %s` makes them (exit code %d)\n", pending, cfg.File, exitPending)
		stdout.Write(out.Bytes())
		return pendingError{pending}
	}
	fmt.Fprintln(&out, "no change pending")
	stdout.Write(out.Bytes())
	return nil
}
