//go:build e2e

package e2e

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Throwaway servers for tests that change server-wide settings (binlog
// expiry, max_slot_wal_keep_size) or break the server's log on purpose:
// they must not run against the shared servers of e2e/services.sh, which
// other tests use at the same time. Each is created in a temporary
// directory with the binaries services.sh installed, listens on a free
// loopback port, and is removed at the end of the test.

// privateDir makes a temporary directory the postgres OS user can use.
func privateDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// privatePG is a throwaway PostgreSQL; stop (fast shutdown) or crash
// (immediate shutdown: no checkpoint, recovery at the next start), then
// start, restart it on the same port and data.
type privatePG struct {
	dsn                string
	stop, start, crash func()
}

// privatePostgres starts a PostgreSQL with wal_level=logical and the given
// extra settings ("name=value"), and returns its DSN (user cdc, trust
// authentication, database postgres).
func privatePostgres(t *testing.T, settings ...string) string {
	return startPrivatePG(t, settings...).dsn
}

// startPrivatePG is privatePostgres with control over the server.
func startPrivatePG(t *testing.T, settings ...string) *privatePG {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("no initdb under /usr/lib/postgresql; run e2e/services.sh up")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	dir := privateDir(t, "cdc-e2e-privpg")
	asPostgres := func(args ...string) *exec.Cmd {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	}
	if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	data := filepath.Join(dir, "data")
	if out, err := asPostgres(filepath.Join(bin, "initdb"), "-D", data, "-U", "cdc", "--auth=trust", "--no-locale", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v %s", err, out)
	}
	port := freePort(t)
	opts := fmt.Sprintf("-c wal_level=logical -c port=%d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off -c timezone=UTC", port, dir)
	for _, s := range settings {
		opts += " -c " + s
	}
	pg := &privatePG{dsn: fmt.Sprintf("postgres://cdc@127.0.0.1:%d/postgres", port)}
	pg.start = func() {
		t.Helper()
		if out, err := asPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start").CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("pg_ctl start: %v %s\n%s", err, out, log)
		}
	}
	pg.stop = func() {
		t.Helper()
		if out, err := asPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
			t.Fatalf("pg_ctl stop: %v %s", err, out)
		}
	}
	pg.crash = func() {
		t.Helper()
		if out, err := asPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
			t.Fatalf("pg_ctl stop -m immediate: %v %s", err, out)
		}
	}
	pg.start()
	t.Cleanup(func() { asPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop").Run() })
	return pg
}

// privateMariaDB starts a MariaDB configured like the one of
// e2e/services.sh (ROW binlog, FULL metadata, GTID strict mode) plus the
// given extra mariadbd flags, and returns the DSN of its user cdc.
func privateMariaDB(t *testing.T, flags ...string) string {
	return startPrivateMariaDB(t, flags...).dsn
}

// privateMy is a throwaway MariaDB; stop (SIGTERM, a clean shutdown) or
// kill (SIGKILL), then start, restart it on the same port and data.
type privateMy struct {
	dsn               string
	start, stop, kill func()
}

// startPrivateMariaDB is privateMariaDB with control over the server.
func startPrivateMariaDB(t *testing.T, flags ...string) *privateMy {
	t.Helper()
	bin, err := exec.LookPath("mariadbd")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/mariadbd"); err != nil {
			t.Fatal("no mariadbd; run e2e/services.sh up")
		}
	}
	dir := privateDir(t, "cdc-e2e-privmy")
	data := filepath.Join(dir, "data")
	if out, err := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v %s", err, out)
	}
	port := freePort(t)
	sock := filepath.Join(dir, "mysqld.sock")
	args := append([]string{"--no-defaults", "--user=root", "--datadir=" + data,
		fmt.Sprintf("--port=%d", port), "--bind-address=127.0.0.1", "--socket=" + sock,
		"--pid-file=" + filepath.Join(dir, "mariadbd.pid"), "--log-error=" + filepath.Join(dir, "mariadb.err"), "--tmpdir=" + dir,
		"--log-bin=" + filepath.Join(data, "binlog"), "--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL",
		"--server-id=1", "--gtid-strict-mode=ON", "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci", "--default-time-zone=+00:00"}, flags...)
	root := func(q string) error {
		return exec.Command("mariadb", "--no-defaults", "--protocol=socket", "-S", sock, "-uroot", "-e", q).Run()
	}
	my := &privateMy{dsn: fmt.Sprintf("cdc:cdc@tcp(127.0.0.1:%d)/cdc", port)}
	var cmd *exec.Cmd
	var done chan struct{}
	my.start = func() {
		t.Helper()
		cmd = exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting mariadbd: %v", err)
		}
		done = make(chan struct{})
		go func(c *exec.Cmd, d chan struct{}) { c.Wait(); close(d) }(cmd, done)
		deadline := time.Now().Add(60 * time.Second)
		for root("SELECT 1") != nil {
			select {
			case <-done:
				log, _ := os.ReadFile(filepath.Join(dir, "mariadb.err"))
				t.Fatalf("mariadbd exited:\n%s", log)
			default:
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(dir, "mariadb.err"))
				t.Fatalf("mariadbd not ready after 60s:\n%s", log)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	signal := func(sig syscall.Signal) {
		t.Helper()
		cmd.Process.Signal(sig)
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	my.stop = func() { signal(syscall.SIGTERM) }
	my.kill = func() { signal(syscall.SIGKILL) }
	my.start()
	t.Cleanup(func() { signal(syscall.SIGKILL) })
	for _, q := range []string{
		"CREATE USER 'cdc'@'127.0.0.1' IDENTIFIED BY 'cdc'",
		"GRANT ALL PRIVILEGES ON *.* TO 'cdc'@'127.0.0.1' WITH GRANT OPTION",
		"CREATE DATABASE cdc",
	} {
		if err := root(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return my
}

// sqlOpen opens a database/sql pool on a private MariaDB.
func sqlOpen(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("connecting to %s: %v", strings.SplitN(dsn, "@", 2)[1], err)
	}
	return db
}
