// Package verify checks the events of a connector against its tables, as
// a consumer sees them: it rebuilds each row from the table topics' events
// (the after image of the last change of each key) and compares it with
// the row an on-demand snapshot reads from the database.
//
// The comparison needs no common point in time: an incremental snapshot
// emits a row only where no change of its key fell inside the chunk's
// watermark window (DBLog), so a snapshot event holds the row as it stood
// right after every change of its key before it in the topic. A consumer
// that applied those changes must have that row; any difference is a
// change lost, invented or mangled on the way. After the snapshot, a row
// the events still hold but no snapshot event confirmed, and whose key saw
// no change meanwhile, is one the table no longer has.
//
// State knows nothing of Kafka: the caller feeds it every event of the
// table topics in order per partition (Apply), brackets a run with Begin
// and End, and reads the Report.
package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
)

// Unavailable are the placeholders of a value the source did not send (an
// unchanged TOAST column, a column a minimal row image left out): a
// consumer keeps the value it had.
var Unavailable = []string{`"__cdc_unavailable_value"`, `"__debezium_unavailable_value"`}

// Result is what a check found for one row.
type Result string

// The results.
const (
	// Match: the events hold the row the table has.
	Match Result = "match"
	// Differs: the events hold the row with other values (Finding.Columns).
	Differs Result = "differs"
	// Missing: the table has the row, the events do not (never created,
	// or deleted).
	Missing Result = "missing"
	// Extra: the events hold a row the table does not have, and no change
	// of its key arrived during the run.
	Extra Result = "extra"
	// Unknown: a snapshot row whose key no event before it names, in a
	// topic whose start was deleted (retention): its history may be gone,
	// so nothing can be said.
	Unknown Result = "unknown"
	// Changed: a row the events hold that no snapshot event confirmed,
	// whose key changed during the run (it may have been created after its
	// chunk was read); it is checked by the next run.
	Changed Result = "changed"
)

// Finding is a row that did not match.
type Finding struct {
	Table   string
	Key     string
	Result  Result
	Columns []string // Differs: the columns whose values differ
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s %s: %s", f.Table, f.Key, f.Result)
	if len(f.Columns) > 0 {
		s += " (" + strings.Join(f.Columns, ", ") + ")"
	}
	return s
}

// Report is the outcome of a run, by table and result.
type Report struct {
	Counts   map[string]map[Result]int
	Findings []Finding // at most MaxFindings
}

// Mismatches is the number of rows that differ, are missing or extra.
func (r Report) Mismatches() int {
	n := 0
	for _, c := range r.Counts {
		n += c[Differs] + c[Missing] + c[Extra]
	}
	return n
}

// MaxFindings bounds Report.Findings; Counts counts every row.
const MaxFindings = 100

// State is the rows rebuilt from the events, and the run in progress.
type State struct {
	// Complete reports whether a topic's events go back to its first
	// (nothing deleted by retention): a snapshot row whose key the events
	// never named is then Missing, not Unknown. Nil means never.
	Complete func(topic string) bool

	rows  map[rowKey]*row
	names map[string]string // topic and table names, interned: one string per name, not per row
	// columns numbers the column names of each table: a row keeps its
	// columns' hashes in a slice indexed by those numbers.
	columns map[string]*columns
	run     int  // the run in progress, or the last one
	active  bool // between Begin and End
	report  Report
}

type rowKey struct{ topic, key string }

type row struct {
	table   string
	cols    []uint64 // by column number: hash of the JSON value, 0 when absent
	alive   bool
	changed int // the last run during which a change of the key arrived
	checked int // the last run whose snapshot confirmed or refuted it
}

// NewState returns an empty State.
func NewState() *State {
	return &State{rows: map[rowKey]*row{}, names: map[string]string{}, columns: map[string]*columns{}}
}

// columns are the column names of a table met so far, numbered.
type columns struct {
	index map[string]int
	names []string
}

func (c *columns) number(name string) int {
	if i, ok := c.index[name]; ok {
		return i
	}
	c.index[name] = len(c.names)
	c.names = append(c.names, name)
	return len(c.names) - 1
}

