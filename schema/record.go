package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KindFromString returns the kind whose String() is name: the inverse used
// by decoders. Unknown names, including "kind(N)", are an error.
func KindFromString(name string) (Kind, error) {
	for k, n := range kindNames {
		if n == name {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown column kind %q", name)
}

// versionRecord is the stored form of a Version. Field names are spelled
// out here so that renaming a Go field never changes the topic's format.
type versionRecord struct {
	Table       string         `json:"table"`
	Version     int            `json:"version"`
	Fingerprint string         `json:"fingerprint"`
	Columns     []columnRecord `json:"columns"`
	Position    string         `json:"position"`
	DDL         string         `json:"ddl"`
	Time        string         `json:"time"`
}

type columnRecord struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Kind     string   `json:"kind"`
	TypeID   uint32   `json:"type_id,omitempty"`
	Nullable bool     `json:"nullable"`
	Key      bool     `json:"key"`
	Values   []string `json:"values,omitempty"`
}

// EncodeVersion encodes v as a schema-topic record value:
//
//	{"table":"public.orders","version":2,"fingerprint":"…","columns":[{"name":"id",
//	 "type":"bigint","kind":"int","type_id":20,"nullable":false,"key":true}, …],
//	 "position":"0/16B3748","ddl":"","time":"2024-05-01T10:00:00Z"}
//
// Kinds are written by name; "values" (enum/set members) and "type_id" are
// left out when empty; time is RFC 3339 in UTC with nanoseconds. The only
// error is a column whose Kind has no name.
func EncodeVersion(v *Version) ([]byte, error) {
	r := versionRecord{
		Table: v.Table, Version: v.Version, Fingerprint: v.Fingerprint,
		Columns:  make([]columnRecord, len(v.Columns)),
		Position: v.Position, DDL: v.DDL, Time: v.Time.UTC().Format(time.RFC3339Nano),
	}
	for i, c := range v.Columns {
		if int(c.Kind) >= len(kindNames) {
			return nil, fmt.Errorf("encoding column %q of %s: unknown column kind %d", c.Name, v.Table, c.Kind)
		}
		r.Columns[i] = columnRecord{Name: c.Name, Type: c.Type, Kind: c.Kind.String(), TypeID: c.TypeID,
			Nullable: c.Nullable, Key: c.Key, Values: c.Values}
	}
	return json.Marshal(r)
}

// DecodeVersion decodes a schema-topic record value written by
// EncodeVersion. It is strict about meaning, lenient about additions:
// unknown kind names, a missing table, a version below 1, a bad time or
// duplicate column names are ErrInvalidVersion, and so are field names in
// another case ("Table", which encoding/json would accept); unknown fields are ignored
// so that a newer writer's records still load. It never panics. It does not
// check the fingerprint against the columns; History.Load does.
func DecodeVersion(b []byte) (*Version, error) {
	var r versionRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding schema version: %w: %w", ErrInvalidVersion, err)
	}
	if err := exactKeys(b); err != nil {
		return nil, fmt.Errorf("decoding schema version: %w: %w", ErrInvalidVersion, err)
	}
	if r.Table == "" || r.Version < 1 {
		return nil, fmt.Errorf("decoding schema version: table %q version %d: %w", r.Table, r.Version, ErrInvalidVersion)
	}
	v := &Version{Table: r.Table, Version: r.Version, Fingerprint: r.Fingerprint, Position: r.Position, DDL: r.DDL}
	if r.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil {
			return nil, fmt.Errorf("decoding schema version %d of %s: time: %w: %w", r.Version, r.Table, ErrInvalidVersion, err)
		}
		v.Time = t.UTC()
	}
	if len(r.Columns) > 0 {
		v.Columns = make([]Column, len(r.Columns))
	}
	seen := make(map[string]bool, len(r.Columns))
	for i, c := range r.Columns {
		k, err := KindFromString(c.Kind)
		if err != nil {
			return nil, fmt.Errorf("decoding schema version %d of %s: column %q: %w: %w", r.Version, r.Table, c.Name, ErrInvalidVersion, err)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("decoding schema version %d of %s: column %q appears twice: %w", r.Version, r.Table, c.Name, ErrInvalidVersion)
		}
		seen[c.Name] = true
		v.Columns[i] = Column{Name: c.Name, Type: c.Type, Kind: k, TypeID: c.TypeID, Nullable: c.Nullable, Key: c.Key}
		if len(c.Values) > 0 {
			v.Columns[i].Values = slices.Clip(c.Values)
		}
	}
	return v, nil
}

var (
	versionKeys = []string{"table", "version", "fingerprint", "columns", "position", "ddl", "time"}
	columnKeys  = []string{"name", "type", "kind", "type_id", "nullable", "key", "values"}
)

// exactKeys rejects keys that encoding/json would match case-insensitively
// ("Table" for "table"), so that one record has exactly one reading.
// b is known to be valid JSON of the record's shape.
func exactKeys(b []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return err
	}
	if err := checkKeys(top, versionKeys); err != nil {
		return err
	}
	var cols []map[string]json.RawMessage
	if raw, ok := top["columns"]; ok {
		if err := json.Unmarshal(raw, &cols); err != nil {
			return err
		}
	}
	for _, c := range cols {
		if err := checkKeys(c, columnKeys); err != nil {
			return err
		}
	}
	return nil
}

