package mysql

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/cdc-go/cdc/source"
)

// XA transactions.
//
// XA PREPARE binlogs an XA transaction's changes as an event group of its
// own (MariaDB: a GTID event flagged FL_PREPARED_XA, rows, "XA END", an
// XA_PREPARE_LOG_EVENT; MySQL: GTID, "XA START", rows, "XA END",
// XA_PREPARE_LOG_EVENT), and XA COMMIT or XA ROLLBACK later writes a group
// with just that statement; other transactions commit in between. The
// reader holds a prepared transaction's changes in memory (xaTx) and
// publishes them at its XA COMMIT, as one source transaction committed at
// the XA COMMIT's position, or drops them at XA ROLLBACK. XA COMMIT ... ONE
// PHASE is an ordinary transaction (MariaDB), or a prepare event flagged
// one-phase (MySQL), published at once.
//
// The positions passed meanwhile list the pending transactions (see
// Position); a stream resumed from one re-reads the binlog from where the
// oldest pending group starts, holds the pending groups' changes again and
// skips every other group the position covers (skipState).
//
// Memory: a pending transaction's changes stay in memory until its XA
// COMMIT or XA ROLLBACK. Past Config.MaxXABytes (binlog bytes of captured
// rows, all pending transactions together) the changes of the transaction
// that crosses it are dropped; its XA ROLLBACK then costs nothing, and its
// XA COMMIT stops the stream with an error naming it, before anything of it
// is published.

// MariaDB GTID event flags go-mysql does not name.
const (
	flPreparedXA  = 64  // FL_PREPARED_XA: the group is an XA transaction's prepared part
	flCompletedXA = 128 // FL_COMPLETED_XA: the group is XA COMMIT or XA ROLLBACK
)

// defaultMaxXABytes bounds the memory prepared XA transactions take.
const defaultMaxXABytes = 64 << 20

// xaTx is a prepared XA transaction whose XA COMMIT or XA ROLLBACK has not
// been read yet.
type xaTx struct {
	xid      string           // SQL form; "" until its prepare event is read
	id       string           // transaction id of the prepared group
	from     Position         // where the group starts: re-reading from here reads it again
	changes  []*source.Change // in binlog order, Tx not yet set
	bytes    int              // binlog bytes of its captured rows events
	buffered bool             // its prepared group was read in this stream
	overflow bool             // its changes were dropped: over Config.MaxXABytes
}

// skipState is the resume from a position with pending XA transactions: the
// stream re-reads from the oldest pending group, and groups that the
// position covers were already published (or passed) and are skipped, but
// for the pending groups, whose changes are held again.
type skipState struct {
	cp Position // the position resumed from, without its XA parts
	// maria holds the MariaDB domains whose GTID in cp has not been read
	// again yet: until it is, every group of the domain is covered.
	maria map[uint32]bool
}

// covered reports whether the group that starts now is covered by the
// resume position. Binlog order within a MariaDB domain is sequence order
// (gtid_strict_mode keeps it so), which the check relies on: a group of a
// domain still catching up with a higher sequence number than the position
// means the position's GTID is not in this binlog, and the stream stops
// rather than guess.
func (s *skipState) covered(r *reader) (bool, error) {
	switch s.cp.kind {
	case kindMariaDB:
		g := r.txMaria
		if r.txGTID == "" || !s.maria[g.DomainID] {
			return false, nil
		}
		var target gomysql.MariadbGTID
		for _, x := range s.cp.maria {
			if x.DomainID == g.DomainID {
				target = x
			}
		}
		switch {
		case g == target:
			delete(s.maria, g.DomainID)
			return true, nil
		case g.SequenceNumber < target.SequenceNumber:
			return true, nil
		}
		return false, fmt.Errorf("resuming from %s: re-reading the binlog from %s for the prepared XA transactions %s, GTID %s came before the position's GTID %d-%d-%d of domain %d was seen again; cannot tell which transactions were already published (is gtid_strict_mode off?); stopping rather than publish twice or skip",
			r.resumeFrom.String(), r.resumeFrom.xaFrom, strings.Join(r.resumeFrom.PendingXA(), " "), r.txGTID, target.DomainID, target.ServerID, target.SequenceNumber, g.DomainID)
	case kindMySQL:
		if r.txGTID == "" {
			return false, fmt.Errorf("resuming from %s: an anonymous transaction at %s while re-reading the binlog for prepared XA transactions; cannot tell whether it was published", r.resumeFrom.String(), r.txID())
		}
		set, err := gomysql.ParseMysqlGTIDSet(r.txGTID)
		if err != nil {
			return false, fmt.Errorf("GTID %s: %w", r.txGTID, err)
		}
		return s.cp.mysql.Contain(set), nil
	default:
		return r.txStart.binlogPos().Compare(s.cp.binlogPos()) < 0, nil
	}
}

