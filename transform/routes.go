package transform

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// RouterConfig configures a Router. The zero value of each enum is its
// default.
type RouterConfig struct {
	// Envelope describes the connector in each event's "source" block.
	Envelope Envelope
	// Prefix is the topic prefix: tables without a route go to
	// "<prefix>.<namespace>.<table>", and templates may use {prefix}.
	Prefix string
	// Tombstones is the tombstone setting of tables without a route.
	Tombstones bool
	// Routes route the changes of the tables they match. A table matches at
	// most one route (see Validate); tables without one use the default
	// table route.
	Routes []Route
	// Messages route Postgres logical messages by prefix; other messages
	// use the default table route ("<prefix>.message").
	Messages []MessageRoute
	// GuardSize bounds the ordering guard (DefaultGuardSize when <= 0).
	GuardSize int
	// Notify, when set, is called (on the goroutine calling Route) for
	// events the router drops or flags: outbox updates it ignores and
	// version anomalies. It must not block; it is how the caller logs.
	Notify func(Notice)
}

// Route is the routing of the tables that match Table: an outbox route
// when Outbox is set, otherwise a table route.
type Route struct {
	// Name is how errors name the route, such as "routes[1]".
	Name string
	// Table is a "namespace.table" pattern, each part a path.Match glob.
	Table string
	// Outbox makes the route an outbox event router; the table-route
	// fields below must then be empty.
	Outbox *Outbox

	// Topic is a template over {prefix}, {schema} (the namespace), {table}
	// and {db}; "" keeps "<prefix>.<namespace>.<table>".
	Topic string
	// TopicRegex rewrites the default topic "<prefix>.<namespace>.<table>"
	// with TopicReplacement (regexp.ReplaceAllString syntax: $1, ${name})
	// when it matches, to merge shards; the topic is kept when it does not
	// match. Exclusive with Topic.
	TopicRegex       string
	TopicReplacement string
	// Key lists the key columns; empty means the table's primary key
	// (replica identity).
	Key []string
	// Tombstones adds a null-valued record after each delete.
	Tombstones bool
	// Include keeps only these columns; Exclude drops these. At most one
	// of them may be set.
	Include, Exclude []string
	// Mask masks columns ("hash", "truncate:N", "null"; see ParseMask) in
	// the before and after images and in the key.
	Mask map[string]string
	// Salt is prepended to values before hashing; required by hash masks.
	Salt string
}

// Preset names a default set of outbox column names.
type Preset string

// The presets.
const (
	// PresetDefault: id, aggregate_type, aggregate_id, aggregate_version,
	// event_type, payload.
	PresetDefault Preset = "default"
	// PresetDebezium: Debezium's outbox shape, id, aggregatetype,
	// aggregateid, type, payload (no version).
	PresetDebezium Preset = "debezium"
)

// OnDelete is what an outbox route does with a deleted outbox row.
type OnDelete string

// OnDelete values.
const (
	DeleteIgnore OnDelete = "ignore" // drop it (counted): services may delete outbox rows at once
	DeleteDLT    OnDelete = "dlt"    // send it to the dead-letter topic
)

// OnUpdate is what an outbox route does with an updated outbox row, a
// misuse: outbox rows are immutable events.
type OnUpdate string

// OnUpdate values.
const (
	UpdateWarn OnUpdate = "warn" // drop it, count it and Notify
	UpdateDLT  OnUpdate = "dlt"  // send it to the dead-letter topic
)

// VersionCheck is what the ordering guard does with an anomaly.
type VersionCheck string

// VersionCheck values.
const (
	VersionOff  VersionCheck = "off"  // no check
	VersionFlag VersionCheck = "flag" // header cdc.version.anomaly, count, Notify; delivered
	VersionDLT  VersionCheck = "dlt"  // send the event to the dead-letter topic instead
)

// OutboxFields names the columns (or, for logical messages, the JSON
// fields) an outbox event is read from. "" takes the preset's name.
type OutboxFields struct {
	Preset        Preset
	ID            string
	AggregateType string
	AggregateID   string
	// AggregateVersion is optional: the preset's column is used when the
	// table has it; a name set here must exist.
	AggregateVersion string
	EventType        string
	Payload          string
}

