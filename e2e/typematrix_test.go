//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The type matrix: one table per database with a column per type family
// of docs/types.md and a row per edge value. Every row is inserted (odd
// ids before cdc starts, read by its snapshot; even ids streamed), then
// updated to the next row's values, then deleted; each event's images are
// compared, value by value, with what the database itself reads back for
// that row, converted by the mode under test. The matrix below is data:
// a new type is a column, a new edge value a literal.

// valueKind says how a column is read back and which conversion a mode
// applies. Kinds are finer than the default mode needs (it writes time,
// interval and uuid alike as text) because other modes tell them apart.
type valueKind string

const (
	kindInt      valueKind = "int"      // exact integer, signed or unsigned
	kindYear     valueKind = "year"     // MySQL YEAR
	kindFloat32  valueKind = "float32"  // real, FLOAT
	kindFloat64  valueKind = "float64"  // double precision, DOUBLE
	kindDecimal  valueKind = "decimal"  // numeric, decimal
	kindMoney    valueKind = "money"    // read back as numeric
	kindText     valueKind = "text"     // character types, xml, name, "char"
	kindBool     valueKind = "bool"     //
	kindBytes    valueKind = "bytes"    // read back as hex
	kindJSON     valueKind = "json"     // json, jsonb, MariaDB JSON
	kindUUID     valueKind = "uuid"     //
	kindNet      valueKind = "net"      // inet, cidr, macaddr, inet6, inet4
	kindEnum     valueKind = "enum"     // user enums, ENUM
	kindSet      valueKind = "set"      // SET, read back as "a,c"
	kindBits     valueKind = "bits"     // bit(n), varbit, read back as 0s and 1s
	kindDate     valueKind = "date"     // date, with BC, infinities and zero dates
	kindTime     valueKind = "time"     // time (MySQL's may be negative or past 24 h)
	kindTimeTZ   valueKind = "timetz"   //
	kindInterval valueKind = "interval" // read back in iso_8601 style
	kindWall     valueKind = "wall"     // timestamp, datetime: wall time
	kindInstant  valueKind = "instant"  // timestamptz, MySQL timestamp: read back as UTC wall time
	kindArray    valueKind = "array"    // read back as a JSON array of element texts; elem says their kind
	kindRange    valueKind = "range"    // read back as {"lower","upper",...} of bound texts, or {"empty":true}
	kindPoint    valueKind = "point"    // read back as "(x,y)"
	kindHstore   valueKind = "hstore"   // read back as a JSON object
	kindGeometry valueKind = "geometry" // read back as {"srid","wkb"}
	kindOther    valueKind = "other"    // a type without a mapping: the server's text form
)

// lits are a column's SQL literals by row label; a row without one holds
// NULL.
type lits map[string]string

// matrixColumn is one column of a matrix table.
type matrixColumn struct {
	name string
	typ  string    // as declared; {ns} is the test's namespace
	db   string    // the driver's name ("postgres", "mariadb"), set by runMatrix
	kind valueKind //
	elem valueKind // arrays and ranges: the elements' kind
	// read, when set, replaces the driver's read-back expression for the
	// kind; %[1]s is the column.
	read  string
	needs string // a PostgreSQL extension the type needs; left out without it
	vals  lits
}

// typeMatrix is one database's table.
type typeMatrix struct {
	prefix  string   // of the namespace name
	rows    []string // labels; row i+1 holds the literals labelled rows[i]
	setup   []string // statements run in the namespace before the table is created
	columns []matrixColumn
	known   []knownIssue
}

// knownIssue is a cdc bug the matrix found and cdc does not fix yet: its
// mismatches are logged instead of failing the test, and the test fails
// once they no longer occur, so that the entry goes with the fix.
type knownIssue struct {
	mode        string // "" for every mode
	column, row string // a column and a row label
	why         string
}

