package snapshot

import (
	"bytes"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-go/cdc/source"
)

func goldenSignals() []Signal {
	return []Signal{
		{Type: SignalSnapshot, ID: "orders-2024", Connector: "shop", Tables: []string{"public.orders", "app.*"}},
		{Type: SignalSnapshot, ID: "all"},
		{Type: SignalCancel, ID: "orders-2024", Connector: "shop"},
		{Type: SignalAccepted, ID: "orders-2024", Connector: "shop", Tables: []string{"public.orders", "app.users"}},
		{Type: SignalRejected, ID: "r:7", Tables: []string{"public.nope"}, Reason: "not captured (source.tables, or the publication): public.nope"},
		{Type: SignalCancelled, ID: "orders-2024", Tables: []string{"app.users"}},
	}
}

// The signals topic is written by orchestrators as well as by cdc: its
// records' form is documented and pinned, one per line.
func TestSignalGolden(t *testing.T) {
	var got []byte
	for _, s := range goldenSignals() {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		got = append(append(got, b...), '\n')
	}
	const path = "testdata/signal.golden"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (go test ./snapshot -run %s -update): %v", t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("stored form changed:\n got %s\nwant %s", got, want)
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(want, []byte("\n")), []byte("\n")) {
		back, err := ParseSignal(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if !reflect.DeepEqual(back, goldenSignals()[i]) {
			t.Fatalf("line %d decodes to\n%+v\nwant\n%+v", i+1, back, goldenSignals()[i])
		}
	}
}