// Outbox configures an outbox event router.
type Outbox struct {
	Fields OutboxFields
	// Topic is a template over the outbox's logical fields (id,
	// aggregate_type, aggregate_id, aggregate_version, event_type), then
	// {prefix}, {schema}, {table}, {db}, then any column; "" means
	// DefaultOutboxTopic.
	Topic string
	// Headers lists extra columns copied into headers of the same name.
	Headers      []string
	OnDelete     OnDelete
	OnUpdate     OnUpdate
	VersionCheck VersionCheck
}

// MessageRoute routes the Postgres logical messages with one prefix as
// outbox events: the content is a JSON object whose fields are named by
// Fields.
type MessageRoute struct {
	Name   string
	Prefix string
	// Format is the content's format; only "json" ("" means json).
	Format string
	Fields OutboxFields
	// Topic is a template as for Outbox.Topic, over the logical fields,
	// {prefix}, {db} and the content's top-level fields.
	Topic        string
	Headers      []string
	VersionCheck VersionCheck
}

// DefaultOutboxTopic is the topic template of outbox events.
const DefaultOutboxTopic = "{aggregate_type}.events"

// Header names set by the outbox router.
const (
	HeaderID               = "id"
	HeaderEventType        = "eventType"
	HeaderAggregateType    = "aggregateType"
	HeaderAggregateVersion = "aggregateVersion"
	HeaderTxID             = "cdc.tx.id"
	HeaderPosition         = "cdc.source.position"
	HeaderAnomaly          = "cdc.version.anomaly"
)

var reservedHeaders = []string{HeaderID, HeaderEventType, HeaderAggregateType, HeaderAggregateVersion, HeaderTxID, HeaderPosition, HeaderAnomaly}

// tableVars are the variables of table-route templates.
var tableVars = []string{"prefix", "schema", "table", "db"}

// logicalFields are the outbox fields templates may name.
var logicalFields = []string{"id", "aggregate_type", "aggregate_id", "aggregate_version", "event_type"}

// resolved is f with the preset applied; versionSet reports that the
// version column was named explicitly (and so must exist).
func (f OutboxFields) resolved() (r OutboxFields, versionSet bool) {
	r = f
	def := OutboxFields{ID: "id", AggregateType: "aggregate_type", AggregateID: "aggregate_id",
		AggregateVersion: "aggregate_version", EventType: "event_type", Payload: "payload"}
	if f.Preset == PresetDebezium {
		def = OutboxFields{ID: "id", AggregateType: "aggregatetype", AggregateID: "aggregateid", EventType: "type", Payload: "payload"}
	}
	for _, p := range []struct {
		dst *string
		def string
	}{
		{&r.ID, def.ID}, {&r.AggregateType, def.AggregateType}, {&r.AggregateID, def.AggregateID},
		{&r.AggregateVersion, def.AggregateVersion}, {&r.EventType, def.EventType}, {&r.Payload, def.Payload},
	} {
		if *p.dst == "" {
			*p.dst = p.def
		}
	}
	if r.Preset == "" {
		r.Preset = PresetDefault
	}
	return r, f.AggregateVersion != ""
}

// ConfigError is one problem in a RouterConfig. Key names the setting by
// the route's Name and the field's config name, e.g.
// "routes[1].outbox.topic", so that the config package can point at its
// line.
type ConfigError struct {
	Key string
	Msg string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Msg }

type configErrs []error