// matches reports whether m is one of the issue's mismatches: in its
// column, or a row-level one (a dead letter) that names the column.
func (k knownIssue) matches(mode string, m mismatch) bool {
	return (k.mode == "" || k.mode == mode) && m.label == k.row &&
		(m.column == k.column || m.column == "" && strings.Contains(m.note, `column "`+k.column+`"`))
}

// valueMode is one event format under test: the config lines that select
// it and the event value it must write for a column, derived from the
// database's read-back text (nil for NULL). A new format (the Debezium
// mode) is one more entry in matrixModes.
type valueMode struct {
	name   string
	config string // top-level config lines, e.g. "events:\n  format: debezium\n"
	value  func(c matrixColumn, text *string) (any, error)
}

var matrixModes = []valueMode{
	{name: "cdc", value: cdcValue},
	// Debezium's value encodings (matrixdbz_test.go), schemas included so
	// that the runner also reads the {"schema", "payload"} form.
	{name: "debezium", config: "  schema_in_payload: true\nevents:\n  format: debezium\n", value: debeziumValue},
}

// TestTypeMatrix runs each database's matrix in each mode, all in
// parallel: every type family of docs/types.md, every edge row, through
// the snapshot, the stream, updates and deletes, against the database's
// own read-back. CDC_MATRIX_VERBOSE=1 logs every value compared.
func TestTypeMatrix(t *testing.T) {
	t.Parallel()
	for _, mode := range matrixModes {
		t.Run("postgres/"+mode.name, func(t *testing.T) {
			t.Parallel()
			d := newPGMatrix(t)
			m := pgTypes
			var cols []matrixColumn
			for _, c := range m.columns {
				if c.needs != "" && !d.hasExtension(t, c.needs) {
					t.Logf("column %s left out: extension %s is not available", c.name, c.needs)
					continue
				}
				cols = append(cols, c)
			}
			m.columns = cols
			runMatrix(t, d, m, mode)
		})
		t.Run("mariadb/"+mode.name, func(t *testing.T) {
			t.Parallel()
			runMatrix(t, newMyMatrix(t), myTypes, mode)
		})
	}
}

// matrixEvent is one change event of a matrix row, its numbers kept as
// written.
type matrixEvent struct {
	op            string
	before, after map[string]any
	tombstone     bool
	dlt           string // the dead-letter reason, for a record on the DLT topic
}

// mismatch is one disagreement between an event and the database.
type mismatch struct {
	column, op, image string
	id                int
	label             string
	got, want         any
	text              *string // the database's read-back
	note              string
}

func (m mismatch) String() string {
	db := "NULL"
	if m.text != nil {
		db = strconv.Quote(*m.text)
	}
	s := fmt.Sprintf("row %d (%s) op %s %s", m.id, m.label, m.op, m.image)
	if m.column != "" {
		s += fmt.Sprintf(" column %s: event %s, want %s (database %s)", m.column, jsonText(m.got), jsonText(m.want), db)
	}
	if m.note != "" {
		s += ": " + m.note
	}
	return s
}

