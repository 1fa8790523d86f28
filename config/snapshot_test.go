package config

import (
	"strings"
	"testing"
)

func TestSnapshotConfig(t *testing.T) {
	c, err := Parse("shop.yaml", []byte(pgBase+"  batch:\n    max_events: 300\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Snapshot.Mode != SnapshotInitial || c.Snapshot.ChunkSize != 300 || c.Snapshot.ParallelTables != 1 {
		t.Errorf("defaults: mode %q, chunk_size %d, parallel_tables %d; want initial, max_events (300) and 1", c.Snapshot.Mode, c.Snapshot.ChunkSize, c.Snapshot.ParallelTables)
	}
	if got := c.SnapshotTables(); len(got) != 1 || got[0] != "public.orders" {
		t.Errorf("SnapshotTables() = %v, want source.tables", got)
	}
	c, err = Parse("shop.yaml", []byte(strings.Replace(pgBase, "[public.orders]", `[public.orders, "app.*"]`, 1)+
		"snapshot:\n  mode: initial_only\n  tables: [app.users]\n  chunk_size: 10\n  parallel_tables: 4\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Snapshot.Mode != SnapshotInitialOnly || c.Snapshot.ChunkSize != 10 || c.Snapshot.ParallelTables != 4 || strings.Join(c.SnapshotTables(), ",") != "app.users" {
		t.Errorf("got %+v", c.Snapshot)
	}

	for _, tt := range []struct{ data, want string }{
		{"snapshot:\n  mode: initail\n", `shop.yaml:9: snapshot.mode: unknown snapshot.mode "initail" (did you mean "initial"?`},
		{"snapshot:\n  chunk_size: 0\n", "shop.yaml:9: snapshot.chunk_size: must be between 1 and kafka.batch.max_events (5000), got 0"},
		{"snapshot:\n  chunk_size: 6000\n", "snapshot.chunk_size: must be between 1 and kafka.batch.max_events (5000), got 6000"},
		{"snapshot:\n  tables: [public.users]\n", `shop.yaml:9: snapshot.tables[0]: "public.users" is not captured: every snapshot table must also match source.tables ("public.orders")`},
		{"snapshot:\n  tables: [nodot]\n", `snapshot.tables[0]: "nodot" is not "namespace.table"`},
		{"snapshot:\n  parallel_tables: 0\n", "shop.yaml:9: snapshot.parallel_tables: must be between 1 and 16, got 0"},
		{"snapshot:\n  parallel_tables: 17\n", "snapshot.parallel_tables: must be between 1 and 16, got 17"},
		{"snapshot:\n  chunksize: 5\n", `unknown key "chunksize" in snapshot (did you mean "chunk_size"?`},
	} {
		_, err := Parse("shop.yaml", []byte(pgBase+tt.data), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v\nwant %s", tt.data, err, tt.want)
		}
	}
}