func (c *configErrs) add(key, format string, args ...any) {
	*c = append(*c, &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Validate reports every problem in c as *ConfigError values joined with
// errors.Join: bad table patterns, templates, regular expressions and masks;
// unknown template variables; contradicting settings; unknown enum values;
// and routes that conflict. Two routes conflict when their patterns are
// equal or when one is a literal table name the other matches; a table
// matched by two glob routes is detected only when its first change
// arrives, and its changes then go to the dead-letter topic.
func (c *RouterConfig) Validate() error {
	var errs configErrs
	for i := range c.Routes {
		r := &c.Routes[i]
		r.validate(&errs)
		if checkTablePattern(r.Table) != nil {
			continue
		}
		for j := range i {
			o := &c.Routes[j]
			if checkTablePattern(o.Table) == nil && patternsConflict(r.Table, o.Table) {
				errs.add(r.Name+".table", "%q conflicts with %s (table %q): a table may match one route only; narrow one of the patterns", r.Table, o.Name, o.Table)
			}
		}
	}
	prefixes := map[string]string{}
	for i := range c.Messages {
		m := &c.Messages[i]
		m.validate(&errs)
		if first, dup := prefixes[m.Prefix]; dup && m.Prefix != "" {
			errs.add(m.Name+".prefix", "%q is already routed by %s; a prefix may have one route", m.Prefix, first)
		} else {
			prefixes[m.Prefix] = m.Name
		}
	}
	return errors.Join(errs...)
}

func (r *Route) validate(errs *configErrs) {
	if err := checkTablePattern(r.Table); err != nil {
		errs.add(r.Name+".table", "%v", err)
	}
	if r.Outbox != nil {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"topic", r.Topic != ""}, {"topic_regex", r.TopicRegex != ""}, {"topic_replacement", r.TopicReplacement != ""},
			{"key", len(r.Key) > 0}, {"include", len(r.Include) > 0}, {"exclude", len(r.Exclude) > 0},
			{"mask", len(r.Mask) > 0}, {"salt", r.Salt != ""},
		} {
			if f.set {
				hint := ""
				if f.name == "topic" {
					hint = fmt.Sprintf("; set %s.outbox.topic for the events' topic", r.Name)
				}
				errs.add(r.Name+"."+f.name, "does not apply to an outbox route (remove it%s)", hint)
			}
		}
		validateOutbox(errs, r.Name+".outbox", r.Outbox.Fields, r.Outbox.Topic, r.Outbox.Headers, r.Outbox.VersionCheck)
		if !oneOf(r.Outbox.OnDelete, "", DeleteIgnore, DeleteDLT) {
			errs.add(r.Name+".outbox.on_delete", "unknown value %q (valid values: ignore, dlt)", r.Outbox.OnDelete)
		}
		if !oneOf(r.Outbox.OnUpdate, "", UpdateWarn, UpdateDLT) {
			errs.add(r.Name+".outbox.on_update", "unknown value %q (valid values: warn, dlt)", r.Outbox.OnUpdate)
		}
		return
	}
	if r.Topic != "" {
		if r.TopicRegex != "" {
			errs.add(r.Name+".topic_regex", "set either topic (a template) or topic_regex with topic_replacement, not both")
		}
		if t, err := ParseTemplate(r.Topic); err != nil {
			errs.add(r.Name+".topic", "%v", err)
		} else {
			for _, v := range t.Vars() {
				if !slices.Contains(tableVars, v) {
					errs.add(r.Name+".topic", "template %q uses unknown variable {%s} (valid: {prefix}, {schema}, {table}, {db})", r.Topic, v)
				}
			}
		}
	}
	switch {
	case r.TopicRegex != "":
		if _, err := regexp.Compile(r.TopicRegex); err != nil {
			errs.add(r.Name+".topic_regex", "%v", err)
		}
		if r.TopicReplacement == "" {
			errs.add(r.Name+".topic_replacement", "is required with topic_regex (e.g. \"$1.orders\")")
		}
	case r.TopicReplacement != "":
		errs.add(r.Name+".topic_replacement", "applies only with topic_regex (or use topic: a template)")
	}
	checkNames(errs, r.Name+".key", r.Key)
	checkNames(errs, r.Name+".include", r.Include)
	checkNames(errs, r.Name+".exclude", r.Exclude)
	if len(r.Include) > 0 && len(r.Exclude) > 0 {
		errs.add(r.Name+".exclude", "set either include or exclude, not both")
	}
	for i, k := range r.Key {
		if slices.Contains(r.Key[:i], k) {
			continue // reported above
		}
		if slices.Contains(r.Exclude, k) {
			errs.add(r.Name+".exclude", "excludes key column %q (mask it instead, or choose other key columns)", k)
		}
		if len(r.Include) > 0 && !slices.Contains(r.Include, k) {
			errs.add(r.Name+".include", "leaves out key column %q (add it)", k)
		}
	}
	hash := false
	for _, col := range sortedKeys(r.Mask) {
		key := r.Name + ".mask." + col
		m, err := ParseMask(r.Mask[col])
		if err != nil {
			errs.add(key, "%v", err)
			continue
		}
		hash = hash || m.Kind == MaskHash
		if slices.Contains(r.Exclude, col) || len(r.Include) > 0 && !slices.Contains(r.Include, col) {
			errs.add(key, "masks column %q, which is not in the events (it is excluded)", col)
		}
	}
	if hash && r.Salt == "" {
		errs.add(r.Name+".salt", "is required by hash masks: an unsalted hash of a short value is easy to reverse (e.g. salt: ${MASK_SALT})")
	}
}

