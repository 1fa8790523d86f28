package verify

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"
)

// ev is a cdc-format change of public.t (or the table in src).
func ev(op, snapshot, after string) []byte {
	if after == "" {
		after = "null"
	}
	return fmt.Appendf(nil, `{"before":null,"after":%s,"op":%q,"source":{"connector":"postgresql","snapshot":%q,"schema":"public","table":"t"}}`, after, op, snapshot)
}

const topic = "p.public.t"

func apply(t *testing.T, s *State, key, value string) {
	t.Helper()
	if !s.Apply(topic, []byte(key), []byte(value)) {
		t.Fatalf("not applied: %s", value)
	}
}

func TestRunFindsEachKindOfMismatch(t *testing.T) {
	s := NewState()
	s.Complete = func(string) bool { return true }
	// History: rows 1-6 created; 2 updated; 3 deleted; 6 sees an
	// unchanged-TOAST update (keeps its value).
	for k := 1; k <= 6; k++ {
		apply(t, s, fmt.Sprintf(`{"id":%d}`, k), string(ev("c", "false", fmt.Sprintf(`{"id":%d,"v":"a","big":"x%d"}`, k, k))))
	}
	apply(t, s, `{"id":2}`, string(ev("u", "false", `{"id":2,"v":"b","big":"x2"}`)))
	apply(t, s, `{"id":3}`, string(ev("d", "false", "")))
	apply(t, s, `{"id":6}`, string(ev("u", "false", `{"id":6,"v":"c","big":"__cdc_unavailable_value"}`)))
	if s.Rows() != 5 {
		t.Fatalf("%d rows, want 5", s.Rows())
	}

	s.Begin()
	snap := func(k int, v string) {
		apply(t, s, fmt.Sprintf(`{"id":%d}`, k), string(ev("r", "incremental", fmt.Sprintf(`{"id":%d,"v":%q,"big":"x%d"}`, k, v, k))))
	}
	snap(1, "a") // match
	snap(2, "a") // the events say b: differs
	snap(3, "a") // the events deleted it: missing
	snap(6, "c") // match: the unavailable value kept x6
	snap(7, "a") // never named by an event: missing (the history is complete)
	// Row 4 gets no snapshot row (the table lost it): extra. Row 5 gets
	// none either, but changed during the run: changed.
	apply(t, s, `{"id":5}`, string(ev("u", "false", `{"id":5,"v":"z","big":"x5"}`)))
	snap(1, "other") // a second snapshot row of a key in one run is not compared again
	rep := s.End([]string{"public.t"})

	want := map[Result]int{Match: 2, Differs: 1, Missing: 2, Extra: 1, Changed: 1}
	if !reflect.DeepEqual(rep.Counts["public.t"], want) {
		t.Errorf("counts %v, want %v", rep.Counts["public.t"], want)
	}
	if rep.Mismatches() != 4 {
		t.Errorf("%d mismatches, want 4", rep.Mismatches())
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.String())
	}
	wantF := []string{
		`public.t {"id":2}: differs (v)`,
		`public.t {"id":3}: missing`,
		`public.t {"id":4}: extra`,
		`public.t {"id":5}: changed`,
		`public.t {"id":7}: missing`,
	}
	if !reflect.DeepEqual(got, wantF) {
		t.Errorf("findings\n%q\nwant\n%q", got, wantF)
	}

	// The snapshot rows were applied: a second run over the same table
	// state finds everything in order (row 4 is still extra).
	s.Begin()
	for k, v := range map[int]string{1: "other", 2: "a", 3: "a", 5: "z", 6: "c", 7: "a"} {
		snap(k, v)
	}
	rep = s.End([]string{"public.t"})
	if want := (map[Result]int{Match: 6, Extra: 1}); !reflect.DeepEqual(rep.Counts["public.t"], want) {
		t.Errorf("second run: counts %v, want %v", rep.Counts["public.t"], want)
	}
}

func TestOutsideARunNothingIsCompared(t *testing.T) {
	s := NewState()
	apply(t, s, `{"id":1}`, string(ev("r", "true", `{"id":1,"v":"a"}`)))        // initial snapshot
	apply(t, s, `{"id":1}`, string(ev("r", "incremental", `{"id":1,"v":"b"}`))) // no run: applied only
	s.Begin()
	rep := s.End([]string{"public.t"})
	if want := (map[Result]int{Extra: 1}); !reflect.DeepEqual(rep.Counts["public.t"], want) {
		t.Errorf("counts %v, want %v (the row no snapshot row of the run confirmed)", rep.Counts["public.t"], want)
	}
}

func TestUnknownWhenTheHistoryIsIncomplete(t *testing.T) {
	s := NewState() // Complete nil: retention may have deleted the start
	s.Begin()
	apply(t, s, `{"id":9}`, string(ev("r", "incremental", `{"id":9,"v":"a"}`)))
	rep := s.End([]string{"public.t"})
	if rep.Counts["public.t"][Unknown] != 1 || rep.Mismatches() != 0 {
		t.Errorf("counts %v: want one unknown, no mismatch", rep.Counts)
	}
}

