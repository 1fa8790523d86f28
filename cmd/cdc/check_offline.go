package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// checkFlags parses `cdc check`'s flags: -c FILE and -offline.
func checkFlags(args []string, stderr io.Writer) (path string, offline bool, err error) {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	p := fs.String("c", "", "connector configuration `file` (YAML)")
	off := fs.Bool("offline", false, "check the file only (parse, ${...} expansion, validation); connect to nothing")
	if err := fs.Parse(args); err != nil {
		return "", false, usageError{err}
	}
	if fs.NArg() > 0 {
		return "", false, usageError{fmt.Errorf("check: unexpected argument %q", fs.Arg(0))}
	}
	if *p == "" {
		return "", false, usageError{fmt.Errorf("check: -c FILE is required")}
	}
	return *p, *off, nil
}

// checkOffline is `cdc check -offline`: it loads path as `cdc run` would
// (strict decoding, secrets expanded from the environment and files,
// defaults, validation) and prints what it checked and what it did not. It
// opens no connection, so it runs in a build or a CI job without the
// database or Kafka. A bad file is a usage error (exit 2), each problem on
// its own line with file, line and key. The DSN is not printed.
func checkOffline(path string, stdout io.Writer) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "config %s: ok (parsed, ${...} expanded, validated)\n", path)
	fmt.Fprintf(stdout, "  connector %s: %s source, tables %s\n", cfg.Name, cfg.Source.Type, strings.Join(cfg.Source.Tables, ", "))
	fmt.Fprintf(stdout, "  kafka %s, topic prefix %s\n", strings.Join(cfg.Kafka.Brokers, ","), cfg.Kafka.TopicPrefix)
	fmt.Fprintf(stdout, "  snapshot.mode %s", cfg.Snapshot.Mode)
	if cfg.Metrics.Listen != "" {
		fmt.Fprintf(stdout, ", metrics on %s", cfg.Metrics.Listen)
	}
	if n := len(cfg.Routes) + len(cfg.Messages); n > 0 {
		fmt.Fprintf(stdout, ", %d route(s)", n)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "offline: not checked: the source's prerequisites, the routes against the tables, Kafka, the checkpoint (run cdc check without -offline)")
	return nil
}
