//go:build e2e

package e2e

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafkaProxy forwards Kafka connections to a broker and can be cut (every
// connection closed, new ones refused) and restored, to make Kafka
// unreachable for one cdc process only. It rewrites the broker and
// coordinator addresses in Metadata and FindCoordinator responses to its own,
// so that the client keeps connecting through it. Its faultSet
// (netfault_test.go) stalls or delays the traffic.
type kafkaProxy struct {
	*tcpProxy
	// trap, when set, cuts the proxy at the next request with this API
	// key (see cutAtRequest).
	trap *requestTrap
	// trapped is closed once the trap has sprung.
	trapped chan struct{}
}

// requestTrap is a cut armed for one request.
type requestTrap struct {
	key     int16
	forward bool
}

// cutAtRequest arms a cut at the next request with API key key (26 is
// EndTxn): with forward, the broker gets the request and acts on it, and
// the proxy cuts instead of passing its answer on; without, the proxy cuts
// before the broker sees it. Either way the client cannot know what
// happened. The returned channel is closed when the trap springs.
func (p *kafkaProxy) cutAtRequest(key int16, forward bool) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trap, p.trapped = &requestTrap{key: key, forward: forward}, make(chan struct{})
	return p.trapped
}

// spring takes the trap if it is armed for key.
func (p *kafkaProxy) spring(key int16) *requestTrap {
	p.mu.Lock()
	defer p.mu.Unlock()
	tr := p.trap
	if tr == nil || tr.key != key {
		return nil
	}
	p.trap = nil
	return tr
}

// cutTrapped cuts the proxy and says the trap sprang.
func (p *kafkaProxy) cutTrapped() {
	p.cut()
	p.mu.Lock()
	close(p.trapped)
	p.mu.Unlock()
}

func newKafkaProxy(t *testing.T, target string) *kafkaProxy {
	t.Helper()
	p := &kafkaProxy{}
	p.tcpProxy = newProxy(t, target, func(c net.Conn) { p.forward(c) })
	return p
}

type apiReq struct {
	key, version int16
	cut          bool // cut instead of passing the answer on
}

func (p *kafkaProxy) forward(client net.Conn) {
	broker, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, broker) {
		client.Close()
		broker.Close()
		return
	}
	closeBoth := func() {
		client.Close()
		broker.Close()
	}
	cf := p.open()
	defer p.closed(cf)
	toBroker := newLane(func(b []byte) error { return writeFrame(broker, b) }, closeBoth, p.netFaults, cf)
	toClient := newLane(func(b []byte) error { return writeFrame(client, b) }, closeBoth, p.netFaults, cf)
	var mu sync.Mutex
	reqs := map[int32]apiReq{}
	go func() { // client -> broker
		defer func() {
			toBroker.close()
			broker.Close()
		}()
		for {
			frame, err := readFrame(client)
			if err != nil || len(frame) < 8 {
				return
			}
			req := apiReq{key: int16(binary.BigEndian.Uint16(frame[0:2])), version: int16(binary.BigEndian.Uint16(frame[2:4]))}
			corr := int32(binary.BigEndian.Uint32(frame[4:8]))
			if tr := p.spring(req.key); tr != nil {
				if !tr.forward {
					p.cutTrapped()
					return
				}
				req.cut = true // when the broker answers
			}
			mu.Lock()
			reqs[corr] = req
			mu.Unlock()
			toBroker.send(frame)
		}
	}()
	defer func() {
		toClient.close()
		client.Close()
	}()
	for { // broker -> client
		frame, err := readFrame(broker)
		if err != nil || len(frame) < 4 {
			return
		}
		corr := int32(binary.BigEndian.Uint32(frame[0:4]))
		mu.Lock()
		req, ok := reqs[corr]
		delete(reqs, corr)
		mu.Unlock()
		if ok && req.cut {
			p.cutTrapped()
			return
		}
		if ok {
			frame = p.rewrite(req, frame)
		}
		toClient.send(frame)
	}
}

// rewrite points the broker addresses of Metadata (key 3) and
// FindCoordinator (key 10) responses at the proxy.
func (p *kafkaProxy) rewrite(req apiReq, frame []byte) []byte {
	host, portText, _ := net.SplitHostPort(p.addr)
	port, _ := strconv.Atoi(portText)
	var resp kmsg.Response
	switch req.key {
	case 3:
		resp = kmsg.NewPtrMetadataResponse()
	case 10:
		resp = kmsg.NewPtrFindCoordinatorResponse()
	default:
		return frame
	}
	resp.SetVersion(req.version)
	body := frame[4:]
	if resp.IsFlexible() { // response header tagged fields
		n, err := skipTags(body)
		if err != nil {
			p.t.Errorf("proxy: response header: %v", err)
			return frame
		}
		body = body[n:]
	}
	header := frame[:len(frame)-len(body)]
	if err := resp.ReadFrom(body); err != nil {
		p.t.Errorf("proxy: decoding response %d v%d: %v", req.key, req.version, err)
		return frame
	}
	switch r := resp.(type) {
	case *kmsg.MetadataResponse:
		for i := range r.Brokers {
			r.Brokers[i].Host, r.Brokers[i].Port = host, int32(port)
		}
	case *kmsg.FindCoordinatorResponse:
		if r.ErrorCode == 0 && r.Host != "" {
			r.Host, r.Port = host, int32(port)
		}
		for i := range r.Coordinators {
			if r.Coordinators[i].ErrorCode == 0 {
				r.Coordinators[i].Host, r.Coordinators[i].Port = host, int32(port)
			}
		}
	}
	return resp.AppendTo(append([]byte(nil), header...))
}

func skipTags(b []byte) (int, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, errors.New("bad tag count")
	}
	off := k
	for i := uint64(0); i < n; i++ {
		_, k := binary.Uvarint(b[off:])
		if k <= 0 {
			return 0, errors.New("bad tag")
		}
		off += k
		size, k := binary.Uvarint(b[off:])
		if k <= 0 {
			return 0, errors.New("bad tag size")
		}
		off += k + int(size)
	}
	return off, nil
}

func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeFrame(w io.Writer, b []byte) error {
	out := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	copy(out[4:], b)
	_, err := w.Write(out)
	return err
}
