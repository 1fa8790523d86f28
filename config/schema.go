package config

import "gopkg.in/yaml.v3"

// Schema configures schema-version tracking: where versions are stored,
// where schema-change events go, and what a breaking change does.
type Schema struct {
	// Topic holds every table schema version (compacted, keyed by
	// "<table>@<version>"). Default "<topic_prefix>._schemas".
	Topic string `yaml:"topic"`
	// ChangesTopic receives one event per new schema version, with what
	// changed. Default "<topic_prefix>.schema-changes".
	ChangesTopic string `yaml:"changes_topic"`
	// Compatibility is checked between consecutive versions of a table:
	// none, backward, forward or full. Default none.
	Compatibility Compatibility `yaml:"compatibility"`
	// OnIncompatible is what a breaking change does: warn (log, flag the
	// schema-change event, go on) or stop (halt before the first row with
	// the new shape). Default warn.
	OnIncompatible OnIncompatible `yaml:"on_incompatible"`
}

// Compatibility modes, as in schema registries.
type Compatibility string

// The compatibility modes.
const (
	CompatNone     Compatibility = "none"
	CompatBackward Compatibility = "backward"
	CompatForward  Compatibility = "forward"
	CompatFull     Compatibility = "full"
)

func (Compatibility) values() []Compatibility {
	return []Compatibility{CompatNone, CompatBackward, CompatForward, CompatFull}
}

// UnmarshalYAML accepts only the listed modes.
func (c *Compatibility) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, c, "schema compatibility", c.values())
}

// OnIncompatible is the reaction to a breaking schema change.
type OnIncompatible string

// The reactions.
const (
	IncompatibleWarn OnIncompatible = "warn"
	IncompatibleStop OnIncompatible = "stop"
)

func (OnIncompatible) values() []OnIncompatible {
	return []OnIncompatible{IncompatibleWarn, IncompatibleStop}
}

// UnmarshalYAML accepts only warn and stop.
func (o *OnIncompatible) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, o, "on_incompatible", o.values())
}

func (s *Schema) defaults(prefix string) {
	if !topicChars(prefix) || prefix == "" {
		prefix = ""
	}
	if s.Topic == "" && prefix != "" {
		s.Topic = prefix + "._schemas"
	}
	if s.ChangesTopic == "" && prefix != "" {
		s.ChangesTopic = prefix + ".schema-changes"
	}
	if s.Compatibility == "" {
		s.Compatibility = CompatNone
	}
	if s.OnIncompatible == "" {
		s.OnIncompatible = IncompatibleWarn
	}
}

func (s *Schema) validate(v *checker, checkpointTopic string) {
	for _, t := range []struct{ key, value string }{{"schema.topic", s.Topic}, {"schema.changes_topic", s.ChangesTopic}} {
		switch {
		case t.value == "":
		case !topicChars(t.value) || len(t.value) > maxTopicName:
			v.add(t.key, `%q is not a valid topic name (letters, digits, ".", "_" and "-", at most %d)`, t.value, maxTopicName)
		case t.value == checkpointTopic:
			v.add(t.key, "must differ from kafka.checkpoint_topic %q", checkpointTopic)
		}
	}
}