// hashes are after's column hashes, by cols' numbers; a column of
// Unavailable keeps its hash in old.
func (c *columns) hashes(after map[string]json.RawMessage, old []uint64) []uint64 {
	h := make([]uint64, len(c.names)+len(after))
	for name, v := range after {
		i := c.number(name)
		if i >= len(h) {
			h = append(h, make([]uint64, i+1-len(h))...)
		}
		if slices.Contains(Unavailable, string(bytes.TrimSpace(v))) {
			// The value is kept from before; with no value before (the
			// event that had it deleted by retention, say), it is unknown.
			h[i] = unknownHash
			if i < len(old) && old[i] != 0 {
				h[i] = old[i]
			}
			continue
		}
		h[i] = hash(v)
	}
	return slices.Clip(h[:len(c.names)])
}

func (s *State) intern(name string) string {
	if n, ok := s.names[name]; ok {
		return n
	}
	s.names[name] = name
	return name
}

// Rows is the number of rows the events hold.
func (s *State) Rows() int {
	n := 0
	for _, r := range s.rows {
		if r.alive {
			n++
		}
	}
	return n
}

// Begin starts a run: from now on, the snapshot events Apply gets are
// compared with the rows before they are applied.
func (s *State) Begin() {
	s.run++
	s.active = true
	s.report = Report{Counts: map[string]map[Result]int{}}
}

// envelope is what Apply reads of an event's value, in cdc's format or
// Debezium's (with or without the Connect schema wrapper).
type envelope struct {
	Payload json.RawMessage            `json:"payload"`
	After   map[string]json.RawMessage `json:"after"`
	Op      string                     `json:"op"`
	Source  struct {
		Schema   string          `json:"schema"`
		DB       string          `json:"db"`
		Table    string          `json:"table"`
		Snapshot json.RawMessage `json:"snapshot"`
	} `json:"source"`
}

// Apply takes the next event of topic (in order for its partition). A
// value that is no change envelope (an outbox event, a tombstone) is
// ignored; it returns false then.
func (s *State) Apply(topic string, key, value []byte) bool {
	if value == nil {
		return false
	}
	var e envelope
	if json.Unmarshal(value, &e) != nil {
		return false
	}
	if len(e.Payload) > 0 && e.Op == "" {
		e = envelope{}
		if json.Unmarshal(value, &struct {
			Payload *envelope `json:"payload"`
		}{&e}) != nil {
			return false
		}
	}
	if e.Op == "" || e.Source.Table == "" {
		return false
	}
	ns := e.Source.Schema
	if ns == "" {
		ns = e.Source.DB
	}
	table := s.intern(ns + "." + e.Source.Table)
	cols := s.columns[table]
	if cols == nil {
		cols = &columns{index: map[string]int{}}
		s.columns[table] = cols
	}
	k := rowKey{s.intern(topic), string(key)}
	r := s.rows[k]
	switch e.Op {
	case "c", "u", "d", "r":
	case "t": // a truncate: every row of the table is gone
		for _, r := range s.rows {
			if r.table == table {
				r.alive, r.changed = false, s.run
			}
		}
		return true
	default:
		return false
	}
	var snap string
	json.Unmarshal(e.Source.Snapshot, &snap)
	if e.Op == "r" && snap == "incremental" && s.active && (r == nil || r.checked < s.run) {
		s.check(topic, table, k, r, cols, e.After)
		if r = s.rows[k]; r != nil {
			r.checked = s.run
		}
	}
	if r == nil {
		r = &row{table: table}
		s.rows[k] = r
		if e.Op == "r" && snap == "incremental" && s.active {
			r.checked = s.run
		}
	}
	if e.Op != "r" && s.active {
		r.changed = s.run
	}
	if e.Op == "d" {
		r.alive = false
		return true
	}
	r.cols = cols.hashes(e.After, r.cols)
	r.alive = true
	return true
}

// check compares snapshot row after with r, the row the events hold.
func (s *State) check(topic, table string, k rowKey, r *row, cols *columns, after map[string]json.RawMessage) {
	switch {
	case r == nil && (s.Complete == nil || !s.Complete(topic)):
		s.count(Finding{Table: table, Key: k.key, Result: Unknown})
	case r == nil || !r.alive:
		s.count(Finding{Table: table, Key: k.key, Result: Missing})
	default:
		got := cols.hashes(after, nil)
		var diff []string
		unknown := false
		for i, name := range cols.names {
			var a, b uint64
			if i < len(got) {
				a = got[i]
			}
			if i < len(r.cols) {
				b = r.cols[i]
			}
			if b == unknownHash {
				unknown = true
				continue
			}
			if a != b {
				diff = append(diff, name)
			}
		}
		switch {
		case len(diff) == 0 && unknown:
			s.count(Finding{Table: table, Key: k.key, Result: Unknown})
			return
		case len(diff) == 0:
			s.count(Finding{Table: table, Key: k.key, Result: Match})
			return
		}
		sort.Strings(diff)
		s.count(Finding{Table: table, Key: k.key, Result: Differs, Columns: diff})
	}
}

