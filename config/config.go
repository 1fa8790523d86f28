// Package config is the YAML model of one connector: one file per source
// database, naming the database to capture (Postgres or MySQL), the Kafka
// cluster to write to, and logging.
//
// Load and Parse decode a file strictly (unknown keys, duplicate keys and
// values of the wrong type are errors), expand secrets in string values
// (${VAR}, ${VAR:-default}, ${file:/path}, $$), apply defaults to keys the
// file leaves out, and validate. Every error is one line that names the file,
// the line and the dotted key ("shop.yaml:9: source.server_id: ...") and says
// how to fix it; several problems are joined with errors.Join. See
// docs/config.md for every key.
//
// A Config is plain data: once loaded it is safe to read from several
// goroutines. It holds the database DSN, password included: log it through
// String, Redacted or LogValue, which mask the password.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is one connector: one source database captured into one Kafka
// cluster.
type Config struct {
	// Name identifies the connector: it is the default topic prefix, part of
	// the Kafka transactional id and the key of its checkpoints.
	// Required; letters, digits, '.', '_' and '-'.
	Name   string `yaml:"name"`
	Source Source `yaml:"source"`
	Kafka  Kafka  `yaml:"kafka"`
	Schema Schema `yaml:"schema"`
	// Events chooses the form of column values (cdc or debezium).
	Events Events `yaml:"events,omitempty"`
	// Snapshot reads the rows already in the tables (docs/snapshots.md).
	Snapshot Snapshot `yaml:"snapshot"`
	Log      Log      `yaml:"log"`
	// Metrics serves Prometheus metrics when metrics.listen is set.
	Metrics Metrics `yaml:"metrics"`
	// Routes route the changes of matching tables (outbox events, topics,
	// keys, filters, masks); Messages route Postgres logical messages. See
	// routes.go and docs/routing.md.
	Routes   []Route        `yaml:"routes,omitempty"`
	Messages []MessageRoute `yaml:"messages,omitempty"`
	// ShutdownTimeout bounds how long `cdc run` takes to stop after SIGINT
	// or SIGTERM: finishing the open source transaction, committing or
	// aborting the Kafka transaction. Past it cdc exits anyway and the
	// broker aborts what was left open. Default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`

	// File is the path the config was loaded from (the name given to
	// Parse). It prefixes every error; "" for a Config built in code.
	File string `yaml:"-"`

	// pos records where each key was written; nil for a Config built in
	// code, whose errors then carry no line.
	pos *positions
}

// Source is the database to capture. Keys that apply to one source type only
// are an error on the other.
type Source struct {
	Type SourceType `yaml:"type"`
	// DSN is the connection string; it holds the password.
	// Postgres: a URL or keyword/value string. MySQL: user:pass@tcp(host:port)/db.
	DSN string `yaml:"dsn"`

	// Postgres only.
	Slot              string `yaml:"slot"`               // logical replication slot; default "cdc_" + name
	Publication       string `yaml:"publication"`        // publication to stream; default as Slot
	CreateSlot        bool   `yaml:"create_slot"`        // create the slot when missing; default true
	CreatePublication bool   `yaml:"create_publication"` // create the publication when missing; default true

	// MySQL only.
	ServerID  uint32   `yaml:"server_id"` // replica server id, unique on the server; required
	Flavor    Flavor   `yaml:"flavor"`    // default auto
	Heartbeat Duration `yaml:"heartbeat"` // binlog heartbeat period; default 10s
	// XAMaxBytes bounds the memory prepared XA transactions' changes take
	// until their XA COMMIT; default 64 MiB.
	XAMaxBytes int `yaml:"xa_max_bytes"`
	// Failover "gtid" accepts a checkpoint written from another server
	// when its position is a GTID position: the operator's word that the
	// server is of the same replication lineage (a replica promoted with
	// the same GTID history), which the server checks by refusing a GTID
	// its binlog does not hold. "" (default): another server halts.
	Failover string `yaml:"failover,omitempty"`
	// TLS encrypts the MySQL connections (catalog, snapshot and binlog);
	// see security.go.
	TLS TLS `yaml:"tls,omitempty"`

	// Tables lists "namespace.table" patterns to capture (namespace is the
	// Postgres schema or the MySQL database); each part may use the globs
	// of path.Match. Required.
	Tables []string `yaml:"tables"`
	// StatusInterval is how often progress is reported to the source;
	// default 10s.
	StatusInterval Duration `yaml:"status_interval"`
}

