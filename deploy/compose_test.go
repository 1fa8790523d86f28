package deploy

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/cdc-go/cdc/config"
)

// repo is the repository root, where docker-compose.yml is.
const repo = ".."

// connectorTarget is where the image's default command reads its config
// (Dockerfile: CMD ["run", "-c", "/etc/cdc/cdc.yaml"]).
const connectorTarget = "/etc/cdc/cdc.yaml"

// connectors lists the cdc services: the database each captures, the
// example it mounts and the host port of its metrics and health endpoint.
var connectors = []struct {
	service, database, example, hostPort string
}{
	{"cdc-postgres", "postgres", "examples/postgres.yaml", "9187"},
	{"cdc-mariadb", "mariadb", "examples/mariadb.yaml", "9188"},
	{"cdc-mysql", "mysql", "examples/mysql.yaml", "9189"},
}

// loadCompose loads docker-compose.yml as `docker compose config` would:
// interpolated, normalised, consistency-checked, with paths resolved
// against the repository, in an empty environment (so the file's own
// ${VAR:-default}s apply, not the test machine's variables).
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	abs, err := filepath.Abs(repo)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(abs, "docker-compose.yml")},
		cli.WithWorkingDirectory(abs),
		cli.WithName("cdc"),
		cli.WithEnv(nil),
		cli.WithDiscardEnvFile,
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("loading docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return s
}

// The file has the three databases, Kafka and one connector per database,
// and nothing else.
func TestComposeServices(t *testing.T) {
	p := loadCompose(t)
	want := []string{"cdc-mariadb", "cdc-mysql", "cdc-postgres", "kafka", "mariadb", "mysql", "postgres"}
	got := p.ServiceNames()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	images := map[string]*regexp.Regexp{
		"postgres": regexp.MustCompile(`^postgres:16(\.|$)`),
		"mariadb":  regexp.MustCompile(`^mariadb:10\.11(\.|$)`),
		"mysql":    regexp.MustCompile(`^mysql:8\.4(\.|$)`),
		"kafka":    regexp.MustCompile(`^apache/kafka:4\.`),
	}
	for name, re := range images {
		if img := service(t, p, name).Image; !re.MatchString(img) {
			t.Errorf("%s: image %q, want %s", name, img, re)
		}
	}
}

// The servers are configured as cdc check requires: logical WAL on
// Postgres; ROW events with full images and metadata on MySQL and MariaDB,
// GTIDs on MySQL.
func TestComposeDatabaseSettings(t *testing.T) {
	p := loadCompose(t)
	for name, flags := range map[string][]string{
		"postgres": {"wal_level=logical"},
		"mariadb":  {"--log-bin=binlog", "--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL", "--server-id=1"},
		"mysql":    {"--log-bin=binlog", "--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL", "--gtid-mode=ON", "--enforce-gtid-consistency=ON", "--server-id=1"},
	} {
		cmd := service(t, p, name).Command
		for _, f := range flags {
			if !slices.Contains(cmd, f) {
				t.Errorf("%s: command %q lacks %q", name, cmd, f)
			}
		}
	}
}

// Kafka advertises one listener to the containers and one to the host,
// and the host one is published on the same port.
func TestComposeKafkaListeners(t *testing.T) {
	k := service(t, loadCompose(t), "kafka")
	adv := advertised(t, k)
	var inNet, host string
	for _, a := range adv {
		h, port, _ := net.SplitHostPort(a)
		switch h {
		case "kafka":
			inNet = a
		case "localhost":
			host = port
		}
	}
	if inNet == "" || host == "" {
		t.Fatalf("KAFKA_ADVERTISED_LISTENERS %v: want one on kafka:PORT (containers) and one on localhost:PORT (host)", adv)
	}
	if !published(k, host, host) {
		t.Errorf("kafka: the host listener localhost:%s is not published as %s:%s (ports %v)", host, host, host, k.Ports)
	}
}

// advertised is kafka's advertised host:port pairs.
func advertised(t *testing.T, k types.ServiceConfig) []string {
	t.Helper()
	v := k.Environment["KAFKA_ADVERTISED_LISTENERS"]
	if v == nil {
		t.Fatal("kafka: KAFKA_ADVERTISED_LISTENERS is not set")
	}
	var out []string
	for _, l := range strings.Split(*v, ",") {
		_, addr, ok := strings.Cut(l, "://")
		if !ok {
			t.Fatalf("KAFKA_ADVERTISED_LISTENERS: %q is not NAME://host:port", l)
		}
		out = append(out, addr)
	}
	return out
}

