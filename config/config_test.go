package config

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is a fixed environment for Parse.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// stripped is c without its key positions, for comparing with a literal.
func stripped(c *Config) Config {
	cp := *c
	cp.pos = nil
	return cp
}

func sec(n int) Duration { return Duration(time.Duration(n) * time.Second) }

// errLines splits err into its joined errors' texts, failing the test unless
// each is one line starting with file.
func errLines(t *testing.T, err error, file string) []string {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var lines []string
	for _, e := range errs {
		s := e.Error()
		if strings.Contains(s, "\n") {
			t.Errorf("error is not one line: %q", s)
		}
		if !strings.HasPrefix(s, file) {
			t.Errorf("error does not start with %q: %q", file, s)
		}
		lines = append(lines, s)
	}
	return lines
}

func TestLoadTestdata(t *testing.T) {
	t.Setenv("PG_PASSWORD", "p@ss:w#rd")
	got, err := Load("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Pins: every key of a full postgres file, secret expansion with
	// characters that would break YAML if expanded in the raw text, and the
	// defaults of the keys the file leaves out (client ids, dead letters).
	want := Config{
		Name: "shop",
		Source: Source{
			Type:              SourcePostgres,
			DSN:               "postgres://cdc:p@ss:w#rd@127.0.0.1:5432/shop?sslmode=disable",
			Slot:              "cdc_shop",
			Publication:       "cdc_shop",
			CreateSlot:        true,
			CreatePublication: true,
			Tables:            []string{"public.orders", "public.outbox_event", "public.part_*"},
			StatusInterval:    sec(10),
		},
		Kafka: Kafka{
			Brokers:         []string{"127.0.0.1:9092"},
			TopicPrefix:     "shop",
			CheckpointTopic: "_cdc_checkpoints", HistoryTopic: "_cdc_checkpoints.history", HistoryRetention: Duration(7 * 24 * time.Hour),
			TransactionTopic:   "shop.transactions",
			Partitions:         3,
			ReplicationFactor:  -1,
			ClientID:           "cdc-shop",
			TransactionalID:    "cdc-shop",
			Batch:              Batch{MaxEvents: 5000, MaxBytes: 4194304, Linger: Duration(100 * time.Millisecond), MinLinger: Duration(3 * time.Millisecond)},
			TransactionTimeout: sec(60), MaxRecordBytes: 1 << 20,
			Compression: CompressionSnappy, OnTopicDenied: TopicDeniedStop, DialTimeout: sec(10), RequestTimeoutOverhead: sec(10), MetadataMaxAge: sec(300),
		},
		Schema:          Schema{Topic: "shop._schemas", ChangesTopic: "shop.schema-changes", Compatibility: CompatNone, OnIncompatible: IncompatibleWarn},
		Snapshot:        Snapshot{Mode: SnapshotInitial, ChunkSize: DefaultSnapshotChunkSize, ParallelTables: 1},
		Log:             Log{Level: LevelInfo, Format: FormatJSON},
		ShutdownTimeout: sec(30),
		File:            "testdata/shop.yaml",
	}
	if !reflect.DeepEqual(stripped(got), want) {
		t.Errorf("Load(shop.yaml)\n got %#v\nwant %#v", stripped(got), want)
	}
	if got.SlogLevel().String() != "INFO" {
		t.Errorf("SlogLevel = %v, want INFO", got.SlogLevel())
	}
}

func TestParseDefaults(t *testing.T) {
	mysql, err := os.ReadFile("testdata/orders-mysql.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mysqlWant := func(password string) Config {
		return Config{
			Name: "orders-mysql",
			Source: Source{
				Type:           SourceMySQL,
				DSN:            "cdc:" + password + "@tcp(127.0.0.1:3306)/orders",
				ServerID:       4242,
				Flavor:         FlavorMariaDB,
				Heartbeat:      sec(10),
				XAMaxBytes:     DefaultXAMaxBytes,
				Tables:         []string{"orders.orders", "orders.order_line", "orders.archive_20[0-9][0-9]"},
				StatusInterval: sec(10),
			},
			Kafka: Kafka{
				Brokers:         []string{"127.0.0.1:9092", "[::1]:9093"},
				TopicPrefix:     "orders-mysql",
				CheckpointTopic: DefaultCheckpointTopic, HistoryTopic: DefaultCheckpointTopic + ".history", HistoryRetention: Duration(7 * 24 * time.Hour),
				DeadLetterTopic:    "orders.dlt",
				Partitions:         1,
				ReplicationFactor:  -1,
				ClientID:           "cdc-orders-mysql",
				TransactionalID:    "cdc-orders-mysql",
				Batch:              Batch{MaxEvents: DefaultBatchMaxEvents, MaxBytes: DefaultBatchMaxBytes, Linger: 0},
				TransactionTimeout: sec(60), MaxRecordBytes: 1 << 20,
				Compression: CompressionSnappy, OnTopicDenied: TopicDeniedStop, DialTimeout: sec(10), RequestTimeoutOverhead: sec(10), MetadataMaxAge: sec(300),
			},
			Schema:          Schema{Topic: "orders-mysql._schemas", ChangesTopic: "orders-mysql.schema-changes", Compatibility: CompatNone, OnIncompatible: IncompatibleWarn},
			Snapshot:        Snapshot{Mode: SnapshotInitial, ChunkSize: DefaultSnapshotChunkSize, ParallelTables: 1},
			Log:             Log{Level: LevelInfo, Format: FormatText},
			ShutdownTimeout: sec(30),
			File:            "orders-mysql.yaml",
		}
	}
	tests := []struct {
		name string
		data string
		env  map[string]string
		want Config
	}{{
		// Pins the mysql defaults (heartbeat, no postgres keys), the
		// ${VAR:-default} fallback, and that an explicit "linger: 0s" is
		// kept rather than replaced by the default.
		name: "mysql file, password from default",
		data: string(mysql),
		want: mysqlWant("secret"),
	}, {
		name: "mysql file, password from environment",
		data: string(mysql),
		env:  map[string]string{"MYSQL_PASSWORD": "hunter2"},
		want: mysqlWant("hunter2"),
	}, {
		// Pins every default derived from the name, including the slot
		// name sanitised for Postgres (lowercase, [a-z0-9_]).
		name: "minimal postgres file takes every default",
		data: "name: Shop-EU.1\nsource:\n  type: postgres\n  dsn: postgres://h/db\n  tables: [public.t]\nkafka:\n  brokers: [k:9092]\n",
		want: Config{
			Name: "Shop-EU.1",
			Source: Source{
				Type: SourcePostgres, DSN: "postgres://h/db",
				Slot: "cdc_shop_eu_1", Publication: "cdc_shop_eu_1",
				CreateSlot: true, CreatePublication: true,
				Tables: []string{"public.t"}, StatusInterval: sec(10),
			},
			Kafka: Kafka{
				Brokers: []string{"k:9092"}, TopicPrefix: "Shop-EU.1", CheckpointTopic: "_cdc_checkpoints", HistoryTopic: "_cdc_checkpoints.history", HistoryRetention: Duration(7 * 24 * time.Hour),
				Partitions: 1, ReplicationFactor: -1, ClientID: "cdc-Shop-EU.1", TransactionalID: "cdc-Shop-EU.1",
				Batch:              Batch{MaxEvents: 5000, MaxBytes: 4 << 20, Linger: Duration(100 * time.Millisecond), MinLinger: Duration(3 * time.Millisecond)},
				TransactionTimeout: sec(60), MaxRecordBytes: 1 << 20,
				Compression: CompressionSnappy, OnTopicDenied: TopicDeniedStop, DialTimeout: sec(10), RequestTimeoutOverhead: sec(10), MetadataMaxAge: sec(300),
			},
			Schema:          Schema{Topic: "Shop-EU.1._schemas", ChangesTopic: "Shop-EU.1.schema-changes", Compatibility: CompatNone, OnIncompatible: IncompatibleWarn},
			Snapshot:        Snapshot{Mode: SnapshotInitial, ChunkSize: DefaultSnapshotChunkSize, ParallelTables: 1},
			Log:             Log{Level: LevelInfo, Format: FormatText},
			ShutdownTimeout: sec(30),
			File:            "orders-mysql.yaml",
		},
	}, {
		// Pins that explicit false survives the true default, that null
		// values count as absent, and that integers accept _ separators.
		name: "explicit false, null and separators",
		data: "name: s\nsource:\n  type: postgres\n  dsn: d\n  tables: [a.b]\n  create_slot: false\n  create_publication: FALSE\n  slot: ~\n" +
			"kafka:\n  brokers: [k:1]\n  transaction_topic:\n  batch:\n    max_bytes: 1_048_576\n    linger: 30s\n",
		want: Config{
			Name: "s",
			Source: Source{
				Type: SourcePostgres, DSN: "d", Slot: "cdc_s", Publication: "cdc_s",
				Tables: []string{"a.b"}, StatusInterval: sec(10),
			},
			Kafka: Kafka{
				Brokers: []string{"k:1"}, TopicPrefix: "s", CheckpointTopic: "_cdc_checkpoints", HistoryTopic: "_cdc_checkpoints.history", HistoryRetention: Duration(7 * 24 * time.Hour),
				Partitions: 1, ReplicationFactor: -1, ClientID: "cdc-s", TransactionalID: "cdc-s",
				Batch:              Batch{MaxEvents: 5000, MaxBytes: 1 << 20, Linger: sec(30), MinLinger: Duration(3 * time.Millisecond)},
				TransactionTimeout: sec(60), MaxRecordBytes: 1 << 20,
				Compression: CompressionSnappy, OnTopicDenied: TopicDeniedStop, DialTimeout: sec(10), RequestTimeoutOverhead: sec(10), MetadataMaxAge: sec(300),
			},
			Schema:          Schema{Topic: "s._schemas", ChangesTopic: "s.schema-changes", Compatibility: CompatNone, OnIncompatible: IncompatibleWarn},
			Snapshot:        Snapshot{Mode: SnapshotInitial, ChunkSize: DefaultSnapshotChunkSize, ParallelTables: 1},
			Log:             Log{Level: LevelInfo, Format: FormatText},
			ShutdownTimeout: sec(30),
			File:            "orders-mysql.yaml",
		},
	}, {
		// Pins that secrets expand in any scalar, not just strings, and
		// that anchors and aliases resolve.
		name: "expansion in integers, enums and durations; aliases",
		data: "name: s\nsource:\n  type: ${TYPE}\n  dsn: &d x\n  tables: [a.b]\n  server_id: ${ID}\n  heartbeat: ${HB:-5s}\n" +
			"kafka:\n  brokers: [k:1]\n  client_id: *d\n",
		env: map[string]string{"TYPE": "mysql", "ID": "7"},
		want: Config{
			Name: "s",
			Source: Source{
				Type: SourceMySQL, DSN: "x", ServerID: 7, Flavor: FlavorAuto, Heartbeat: sec(5), XAMaxBytes: DefaultXAMaxBytes,
				Tables: []string{"a.b"}, StatusInterval: sec(10),
			},
			Kafka: Kafka{
				Brokers: []string{"k:1"}, TopicPrefix: "s", CheckpointTopic: "_cdc_checkpoints", HistoryTopic: "_cdc_checkpoints.history", HistoryRetention: Duration(7 * 24 * time.Hour),
				Partitions: 1, ReplicationFactor: -1, ClientID: "x", TransactionalID: "cdc-s",
				Batch:              Batch{MaxEvents: 5000, MaxBytes: 4 << 20, Linger: Duration(100 * time.Millisecond), MinLinger: Duration(3 * time.Millisecond)},
				TransactionTimeout: sec(60), MaxRecordBytes: 1 << 20,
				Compression: CompressionSnappy, OnTopicDenied: TopicDeniedStop, DialTimeout: sec(10), RequestTimeoutOverhead: sec(10), MetadataMaxAge: sec(300),
			},
			Schema:          Schema{Topic: "s._schemas", ChangesTopic: "s.schema-changes", Compatibility: CompatNone, OnIncompatible: IncompatibleWarn},
			Snapshot:        Snapshot{Mode: SnapshotInitial, ChunkSize: DefaultSnapshotChunkSize, ParallelTables: 1},
			Log:             Log{Level: LevelInfo, Format: FormatText},
			ShutdownTimeout: sec(30),
			File:            "orders-mysql.yaml",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("orders-mysql.yaml", []byte(tt.data), env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stripped(got), tt.want) {
				t.Errorf("Parse\n got %#v\nwant %#v", stripped(got), tt.want)
			}
		})
	}
}

// A valid postgres file, to which error cases add or change a line:
//
//	1 name: shop
//	2 source:
//	3   type: postgres
//	4   dsn: postgres://cdc@127.0.0.1/shop
//	5   tables: [public.orders]
//	6 kafka:
//	7   brokers: [127.0.0.1:9092]
const pgBase = "name: shop\nsource:\n  type: postgres\n  dsn: postgres://cdc@127.0.0.1/shop\n  tables: [public.orders]\nkafka:\n  brokers: [127.0.0.1:9092]\n"

// mysqlBase is the same for mysql (server_id on line 6, kafka on line 7).
const mysqlBase = "name: shop\nsource:\n  type: mysql\n  dsn: cdc@tcp(127.0.0.1:3306)/shop\n  tables: [shop.orders]\n  server_id: 1\nkafka:\n  brokers: [127.0.0.1:9092]\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		env   map[string]string
		want  []string // each must appear in the error text
		count int      // number of joined errors; 0 means one
	}{
		// Syntax errors: one line, yaml's message without its own prefix,
		// and the line corrected where yaml.v3 reports it 0-based.
		{
			name: "syntax: unclosed flow list names the line of the list",
			data: "name: shop\nsource:\n  tables: [a.b, c.d\n  dsn: x\n",
			want: []string{"shop.yaml:3: invalid YAML: did not find expected ',' or ']'"},
		}, {
			name: "syntax: tab indentation",
			data: "name: shop\nsource:\n\ttype: postgres\n",
			want: []string{"shop.yaml:3: invalid YAML: found character that cannot start any token"},
		}, {
			name: "syntax: error on line 1 keeps its line",
			data: "name: shop: x\n",
			want: []string{"shop.yaml:1: invalid YAML: mapping values are not allowed in this context"},
		}, {
			name: "syntax: bad indentation",
			data: "name: shop\nsource:\n  type: postgres\n   dsn: x\n",
			want: []string{"shop.yaml:4: invalid YAML: mapping values are not allowed in this context"},
		}, {
			name: "syntax: control character is located",
			data: "name: shop\nsource:\n  dsn: a\x01b\n",
			want: []string{"shop.yaml:3: invalid YAML: control characters are not allowed"},
		}, {
			name: "syntax: unknown anchor is located",
			data: "name: shop\nsource:\n  dsn: *nope\n",
			want: []string{"shop.yaml:3: invalid YAML: unknown anchor 'nope' referenced"},
		}, {
			name: "syntax: unterminated quote",
			data: "name: shop\nsource:\n  dsn: \"abc\n",
			want: []string{"shop.yaml:3: invalid YAML: found unexpected end of stream"},
		}, {
			name: "file: empty",
			data: "",
			want: []string{"shop.yaml: the file is empty"},
		}, {
			name: "file: only comments",
			data: "# nothing yet\n\n",
			want: []string{"shop.yaml: the file is empty"},
		}, {
			name: "file: a second document",
			data: pgBase + "---\nname: other\n",
			want: []string{"shop.yaml:8: a second YAML document starts here"},
		}, {
			name: "file: not a mapping",
			data: "- name: shop\n",
			want: []string{"shop.yaml:1: expected a mapping with keys name, source, kafka, schema, events, snapshot, log, metrics, routes, messages, shutdown_timeout at the top level, got a list"},
		},

		{
			name: "shutdown_timeout: zero is an error, not the default",
			data: pgBase + "shutdown_timeout: 0s\n",
			want: []string{"shop.yaml:8: shutdown_timeout: must be between 1s and 1h0m0s, got 0s"},
		}, {
			name: "shutdown_timeout: over an hour",
			data: pgBase + "shutdown_timeout: 2h\n",
			want: []string{"shop.yaml:8: shutdown_timeout: must be between 1s and 1h0m0s, got 2h0m0s"},
		},

		{
			name: "kafka.batch.min_linger above linger",
			data: pgBase + "  batch:\n    linger: 50ms\n    min_linger: 1s\n",
			want: []string{"shop.yaml:10: kafka.batch.min_linger: must be between 0s and kafka.batch.linger (50ms), got 1s"},
		},
		{
			name: "metrics.pprof without metrics.listen",
			data: pgBase + "metrics:\n  pprof: true\n",
			want: []string{"shop.yaml:9: metrics.pprof: needs metrics.listen"},
		},
		// Strict decoding: unknown and duplicate keys.
		{
			name: "unknown key: did you mean, with the valid keys",
			data: pgBase + "  slott: x\n",
			want: []string{`shop.yaml:8: unknown key "slott" in kafka (valid keys: brokers, topic_prefix,`},
		}, {
			name: "unknown key in source suggests the near key",
			data: strings.Replace(pgBase, "  tables:", "  slott: x\n  tables:", 1),
			want: []string{`shop.yaml:5: unknown key "slott" in source (did you mean "slot"? valid keys: type, dsn, slot, publication,`},
		}, {
			name: "unknown key at the top level, transposed letters",
			data: pgBase + "kafak: {}\n",
			want: []string{`shop.yaml:8: unknown key "kafak" at the top level (did you mean "kafka"? valid keys: name, source, kafka, schema, events, snapshot, log, metrics, routes, messages, shutdown_timeout)`},
		}, {
			name: "unknown key: camelCase finds the snake_case key",
			data: strings.Replace(mysqlBase, "server_id:", "serverId:", 1),
			want: []string{`shop.yaml:6: unknown key "serverId" in source (did you mean "server_id"?`},
		}, {
			name: "unknown key that belongs in another section",
			data: strings.Replace(pgBase, "  tables:", "  brokers: [k:1]\n  tables:", 1),
			want: []string{`shop.yaml:5: unknown key "brokers" in source ("brokers" belongs in kafka; valid keys:`},
		}, {
			name: "unknown key in a nested section",
			data: pgBase + "  batch:\n    max_event: 5\n",
			want: []string{`shop.yaml:9: unknown key "max_event" in kafka.batch (did you mean "max_events"?`},
		}, {
			name: "duplicate key",
			data: pgBase + "  brokers: [b:1]\n",
			want: []string{`shop.yaml:8: kafka.brokers: duplicate key "brokers" in kafka (first on line 7; remove one)`},
		}, {
			name: "merge keys are refused",
			data: pgBase + "  <<: {partitions: 2}\n",
			want: []string{`shop.yaml:8: merge keys ("<<") are not supported in kafka`},
		}, {
			name: "all decode errors are reported together",
			data: pgBase + "  partitions: three\n  linger: 1s\nlog:\n  level: loud\n",
			want: []string{
				`shop.yaml:8: kafka.partitions: expected an integer, got "three"`,
				`shop.yaml:9: unknown key "linger" in kafka ("linger" belongs in kafka.batch;`,
				`shop.yaml:11: log.level: unknown log level "loud" (valid values: debug, info, warn, error)`,
			},
			count: 3,
		},

		// Type errors.
		{
			name: "type: integer",
			data: pgBase + "  partitions: three\n",
			want: []string{`shop.yaml:8: kafka.partitions: expected an integer, got "three"`},
		}, {
			name: "type: integer from a variable shows both",
			data: pgBase + "  partitions: ${PARTS}\n",
			env:  map[string]string{"PARTS": "3x"},
			want: []string{`shop.yaml:8: kafka.partitions: expected an integer, got "3x" (from "${PARTS}")`},
		}, {
			name: "type: integer overflow names the type's range",
			data: strings.Replace(mysqlBase, "server_id: 1", "server_id: 4294967296", 1),
			want: []string{`shop.yaml:6: source.server_id: expected an integer between 0 and 4294967295, got "4294967296"`},
		}, {
			name: "type: negative unsigned",
			data: strings.Replace(mysqlBase, "server_id: 1", "server_id: -1", 1),
			want: []string{`shop.yaml:6: source.server_id: expected an integer between 0 and 4294967295, got "-1"`},
		}, {
			name: "type: bool",
			data: strings.Replace(pgBase, "  tables:", "  create_slot: yes\n  tables:", 1),
			want: []string{`shop.yaml:5: source.create_slot: expected true or false, got "yes"`},
		}, {
			name: "type: duration without a unit",
			data: pgBase + "  batch:\n    linger: 100\n",
			want: []string{`shop.yaml:9: kafka.batch.linger: expected a duration such as "100ms" or "10s", got "100" (add a unit: ms, s, m or h)`},
		}, {
			name: "type: duration nonsense",
			data: pgBase + "  transaction_timeout: soon\n",
			want: []string{`shop.yaml:8: kafka.transaction_timeout: expected a duration such as "100ms" or "10s", got "soon"`},
		}, {
			name: "type: list expected",
			data: strings.Replace(pgBase, "tables: [public.orders]", "tables: public.orders", 1),
			want: []string{`shop.yaml:5: source.tables: expected a list, got "public.orders" (write [public.orders] for a single entry)`},
		}, {
			name: "type: string expected in a list",
			data: strings.Replace(pgBase, "tables: [public.orders]", "tables: [public.orders, {a: b}]", 1),
			want: []string{`shop.yaml:5: source.tables[1]: expected a string, got a mapping`},
		}, {
			name: "type: null list entry",
			data: strings.Replace(pgBase, "tables: [public.orders]", "tables:\n    - public.orders\n    -\n", 1),
			want: []string{`shop.yaml:7: source.tables[1]: expected a value, got null`},
		}, {
			name: "type: mapping expected",
			data: "name: shop\nsource: postgres\n",
			want: []string{`shop.yaml:2: source: expected a mapping with keys type, dsn,`},
		}, {
			name: "type: string expected",
			data: strings.Replace(pgBase, "dsn: postgres://cdc@127.0.0.1/shop", "dsn: [a, b]", 1),
			want: []string{`shop.yaml:4: source.dsn: expected a string, got a list`},
		}, {
			name: "enum: unknown value suggests the near one",
			data: strings.Replace(pgBase, "type: postgres", "type: postgress", 1),
			want: []string{`shop.yaml:3: source.type: unknown source type "postgress" (did you mean "postgres"? valid values: postgres, mysql)`},
		}, {
			name: "enum: flavor",
			data: strings.Replace(mysqlBase, "server_id: 1", "server_id: 1\n  flavor: percona", 1),
			want: []string{`shop.yaml:7: source.flavor: unknown flavor "percona" (valid values: auto, mysql, mariadb)`},
		}, {
			name: "enum: log format",
			data: pgBase + "log:\n  format: yaml\n",
			want: []string{`shop.yaml:9: log.format: unknown log format "yaml" (valid values: text, json)`},
		},

		// Missing required keys: the line of the parent when there is one.
		{
			name: "required: dsn names the line of source",
			data: strings.Replace(pgBase, "  dsn: postgres://cdc@127.0.0.1/shop\n", "", 1),
			want: []string{"shop.yaml:2: source.dsn is required (e.g. postgres://"},
		}, {
			name: "required: name has no parent line",
			data: strings.Replace(pgBase, "name: shop\n", "", 1),
			want: []string{"shop.yaml: name is required"},
		}, {
			name: "required: a null key is located on its own line",
			data: strings.Replace(pgBase, "dsn: postgres://cdc@127.0.0.1/shop", "dsn:", 1),
			want: []string{"shop.yaml:4: source.dsn is required"},
		}, {
			name: "required: a whole missing section",
			data: "name: shop\nsource:\n  type: postgres\n  dsn: x\n  tables: [a.b]\n",
			want: []string{"shop.yaml: kafka.brokers is required (a list of host:port"},
		}, {
			name:  "required: a null section reports each of its required keys",
			data:  "name: shop\nsource:\nkafka:\n  brokers: [k:1]\n",
			want:  []string{"shop.yaml:2: source.type is required (postgres or mysql)", "shop.yaml:2: source.dsn is required", "shop.yaml:2: source.tables is required"},
			count: 3,
		}, {
			name: "required: server_id for mysql",
			data: strings.Replace(mysqlBase, "  server_id: 1\n", "", 1),
			want: []string{"shop.yaml:2: source.server_id is required for mysql sources"},
		},

		// Validation.
		{
			name: "validate: server_id zero",
			data: strings.Replace(mysqlBase, "server_id: 1", "server_id: 0", 1),
			want: []string{"shop.yaml:6: source.server_id: must be between 1 and 4294967295"},
		}, {
			name: "validate: mysql keys on postgres",
			data: strings.Replace(pgBase, "  tables:", "  server_id: 5\n  heartbeat: 1s\n  tables:", 1),
			want: []string{
				"shop.yaml:5: source.server_id: applies only to mysql sources (remove it, or set source.type: mysql)",
				"shop.yaml:6: source.heartbeat: applies only to mysql sources",
			},
			count: 2,
		}, {
			name: "validate: postgres keys on mysql, even when false",
			data: strings.Replace(mysqlBase, "  server_id: 1\n", "  server_id: 1\n  slot: s\n  create_slot: false\n", 1),
			want: []string{
				"shop.yaml:7: source.slot: applies only to postgres sources (remove it, or set source.type: postgres)",
				"shop.yaml:8: source.create_slot: applies only to postgres sources",
			},
			count: 2,
		}, {
			name: "validate: name characters, reported once",
			data: strings.Replace(pgBase, "name: shop", "name: shop!", 1),
			want: []string{`shop.yaml:1: name: "shop!" may use only letters, digits, ".", "_" and "-"`},
		}, {
			name: "validate: slot characters",
			data: strings.Replace(pgBase, "  tables:", "  slot: Cdc-Shop\n  tables:", 1),
			want: []string{`shop.yaml:5: source.slot: "Cdc-Shop" is not a valid replication slot name (lowercase letters, digits and _ only, at most 63 characters)`},
		}, {
			name: "validate: a slot derived from a long name says to set it",
			data: strings.Replace(pgBase, "name: shop", "name: "+strings.Repeat("n", 60), 1),
			want: []string{"shop.yaml:2: source.slot: \"cdc_nnnn", "the default is derived from name: set source.slot",
				"shop.yaml:2: source.publication: \"cdc_nnnn"},
			count: 2,
		}, {
			name: "validate: empty table list",
			data: strings.Replace(pgBase, "tables: [public.orders]", "tables: []", 1),
			want: []string{`shop.yaml:5: source.tables: must list at least one "namespace.table" pattern`},
		}, {
			name: "validate: table patterns, each on its own line",
			data: strings.Replace(pgBase, "tables: [public.orders]", "tables:\n    - public.orders\n    - orders\n    - public.[a\n    - public.orders\n    - a.b.c\n    - .x", 1),
			want: []string{
				`shop.yaml:7: source.tables[1]: "orders" is not "namespace.table"`,
				`shop.yaml:8: source.tables[2]: "public.[a" is not a valid pattern: syntax error in pattern`,
				`shop.yaml:9: source.tables[3]: "public.orders" repeats source.tables[0] (remove one)`,
				`shop.yaml:10: source.tables[4]: "a.b.c" has more than one "."`,
				`shop.yaml:11: source.tables[5]: ".x" has an empty namespace or table`,
			},
			count: 5,
		}, {
			name: "validate: brokers",
			data: strings.Replace(pgBase, "brokers: [127.0.0.1:9092]", `brokers: [localhost, "k:abc", ":9092", "k:70000", "[::1]:9092"]`, 1),
			want: []string{
				`shop.yaml:7: kafka.brokers[0]: "localhost" is not host:port`,
				`shop.yaml:7: kafka.brokers[1]: "k:abc" has port "abc"; want a number from 1 to 65535`,
				`shop.yaml:7: kafka.brokers[2]: ":9092" has no host`,
				`shop.yaml:7: kafka.brokers[3]: "k:70000" has port "70000"`,
			},
			count: 4,
		}, {
			name: "validate: numeric limits",
			data: pgBase + "  partitions: 0\n  replication_factor: 0\n  batch:\n    max_events: 0\n    max_bytes: 100\n    linger: 2m\n  transaction_timeout: 500ms\n",
			want: []string{
				"shop.yaml:8: kafka.partitions: must be between 1 and 2147483647, got 0",
				"shop.yaml:9: kafka.replication_factor: must be -1 (the broker's default) or between 1 and 32767, got 0",
				"shop.yaml:11: kafka.batch.max_events: must be at least 1, got 0",
				"shop.yaml:12: kafka.batch.max_bytes: must be at least 1024",
				"shop.yaml:13: kafka.batch.linger: must be between 0s and 1m0s, got 2m0s",
				"shop.yaml:14: kafka.transaction_timeout: must be at least 1s, got 500ms",
			},
			count: 6,
		}, {
			name: "validate: transaction timeout must exceed linger",
			data: pgBase + "  batch:\n    linger: 30s\n  transaction_timeout: 10s\n",
			want: []string{"shop.yaml:10: kafka.transaction_timeout: must be longer than kafka.batch.linger (30s), got 10s"},
		}, {
			name: "validate: xa_max_bytes",
			data: strings.Replace(mysqlBase, "  server_id: 1\n", "  server_id: 1\n  xa_max_bytes: 100\n", 1),
			want: []string{"shop.yaml:7: source.xa_max_bytes: must be at least 1024 (a byte count, e.g. 67108864 for 64 MiB), got 100"},
		}, {
			name: "validate: failover",
			data: strings.Replace(mysqlBase, "  server_id: 1\n", "  server_id: 1\n  failover: auto\n", 1),
			want: []string{"shop.yaml:7: source.failover: unknown value \"auto\" (valid values: gtid, or leave it out)"},
		}, {
			name: "validate: failover on postgres",
			data: strings.Replace(pgBase, "  tables:", "  failover: gtid\n  tables:", 1),
			want: []string{"shop.yaml:5: source.failover: applies only to mysql sources"},
		}, {
			name: "validate: durations must be positive",
			data: strings.Replace(pgBase, "  tables:", "  status_interval: 0s\n  tables:", 1),
			want: []string{"shop.yaml:5: source.status_interval: must be positive, got 0s"},
		}, {
			name: "validate: topic names",
			data: pgBase + "  topic_prefix: shop/eu\n  transaction_topic: _cdc_checkpoints\n  dead_letter_topic: ..\n",
			want: []string{
				`shop.yaml:8: kafka.topic_prefix: "shop/eu" may use only letters, digits, ".", "_" and "-"`,
				`shop.yaml:9: kafka.transaction_topic: must differ from kafka.checkpoint_topic "_cdc_checkpoints"`,
				`shop.yaml:10: kafka.dead_letter_topic: ".." is not a valid topic name`,
			},
			count: 3,
		},

		// Secrets.
		{
			name: "secret: unset variable names key and fix",
			data: strings.Replace(pgBase, "cdc@", "cdc:${PG_PASSWORD}@", 1),
			want: []string{"shop.yaml:4: source.dsn: environment variable PG_PASSWORD is not set (export it, or write ${PG_PASSWORD:-default})"},
		}, {
			name: "secret: unterminated",
			data: strings.Replace(pgBase, "cdc@", "cdc:${PG_PASSWORD@", 1),
			want: []string{`shop.yaml:4: source.dsn: unterminated "${" at offset 15 (close it with "}", or write "$$" for a literal "$")`},
		}, {
			name: "secret: bash-style default hints the syntax",
			data: strings.Replace(pgBase, "cdc@", "cdc:${PW-x}@", 1),
			want: []string{`shop.yaml:4: source.dsn: invalid variable name "PW-x" in "${PW-x}"`, "for a default write ${VAR:-default}"},
		}, {
			name: "secret: missing file names it",
			data: strings.Replace(pgBase, "cdc@", "cdc:${file:/nonexistent/pw}@", 1),
			want: []string{"shop.yaml:4: source.dsn: reading secret file /nonexistent/pw: stat /nonexistent/pw: no such file or directory"},
		}, {
			name: "secret: in a list item",
			data: strings.Replace(pgBase, "[127.0.0.1:9092]", "[k:1, \"${BROKER}\"]", 1),
			want: []string{"shop.yaml:7: kafka.brokers[1]: environment variable BROKER is not set"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("shop.yaml", []byte(tt.data), env(tt.env))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error; config:\n%s", c.Redacted())
			}
			lines := errLines(t, err, "shop.yaml")
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q; got:\n%s", w, err)
				}
			}
			if want := max(tt.count, 1); len(lines) != want {
				t.Errorf("got %d errors, want %d:\n%s", len(lines), want, err)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error is not an *Error: %T", err)
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	// Pins the data an *Error carries for callers that inspect it.
	_, err := Parse("shop.yaml", []byte(strings.Replace(mysqlBase, "server_id: 1", "server_id: 0", 1)), nil)
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want an *Error", err)
	}
	if ce.File != "shop.yaml" || ce.Line != 6 || ce.Key != "source.server_id" {
		t.Errorf("Error{File: %q, Line: %d, Key: %q}, want shop.yaml, 6, source.server_id", ce.File, ce.Line, ce.Key)
	}

	// An unknown key carries its own path.
	_, err = Parse("shop.yaml", []byte(strings.Replace(pgBase, "  tables:", "  slott: x\n  tables:", 1)), nil)
	if !errors.As(err, &ce) || ce.Key != "source.slott" || ce.Line != 5 {
		t.Errorf("err = %#v, want Key source.slott on line 5", ce)
	}

	// A secret file's error wraps the os error.
	_, err = Parse("shop.yaml", []byte(strings.Replace(pgBase, "cdc@", "cdc:${file:/nonexistent/pw}@", 1)), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want one wrapping fs.ErrNotExist", err)
	}
}

