package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cdc-go/cdc/transform"
)

// Route routes the changes of the tables matching Table: as outbox events
// when Outbox is set, otherwise as table events with their own topic, key,
// tombstones, column filter and masks. A table matches at most one route;
// tables without one keep the default topic "<topic_prefix>.<namespace>.<table>".
// See docs/routing.md.
type Route struct {
	// Table is a "namespace.table" pattern (path.Match globs per part).
	Table  string  `yaml:"table"`
	Outbox *Outbox `yaml:"outbox,omitempty"`

	// Table routes only.
	Topic            string            `yaml:"topic,omitempty"`             // template over {prefix} {schema} {table} {db}
	TopicRegex       string            `yaml:"topic_regex,omitempty"`       // rewrites "<prefix>.<namespace>.<table>"
	TopicReplacement string            `yaml:"topic_replacement,omitempty"` // $1, ${name}; write $${name} in YAML
	Key              []string          `yaml:"key,omitempty"`               // key columns; default the primary key
	Tombstones       *bool             `yaml:"tombstones,omitempty"`        // default true
	Include          []string          `yaml:"include,omitempty"`
	Exclude          []string          `yaml:"exclude,omitempty"`
	Mask             map[string]string `yaml:"mask,omitempty"` // column -> hash | truncate:N | null
	Salt             Secret            `yaml:"salt,omitempty"` // for hash masks

	// Compatibility and OnIncompatible override the schema section's for
	// the tables of this route; empty inherits.
	Compatibility  Compatibility  `yaml:"compatibility,omitempty"`
	OnIncompatible OnIncompatible `yaml:"on_incompatible,omitempty"`
}

// Outbox configures an outbox event router. Column names left empty take
// the preset's.
type Outbox struct {
	Preset           OutboxPreset `yaml:"preset"` // default: default
	ID               string       `yaml:"id,omitempty"`
	AggregateType    string       `yaml:"aggregate_type,omitempty"`
	AggregateID      string       `yaml:"aggregate_id,omitempty"`
	AggregateVersion string       `yaml:"aggregate_version,omitempty"`
	EventType        string       `yaml:"event_type,omitempty"`
	Payload          string       `yaml:"payload,omitempty"`
	Topic            string       `yaml:"topic"`             // default "{aggregate_type}.events"
	Headers          []string     `yaml:"headers,omitempty"` // extra columns as headers
	OnDelete         OnDelete     `yaml:"on_delete"`         // default ignore
	OnUpdate         OnUpdate     `yaml:"on_update"`         // default warn
	VersionCheck     VersionCheck `yaml:"version_check"`     // default flag
}

// MessageRoute routes Postgres logical messages with one prefix
// (pg_logical_emit_message(true, prefix, content)) as outbox events; the
// content is a JSON object with fields named like the outbox columns.
type MessageRoute struct {
	Prefix           string        `yaml:"prefix"`
	Format           MessageFormat `yaml:"format"` // default json
	Preset           OutboxPreset  `yaml:"preset"`
	ID               string        `yaml:"id,omitempty"`
	AggregateType    string        `yaml:"aggregate_type,omitempty"`
	AggregateID      string        `yaml:"aggregate_id,omitempty"`
	AggregateVersion string        `yaml:"aggregate_version,omitempty"`
	EventType        string        `yaml:"event_type,omitempty"`
	Payload          string        `yaml:"payload,omitempty"`
	Topic            string        `yaml:"topic"`
	Headers          []string      `yaml:"headers,omitempty"`
	VersionCheck     VersionCheck  `yaml:"version_check"`
}

// OutboxPreset names a default set of outbox column names.
type OutboxPreset string

// The presets.
const (
	PresetDefault  = OutboxPreset(transform.PresetDefault)  // id, aggregate_type, aggregate_id, aggregate_version, event_type, payload
	PresetDebezium = OutboxPreset(transform.PresetDebezium) // id, aggregatetype, aggregateid, type, payload
)

func (OutboxPreset) values() []OutboxPreset { return []OutboxPreset{PresetDefault, PresetDebezium} }

// UnmarshalYAML accepts only the known presets.
func (p *OutboxPreset) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, p, "outbox preset", p.values())
}

// OnDelete is what an outbox route does with deleted outbox rows.
type OnDelete string

// OnDelete values.
const (
	DeleteIgnore = OnDelete(transform.DeleteIgnore)
	DeleteDLT    = OnDelete(transform.DeleteDLT)
)

func (OnDelete) values() []OnDelete { return []OnDelete{DeleteIgnore, DeleteDLT} }

// UnmarshalYAML accepts ignore and dlt.
func (o *OnDelete) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, o, "on_delete action", o.values())
}

// OnUpdate is what an outbox route does with updated outbox rows.
type OnUpdate string

// OnUpdate values.
const (
	UpdateWarn = OnUpdate(transform.UpdateWarn)
	UpdateDLT  = OnUpdate(transform.UpdateDLT)
)

func (OnUpdate) values() []OnUpdate { return []OnUpdate{UpdateWarn, UpdateDLT} }

// UnmarshalYAML accepts warn and dlt.
func (o *OnUpdate) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, o, "on_update action", o.values())
}

// VersionCheck is what the ordering guard does with an aggregate version
// that skips or repeats.
type VersionCheck string

// VersionCheck values.
const (
	VersionOff  = VersionCheck(transform.VersionOff)
	VersionFlag = VersionCheck(transform.VersionFlag)
	VersionDLT  = VersionCheck(transform.VersionDLT)
)