func jsonText(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// runMatrix runs one database's matrix in one mode and fails once, with
// every mismatch.
func runMatrix(t *testing.T, d matrixDriver, m typeMatrix, mode valueMode) {
	start := time.Now()
	ns := uniq(m.prefix + mode.name)
	sub := func(s string) string { return strings.ReplaceAll(s, "{ns}", ns) }
	cols := make([]matrixColumn, len(m.columns))
	for i, c := range m.columns {
		c.typ = sub(c.typ)
		c.db = d.String()
		cols[i] = c
	}
	var setup []string
	for _, s := range m.setup {
		setup = append(setup, sub(s))
	}
	d.create(t, ns, setup, cols)
	table := ns + ".t"
	n := len(m.rows)
	label := func(id int) string { return m.rows[(id-1)%n] }
	values := func(l string) []string {
		var vs []string
		for _, c := range cols {
			v, ok := c.vals[l]
			if !ok {
				v = "NULL"
			}
			vs = append(vs, sub(v))
		}
		return vs
	}
	names := []string{"id"}
	for _, c := range cols {
		names = append(names, c.name)
	}
	insert := func(id int) string {
		return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%d, %s)", table, strings.Join(names, ", "), id, strings.Join(values(label(id)), ", "))
	}
	// Row id takes the values of row id+1 (the last row those of the first).
	update := func(id int) string {
		var set []string
		for i, v := range values(label(id%n + 1)) {
			set = append(set, cols[i].name+" = "+v)
		}
		return fmt.Sprintf("UPDATE %s SET %s WHERE id = %d", table, strings.Join(set, ", "), id)
	}

	for id := 1; id <= n; id += 2 {
		d.exec(t, insert(id))
	}
	p := d.start(t, ns, "  batch:\n    linger: 20ms\n"+mode.config)
	p.logOnFailure()
	for id := 2; id <= n; id += 2 {
		d.exec(t, insert(id))
	}
	inserted := d.read(t, ns, cols)
	for id := 1; id <= n; id++ {
		d.exec(t, update(id))
	}
	updated := d.read(t, ns, cols)
	d.exec(t, "DELETE FROM "+table)
	if len(inserted) != n || len(updated) != n {
		t.Fatalf("read back %d rows after the inserts and %d after the updates, want %d", len(inserted), len(updated), n)
	}

	topic := ns + "." + table
	c := newConsumer(t, "^"+ns+`\.`+ns+`\.t(\.DLT)?$`)
	c.until(60*time.Second, func(es []event) bool { return len(es) >= 4*n || p.exited() })
	es := c.settle(500 * time.Millisecond)
	byID := map[int][]matrixEvent{}
	var bad []mismatch
	for _, e := range es {
		id, ev, err := decodeMatrixEvent(e, topic)
		if err != nil {
			bad = append(bad, mismatch{id: id, note: err.Error()})
			continue
		}
		byID[id] = append(byID[id], ev)
	}

	compare := func(id int, op, image string, got map[string]any, want map[string]*string) {
		if got == nil {
			bad = append(bad, mismatch{id: id, label: label(id), op: op, image: image, note: "no image"})
			return
		}
		if !sameValue(got["id"], json.Number(strconv.Itoa(id))) {
			bad = append(bad, mismatch{id: id, label: label(id), op: op, image: image, column: "id", got: got["id"], want: id})
		}
		for _, c := range cols {
			text := want[c.name]
			w, err := mode.value(c, text)
			if err != nil {
				bad = append(bad, mismatch{id: id, label: label(id), op: op, image: image, column: c.name, text: text, got: got[c.name],
					note: "the mode derives no value: " + err.Error()})
				continue
			}
			g, ok := got[c.name]
			if !ok {
				bad = append(bad, mismatch{id: id, label: label(id), op: op, image: image, column: c.name, text: text, want: w, note: "column missing from the event"})
				continue
			}
			if !sameValue(g, w) {
				bad = append(bad, mismatch{id: id, label: label(id), op: op, image: image, column: c.name, text: text, got: g, want: w})
			}
		}
		for k := range got {
			if k != "id" && !hasColumn(cols, k) {
				bad = append(bad, mismatch{id: id, label: label(id), op: op, image: image, note: "unexpected field " + k})
			}
		}
	}
	for id := 1; id <= n; id++ {
		first := "c"
		if id%2 == 1 {
			first = "r"
		}
		// A change whose images hold a value the mode dead-letters goes
		// to the DLT topic instead (a delete with its tombstone), with a
		// reason naming one of those columns. The two topics are not ordered with each other, so each
		// is checked on its own.
		deadIns, deadUpd := deadColumns(mode, cols, inserted[id]), deadColumns(mode, cols, updated[id])
		wantTable, wantDLT := []string{}, [][]string{}
		for _, w := range []struct {
			op   string
			dead []string
		}{{first, deadIns}, {"u", append(append([]string(nil), deadIns...), deadUpd...)}, {"d", deadUpd}} {
			if len(w.dead) > 0 {
				wantDLT = append(wantDLT, w.dead)
			} else {
				wantTable = append(wantTable, w.op)
			}
		}
		if len(deadUpd) > 0 { // the delete's tombstone goes with it
			wantDLT = append(wantDLT, deadUpd)
		} else {
			wantTable = append(wantTable, "tombstone")
		}
		evs := byID[id]
		var ops, table, dlts []string
		for _, ev := range evs {
			switch {
			case ev.dlt != "":
				ops = append(ops, "DLT("+ev.dlt+")")
				dlts = append(dlts, ev.dlt)
			case ev.tombstone:
				ops = append(ops, "tombstone")
				table = append(table, "tombstone")
			default:
				ops = append(ops, ev.op)
				table = append(table, ev.op)
			}
		}
		okDLT := len(dlts) == len(wantDLT)
		for i := 0; okDLT && i < len(dlts); i++ {
			okDLT = namesColumn(dlts[i], wantDLT[i])
		}
		if strings.Join(table, " ") != strings.Join(wantTable, " ") || !okDLT {
			want := fmt.Sprint(wantTable)
			if len(wantDLT) > 0 {
				want += fmt.Sprintf(" and on the DLT %d changes naming one of the columns %v", len(wantDLT), wantDLT)
			}
			bad = append(bad, mismatch{id: id, label: label(id), note: fmt.Sprintf("events %v, want %s", ops, want)})
		}
		for _, ev := range evs {
			if ev.dlt != "" || ev.tombstone {
				continue
			}
			switch ev.op {
			case "r", "c":
				if len(deadIns) > 0 {
					continue // reported above
				}
				compare(id, ev.op, "after", ev.after, inserted[id])
				if ev.before != nil {
					bad = append(bad, mismatch{id: id, label: label(id), op: ev.op, image: "before", note: "not null"})
				}
			case "u":
				if len(deadIns)+len(deadUpd) > 0 {
					continue
				}
				compare(id, ev.op, "before", ev.before, inserted[id])
				compare(id, ev.op, "after", ev.after, updated[id])
			case "d":
				if len(deadUpd) > 0 {
					continue
				}
				compare(id, ev.op, "before", ev.before, updated[id])
				if ev.after != nil {
					bad = append(bad, mismatch{id: id, label: label(id), op: ev.op, image: "after", note: "not null"})
				}
			}
		}
	}
	if os.Getenv("CDC_MATRIX_VERBOSE") != "" {
		for _, c := range cols {
			for id := 1; id <= n; id++ {
				var after any = "(no event)"
				if evs := byID[id]; len(evs) > 0 && evs[0].after != nil {
					after = evs[0].after[c.name]
				}
				text := "NULL"
				if v := inserted[id][c.name]; v != nil {
					text = strconv.Quote(*v)
				}
				t.Logf("%s %s row %d (%s): database %s, event %s", c.name, c.typ, id, label(id), text, jsonText(after))
			}
		}
	}
	var failing []mismatch
	seen := make([]bool, len(m.known))
	for _, b := range bad {
		known := false
		for i, k := range m.known {
			if k.matches(mode.name, b) {
				t.Logf("known issue (%s): %s %s", k.why, table, b)
				known, seen[i] = true, true
			}
		}
		if !known {
			failing = append(failing, b)
		}
	}
	for i, k := range m.known {
		if !seen[i] && (k.mode == "" || k.mode == mode.name) {
			t.Errorf("known issue of column %s row %s (%s) no longer occurs: remove it from the matrix", k.column, k.row, k.why)
		}
	}
	t.Logf("%d columns x %d rows, %d events, %d mismatches (%d known) in %v", len(cols), n, len(es), len(bad), len(bad)-len(failing), time.Since(start).Round(time.Millisecond))
	if bad = failing; len(bad) > 0 {
		sort.SliceStable(bad, func(i, j int) bool { return bad[i].column < bad[j].column })
		lines := make([]string, len(bad))
		for i, b := range bad {
			lines[i] = table + " " + b.String()
		}
		t.Errorf("%s mode %s: %d mismatches between events and the database:\n%s", d, mode.name, len(bad), strings.Join(lines, "\n"))
	}
	p.stopOK()
}

