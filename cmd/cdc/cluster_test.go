package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/config"
)

// TestEveryKafkaClientUsesCluster pins that no code outside
// sink/kafka/cluster.go builds a Kafka client from seed brokers alone: such
// a client would connect without kafka.tls and kafka.sasl. e2e/ and bench/
// are left out: they import none of cdc's packages (they read Kafka as a
// user's consumer does) and talk to the plaintext local services.
func TestEveryKafkaClientUsesCluster(t *testing.T) {
	direct := regexp.MustCompile(`kgo\.SeedBrokers\(|kgo\.NewClient\(|kgo\.NewGroupTransactSession\((?:\s*kgo\.)`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "e2e" || d.Name() == "bench" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") ||
			filepath.ToSlash(p) == "../../sink/kafka/cluster.go" {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if loc := direct.FindIndex(src); loc != nil {
			line := strings.Count(string(src[:loc[0]]), "\n") + 1
			t.Errorf("%s:%d builds a Kafka client directly; use kafkaCluster(cfg).NewClient or .Opts (kafka.Cluster) so that TLS and SASL apply", p, line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKafkaCluster(t *testing.T) {
	cfg := &config.Config{Kafka: config.Kafka{Brokers: []string{"k:9093"},
		SASL:        config.SASL{Mechanism: config.SASLScramSHA512, Username: "cdc", Password: "pw"},
		Compression: config.CompressionZstd, TLS: config.TLS{Enabled: true, ServerName: "kafka.internal"}}}
	c := kafkaCluster(cfg)
	if c.TLS == nil || c.SASL.Mechanism != "scram-sha-512" || c.Compression != "zstd" {
		t.Fatalf("kafkaCluster = %+v", c)
	}
	cfg.Kafka.TLS.ServerName = "changed"
	tc, err := c.TLS()
	if err != nil || tc.ServerName != "kafka.internal" {
		t.Errorf("TLS() = %v, %v; want server name kafka.internal", tc, err)
	}
	if s := c.String(); strings.Contains(s, "pw") || s != `k:9093 (TLS, SASL SCRAM-SHA-512 as "cdc")` {
		t.Errorf("String() = %q", s)
	}
	if _, err := c.Opts(); err != nil {
		t.Error(err)
	}
}

func TestPlainTextPassword(t *testing.T) {
	cfg := &config.Config{Kafka: config.Kafka{SASL: config.SASL{Mechanism: config.SASLPlain, Username: "u", Password: "p"}}}
	if plainTextPassword(cfg) == "" {
		t.Error("PLAIN without TLS: no warning")
	}
	cfg.Kafka.TLS.Enabled = true
	if w := plainTextPassword(cfg); w != "" {
		t.Errorf("PLAIN over TLS: %q", w)
	}
	cfg.Kafka.TLS.Enabled, cfg.Kafka.SASL.Mechanism = false, config.SASLScramSHA256
	if w := plainTextPassword(cfg); w != "" {
		t.Errorf("SCRAM without TLS: %q", w)
	}
}
