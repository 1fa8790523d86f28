package transform

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// Router routes changes by the configured routes: outbox tables become
// events on per-aggregate topics, logical messages with a routed prefix
// likewise, tables with a table route get its topic, key, tombstones,
// column filter and masks, and everything else takes the default table
// route (Tables).
//
// Route is not safe for concurrent use (the pipeline calls it from one
// goroutine); Stats may be called from any goroutine.
type Router struct {
	cfg      RouterConfig
	def      Tables
	routes   []*tableRoute
	messages map[string]*messageRoute
	guard    *VersionGuard

	match map[tableName]matchResult  // table -> its route
	bound map[*schema.Table]*binding // table shape -> resolved columns
	stats struct {
		outbox, deletes, updates, gaps, repeats, rejected atomic.Uint64
	}
}

type tableName struct{ namespace, name string }

type matchResult struct {
	route *tableRoute // nil: the default route
	err   error
}

type tableRoute struct {
	Route
	topic  *Template
	regex  *regexp.Regexp
	masks  map[string]Mask
	outbox *outboxRoute
}

type outboxRoute struct {
	name       string
	fields     OutboxFields // preset applied
	versionSet bool         // the version column was named explicitly
	topic      *Template
	headers    []string
	onDelete   OnDelete
	onUpdate   OnUpdate
	check      VersionCheck
}

type messageRoute struct {
	outboxRoute
	prefix string
}

// maxBindings bounds the cache of resolved table shapes; a schema change
// makes a new shape, so the cache is cleared when it grows past this.
const maxBindings = 4096

// NewRouter validates cfg (see RouterConfig.Validate) and returns its
// router.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Router{
		cfg:      cfg,
		def:      Tables{Envelope: cfg.Envelope, Prefix: cfg.Prefix, Tombstones: cfg.Tombstones},
		messages: map[string]*messageRoute{},
		guard:    NewVersionGuard(cfg.GuardSize),
		match:    map[tableName]matchResult{},
		bound:    map[*schema.Table]*binding{},
	}
	for _, rc := range cfg.Routes {
		tr := &tableRoute{Route: rc}
		if rc.Outbox != nil {
			tr.outbox = compileOutbox(rc.Name, rc.Outbox.Fields, rc.Outbox.Topic, rc.Outbox.Headers, rc.Outbox.VersionCheck)
			tr.outbox.onDelete, tr.outbox.onUpdate = rc.Outbox.OnDelete, rc.Outbox.OnUpdate
		} else {
			if rc.Topic != "" {
				tr.topic, _ = ParseTemplate(rc.Topic) // validated
			}
			if rc.TopicRegex != "" {
				tr.regex = regexp.MustCompile(rc.TopicRegex) // validated
			}
			tr.masks = map[string]Mask{}
			for col, m := range rc.Mask {
				tr.masks[col], _ = ParseMask(m) // validated
			}
		}
		r.routes = append(r.routes, tr)
	}
	for _, mc := range cfg.Messages {
		r.messages[mc.Prefix] = &messageRoute{
			outboxRoute: *compileOutbox(mc.Name, mc.Fields, mc.Topic, mc.Headers, mc.VersionCheck),
			prefix:      mc.Prefix,
		}
	}
	return r, nil
}

func compileOutbox(name string, f OutboxFields, topic string, headers []string, check VersionCheck) *outboxRoute {
	o := &outboxRoute{name: name, headers: headers, check: check}
	o.fields, o.versionSet = f.resolved()
	if topic == "" {
		topic = DefaultOutboxTopic
	}
	o.topic, _ = ParseTemplate(topic) // validated
	return o
}

// Stats counts what the router did since it was made.
type Stats struct {
	OutboxEvents   uint64 // outbox rows and logical messages routed as events
	DeletesIgnored uint64 // outbox deletes (and truncates) dropped by on_delete: ignore
	UpdatesIgnored uint64 // outbox updates dropped by on_update: warn
	VersionGaps    uint64 // events whose aggregate_version skipped versions
	VersionRepeats uint64 // events whose aggregate_version did not increase
	Rejected       uint64 // changes Route returned an error for (dead-lettered by the pipeline)
}

// Stats returns the counters. Safe for concurrent use with Route.
func (r *Router) Stats() Stats {
	return Stats{
		OutboxEvents: r.stats.outbox.Load(), DeletesIgnored: r.stats.deletes.Load(),
		UpdatesIgnored: r.stats.updates.Load(), VersionGaps: r.stats.gaps.Load(),
		VersionRepeats: r.stats.repeats.Load(), Rejected: r.stats.rejected.Load(),
	}
}

