package main

import "testing"

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
		name:  "snapshot read counts as a create; quoted integers",
		value: `{"before":null,"after":{"id":"1","seq":"1","ts_us":"2"},"source":{"ts_ms":3},"op":"r"}`,
		want:  decoded{change: change{Key: 1, Seq: 1, Op: 'c'}, TsUs: 2, SourceTsMs: 3},
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
		})
	}
}
