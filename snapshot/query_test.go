package snapshot

import (
	"slices"
	"strings"
	"testing"
)

// The statements are golden: a change to them changes what every snapshot
// reads, so each case says what it pins.
func TestChunkQuerySQL(t *testing.T) {
	for _, tc := range []struct {
		name        string
		q           ChunkQuery
		first, next string
	}{
		{"postgres, one key column: a plain comparison",
			ChunkQuery{Dialect: Postgres, Namespace: "public", Table: "orders", Columns: []string{"id", "status"}, Key: []string{"id"}, Limit: 1024},
			`SELECT "id", "status" FROM "public"."orders" ORDER BY "id" LIMIT 1024`,
			`SELECT "id", "status" FROM "public"."orders" WHERE "id" > $1 ORDER BY "id" LIMIT 1024`},
		{"postgres, composite key: a row-value comparison in key order",
			ChunkQuery{Dialect: Postgres, Namespace: "public", Table: "lines", Key: []string{"order_id", "line"}, Limit: 500},
			`SELECT * FROM "public"."lines" ORDER BY "order_id", "line" LIMIT 500`,
			`SELECT * FROM "public"."lines" WHERE ("order_id", "line") > ($1, $2) ORDER BY "order_id", "line" LIMIT 500`},
		{"postgres, casts: the stored text goes back as the column's type",
			ChunkQuery{Dialect: Postgres, Namespace: "public", Table: "ev", Key: []string{"at", "id"}, Casts: []string{"timestamp(3) with time zone", "uuid"}, Limit: 10},
			`SELECT * FROM "public"."ev" ORDER BY "at", "id" LIMIT 10`,
			`SELECT * FROM "public"."ev" WHERE ("at", "id") > ($1::timestamp(3) with time zone, $2::uuid) ORDER BY "at", "id" LIMIT 10`},
		{"postgres, identifiers with quotes, dots and capitals are quoted, never folded",
			ChunkQuery{Dialect: Postgres, Namespace: `My"Schema`, Table: "a.b", Columns: []string{"Id"}, Key: []string{"Id"}, Limit: 1},
			`SELECT "Id" FROM "My""Schema"."a.b" ORDER BY "Id" LIMIT 1`,
			`SELECT "Id" FROM "My""Schema"."a.b" WHERE "Id" > $1 ORDER BY "Id" LIMIT 1`},
		{"postgres, an empty cast entry leaves that parameter alone",
			ChunkQuery{Dialect: Postgres, Namespace: "public", Table: "ev", Key: []string{"name", "id"}, Casts: []string{"", "bigint"}, Limit: 10},
			`SELECT * FROM "public"."ev" ORDER BY "name", "id" LIMIT 10`,
			`SELECT * FROM "public"."ev" WHERE ("name", "id") > ($1, $2::bigint) ORDER BY "name", "id" LIMIT 10`},
		{"mysql, casts: numbers compared as numbers, not as doubles; the string key uncast",
			ChunkQuery{Dialect: MySQL, Namespace: "shop", Table: "ledger", Key: []string{"account", "amount", "id"}, Casts: []string{"", "DECIMAL(30,10)", "UNSIGNED"}, Limit: 5},
			"SELECT * FROM `shop`.`ledger` ORDER BY `account`, `amount`, `id` LIMIT 5",
			"SELECT * FROM `shop`.`ledger` WHERE (`account`, `amount`, `id`) > (?, CAST(? AS DECIMAL(30,10)), CAST(? AS UNSIGNED)) ORDER BY `account`, `amount`, `id` LIMIT 5"},
		{"mysql, expanded with casts: every placeholder of a column gets its cast",
			ChunkQuery{Dialect: MySQL, Table: "t", Key: []string{"a", "b"}, Casts: []string{"SIGNED", ""}, Limit: 2, Expanded: true},
			"SELECT * FROM `t` ORDER BY `a`, `b` LIMIT 2",
			"SELECT * FROM `t` WHERE `a` >= CAST(? AS SIGNED) AND (`a` > CAST(? AS SIGNED) OR (`a` = CAST(? AS SIGNED) AND `b` > ?)) ORDER BY `a`, `b` LIMIT 2"},
		{"mysql, one key column",
			ChunkQuery{Dialect: MySQL, Namespace: "shop", Table: "orders", Columns: []string{"id", "total"}, Key: []string{"id"}, Limit: 1024},
			"SELECT `id`, `total` FROM `shop`.`orders` ORDER BY `id` LIMIT 1024",
			"SELECT `id`, `total` FROM `shop`.`orders` WHERE `id` > ? ORDER BY `id` LIMIT 1024"},
		{"mysql, composite key: a row-value comparison",
			ChunkQuery{Dialect: MySQL, Namespace: "shop", Table: "lines", Key: []string{"order_id", "line", "part"}, Limit: 2},
			"SELECT * FROM `shop`.`lines` ORDER BY `order_id`, `line`, `part` LIMIT 2",
			"SELECT * FROM `shop`.`lines` WHERE (`order_id`, `line`, `part`) > (?, ?, ?) ORDER BY `order_id`, `line`, `part` LIMIT 2"},
		{"mysql, expanded: the same order with a leading range on the first column",
			ChunkQuery{Dialect: MySQL, Namespace: "shop", Table: "lines", Key: []string{"a", "b", "c"}, Limit: 2, Expanded: true},
			"SELECT * FROM `shop`.`lines` ORDER BY `a`, `b`, `c` LIMIT 2",
			"SELECT * FROM `shop`.`lines` WHERE `a` >= ? AND (`a` > ? OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` > ?)) ORDER BY `a`, `b`, `c` LIMIT 2"},
		{"mysql, expanded with one column is the plain comparison",
			ChunkQuery{Dialect: MySQL, Table: "t", Key: []string{"id"}, Limit: 2, Expanded: true},
			"SELECT * FROM `t` ORDER BY `id` LIMIT 2",
			"SELECT * FROM `t` WHERE `id` > ? ORDER BY `id` LIMIT 2"},
		{"mysql, backquotes in names are doubled",
			ChunkQuery{Dialect: MySQL, Namespace: "d`b", Table: "t`", Columns: []string{"a`b"}, Key: []string{"a`b"}, Limit: 3},
			"SELECT `a``b` FROM `d``b`.`t``` ORDER BY `a``b` LIMIT 3",
			"SELECT `a``b` FROM `d``b`.`t``` WHERE `a``b` > ? ORDER BY `a``b` LIMIT 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := tc.q.First()
			if err != nil {
				t.Fatal(err)
			}
			next, err := tc.q.After()
			if err != nil {
				t.Fatal(err)
			}
			if first.SQL != tc.first {
				t.Errorf("first chunk:\n got %s\nwant %s", first.SQL, tc.first)
			}
			if next.SQL != tc.next {
				t.Errorf("next chunks:\n got %s\nwant %s", next.SQL, tc.next)
			}
			if n := strings.Count(next.SQL, "?") + strings.Count(next.SQL, "$"); n != len(next.args) {
				t.Errorf("%d placeholders, %d arguments", n, len(next.args))
			}
		})
	}
}

