package config

import (
	"fmt"
	"path"

	"gopkg.in/yaml.v3"
)

// Snapshot configures the reading of the rows already in the captured
// tables (docs/snapshots.md).
type Snapshot struct {
	// Mode is when a snapshot runs: initial (default), never, initial_only
	// or when_needed, with Debezium's meanings.
	Mode SnapshotMode `yaml:"mode"`
	// Tables limits the snapshot to these "namespace.table" patterns; each
	// must match something source.tables matches. Default: every captured
	// table.
	Tables []string `yaml:"tables,omitempty"`
	// ChunkSize is how many rows one chunk reads (and one snapshot
	// transaction carries); default 1024, at most kafka.batch.max_events.
	ChunkSize int `yaml:"chunk_size"`
	// ParallelTables is how many tables have a chunk read at once, each on
	// a database connection of its own; default 1, at most
	// MaxSnapshotParallelTables. Memory holds up to this many chunks.
	ParallelTables int `yaml:"parallel_tables"`
}

// MaxSnapshotParallelTables bounds snapshot.parallel_tables.
const MaxSnapshotParallelTables = 16

// SnapshotMode is snapshot.mode.
type SnapshotMode string

// The snapshot modes.
const (
	SnapshotInitial     SnapshotMode = "initial"
	SnapshotNever       SnapshotMode = "never"
	SnapshotInitialOnly SnapshotMode = "initial_only"
	SnapshotWhenNeeded  SnapshotMode = "when_needed"
)

func (SnapshotMode) values() []SnapshotMode {
	return []SnapshotMode{SnapshotInitial, SnapshotNever, SnapshotInitialOnly, SnapshotWhenNeeded}
}

// UnmarshalYAML accepts only the four modes.
func (m *SnapshotMode) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, m, "snapshot.mode", m.values())
}

// DefaultSnapshotChunkSize is snapshot.chunk_size's default (or
// kafka.batch.max_events when that is smaller).
const DefaultSnapshotChunkSize = 1024

// defaults: chunk_size is at most kafka.batch.max_events, so that a chunk
// fits one Kafka transaction.
func (s *Snapshot) defaults(has func(string) bool, maxEvents int) {
	if s.Mode == "" {
		s.Mode = SnapshotInitial
	}
	if !has("snapshot.parallel_tables") && s.ParallelTables == 0 {
		s.ParallelTables = 1
	}
	if !has("snapshot.chunk_size") && s.ChunkSize == 0 {
		s.ChunkSize = DefaultSnapshotChunkSize
		if maxEvents > 0 && maxEvents < s.ChunkSize {
			s.ChunkSize = maxEvents
		}
	}
}

func (s *Snapshot) validate(v *checker, src *Source, maxEvents int) {
	// Zero in a Config built in code means the default.
	if (s.ChunkSize != 0 || v.has("snapshot.chunk_size")) && (s.ChunkSize < 1 || maxEvents > 0 && s.ChunkSize > maxEvents) {
		v.add("snapshot.chunk_size", "must be between 1 and kafka.batch.max_events (%d), got %d", maxEvents, s.ChunkSize)
	}
	if (s.ParallelTables != 0 || v.has("snapshot.parallel_tables")) && (s.ParallelTables < 1 || s.ParallelTables > MaxSnapshotParallelTables) {
		v.add("snapshot.parallel_tables", "must be between 1 and %d, got %d", MaxSnapshotParallelTables, s.ParallelTables)
	}
	for i, p := range s.Tables {
		key := fmt.Sprintf("snapshot.tables[%d]", i)
		if err := checkTablePattern(p); err != nil {
			v.add(key, "%v", err)
			continue
		}
		if !coveredBy(p, src.Tables) {
			v.add(key, "%q is not captured: every snapshot table must also match source.tables (%s)", p, joinQuotedList(src.Tables))
		}
	}
}

// coveredBy reports whether pattern p can match a captured table: a literal
// name must match one of the patterns; a pattern must equal one, or match
// one of them as a literal (so "public.*" is covered by "public.*", and
// "public.orders" by "public.*").
func coveredBy(p string, patterns []string) bool {
	for _, q := range patterns {
		if p == q {
			return true
		}
		if ok, _ := path.Match(q, p); ok {
			return true
		}
	}
	return false
}

func joinQuotedList(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%q", s)
	}
	return out
}

// SnapshotTables returns the patterns of the tables to snapshot:
// snapshot.tables, or source.tables when it is empty.
func (c *Config) SnapshotTables() []string {
	if len(c.Snapshot.Tables) > 0 {
		return c.Snapshot.Tables
	}
	return c.Source.Tables
}
