package snapshot

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// step is one call on a window, in a script: "add k", "touch k", "touchall",
// "seal", "low c", "high c".
type step struct {
	call string
	// wantErr, when set, is the error the call must return (errors.Is).
	wantErr error
}

func runScript(t *testing.T, w *Window[string], steps []step) (emitted []string, failed bool) {
	t.Helper()
	for i, s := range steps {
		verb, arg, _ := strings.Cut(s.call, " ")
		var err error
		switch verb {
		case "add":
			err = w.Add(arg, "row "+arg, len(arg))
		case "touch":
			w.Touch(arg)
		case "touchall":
			w.TouchAll()
		case "seal":
			err = w.Seal()
		case "low":
			err = w.LowMark(ChunkID(arg))
		case "high":
			var rows []string
			rows, err = w.HighMark(ChunkID(arg))
			emitted = append(emitted, rows...)
		default:
			t.Fatalf("step %d: unknown call %q", i, s.call)
		}
		switch {
		case s.wantErr == nil && err != nil:
			t.Fatalf("step %d (%s): %v", i, s.call, err)
		case s.wantErr != nil && !errors.Is(err, s.wantErr):
			t.Fatalf("step %d (%s): error %v, want %v", i, s.call, err, s.wantErr)
		case s.wantErr != nil:
			failed = true
		}
	}
	return emitted, failed
}

func steps(calls ...string) []step {
	out := make([]step, len(calls))
	for i, c := range calls {
		out[i] = step{call: c}
	}
	return out
}

