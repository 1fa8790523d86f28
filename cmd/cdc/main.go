// Command cdc streams row changes from PostgreSQL (and MySQL/MariaDB) into
// Kafka with exactly-once checkpoints. See README.md.
//
//	cdc run   -c shop.yaml   stream until SIGINT/SIGTERM
//	cdc check -c shop.yaml [-offline]   validate the config and the source's prerequisites
//	cdc positions -c shop.yaml   list stored positions; positions set moves to one
//	cdc healthcheck [-url URL]   exit 0 if the readiness endpoint answers 200
//	cdc version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // runtime failure: source, Kafka, fencing
	exitUsage  = 2 // bad command line or configuration
	// exitHalted (3, exitcodes.go): stopped on a problem a restart cannot fix.
	// exitPending (4, plan.go): `cdc plan` found changes pending.
)

func main() {
	os.Exit(runMain(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks errors that are the caller's to fix (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return exitCode(dispatch(ctx, args, stdout, stderr), stderr)
}

// exitCode prints err and returns the process's exit code for it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.As(err, new(pendingError)) {
		return exitPending // the plan said so
	}
	// One line per error, no stack traces: the message says what to fix.
	for _, line := range errorLines(err) {
		fmt.Fprintf(stderr, "cdc: %s\n", line)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var he haltError
	if errors.As(err, &he) {
		return exitHalted
	}
	return exitFailed
}

// errorLines renders err one line per error: the errors of an errors.Join
// (a config with several problems) each on its own line, unless something
// wrapped them with more text; newlines inside one error become "; ".
func errorLines(err error) []string {
	msg := err.Error()
	for e := err; e != nil; e = errors.Unwrap(e) {
		j, ok := e.(interface{ Unwrap() []error })
		if !ok {
			continue
		}
		// Only an errors.Join, whose text is its errors' texts: a
		// fmt.Errorf with several %w ("connecting to ...: %w: %w") is one
		// error.
		var texts []string
		for _, sub := range j.Unwrap() {
			texts = append(texts, sub.Error())
		}
		if e.Error() != msg || msg != strings.Join(texts, "\n") {
			break
		}
		var lines []string
		for _, sub := range j.Unwrap() {
			lines = append(lines, errorLines(sub)...)
		}
		return lines
	}
	return []string{strings.ReplaceAll(msg, "\n", "; ")}
}

const usage = `usage: cdc <command> [flags]

commands:
  run     -c FILE [-from POSITION]
                    stream changes to Kafka until SIGINT/SIGTERM (-from: move
                    the stopped connector to POSITION first, see positions set)
  check   -c FILE [-offline]
                    validate FILE and the source's prerequisites, print fixes
                    (-offline: FILE only, no connections)
  plan    -c FILE   show what run would create or alter (slot, publication,
                    topics), the checkpoint, and drift; changes nothing; exit 0:
                    no change pending, 4: changes pending, 1: problems
  tail    -c FILE [-from beginning|end|TIME] [-n N] [-timeout D | -follow]
          [-offsets] [-headers] [-all]
                    print the committed events of the connector's topics
                    (routed and outbox topics too; no database password needed)
  dlt replay -c FILE
                    re-run dead-lettered rows through the current routes
  schemas -c FILE [-json-schema] [TABLE]
                    list the schema versions of each table, with what changed
  positions -c FILE [-limit N] [-json]
                    the current checkpoint and the checkpoint history
  positions set -c FILE (-seq N | -time RFC3339 | -position P) [-dry-run]
                    move a stopped connector to an older (or newer) checkpoint,
                    after checking the source still holds it; the range is
                    re-emitted with header cdc.replay: true (docs/replay.md)
  snapshot -c FILE [-id ID] [-wait D] [TABLE...]
                    ask the connector (running or not) to snapshot TABLEs again
                    (default snapshot.tables) while it streams; rows arrive as
                    op r with source.snapshot "incremental" (docs/snapshots.md)
  snapshot -c FILE -cancel ID [-wait D]
                    stop the tables of snapshot ID that are not done
  verify  -c FILE [-every D [-listen ADDR]] [-timeout D] [TABLE...]
                    compare the tables with the rows their events rebuild: asks
                    the connector for an on-demand snapshot and checks each row
                    (docs/reliability.md); exit 1 when a row does not match
  healthcheck [-url URL]
                    exit 0 if URL answers 200 (default http://127.0.0.1:9187/readyz)
  version           print the version
`

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		path, from, err := runFlags(rest, stderr)
		if err != nil {
			return err
		}
		return runConnector(ctx, path, from, stderr)
	case "check":
		path, offline, err := checkFlags(rest, stderr)
		if err != nil {
			return err
		}
		if offline {
			return checkOffline(path, stdout)
		}
		return checkConnector(ctx, path, stdout)
	case "plan":
		path, err := configFlag("plan", rest, stderr)
		if err != nil {
			return err
		}
		return planConnector(ctx, path, stdout)
	case "tail":
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return tailTopics(ctx, rest, stdout, stderr)
	case "dlt":
		return dltMain(ctx, rest, stdout, stderr)
	case "schemas":
		return listSchemas(ctx, rest, stdout, stderr)
	case "positions":
		return positionsMain(ctx, rest, stdout, stderr)
	case "snapshot":
		return snapshotCommand(ctx, rest, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, stdout, stderr)
	case "verify":
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return verifyCommand(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "cdc %s\n", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}

func configFlag(cmd string, args []string, stderr io.Writer) (string, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "connector configuration `file` (YAML)")
	if err := fs.Parse(args); err != nil {
		return "", usageError{err}
	}
	if fs.NArg() > 0 {
		return "", usageError{fmt.Errorf("%s: unexpected argument %q", cmd, fs.Arg(0))}
	}
	if *path == "" {
		return "", usageError{fmt.Errorf("%s: -c FILE is required", cmd)}
	}
	return *path, nil
}
