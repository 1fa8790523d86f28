package schema

import "encoding/json"

// A row is a []any aligned with Table.Columns. Sources put only these Go types
// in it, so that encoders need no knowledge of the database:
//
//	nil                       SQL NULL
//	bool                      KindBool
//	int64                     KindInt
//	uint64                    KindUint
//	float64                   KindFloat (NaN and ±Inf are carried as strings)
//	string                    decimals, text, uuid, dates, times, enums, unknown types
//	[]byte                    KindBytes
//	json.RawMessage           KindJSON, already valid JSON
//	[]string                  KindSet
//	Unavailable               a value the source did not send (unchanged TOAST)
//
// Unavailable is never confused with NULL: a consumer can tell "not sent"
// from "set to NULL".

// Unavailable marks a column value the source did not ship, such as an
// unchanged TOASTed column in a Postgres update.
type Unavailable struct{}

// UnavailablePlaceholder is how Unavailable is written in events, the same
// way Debezium marks such values.
const UnavailablePlaceholder = "__cdc_unavailable_value"

// MarshalJSON writes the placeholder string.
func (Unavailable) MarshalJSON() ([]byte, error) {
	return json.Marshal(UnavailablePlaceholder)
}