// done reports whether every group the position covers has been read again.
func (s *skipState) done(r *reader) bool {
	switch s.cp.kind {
	case kindMariaDB:
		return len(s.maria) == 0
	case kindMySQL:
		return false // covered groups are told by the set; keep checking
	default:
		return r.group && r.txStart.binlogPos().Compare(s.cp.binlogPos()) >= 0
	}
}

// resume sets the reader up to start at p: with pending XA transactions,
// from p's re-read point, skipping what p covers. It returns where the
// binlog connection starts.
func (r *reader) resume(p Position) Position {
	r.xa, r.xaCur, r.xaBytes, r.skip, r.skipping = nil, nil, 0, nil, false
	r.reached = p.withoutXA()
	if !p.HasPendingXA() {
		r.scan = r.reached
		return r.reached
	}
	r.resumeFrom = p
	from := *p.xaFrom
	r.scan = from
	for _, x := range p.xaPending {
		r.xa = append(r.xa, &xaTx{xid: x.xid, id: x.id})
	}
	s := &skipState{cp: r.reached, maria: map[uint32]bool{}}
	if p.kind == kindMariaDB {
		old := map[uint32]gomysql.MariadbGTID{}
		for _, g := range from.maria {
			old[g.DomainID] = g
		}
		for _, g := range r.reached.maria {
			if old[g.DomainID] != g {
				s.maria[g.DomainID] = true
			}
		}
	}
	r.skip = s
	return from
}

// pos is base with the pending XA transactions attached.
func (r *reader) pos(base Position) Position {
	if len(r.xa) == 0 {
		return base.withoutXA()
	}
	pending := make([]xaPending, 0, len(r.xa))
	for _, x := range r.xa {
		pending = append(pending, xaPending{xid: x.xid, id: x.id})
	}
	from := r.xa[0].from
	if from.IsZero() {
		// Not read again yet since the resume: the resume's point is older
		// than every pending group.
		from = *r.resumeFrom.xaFrom
	}
	return base.withXA(from, pending)
}

// decideGroup runs once the group's id is known: whether the resume
// position covers it (then it is read and dropped, or its changes held
// again when it is a pending XA transaction's prepared group).
func (r *reader) decideGroup(xaStart bool) error {
	if r.skip != nil {
		covered, err := r.skip.covered(r)
		if err != nil {
			return err
		}
		switch {
		case covered:
			r.skipping = true
		case r.skip.done(r):
			if err := r.endSkip(); err != nil {
				return err
			}
		}
	}
	if xaStart {
		r.startXA()
	}
	return nil
}

// endSkip ends the resume: every pending group must have been read again.
func (r *reader) endSkip() error {
	for _, x := range r.xa {
		if !x.buffered {
			return fmt.Errorf("resuming from %s: the prepared part of XA transaction %s (transaction %s) was not found re-reading the binlog from %s; its changes cannot be published exactly. It can be resolved on the server (XA RECOVER FORMAT='SQL' lists it; XA COMMIT or XA ROLLBACK it); to go on without its changes, delete this connector's checkpoint (it then starts at the server's current position; the changes in between are not published)",
				r.resumeFrom.String(), x.xid, x.id, r.resumeFrom.xaFrom.xaFromText())
		}
	}
	r.skip = nil
	r.src.log.Info("caught up after re-reading the binlog for prepared XA transactions", "position", r.pos(r.reached).String())
	return nil
}