func (VersionCheck) values() []VersionCheck {
	return []VersionCheck{VersionOff, VersionFlag, VersionDLT}
}

// UnmarshalYAML accepts off, flag and dlt.
func (c *VersionCheck) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, c, "version_check mode", c.values())
}

// MessageFormat is the format of a logical message's content.
type MessageFormat string

// FormatJSONMessage is the only message format.
const FormatJSONMessage MessageFormat = "json"

// UnmarshalYAML accepts json.
func (f *MessageFormat) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, f, "message format", []MessageFormat{FormatJSONMessage})
}

// Secret is a string that is never printed: String, LogValue and the YAML
// of Redacted show "***".
type Secret string

// UnmarshalYAML takes the scalar as it is (secrets are already expanded).
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a string, got %s", kindName(n))
	}
	*s = Secret(n.Value)
	return nil
}

// MarshalYAML writes "***".
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redactedPassword
}

// LogValue logs "***".
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

func (c *Config) routeDefaults() {
	for i := range c.Routes {
		r := &c.Routes[i]
		if o := r.Outbox; o != nil {
			if o.Preset == "" {
				o.Preset = PresetDefault
			}
			if o.Topic == "" {
				o.Topic = transform.DefaultOutboxTopic
			}
			if o.OnDelete == "" {
				o.OnDelete = DeleteIgnore
			}
			if o.OnUpdate == "" {
				o.OnUpdate = UpdateWarn
			}
			if o.VersionCheck == "" {
				o.VersionCheck = VersionFlag
			}
		}
	}
	for i := range c.Messages {
		m := &c.Messages[i]
		if m.Format == "" {
			m.Format = FormatJSONMessage
		}
		if m.Preset == "" {
			m.Preset = PresetDefault
		}
		if m.Topic == "" {
			m.Topic = transform.DefaultOutboxTopic
		}
		if m.VersionCheck == "" {
			m.VersionCheck = VersionFlag
		}
	}
}

// validateRoutes checks routes and messages: what transform checks
// (patterns, templates, regular expressions, masks, conflicting routes),
// located at the key's line, plus what needs the rest of the file.
func (c *Config) validateRoutes(v *checker) {
	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		if r.Outbox == nil && v.written(key+".outbox") {
			v.add(key+".outbox", "is empty; write outbox: {} for the default outbox_event shape")
		}
		if r.Outbox != nil && r.Tombstones != nil {
			v.add(key+".tombstones", "does not apply to an outbox route (remove it)")
		}
		ns, table, ok := strings.Cut(r.Table, ".")
		if ok && isLiteralPattern(r.Table) && len(c.Source.Tables) > 0 && !c.Source.MatchTable(ns, table) {
			v.add(key+".table", "%s is not captured: add it to source.tables", r.Table)
		}
	}
	if c.Source.Type == SourceMySQL {
		v.onlyFor("messages", len(c.Messages) > 0, "postgres")
	}
	rc := c.RouterConfig()
	err := rc.Validate()
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ce *transform.ConfigError
		if errors.As(e, &ce) {
			v.add(ce.Key, "%s", ce.Msg)
		} else {
			v.add("routes", "%v", e)
		}
	}
}

func isLiteralPattern(p string) bool { return !strings.ContainsAny(p, `*?[\`) }

// RouterConfig is the routing part of c for transform.NewRouter: routes
// named by their keys ("routes[1]", "messages[0]") so that errors point at
// the file, tombstones on for tables without a route. The caller sets
// Envelope and Notify.
func (c *Config) RouterConfig() transform.RouterConfig {
	rc := transform.RouterConfig{Prefix: c.Kafka.TopicPrefix, Tombstones: true}
	for i, r := range c.Routes {
		tr := transform.Route{
			Name: fmt.Sprintf("routes[%d]", i), Table: r.Table,
			Topic: r.Topic, TopicRegex: r.TopicRegex, TopicReplacement: r.TopicReplacement,
			Key: r.Key, Tombstones: r.Tombstones == nil || *r.Tombstones,
			Include: r.Include, Exclude: r.Exclude, Mask: r.Mask, Salt: string(r.Salt),
		}
		if o := r.Outbox; o != nil {
			tr.Outbox = &transform.Outbox{
				Fields: transform.OutboxFields{Preset: transform.Preset(o.Preset), ID: o.ID, AggregateType: o.AggregateType,
					AggregateID: o.AggregateID, AggregateVersion: o.AggregateVersion, EventType: o.EventType, Payload: o.Payload},
				Topic: o.Topic, Headers: o.Headers, OnDelete: transform.OnDelete(o.OnDelete),
				OnUpdate: transform.OnUpdate(o.OnUpdate), VersionCheck: transform.VersionCheck(o.VersionCheck),
			}
		}
		rc.Routes = append(rc.Routes, tr)
	}
	for i, m := range c.Messages {
		rc.Messages = append(rc.Messages, transform.MessageRoute{
			Name: fmt.Sprintf("messages[%d]", i), Prefix: m.Prefix, Format: string(m.Format),
			Fields: transform.OutboxFields{Preset: transform.Preset(m.Preset), ID: m.ID, AggregateType: m.AggregateType,
				AggregateID: m.AggregateID, AggregateVersion: m.AggregateVersion, EventType: m.EventType, Payload: m.Payload},
			Topic: m.Topic, Headers: m.Headers, VersionCheck: transform.VersionCheck(m.VersionCheck),
		})
	}
	return rc
}

// written reports whether the file wrote key, even with a null value.
func (v *checker) written(key string) bool { return v.pos != nil && v.pos.lines[key] > 0 }
