package transform

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// BenchmarkTablesRoute measures encoding one typical row change (key and
// Debezium envelope) on the default table route, in each format:
//
//	go test ./transform/ -run XXX -bench TablesRoute -benchmem
func BenchmarkTablesRoute(b *testing.B) {
	b.Run("cdc", func(b *testing.B) { benchRoute(b, testRouter()) })
	b.Run("cdc+schema", func(b *testing.B) {
		r := testRouter()
		r.Envelope.SchemaInPayload = true
		benchRoute(b, r)
	})
	b.Run("debezium", func(b *testing.B) {
		r := testRouter()
		r.Envelope.Debezium = defaultDebezium("postgresql")
		benchRoute(b, r)
	})
	b.Run("debezium+schema", func(b *testing.B) {
		r := testRouter()
		r.Envelope.Debezium = defaultDebezium("postgresql")
		r.Envelope.SchemaInPayload = true
		benchRoute(b, r)
	})
}

func benchRoute(b *testing.B, r *Tables) {
	ch := &source.Change{
		Op: source.OpUpdate, Table: orders,
		Before: []any{int64(1), "new", "12.50", json.RawMessage(`{"tags":["a","b"]}`), []byte("0123456789"), "a note"},
		After:  []any{int64(1), "paid", "12.50", json.RawMessage(`{"tags":["a","b"]}`), []byte("0123456789"), schema.Unavailable{}},
		Tx:     source.Tx{ID: "571", Order: 1, TableOrder: 1, CommitTime: time.UnixMilli(1700000000000)},
		Meta:   source.Meta{{Key: "db", Value: "shop"}, {Key: "lsn", Value: uint64(23803720)}, {Key: "txId", Value: int64(571)}},
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		recs, _ := r.Route(ch)
		n += len(recs[0].Value)
	}
	b.SetBytes(int64(n / b.N))
}