// Kafka is the cluster events are written to, in transactions.
type Kafka struct {
	Brokers         []string `yaml:"brokers"`          // host:port seeds; required
	TopicPrefix     string   `yaml:"topic_prefix"`     // default Name
	CheckpointTopic string   `yaml:"checkpoint_topic"` // default "_cdc_checkpoints"
	// HistoryTopic keeps every committed checkpoint (cdc positions);
	// default CheckpointTopic + ".history".
	HistoryTopic     string   `yaml:"history_topic"`
	HistoryRetention Duration `yaml:"history_retention"` // default 7d
	TransactionTopic string   `yaml:"transaction_topic"` // BEGIN/END records; "" disables
	DeadLetterTopic  string   `yaml:"dead_letter_topic"` // "" means "<topic>.DLT" per event
	// OnTopicDenied is what an event does whose topic the broker denies
	// cdc WRITE on (an ACL): stop the connector (the default) or go to
	// the dead-letter topic.
	OnTopicDenied OnTopicDenied `yaml:"on_topic_denied"`
	// Partitions and ReplicationFactor apply to topics created on demand.
	Partitions        int `yaml:"partitions"`         // default 1
	ReplicationFactor int `yaml:"replication_factor"` // default -1: the broker's default

	ClientID        string `yaml:"client_id"`        // default "cdc-" + Name
	TransactionalID string `yaml:"transactional_id"` // default "cdc-" + Name

	Batch              Batch    `yaml:"batch"`
	TransactionTimeout Duration `yaml:"transaction_timeout"` // default 60s
	// MaxRecordBytes is the largest record cdc produces; a larger one goes
	// to the dead-letter topic without its value. Keep it at or below the
	// topics' max.message.bytes.
	MaxRecordBytes int `yaml:"max_record_bytes"` // default 1 MiB
	// SchemaInPayload wraps values as Kafka Connect's JsonConverter with
	// schemas.enable=true does: {"schema":{...},"payload":{...}}.
	SchemaInPayload bool `yaml:"schema_in_payload"`

	// TLS, SASL, Compression and the client timeouts apply to every Kafka
	// client cdc makes; see security.go.
	TLS                    TLS         `yaml:"tls,omitempty"`
	SASL                   SASL        `yaml:"sasl,omitempty"`
	Compression            Compression `yaml:"compression"`              // default snappy
	DialTimeout            Duration    `yaml:"dial_timeout"`             // default 10s
	RequestTimeoutOverhead Duration    `yaml:"request_timeout_overhead"` // default 10s
	MetadataMaxAge         Duration    `yaml:"metadata_max_age"`         // default 5m
}

// Batch bounds one Kafka transaction: it commits when either size limit is
// reached, when Linger has passed since its first event, or when nothing
// more is queued and MinLinger has passed.
type Batch struct {
	MaxEvents int      `yaml:"max_events"` // default 5000
	MaxBytes  int      `yaml:"max_bytes"`  // default 4 MiB
	Linger    Duration `yaml:"linger"`     // default 100ms; 0 commits at once
	// MinLinger is how long a transaction waits for more when nothing is
	// queued; default 3ms (at most Linger). 0 commits at once: batches
	// grow only under load.
	MinLinger Duration `yaml:"min_linger"`
}

