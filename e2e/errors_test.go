//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func replaceStatus(cfg, interval string) string {
	return strings.Replace(cfg, "status_interval: 1s", "status_interval: "+interval, 1)
}

// assertOneLineError checks that stderr ends with "cdc: ..." lines (one
// per error) of which one contains want, and holds no panic or stack trace.
func assertOneLineError(t *testing.T, stderr, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last, found := lines[len(lines)-1], false
	for i := len(lines) - 1; i >= 0 && strings.HasPrefix(lines[i], "cdc: "); i-- {
		found = found || strings.Contains(lines[i], want)
	}
	if !found {
		t.Errorf("last stderr line %q: want a final \"cdc: \" line containing %q; stderr:\n%s", last, want, stderr)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("stderr holds a panic or stack trace:\n%s", stderr)
	}
}

func TestBadInput(t *testing.T) {
	db := pgConnect(t)
	name := uniq("pgbad")
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	dropSlotAtEnd(t, db, name, name)
	good := pgConfig(name, "")

	u, err := url.Parse(pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	wrongPass := *u
	wrongPass.User = url.UserPassword(u.User.Username(), "wrong-password")
	norepl := *u
	norepl.User = url.UserPassword(name+"_norepl", "pw")
	pgExec(t, db, fmt.Sprintf("CREATE ROLE %s_norepl LOGIN PASSWORD 'pw'", name))
	t.Cleanup(func() { db.Exec(context.Background(), "DROP ROLE IF EXISTS "+name+"_norepl") })

	cases := []struct {
		name   string
		config string
		env    []string
		code   int
		want   string
	}{
		{"malformed YAML", "name: [unclosed\n", nil, 2, "connector.yaml:"},
		{"unknown key", strings.Replace(good, "  slot:", "  slott:", 1), nil, 2, `unknown key "slott"`},
		{"missing env var", strings.Replace(good, "${CDC_PG_DSN}", "postgres://cdc:${NO_SUCH_PASSWORD}@127.0.0.1/cdc", 1), nil, 2, "NO_SUCH_PASSWORD"},
		{"wrong password", strings.Replace(good, "${CDC_PG_DSN}", wrongPass.String(), 1), nil, 1, "password authentication failed"},
		{"unreachable database", strings.Replace(good, "${CDC_PG_DSN}", "postgres://cdc:cdc@127.0.0.1:1/cdc", 1), nil, 1, "127.0.0.1"},
		{"unreachable broker", strings.Replace(good, "${CDC_KAFKA_BROKERS}", "127.0.0.1:1", 1), nil, 1, "127.0.0.1:1"},
		{"missing replication privilege", strings.Replace(good, "${CDC_PG_DSN}", norepl.String(), 1), nil, 1, "WITH REPLICATION"},
		{"table that does not exist", strings.Replace(good, `["`+name+`.*"]`, `["`+name+`.nope"]`, 1), nil, 1, "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeConfig(t, c.config)
			code, _, stderr := runCDC(t, 60*time.Second, c.env, "run", "-c", cfg)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			assertOneLineError(t, stderr, c.want)
		})
	}

	t.Run("check reports the missing privilege with its fix", func(t *testing.T) {
		cfg := writeConfig(t, strings.Replace(good, "${CDC_PG_DSN}", norepl.String(), 1))
		code, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
		if code != 1 || !strings.Contains(stdout, "ALTER ROLE") {
			t.Errorf("check: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Run("check passes on a good config", func(t *testing.T) {
		cfg := writeConfig(t, good)
		code, stdout, stderr := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
		if code != 0 {
			t.Errorf("check: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
}

// A second PostgreSQL with wal_level=replica: run and check both name the setting and its fix.
func TestWalLevelNotLogical(t *testing.T) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("no initdb under /usr/lib/postgresql; run e2e/services.sh up")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "cdc-e2e-pgreplica")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	asPostgres := func(args ...string) *exec.Cmd {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	}
	if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	data := filepath.Join(dir, "data")
	if out, err := asPostgres(filepath.Join(bin, "initdb"), "-D", data, "-U", "cdc", "--auth=trust").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v %s", err, out)
	}
	const port = "55499"
	opts := fmt.Sprintf("-c wal_level=replica -c port=%s -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s", port, dir)
	if out, err := asPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl start: %v %s", err, out)
	}
	t.Cleanup(func() { asPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop").Run() })
	dsn := "postgres://cdc@127.0.0.1:" + port + "/postgres"
	exec.Command(filepath.Join(bin, "psql"), dsn, "-c", "CREATE TABLE public.t (id int PRIMARY KEY)").Run()

	cfg := writeConfig(t, fmt.Sprintf(`name: walreplica
source:
  type: postgres
  dsn: %s
  tables: [public.t]
kafka:
  brokers: ["${CDC_KAFKA_BROKERS}"]
`, dsn))
	code, _, stderr := runCDC(t, 60*time.Second, nil, "run", "-c", cfg)
	if code != 1 {
		t.Errorf("run: exit %d, want 1", code)
	}
	assertOneLineError(t, stderr, "wal_level = logical")
	code, stdout, _ := runCDC(t, 60*time.Second, nil, "check", "-c", cfg)
	if code != 1 || !strings.Contains(stdout, "wal_level") {
		t.Errorf("check: exit %d; stdout:\n%s", code, stdout)
	}
}