func checkKeys(m map[string]json.RawMessage, known []string) error {
	for k := range m {
		for _, want := range known {
			if k != want && strings.EqualFold(k, want) {
				return fmt.Errorf("field %q: did you mean %q", k, want)
			}
		}
	}
	return nil
}

// VersionKey is the record key of a version in the schema topic, which is
// compacted by it: "<table>@<version>", e.g. "public.orders@12". The number
// is plain decimal, not zero-padded: compaction needs only distinct keys,
// and readers order versions by the record's "version" field, never by key.
// The version follows the last "@", so table names containing "@" are fine.
func VersionKey(table string, version int) []byte {
	return strconv.AppendInt(append([]byte(table), '@'), int64(version), 10)
}

type changeEvent struct {
	Table             string        `json:"table"`
	Version           int           `json:"version"`
	PreviousVersion   *int          `json:"previous_version"`
	Fingerprint       string        `json:"fingerprint"`
	DDL               string        `json:"ddl"`
	Position          string        `json:"position"`
	TsMs              int64         `json:"ts_ms"`
	Changes           changeRecords `json:"changes"`
	Compatible        bool          `json:"compatible"`
	Incompatibilities []string      `json:"incompatibilities"`
}

type changeRecords struct {
	Added       []addedRecord    `json:"added"`
	Dropped     []addedRecord    `json:"dropped"`
	Retyped     []retypedRecord  `json:"retyped"`
	Renamed     []renamedRecord  `json:"renamed"`
	Nullability []nullableRecord `json:"nullability"`
	KeyChanged  bool             `json:"key_changed"`
	Reordered   bool             `json:"reordered"`
}

type addedRecord struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

type retypedRecord struct {
	Name    string `json:"name"`
	OldType string `json:"old_type"`
	NewType string `json:"new_type"`
}

type renamedRecord struct {
	Name    string `json:"name"`
	OldName string `json:"old_name"`
	Type    string `json:"type"`
}

type nullableRecord struct {
	Name        string `json:"name"`
	OldNullable bool   `json:"old_nullable"`
	NewNullable bool   `json:"new_nullable"`
}

// EncodeChangeEvent encodes a schema-change event, the value of a record on
// the connector's schema-changes topic:
//
//	{"table":"public.orders","version":3,"previous_version":2,"fingerprint":"…",
//	 "ddl":"","position":"0/16B3748","ts_ms":1714557600000,
//	 "changes":{"added":[{"name":"note","type":"text","nullable":true}],
//	  "dropped":[{"name":"legacy","type":"integer","nullable":true}],
//	  "retyped":[{"name":"amount","old_type":"numeric(10,2)","new_type":"numeric(12,2)"}],
//	  "renamed":[{"name":"full_name","old_name":"name","type":"text"}],
//	  "nullability":[{"name":"note","old_nullable":false,"new_nullable":true}],
//	  "key_changed":false,"reordered":false},
//	 "compatible":true,"incompatibilities":[]}
//
// previous_version is null when old is nil (the table's first version);
// ts_ms is new.Time in milliseconds. Lists are [] when empty, never null.
// compatible is len(incompatible) == 0.
func EncodeChangeEvent(old, new *Version, diff Diff, incompatible []string) []byte {
	ev := changeEvent{
		Table: new.Table, Version: new.Version, Fingerprint: new.Fingerprint, DDL: new.DDL,
		Position: new.Position, TsMs: new.Time.UnixMilli(),
		Compatible: len(incompatible) == 0, Incompatibilities: append([]string{}, incompatible...),
		Changes: changeRecords{
			Added: []addedRecord{}, Dropped: []addedRecord{}, Retyped: []retypedRecord{},
			Renamed: []renamedRecord{}, Nullability: []nullableRecord{},
			KeyChanged: diff.KeyChanged, Reordered: diff.Reordered,
		},
	}
	if old != nil {
		ev.PreviousVersion = &old.Version
	}
	ch := &ev.Changes
	for _, c := range diff.Added {
		ch.Added = append(ch.Added, addedRecord{Name: c.Name, Type: c.NewType, Nullable: c.NewNullable})
	}
	for _, c := range diff.Dropped {
		ch.Dropped = append(ch.Dropped, addedRecord{Name: c.Name, Type: c.OldType, Nullable: c.OldNullable})
	}
	for _, c := range diff.Retyped {
		ch.Retyped = append(ch.Retyped, retypedRecord{Name: c.Name, OldType: c.OldType, NewType: c.NewType})
	}
	for _, c := range diff.Renamed {
		ch.Renamed = append(ch.Renamed, renamedRecord{Name: c.Name, OldName: c.OldName, Type: c.NewType})
	}
	for _, c := range diff.Nullability {
		ch.Nullability = append(ch.Nullability, nullableRecord{Name: c.Name, OldNullable: c.OldNullable, NewNullable: c.NewNullable})
	}
	b, _ := json.Marshal(ev) // strings, numbers and bools only: cannot fail
	return b
}
