package transform

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// A dead-lettered outbox row, as the pipeline writes it (the default table
// route's record), decodes into a change that the outbox router routes as
// it would have routed the original.
func TestDecodeEnvelopeReroutesOutboxRow(t *testing.T) {
	for _, payload := range []any{json.RawMessage(`{"total":12.5}`), `{"total":12.5}`} {
		orig := outboxChange(source.OpCreate, outboxTable, outboxRow("e-1", "order", "o-42", int64(3), payload))
		orig.Tx.CommitTime = orig.Tx.CommitTime.Add(1)
		dlt := testRouter().recs(orig)[0]

		ch, err := DecodeEnvelope(dlt.Key, dlt.Value, "0/16B3748")
		if err != nil {
			t.Fatal(err)
		}
		if ch.Op != source.OpCreate || ch.Table.ID() != "public.outbox_event" || ch.Tx.ID != "771" || ch.Meta.Get("db") != "shop" {
			t.Errorf("change %+v table %v", ch, ch.Table)
		}
		if k := ch.Table.KeyColumns(); len(k) != 1 || ch.Table.Columns[k[0]].Name != "id" {
			t.Errorf("key columns %v", k)
		}
		want := map[string]any{"id": "e-1", "aggregate_version": int64(3), "created_at": "2026-01-02T03:04:05Z"}
		for col, v := range want {
			if got := ch.After[ch.Table.Column(col)]; !reflect.DeepEqual(got, v) {
				t.Errorf("%s = %#v, want %#v", col, got, v)
			}
		}

		recs, err := outboxRouter(t, Outbox{}, nil).Route(ch)
		if err != nil {
			t.Fatal(err)
		}
		if recs[0].Topic != "order.events" || string(recs[0].Key) != "o-42" || string(recs[0].Value) != `{"total":12.5}` ||
			headers(recs[0])["cdc.source.position"] != "0/16B3748" || headers(recs[0])["aggregateVersion"] != "3" {
			t.Errorf("re-routed %s %s %s %v", recs[0].Topic, recs[0].Key, recs[0].Value, headers(recs[0]))
		}
	}
}

func TestDecodeEnvelopeImages(t *testing.T) {
	row1 := []any{int64(1), "new", "12.50", json.RawMessage(`{"tags":["a"]}`), nil, schema.Unavailable{}}
	row2 := []any{int64(1), "paid", "12.50", nil, nil, "x"}
	for _, ch := range []*source.Change{
		change(source.OpUpdate, row1, row2),
		change(source.OpDelete, row1, nil),
	} {
		rec := testRouter().recs(ch)[0]
		got, err := DecodeEnvelope(rec.Key, rec.Value, "")
		if err != nil {
			t.Fatal(err)
		}
		if got.Op != ch.Op || got.Pos != nil || !reflect.DeepEqual(got.Before, ch.Before) || !reflect.DeepEqual(got.After, ch.After) {
			t.Errorf("%v: before %#v after %#v", ch.Op, got.Before, got.After)
		}
		// Encoding the decoded change again gives the same event.
		if again := testRouter().recs(got)[0]; string(again.Value) != string(rec.Value) {
			t.Errorf("re-encoded differs:\n%s\n%s", again.Value, rec.Value)
		}
	}
}

func TestDecodeEnvelopeMessage(t *testing.T) {
	ch := message("outbox", `{"id":"1"}`)
	rec := testRouter().recs(ch)[0]
	got, err := DecodeEnvelope(rec.Key, rec.Value, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Op != source.OpMessage || got.Message == nil || got.Message.Prefix != "outbox" || string(got.Message.Content) != `{"id":"1"}` || got.Table != nil {
		t.Errorf("got %+v", got)
	}
}

func TestDecodeEnvelopeErrors(t *testing.T) {
	for _, tt := range []struct{ value, err string }{
		{`nope`, "decoding event envelope"},
		{`{"op":"cc"}`, "not one letter"},
		{`{"op":"u","source":{"table":"t"},"before":{"a":1},"after":{"b":1}}`, `column "a" is not in the other image`},
		{`{"op":"u","source":{"table":"t"},"before":{"a":1},"after":{"a":1,"b":1}}`, "1 columns, the other image has 2"},
		{`{"op":"c","source":{"table":"t"},"after":[1]}`, "not a JSON object"},
	} {
		if _, err := DecodeEnvelope(nil, []byte(tt.value), ""); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error %v, want %q", tt.value, err, tt.err)
		}
	}
	if _, err := DecodeEnvelope(nil, nil, ""); err == nil {
		t.Error("tombstone decoded")
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	rec := testRouter().recs(change(source.OpUpdate, []any{int64(1), nil, nil, nil, nil, nil}, []any{int64(7), "paid", "1", json.RawMessage(`[1]`), []byte{1}, "x"}))
	f.Add(rec[0].Key, rec[0].Value)
	f.Add([]byte(nil), []byte(`{"op":"m","message":{"prefix":"p","content":"e30="}}`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		ch, err := DecodeEnvelope(key, value, "")
		if err != nil {
			return
		}
		// Whatever decodes must encode without panicking.
		testRouter().recs(ch)
	})
}
