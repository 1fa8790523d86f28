//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runTail runs `cdc tail` without the database's DSN in the environment:
// tail needs only Kafka.
func runTail(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cdcBin, append([]string{"tail"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CDC_PG_DSN=") && !strings.HasPrefix(kv, "CDC_MYSQL_DSN=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cdc tail %v: timed out; stderr:\n%s", args, errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// `cdc tail` as an inspector: no database password, routed outbox topics
// outside the prefix, a dead letter without its value printed as such, no
// checkpoint records, partitions/offsets/headers on request, -from end, and
// a clear message when no topic matches.
func TestTailInspector(t *testing.T) {
	name := uniq("tail")
	db := pgConnect(t)
	pgOrderTables(t, db, name)
	pgExec(t, db, "CREATE TABLE "+name+".big (id int PRIMARY KEY, body text)")
	dropSlotAtEnd(t, db, name, name)
	aggType := uniq("agg")
	extra := "  max_record_bytes: 2048\n" + outboxRoute(name, "")
	p, cfg := pgStartCDC(t, name, extra)
	pgExec(t, db,
		"INSERT INTO "+name+".orders (id, status, version) VALUES (1, 'new', 1)",
		fmt.Sprintf("INSERT INTO %s.outbox_event (id, aggregate_type, aggregate_id, aggregate_version, event_type, payload) VALUES (gen_random_uuid(), '%s', '1', 1, 'Created', '{\"a\":1}')", name, aggType),
		"INSERT INTO "+name+".big VALUES (1, repeat('x', 5000))",
	)
	c := newConsumer(t, "^("+name+`\..*|`+aggType+`\.events)$`)
	c.until(60*time.Second, func(es []event) bool {
		var dlt, outbox bool
		for _, e := range es {
			dlt = dlt || strings.HasSuffix(e.Topic, ".big.DLT")
			outbox = outbox || e.Topic == aggType+".events"
		}
		return dlt && outbox
	})
	p.stopOK()

	code, out, errOut := runTail(t, "-c", cfg, "-timeout", "3s", "-offsets", "-headers")
	if code != 0 {
		t.Fatalf("tail: exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var order, outbox, dlt bool
	for _, l := range lines {
		topic := strings.Fields(l)[0]
		switch {
		case strings.HasPrefix(topic, "_cdc_checkpoints"):
			t.Errorf("tail printed a checkpoint record: %s", l)
		case topic == name+"."+name+".orders":
			order = true
			if !strings.Contains(l, " p=") || !strings.Contains(l, " o=") {
				t.Errorf("-offsets: no partition/offset in %q", l)
			}
		case topic == aggType+".events":
			outbox = true
			if !strings.Contains(l, "| ") {
				t.Errorf("-headers: no headers in %q", l)
			}
		case strings.HasSuffix(topic, ".big.DLT"):
			dlt = true
			if !strings.Contains(l, "<no value: ") {
				t.Errorf("dead letter without value printed as %q", l)
			}
		}
	}
	if !order || !outbox || !dlt {
		t.Errorf("tail output lacks the orders row (%v), the outbox event on %s.events (%v) or the dead letter (%v):\n%s", order, aggType, outbox, dlt, out)
	}
	if !strings.Contains(errOut, "no new one for 3s") {
		t.Errorf("tail's end message: %q", errOut)
	}

	code, out, errOut = runTail(t, "-c", cfg, "-timeout", "2s", "-from", "end")
	if code != 0 || out != "" || !strings.Contains(errOut, "no committed record from end") {
		t.Errorf("tail -from end: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	none := writeConfig(t, strings.Replace(pgConfig(uniq("nothing"), ""), "${CDC_PG_DSN}", "postgres://cdc:${CDC_TAIL_NO_SUCH_PASSWORD}@127.0.0.1/x", 1))
	code, _, errOut = runTail(t, "-c", none, "-timeout", "2s")
	if code == 0 || !strings.Contains(errOut, "no topic matches") {
		t.Errorf("tail on a connector that wrote nothing: exit %d, stderr %q", code, errOut)
	}
}
