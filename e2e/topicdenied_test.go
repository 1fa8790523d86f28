//go:build e2e

package e2e

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// denyWrite adds ACLs on the secure broker denying its SASL user WRITE on
// topic (with describe, allowing it DESCRIBE: the topic is then listed,
// and the produce itself is refused; without, any ACL on the topic
// leaves the user no DESCRIBE either). The returned func removes them; the
// test's end does too.
func denyWrite(t *testing.T, k *secureKafka, topic string, describe bool) (grant func()) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Plain))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	user := "User:" + k.User
	acls := []*kadm.ACLBuilder{kadm.NewACLs().Deny(user).DenyHosts().Topics(topic).Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral)}
	if describe {
		acls = append(acls, kadm.NewACLs().Allow(user).AllowHosts().Topics(topic).Operations(kadm.OpDescribe).ResourcePatternType(kadm.ACLPatternLiteral))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, acl := range acls {
		rs, err := adm.CreateACLs(ctx, acl)
		for _, r := range rs {
			err = errors.Join(err, r.Err)
		}
		if err != nil {
			t.Fatalf("ACL on %s: %v", topic, err)
		}
	}
	grant = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		del := kadm.NewACLs().Topics(topic).ResourcePatternType(kadm.ACLPatternLiteral).
			Allow(user).AllowHosts().Deny(user).DenyHosts().Operations(kadm.OpWrite, kadm.OpDescribe)
		rs, err := adm.DeleteACLs(ctx, del)
		for _, r := range rs {
			err = errors.Join(err, r.Err)
		}
		if err != nil {
			t.Errorf("removing the ACLs on %s: %v", topic, err)
		}
	}
	t.Cleanup(grant)
	return grant
}

// Tables whose topics the broker denies the connector WRITE on (ACLs), on
// both databases: one topic the connector may not even see (no DESCRIBE,
// found when it looks the topic up), one it sees but may not write (the
// produce itself is refused). By default the connector halts (exit 3) with
// a message naming the topic and the grant to make, and nothing past the
// denied change is emitted. Restarted with kafka.on_topic_denied: dlt, the
// denied tables' changes go to the dead-letter topic with the reason, the
// others arrive exactly once, and the connector keeps running. Once the
// grants are made, cdc dlt replay writes the dead letters to their topics.
func TestFaultTopicDenied(t *testing.T) {
	t.Parallel()
	k := startSecureKafka(t)
	env := []string{"CDC_KAFKA_BROKERS=" + k.Addr}
	secret := writeSecret(t, k.Password)
	for _, d := range []matrixDriver{newPGMatrix(t), newMyMatrix(t)} {
		t.Run(d.String(), func(t *testing.T) {
			ns := uniq("denied")
			d.create(t, ns, []string{"CREATE TABLE " + ns + ".hidden (id int PRIMARY KEY, body text)", "CREATE TABLE " + ns + ".listed (id int PRIMARY KEY, body text)"},
				[]matrixColumn{{name: "body", typ: "text"}})
			open, hidden, listed := ns+"."+ns+".t", ns+"."+ns+".hidden", ns+"."+ns+".listed"
			super, err := kgo.NewClient(kgo.SeedBrokers(k.Plain))
			if err != nil {
				t.Fatal(err)
			}
			defer super.Close()
			if _, err := kadm.NewClient(super).CreateTopic(t.Context(), 1, -1, nil, listed); err != nil {
				t.Fatal(err)
			}
			grants := []func(){denyWrite(t, k, hidden, false), denyWrite(t, k, listed, true)}
			base := secureExtra(k, secret) + "  batch:\n    linger: 0s\n"
			cfg := writeConfig(t, d.config(ns, base))
			p := startCDC(t, cfg, env...)
			p.logOnFailure()
			waitStreaming(t, p)
			d.exec(t, "INSERT INTO "+ns+".t VALUES (1, 'before')")
			c := k.consumer(t, "^"+regexp.QuoteMeta(ns)+`\.`)
			c.atLeast(1, 60*time.Second)
			d.exec(t, "INSERT INTO "+ns+".hidden VALUES (1, 'denied')", "INSERT INTO "+ns+".t VALUES (2, 'after')")
			code := p.waitExit(90 * time.Second)
			last := lastLine(p.Log())
			if code != 3 || !strings.Contains(last, hidden) || !strings.Contains(last, "--operation Write") || !strings.Contains(last, "on_topic_denied") {
				t.Fatalf("exit %d, want 3 with a last line naming topic %s, the grant and kafka.on_topic_denied; last line:\n%s\nlog:\n%s", code, hidden, last, p.Log())
			}
			if es := c.settle(3 * time.Second); len(es) != 1 {
				t.Fatalf("halted: %d events arrived (%v), want only row 1 of t: nothing past the denied change", len(es), summary(t, es))
			}

			dltCfg := writeConfig(t, d.config(ns, base+"  on_topic_denied: dlt\n"))
			p = startCDC(t, dltCfg, env...)
			p.logOnFailure()
			waitStreaming(t, p)
			d.exec(t, "INSERT INTO "+ns+".hidden VALUES (2, 'denied too')", "INSERT INTO "+ns+".listed VALUES (1, 'listed, denied')",
				"INSERT INTO "+ns+".t VALUES (3, 'later')")
			c.until(90*time.Second, func(es []event) bool { return len(es) >= 6 })
			es := c.settle(3 * time.Second)
			rows, dead := map[string]int{}, map[string]string{}
			for _, e := range es {
				switch e.Topic {
				case open:
					rows[e.Key]++
				case hidden + ".DLT", listed + ".DLT":
					dead[e.Topic+" "+e.Key] = e.Headers["cdc.dlt.reason"]
				default:
					t.Errorf("event on %s", e.Topic)
				}
			}
			if len(rows) != 3 {
				t.Errorf("rows of t: %v, want 1, 2 and 3", rows)
			}
			for key, n := range rows {
				if n != 1 {
					t.Errorf("row %s of t arrived %d times", key, n)
				}
			}
			if len(dead) != 3 {
				t.Errorf("dead letters %v, want rows 1 and 2 of hidden and row 1 of listed", dead)
			}
			for key, reason := range dead {
				if !strings.Contains(reason, "TOPIC_AUTHORIZATION_FAILED") || !strings.Contains(reason, strings.TrimSuffix(strings.Fields(key)[0], ".DLT")) {
					t.Errorf("dead letter %s: reason %q, want the topic and the broker's TOPIC_AUTHORIZATION_FAILED", key, reason)
				}
			}
			if p.exited() {
				t.Fatalf("the connector exited; log:\n%s", p.Log())
			}
			p.stopOK()

			for _, grant := range grants {
				grant()
			}
			code, stdout, stderr := runCDC(t, 90*time.Second, env, "dlt", "replay", "-c", dltCfg)
			if code != 0 || !strings.Contains(stdout, "replayed 3 dead-lettered rows as 3 records") {
				t.Fatalf("dlt replay after the grants: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			es = c.settle(3 * time.Second)
			got := map[string]int{}
			for _, e := range es {
				if e.Topic == hidden || e.Topic == listed {
					got[e.Topic+" "+e.Key]++
				}
			}
			if len(got) != 3 {
				t.Errorf("replayed into the granted topics: %v, want rows 1 and 2 of hidden and row 1 of listed", got)
			}
		})
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
