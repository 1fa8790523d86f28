package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/sink/kafka"
)

// loadHistory reads every stored schema version of the connector. It uses
// its own read-only client, so it can run beside a running connector.
func loadHistory(ctx context.Context, cfg *config.Config) (*schema.History, error) {
	h := schema.NewHistory()
	err := kafka.ReadTopic(ctx, kafkaCluster(cfg), cfg.Schema.Topic, func(_, value []byte) error {
		if value == nil {
			return nil
		}
		v, err := schema.DecodeVersion(value)
		if err != nil {
			return err
		}
		return h.Load(*v)
	})
	if err != nil {
		return nil, fmt.Errorf("loading schema history from topic %q: %w", cfg.Schema.Topic, err)
	}
	return h, nil
}

// listSchemas prints every version of every table (or of one), with the
// diff between consecutive versions.
func listSchemas(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("schemas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "connector configuration `file` (YAML)")
	jsonSchema := fs.Bool("json-schema", false, "print the JSON Schema of each version's envelope")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *path == "" {
		return usageError{errors.New("schemas: -c FILE is required")}
	}
	if fs.NArg() > 1 {
		return usageError{errors.New("schemas: at most one table")}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	h, err := loadHistory(ctx, cfg)
	if err != nil {
		return err
	}
	tables := h.Tables()
	if fs.NArg() == 1 {
		tables = []string{fs.Arg(0)}
	}
	for _, t := range tables {
		var prev *schema.Version
		vs := h.Versions(t)
		if len(vs) == 0 {
			return fmt.Errorf("schemas: no versions of table %q in topic %q", t, cfg.Schema.Topic)
		}
		for _, v := range vs {
			fmt.Fprintf(stdout, "%s v%d  fingerprint %s  at %s  %s\n", t, v.Version, v.Fingerprint, v.Position, v.Time.Format(time.RFC3339))
			if v.DDL != "" {
				fmt.Fprintf(stdout, "  ddl: %s\n", v.DDL)
			}
			d := schema.DiffVersions(prev, v)
			for _, line := range splitLines(d.String()) {
				fmt.Fprintf(stdout, "  %s\n", line)
			}
			if *jsonSchema {
				fmt.Fprintf(stdout, "%s\n", schema.EnvelopeJSONSchema(v))
			}
			prev = v
		}
	}
	return nil
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