// namesColumn reports whether a dead-letter reason names one of cols as
// the value that could not be written.
func namesColumn(reason string, cols []string) bool {
	for _, c := range cols {
		if strings.Contains(reason, "column "+c+" (") {
			return true
		}
	}
	return false
}

func hasColumn(cols []matrixColumn, name string) bool {
	for _, c := range cols {
		if c.name == name {
			return true
		}
	}
	return false
}

// decodeMatrixEvent reads one record of a matrix table (or its dead-letter
// topic): the row id from the key, and the envelope with numbers as
// written. A value or key wrapped as {"schema", "payload"} is unwrapped.
func decodeMatrixEvent(e event, topic string) (int, matrixEvent, error) {
	var key map[string]any
	if err := decodeJSON(e.Key, &key); err != nil {
		return 0, matrixEvent{}, fmt.Errorf("key %q on %s: %w", e.Key, e.Topic, err)
	}
	key = unwrapPayload(key)
	idn, _ := key["id"].(json.Number)
	id, err := strconv.Atoi(string(idn))
	if err != nil {
		return 0, matrixEvent{}, fmt.Errorf("key %q on %s: no integer id", e.Key, e.Topic)
	}
	if e.Topic != topic {
		reason := e.Headers["cdc.dlt.reason"]
		if reason == "" {
			reason = "on " + e.Topic
		}
		return id, matrixEvent{dlt: reason}, nil
	}
	if e.Value == nil {
		return id, matrixEvent{tombstone: true}, nil
	}
	var v map[string]any
	if err := decodeJSON(string(e.Value), &v); err != nil {
		return id, matrixEvent{}, fmt.Errorf("value at offset %d: %w", e.Offset, err)
	}
	v = unwrapPayload(v)
	ev := matrixEvent{}
	ev.op, _ = v["op"].(string)
	ev.before, _ = v["before"].(map[string]any)
	ev.after, _ = v["after"].(map[string]any)
	return id, ev, nil
}