// A column that only ever arrived as unavailable (its full value was in an
// event retention deleted) cannot be compared: the row is unknown, not
// differing; its other columns still are compared.
func TestUnavailableWithoutAValueIsUnknown(t *testing.T) {
	s := NewState()
	placeholder := Unavailable[0]
	apply(t, s, `{"id":1}`, string(ev("u", "", `{"id":1,"v":"a","big":`+placeholder+`}`)))
	apply(t, s, `{"id":2}`, string(ev("u", "", `{"id":2,"v":"a","big":`+placeholder+`}`)))
	s.Begin()
	apply(t, s, `{"id":1}`, string(ev("r", "incremental", `{"id":1,"v":"a","big":"xxxx"}`)))
	apply(t, s, `{"id":2}`, string(ev("r", "incremental", `{"id":2,"v":"b","big":"xxxx"}`)))
	rep := s.End([]string{"public.t"})
	c := rep.Counts["public.t"]
	if c[Unknown] != 1 || c[Differs] != 1 || c[Match] != 0 {
		t.Fatalf("counts %v: want id 1 unknown (only big, never known, could differ), id 2 differing in v", c)
	}
	if f := rep.Findings; len(f) != 1 || !reflect.DeepEqual(f[0].Columns, []string{"v"}) {
		t.Fatalf("findings %+v: want id 2 differing in v alone", f)
	}
}

func TestDebeziumEnvelopesAndOtherValues(t *testing.T) {
	s := NewState()
	s.Complete = func(string) bool { return true }
	wrapped := `{"schema":{"type":"struct"},"payload":{"before":null,"after":{"id":1,"v":"a"},"op":"c","source":{"db":"shop","table":"t","snapshot":"false"}}}`
	if !s.Apply("p.shop.t", []byte(`{"id":1}`), []byte(wrapped)) {
		t.Fatal("a Debezium envelope with its Connect schema was not applied")
	}
	for _, v := range []string{`{"aggregate":"order","payload":{"x":1}}`, `not json`, ``} {
		if s.Apply("p.shop.t", []byte(`{"id":2}`), []byte(v)) {
			t.Errorf("applied %q, which is no change envelope", v)
		}
	}
	if s.Apply("p.shop.t", []byte(`{"id":1}`), nil) {
		t.Error("applied a tombstone")
	}
	s.Begin()
	s.Apply("p.shop.t", []byte(`{"id":1}`), fmt.Appendf(nil, `{"after":{"id":1,"v":"a"},"op":"r","source":{"db":"shop","table":"t","snapshot":"incremental"}}`))
	if rep := s.End([]string{"shop.t"}); rep.Counts["shop.t"][Match] != 1 {
		t.Errorf("counts %v, want one match", rep.Counts)
	}

	// A truncate ends every row of its table.
	s.Apply("p.shop.t", nil, []byte(`{"op":"t","source":{"db":"shop","table":"t","snapshot":"false"}}`))
	if s.Rows() != 0 {
		t.Errorf("%d rows after a truncate", s.Rows())
	}
}

func TestCheckHistory(t *testing.T) {
	reached := func(a, b []byte) (bool, error) {
		var x, y int
		if _, err := fmt.Sscan(string(a), &x); err != nil {
			return false, err
		}
		fmt.Sscan(string(b), &y)
		return y >= x, nil
	}
	cp := func(seq uint64, server, pos string, moved bool) Checkpoint {
		return Checkpoint{Seq: seq, Server: server, Position: []byte(pos), Moved: moved}
	}
	c := CheckHistory([]Checkpoint{
		cp(1, "a", "10", false),
		cp(2, "a", "10", false), // same position (a partial transaction): fine
		cp(3, "a", "20", false),
		cp(5, "a", "30", false), // a gap
		cp(6, "a", "25", false), // a regression
		cp(7, "a", "5", true),   // moved back on purpose
		cp(8, "b", "1", false),  // another server
		cp(1, "b", "0", false),  // afresh
		cp(2, "b", "3", false),
	}, reached)
	want := Continuity{Checkpoints: 9, Gaps: 1, Regressions: 1, Fresh: 1, Failovers: 1,
		Findings: []string{"checkpoint 5 follows checkpoint 3", "checkpoint 6 at 25 lies before checkpoint 5 at 30"}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

// BenchmarkApply applies creates of rows of ten columns and reports the
// heap each row of the State keeps (docs/reliability.md quotes it):
//
//	go test -run - -bench Apply -benchtime 200000x ./verify
func BenchmarkApply(b *testing.B) {
	s := NewState()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := range b.N {
		v := fmt.Appendf(nil, `{"after":{"id":%d,"c1":"aaaaaaaa","c2":12345,"c3":"2026-01-01T00:00:00Z","c4":true,"c5":"x","c6":1.5,"c7":"yy","c8":null,"c9":"zzz"},"op":"c","source":{"schema":"public","table":"t","snapshot":"false"}}`, i)
		s.Apply("p.public.t", fmt.Appendf(nil, `{"id":%d}`, i), v)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-bytes/row")
}