// Log configures the process logger. Zero values mean info and text.
type Log struct {
	Level  LogLevel  `yaml:"level"`
	Format LogFormat `yaml:"format"`
}

// Defaults and limits.
const (
	DefaultCheckpointTopic = "_cdc_checkpoints"
	DefaultBatchMaxEvents  = 5000
	DefaultBatchMaxBytes   = 4 << 20
	DefaultXAMaxBytes      = 64 << 20
	// FailoverGTID is source.failover's one value.
	FailoverGTID           = "gtid"
	minBatchMaxBytes       = 1024
	maxBatchLinger         = time.Minute
	maxPostgresName        = 63 // NAMEDATALEN-1: longer names are truncated by Postgres
	maxTopicName           = 249
	DefaultShutdownTimeout = 30 * time.Second
	maxShutdownTimeout     = time.Hour
)

// SourceType is the kind of source database.
type SourceType string

// Source types.
const (
	SourcePostgres SourceType = "postgres"
	SourceMySQL    SourceType = "mysql"
)

func (SourceType) values() []SourceType { return []SourceType{SourcePostgres, SourceMySQL} }

// UnmarshalYAML accepts only the known source types.
func (t *SourceType) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, t, "source type", t.values())
}

// Flavor is the MySQL server family; auto detects it on connect.
type Flavor string

// Flavors.
const (
	FlavorAuto    Flavor = "auto"
	FlavorMySQL   Flavor = "mysql"
	FlavorMariaDB Flavor = "mariadb"
)

func (Flavor) values() []Flavor { return []Flavor{FlavorAuto, FlavorMySQL, FlavorMariaDB} }

// UnmarshalYAML accepts only the known flavors.
func (f *Flavor) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, f, "flavor", f.values())
}

// LogLevel is the minimum level logged.
type LogLevel string

// Log levels.
const (
	LevelDebug LogLevel = "debug"
	LevelInfo  LogLevel = "info"
	LevelWarn  LogLevel = "warn"
	LevelError LogLevel = "error"
)

func (LogLevel) values() []LogLevel { return []LogLevel{LevelDebug, LevelInfo, LevelWarn, LevelError} }

// UnmarshalYAML accepts only the known levels.
func (l *LogLevel) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, l, "log level", l.values())
}

// Slog is the slog level; "" is info.
func (l LogLevel) Slog() slog.Level {
	switch l {
	case LevelDebug:
		return slog.LevelDebug
	case LevelWarn:
		return slog.LevelWarn
	case LevelError:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// LogFormat is how log records are written.
type LogFormat string

// Log formats.
const (
	FormatText LogFormat = "text"
	FormatJSON LogFormat = "json"
)

func (LogFormat) values() []LogFormat { return []LogFormat{FormatText, FormatJSON} }

// UnmarshalYAML accepts only the known formats.
func (f *LogFormat) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, f, "log format", f.values())
}

// SlogLevel is the level of the process logger.
func (c *Config) SlogLevel() slog.Level { return c.Log.Level.Slog() }

// Handler is a slog handler that writes to w in l's format, at l's level.
func (l Log) Handler(w io.Writer) slog.Handler {
	opts := &slog.HandlerOptions{Level: l.Level.Slog()}
	if l.Format == FormatJSON {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// Duration is a time.Duration written in YAML as a Go duration string such
// as "100ms", "10s" or "1m30s", or a whole number of days ("7d").
type Duration time.Duration

// Std is d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML parses a duration string; a bare number is an error because
// it has no unit.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf(`expected a duration such as "100ms" or "10s", got %s`, kindName(n))
	}
	v, err := time.ParseDuration(n.Value)
	if days, ok := strings.CutSuffix(n.Value, "d"); err != nil && ok {
		if d, derr := strconv.ParseUint(days, 10, 16); derr == nil && days[0] != '+' {
			v, err = time.Duration(d)*24*time.Hour, nil
		}
	}
	if err != nil {
		if _, numErr := strconv.ParseFloat(n.Value, 64); numErr == nil {
			return fmt.Errorf(`expected a duration such as "100ms" or "10s", got %q (add a unit: ms, s, m or h)`, n.Value)
		}
		return fmt.Errorf(`expected a duration such as "100ms" or "10s", got %q`, n.Value)
	}
	*d = Duration(v)
	return nil
}