// startXA starts reading an XA transaction's prepared group.
func (r *reader) startXA() {
	if r.xaCur != nil {
		return
	}
	if r.skipping {
		for _, x := range r.xa {
			if x.id == r.txID() && !x.buffered {
				r.xaCur = x
				x.from = r.scan
				if r.reached.kind == kindFile {
					x.from = r.txStart
				}
			}
		}
		return // a covered XA transaction already resolved: dropped
	}
	from := r.scan
	if r.reached.kind == kindFile {
		from = r.txStart
	}
	r.xaCur = &xaTx{id: r.txID(), from: from}
}

// holdXA keeps a change of the prepared group being read.
func (r *reader) holdXA(ch *source.Change, size int) {
	x := r.xaCur
	if x.overflow {
		return
	}
	x.changes = append(x.changes, ch)
	x.bytes += size
	r.xaBytes += size
	if max := r.src.cfg.MaxXABytes; r.xaBytes > max {
		r.src.log.Warn("prepared XA transaction too large to hold in memory; its changes are dropped and its XA COMMIT will stop the connector (an XA ROLLBACK is fine)",
			"tx", x.id, "bytes", x.bytes, "max_bytes", max)
		r.xaBytes -= x.bytes
		x.changes, x.bytes, x.overflow = nil, 0, true
	}
}

// xaPrepare handles an XA_PREPARE_LOG_EVENT, the end of a prepared group.
func (r *reader) xaPrepare(ctx context.Context, h *replication.EventHeader, data []byte) error {
	x, onePhase, err := decodeXAPrepare(data)
	if err != nil {
		return fmt.Errorf("decoding the XA prepare event at %s:%d: %w", r.file, h.LogPos, err)
	}
	cur := r.xaCur
	if cur == nil && !r.skipping {
		// Not seen as XA at its start: nothing of it was held.
		return fmt.Errorf("XA PREPARE %s at %s:%d ends transaction %s, which did not start as an XA transaction", x, r.file, h.LogPos, r.txID())
	}
	if r.skipping {
		if cur != nil {
			if cur.xid != x.String() {
				return fmt.Errorf("resuming from %s: transaction %s re-read at %s:%d prepares XA %s, but the position lists it for %s", r.resumeFrom.String(), cur.id, r.file, h.LogPos, x, cur.xid)
			}
			cur.buffered = true
		}
		return r.passGroup(ctx, h, false)
	}
	cur.xid = x.String()
	if onePhase {
		// MySQL's XA COMMIT ... ONE PHASE: committed here.
		r.xaCur = nil
		r.xaBytes -= cur.bytes
		return r.publishXA(ctx, h, cur)
	}
	for _, p := range r.xa {
		if p.xid == cur.xid {
			return fmt.Errorf("XA PREPARE %s at %s:%d while an XA transaction with that xid (%s) is still prepared", x, r.file, h.LogPos, p.id)
		}
	}
	cur.buffered = true
	r.xa = append(r.xa, cur)
	return r.passGroup(ctx, h, true)
}

