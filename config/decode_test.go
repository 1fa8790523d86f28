package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LoadWithoutSource leaves a source secret it cannot expand as UnsetSecret,
// and still fails on one outside source.
func TestLoadWithoutSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("name: s\nsource:\n  type: postgres\n  dsn: postgres://u:${CDC_TEST_NO_SUCH_VAR}@h/db\n  tables: [a.b]\nkafka:\n  brokers: [k:1]\n")
	c, err := LoadWithoutSource(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source.DSN != UnsetSecret {
		t.Errorf("dsn %q, want %q", c.Source.DSN, UnsetSecret)
	}
	write("name: s\nsource:\n  type: postgres\n  dsn: d\n  tables: [a.b]\nkafka:\n  brokers: [\"${CDC_TEST_NO_SUCH_VAR}\"]\n")
	if _, err := LoadWithoutSource(path); err == nil || !strings.Contains(err.Error(), "kafka.brokers") {
		t.Errorf("unset variable in kafka.brokers: %v", err)
	}
}