// NoticeKind says why the router notified.
type NoticeKind uint8

// The notices.
const (
	// NoticeUpdateIgnored: an outbox row was updated and on_update is warn.
	NoticeUpdateIgnored NoticeKind = iota + 1
	// NoticeVersionAnomaly: an event's aggregate_version skipped or did
	// not increase (Anomaly says which); it was delivered with a header
	// (version_check: flag) or rejected (dlt).
	NoticeVersionAnomaly
)

// Notice describes an event the router dropped or flagged, for the
// caller's log.
type Notice struct {
	Kind     NoticeKind
	Route    string // the route's name, e.g. "routes[0]"
	Source   string // "namespace.table", or "message:<prefix>"
	TxID     string
	Position string // the change's source position, "" when unknown

	AggregateType, AggregateID string
	Anomaly                    Anomaly
	Version, Last              int64
}

// Route returns the records of one change, or an error when the change
// cannot be routed: the pipeline then sends the original row to the
// dead-letter topic with the error as the reason. A change the source could
// not fully convert (ch.Err set) gets the default table route's records,
// the original row, which the pipeline dead-letters.
func (r *Router) Route(ch *source.Change) ([]Record, error) {
	recs, err := r.route(ch)
	if err != nil {
		r.stats.rejected.Add(1)
		return nil, err
	}
	return recs, nil
}

func (r *Router) route(ch *source.Change) ([]Record, error) {
	if ch.Err != nil {
		// A change the source could not convert goes to the dead-letter
		// topic in cdc's own format whatever the events' format, so that
		// `cdc dlt replay` reads it back (its values are partly raw text).
		plain := r.def
		plain.Envelope.Debezium = nil
		return plain.records(ch)
	}
	if ch.Op == source.OpMessage {
		if ch.Message != nil {
			if m, ok := r.messages[ch.Message.Prefix]; ok {
				return r.message(m, ch)
			}
		}
		return r.def.records(ch)
	}
	if ch.Table == nil {
		return r.def.records(ch)
	}
	tr, err := r.routeOf(ch.Table)
	switch {
	case err != nil:
		return nil, err
	case tr == nil:
		return r.def.records(ch)
	}
	b, err := r.bind(tr, ch.Table)
	if err != nil {
		return nil, err
	}
	if tr.outbox != nil {
		return r.outboxRow(tr.outbox, b, ch)
	}
	return r.tableRow(tr, b, ch)
}

// routeOf returns the route of a table, nil for the default route.
func (r *Router) routeOf(t *schema.Table) (*tableRoute, error) {
	name := tableName{t.Namespace, t.Name} // not t.ID(): a string built for every change
	if m, ok := r.match[name]; ok {
		return m.route, m.err
	}
	id := t.ID()
	var found []*tableRoute
	for _, tr := range r.routes {
		if MatchTable(tr.Table, t.Namespace, t.Name) {
			found = append(found, tr)
		}
	}
	var m matchResult
	switch len(found) {
	case 0:
	case 1:
		m.route = found[0]
	default:
		names := make([]string, len(found))
		for i, tr := range found {
			names[i] = fmt.Sprintf("%s (%q)", tr.Name, tr.Table)
		}
		m.err = fmt.Errorf("table %s matches %s: a table may match one route only; narrow the patterns", id, strings.Join(names, " and "))
	}
	r.match[name] = m
	return m.route, m.err
}

// Check reports whether the routes fit table t: the error a change of t
// would be dead-lettered with (a route column that t lacks, a table two
// routes match), or nil. A table no route matches fits. Like Route, it is
// not safe for concurrent use.
func (r *Router) Check(t *schema.Table) error {
	tr, err := r.routeOf(t)
	if err != nil || tr == nil {
		return err
	}
	_, err = r.bind(tr, t)
	return err
}