// unmarshalEnum sets *dst to the scalar in n when it is one of valid.
func unmarshalEnum[T ~string](n *yaml.Node, dst *T, what string, valid []T) error {
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	list := strings.Join(names, ", ")
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a %s (%s), got %s", what, list, kindName(n))
	}
	for _, v := range valid {
		if string(v) == n.Value {
			*dst = v
			return nil
		}
	}
	hint := ""
	if s := suggest(n.Value, names); s != "" {
		hint = fmt.Sprintf("did you mean %q? ", s)
	}
	return fmt.Errorf("unknown %s %q (%svalid values: %s)", what, n.Value, hint, list)
}

func joinValues[T ~string](valid []T) string {
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return strings.Join(names, ", ")
}

// defaults fills what the file left out. has reports whether a key was
// written with a value, so that an explicit zero ("partitions: 0",
// "create_slot: false") is kept and left to Validate. Defaults derived from
// the name are set only when the name is valid, so that a bad name is
// reported once.
func (c *Config) defaults() {
	c.Source.defaults(c.Name, c.pos.has)
	c.Kafka.defaults(c.Name, c.pos.has)
	c.Schema.defaults(c.Kafka.TopicPrefix)
	c.Snapshot.defaults(c.pos.has, c.Kafka.Batch.MaxEvents)
	c.Events.defaults(c.Source.Type)
	c.Log.defaults()
	c.clientDefaults()
	c.routeDefaults()
	if !c.pos.has("shutdown_timeout") {
		c.ShutdownTimeout = Duration(DefaultShutdownTimeout)
	}
}

func (s *Source) defaults(name string, has func(string) bool) {
	if !has("source.status_interval") {
		s.StatusInterval = Duration(10 * time.Second)
	}
	switch s.Type {
	case SourcePostgres:
		if s.Slot == "" && validName(name) {
			s.Slot = defaultSlot(name)
		}
		if s.Publication == "" && validName(name) {
			s.Publication = defaultSlot(name)
		}
		if !has("source.create_slot") {
			s.CreateSlot = true
		}
		if !has("source.create_publication") {
			s.CreatePublication = true
		}
	case SourceMySQL:
		if s.Flavor == "" {
			s.Flavor = FlavorAuto
		}
		if !has("source.heartbeat") {
			s.Heartbeat = Duration(10 * time.Second)
		}
		if !has("source.xa_max_bytes") {
			s.XAMaxBytes = DefaultXAMaxBytes
		}
	}
}

func (k *Kafka) defaults(name string, has func(string) bool) {
	if validName(name) {
		if k.TopicPrefix == "" {
			k.TopicPrefix = name
		}
		if k.ClientID == "" {
			k.ClientID = "cdc-" + name
		}
		if k.TransactionalID == "" {
			k.TransactionalID = "cdc-" + name
		}
	}
	if k.CheckpointTopic == "" {
		k.CheckpointTopic = DefaultCheckpointTopic
	}
	if k.HistoryTopic == "" {
		k.HistoryTopic = k.CheckpointTopic + ".history"
	}
	if !has("kafka.history_retention") {
		k.HistoryRetention = Duration(7 * 24 * time.Hour)
	}
	if !has("kafka.partitions") {
		k.Partitions = 1
	}
	k.Brokers = splitBrokers(k.Brokers)
	if !has("kafka.replication_factor") {
		k.ReplicationFactor = -1
	}
	if !has("kafka.transaction_timeout") {
		k.TransactionTimeout = Duration(60 * time.Second)
	}
	if !has("kafka.max_record_bytes") {
		k.MaxRecordBytes = 1 << 20
	}
	k.Batch.defaults(has)
}