func unwrapPayload(m map[string]any) map[string]any {
	if p, ok := m["payload"].(map[string]any); ok && len(m) == 2 && m["schema"] != nil {
		return p
	}
	return m
}

// decodeJSON decodes s keeping numbers as json.Number.
func decodeJSON(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("text after the JSON value")
	}
	return nil
}

// sameValue compares decoded JSON values; numbers are equal when they are
// the same exact decimal with the same sign (so 1e+300 equals 1e300, and
// -0 differs from 0).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		rx, okx := new(big.Rat).SetString(string(x))
		ry, oky := new(big.Rat).SetString(string(y))
		return okx && oky && rx.Cmp(ry) == 0 && strings.HasPrefix(string(x), "-") == strings.HasPrefix(string(y), "-")
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// cdcValue is the default ("cdc") mode of docs/types.md.
func cdcValue(c matrixColumn, text *string) (any, error) {
	if text == nil {
		return nil, nil
	}
	return cdcConvert(c.kind, c.elem, *text)
}

func cdcConvert(k, elem valueKind, s string) (any, error) {
	switch k {
	case kindInt, kindYear:
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("not an integer: %q", s)
		}
		return json.Number(n.String()), nil
	case kindFloat32:
		return cdcFloat(s, 32)
	case kindFloat64:
		return cdcFloat(s, 64)
	case kindBool:
		switch s {
		case "t", "true":
			return true, nil
		case "f", "false":
			return false, nil
		}
		return nil, fmt.Errorf("not a boolean: %q", s)
	case kindBytes:
		b, err := hex.DecodeString(strings.TrimPrefix(s, `\x`)) // bytea's own text form in arrays
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString(b), nil
	case kindJSON, kindHstore, kindGeometry:
		var v any
		err := decodeJSON(s, &v)
		return v, err
	case kindPoint:
		x, y, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(s, "("), ")"), ",")
		if !ok {
			return nil, fmt.Errorf("not a point: %q", s)
		}
		fx, err := cdcFloat(x, 64)
		if err != nil {
			return nil, err
		}
		fy, err := cdcFloat(y, 64)
		if err != nil {
			return nil, err
		}
		return map[string]any{"x": fx, "y": fy}, nil
	case kindSet:
		out := []any{}
		if s != "" {
			for _, m := range strings.Split(s, ",") {
				out = append(out, m)
			}
		}
		return out, nil
	case kindDate, kindWall:
		return isoTemporal(s)
	case kindInstant:
		if s == "infinity" || s == "-infinity" {
			return s, nil
		}
		// A timestamptz's text in UTC ends in +00 (before any " BC");
		// the instant kind is otherwise read back as UTC wall time.
		bc := strings.HasSuffix(s, " BC")
		s = strings.TrimSuffix(strings.TrimSuffix(s, " BC"), "+00")
		if bc {
			s += " BC"
		}
		w, err := isoTemporal(s)
		if err != nil {
			return nil, err
		}
		return w + "Z", nil
	case kindArray:
		var v any
		if err := decodeJSON(s, &v); err != nil {
			return nil, err
		}
		return mapLeaves(v, func(leaf string) (any, error) { return cdcConvert(elem, "", leaf) })
	case kindRange:
		var r map[string]any
		if err := decodeJSON(s, &r); err != nil {
			return nil, err
		}
		for _, b := range []string{"lower", "upper"} {
			if t, ok := r[b].(string); ok {
				v, err := cdcConvert(elem, "", t)
				if err != nil {
					return nil, err
				}
				r[b] = v
			}
		}
		return r, nil
	default: // decimals, money, text, uuid, net, enum, bits, time, timetz, interval, other: the text
		return s, nil
	}
}

