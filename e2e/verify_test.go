//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cdc verify on both databases: a table with existing rows (the initial
// snapshot) and streamed changes verifies clean while a writer keeps
// changing it (rows changed during the run are counted, not flagged), in
// snapshot chunks of 64 rows. Then the events are corrupted the ways a
// broken connector would: an update, a delete and a create written to the
// table's topic that the database never had, and, on MariaDB, an update
// the binlog never saw (sql_log_bin=0). The next run names each of those
// rows, with the column that differs, and exits 1.
func TestVerify(t *testing.T) {
	t.Parallel()
	for _, d := range []matrixDriver{newPGMatrix(t), newMyMatrix(t)} {
		t.Run(d.String(), func(t *testing.T) {
			ns := uniq("verify")
			d.create(t, ns, nil, []matrixColumn{{name: "body", typ: "varchar(40)"}})
			var rows []string
			for i := 1; i <= 2000; i++ {
				rows = append(rows, fmt.Sprintf("(%d, 'row %d')", i, i))
			}
			d.exec(t, "INSERT INTO "+ns+".t VALUES "+strings.Join(rows, ", "))
			// Its own history topic: the forged checkpoint below goes there.
			cfg := writeConfig(t, d.config(ns, "  history_topic: "+ns+".cp-history\n  batch:\n    linger: 10ms\nsnapshot:\n  chunk_size: 64\n"))
			p := startCDC(t, cfg)
			p.logOnFailure()
			waitStreaming(t, p)
			d.exec(t, "UPDATE "+ns+".t SET body = 'updated' WHERE id <= 20", "DELETE FROM "+ns+".t WHERE id > 1990")
			topic := ns + "." + ns + ".t"
			c := newConsumer(t, "^"+regexp.QuoteMeta(topic)+"$")
			c.atLeast(2000+20+10, 60*time.Second)

			// A topic of the connector's whose records retention has
			// deleted (start = end > 0): verify must not wait for them.
			emptied := ns + ".emptied"
			createTopicsAt(t, []string{brokers}, emptied)
			ecl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
			if err != nil {
				t.Fatal(err)
			}
			res := ecl.ProduceSync(t.Context(), &kgo.Record{Topic: emptied, Value: []byte("x")})
			rec, err := res.First()
			if err != nil {
				t.Fatal(err)
			}
			del := kadm.Offsets{}
			del.Add(kadm.Offset{Topic: emptied, Partition: rec.Partition, At: rec.Offset + 1})
			dr, err := kadm.NewClient(ecl).DeleteRecords(t.Context(), del)
			if err == nil {
				err = dr.Error()
			}
			if err != nil {
				t.Fatalf("deleting the records of %s: %v", emptied, err)
			}
			ecl.Close()

			// A writer changes rows while the first run verifies.
			var wg sync.WaitGroup
			stop := make(chan struct{})
			writes := 0
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(1, 2))
				for i := 0; ; i++ {
					select {
					case <-stop:
						writes = i
						return
					default:
					}
					id := 21 + rng.IntN(1960)
					d.exec(t, fmt.Sprintf("UPDATE %s.t SET body = 'during %d' WHERE id = %d", ns, i, id),
						fmt.Sprintf("INSERT INTO %s.t VALUES (%d, 'new')", ns, 10000+i),
						fmt.Sprintf("DELETE FROM %s.t WHERE id = %d", ns, 10000+i-3))
					time.Sleep(5 * time.Millisecond)
				}
			}()
			code, stdout, stderr := runCDC(t, 3*time.Minute, nil, "verify", "-c", cfg)
			close(stop)
			wg.Wait()
			table := ns + ".t: "
			if code != 0 || !strings.Contains(stdout, table) || !strings.Contains(stdout, " 0 differ, 0 missing, 0 extra") ||
				!regexp.MustCompile(`checkpoint history \(\S+\): [1-9]\d* checkpoints, 0 gaps, 0 position regressions`).MatchString(stdout) {
				t.Fatalf("verify under writes: exit %d, want 0 and no mismatch; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			var matched int
			fmt.Sscanf(stdout[strings.Index(stdout, table)+len(table):], "%d match", &matched)
			if matched < 1900 {
				t.Errorf("verify under writes: %d rows matched, want most of the ~1990 rows; stdout:\n%s", matched, stdout)
			}
			t.Logf("under %d writes of 3 statements: %s", writes, strings.TrimSpace(stdout))

			// Corrupt the events.
			es := c.settle(2 * time.Second)
			last := map[string]event{}
			for _, e := range es {
				last[e.Key] = e
			}
			forge := func(id int, op string, body any) *kgo.Record {
				e, ok := last[fmt.Sprintf(`{"id":%d}`, id)]
				if !ok {
					e = last[`{"id":5}`]
				}
				var v map[string]any
				if err := json.Unmarshal(e.Value, &v); err != nil {
					t.Fatal(err)
				}
				after := v["after"].(map[string]any)
				after["id"], after["body"] = float64(id), body
				v["op"] = op
				if op == "d" {
					v["before"], v["after"] = after, nil
				}
				b, _ := json.Marshal(v)
				return &kgo.Record{Topic: topic, Partition: e.Partition, Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: b}
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			bogus := []*kgo.Record{forge(5, "u", "invented"), forge(9, "d", nil), forge(50000, "c", "invented")}
			// 50000 lands in 5's partition; its key would hash elsewhere, and
			// the verifier reads every partition.
			bogus = append(bogus, forgeHistory(t, ns+".cp-history", ns))
			if err := cl.ProduceSync(context.Background(), bogus...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			want := []string{ns + `.t {"id":5}: differs (body)`, ns + `.t {"id":9}: missing`, ns + `.t {"id":50000}: extra`}
			if d.String() == "mariadb" {
				d.exec(t, "SET SESSION sql_log_bin = 0", "UPDATE "+ns+".t SET body = 'unlogged' WHERE id = 7", "SET SESSION sql_log_bin = 1")
				want = append(want, ns+`.t {"id":7}: differs (body)`)
			}
			code, stdout, stderr = runCDC(t, 3*time.Minute, nil, "verify", "-c", cfg)
			if code != 1 || !strings.Contains(stderr, "do not match the events") {
				t.Errorf("verify after the corruption: exit %d, want 1; stderr:\n%s", code, stderr)
			}
			for _, w := range want {
				if !strings.Contains(stdout, "  "+w+"\n") {
					t.Errorf("verify does not report %q; stdout:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stdout, " lies before checkpoint ") {
				t.Errorf("verify does not report the forged checkpoint's position regression; stdout:\n%s", stdout)
			}
			if n := strings.Count(stdout, "\n  "+ns+".t "); n != len(want) {
				t.Errorf("verify lists %d rows, want %d; stdout:\n%s", n, len(want), stdout)
			}

			// That run's snapshot rows are events too: they repaired rows 5,
			// 7 and 9 for every consumer, as they do for the rebuilt rows.
			// Row 50000, which no snapshot row names, stays extra. Run
			// after run, the metrics say so.
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			vp := startCommand(t, nil, "verify", "-c", cfg, "-every", "1s", "-listen", addr)
			extra := fmt.Sprintf(`cdc_verify_rows{result="extra",table="%s.t"} 1`, ns)
			differs := fmt.Sprintf(`cdc_verify_rows{result="differs",table="%s.t"} 0`, ns)
			var metrics string
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
				metrics = scrape("http://" + addr + "/metrics")
				if strings.Contains(metrics, "cdc_verify_runs_total 2") {
					break
				}
				if vp.exited() || time.Now().After(deadline) {
					t.Fatalf("verify -every: no second run; metrics:\n%s\nlog:\n%s", metrics, vp.Log())
				}
			}
			if !strings.Contains(metrics, extra) || !strings.Contains(metrics, differs) {
				t.Errorf("verify -every metrics: want %q and %q; got:\n%s", extra, differs, metrics)
			}
			vp.stopOK()
			if p.exited() {
				t.Fatalf("the connector exited; log:\n%s", p.Log())
			}
			p.stopOK()
		})
	}
}

// scrape is the body of url, or "" while it does not answer 200.
func scrape(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

// forgeHistory returns a checkpoint history record for topic of connector name that
// follows its last one but goes back to its first one's position, as a
// connector resuming at a wrong position would write.
func forgeHistory(t *testing.T, topic, name string) *kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	var first, last map[string]any
	var lastRec *kgo.Record
	for n := int64(0); n < end.Offset-1; {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			n = r.Offset
			if string(r.Key) != name {
				return
			}
			var v map[string]any
			if json.Unmarshal(r.Value, &v) != nil {
				return
			}
			if first == nil {
				first = v
			}
			last, lastRec = v, r
		})
	}
	if first == nil {
		t.Fatalf("no checkpoint history of %s", name)
	}
	cp := last["checkpoint"].(map[string]any)
	cp["seq"] = cp["seq"].(float64) + 1
	cp["position"] = first["checkpoint"].(map[string]any)["position"]
	b, _ := json.Marshal(last)
	return &kgo.Record{Topic: topic, Partition: lastRec.Partition, Key: lastRec.Key, Value: b}
}
