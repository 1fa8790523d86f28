package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Telling whether a connector runs. Commands that move a connector's
// checkpoint (`cdc positions set`, `cdc run --from`) must not do it under a
// running instance: its next commit would overwrite the move, or the move's
// fencing would kill it mid-stream. A running instance therefore joins a
// Kafka group of its own, PresenceGroup(connector), for as long as it runs,
// and those commands look at the group's members.
//
// Why a group: the broker itself keeps the membership alive with heartbeats
// and drops it SessionTimeout after the process stops heartbeating (at
// once on a clean stop, which leaves the group), so a crashed instance
// cannot hold it forever, and a live one cannot lose it while it runs.
// Alternatives that were considered and rejected: the transactional id's
// state (DescribeTransactions) is "Empty" or "CompleteCommit" between two
// commits of a live idle connector just as after it stopped; the producer
// state of the checkpoint partition (DescribeProducers) outlives the
// process for transactional.id.expiration.ms (a week by default); a lease
// record in a topic needs clocks to agree. A false "running" (for
// SessionTimeout after a kill -9) is safe and says what to wait for; a
// false "stopped" is not possible while the process heartbeats.
//
// The group uses the classic group protocol with a protocol type of its own
// ("cdc-presence"), as Kafka Connect does for its workers: it consumes
// nothing and commits no offsets, and consumer tooling lists it for what it
// is.

const (
	presenceProtocolType = "cdc-presence"
	presenceProtocol     = "v1"
	// PresenceSessionTimeout is how long the broker keeps a member that
	// stopped heartbeating (a killed process).
	PresenceSessionTimeout = 10 * time.Second
	presenceHeartbeat      = 2 * time.Second
)

// PresenceGroup is the group a running connector joins.
func PresenceGroup(connector string) string { return "cdc-presence." + connector }

// Member describes a running instance, from what it sent when it joined.
type Member struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// ClientHost is the address the broker sees the instance connect from.
	ClientHost string `json:"-"`
}

// String is "pid 123 on host db1 (10.0.0.5), running since ...".
func (m Member) String() string {
	s := fmt.Sprintf("pid %d on host %s", m.PID, m.Host)
	if m.ClientHost != "" {
		s += " (" + strings.TrimPrefix(m.ClientHost, "/") + ")"
	}
	if !m.Started.IsZero() {
		s += ", running since " + m.Started.UTC().Format(time.RFC3339)
	}
	return s
}

// Presence is a running instance's membership of its presence group.
// Close leaves the group.
type Presence struct {
	cl     *kgo.Client
	group  string
	meta   []byte
	log    *slog.Logger
	member string
	gen    int32
	stop   context.CancelFunc
	done   chan struct{}
}

// JoinPresence joins PresenceGroup(connector) and keeps the membership
// alive in the background until Close. It blocks until the first join
// completes (a few seconds at most: the broker's
// group.initial.rebalance.delay.ms) or ctx ends. Losing the membership
// later (a broker outage) is logged and retried; it does not stop the
// connector, which fencing protects anyway.
func JoinPresence(ctx context.Context, c Cluster, connector string, log *slog.Logger) (*Presence, error) {
	cl, err := c.NewClient(kgo.ClientID("cdc-presence"))
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	meta, _ := json.Marshal(Member{Host: host, PID: os.Getpid(), Started: time.Now().UTC()})
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Presence{cl: cl, group: PresenceGroup(connector), meta: meta, log: log, done: make(chan struct{})}
	pending := false
	if err := p.join(ctx); err != nil {
		if !transient(err) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, kerr.RebalanceInProgress) {
			cl.Close()
			return nil, fmt.Errorf("joining kafka group %q (how other cdc commands see that connector %q runs): %w", p.group, connector, err)
		}
		// A group still waiting for a killed instance's member to time
		// out (or a slow broker) must not hold up the stream: keep joins
		// in the background.
		pending = true
		log.Warn("kafka presence group not joined yet; cdc positions set would not see this connector running until it is; joining in the background",
			"group", p.group, "error", err)
	}
	life, stop := context.WithCancel(context.Background())
	p.stop = stop
	go p.keep(life, pending)
	return p, nil
}