func (b *Batch) defaults(has func(string) bool) {
	if !has("kafka.batch.max_events") {
		b.MaxEvents = DefaultBatchMaxEvents
	}
	if !has("kafka.batch.max_bytes") {
		b.MaxBytes = DefaultBatchMaxBytes
	}
	if !has("kafka.batch.linger") {
		b.Linger = Duration(100 * time.Millisecond)
	}
	if !has("kafka.batch.min_linger") {
		// An idle pipeline commits after 3ms, which is about the time a
		// Kafka 4 broker takes to finish the previous commit (see
		// sink/kafka producerLinger); under load transactions still grow
		// (the pipeline's loaded rule lets a transaction that opens
		// behind a full queue linger for Linger).
		b.MinLinger = min(Duration(3*time.Millisecond), b.Linger)
	}
}

func (l *Log) defaults() {
	if l.Level == "" {
		l.Level = LevelInfo
	}
	if l.Format == "" {
		l.Format = FormatText
	}
}

// defaultSlot is "cdc_" + name, lowercased, with every character Postgres
// does not allow in a slot name replaced by '_'.
func defaultSlot(name string) string {
	b := []byte("cdc_" + strings.ToLower(name))
	for i, c := range b {
		if !slotChar(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func slotChar(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' }

// validName reports whether s is a connector name: [a-zA-Z0-9._-]+.
func validName(s string) bool { return s != "" && topicChars(s) }

// topicChars reports whether s holds only characters legal in a Kafka topic.
func topicChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Validate reports every problem in c, one *Error per problem joined with
// errors.Join, or nil. It does not change c and does not apply defaults, so
// a Config built in code must set every field that has no usable zero value.
// Errors of a loaded Config carry the file and the line of the key (or of
// its parent when the key was left out).
func (c *Config) Validate() error {
	v := &checker{file: c.File, pos: c.pos}
	nameOK := validName(c.Name)
	switch {
	case c.Name == "":
		v.required("name", `(letters, digits, ".", "_" and "-", e.g. name: shop)`)
	case !nameOK:
		v.add("name", `%q may use only letters, digits, ".", "_" and "-"`, c.Name)
	}
	c.Source.validate(v, nameOK)
	c.Kafka.validate(v, nameOK)
	c.Schema.validate(v, c.Kafka.CheckpointTopic)
	c.Snapshot.validate(v, &c.Source, c.Kafka.Batch.MaxEvents)
	c.Events.validate(v)
	c.Log.validate(v)
	c.Metrics.validate(v)
	c.validateClient(v)
	c.validateRoutes(v)
	// Zero in a Config built in code means the default.
	if (c.ShutdownTimeout != 0 || c.pos.has("shutdown_timeout")) &&
		(c.ShutdownTimeout < Duration(time.Second) || c.ShutdownTimeout > Duration(maxShutdownTimeout)) {
		v.add("shutdown_timeout", "must be between 1s and %s, got %s", Duration(maxShutdownTimeout), c.ShutdownTimeout)
	}
	return v.err()
}

func (s *Source) validate(v *checker, nameOK bool) {
	switch {
	case s.Type == "":
		v.required("source.type", "(postgres or mysql)")
	case !slices.Contains(s.Type.values(), s.Type):
		v.add("source.type", "unknown source type %q (valid values: %s)", s.Type, joinValues(s.Type.values()))
	}
	if s.DSN == "" {
		switch s.Type {
		case SourceMySQL:
			v.required("source.dsn", "(e.g. cdc:${MYSQL_PASSWORD}@tcp(127.0.0.1:3306)/shop)")
		default:
			v.required("source.dsn", "(e.g. postgres://cdc:${PG_PASSWORD}@127.0.0.1:5432/shop)")
		}
	}
	s.validateTables(v)
	if s.StatusInterval <= 0 {
		v.add("source.status_interval", "must be positive, got %s (e.g. 10s)", s.StatusInterval)
	}

	switch s.Type {
	case SourcePostgres:
		s.validatePostgres(v, nameOK)
		v.onlyFor("source.server_id", s.ServerID != 0, "mysql")
		v.onlyFor("source.flavor", s.Flavor != "", "mysql")
		v.onlyFor("source.heartbeat", s.Heartbeat != 0, "mysql")
		v.onlyFor("source.xa_max_bytes", s.XAMaxBytes != 0, "mysql")
		v.onlyFor("source.failover", s.Failover != "", "mysql")
	case SourceMySQL:
		if s.Failover != "" && s.Failover != FailoverGTID {
			v.add("source.failover", "unknown value %q (valid values: %s, or leave it out)", s.Failover, FailoverGTID)
		}
		switch {
		case s.ServerID == 0 && !v.has("source.server_id"):
			v.required("source.server_id", "for mysql sources (a number from 1 to 4294967295, unique among the server's replicas)")
		case s.ServerID == 0:
			v.add("source.server_id", "must be between 1 and 4294967295 (unique among the server's replicas)")
		}
		if s.Flavor != "" && !slices.Contains(s.Flavor.values(), s.Flavor) {
			v.add("source.flavor", "unknown flavor %q (valid values: %s)", s.Flavor, joinValues(s.Flavor.values()))
		}
		if s.Heartbeat <= 0 {
			v.add("source.heartbeat", "must be positive, got %s (e.g. 10s)", s.Heartbeat)
		}
		if s.XAMaxBytes < 1024 {
			v.add("source.xa_max_bytes", "must be at least 1024 (a byte count, e.g. 67108864 for 64 MiB), got %d", s.XAMaxBytes)
		}
		v.onlyFor("source.slot", s.Slot != "", "postgres")
		v.onlyFor("source.publication", s.Publication != "", "postgres")
		v.onlyFor("source.create_slot", s.CreateSlot, "postgres")
		v.onlyFor("source.create_publication", s.CreatePublication, "postgres")
	}
}

func (s *Source) validatePostgres(v *checker, nameOK bool) {
	derived := ""
	if !v.has("source.slot") {
		derived = "; the default is derived from name: set source.slot"
	}
	switch {
	case s.Slot == "" && nameOK:
		v.required("source.slot", "for postgres sources")
	case s.Slot == "":
	case len(s.Slot) > maxPostgresName || strings.IndexFunc(s.Slot, func(r rune) bool { return r > 127 || !slotChar(byte(r)) }) >= 0:
		v.add("source.slot", "%q is not a valid replication slot name (lowercase letters, digits and _ only, at most %d characters%s)", s.Slot, maxPostgresName, derived)
	}
	derived = ""
	if !v.has("source.publication") {
		derived = " (the default is derived from name: set source.publication)"
	}
	switch {
	case s.Publication == "" && nameOK:
		v.required("source.publication", "for postgres sources")
	case len(s.Publication) > maxPostgresName:
		v.add("source.publication", "%q is longer than %d bytes, the limit of a Postgres name%s", s.Publication, maxPostgresName, derived)
	case strings.ContainsRune(s.Publication, 0):
		v.add("source.publication", "%q contains a NUL byte", s.Publication)
	}
}

func (s *Source) validateTables(v *checker) {
	if len(s.Tables) == 0 {
		if v.has("source.tables") {
			v.add("source.tables", `must list at least one "namespace.table" pattern (e.g. [public.orders, "public.part_*"])`)
		} else {
			v.required("source.tables", `(a list of "namespace.table" patterns, e.g. [public.orders, "public.part_*"])`)
		}
		return
	}
	first := make(map[string]int, len(s.Tables))
	for i, t := range s.Tables {
		key := fmt.Sprintf("source.tables[%d]", i)
		if err := checkTablePattern(t); err != nil {
			v.add(key, "%v", err)
			continue
		}
		if j, dup := first[t]; dup {
			v.add(key, "%q repeats source.tables[%d] (remove one)", t, j)
			continue
		}
		first[t] = i
	}
}

// checkTablePattern accepts "namespace.table" where each part is a
// non-empty path.Match pattern.
func checkTablePattern(p string) error {
	ns, table, ok := strings.Cut(p, ".")
	switch {
	case p == "":
		return fmt.Errorf(`must not be empty (write "namespace.table", e.g. public.orders)`)
	case !ok:
		return fmt.Errorf(`%q is not "namespace.table" (e.g. public.orders, or "public.*" for a whole schema)`, p)
	case strings.Contains(table, "."):
		return fmt.Errorf(`%q has more than one "."; write "namespace.table"`, p)
	case ns == "" || table == "":
		return fmt.Errorf(`%q has an empty namespace or table; write "namespace.table"`, p)
	}
	for _, part := range []string{ns, table} {
		if _, err := path.Match(part, ""); err != nil {
			return fmt.Errorf(`%q is not a valid pattern: %w (use *, ? and [...] as in path.Match)`, p, err)
		}
	}
	return nil
}

// MatchTable reports whether the table namespace.table is captured: whether
// one of Tables matches it, namespace and table each matched by path.Match
// (case-sensitive). Tables is assumed valid.
func (s *Source) MatchTable(namespace, table string) bool {
	for _, p := range s.Tables {
		pns, pt, ok := strings.Cut(p, ".")
		if !ok {
			continue
		}
		nsOK, _ := path.Match(pns, namespace)
		tOK, _ := path.Match(pt, table)
		if nsOK && tOK {
			return true
		}
	}
	return false
}

func (k *Kafka) validate(v *checker, nameOK bool) {
	if len(k.Brokers) == 0 {
		if v.has("kafka.brokers") {
			v.add("kafka.brokers", "must list at least one host:port (e.g. [127.0.0.1:9092])")
		} else {
			v.required("kafka.brokers", "(a list of host:port, e.g. [127.0.0.1:9092])")
		}
	}
	for i, b := range k.Brokers {
		if err := checkBroker(b); err != nil {
			v.add(fmt.Sprintf("kafka.brokers[%d]", i), "%v", err)
		}
	}
	topics := []struct {
		key, value string
		required   bool
	}{
		{"kafka.topic_prefix", k.TopicPrefix, nameOK},
		{"kafka.checkpoint_topic", k.CheckpointTopic, true},
		{"kafka.history_topic", k.HistoryTopic, false},
		{"kafka.transaction_topic", k.TransactionTopic, false},
		{"kafka.dead_letter_topic", k.DeadLetterTopic, false},
	}
	for _, t := range topics {
		switch {
		case t.value == "" && t.required:
			v.required(t.key, "")
		case t.value == "":
		case t.value == "." || t.value == "..":
			v.add(t.key, "%q is not a valid topic name", t.value)
		case len(t.value) > maxTopicName:
			v.add(t.key, "is %d characters long; Kafka allows at most %d", len(t.value), maxTopicName)
		case !topicChars(t.value):
			v.add(t.key, `%q may use only letters, digits, ".", "_" and "-"`, t.value)
		}
	}
	if k.CheckpointTopic != "" {
		if k.TransactionTopic == k.CheckpointTopic {
			v.add("kafka.transaction_topic", "must differ from kafka.checkpoint_topic %q", k.CheckpointTopic)
		}
		if k.DeadLetterTopic == k.CheckpointTopic {
			v.add("kafka.dead_letter_topic", "must differ from kafka.checkpoint_topic %q", k.CheckpointTopic)
		}
		if k.HistoryTopic == k.CheckpointTopic {
			v.add("kafka.history_topic", "must differ from kafka.checkpoint_topic %q (which is compacted; the history needs a delete policy)", k.CheckpointTopic)
		}
	}
	if k.Partitions < 1 || k.Partitions > math.MaxInt32 {
		v.add("kafka.partitions", "must be between 1 and %d, got %d", math.MaxInt32, k.Partitions)
	}
	if k.ReplicationFactor != -1 && (k.ReplicationFactor < 1 || k.ReplicationFactor > math.MaxInt16) {
		v.add("kafka.replication_factor", "must be -1 (the broker's default) or between 1 and %d, got %d", math.MaxInt16, k.ReplicationFactor)
	}
	if k.ClientID == "" && nameOK {
		v.required("kafka.client_id", "")
	}
	if k.TransactionalID == "" && nameOK {
		v.required("kafka.transactional_id", "")
	}
	if k.MaxRecordBytes < 1024 || k.MaxRecordBytes > 1<<30 {
		v.add("kafka.max_record_bytes", "must be between 1024 and %d, got %d", 1<<30, k.MaxRecordBytes)
	}
	if k.HistoryRetention < Duration(time.Minute) && (k.HistoryRetention != 0 || v.has("kafka.history_retention")) {
		v.add("kafka.history_retention", "must be at least 1m, got %s", k.HistoryRetention)
	}
	k.Batch.validate(v)
	switch {
	case k.TransactionTimeout < Duration(time.Second):
		v.add("kafka.transaction_timeout", "must be at least 1s, got %s", k.TransactionTimeout)
	case k.TransactionTimeout <= k.Batch.Linger && k.Batch.Linger <= Duration(maxBatchLinger):
		v.add("kafka.transaction_timeout", "must be longer than kafka.batch.linger (%s), got %s", k.Batch.Linger, k.TransactionTimeout)
	}
}

// checkBroker accepts host:port with a non-empty host and a port 1-65535.
// splitBrokers splits entries that list several brokers separated by
// commas, as Kafka's bootstrap.servers does (brokers: ["${KAFKA_BROKERS}"]
// with KAFKA_BROKERS=a:9092,b:9092).
func splitBrokers(bs []string) []string {
	var out []string
	for _, b := range bs {
		if !strings.Contains(b, ",") {
			out = append(out, b)
			continue
		}
		for _, p := range strings.Split(b, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func checkBroker(b string) error {
	host, port, err := net.SplitHostPort(b)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:9092 or [::1]:9092)", b)
	}
	if host == "" {
		return fmt.Errorf("%q has no host (e.g. 127.0.0.1:9092)", b)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has port %q; want a number from 1 to 65535", b, port)
	}
	return nil
}

func (b *Batch) validate(v *checker) {
	if b.MaxEvents < 1 {
		v.add("kafka.batch.max_events", "must be at least 1, got %d", b.MaxEvents)
	}
	if b.MaxBytes < minBatchMaxBytes {
		v.add("kafka.batch.max_bytes", "must be at least %d (a byte count, e.g. 4194304 for 4 MiB), got %d", minBatchMaxBytes, b.MaxBytes)
	}
	if b.Linger < 0 || b.Linger > Duration(maxBatchLinger) {
		v.add("kafka.batch.linger", "must be between 0s and %s, got %s", maxBatchLinger, b.Linger)
	}
	if b.MinLinger < 0 || b.MinLinger > b.Linger && b.Linger >= 0 {
		v.add("kafka.batch.min_linger", "must be between 0s and kafka.batch.linger (%s), got %s", b.Linger, b.MinLinger)
	}
}

func (l *Log) validate(v *checker) {
	if l.Level != "" && !slices.Contains(l.Level.values(), l.Level) {
		v.add("log.level", "unknown log level %q (valid values: %s)", l.Level, joinValues(l.Level.values()))
	}
	if l.Format != "" && !slices.Contains(l.Format.values(), l.Format) {
		v.add("log.format", "unknown log format %q (valid values: %s)", l.Format, joinValues(l.Format.values()))
	}
}