// A valid config padded past MaxFileBytes is refused, without parsing it.
func TestLoadRefusesHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shop.yaml")
	data := pgBase + strings.Repeat("# padding padding padding padding padding padding\n", 2*MaxFileBytes/50)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB") || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want the file named as larger than 1024 KiB", err)
	}
	if err := os.WriteFile(path, []byte(pgBase), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Errorf("small file: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "shop.yaml"))
	if err == nil || !strings.HasPrefix(err.Error(), "reading config ") || !strings.HasSuffix(err.Error(), "shop.yaml: no such file or directory") {
		t.Errorf("err = %v, want reading config ...: open ...shop.yaml: no such file or directory", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestExpand(t *testing.T) {
	files := map[string]string{"/run/pw": "from-file"}
	read := func(p string) (string, error) {
		if v, ok := files[p]; ok {
			return v, nil
		}
		return "", fs.ErrNotExist
	}
	vars := env(map[string]string{"USER": "cdc", "EMPTY": "", "PW": "p@ss:w#rd ${NOT}"})
	tests := []struct {
		name, in, want, err string
	}{
		{name: "no dollar is unchanged", in: "plain", want: "plain"},
		{name: "variable", in: "u=${USER}", want: "u=cdc"},
		{name: "adjacent variables", in: "${USER}${USER}", want: "cdccdc"},
		{name: "an expanded value is not expanded again", in: "${PW}", want: "p@ss:w#rd ${NOT}"},
		{name: "default when unset", in: "${NOPE:-x:y}", want: "x:y"},
		{name: "default when empty", in: "${EMPTY:-x}", want: "x"},
		{name: "empty default", in: "a${NOPE:-}b", want: "ab"},
		{name: "set value beats default", in: "${USER:-x}", want: "cdc"},
		{name: "empty without default is empty", in: "a${EMPTY}b", want: "ab"},
		{name: "$$ is a literal dollar", in: "pa$$word", want: "pa$word"},
		{name: "$$ before a brace is not a reference", in: "$${USER}", want: "${USER}"},
		{name: "$$$ then a reference", in: "$$${USER}", want: "$cdc"},
		{name: "a lone dollar is kept", in: "cost $5 $", want: "cost $5 $"},
		{name: "file secret", in: "pw=${file:/run/pw}", want: "pw=from-file"},
		{name: "unset variable", in: "${NOPE}", err: "environment variable NOPE is not set (export it, or write ${NOPE:-default})"},
		{name: "unterminated", in: "abc${USER", err: `unterminated "${" at offset 3`},
		{name: "empty name", in: "${}", err: `invalid variable name "" in "${}"`},
		{name: "name starting with a digit", in: "${1X}", err: `invalid variable name "1X"`},
		{name: "nested reference in a default", in: "${A:-${B}}", err: `the default of "${A:-${B}" cannot contain "${"`},
		{name: "empty file path", in: "${file:}", err: `"${file:}" names no file`},
		{name: "missing file", in: "${file:/x}", err: "file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand(tt.in, vars, read)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.err)
			case tt.err == "" && err != nil:
				t.Errorf("expand(%q) error = %v", tt.in, err)
			case tt.err == "" && got != tt.want:
				t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFileSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		ref     string // the ${file:...} reference
		want    string // the password it yields
		wantErr string
	}{
		{name: "one trailing newline is trimmed", ref: "${file:" + write("nl", "s3cret\n") + "}", want: "s3cret"},
		{name: "CRLF is trimmed", ref: "${file:" + write("crlf", "s3cret\r\n") + "}", want: "s3cret"},
		{name: "only one newline is trimmed", ref: "${file:" + write("two", "s3cret\n\n") + "}", want: "s3cret\n"},
		{name: "no newline", ref: "${file:" + write("none", "s3cret") + "}", want: "s3cret"},
		{name: "YAML-significant characters pass through", ref: "${file:" + write("yaml", "a: #b'\"") + "}", want: "a: #b'\""},
		{name: "relative to the config file's directory", ref: "${file:rel}", want: "relative"},
		{name: "a directory is refused", ref: "${file:" + dir + "}", wantErr: "reading secret file " + dir + ": not a regular file"},
		{name: "too large", ref: "${file:" + write("big", strings.Repeat("x", maxSecretSize+1)) + "}", wantErr: "larger than 1048576 bytes"},
	}
	write("rel", "relative\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(pgBase, "cdc@", "cdc:"+tt.ref+"@", 1)
			c, err := Parse(filepath.Join(dir, "shop.yaml"), []byte(data), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "shop.yaml:4: source.dsn: ") {
					t.Errorf("err = %v, want it located at shop.yaml:4: source.dsn", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := "postgres://cdc:" + tt.want + "@127.0.0.1/shop"; c.Source.DSN != want {
				t.Errorf("DSN = %q, want %q", c.Source.DSN, want)
			}
		})
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"postgres URL", "postgres://cdc:s3cret@127.0.0.1:5432/shop?sslmode=disable", "postgres://cdc:***@127.0.0.1:5432/shop?sslmode=disable"},
		{"URL password with @ and /", "postgres://cdc:a@b/c@h/db", "postgres://cdc:***@h/db"},
		{"URL without password", "postgres://cdc@h/db", "postgres://cdc@h/db"},
		{"URL without user", "postgres://h:5432/db", "postgres://h:5432/db"},
		{"URL password parameter", "postgres://cdc@h/db?sslmode=require&password=s3cret&x=1", "postgres://cdc@h/db?sslmode=require&password=***&x=1"},
		{"keyword/value", "host=h user=cdc password=s3cret dbname=shop", "host=h user=cdc password=*** dbname=shop"},
		{"keyword/value quoted", "host=h password='s3 cr\\'et' dbname=shop", "host=h password=*** dbname=shop"},
		{"keyword/value spaced and sslpassword", "password = s3cret sslpassword=k", "password = *** sslpassword=***"},
		{"mysql", "cdc:s3cret@tcp(127.0.0.1:3306)/orders?parseTime=true", "cdc:***@tcp(127.0.0.1:3306)/orders?parseTime=true"},
		{"mysql password with @ : /", "cdc:a@b:c/d@tcp(h:3306)/orders", "cdc:***@tcp(h:3306)/orders"},
		{"mysql without password", "cdc@tcp(h:3306)/orders", "cdc@tcp(h:3306)/orders"},
		{"mysql unix socket", "cdc:pw@unix(/var/run/mysqld.sock)/orders", "cdc:***@unix(/var/run/mysqld.sock)/orders"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactDSN(tt.in); got != tt.want {
				t.Errorf("RedactDSN(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	// Pins that printing a config never shows the password, shows only the
	// keys of its source type, and reads back to the same config.
	for _, tt := range []struct{ file, password string }{
		{"testdata/shop.yaml", "$ecret-pg"},
		{"testdata/orders-mysql.yaml", "s3cret-my"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			vars := env(map[string]string{"PG_PASSWORD": tt.password, "MYSQL_PASSWORD": tt.password})
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(tt.file, data, vars)
			if err != nil {
				t.Fatal(err)
			}
			printed := map[string]string{"Redacted": c.Redacted(), "String": c.String(), "Source.String": c.Source.String()}
			for how, s := range printed {
				if strings.Contains(s, tt.password) {
					t.Errorf("%s shows the password:\n%s", how, s)
				}
				if !strings.Contains(s, "***") {
					t.Errorf("%s has no masked password:\n%s", how, s)
				}
			}
			var logged bytes.Buffer
			slog.New(Log{Format: FormatJSON}.Handler(&logged)).Info("starting", "config", c)
			if strings.Contains(logged.String(), tt.password) || !strings.Contains(logged.String(), `"dsn":`) {
				t.Errorf("logging the config shows the password or no dsn: %s", logged.String())
			}
			other := "server_id:"
			if c.Source.Type == SourceMySQL {
				other = "slot:"
			}
			if strings.Contains(c.Redacted(), other) {
				t.Errorf("Redacted shows %s, which does not apply to %s:\n%s", other, c.Source.Type, c.Redacted())
			}
			back, err := Parse(tt.file, []byte(c.Redacted()), nil)
			if err != nil {
				t.Fatalf("parsing Redacted output: %v\n%s", err, c.Redacted())
			}
			want := stripped(c)
			want.Source.DSN = RedactDSN(c.Source.DSN)
			if !reflect.DeepEqual(stripped(back), want) {
				t.Errorf("Redacted does not read back:\n got %#v\nwant %#v", stripped(back), want)
			}
		})
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	// Pins that Validate works without a file: no location prefix, and the
	// zero values that have no meaning are reported rather than defaulted.
	var zero Config
	err := zero.Validate()
	if err == nil {
		t.Fatal("Validate of a zero Config succeeded")
	}
	for _, want := range []string{"name is required", "source.type is required", "kafka.brokers is required", "kafka.partitions: must be between 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, ":") || strings.HasPrefix(line, "line ") {
			t.Errorf("error of a Config built in code has a location: %q", line)
		}
	}

	c := Config{
		Name: "shop",
		Source: Source{Type: SourceMySQL, DSN: "u@tcp(h:3306)/db", ServerID: 9, Heartbeat: sec(1), XAMaxBytes: 1024,
			Tables: []string{"db.*"}, StatusInterval: sec(1)},
		Kafka: Kafka{Brokers: []string{"k:9092"}, TopicPrefix: "shop", CheckpointTopic: "cp", Partitions: 1,
			ReplicationFactor: 3, ClientID: "c", TransactionalID: "t",
			Batch: Batch{MaxEvents: 1, MaxBytes: 1024}, TransactionTimeout: sec(1), MaxRecordBytes: 1024},
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate of a complete Config: %v", err)
	}
}

func TestLogHandler(t *testing.T) {
	// Pins the level and format the Log section selects.
	var buf bytes.Buffer
	h := Log{Level: LevelWarn, Format: FormatJSON}.Handler(&buf)
	if h.Enabled(t.Context(), slog.LevelInfo) || !h.Enabled(t.Context(), slog.LevelWarn) {
		t.Error("warn handler: want info disabled and warn enabled")
	}
	slog.New(h).Warn("w")
	if !strings.HasPrefix(buf.String(), "{") {
		t.Errorf("json handler wrote %q", buf.String())
	}
	if !(Log{}).Handler(&buf).Enabled(t.Context(), slog.LevelInfo) || (Log{}).Handler(&buf).Enabled(t.Context(), slog.LevelDebug) {
		t.Error("zero Log: want info level")
	}
}

func TestMatchTable(t *testing.T) {
	s := Source{Tables: []string{"public.orders", "public.part_*", "audit_?.log", "*.outbox"}}
	tests := []struct {
		ns, table string
		want      bool
	}{
		{"public", "orders", true},
		{"public", "orders2", false},
		{"public", "part_2024", true},
		{"public", "part_", true},
		{"audit_1", "log", true},
		{"audit_12", "log", false},
		{"anything", "outbox", true},
		{"Public", "orders", false}, // case-sensitive
		{"public.part", "x", false}, // '*' does not cross the dot
	}
	for _, tt := range tests {
		if got := s.MatchTable(tt.ns, tt.table); got != tt.want {
			t.Errorf("MatchTable(%q, %q) = %v, want %v", tt.ns, tt.table, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"type", "dsn", "slot", "publication", "create_slot", "server_id", "tables", "status_interval"}
	tests := []struct{ in, want string }{
		{"slott", "slot"},
		{"tabels", "tables"},
		{"serverID", "server_id"},
		{"create-slot", "create_slot"},
		{"statusinterval", "status_interval"},
		{"publicaton", "publication"},
		{"xyz", ""},
		{"brokers", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, keys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/shop.yaml", "testdata/orders-mysql.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		pgBase, mysqlBase, "", "~", "- a", "name: [", "a: *x", "a: &x [*x]",
		pgBase + "  partitions: ${P:-2}\n",
		pgBase + "  sasl:\n    mechanism: scram-sha-256\n    username: u\n    password: ${A}\n  compression: lz4\n  tls:\n    enabled: true\n",
		pgBase + "  <<: {a: 1}\n",
		pgBase + "---\n---\nb: 1\n",
		"name: \x00", "name: \xff", "\ufeffname: x",
		strings.Replace(pgBase, "cdc@", "${A:-${B}}$$${", 1),
	} {
		f.Add([]byte(s))
	}
	vars := env(map[string]string{"A": "a", "P": "3", "PG_PASSWORD": "pw", "EMPTY": ""})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data, vars)
		if err != nil {
			errLines(t, err, "f.yaml")
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse succeeded but Validate fails: %v", err)
		}
		// What is printed reads back as the same config.
		back, err := Parse("f.yaml", []byte(c.Redacted()), nil)
		if err != nil {
			t.Fatalf("Redacted does not parse: %v\n%s", err, c.Redacted())
		}
		want := stripped(c)
		want.Source.DSN = RedactDSN(c.Source.DSN)
		want.Kafka.SASL.Password = RedactSecret(c.Kafka.SASL.Password)
		if !reflect.DeepEqual(stripped(back), want) {
			t.Fatalf("Redacted does not read back:\n got %#v\nwant %#v", stripped(back), want)
		}
	})
}

// An entry may list several brokers, as Kafka's bootstrap.servers does,
// typically from one environment variable.
func TestBrokersCommaSeparated(t *testing.T) {
	t.Setenv("KAFKA_BROKERS", "a:9092, b:9093,")
	cfg, err := Parse("shop.yaml", []byte(strings.Replace(pgBase, "[127.0.0.1:9092]", `["${KAFKA_BROKERS}", c:9094]`, 1)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Kafka.Brokers, " "); got != "a:9092 b:9093 c:9094" {
		t.Errorf("brokers %q, want a:9092 b:9093 c:9094", got)
	}
	_, err = Parse("shop.yaml", []byte(strings.Replace(pgBase, "[127.0.0.1:9092]", `["a:9092,b"]`, 1)), os.LookupEnv)
	if err == nil || !strings.Contains(err.Error(), "kafka.brokers[1]") {
		t.Errorf("a bad second broker in one entry: %v, want an error naming kafka.brokers[1]", err)
	}
}