func TestChunkQueryArgs(t *testing.T) {
	q := ChunkQuery{Dialect: MySQL, Table: "t", Key: []string{"a", "b", "c"}, Limit: 2, Expanded: true}
	next, err := q.After()
	if err != nil {
		t.Fatal(err)
	}
	args, err := next.Args([]any{1, "x", 3.5})
	if err != nil {
		t.Fatal(err)
	}
	// a >= ? AND (a > ? OR (a = ? AND b > ?) OR (a = ? AND b = ? AND c > ?))
	if want := []any{1, 1, 1, "x", 1, "x", 3.5}; !slices.Equal(args, want) {
		t.Fatalf("args %v, want %v", args, want)
	}
	if _, err := next.Args([]any{1, 2}); err == nil {
		t.Fatal("a last key with too few columns must fail")
	}
	first, _ := q.First()
	if args, err := first.Args(nil); err != nil || args != nil {
		t.Fatalf("first chunk: %v, %v; want no arguments", args, err)
	}
	if _, err := first.Args([]any{1}); err == nil {
		t.Fatal("a last key for a first-chunk query must fail")
	}
	pg, _ := ChunkQuery{Dialect: Postgres, Table: "t", Key: []string{"a", "b"}, Limit: 1}.After()
	if args, err := pg.Args([]any{"k", 2}); err != nil || !slices.Equal(args, []any{"k", 2}) {
		t.Fatalf("postgres args %v, %v", args, err)
	}
}

func TestChunkQueryInvalid(t *testing.T) {
	ok := ChunkQuery{Dialect: Postgres, Namespace: "public", Table: "t", Key: []string{"id"}, Limit: 10}
	for _, tc := range []struct {
		name   string
		modify func(*ChunkQuery)
		want   string
	}{
		{"no dialect", func(q *ChunkQuery) { q.Dialect = 0 }, "unknown dialect"},
		{"no table", func(q *ChunkQuery) { q.Table = "" }, "empty table name"},
		{"no key: a keyless table is not chunked", func(q *ChunkQuery) { q.Key = nil }, "no key columns"},
		{"chunk size 0", func(q *ChunkQuery) { q.Limit = 0 }, "chunk size 0"},
		{"casts not aligned with the key", func(q *ChunkQuery) { q.Casts = []string{"int", "int"} }, "2 casts for 1 key columns"},
		{"a cast that could end the statement", func(q *ChunkQuery) { q.Casts = []string{"int; DROP TABLE t"} }, `cast "int; DROP TABLE t"`},
		{"a cast with a quote that does not close", func(q *ChunkQuery) { q.Casts = []string{`"int`} }, `cast "\"int"`},
		{"expanded on postgres", func(q *ChunkQuery) { q.Expanded = true }, "expanded lower bound is for mysql only"},
		{"a key column twice", func(q *ChunkQuery) { q.Key = []string{"id", "id"} }, `key column "id" listed twice`},
		{"a NUL byte in a name", func(q *ChunkQuery) { q.Table = "t\x00" }, "NUL byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := ok
			tc.modify(&q)
			for _, build := range []func() (Query, error){q.First, q.After} {
				_, err := build()
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
			}
		})
	}
	if _, err := ok.After(); err != nil {
		t.Fatalf("the valid query: %v", err)
	}
}