func validateOutbox(errs *configErrs, name string, f OutboxFields, topic string, headers []string, vc VersionCheck) {
	if !oneOf(f.Preset, "", PresetDefault, PresetDebezium) {
		errs.add(name+".preset", "unknown preset %q (valid values: default, debezium)", f.Preset)
	}
	for _, c := range []struct{ key, value string }{
		{"id", f.ID}, {"aggregate_type", f.AggregateType}, {"aggregate_id", f.AggregateID},
		{"aggregate_version", f.AggregateVersion}, {"event_type", f.EventType}, {"payload", f.Payload},
	} {
		if strings.TrimSpace(c.value) != c.value {
			errs.add(name+"."+c.key, "%q has leading or trailing spaces", c.value)
		}
	}
	if topic != "" {
		if _, err := ParseTemplate(topic); err != nil {
			errs.add(name+".topic", "%v", err)
		}
	}
	checkNames(errs, name+".headers", headers)
	for _, h := range headers {
		if slices.Contains(reservedHeaders, h) {
			errs.add(name+".headers", "%q is a header the outbox router sets itself (reserved: %s)", h, strings.Join(reservedHeaders, ", "))
		}
	}
	if !oneOf(vc, "", VersionOff, VersionFlag, VersionDLT) {
		errs.add(name+".version_check", "unknown value %q (valid values: off, flag, dlt)", vc)
	}
}

func (m *MessageRoute) validate(errs *configErrs) {
	if m.Prefix == "" {
		errs.add(m.Name+".prefix", "is required (the prefix given to pg_logical_emit_message)")
	}
	if m.Format != "" && m.Format != "json" {
		errs.add(m.Name+".format", "unknown format %q (valid values: json)", m.Format)
	}
	validateOutbox(errs, m.Name, m.Fields, m.Topic, m.Headers, m.VersionCheck)
}

// checkNames reports empty and repeated entries of a column list.
func checkNames(errs *configErrs, key string, names []string) {
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case n == "":
			errs.add(key, "has an empty column name")
		case seen[n]:
			errs.add(key, "lists %q twice", n)
		}
		seen[n] = true
	}
}

func oneOf[T comparable](v T, valid ...T) bool { return slices.Contains(valid, v) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkTablePattern accepts "namespace.table", each part a non-empty
// path.Match pattern.
func checkTablePattern(p string) error {
	ns, table, ok := strings.Cut(p, ".")
	switch {
	case p == "":
		return errors.New(`is required ("namespace.table", e.g. public.outbox_event)`)
	case !ok || strings.Contains(table, ".") || ns == "" || table == "":
		return fmt.Errorf(`%q is not "namespace.table" (e.g. public.outbox_event, or "public.orders_*")`, p)
	}
	for _, part := range []string{ns, table} {
		if _, err := path.Match(part, ""); err != nil {
			return fmt.Errorf("%q is not a valid pattern: %w (use *, ? and [...] as in path.Match)", p, err)
		}
	}
	return nil
}

// MatchTable reports whether the valid pattern p ("namespace.table" globs)
// matches the table namespace.table.
func MatchTable(p, namespace, table string) bool {
	pns, pt, _ := strings.Cut(p, ".")
	nsOK, _ := path.Match(pns, namespace)
	tOK, _ := path.Match(pt, table)
	return nsOK && tOK
}

// isLiteral reports whether p has no glob characters.
func isLiteral(p string) bool { return !strings.ContainsAny(p, `*?[\`) }

// patternsConflict reports two patterns that certainly match a common
// table: equal patterns, or a literal one the other matches.
func patternsConflict(a, b string) bool {
	if a == b {
		return true
	}
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		if isLiteral(pair[0]) {
			ns, t, _ := strings.Cut(pair[0], ".")
			if MatchTable(pair[1], ns, t) {
				return true
			}
		}
	}
	return false
}
