package mysql

import (
	"fmt"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/cdc-go/cdc/schema"
	"github.com/cdc-go/cdc/source"
)

// Rows events that cannot be decoded. The stream goes on, and the event
// becomes one change for the dead-letter topic that carries what is needed
// to decode it later: the raw rows event and the raw table-map event it
// refers to, as the server sent them (19-byte header, body, and the CRC32
// trailer when binlog_checksum is CRC32), in the "source" block as
// "binlog_event" and "binlog_table_map" (base64), next to "file", "pos" and
// "gtid".

// decodeRows is the syncer's RowsEventDecodeFunc. It runs on the syncer's
// goroutine: a failure is left in decodeErrs for rows to pick up, and the
// event goes on with no rows.
func (r *reader) decodeRows(re *replication.RowsEvent, data []byte) error {
	pos, err := re.DecodeHeader(data)
	if err != nil {
		return err
	}
	if err := re.DecodeData(pos, data); err != nil {
		// Keep the stream going: the change goes to the dead-letter topic.
		re.Rows = nil
		r.decodeErrs.Store(re, err)
	}
	return nil
}

// maxDecodeReason bounds the decoder's message in the reason: go-mysql
// puts the whole event and table map into some of its messages, and the
// raw bytes travel separately.
const maxDecodeReason = 500

// undecodedRows is the change for a rows event that could not be decoded.
func undecodedRows(op source.Op, t *schema.Table, pos Position, err error, event, tableMap []byte) *source.Change {
	ch := &source.Change{Op: op, Table: t,
		Err: fmt.Errorf("decoding rows event for %s at %s: %w (the dead letter carries the raw event and its table map, base64, in source.binlog_event and source.binlog_table_map)", t.ID(), pos, shortError{err}),
	}
	if event != nil {
		ch.Meta.Set("binlog_event", event)
	}
	if tableMap != nil {
		ch.Meta.Set("binlog_table_map", tableMap)
	}
	return ch
}

// shortError is an error whose message is cut to maxDecodeReason.
type shortError struct{ err error }

func (e shortError) Error() string { return truncate(libError(e.err).Error(), maxDecodeReason) }
func (e shortError) Unwrap() error { return e.err }
