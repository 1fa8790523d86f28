//go:build e2e

package e2e

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Network faults between cdc and a server, for the fault tests: a proxy
// (tcpProxy for a database, kafkaProxy for Kafka) forwards each direction
// of each connection through a lane, and its faultSet can cut every
// connection, stall them (bytes stop flowing, connections stay open: a
// silent network partition), black-hole the open ones only (as a NAT or
// firewall that forgot them: new connections work) or delay them (latency
// added to every byte, throughput kept).
//
// Shopify's toxiproxy does the same for plain TCP, but the Kafka side needs
// a proxy that understands the protocol (it rewrites the broker addresses
// in metadata so that the client stays behind it), and the newest
// toxiproxy the module proxy serves here (2.5.0) drags in years-old
// Prometheus and logging modules; one small mechanism serves both proxies.

// netFaults is what a proxy does to the bytes it forwards.
type netFaults struct {
	mu      sync.Mutex
	changed *sync.Cond
	stalled bool
	latency time.Duration
}

func newNetFaults() *netFaults {
	f := &netFaults{}
	f.changed = sync.NewCond(&f.mu)
	return f
}

// stall stops every byte in both directions until unstall.
func (f *netFaults) stall() { f.set(func() { f.stalled = true }) }

func (f *netFaults) unstall() { f.set(func() { f.stalled = false }) }

// delay adds d to every byte from now on (0 removes it).
func (f *netFaults) delay(d time.Duration) { f.set(func() { f.latency = d }) }

func (f *netFaults) set(change func()) {
	f.mu.Lock()
	change()
	f.mu.Unlock()
	f.changed.Broadcast()
}

// hold blocks while the network is stalled and returns when the bytes
// read at the given time may be delivered.
func (f *netFaults) hold(read time.Time) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.stalled {
		f.changed.Wait()
	}
	return read.Add(f.latency)
}

// faultSet is a proxy's faults: its own, which every connection sees, and
// each open connection's.
type faultSet struct {
	*netFaults
	mu    sync.Mutex
	conns map[*netFaults]bool
}

func newFaultSet() *faultSet {
	return &faultSet{netFaults: newNetFaults(), conns: map[*netFaults]bool{}}
}

// open returns the faults of a new connection; closed forgets them.
func (s *faultSet) open() *netFaults {
	cf := newNetFaults()
	s.mu.Lock()
	s.conns[cf] = true
	s.mu.Unlock()
	return cf
}

func (s *faultSet) closed(cf *netFaults) {
	s.mu.Lock()
	delete(s.conns, cf)
	s.mu.Unlock()
}

// blackhole stalls every open connection for good (until heal); new
// connections are not affected.
func (s *faultSet) blackhole() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for cf := range s.conns {
		cf.stall()
	}
}

// heal ends every stall.
func (s *faultSet) heal() {
	s.unstall()
	s.mu.Lock()
	defer s.mu.Unlock()
	for cf := range s.conns {
		cf.unstall()
	}
}

// lane delivers one direction of a connection: what is sent is written,
// in order, once the faults let it through. Reading and writing are
// decoupled (a bounded queue between them, like a socket buffer), so a
// latency delays every byte without throttling a pipelined stream.
type lane struct {
	q    chan laneChunk
	done chan struct{}
}

type laneChunk struct {
	b    []byte
	read time.Time
}

// newLane starts delivering with write, which must write all of b, once
// every one of fs lets it through; after a write fails, the lane calls
// onError and drops the rest.
func newLane(write func(b []byte) error, onError func(), fs ...*netFaults) *lane {
	l := &lane{q: make(chan laneChunk, 64), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		failed := false
		for c := range l.q {
			if failed {
				continue
			}
			due := c.read
			for _, f := range fs {
				if t := f.hold(c.read); t.After(due) {
					due = t
				}
			}
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			if write(c.b) != nil {
				failed = true
				onError()
			}
		}
	}()
	return l
}

// send queues b, which the lane now owns.
func (l *lane) send(b []byte) { l.q <- laneChunk{b: b, read: time.Now()} }

// close delivers what is queued and waits for it.
func (l *lane) close() {
	close(l.q)
	<-l.done
}

// tcpProxy forwards TCP connections to a server (a database) through
// netFaults, and can be cut (every connection closed, new ones refused)
// and restored.
type tcpProxy struct {
	*faultSet
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	handle func(client net.Conn) // forward, or a proxy's own
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	return newProxy(t, target, nil)
}

// newProxy listens for connections to target and hands each to handle
// (nil: forward), which tracks the connections it opens.
func newProxy(t *testing.T, target string, handle func(net.Conn)) *tcpProxy {
	t.Helper()
	p := &tcpProxy{faultSet: newFaultSet(), t: t, target: target, conns: map[net.Conn]struct{}{}, handle: handle}
	if p.handle == nil {
		p.handle = p.forward
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.heal()
		p.cut()
	})
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
}

// cut closes the listener and every connection: both ends see the
// connection reset at once.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

// restore listens again on the same address.
func (p *tcpProxy) restore() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// track records open connections for cut; false when the proxy is cut.
func (p *tcpProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// retarget sends the connections made from now on to target (a virtual
// IP moving to another server); open ones stay where they are.
func (p *tcpProxy) retarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

func (p *tcpProxy) forward(client net.Conn) {
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	server, err := net.Dial("tcp", target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, server) {
		client.Close()
		server.Close()
		return
	}
	cf := p.open()
	defer p.closed(cf)
	closeBoth := func() {
		client.Close()
		server.Close()
	}
	go relay(server, client, closeBoth, p.netFaults, cf)
	relay(client, server, closeBoth, p.netFaults, cf)
}

// relay copies src to dst through a lane, then closes both.
func relay(dst, src net.Conn, closeBoth func(), fs ...*netFaults) {
	l := newLane(func(b []byte) error { _, err := dst.Write(b); return err }, closeBoth, fs...)
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			l.send(buf[:n])
		}
		if err != nil {
			break
		}
	}
	l.close()
	closeBoth()
}