// TableTopic returns the topic the row changes of table t go to, for
// `cdc plan`; perRow is set (and topic is the route's template) when the
// topic depends on each row (outbox routes). meta is the source block a
// change of t carries ("db" for the {db} placeholder).
func (r *Router) TableTopic(t *schema.Table, meta source.Meta) (topic string, perRow bool, err error) {
	tr, err := r.routeOf(t)
	if err != nil {
		return "", false, err
	}
	ch := &source.Change{Op: source.OpCreate, Table: t, Meta: meta}
	switch {
	case tr == nil:
		return r.def.Topic(ch), false, nil
	case tr.outbox != nil:
		return tr.outbox.topic.String(), true, nil
	case tr.topic != nil:
		topic, err := tr.topic.Execute(func(name string) (string, error) { return r.fixedVar(name, ch) })
		return topic, false, err
	case tr.regex != nil:
		return tr.regex.ReplaceAllString(r.def.Topic(ch), tr.TopicReplacement), false, nil
	}
	return r.def.Topic(ch), false, nil
}

// binding is a route resolved against one table shape.
type binding struct {
	err error

	// Table routes.
	keyIdx []int         // key columns in the full row; nil: no key
	masks  []*Mask       // per column of the full row; nil entries unmasked
	keep   []int         // columns kept in events; nil: all
	table  *schema.Table // the table as events show it (kept columns)
	masked *schema.Table // the full table, masked columns typed as their masks write them

	// Outbox routes.
	id, aggType, aggID, version, eventType, payload int // version -1: none
	headers                                         []int
}

func (r *Router) bind(tr *tableRoute, t *schema.Table) (*binding, error) {
	if b, ok := r.bound[t]; ok {
		return b, b.err
	}
	if len(r.bound) >= maxBindings {
		clear(r.bound)
	}
	var b *binding
	var err error
	if tr.outbox != nil {
		b, err = bindOutbox(tr.outbox, t)
	} else {
		b, err = bindTable(tr, t)
	}
	if err != nil {
		err = fmt.Errorf("%s (table %q) does not fit table %s: %w", tr.Name, tr.Table, t, err)
		b = &binding{err: err}
	}
	r.bound[t] = b
	return b, err
}