func published(s types.ServiceConfig, host, target string) bool {
	for _, p := range s.Ports {
		if p.Published == host && target == strconv.FormatUint(uint64(p.Target), 10) {
			return true
		}
	}
	return false
}

// The host ports are the ones README.md lists, each used once.
func TestComposePorts(t *testing.T) {
	p := loadCompose(t)
	want := map[string]string{ // host port -> service:container port
		"5432": "postgres:5432",
		"3307": "mariadb:3306",
		"3306": "mysql:3306",
		"9092": "kafka:9092",
		"9187": "cdc-postgres:9187",
		"9188": "cdc-mariadb:9187",
		"9189": "cdc-mysql:9187",
	}
	got := map[string]string{}
	for _, s := range p.Services {
		for _, port := range s.Ports {
			if prev, ok := got[port.Published]; ok {
				t.Errorf("host port %s published twice: %s and %s", port.Published, prev, s.Name)
			}
			got[port.Published] = s.Name + ":" + strconv.FormatUint(uint64(port.Target), 10)
		}
	}
	for host, w := range want {
		if got[host] != w {
			t.Errorf("host port %s: %q, want %q", host, got[host], w)
		}
	}
	for host, g := range got {
		if _, ok := want[host]; !ok {
			t.Errorf("host port %s (%s) is not in the README's table", host, g)
		}
	}
}

// Every service has a health check, so that depends_on can wait for it.
func TestComposeHealthChecks(t *testing.T) {
	p := loadCompose(t)
	for _, s := range p.Services {
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] == "NONE" {
			t.Errorf("%s: no health check (%+v)", s.Name, hc)
		}
	}
}