// join joins the group (again) and completes the sync.
func (p *Presence) join(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group = p.group
		req.SessionTimeoutMillis = int32(PresenceSessionTimeout.Milliseconds())
		req.RebalanceTimeoutMillis = int32(PresenceSessionTimeout.Milliseconds())
		req.MemberID = p.member
		req.ProtocolType = presenceProtocolType
		proto := kmsg.NewJoinGroupRequestProtocol()
		proto.Name, proto.Metadata = presenceProtocol, p.meta
		req.Protocols = append(req.Protocols, proto)
		resp, err := req.RequestWith(ctx, p.cl)
		if err != nil {
			return err
		}
		err = kerr.ErrorForCode(resp.ErrorCode)
		switch {
		case errors.Is(err, kerr.MemberIDRequired):
			p.member = resp.MemberID // KIP-394: join again with it
			continue
		case errors.Is(err, kerr.UnknownMemberID):
			p.member = ""
			continue
		case err != nil && attempt < 5 && (errors.Is(err, kerr.RebalanceInProgress) || transient(err)):
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
			continue
		case err != nil:
			return err
		}
		p.member, p.gen = resp.MemberID, resp.Generation
		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Group, sync.Generation, sync.MemberID = p.group, resp.Generation, resp.MemberID
		sync.ProtocolType, sync.Protocol = kmsg.StringPtr(presenceProtocolType), kmsg.StringPtr(presenceProtocol)
		if resp.LeaderID == resp.MemberID {
			for _, m := range resp.Members {
				a := kmsg.NewSyncGroupRequestGroupAssignment()
				a.MemberID = m.MemberID
				sync.GroupAssignment = append(sync.GroupAssignment, a)
			}
		}
		sresp, err := sync.RequestWith(ctx, p.cl)
		if err != nil {
			return err
		}
		if err := kerr.ErrorForCode(sresp.ErrorCode); err != nil {
			if attempt < 5 && (errors.Is(err, kerr.RebalanceInProgress) || transient(err)) {
				continue
			}
			return err
		}
		return nil
	}
}

// keep heartbeats until ctx ends, rejoining when the group rebalances or
// forgot the member; lost says the first join has not succeeded yet.
func (p *Presence) keep(ctx context.Context, lost bool) {
	defer close(p.done)
	t := time.NewTicker(presenceHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.Generation, req.MemberID = p.group, p.gen, p.member
		rctx, cancel := context.WithTimeout(ctx, PresenceSessionTimeout/2)
		resp, err := req.RequestWith(rctx, p.cl)
		cancel()
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil && ctx.Err() == nil {
			jctx, cancel := context.WithTimeout(ctx, 2*PresenceSessionTimeout)
			err = p.join(jctx)
			cancel()
		}
		switch {
		case err != nil && ctx.Err() == nil && !lost:
			lost = true
			p.log.Warn("kafka presence group membership lost; cdc positions set would not see this connector running until it is back", "group", p.group, "error", err)
		case err == nil && lost:
			lost = false
			p.log.Info("kafka presence group membership back", "group", p.group)
		}
	}
}

// Close leaves the group, so that the connector counts as stopped at once,
// and closes the client. It waits at most a second for the broker (an
// unreachable one forgets the member after PresenceSessionTimeout anyway),
// so it does not hold up a stop.
func (p *Presence) Close() {
	if p == nil {
		return
	}
	p.stop()
	<-p.done
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group, req.MemberID = p.group, p.member
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = p.member
	req.Members = append(req.Members, m)
	if _, err := req.RequestWith(ctx, p.cl); err != nil {
		p.log.Warn("leaving kafka presence group; it forgets this instance after the session timeout", "group", p.group, "error", err, "session_timeout", PresenceSessionTimeout)
	}
	p.cl.Close()
}

// RunningMembers returns the instances of connector that are running now
// (members of its presence group), with a client of its own. None is an
// empty list.
func RunningMembers(ctx context.Context, c Cluster, connector string) ([]Member, error) {
	cl, err := c.NewClient()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	group := PresenceGroup(connector)
	groups, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("describing kafka group %q: %w", group, err)
	}
	g, ok := groups[group]
	if !ok {
		return nil, nil
	}
	if g.Err != nil {
		if errors.Is(g.Err, kerr.GroupIDNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("describing kafka group %q: %w", group, g.Err)
	}
	var out []Member
	for _, m := range g.Members {
		var mem Member
		if raw, ok := m.Join.Raw(); ok {
			_ = json.Unmarshal(raw, &mem) // an unreadable description still counts as running
		}
		mem.ClientHost = m.ClientHost
		out = append(out, mem)
	}
	return out, nil
}

// Self is the description this instance joined its group with.
func (p *Presence) Self() Member {
	var m Member
	_ = json.Unmarshal(p.meta, &m)
	return m
}

// same tells whether two descriptions are of one process.
func (m Member) same(o Member) bool {
	return m.Host == o.Host && m.PID == o.PID && m.Started.Equal(o.Started)
}

// OtherInstance looks for a running instance of connector other than self,
// for up to wait (a newer instance may still be joining: the group holds
// a frozen or killed member for PresenceSessionTimeout first). It reports
// what it found; a failing lookup, or members listed without their
// description, count as none.
func OtherInstance(ctx context.Context, c Cluster, connector string, self Member, wait time.Duration) (Member, bool) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		members, err := RunningMembers(ctx, c, connector)
		if err == nil {
			for _, m := range members {
				// A member listed without its description (a group
				// rebalancing lists members so) may be this instance:
				// look again.
				if m.PID != 0 && !m.same(self) {
					return m, true
				}
			}
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return Member{}, false
		case <-t.C:
		}
	}
}