// xaEnd handles XA COMMIT and XA ROLLBACK statements.
func (r *reader) xaEnd(ctx context.Context, h *replication.EventHeader, commit bool, rest string) error {
	if r.skipping {
		return r.passGroup(ctx, h, false)
	}
	what := "XA ROLLBACK"
	if commit {
		what = "XA COMMIT"
	}
	rest = strings.TrimSpace(rest)
	if u := strings.ToUpper(rest); strings.HasSuffix(u, "ONE PHASE") {
		rest = strings.TrimSpace(rest[:len(rest)-len("ONE PHASE")])
	}
	x, err := parseXID(rest)
	if err != nil {
		return fmt.Errorf("%s at %s:%d: %w", what, r.file, h.LogPos, err)
	}
	id := x.String()
	i := slices.IndexFunc(r.xa, func(p *xaTx) bool { return p.xid == id })
	if i < 0 {
		if !commit {
			return r.passGroup(ctx, h, true) // nothing of it was published; nothing is
		}
		return fmt.Errorf("XA COMMIT %s at %s:%d (transaction %s): its prepared part was not read by this connector (it was prepared before the connector's first position); its changes cannot be published. Delete this connector's checkpoint to go on from the server's current position (accepting that these changes are not published)",
			id, r.file, h.LogPos, r.txID())
	}
	p := r.xa[i]
	r.xa = append(r.xa[:i:i], r.xa[i+1:]...)
	r.xaBytes -= p.bytes
	if !commit {
		return r.passGroup(ctx, h, true)
	}
	if !p.buffered {
		return fmt.Errorf("XA COMMIT %s at %s:%d: its prepared part (transaction %s) was not read again after resuming; its changes cannot be published exactly", id, r.file, h.LogPos, p.id)
	}
	if p.overflow {
		return fmt.Errorf("XA COMMIT %s at %s:%d: its changes (prepared in transaction %s) did not fit the %d bytes cdc holds in memory for prepared XA transactions (source.xa_max_bytes); raise it and restart: %w",
			id, r.file, h.LogPos, p.id, r.src.cfg.MaxXABytes, ErrXATooLarge)
	}
	return r.publishXA(ctx, h, p)
}

// publishXA sends a committed XA transaction's changes, as one source
// transaction that commits at the end of the current group.
func (r *reader) publishXA(ctx context.Context, h *replication.EventHeader, x *xaTx) error {
	id, at := r.txID(), r.txTime
	if len(x.changes) > 0 {
		if err := r.emit(ctx, source.Message{Begin: &source.Begin{TxID: id, CommitTime: at}}); err != nil {
			return err
		}
		for i, ch := range x.changes {
			ch.Tx = source.Tx{ID: id, Order: i + 1, CommitTime: at}
			ch.Meta.Set("xid", x.xid)
			if r.txGTID != "" {
				ch.Meta.Set("gtid", r.txGTID)
			} else {
				ch.Meta.Delete("gtid")
			}
			if err := r.emit(ctx, source.Message{Change: ch}); err != nil {
				return err
			}
		}
		r.begun = true
	}
	return r.commit(ctx, h)
}

// passGroup ends a group that published nothing: advance (or, for a group
// the resume position covers, keep) the position.
func (r *reader) passGroup(ctx context.Context, h *replication.EventHeader, advance bool) error {
	if !r.group {
		r.txNext = r.reached
		r.scanNext = r.scan
	}
	if advance && !r.skipping {
		r.reached = r.txNext.withFile(r.file, h.LogPos)
		r.progress++
	}
	r.endGroup()
	return r.heartbeat(ctx, false)
}

// decodeXAPrepare decodes an XA_PREPARE_LOG_EVENT's body: one_phase (1
// byte), formatID (4), gtrid length (4), bqual length (4), gtrid, bqual.
func decodeXAPrepare(data []byte) (xid, bool, error) {
	if len(data) < 13 {
		return xid{}, false, errors.New("event too short")
	}
	onePhase := data[0] != 0
	format := int64(int32(binary.LittleEndian.Uint32(data[1:])))
	gl, bl := binary.LittleEndian.Uint32(data[5:]), binary.LittleEndian.Uint32(data[9:])
	if gl > 64 || bl > 64 || 13+int(gl)+int(bl) > len(data) {
		return xid{}, false, fmt.Errorf("gtrid length %d, bqual length %d in %d bytes", gl, bl, len(data))
	}
	x := xid{gtrid: data[13 : 13+gl], bqual: data[13+gl : 13+gl+bl], format: format}
	return x, onePhase, nil
}
