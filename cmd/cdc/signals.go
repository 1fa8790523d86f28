package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/snapshot"
)

// signalsTopic is the compacted topic of on-demand snapshot requests and
// their answers (docs/snapshots.md, "On-demand snapshots").
func signalsTopic(cfg *config.Config) string { return cfg.Kafka.TopicPrefix + "._signals" }

// followSignals starts reading the signals topic from offset from and
// returns the channel of the requests for this connector, in topic order,
// each at most once. Requests that already have an answer in the topic
// (a checkpoint deleted and the topic read again) are dropped; answers,
// requests for other connectors and records that do not parse are
// skipped. It stops when ctx ends; a failure to read is logged and
// retried from where it stood.
func followSignals(ctx context.Context, cfg *config.Config, from int64, log *slog.Logger) <-chan snapshot.Request {
	out := make(chan snapshot.Request)
	topic := signalsTopic(cfg)
	go func() {
		next := from // offset after the last request sent
		for backoff := time.Second; ctx.Err() == nil; backoff = min(2*backoff, 30*time.Second) {
			var held []snapshot.Request // before catching up: requests not answered yet
			caught := false
			send := func(r snapshot.Request) error {
				select {
				case out <- r:
					next = r.Offset
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			err := kafka.Follow(ctx, kafkaCluster(cfg), topic, next, func(off int64, key, value []byte) error {
				sig, err := snapshot.ParseSignal(value)
				if err != nil {
					if value != nil {
						log.Warn("ignoring a record of the signals topic that is not a signal", "topic", topic, "offset", off-1, "error", err)
					}
					return nil
				}
				if sig.Connector != "" && sig.Connector != cfg.Name {
					return nil
				}
				if !sig.Type.Request() {
					// An answer: its request was taken (by an earlier
					// incarnation, if the checkpoint was reset).
					for i := 0; i < len(held); i++ {
						if held[i].ID == sig.ID {
							held = append(held[:i], held[i+1:]...)
							i--
						}
					}
					return nil
				}
				r := snapshot.Request{Signal: sig, Offset: off}
				if !caught {
					held = append(held, r)
					return nil
				}
				return send(r)
			}, func() error {
				caught = true
				for _, r := range held {
					if err := send(r); err != nil {
						return err
					}
				}
				held = nil
				return nil
			})
			if ctx.Err() != nil {
				return
			}
			log.Warn("reading the signals topic failed; on-demand snapshot requests wait until it is read again", "topic", topic, "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
		}
	}()
	return out
}

// snapshotCommand is `cdc snapshot`: it writes a request (or a cancel) to
// the signals topic, says whether the connector runs, and with -wait
// waits for the connector's answer.
func snapshotCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "connector configuration `file` (YAML)")
	id := fs.String("id", "", "the request's `id` (default: generated); it names the snapshot in the progress records")
	cancel := fs.String("cancel", "", "cancel the tables not done of snapshot `id` instead")
	wait := fs.Duration("wait", 0, "wait up to `duration` for the connector's answer (accepted, rejected, cancelled)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *path == "" {
		return usageError{errors.New("snapshot: -c FILE is required")}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	sig := snapshot.Signal{Type: snapshot.SignalSnapshot, ID: *id, Connector: cfg.Name, Tables: fs.Args()}
	switch {
	case *cancel != "":
		if fs.NArg() > 0 || *id != "" {
			return usageError{errors.New("snapshot: -cancel ID takes no tables and no -id")}
		}
		sig = snapshot.Signal{Type: snapshot.SignalCancel, ID: *cancel, Connector: cfg.Name}
	case sig.ID == "":
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		sig.ID = "snap-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
	}
	if len(sig.Tables) == 0 && sig.Type == snapshot.SignalSnapshot {
		sig.Tables = cfg.SnapshotTables()
	}
	if err := snapshot.ValidID(sig.ID); err != nil {
		return usageError{fmt.Errorf("snapshot: %w", err)}
	}
	value, err := sig.MarshalText()
	if err != nil {
		return usageError{fmt.Errorf("snapshot: %w", err)}
	}
	off, err := publishSignal(ctx, cfg, sig.ID, value)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote to %s at offset %d: %s\n", signalsTopic(cfg), off, value)
	members, err := kafka.RunningMembers(ctx, kafkaCluster(cfg), cfg.Name)
	switch {
	case err != nil:
		fmt.Fprintf(stdout, "could not tell whether connector %q runs: %v\n", cfg.Name, err)
	case len(members) == 0:
		fmt.Fprintf(stdout, "connector %q is not running: the request waits in the topic, and the next `cdc run -c %s` takes it\n", cfg.Name, *path)
	default:
		var ms []string
		for _, m := range members {
			ms = append(ms, m.String())
		}
		fmt.Fprintf(stdout, "connector %q is running (%s): it takes the request between two transactions\n", cfg.Name, strings.Join(ms, "; "))
	}
	if *wait <= 0 {
		return nil
	}
	return waitAnswer(ctx, stdout, cfg, sig.ID, off, *wait)
}

// publishSignal writes a signal (its id and text) to the connector's
// signals topic and returns its offset.
func publishSignal(ctx context.Context, cfg *config.Config, id string, value []byte) (int64, error) {
	pctx, pcancel := context.WithTimeout(ctx, connectTimeout)
	defer pcancel()
	return kafka.Publish(pctx, kafkaCluster(cfg), signalsTopic(cfg), int16(cfg.Kafka.ReplicationFactor), []byte(id), value)
}

// errAnswered stops Follow once the answer is found.
var errAnswered = errors.New("answered")

// answerTo reads the signals topic after the request at offset off until
// the connector's answer to id arrives, and returns it.
func answerTo(ctx context.Context, cfg *config.Config, id string, off int64, wait time.Duration) (snapshot.Signal, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var ans snapshot.Signal
	err := kafka.Follow(ctx, kafkaCluster(cfg), signalsTopic(cfg), off+1, func(_ int64, key, value []byte) error {
		sig, err := snapshot.ParseSignal(value)
		if err != nil || sig.ID != id || sig.Type.Request() || sig.Connector != "" && sig.Connector != cfg.Name {
			return nil
		}
		ans = sig
		return errAnswered
	}, nil)
	switch {
	case errors.Is(err, errAnswered):
		return ans, nil
	case errors.Is(err, context.DeadlineExceeded):
		return ans, fmt.Errorf("no answer to request %q within %v (is connector %q running?); the request stays in the topic", id, wait, cfg.Name)
	}
	return ans, err
}

// waitAnswer is answerTo, printing the answer; a rejection is an error.
func waitAnswer(ctx context.Context, stdout io.Writer, cfg *config.Config, id string, off int64, wait time.Duration) error {
	ans, err := answerTo(ctx, cfg, id, off, wait)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s", ans.Type, strings.Join(ans.Tables, ", "))
	if ans.Reason != "" {
		fmt.Fprintf(stdout, " (%s)", ans.Reason)
	}
	fmt.Fprintln(stdout)
	if ans.Type == snapshot.SignalRejected {
		return fmt.Errorf("connector %q rejected snapshot request %q: %s", cfg.Name, id, ans.Reason)
	}
	return nil
}
