package main

import (
	"strings"
	"testing"
)

func TestDecodeValue(t *testing.T) {
	tests := []struct {
		name, value string
		want        decoded
		wantErr     bool
	}{{
		name:  "cdc create",
		value: `{"before":null,"after":{"id":7,"seq":7,"ts_us":1700000000000001,"amount":"7.07","note":"x"},"source":{"ts_ms":1700000000001,"db":"cdc"},"op":"c","ts_ms":1700000000002}`,
		want:  decoded{change: change{Key: 7, Seq: 7, Op: 'c'}, TsUs: 1700000000000001, SourceTsMs: 1700000000001},
	}, {
		name:  "Debezium update without schemas, fields in its order",
		value: `{"before":{"id":3,"seq":2,"ts_us":1,"amount":"1.00","note":"x"},"after":{"id":3,"seq":9,"ts_us":5,"amount":"2.00","note":"x"},"source":{"version":"3.6.1.Final","connector":"postgresql","ts_ms":4},"transaction":null,"op":"u","ts_ms":6}`,
		want:  decoded{change: change{Key: 3, Seq: 9, Op: 'u'}, TsUs: 5, SourceTsMs: 4},
	}, {
		name:  "delete: the before image's seq, no latency",
		value: `{"before":{"id":3,"seq":9,"ts_us":5},"after":null,"source":{"ts_ms":8},"op":"d"}`,
		want:  decoded{change: change{Key: 3, Seq: 9, Op: 'd'}, SourceTsMs: 8},
	}, {
		name:  "snapshot read keeps its op; quoted integers",
		value: `{"before":null,"after":{"id":"1","seq":"1","ts_us":"2"},"source":{"ts_ms":3},"op":"r"}`,
		want:  decoded{change: change{Key: 1, Seq: 1, Op: 'r'}, TsUs: 2, SourceTsMs: 3},
	}, {
		name:  "wrapped in a Connect schema envelope",
		value: `{"schema":{"type":"struct","fields":[]},"payload":{"before":null,"after":{"id":2,"seq":2,"ts_us":2},"source":{"ts_ms":1},"op":"c"}}`,
		want:  decoded{change: change{Key: 2, Seq: 2, Op: 'c'}, TsUs: 2, SourceTsMs: 1},
	}, {
		name:  "tombstone",
		value: ``,
		want:  decoded{Tombstone: true},
	}, {
		name:    "truncate is not a row change",
		value:   `{"before":null,"after":null,"source":{"ts_ms":1},"op":"t"}`,
		wantErr: true,
	}, {
		name:    "create without an after image",
		value:   `{"before":null,"after":null,"source":{"ts_ms":1},"op":"c"}`,
		wantErr: true,
	}, {
		name:    "not JSON",
		value:   `garbage`,
		wantErr: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeValue([]byte(tt.value))
			if (err != nil) != tt.wantErr {
				t.Fatalf("decodeValue error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("decodeValue = %+v, want %+v", got, tt.want)
			}
			// The fast path takes every plain envelope here.
			if _, ok := scanValue([]byte(tt.value)); ok == (tt.wantErr || tt.value == "" || strings.HasPrefix(tt.value, `{"schema"`)) {
				t.Errorf("scanValue ok = %v", ok)
			}
		})
	}
}

// BenchmarkDecodeValue is the consumer's cost per event: it shares the
// machine with the connector, so it must stay far below a connector's.
func BenchmarkDecodeValue(b *testing.B) {
	v := []byte(`{"before":null,"after":{"id":123456,"seq":123456,"ts_us":1764652000000000,"amount":"3456.56","note":"` + noteText + `"},"source":{"version":"0.1.0","connector":"postgresql","name":"bench_po_1","ts_ms":1764652000001,"ts_us":1764652000001000,"ts_ns":1764652000001000000,"snapshot":"false","db":"cdc","sequence":"[null,\"23456789\"]","schema":"bench_po_1","table":"t","txId":1234,"lsn":23456789,"xmin":null},"op":"c","ts_ms":1764652000002,"ts_us":1764652000002000,"ts_ns":1764652000002000000,"transaction":null}`)
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeValue(v); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzScanValue holds the scanner to encoding/json: whatever it accepts,
// encoding/json decodes to the same event.
func FuzzScanValue(f *testing.F) {
	f.Add([]byte(`{"before":null,"after":{"id":7,"seq":7,"ts_us":1,"note":"a\"b\\u00e9"},"source":{"ts_ms":2,"x":[1,2.5e3,{"y":null}]},"op":"c"}`))
	f.Add([]byte(`{"before":{"id":"3","seq":"9","ts_us":5},"after":null,"source":{"ts_ms":8},"op":"d","ts_ms":-0.5}`))
	f.Add([]byte(`{"Before":null,"after":{"ID":1,"seq":1},"op":"u","source":{}}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		fast, ok := scanValue(v)
		if !ok {
			return
		}
		slow, err := decodeValueJSON(v)
		if err != nil {
			t.Fatalf("scanner accepted what encoding/json rejects (%v): %q", err, v)
		}
		if fast != slow {
			t.Fatalf("scanner %+v, encoding/json %+v: %q", fast, slow, v)
		}
	})
}