func (s *State) count(f Finding) {
	c := s.report.Counts[f.Table]
	if c == nil {
		c = map[Result]int{}
		s.report.Counts[f.Table] = c
	}
	c[f.Result]++
	if f.Result != Match && f.Result != Unknown && len(s.report.Findings) < MaxFindings {
		s.report.Findings = append(s.report.Findings, f)
	}
}

// End ends the run once the snapshot of tables is complete and every event
// up to its end was applied: each row of those tables the events hold that
// no snapshot event of the run named is Extra, or Changed when a change of
// its key arrived during the run.
func (s *State) End(tables []string) Report {
	for k, r := range s.rows {
		if !r.alive || r.checked == s.run || !slices.Contains(tables, r.table) {
			continue
		}
		res := Extra
		if r.changed == s.run {
			res = Changed
		}
		s.count(Finding{Table: r.table, Key: k.key, Result: res})
	}
	for _, t := range tables {
		if s.report.Counts[t] == nil {
			s.report.Counts[t] = map[Result]int{}
		}
	}
	sort.Slice(s.report.Findings, func(i, j int) bool {
		a, b := s.report.Findings[i], s.report.Findings[j]
		return a.Table < b.Table || a.Table == b.Table && a.Key < b.Key
	})
	rep := s.report
	s.active, s.report = false, Report{}
	return rep
}

// hash is never 0, which marks an absent column.
func hash(v json.RawMessage) uint64 {
	h := fnv.New64a()
	h.Write(bytes.TrimSpace(v))
	return max(h.Sum64(), unknownHash+1)
}

// unknownHash is the hash of a column whose value no event carried (only
// the Unavailable placeholder): it compares with nothing. hash never
// returns it, nor 0 (no column).
const unknownHash = 1

// Checkpoint is what CheckHistory reads of one committed checkpoint.
type Checkpoint struct {
	Seq      uint64
	Server   string // the database server the position belongs to
	Position []byte
	// Moved: the connector was moved here on purpose (`cdc positions set`,
	// `cdc run -from`; the checkpoint starts a replay).
	Moved bool
}

// Continuity is what CheckHistory found.
type Continuity struct {
	Checkpoints int
	// Gaps are checkpoints whose Seq is not the previous one's plus one
	// (a commit missing from the history, or two writers); Regressions
	// those whose position lies before the previous one's on the same
	// server without a move. Both are discontinuities worth an alert.
	Gaps, Regressions int
	// Fresh are starts afresh (Seq 1 again: the checkpoint was deleted);
	// Failovers changes of server. Neither is a finding.
	Fresh, Failovers int
	Findings         []string
}

// CheckHistory checks that the committed checkpoints, oldest first, follow
// each other: each the next Seq, each at or after the one before it
// (reached(earlier, later) tells, with the source's order).
func CheckHistory(cps []Checkpoint, reached func(earlier, later []byte) (bool, error)) Continuity {
	c := Continuity{Checkpoints: len(cps)}
	note := func(format string, args ...any) {
		if len(c.Findings) < MaxFindings {
			c.Findings = append(c.Findings, fmt.Sprintf(format, args...))
		}
	}
	for i := 1; i < len(cps); i++ {
		a, b := cps[i-1], cps[i]
		switch {
		case b.Seq == 1 && a.Seq != 0:
			c.Fresh++
			continue
		case b.Seq != a.Seq+1:
			c.Gaps++
			note("checkpoint %d follows checkpoint %d", b.Seq, a.Seq)
		}
		switch {
		case b.Moved:
		case a.Server != b.Server:
			c.Failovers++
		default:
			ok, err := reached(a.Position, b.Position)
			if err != nil {
				note("checkpoint %d: %v", b.Seq, err)
				c.Regressions++
			} else if !ok {
				c.Regressions++
				note("checkpoint %d at %s lies before checkpoint %d at %s", b.Seq, b.Position, a.Seq, a.Position)
			}
		}
	}
	return c
}
