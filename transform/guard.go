package transform

import "container/list"

// Anomaly is what the ordering guard found wrong with an aggregate version.
type Anomaly uint8

// The anomalies. Their String is the value of the cdc.version.anomaly
// header.
const (
	AnomalyNone Anomaly = iota
	// AnomalyGap: the version is more than one above the last one seen.
	AnomalyGap
	// AnomalyRepeat: the version is at or below the last one seen (a
	// repeat or a regression).
	AnomalyRepeat
)

func (a Anomaly) String() string {
	switch a {
	case AnomalyGap:
		return "gap"
	case AnomalyRepeat:
		return "repeat"
	}
	return "none"
}

// DefaultGuardSize is the number of aggregates a VersionGuard remembers
// unless told otherwise.
const DefaultGuardSize = 100_000

// VersionGuard checks that each aggregate's versions increase by one from
// event to event. It remembers the last version of at most Size aggregates,
// evicting the least recently seen one: an aggregate not seen for that long
// (or never, or not since the process started) is not checked on its next
// event, whose version becomes the new baseline. Memory is bounded by about
// Size × (aggregate type + id + 100) bytes.
//
// State lives in memory only and starts empty. That is sound because the
// pipeline never hands the router an event twice within one process: after
// a crash it resumes after the last committed source transaction, so a
// restarted guard sees no replayed versions; it only misses an anomaly
// straddling the restart.
//
// A VersionGuard is not safe for concurrent use.
type VersionGuard struct {
	size  int
	order *list.List // of *guardEntry, most recently seen at the front
	byKey map[guardKey]*list.Element

	evicted uint64
}

type guardKey struct{ aggType, aggID string }

type guardEntry struct {
	key  guardKey
	last int64
}

// NewVersionGuard returns a guard remembering up to size aggregates
// (DefaultGuardSize when size <= 0).
func NewVersionGuard(size int) *VersionGuard {
	if size <= 0 {
		size = DefaultGuardSize
	}
	return &VersionGuard{size: size, order: list.New(), byKey: map[guardKey]*list.Element{}}
}

// Observe records version v of an aggregate and reports whether it follows
// the last version seen (AnomalyNone), skips versions (AnomalyGap) or does
// not increase (AnomalyRepeat), along with that last version (0 and
// AnomalyNone for an aggregate not remembered). After a gap, v is the new
// baseline; after a repeat the higher last version stays.
func (g *VersionGuard) Observe(aggType, aggID string, v int64) (Anomaly, int64) {
	k := guardKey{aggType, aggID}
	if el, ok := g.byKey[k]; ok {
		e := el.Value.(*guardEntry)
		g.order.MoveToFront(el)
		last := e.last
		switch {
		case v <= last:
			return AnomalyRepeat, last
		case v > last+1:
			e.last = v
			return AnomalyGap, last
		}
		e.last = v
		return AnomalyNone, last
	}
	if g.order.Len() >= g.size {
		oldest := g.order.Back()
		g.order.Remove(oldest)
		delete(g.byKey, oldest.Value.(*guardEntry).key)
		g.evicted++
	}
	g.byKey[k] = g.order.PushFront(&guardEntry{key: k, last: v})
	return AnomalyNone, 0
}

// Len is the number of aggregates remembered.
func (g *VersionGuard) Len() int { return g.order.Len() }

// Evicted is the number of aggregates forgotten to stay within the size.
func (g *VersionGuard) Evicted() uint64 { return g.evicted }
