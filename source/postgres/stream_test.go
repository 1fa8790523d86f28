package postgres

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// An update's unchanged TOAST column ('u') inherits the old value only from
// a full old row; a key-only old row's NULLs are not its value.
func TestUpdateUnchangedToast(t *testing.T) {
	text := func(s string) *pglogrepl.TupleDataColumn {
		return &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeText, Length: uint32(len(s)), Data: []byte(s)}
	}
	null := &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeNull}
	toast := &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeToast}
	tuple := func(cs ...*pglogrepl.TupleDataColumn) *pglogrepl.TupleData {
		return &pglogrepl.TupleData{ColumnNum: uint16(len(cs)), Columns: cs}
	}
	cases := []struct {
		name      string
		oldType   uint8
		old       *pglogrepl.TupleData
		newTuple  *pglogrepl.TupleData
		wantAfter []any
	}{
		{"no old row (DEFAULT, key unchanged)", 0, nil, tuple(text("1"), toast), []any{int64(1), schema.Unavailable{}}},
		{"key-only old row (DEFAULT, key changed)", pglogrepl.UpdateMessageTupleTypeKey, tuple(text("1"), null), tuple(text("2"), toast), []any{int64(2), schema.Unavailable{}}},
		{"full old row (FULL)", pglogrepl.UpdateMessageTupleTypeOld, tuple(text("1"), text("big")), tuple(text("2"), toast), []any{int64(2), "big"}},
		{"full old row holding NULL", pglogrepl.UpdateMessageTupleTypeOld, tuple(text("1"), null), tuple(text("1"), toast), []any{int64(1), nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tbl := &schema.Table{Namespace: "s", Name: "t", Columns: []schema.Column{
				{Name: "id", TypeID: oidInt4, Kind: kindOf(oidInt4), Key: true},
				{Name: "big", TypeID: oidText, Kind: kindOf(oidText), Nullable: true},
			}}
			out := make(chan source.Message, 4)
			r := &reader{src: &Source{cfg: Config{StatusInterval: time.Second}}, out: out, rel: map[uint32]*schema.Table{7: tbl}}
			m := &pglogrepl.UpdateMessage{RelationID: 7, OldTupleType: c.oldType, OldTuple: c.old, NewTuple: c.newTuple}
			if err := r.handle(context.Background(), 1, m); err != nil {
				t.Fatal(err)
			}
			if b := (<-out).Begin; b == nil {
				t.Fatal("first message is not the transaction's begin")
			}
			ch := (<-out).Change
			if !reflect.DeepEqual(ch.After, c.wantAfter) {
				t.Errorf("after = %#v, want %#v", ch.After, c.wantAfter)
			}
		})
	}
}
