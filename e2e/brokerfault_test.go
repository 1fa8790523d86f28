//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Broker faults (issue 13) on a private Kafka cluster (privkafka_test.go),
// so that the shared broker keeps serving the other tests.

// startFaultRuns starts a faultRun on each database at once, in t: a
// fault that takes long to cause (a broker restart) is then caused once
// for both.
func startFaultRuns(t *testing.T, o faultOpts) []*faultRun {
	t.Helper()
	var rs []*faultRun
	for _, db := range faultDBs {
		r := db.start(t, o)
		r.book.pace.Store(int64(o.pace))
		r.name = db.name
		r.p.logOnFailure()
		rs = append(rs, r)
	}
	return rs
}

// awaitAll is awaitProgress of every run, failing if a connector exited.
func awaitAll(t *testing.T, rs []*faultRun, timeout time.Duration, after string) {
	t.Helper()
	start := time.Now()
	defer func() {
		t.Logf("%s: both connectors caught up in %v", after, time.Since(start).Round(100*time.Millisecond))
	}()
	for _, r := range rs {
		mark := len(r.p.Log())
		r.awaitProgress(t, timeout)
		for _, l := range strings.Split(r.p.Log()[mark:], "\n") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				t.Logf("%s: %s", r.name, l)
			}
		}
		if r.p.exited() {
			t.Fatalf("%s: %s, the connector exited; log:\n%s", r.name, after, r.p.Log())
		}
	}
}

// finishAll is finish of every run.
func finishAll(t *testing.T, rs []*faultRun) {
	t.Helper()
	for _, r := range rs {
		t.Logf("%s:", r.name)
		r.finish(t)
	}
}

// The one broker of a cluster restarted under the writes of a connector
// on each database, cleanly (SIGTERM) and then killed (SIGKILL), each time
// for less than the transaction timeout: cdc rides both restarts in the
// process (its open transaction survives on the broker, or is retried
// whole), and every committed change arrives exactly once.
func TestFaultBrokerRestart(t *testing.T) {
	k := privateKafka(t, 1)
	rs := startFaultRuns(t, faultOpts{prefix: "brestart", extra: "  batch:\n    linger: 50ms\n", kafka: k, pace: 5 * time.Millisecond})
	for _, restart := range []struct {
		how  string
		down func(int)
	}{{"stopped", k.stop}, {"killed", k.kill}} {
		time.Sleep(2 * time.Second)
		restart.down(1)
		time.Sleep(2 * time.Second)
		k.start(t, 1)
		k.waitBrokers(t, 1, 120*time.Second)
		awaitAll(t, rs, 90*time.Second, "broker "+restart.how+" and restarted")
	}
	finishAll(t, rs)
}

// A three-broker cluster (replication factor 3, min.insync.replicas 2),
// under the writes of a connector on each database, loses a broker that
// does not lead the checkpoint partition, which comes back, and then the
// checkpoint partition's leader: leaderships move, the transaction
// coordinator may move with them, and cdc carries on in the process.
// Every committed change arrives exactly once.
func TestFaultClusterLosesBrokers(t *testing.T) {
	k := privateKafka(t, 3)
	rs := startFaultRuns(t, faultOpts{prefix: "cluster", extra: "  batch:\n    linger: 50ms\n", kafka: k, pace: 5 * time.Millisecond})
	time.Sleep(2 * time.Second)
	const checkpoints = "_cdc_checkpoints_e2e"
	lead := k.leader(t, checkpoints, 0)
	other := lead%3 + 1
	t.Logf("killing broker %d (the checkpoint partition's leader is %d)", other, lead)
	k.kill(other)
	awaitAll(t, rs, 90*time.Second, "a follower killed")
	k.start(t, other)
	k.waitBrokers(t, 3, 120*time.Second)

	lead = k.leader(t, checkpoints, 0)
	t.Logf("killing broker %d, the checkpoint partition's leader", lead)
	k.kill(lead)
	awaitAll(t, rs, 90*time.Second, "the checkpoint leader killed")
	if now := k.leader(t, checkpoints, 0); now == lead {
		t.Fatalf("the checkpoint partition is still led by killed broker %d", lead)
	}
	k.start(t, lead)
	k.waitBrokers(t, 3, 120*time.Second)
	awaitAll(t, rs, 90*time.Second, "the cluster healed")
	finishAll(t, rs)
}

// An event topic created beforehand with a max.message.bytes below cdc's
// kafka.max_record_bytes, on both databases: a row whose event the topic
// cannot take goes to the dead-letter topic with the reason (the first
// time, found only once the topic's limit is read, after an abort and a
// resume in the process), every other row arrives exactly once, including
// a transaction of many rows whose sum is far over the limit (batches are
// cut to fit the topic), and the connector keeps running.
func TestFaultTopicRejectsLargeRecords(t *testing.T) {
	for _, d := range []matrixDriver{newPGMatrix(t), newMyMatrix(t)} {
		t.Run(d.String(), func(t *testing.T) {
			ns := uniq("toplimit")
			d.create(t, ns, nil, []matrixColumn{{name: "body", typ: "text"}})
			topic := ns + "." + ns + ".t"
			const limit = 8192
			adm := kafkaAdmin(t)
			if _, err := adm.CreateTopic(context.Background(), 1, -1, map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(limit))}, topic); err != nil {
				t.Fatal(err)
			}
			p := d.start(t, ns, "")
			p.logOnFailure()
			// Random hex: franz-go compresses, and the test is of what the
			// topic takes after that.
			hex := func(n int) string {
				b := make([]byte, n/2)
				rand.Read(b)
				return fmt.Sprintf("%x", b)
			}
			d.exec(t, "INSERT INTO "+ns+".t VALUES (1, 'small')",
				"INSERT INTO "+ns+".t VALUES (2, '"+hex(3*limit)+"')")
			var many []string
			for i := 3; i <= 40; i++ {
				many = append(many, fmt.Sprintf("(%d, '%s')", i, hex(1000)))
			}
			d.exec(t, "INSERT INTO "+ns+".t VALUES "+strings.Join(many, ", "), "INSERT INTO "+ns+".t VALUES (41, 'after')")

			c := newConsumer(t, "^"+regexp.QuoteMeta(topic)+`(\.DLT)?$`)
			es := c.until(90*time.Second, func(es []event) bool {
				n := 0
				for _, e := range es {
					if e.Topic == topic || e.Topic == topic+".DLT" {
						n++
					}
				}
				return n >= 41
			})
			es = c.settle(2 * time.Second)
			seen := map[string]int{}
			var dead []event
			for _, e := range es {
				switch e.Topic {
				case topic:
					seen[e.Key]++
				case topic + ".DLT":
					dead = append(dead, e)
				}
			}
			if len(dead) != 1 || !strings.Contains(dead[0].Key, "2") {
				t.Fatalf("dead letters %v, want one, of row 2", dead)
			}
			if r := dead[0].Headers["cdc.dlt.reason"]; !strings.Contains(r, "max.message.bytes") || !strings.Contains(r, strconv.Itoa(limit)) {
				t.Errorf("dead letter reason %q: want the topic's max.message.bytes (%d) named", r, limit)
			}
			if len(seen) != 40 {
				t.Errorf("%d rows arrived on %s, want 40 (all but row 2)", len(seen), topic)
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("row %s arrived %d times", k, n)
				}
			}
			if p.exited() {
				t.Fatalf("the connector exited; log:\n%s", p.Log())
			}
			p.stopOK()
		})
	}
}