// mapLeaves applies f to every string of a decoded JSON array or object,
// nested.
func mapLeaves(v any, f func(string) (any, error)) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			m, err := mapLeaves(e, f)
			if err != nil {
				return nil, err
			}
			out[k] = m
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			m, err := mapLeaves(e, f)
			if err != nil {
				return nil, err
			}
			out[i] = m
		}
		return out, nil
	case string:
		return f(x)
	default:
		return v, nil
	}
}

// cdcFloat is a float's documented value: the shortest decimal that reads
// back as the same float of its size; NaN and the infinities as strings.
func cdcFloat(s string, bits int) (any, error) {
	switch s {
	case "NaN", "Infinity", "-Infinity":
		return s, nil
	}
	f, err := strconv.ParseFloat(s, bits)
	if err != nil {
		return nil, err
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, bits)), nil
}

// isoTemporal turns a database's date or date-time text ("2024-02-29",
// "0044-03-15 12:00:00.250 BC", "10000-01-01 00:00:00") into the
// documented form: astronomical years (1 BC is 0000), a sign and six
// digits outside 0000..9999, "T" between date and time, the fraction
// without trailing zeros. Infinities stay as they are.
func isoTemporal(s string) (string, error) {
	if s == "infinity" || s == "-infinity" {
		return s, nil
	}
	bc := strings.HasSuffix(s, " BC")
	s = strings.TrimSuffix(s, " BC")
	date, clock, hasClock := strings.Cut(s, " ")
	ys, md, ok := strings.Cut(date, "-")
	y, err := strconv.Atoi(ys)
	if !ok || err != nil {
		return "", fmt.Errorf("not a date: %q", s)
	}
	if bc {
		y = 1 - y
	}
	var out string
	switch {
	case y < 0:
		out = fmt.Sprintf("-%06d", -y)
	case y > 9999:
		out = fmt.Sprintf("+%06d", y)
	default:
		out = fmt.Sprintf("%04d", y)
	}
	out += "-" + md
	if hasClock {
		if strings.Contains(clock, ".") {
			clock = strings.TrimSuffix(strings.TrimRight(clock, "0"), ".")
		}
		out += "T" + clock
	}
	return out, nil
}