func TestParseSignalRejects(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{"type":"snapshot"}`, `{"type":"snap","id":"a"}`, `{"type":"snapshot","id":"initial"}`,
		`{"type":"snapshot","id":"a b"}`, `{"type":"snapshot","id":"a","tables":[1]}`, `{"type":"snapshot","id":"a","tables":[""]}`,
		`{"type":"snapshot","id":"` + strings.Repeat("x", 201) + `"}`,
	} {
		if s, err := ParseSignal([]byte(in)); err == nil {
			t.Errorf("ParseSignal(%s) = %+v; want an error", in, s)
		}
	}
	if s, err := ParseSignal([]byte(`{"type":"cancel","id":"a","future":true}`)); err != nil || s.Type != SignalCancel {
		t.Errorf("unknown field: %+v, %v", s, err)
	}
}

type lsn int

func (l lsn) MarshalText() ([]byte, error) { return []byte(l.String()), nil }
func (l lsn) String() string               { return "p" + string(rune('0'+l)) }

func answerStep(t *testing.T, msgs []source.Message) *source.SnapshotStep {
	t.Helper()
	if len(msgs) != 2 || msgs[0].Begin == nil || !msgs[0].Begin.Snapshot || msgs[1].Commit == nil || msgs[1].Commit.Snapshot == nil {
		t.Fatalf("want an empty snapshot transaction, got %+v", msgs)
	}
	return msgs[1].Commit.Snapshot
}

// Accept appends a request's tables as pending tasks under its id; a table
// already in the plan restarts under the new id; a duplicate id and an
// unresolved pattern are rejected; a cancel stops the id's tasks; rows of
// an on-demand snapshot carry "incremental".
func TestDriverAccept(t *testing.T) {
	d, err := NewDriver(Plan{ID: Initial, ChunkSize: 10, Patterns: []string{"s.*"},
		Tables: []Progress{{Table: "s.a", Snapshot: Initial, State: StateRunning, Rows: 10, Chunks: 1,
			LastKey: []KeyValue{{Column: "id", Kind: 1, Text: "10"}}}, {Table: "s.b", Snapshot: Initial, State: StatePending}}})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Signal: Signal{Type: SignalSnapshot, ID: "r1", Tables: []string{"s.b", "s.c"}}, Offset: 4}
	st := answerStep(t, must(d.Accept(req, []string{"s.b", "s.c"}, "", lsn(1), time.Now())))
	if st.ID != Initial || !slices.Equal(st.Also, []string{"r1"}) || st.Open != 3 || st.Answer.Offset != 4 || len(st.Records) != 2 {
		t.Fatalf("accept: %+v", st)
	}
	var tasks []string
	for _, p := range d.tasks {
		tasks = append(tasks, p.Table+"/"+p.Snapshot+"/"+string(p.State))
	}
	if s := strings.Join(tasks, " "); s != "s.a/initial/running s.b/r1/pending s.c/r1/pending" {
		t.Fatalf("tasks %s", s)
	}
	if a, _ := ParseSignal(st.Answer.Value); a.Type != SignalAccepted {
		t.Fatalf("answer %+v", a)
	}
	for _, tc := range []struct {
		req    Request
		reason string
	}{
		{Request{Signal: Signal{Type: SignalSnapshot, ID: "r1"}}, ""},
		{Request{Signal: Signal{Type: SignalSnapshot, ID: "r2"}}, "not captured: x.y"},
	} {
		st := answerStep(t, must(d.Accept(tc.req, []string{"s.z"}, tc.reason, lsn(2), time.Now())))
		if a, _ := ParseSignal(st.Answer.Value); a.Type != SignalRejected || st.Open != 3 || len(st.Records) != 0 {
			t.Errorf("%s: %+v %+v", tc.req.ID, st, a)
		}
	}
	// The running table restarted: s.a's next chunk is the initial's; s.b is r1's.
	st = answerStep(t, must(d.Accept(Request{Signal: Signal{Type: SignalSnapshot, ID: "r3"}}, []string{"s.a"}, "", lsn(3), time.Now())))
	if d.Current().Table != "s.b" || d.tasks[2].Table != "s.a" || d.tasks[2].State != StatePending || d.tasks[2].LastKey != nil || st.ID != "r1" || !slices.Equal(st.Also, []string{"r3"}) {
		t.Fatalf("restart: %+v %+v", d.tasks, st)
	}
	if d.value("r1") != "incremental" || d.value(Initial) != "true" {
		t.Fatal("values")
	}
	st = answerStep(t, must(d.Accept(Request{Signal: Signal{Type: SignalCancel, ID: "r1"}}, nil, "", lsn(4), time.Now())))
	if a, _ := ParseSignal(st.Answer.Value); a.Type != SignalCancelled || !slices.Equal(a.Tables, []string{"s.b", "s.c"}) || st.Open != 1 || st.ID != "r3" {
		t.Fatalf("cancel: %+v %+v", st, a)
	}
	for _, r := range st.Records {
		if p, _ := ParseProgress(r.Progress); p.State != StateCancelled {
			t.Errorf("cancelled record %s", r.Progress)
		}
	}
}

func TestDriverResolve(t *testing.T) {
	d, _ := NewDriver(Plan{ChunkSize: 1, Requests: make(chan Request), Patterns: []string{"s.*"}})
	captured := []string{"s.a", "s.b", "t.c"}
	list := func(p string) ([]string, error) {
		var out []string
		for _, c := range captured {
			if ok, _ := path.Match(p, c); ok {
				out = append(out, c)
			}
		}
		return out, nil
	}
	if got, reason, _ := d.Resolve(Request{}, list); reason != "" || !slices.Equal(got, []string{"s.a", "s.b"}) {
		t.Errorf("default: %v %q", got, reason)
	}
	if got, reason, _ := d.Resolve(Request{Signal: Signal{Tables: []string{"t.c", "s.a", "s.*"}}}, list); reason != "" || !slices.Equal(got, []string{"t.c", "s.a", "s.b"}) {
		t.Errorf("explicit: %v %q", got, reason)
	}
	if _, reason, _ := d.Resolve(Request{Signal: Signal{Tables: []string{"s.a", "u.v"}}}, list); !strings.Contains(reason, "u.v") {
		t.Errorf("uncaptured: %q", reason)
	}
}

func must(msgs []source.Message, err error) []source.Message {
	if err != nil {
		panic(err)
	}
	return msgs
}
