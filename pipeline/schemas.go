package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
	"github.com/cdc-go/cdc/transform"
)

// ErrIncompatibleSchema stops the pipeline before a row whose table changed
// in a way the configured compatibility forbids (with on_incompatible: stop).
var ErrIncompatibleSchema = errors.New("incompatible schema change")

// Schemas configures schema-version tracking. The pipeline gives every
// change the version of its table's shape; a shape seen for the first time
// becomes a new version, written to Topic (and a schema-change event to
// ChangesTopic) in the same Kafka transaction as the first row that uses it.
type Schemas struct {
	// History holds the versions loaded at start; the pipeline adds to it.
	History       *schema.History
	Topic         string
	ChangesTopic  string
	Compatibility schema.Compatibility
	// Stop makes an incompatible change fatal (ErrIncompatibleSchema).
	Stop bool
	// Policy, when set, gives a table's own compatibility and stop rule
	// (per route); ok false falls back to Compatibility and Stop.
	Policy func(table string) (mode schema.Compatibility, stop bool, ok bool)

	// resolved caches the version of each table value a source produced,
	// so that fingerprints are computed once per shape, not per row.
	resolved map[*schema.Table]*schema.Version
	// headers caches the schema headers of each version (hot path).
	headers map[*schema.Version][]transform.Header
	// shapes caches the table of each version given to truncates that came
	// without columns.
	shapes map[*schema.Version]*schema.Table
}

// version returns the schema version of ch's table, recording a new one
// (and its schema-change event) when the shape is new.
//
// A truncate whose table has no columns (the source does not know the
// shape) gets the table's latest version, and that version's shape as its
// table, so that routes can bind it; nil, and the table left as it is, when
// no version is known.
func (p *run) version(ctx context.Context, ch *source.Change) (*schema.Version, error) {
	s := p.opt.Schemas
	if ch.Op == source.OpTruncate && len(ch.Table.Columns) == 0 {
		v := latest(s.History, ch.Table.ID())
		if v == nil {
			return nil, nil
		}
		if s.shapes == nil {
			s.shapes = map[*schema.Version]*schema.Table{}
		}
		if s.shapes[v] == nil {
			s.shapes[v] = v.Shape()
		}
		ch.Table = s.shapes[v]
		return v, nil
	}
	if v, ok := s.resolved[ch.Table]; ok {
		return v, nil
	}
	if s.resolved == nil {
		s.resolved = map[*schema.Table]*schema.Version{}
	}
	var at string
	if ch.Pos != nil {
		at = ch.Pos.String()
	}
	ddl, _ := ch.Meta.Get("ddl").(string)
	prev := latest(s.History, ch.Table.ID())
	v, fresh := s.History.Resolve(ch.Table, at, ddl, time.Now().UTC())
	if fresh {
		diff := schema.DiffVersions(prev, v)
		mode, stop := s.Compatibility, s.Stop
		if s.Policy != nil {
			if m, st, ok := s.Policy(v.Table); ok {
				mode, stop = m, st
			}
		}
		var problems []string
		if prev != nil {
			problems = schema.CheckCompatibility(mode, prev, v)
		}
		p.opt.Metrics.schemaVersion(v.Table, len(problems) > 0)
		if len(problems) > 0 {
			p.opt.Log.Warn("incompatible schema change", "table", v.Table, "version", v.Version,
				"compatibility", mode, "problems", strings.Join(problems, "; "), "stop", stop)
			if stop {
				return nil, fmt.Errorf("table %s version %d breaks %s compatibility (%s); stopping before its first row as on_incompatible says: %w",
					v.Table, v.Version, mode, strings.Join(problems, "; "), ErrIncompatibleSchema)
			}
		} else {
			p.opt.Log.Info("new schema version", "table", v.Table, "version", v.Version, "position", at)
		}
		rec, err := schema.EncodeVersion(v)
		if err != nil {
			return nil, fmt.Errorf("encoding schema version %d of %s: %w", v.Version, v.Table, err)
		}
		if err := p.write(ctx, transform.Record{Topic: s.Topic, Key: schema.VersionKey(v.Table, v.Version), Value: rec}); err != nil {
			return nil, err
		}
		if s.ChangesTopic != "" {
			ev := schema.EncodeChangeEvent(prev, v, diff, problems)
			if err := p.write(ctx, transform.Record{Topic: s.ChangesTopic, Key: []byte(v.Table), Value: ev}); err != nil {
				return nil, err
			}
		}
	}
	s.resolved[ch.Table] = v
	return v, nil
}

func latest(h *schema.History, table string) *schema.Version {
	vs := h.Versions(table)
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// schemaHeaders are added to every record of a change with a table; built
// once per version.
func (s *Schemas) schemaHeaders(v *schema.Version) []transform.Header {
	if h, ok := s.headers[v]; ok {
		return h
	}
	if s.headers == nil {
		s.headers = map[*schema.Version][]transform.Header{}
	}
	h := []transform.Header{
		{Key: "cdc.schema.version", Value: strconv.AppendInt(nil, int64(v.Version), 10)},
		{Key: "cdc.schema.fingerprint", Value: []byte(v.Fingerprint)},
	}
	s.headers[v] = h
	return h
}