func columnNames(t *schema.Table) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func bindTable(tr *tableRoute, t *schema.Table) (*binding, error) {
	b := &binding{masks: make([]*Mask, len(t.Columns)), table: t}
	var errs []error
	col := func(what, name string) int {
		i := t.Column(name)
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s column %q does not exist (columns: %s)", what, name, columnNames(t)))
		}
		return i
	}
	if len(tr.Key) > 0 {
		for _, k := range tr.Key {
			b.keyIdx = append(b.keyIdx, col("key", k))
		}
	} else {
		b.keyIdx = t.KeyColumns()
	}
	for _, name := range sortedKeys(tr.masks) {
		if i := col("masked", name); i >= 0 {
			m := tr.masks[name]
			b.masks[i] = &m
		}
	}
	drop := make([]bool, len(t.Columns))
	switch {
	case len(tr.Include) > 0:
		for i := range drop {
			drop[i] = true
		}
		for _, name := range tr.Include {
			if i := col("included", name); i >= 0 {
				drop[i] = false
			}
		}
	case len(tr.Exclude) > 0:
		for _, name := range tr.Exclude {
			if i := col("excluded", name); i >= 0 {
				drop[i] = true
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	b.masked = maskedTable(t, b.masks)
	b.table = b.masked
	for _, i := range b.keyIdx {
		if drop[i] {
			return nil, fmt.Errorf("key column %q is excluded from the events; list other key columns with key: [...] or mask it instead", t.Columns[i].Name)
		}
	}
	if len(tr.Include) > 0 || len(tr.Exclude) > 0 {
		proj := &schema.Table{Namespace: t.Namespace, Name: t.Name, Version: t.Version}
		for i, c := range b.masked.Columns {
			if !drop[i] {
				b.keep = append(b.keep, i)
				proj.Columns = append(proj.Columns, c)
			}
		}
		b.table = proj
	}
	return b, nil
}

// maskedTable is t with each masked column typed as its mask writes it:
// a hash is text, a truncated number its text, a nulled column nullable.
// t itself when nothing is masked.
func maskedTable(t *schema.Table, masks []*Mask) *schema.Table {
	var out *schema.Table
	for i, m := range masks {
		if m == nil {
			continue
		}
		if out == nil {
			cp := *t
			cp.Columns = slices.Clone(t.Columns)
			out = &cp
		}
		c := &out.Columns[i]
		switch {
		case m.Kind == MaskHash, m.Kind == MaskTruncate && c.Kind != schema.KindString && c.Kind != schema.KindBytes:
			c.Type, c.Kind, c.TypeID, c.Values = "text", schema.KindString, 0, nil
		}
		c.Nullable = c.Nullable || (m.Kind != MaskHash && m.Kind != MaskTruncate)
	}
	if out == nil {
		return t
	}
	return out
}

func bindOutbox(o *outboxRoute, t *schema.Table) (*binding, error) {
	b := &binding{version: -1}
	var errs []error
	col := func(what, name string) int {
		i := t.Column(name)
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s column %q does not exist (columns: %s)", what, name, columnNames(t)))
		}
		return i
	}
	f := o.fields
	b.id = col("id", f.ID)
	b.aggType = col("aggregate_type", f.AggregateType)
	b.aggID = col("aggregate_id", f.AggregateID)
	b.eventType = col("event_type", f.EventType)
	b.payload = col("payload", f.Payload)
	if f.AggregateVersion != "" {
		if b.version = t.Column(f.AggregateVersion); b.version < 0 && o.versionSet {
			col("aggregate_version", f.AggregateVersion)
		}
	}
	for _, h := range o.headers {
		b.headers = append(b.headers, col("header", h))
	}
	for _, v := range o.topic.Vars() {
		if !isLogical(v) && !isFixedVar(v) {
			col("topic template", v)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

func isLogical(name string) bool {
	for _, f := range logicalFields {
		if f == name {
			return true
		}
	}
	return false
}

func isFixedVar(name string) bool {
	for _, f := range tableVars {
		if f == name {
			return true
		}
	}
	return false
}

// fixedVar is the value of {prefix}, {schema}, {table} or {db}.
func (r *Router) fixedVar(name string, ch *source.Change) (string, error) {
	switch name {
	case "prefix":
		return r.cfg.Prefix, nil
	case "db":
		if s, ok := textOf(ch.Meta.Get("db")); ok {
			return s, nil
		}
		return "", errors.New("the source gives no database name")
	}
	if ch.Table == nil {
		return "", errors.New("a logical message has no table")
	}
	if name == "schema" {
		return ch.Table.Namespace, nil
	}
	return ch.Table.Name, nil
}

// tableRow routes a row change by a table route.
func (r *Router) tableRow(tr *tableRoute, b *binding, ch *source.Change) ([]Record, error) {
	topic := r.def.Topic(ch)
	switch {
	case tr.topic != nil:
		t, err := tr.topic.Execute(func(name string) (string, error) { return r.fixedVar(name, ch) })
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tr.Name, err)
		}
		topic = t
	case tr.regex != nil:
		topic = tr.regex.ReplaceAllString(topic, tr.TopicReplacement)
	}
	if err := CheckTopic(topic); err != nil {
		return nil, fmt.Errorf("%s: %w", tr.Name, err)
	}
	key := func(row []any) ([]byte, error) { return tr.key(r.def.Envelope, b, row) }
	value := func(c *source.Change) ([]byte, error) {
		out := *c
		out.Table = b.table
		out.Before = tr.row(b, c.Before)
		out.After = tr.row(b, c.After)
		return r.def.Envelope.Event(&out)
	}
	var keyHeader func([]any) ([]byte, error)
	if r.def.Envelope.Debezium != nil {
		plain := r.def.Envelope
		plain.SchemaInPayload = false
		keyHeader = func(row []any) ([]byte, error) { return tr.key(plain, b, row) }
	}
	return rowRecords(ch, topic, key, value, tr.Tombstones, keyHeader)
}

// row masks and projects a row.
func (tr *tableRoute) row(b *binding, row []any) []any {
	if row == nil {
		return nil
	}
	out := make([]any, 0, len(row))
	add := func(i int) {
		v := row[i]
		if m := b.masks[i]; m != nil {
			v = m.Apply(v, tr.Salt)
		}
		out = append(out, v)
	}
	if b.keep == nil {
		for i := range row {
			add(i)
		}
	} else {
		for _, i := range b.keep {
			add(i)
		}
	}
	return out
}

// key encodes the (masked) key columns of row.
func (tr *tableRoute) key(env Envelope, b *binding, row []any) ([]byte, error) {
	if row == nil || len(b.keyIdx) == 0 {
		return nil, nil
	}
	masked := row
	for _, i := range b.keyIdx {
		if b.masks[i] != nil {
			masked = slices.Clone(row)
			for _, i := range b.keyIdx {
				if m := b.masks[i]; m != nil {
					masked[i] = m.Apply(row[i], tr.Salt)
				}
			}
			break
		}
	}
	return env.EventKey(b.masked, b.keyIdx, masked)
}