func TestWindow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		want  []string // rows the high mark returns, in order
	}{
		{"no stream changes: every row, in the order added (the database's key order)",
			steps("add b", "add a", "add c", "seal", "low c1", "high c1"),
			[]string{"row b", "row a", "row c"}},
		{"a key touched between the marks is dropped",
			steps("add 1", "add 2", "add 3", "seal", "low c1", "touch 2", "high c1"),
			[]string{"row 1", "row 3"}},
		{"touches before the low mark are older than the chunk: kept",
			steps("add 1", "add 2", "seal", "touch 1", "low c1", "high c1"),
			[]string{"row 1", "row 2"}},
		{"touching a key twice, and keys not in the chunk, changes nothing else",
			steps("add 1", "add 2", "seal", "low c1", "touch 1", "touch 1", "touch 9", "high c1"),
			[]string{"row 2"}},
		{"rows added after the low mark: a key touched before its row arrived is dropped",
			steps("low c1", "touch 2", "add 1", "add 2", "add 3", "seal", "touch 3", "high c1"),
			[]string{"row 1"}},
		{"after seal, touched keys without a row are forgotten (no row can come)",
			steps("low c1", "add 1", "seal", "touch 2", "high c1"),
			[]string{"row 1"}},
		{"touchall (a truncate) drops every row, and the rows read before seal",
			steps("add 1", "low c1", "touchall", "add 2", "seal", "high c1"),
			nil},
		{"touchall after seal drops what is there",
			steps("add 1", "add 2", "seal", "low c1", "touchall", "high c1"),
			nil},
		{"an empty chunk closes empty",
			steps("seal", "low c1", "high c1"),
			nil},
		{"the empty string is a key like any other",
			steps("add ", "add x", "seal", "low c1", "touch ", "high c1"),
			[]string{"row x"}},
		{"a high mark without a low mark",
			[]step{{call: "add 1"}, {call: "seal"}, {call: "high c1", wantErr: ErrNoLowMark}},
			nil},
		{"a second low mark",
			[]step{{call: "low c1"}, {call: "low c1", wantErr: ErrSecondLowMark}},
			nil},
		{"a high mark before the chunk's rows are all read",
			[]step{{call: "low c1"}, {call: "add 1"}, {call: "high c1", wantErr: ErrNotSealed}},
			nil},
		{"a mark of another chunk is reported and leaves the window usable (stale marks replayed after a restart)",
			[]step{{call: "add 1"}, {call: "seal"}, {call: "low c0", wantErr: ErrOtherChunk}, {call: "low c1"},
				{call: "high c0", wantErr: ErrOtherChunk}, {call: "high c1"}},
			[]string{"row 1"}},
		{"a key added twice",
			[]step{{call: "add 1"}, {call: "add 1", wantErr: ErrDuplicateKey}},
			nil},
		{"a key added twice, the first one dropped on arrival",
			[]step{{call: "low c1"}, {call: "touch 1"}, {call: "add 1"}, {call: "add 1", wantErr: ErrDuplicateKey}},
			nil},
		{"a row after seal",
			[]step{{call: "seal"}, {call: "add 1", wantErr: ErrSealed}},
			nil},
		{"the window is unusable after its high mark",
			[]step{{call: "seal"}, {call: "low c1"}, {call: "high c1"}, {call: "high c1", wantErr: ErrClosed}},
			nil},
		{"the window is unusable after an error",
			[]step{{call: "low c1"}, {call: "low c1", wantErr: ErrSecondLowMark}, {call: "add 1", wantErr: ErrSecondLowMark}},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow[string]("c1", Limits{})
			got, _ := runScript(t, w, tc.steps)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("emitted %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWindowMarkError(t *testing.T) {
	w := NewWindow[int]("run2/public.t/7", Limits{})
	err := w.LowMark("run1/public.t/7")
	var me *MarkError
	if !errors.As(err, &me) || me.Want != "run2/public.t/7" || me.Got != "run1/public.t/7" || me.Mark != Low {
		t.Fatalf("got %v, want a *MarkError naming both chunks", err)
	}
	if want := "low mark of chunk run1/public.t/7 in the window of chunk run2/public.t/7"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}

func TestWindowLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits Limits
		sizes  []int
		fullAt int // index of the Add that must fail, -1 for none
	}{
		{"rows: the limit itself fits", Limits{Rows: 3}, []int{1, 1, 1}, -1},
		{"rows: one more fails", Limits{Rows: 3}, []int{1, 1, 1, 1}, 3},
		{"bytes: the limit itself fits", Limits{Bytes: 10}, []int{4, 6}, -1},
		{"bytes: one byte more fails", Limits{Bytes: 10}, []int{4, 7}, 1},
		{"zero limits are no limits", Limits{}, []int{1 << 30, 1 << 30}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow[int]("c", tc.limits)
			for i, size := range tc.sizes {
				err := w.Add(fmt.Sprint(i), i, size)
				if i == tc.fullAt {
					if !errors.Is(err, ErrWindowFull) {
						t.Fatalf("add %d: %v, want ErrWindowFull", i, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("add %d: %v", i, err)
				}
			}
			if tc.fullAt >= 0 {
				t.Fatalf("no add failed, want add %d to", tc.fullAt)
			}
		})
	}
}

func TestWindowCounts(t *testing.T) {
	w := NewWindow[string]("c1", Limits{})
	runScript(t, w, steps("add 1", "add 2", "add 3", "low c1", "touch 1", "touch 4", "add 4", "seal"))
	if w.Len() != 2 || w.Dropped() != 2 {
		t.Fatalf("len %d, dropped %d; want 2 rows held and 2 dropped", w.Len(), w.Dropped())
	}
	if w.ID() != "c1" {
		t.Fatalf("id %q", w.ID())
	}
}

// converges plays one chunk against a model of a table: the table starts
// with some rows, changes[i] are committed in log order, the low mark sits
// before change low, the chunk's SELECT sees the table after change sel-1,
// and the high mark sits before change high (low <= sel <= high). The reader
// adds the chunk's rows, in key order, when it is about to process change
// addAt (addAt <= high: the high mark needs them sealed). It fails when the
// last event of some key in the output is not the key's final state: a
// stale chunk row won, or a row is missing.
func converges(t *testing.T, sc scene) {
	t.Helper()
	initial, changes, low, sel, high, addAt := sc.initial, sc.changes, sc.low, sc.sel, sc.high, sc.addAt
	table := map[int]int{}
	for k, v := range initial {
		table[k] = v
	}
	var chunk []int // keys, in key order
	chunkVal := map[int]int{}
	apply := func(c change) {
		if c.del {
			delete(table, c.key)
		} else {
			table[c.key] = c.val
		}
	}
	for i := 0; i <= len(changes); i++ {
		if i == sel {
			for k, v := range table {
				chunk = append(chunk, k)
				chunkVal[k] = v
			}
			slices.Sort(chunk)
		}
		if i < len(changes) {
			apply(changes[i])
		}
	}

	w := NewWindow[int]("c", Limits{})
	last := map[int]string{} // key -> last event: "v<n>" or "deleted"
	for i := 0; i <= len(changes); i++ {
		if i == addAt {
			for _, k := range chunk {
				if err := w.Add(fmt.Sprint(k), k, 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Seal(); err != nil {
				t.Fatal(err)
			}
		}
		if i == low {
			if err := w.LowMark("c"); err != nil {
				t.Fatal(err)
			}
		}
		if i == high {
			rows, err := w.HighMark("c")
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range rows {
				last[k] = fmt.Sprintf("v%d", chunkVal[k])
			}
		}
		if i == len(changes) {
			break
		}
		c := changes[i]
		w.Touch(fmt.Sprint(c.key))
		if c.del {
			last[c.key] = "deleted"
		} else {
			last[c.key] = fmt.Sprintf("v%d", c.val)
		}
	}
	for k := range 8 {
		want, got := "deleted", last[k]
		if v, ok := table[k]; ok {
			want = fmt.Sprintf("v%d", v)
		}
		if got == "" && want == "deleted" {
			continue // never existed in the output, absent at the end: fine
		}
		if got != want {
			t.Fatalf("key %d: last event %q, final state %q (initial %v, changes %v, low %d, select %d, high %d, add at %d)",
				k, got, want, initial, changes, low, sel, high, addAt)
		}
	}
}

type scene struct {
	initial               map[int]int
	changes               []change
	low, sel, high, addAt int
}

type change struct {
	key, val int
	del      bool
}

// scenario derives a chunk scenario from bytes (for the fuzzer) or random
// numbers: 8 keys, up to 16 changes.
func scenario(b []byte) scene {
	next := func() int {
		if len(b) == 0 {
			return 0
		}
		v := int(b[0])
		b = b[1:]
		return v
	}
	initial := map[int]int{}
	var changes []change
	mask := next()
	for k := range 8 {
		if mask&(1<<k) != 0 {
			initial[k] = 0
		}
	}
	n := next() % 17
	for i := range n {
		v := next()
		changes = append(changes, change{key: v % 8, val: i + 1, del: v&0x80 != 0})
	}
	marks := []int{next() % (n + 1), next() % (n + 1), next() % (n + 1)}
	slices.Sort(marks)
	return scene{initial: initial, changes: changes, low: marks[0], sel: marks[1], high: marks[2], addAt: next() % (marks[2] + 1)}
}

func TestWindowConvergesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		b := make([]byte, 24)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		converges(t, scenario(b))
	}
}

func FuzzWindowConverges(f *testing.F) {
	f.Add([]byte{0xff, 6, 1, 2, 0x83, 4, 5, 6, 1, 3, 5, 2})
	f.Add([]byte{0x0f, 3, 0x81, 0x82, 0x83, 0, 0, 3, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		converges(t, scenario(b))
	})
}
