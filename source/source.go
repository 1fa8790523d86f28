// Package source holds the change-event model that every source emits and
// the pipeline consumes. Sources live in sub-packages (source/postgres,
// source/mysql); they never talk to Kafka.
//
// A source emits a stream of Messages. Every change sits between a Begin and
// a Commit of its source transaction; the Commit carries the position from
// which a restart resumes after that transaction. Positions advance only at
// transaction boundaries. A checkpoint may still name a place inside a
// transaction (the pipeline commits large ones to Kafka in parts): then it
// is the position before that transaction plus how many of its changes to
// skip, and a source started there must send the same transaction first,
// with the same Begin identity and its changes in the same order.
package source

import (
	"encoding"
	"fmt"
	"time"

	"github.com/cdc-go/cdc/schema"
)

// Position is a source's resume point. Each source owns one concrete type
// with exactly one text codec (MarshalText / its package's Parse function);
// the pipeline and the sink only move it around and store its text form.
type Position interface {
	encoding.TextMarshaler
	fmt.Stringer
}

// Op is the kind of change, as it appears in the envelope's "op" field.
type Op byte

// The operations. OpRead is reserved for snapshots.
const (
	OpCreate   Op = 'c'
	OpUpdate   Op = 'u'
	OpDelete   Op = 'd'
	OpTruncate Op = 't'
	OpRead     Op = 'r'
	OpMessage  Op = 'm'
)

func (o Op) String() string { return string(o) }

// Tx identifies a source transaction and an event's place in it.
type Tx struct {
	ID string
	// Order is the event's 1-based position within its transaction.
	Order int
	// TableOrder is its 1-based position among the transaction's events of
	// the same table (set by the pipeline).
	TableOrder int
	// CommitTime is when the transaction committed on the source.
	CommitTime time.Time
}

// Change is one row change (or a truncate or logical message).
type Change struct {
	Op Op
	// Table is the table's shape when the change was written. A truncate
	// may come with a table that has only its namespace and name, when the
	// source does not know the shape (MySQL: a TRUNCATE of a table whose
	// rows it has not read since it started); the pipeline then gives it
	// the table's latest known schema version.
	Table *schema.Table
	// Before and After are aligned with Table.Columns. Before is nil when the
	// source did not send an old image (inserts; updates without a key change
	// under Postgres REPLICA IDENTITY DEFAULT), After is nil for deletes and
	// truncates.
	Before, After []any
	Tx            Tx
	// Pos is where the change itself sits in the source's log (the LSN of the
	// record, the binlog event position); informational, never a resume point.
	Pos Position
	// Message is set for OpMessage (Postgres pg_logical_emit_message).
	Message *LogicalMessage
	// Err is set when a value could not be converted; the row then carries
	// the source's raw text for that column and the pipeline sends the
	// change to the dead-letter topic instead of the table's topic.
	Err error
	// Meta holds source-specific fields for the envelope's "source" block
	// (for example "xmin", "gtid", "server_id", "file", "pos").
	Meta Meta
}

// LogicalMessage is a transactional message written into the log by the
// application (pg_logical_emit_message(true, prefix, content)).
type LogicalMessage struct {
	Prefix  string
	Content []byte
}

// Begin opens a source transaction.
type Begin struct {
	// TxID identifies the transaction on its server: it must not repeat
	// among the transactions a restart from an earlier position could send
	// first (a MySQL GTID, or the binlog position of its first event).
	TxID       string
	CommitTime time.Time
	// CommitPos is where the transaction commits in the source's log, when
	// the source knows it at Begin (Postgres: the BEGIN message's final
	// LSN); nil otherwise. With TxID it pins the transaction when a
	// restart resumes inside it.
	CommitPos Position
	// Snapshot marks a snapshot chunk: its changes are OpRead rows read
	// from a table, not from the log. It is never committed to Kafka in
	// parts (a restart reads another chunk, never the same one again).
	Snapshot bool
}

// Commit closes a source transaction. Pos is the resume point after it: a
// source started at Pos never re-emits this transaction and never skips the
// next one.
type Commit struct {
	TxID       string
	Pos        Position
	CommitTime time.Time
	// Snapshot is set on the Commit of a snapshot chunk: the table's
	// progress, committed in the same Kafka transaction as the rows.
	Snapshot *SnapshotStep
}

// SnapshotStep is what a snapshot chunk commits: the table's new progress
// record (the text form of a snapshot.Progress) and the state of the whole
// snapshot after it. The step that takes an on-demand request (an empty
// snapshot transaction) has no Table but Records, the pending records of
// the request's tables, and Answer, with the signals topic offset the
// checkpoint stores from then on.
type SnapshotStep struct {
	// Table is the table's "namespace.name", the progress record's key;
	// empty when the step writes only Records.
	Table string
	// Progress is the table's progress record.
	Progress []byte
	// Records are further progress records committed with the step.
	Records []SnapshotRecord
	// ID names the first snapshot request with tables not done after the
	// step ("initial", or an on-demand request's id); Also the others, in
	// the order their tables are read.
	ID   string
	Also []string
	// Open is how many tables of the snapshots are not done after this
	// chunk; 0 ends the snapshot.
	Open int
	// Answer, when set, answers an on-demand request (or cancel) taken
	// from the signals topic.
	Answer *SignalAnswer
}

// SnapshotRecord is a table's progress record (text of snapshot.Progress).
type SnapshotRecord struct {
	Table    string
	Progress []byte
}

// SignalAnswer is the answer to a request of the signals topic: Value (the
// text of a snapshot.Signal) is written under key ID, and Offset, the
// offset after the request's record, goes into the checkpoint committed
// with it, so that the request is never taken again.
type SignalAnswer struct {
	ID     string
	Value  []byte
	Offset int64
}

// Message is one item of a source's stream: exactly one field is set.
//
// Heartbeat is a position the source has reached while no transaction is open
// (an idle database, or transactions that touched no captured table). The
// pipeline may checkpoint it so that the source can release old log.
type Message struct {
	Begin     *Begin
	Change    *Change
	Commit    *Commit
	Heartbeat Position
}

// Server identifies the database a position belongs to (Postgres system
// identifier and slot, MySQL server_uuid). A checkpoint taken on one server
// is refused on another.
type Server struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}