// Each connector starts after its database and Kafka are healthy, mounts
// one of examples/*.yaml where the image reads it, checks its health with
// `cdc healthcheck` on the port its YAML's metrics.listen names, publishes
// that port, and its YAML loads with the service's environment into a
// connector of the service's database.
func TestComposeConnectors(t *testing.T) {
	p := loadCompose(t)
	examples, err := filepath.Glob(filepath.Join(repo, "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(repo)
	for _, c := range connectors {
		t.Run(c.service, func(t *testing.T) {
			s := service(t, p, c.service)
			if s.Build == nil || filepath.Clean(s.Build.Context) != abs {
				t.Errorf("build %+v, want the repository (Dockerfile)", s.Build)
			} else if v := s.Build.Args["VERSION"]; v == nil || *v == "" || *v == "dev" {
				t.Errorf("build.args.VERSION %v: set it, or every event says version dev", v)
			}
			for _, dep := range []string{c.database, "kafka"} {
				d, ok := s.DependsOn[dep]
				if !ok || d.Condition != types.ServiceConditionHealthy {
					t.Errorf("depends_on %s: %+v, want condition service_healthy", dep, d)
				}
			}

			var mounted string
			for _, v := range s.Volumes {
				if v.Target == connectorTarget {
					mounted = v.Source
				}
			}
			rel, err := filepath.Rel(abs, mounted)
			if mounted == "" || err != nil {
				t.Fatalf("nothing mounted at %s (volumes %+v)", connectorTarget, s.Volumes)
			}
			if filepath.ToSlash(rel) != c.example || !slices.ContainsFunc(examples, func(e string) bool { return filepath.Base(e) == filepath.Base(rel) }) {
				t.Errorf("mounts %s at %s, want %s (one of examples/*.yaml)", rel, connectorTarget, c.example)
			}

			data, err := os.ReadFile(mounted)
			if err != nil {
				t.Fatal(err)
			}
			env := func(k string) (string, bool) {
				v, ok := s.Environment[k]
				if !ok || v == nil {
					return "", false
				}
				return *v, true
			}
			cfg, err := config.Parse(c.example, data, env)
			if err != nil {
				t.Fatalf("%s with the service's environment: %v", c.example, err)
			}
			wantType := config.SourceMySQL
			if c.database == "postgres" {
				wantType = config.SourcePostgres
			}
			if cfg.Source.Type != wantType || !strings.Contains(cfg.Source.DSN, c.database+":") {
				t.Errorf("source %s, want a %s source on host %s", cfg.Source, wantType, c.database)
			}
			adv := advertised(t, service(t, p, "kafka"))
			for _, b := range cfg.Kafka.Brokers {
				if !slices.Contains(adv, b) || strings.HasPrefix(b, "localhost:") {
					t.Errorf("kafka.brokers %q: want kafka's in-network listener (advertised %v)", b, adv)
				}
			}

			_, port, err := net.SplitHostPort(cfg.Metrics.Listen)
			if err != nil || strings.HasPrefix(cfg.Metrics.Listen, "127.") {
				t.Fatalf("metrics.listen %q: want :PORT, on every interface of the container", cfg.Metrics.Listen)
			}
			if !published(s, c.hostPort, port) {
				t.Errorf("ports %+v: want %s:%s (metrics.listen)", s.Ports, c.hostPort, port)
			}
			if s.HealthCheck == nil || !slices.Contains(s.HealthCheck.Test, "healthcheck") {
				t.Fatalf("healthcheck %+v: want cdc healthcheck", s.HealthCheck)
			}
			if test := strings.Join(s.HealthCheck.Test, " "); !strings.Contains(test, "cdc healthcheck") || !strings.Contains(test, "127.0.0.1:"+port+"/readyz") {
				t.Errorf("healthcheck %q: want cdc healthcheck of http://127.0.0.1:%s/readyz", test, port)
			}
		})
	}
}

// Every host file or directory a service mounts exists in the repository
// (compose would otherwise create an empty directory in its place), and
// each database's init script creates the tables its connector captures and
// the user its DSN names.
func TestComposeMounts(t *testing.T) {
	p := loadCompose(t)
	abs, _ := filepath.Abs(repo)
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			rel, err := filepath.Rel(abs, v.Source)
			if err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s: mounts %s, outside the repository", s.Name, v.Source)
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: mounts %s, which does not exist: %v", s.Name, rel, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s: mounts %s read-write; add :ro", s.Name, rel)
			}
		}
	}
	for _, c := range connectors {
		db := service(t, p, c.database)
		var sql []byte
		for _, v := range db.Volumes {
			if strings.HasPrefix(v.Target, "/docker-entrypoint-initdb.d/") {
				b, err := os.ReadFile(v.Source)
				if err != nil {
					t.Fatal(err)
				}
				sql = append(sql, b...)
			}
		}
		if len(sql) == 0 {
			t.Errorf("%s: no init script mounted in /docker-entrypoint-initdb.d", c.database)
			continue
		}
		data, err := os.ReadFile(filepath.Join(repo, c.example))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(c.example, data, func(string) (string, bool) { return "x:1", true })
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ToLower(string(sql))
		for _, table := range cfg.Source.Tables {
			if !strings.Contains(text, "create table "+strings.ToLower(table)+" (") {
				t.Errorf("%s: the init script does not create %s, which %s captures", c.database, table, c.example)
			}
		}
		for _, grant := range []string{"replication", "grant select on"} {
			if !strings.Contains(text, grant) {
				t.Errorf("%s: the init script grants no %s to the connector's user", c.database, grant)
			}
		}
		if cfg.Source.Type == config.SourcePostgres && !cfg.Source.CreatePublication {
			want := "create publication " + strings.ToLower(cfg.Source.Publication) + " for table " + strings.ToLower(strings.Join(cfg.Source.Tables, ", ")) + ";"
			if !strings.Contains(text, want) {
				t.Errorf("%s: source.create_publication is false but the init script does not run %q", c.example, want)
			}
		}

		// The user the connector's DSN names (in the service's environment).
		cdcSvc := service(t, p, c.service)
		var dsn string
		for k, v := range cdcSvc.Environment {
			if strings.HasSuffix(k, "_DSN") && v != nil {
				dsn = *v
			}
		}
		user, _, _ := strings.Cut(strings.TrimPrefix(dsn, "postgres://"), ":")
		if user == "" || !strings.Contains(text, "create role "+user+" ") && !strings.Contains(text, "create user '"+user+"'@'%'") {
			t.Errorf("%s: the init script does not create user %q, whom %s's DSN names", c.database, user, c.service)
		}
	}
}

// The image the connectors run: the default command reads the file the
// connectors mount, the version is set at build time, the user is not root
// and the health check is `cdc healthcheck`; the build context leaves out
// the local services folder and .git.
func TestDockerfile(t *testing.T) {
	df, err := os.ReadFile(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(df)
	for _, want := range []string{
		"CGO_ENABLED=0",
		"ARG VERSION",
		"-X main.version=${VERSION}",
		"USER nonroot",
		`ENTRYPOINT ["/usr/local/bin/cdc"]`,
		`CMD ["run", "-c", "` + connectorTarget + `"]`,
		`CMD ["/usr/local/bin/cdc", "healthcheck"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	di, err := os.ReadFile(filepath.Join(repo, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(di), "\n")
	for _, want := range []string{".git", ".services", "**/.services", "bin"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore lacks a line %q", want)
		}
	}
}
