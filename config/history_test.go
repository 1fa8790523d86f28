package config

import (
	"strings"
	"testing"
	"time"
)

func TestHistoryRetention(t *testing.T) {
	base := "name: s\nsource:\n  type: postgres\n  dsn: d\n  tables: [a.b]\nkafka:\n  brokers: [\"k:1\"]\n"
	for _, tc := range []struct {
		extra string
		want  time.Duration
		err   string
	}{
		{"", 7 * 24 * time.Hour, ""},
		{"  history_retention: 30d\n", 30 * 24 * time.Hour, ""},
		{"  history_retention: 36h\n", 36 * time.Hour, ""},
		{"  history_retention: 0s\n", 0, "kafka.history_retention: must be at least 1m"},
		{"  history_retention: 1.5d\n", 0, "expected a duration"},
		{"  history_retention: +3d\n", 0, "expected a duration"},
		{"  history_topic: _cdc_checkpoints\n", 0, "kafka.history_topic: must differ from kafka.checkpoint_topic"},
	} {
		c, err := Parse("s.yaml", []byte(base+tc.extra), nil)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.extra, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.extra, err)
		case c.Kafka.HistoryRetention.Std() != tc.want || c.Kafka.HistoryTopic == "":
			t.Errorf("%q: retention %s, topic %q", tc.extra, c.Kafka.HistoryRetention, c.Kafka.HistoryTopic)
		}
	}
}
