//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// secureExtra is the kafka section's TLS (with the client certificate) and
// SASL keys for k, with the password read from passwordFile (${file:...}).
func secureExtra(k *secureKafka, passwordFile string) string {
	return fmt.Sprintf(`  tls:
    ca_file: %s
    cert_file: %s
    key_file: %s
  sasl:
    mechanism: scram-sha-512
    username: %s
    password: ${file:%s}
  compression: zstd
`, k.CAFile, k.CertFile, k.KeyFile, k.User, passwordFile)
}

func writeSecret(t *testing.T, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cdc connects to a SASL_SSL listener (SCRAM-SHA-512 over mutual TLS, a CA
// made by the test) and delivers a snapshot and streamed changes exactly once,
// across a restart; check, tail and positions connect the same way; a
// wrong password is a one-line error naming the mechanism.
func TestKafkaSASLSSL(t *testing.T) {
	k := startSecureKafka(t)
	env := []string{"CDC_KAFKA_BROKERS=" + k.Addr}
	name := uniq("pgsasl")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY, v text)",
		"INSERT INTO "+name+".t SELECT g, 'before' FROM generate_series(1, 100) g")
	dropSlotAtEnd(t, db, name, name)
	cfg := writeConfig(t, pgConfig(name, secureExtra(k, writeSecret(t, k.Password))+"  batch:\n    linger: 0s\n"))

	code, stdout, stderr := runCDC(t, 90*time.Second, env, "check", "-c", cfg)
	if code != 0 || !strings.Contains(stdout, `(TLS, SASL SCRAM-SHA-512 as "cdc"): reachable`) {
		t.Fatalf("check: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	p := startCDC(t, cfg, env...)
	p.logOnFailure()
	waitStreaming(t, p)
	for i := 0; i < 20; i++ {
		pgExec(t, db, fmt.Sprintf("INSERT INTO %s.t SELECT g, 'streamed' FROM generate_series(%d, %d) g", name, 101+i*10, 110+i*10))
	}
	c := k.consumer(t, "^"+name+`\.`)
	c.atLeast(300, 90*time.Second)
	p.stopOK()
	p = startCDC(t, cfg, env...)
	p.logOnFailure()
	waitStreaming(t, p)
	pgExec(t, db, "INSERT INTO "+name+".t SELECT g, 'after restart' FROM generate_series(301, 310) g")
	c.atLeast(310, 60*time.Second)
	es := c.settle(3 * time.Second)
	p.stopOK()
	rows := byKey(es, name+"."+name+".t")
	if len(es) != 310 || len(rows) != 310 {
		t.Errorf("got %d events for %d keys; want 310 for 310 keys, each once", len(es), len(rows))
	}
	for key, evs := range rows {
		if len(evs) != 1 {
			t.Errorf("key %s: %d events %v; want one", key, len(evs), summary(t, evs))
		}
	}

	// kafka.compression: zstd reaches the producer.
	cl, err := k.client(kgo.ConsumeTopics(name+"."+name+".t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(t.Context(), 30*time.Second)
	recs := cl.PollRecords(pctx, 1).Records()
	pcancel()
	cl.Close()
	if len(recs) == 0 || recs[0].Attrs.CompressionType() != 4 {
		t.Errorf("want a zstd-compressed batch (codec 4), got %d records%s", len(recs), codecOf(recs))
	}

	code, stdout, stderr = runCDC(t, 60*time.Second, env, "tail", "-c", cfg, "-n", "3", "-timeout", "30s")
	if code != 0 || strings.Count(stdout, "\n") < 3 {
		t.Errorf("tail over SASL_SSL: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCDC(t, 60*time.Second, env, "positions", "-c", cfg)
	if code != 0 || stdout == "" {
		t.Errorf("positions over SASL_SSL: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// The listener requires a client certificate: kafka.tls.cert_file and
	// key_file are what lets cdc in.
	extra := secureExtra(k, writeSecret(t, k.Password))
	noCert := strings.NewReplacer("    cert_file: "+k.CertFile+"\n", "", "    key_file: "+k.KeyFile+"\n", "").Replace(extra)
	if noCert == extra {
		t.Fatal("the config has no client certificate to remove")
	}
	code, stdout, _ = runCDC(t, 90*time.Second, env, "check", "-c", writeConfig(t, pgConfig(name, noCert)))
	if code != 1 || !strings.Contains(stdout, "kafka.tls.cert_file") {
		t.Errorf("check without the client certificate: exit %d, want 1 and a hint naming kafka.tls.cert_file; stdout:\n%s", code, stdout)
	}

	// The other mechanisms reach the broker the same way.
	for _, mech := range []string{"scram-sha-256", "plain"} {
		other := strings.Replace(extra, "mechanism: scram-sha-512", "mechanism: "+mech, 1)
		code, stdout, stderr := runCDC(t, 90*time.Second, env, "check", "-c", writeConfig(t, pgConfig(name, other)))
		if code != 0 || !strings.Contains(stdout, "SASL "+strings.ToUpper(mech)) {
			t.Errorf("check with SASL %s: exit %d; stdout:\n%s\nstderr:\n%s", mech, code, stdout, stderr)
		}
	}

	wrong := "wrong-" + randHex(8)
	bad := writeConfig(t, pgConfig(name, secureExtra(k, writeSecret(t, wrong))))
	code, stdout, stderr = runCDC(t, 90*time.Second, env, "run", "-c", bad)
	if code != 1 {
		t.Errorf("run with a wrong SASL password: exit %d, want 1; stderr:\n%s", code, stderr)
	}
	assertOneLineError(t, stderr, "SCRAM-SHA-512")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	t.Logf("run with a wrong SASL password: %s", last)
	if len(lines) > 1 && strings.HasPrefix(lines[len(lines)-2], "cdc: ") || !strings.Contains(last, "authenticating to kafka brokers "+k.Addr+" with SASL SCRAM-SHA-512") {
		t.Errorf("run with a wrong SASL password: want one line naming the brokers and the mechanism, got:\n%s", stderr)
	}
	code, stdout, _ = runCDC(t, 90*time.Second, env, "check", "-c", bad)
	if code != 1 || !strings.Contains(stdout, "SCRAM-SHA-512") {
		t.Errorf("check with a wrong SASL password: exit %d; stdout:\n%s", code, stdout)
	}
	for _, s := range []string{stdout, stderr} {
		if strings.Contains(s, wrong) {
			t.Errorf("the wrong password shows:\n%s", s)
		}
	}
}

func codecOf(recs []*kgo.Record) string {
	if len(recs) == 0 {
		return ""
	}
	return fmt.Sprintf(", codec %d", recs[0].Attrs.CompressionType())
}

// scanSecrets fails the test when any of outputs holds a secret.
func scanSecrets(t *testing.T, what string, outputs map[string]string, secrets ...string) {
	t.Helper()
	for where, s := range outputs {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s: %s shows the secret %q:\n%s", what, where, secret, s)
			}
		}
	}
}

// hasCommand reports whether the binary knows the command (cdc plan may
// not exist yet).
func hasCommand(t *testing.T, cmd string) bool {
	_, _, stderr := runCDC(t, 10*time.Second, nil) // no command: the usage
	return strings.Contains(stderr, "\n  "+cmd+" ")
}

// No password, of the database or of Kafka, ever shows in what cdc prints
// (stdout, stderr at log level debug, exit errors) or serves (/metrics,
// /healthz), whether the login fails or succeeds.
func TestSecretsNeverPrinted(t *testing.T) {
	db := pgConnect(t)
	name := uniq("pgleak")
	dbSecret := "dbpw-" + randHex(12)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)",
		fmt.Sprintf("CREATE ROLE %s LOGIN REPLICATION SUPERUSER PASSWORD '%s'", name, dbSecret))
	dropSlotAtEnd(t, db, name, name)
	t.Cleanup(func() { db.Exec(t.Context(), "DROP ROLE IF EXISTS "+name) })
	u, err := url.Parse(pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	withPassword := func(pw string) string {
		v := *u
		v.User = url.UserPassword(name, pw)
		return v.String()
	}
	commands := [][]string{{"check"}, {"run"}}
	if hasCommand(t, "plan") {
		commands = append(commands, []string{"plan"})
	} else {
		t.Log("cdc has no plan command yet: not scanned")
	}
	debug := "log:\n  level: debug\n"

	t.Run("failing database password", func(t *testing.T) {
		wrong := "wrongdb-" + randHex(12)
		pgCfg := writeConfig(t, strings.Replace(pgConfig(name, debug), "${CDC_PG_DSN}", "${file:"+writeSecret(t, withPassword(wrong))+"}", 1))
		myDSN := myDSNFor(t, "cdc", wrong)
		myCfg := writeConfig(t, myConfig(name, newServerID(), debug))
		// Malformed DSNs: the drivers' parse errors must not quote them.
		badURL := writeConfig(t, strings.Replace(pgConfig(name, debug), "${CDC_PG_DSN}",
			"postgres://"+name+":"+wrong+"@127.0.0.1:notaport/cdc", 1))
		badKV := writeConfig(t, strings.Replace(pgConfig(name, debug), "${CDC_PG_DSN}",
			"'host=127.0.0.1 port=x user="+name+" password="+wrong+"'", 1))
		for _, c := range []struct {
			cfg string
			env []string
		}{
			{pgCfg, nil}, {myCfg, []string{"CDC_MYSQL_DSN=" + myDSN}}, {badURL, nil}, {badKV, nil},
			{myCfg, []string{"CDC_MYSQL_DSN=cdc:" + wrong + "@tcp(127.0.0.1:1/cdc"}},
		} {
			for _, cmd := range commands {
				code, stdout, stderr := runCDC(t, 60*time.Second, c.env, append(cmd, "-c", c.cfg)...)
				if code == 0 {
					t.Errorf("%s with a wrong password succeeded", cmd[0])
				}
				scanSecrets(t, cmd[0], map[string]string{"stdout": stdout, "stderr": stderr}, wrong)
			}
		}
	})

	t.Run("working database password", func(t *testing.T) {
		port := freePort(t)
		cfg := writeConfig(t, strings.Replace(pgConfig(name, debug+fmt.Sprintf("metrics:\n  listen: 127.0.0.1:%d\n", port)),
			"${CDC_PG_DSN}", withPassword(dbSecret), 1))
		code, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
		if code != 0 {
			t.Errorf("check: exit %d\n%s\n%s", code, stdout, stderr)
		}
		scanSecrets(t, "check", map[string]string{"stdout": stdout, "stderr": stderr}, dbSecret)
		p := startCDC(t, cfg)
		waitStreaming(t, p)
		pgExec(t, db, "INSERT INTO "+name+".t VALUES (1)")
		newConsumer(t, "^"+name+`\.`).atLeast(1, 60*time.Second)
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		served := map[string]string{"/metrics": httpGet(t, base+"/metrics")}
		_, served["/healthz"] = httpStatus(t, base+"/healthz")
		p.stopOK()
		served["log"] = p.Log()
		scanSecrets(t, "run", served, dbSecret)
	})

	t.Run("working mysql password", func(t *testing.T) {
		name := name + "m" // a connector of its own: the one above has a postgres checkpoint
		my := myConnect(t)
		mySecret := "mypw-" + randHex(12)
		myDatabase(t, my, name)
		myExec(t, my, "CREATE TABLE "+name+".t (id int PRIMARY KEY)",
			fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'", name, mySecret),
			fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'127.0.0.1'", name))
		t.Cleanup(func() { my.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'127.0.0.1'", name)) })
		port := freePort(t)
		for i, format := range []string{"text", "json"} {
			cfg := writeConfig(t, myConfig(name, newServerID(), fmt.Sprintf("log:\n  level: debug\n  format: %s\nmetrics:\n  listen: 127.0.0.1:%d\n", format, port)))
			env := []string{"CDC_MYSQL_DSN=" + myDSNFor(t, name, mySecret)}
			code, stdout, stderr := runCDC(t, 60*time.Second, env, "check", "-c", cfg)
			if code != 0 {
				t.Errorf("check: exit %d\n%s\n%s", code, stdout, stderr)
			}
			scanSecrets(t, "check", map[string]string{"stdout": stdout, "stderr": stderr}, mySecret)
			p := startCDC(t, cfg, env...)
			p.logOnFailure()
			waitStreaming(t, p)
			myExec(t, my, fmt.Sprintf("INSERT INTO %s.t VALUES (%d)", name, i))
			newConsumer(t, "^"+name+`\.`).atLeast(1, 60*time.Second)
			served := map[string]string{"/metrics": httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))}
			p.stopOK()
			served["log"] = p.Log()
			if !strings.Contains(served["log"], "go-mysql") {
				t.Errorf("the %s debug log has no go-mysql records: the scan would miss what the binlog library logs", format)
			}
			scanSecrets(t, "run", served, mySecret)
		}
	})

	t.Run("kafka SASL password", func(t *testing.T) {
		k := startSecureKafka(t)
		env := []string{"CDC_KAFKA_BROKERS=" + k.Addr}
		// A connector of its own: the slot of the one above has no
		// checkpoint on this broker.
		name := name + "k"
		pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
		dropSlotAtEnd(t, db, name, name)
		wrong := "wrongsasl-" + randHex(12)
		bad := writeConfig(t, pgConfig(name, secureExtra(k, writeSecret(t, wrong))+debug))
		for _, cmd := range commands {
			code, stdout, stderr := runCDC(t, 90*time.Second, env, append(cmd, "-c", bad)...)
			if code == 0 {
				t.Errorf("%s with a wrong SASL password succeeded", cmd[0])
			}
			scanSecrets(t, cmd[0], map[string]string{"stdout": stdout, "stderr": stderr}, wrong)
		}

		port := freePort(t)
		good := writeConfig(t, strings.Replace(pgConfig(name, secureExtra(k, writeSecret(t, k.Password))+debug+
			fmt.Sprintf("metrics:\n  listen: 127.0.0.1:%d\n", port)), "${CDC_PG_DSN}", withPassword(dbSecret), 1))
		p := startCDC(t, good, env...)
		p.logOnFailure()
		waitStreaming(t, p)
		pgExec(t, db, "INSERT INTO "+name+".t VALUES (2)")
		k.consumer(t, "^"+name+`\.`).atLeast(1, 60*time.Second)
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		served := map[string]string{"/metrics": httpGet(t, base+"/metrics")}
		p.stopOK()
		served["log"] = p.Log()
		scanSecrets(t, "run", served, k.Password, dbSecret)
	})
}
