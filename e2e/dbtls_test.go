//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeServerCerts writes a test CA (ca.pem) and a server certificate for
// 127.0.0.1 (server.crt, server.key) into dir and returns their paths.
func writeServerCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	_, caPEM, chainPEM, keyPEM, err := makeServerCerts()
	if err != nil {
		t.Fatal(err)
	}
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	for p, b := range map[string][]byte{ca: caPEM, cert: chainPEM, key: keyPEM} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca, cert, key
}

// A private MariaDB with TLS whose cdc user is created REQUIRE SSL: the
// catalog, snapshot and binlog connections must all use TLS (source.tls with
// the test CA) or be refused. Without source.tls cdc is refused; with
// source.tls against a server without TLS it does not fall back to plain
// text.
func TestMySQLTLS(t *testing.T) {
	bin, err := exec.LookPath("mariadbd")
	if err != nil {
		bin = "/usr/sbin/mariadbd"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal("mariadbd not found; run e2e/services.sh up mariadb")
	}
	dir, err := os.MkdirTemp("", "cdc-e2e-mytls")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ca, cert, key := writeServerCerts(t, dir)
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "my.sock")
	if out, err := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := ports[0]
	srv := exec.Command(bin, "--no-defaults", "--user=root", "--datadir="+data, fmt.Sprintf("--port=%d", port),
		"--bind-address=127.0.0.1", "--socket="+sock, "--pid-file="+filepath.Join(dir, "pid"), "--log-error="+filepath.Join(dir, "err.log"),
		"--log-bin="+filepath.Join(data, "binlog"), "--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL",
		"--server-id=1", "--gtid-strict-mode=ON", "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
		"--default-time-zone=+00:00", "--character-set-server=utf8mb4",
		"--ssl-ca="+ca, "--ssl-cert="+cert, "--ssl-key="+key)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	root := func(sql string) {
		t.Helper()
		out, err := exec.Command("mariadb", "--no-defaults", "--protocol=socket", "-S", sock, "-uroot", "-e", sql).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", sql, err, out)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for exec.Command("mariadb-admin", "--no-defaults", "--protocol=socket", "-S", sock, "-uroot", "--connect-timeout=2", "ping").Run() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "err.log"))
			t.Fatalf("the TLS MariaDB did not start:\n%s", log)
		}
		time.Sleep(250 * time.Millisecond)
	}
	name := uniq("mytls")
	root(fmt.Sprintf(`CREATE USER 'cdc'@'127.0.0.1' IDENTIFIED BY 'cdc' REQUIRE SSL;
GRANT ALL PRIVILEGES ON *.* TO 'cdc'@'127.0.0.1';
CREATE DATABASE %[1]s;
CREATE TABLE %[1]s.t (id int PRIMARY KEY, v varchar(20));
INSERT INTO %[1]s.t VALUES (1, 'a'), (2, 'b'), (3, 'c');`, name))

	config := func(tls string) string {
		return writeConfig(t, fmt.Sprintf(`name: %[1]s
source:
  type: mysql
  dsn: cdc:cdc@tcp(127.0.0.1:%[2]d)/%[1]s
  server_id: %[3]d
  tables: ["%[1]s.*"]
  heartbeat: 1s
  status_interval: 1s
%[4]skafka:
  brokers: ["${CDC_KAFKA_BROKERS}"]
  topic_prefix: %[1]s
  checkpoint_topic: _cdc_checkpoints_e2e
  batch:
    linger: 0s
`, name, port, newServerID(), tls))
	}
	plain := config("")
	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", plain)
	if code != 1 || !strings.Contains(stdout+stderr, "Access denied") {
		t.Errorf("check without source.tls against a REQUIRE SSL user: exit %d, want 1 and access denied; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	secure := config(fmt.Sprintf("  tls:\n    ca_file: %s\n", ca))
	code, stdout, stderr = runCDC(t, 60*time.Second, nil, "check", "-c", secure)
	if code != 0 {
		t.Fatalf("check with source.tls: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	p := startCDC(t, secure)
	p.logOnFailure()
	waitStreaming(t, p)
	root(fmt.Sprintf("INSERT INTO %[1]s.t VALUES (4, 'd'), (5, 'e'); UPDATE %[1]s.t SET v = 'z' WHERE id = 1;", name))
	es := newConsumer(t, "^"+name+`\.`).atLeast(6, 60*time.Second)
	p.stopOK()
	var ops []string
	for _, e := range es {
		ops = append(ops, e.env(t).Op)
	}
	if got := strings.Join(ops, ","); got != "r,r,r,c,c,u" {
		t.Errorf("ops %s, want the snapshot (r,r,r) and the binlog (c,c,u), all over TLS", got)
	}

	// source.tls against the services' MariaDB, which has no TLS: refused,
	// not downgraded.
	noTLS := writeConfig(t, strings.Replace(myConfig(name, newServerID(), ""), "  heartbeat: 1s\n", fmt.Sprintf("  heartbeat: 1s\n  tls:\n    ca_file: %s\n", ca), 1))
	code, stdout, stderr = runCDC(t, 60*time.Second, nil, "check", "-c", noTLS)
	if code != 1 || !strings.Contains(stdout+stderr, "TLS") {
		t.Errorf("check with source.tls against a server without TLS: exit %d, want 1 naming TLS; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// A private Postgres that accepts only TLS (hostssl) for both normal and
// replication connections: a DSN with sslmode=verify-full and sslrootcert
// (the test CA) snapshots and streams; sslmode=disable is refused.
func TestPostgresTLS(t *testing.T) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("no initdb under /usr/lib/postgresql; run e2e/services.sh up")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "cdc-e2e-pgtls")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ca, cert, key := writeServerCerts(t, dir)
	asPostgres := func(args ...string) *exec.Cmd {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	}
	if out, err := exec.Command("chown", "-R", "postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	os.Chmod(ca, 0o644) // cdc reads it as root; the server its own cert and key
	data := filepath.Join(dir, "data")
	if out, err := asPostgres(filepath.Join(bin, "initdb"), "-D", data, "-U", "cdc", "--auth=trust").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v %s", err, out)
	}
	hba := "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl replication all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	exec.Command("chown", "postgres", filepath.Join(data, "pg_hba.conf")).Run()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := ports[0]
	opts := fmt.Sprintf("-c wal_level=logical -c max_replication_slots=4 -c max_wal_senders=4 -c port=%d -c listen_addresses=127.0.0.1 "+
		"-c unix_socket_directories=%s -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s", port, dir, cert, key)
	if out, err := asPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("pg_ctl start: %v %s\n%s", err, out, log)
	}
	t.Cleanup(func() { asPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop").Run() })
	psql := func(sql string) {
		t.Helper()
		out, err := exec.Command(filepath.Join(bin, "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-h", dir, "-p", fmt.Sprint(port), "-U", "cdc", "-d", "postgres", "-c", sql).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", sql, err, out)
		}
	}
	name := uniq("pgtls")
	psql(fmt.Sprintf("CREATE SCHEMA %[1]s; CREATE TABLE %[1]s.t (id int PRIMARY KEY); INSERT INTO %[1]s.t VALUES (1), (2)", name))

	config := func(query string) string {
		return writeConfig(t, fmt.Sprintf(`name: %[1]s
source:
  type: postgres
  dsn: postgres://cdc@127.0.0.1:%[2]d/postgres?%[3]s
  tables: ["%[1]s.*"]
  status_interval: 1s
kafka:
  brokers: ["${CDC_KAFKA_BROKERS}"]
  topic_prefix: %[1]s
  checkpoint_topic: _cdc_checkpoints_e2e
  batch:
    linger: 0s
`, name, port, query))
	}
	code, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", config("sslmode=disable"))
	if code != 1 || !strings.Contains(stdout+stderr, "no encryption") {
		t.Errorf("check with sslmode=disable against a hostssl-only server: exit %d, want 1; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	secure := config("sslmode=verify-full&sslrootcert=" + ca)
	code, stdout, stderr = runCDC(t, 60*time.Second, nil, "check", "-c", secure)
	if code != 0 {
		t.Fatalf("check with sslmode=verify-full: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	p := startCDC(t, secure)
	p.logOnFailure()
	waitStreaming(t, p)
	psql(fmt.Sprintf("INSERT INTO %[1]s.t VALUES (3); DELETE FROM %[1]s.t WHERE id = 1", name))
	es := newConsumer(t, "^"+name+`\.`).atLeast(5, 60*time.Second) // 2 snapshot rows, a create, a delete and its tombstone
	p.stopOK()
	if got := strings.Join(summary(t, es), ","); got != "r,r,c,d,tombstone" {
		t.Errorf("events %s, want r,r,c,d,tombstone", got)
	}
}
