package config

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// redactedPassword replaces a password in printed DSNs.
const redactedPassword = "***"

// RedactDSN returns dsn with its password replaced by "***". It handles URL
// DSNs (postgres://user:pass@host/db, and a password= query parameter),
// Postgres keyword/value DSNs (password=... or password='...') and MySQL
// driver DSNs (user:pass@tcp(host:port)/db). When in doubt it masks more
// than the password rather than less.
func RedactDSN(dsn string) string {
	if scheme, rest, ok := strings.Cut(dsn, "://"); ok {
		// The password may hold '@': the userinfo ends at the last one.
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
				rest = rest[:colon+1] + redactedPassword + rest[at:]
			}
		}
		return redactParams(scheme + "://" + rest)
	}
	dsn = redactParams(dsn)
	// MySQL: [user[:password]@][net[(addr)]]/dbname[?params]. Like the
	// driver, take the last '/' as the start of the database name and the
	// last '@' before it as the end of the password.
	head := dsn
	if slash := strings.LastIndexByte(dsn, '/'); slash >= 0 {
		head = dsn[:slash]
	}
	if at := strings.LastIndexByte(head, '@'); at >= 0 {
		if colon := strings.IndexByte(head[:at], ':'); colon >= 0 {
			return dsn[:colon+1] + redactedPassword + dsn[at:]
		}
	}
	return dsn
}

// redactParams masks password and sslpassword settings: keyword/value pairs
// (quoted or not) and URL query parameters.
func redactParams(s string) string {
	if !strings.Contains(strings.ToLower(s), "password") {
		return s
	}
	re := regexp.MustCompile(`(?i)((?:^|[\s?&])(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&]*)`)
	return re.ReplaceAllString(s, "${1}"+redactedPassword)
}

// RedactSecret is "***" for a set secret and "" for an unset one, so that a
// printed config still tells the two apart.
func RedactSecret(s string) string {
	if s == "" {
		return ""
	}
	return redactedPassword
}

// Redacted is the effective configuration, defaults included, as YAML that
// Parse accepts, with the DSN password and kafka.sasl.password masked. Keys that do not apply to the
// source type are left out.
func (c *Config) Redacted() string {
	cp := *c
	cp.Source.DSN = RedactDSN(c.Source.DSN)
	cp.Kafka.SASL.Password = RedactSecret(c.Kafka.SASL.Password)
	var n yaml.Node
	if err := n.Encode(&cp); err != nil {
		return fmt.Sprintf("name: %q # config not printable: %v", c.Name, err)
	}
	var drop []string
	switch c.Source.Type {
	case SourcePostgres:
		drop = []string{"server_id", "flavor", "heartbeat", "xa_max_bytes"}
	case SourceMySQL:
		drop = []string{"slot", "publication", "create_slot", "create_publication"}
	}
	if src := mappingValue(&n, "source"); src != nil {
		for i := 0; i+1 < len(src.Content); {
			if k := src.Content[i].Value; slices.Contains(drop, k) {
				src.Content = append(src.Content[:i], src.Content[i+2:]...)
				continue
			}
			i += 2
		}
	}
	escapeDollars(&n)
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := errors.Join(enc.Encode(&n), enc.Close()); err != nil {
		return fmt.Sprintf("name: %q # config not printable: %v", c.Name, err)
	}
	return b.String()
}

// escapeDollars writes every "$" in a string value as "$$", so that Parse
// reads the printed value back as it is instead of expanding it again.
func escapeDollars(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		n.Value = strings.ReplaceAll(n.Value, "$", "$$")
	}
	for _, c := range n.Content {
		escapeDollars(c)
	}
}

// String is Redacted: printing a Config never shows the password.
func (c Config) String() string { return c.Redacted() }

// String shows the source type and its DSN with the password masked.
func (s Source) String() string { return fmt.Sprintf("%s %s", s.Type, RedactDSN(s.DSN)) }

// LogValue logs the connector's identity and endpoints, the DSN password
// masked; of Kafka security only whether TLS is on and the SASL mechanism
// and user.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("file", c.File),
		slog.String("name", c.Name),
		slog.String("source", string(c.Source.Type)),
		slog.String("dsn", RedactDSN(c.Source.DSN)),
		slog.Any("tables", c.Source.Tables),
		slog.Any("brokers", c.Kafka.Brokers),
		slog.Bool("kafka_tls", c.Kafka.TLS.Enabled),
		slog.String("kafka_sasl", c.Kafka.SASL.String()),
		slog.String("topic_prefix", c.Kafka.TopicPrefix),
	)
}

// mappingValue is the value of key in the mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
