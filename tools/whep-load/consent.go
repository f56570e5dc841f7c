package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/stun"
	"github.com/pion/transport/v2"
	"github.com/pion/transport/v2/stdnet"
	"github.com/pion/webrtc/v3"
)

// viewerNet is the transport.Net one viewer's ICE agent uses: the standard network, except that it
// keeps the UDP sockets it opens (to send consent checks through them, see consentLoop) and gives
// them a larger receive buffer (a GOP-cache burst at join is hundreds of packets at once).
type viewerNet struct {
	*stdnet.Net
	rcvbuf int
	mu     sync.Mutex
	conns  []*net.UDPConn
}

func newViewerNet(rcvbuf int) (*viewerNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &viewerNet{Net: n, rcvbuf: rcvbuf}, nil
}

func (n *viewerNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	if n.rcvbuf > 0 {
		_ = c.SetReadBuffer(n.rcvbuf)
	}
	n.mu.Lock()
	n.conns = append(n.conns, c)
	n.mu.Unlock()
	return c, nil
}

func (n *viewerNet) connFor(port int) *net.UDPConn {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.Port == port {
			return c
		}
	}
	return nil
}

func sdpAttr(sdp, name string) string {
	for _, line := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a="+name+":"); ok {
			return v
		}
	}
	return ""
}

// consentLoop sends an RFC 7675 consent check (a STUN Binding request on the selected pair) every
// 2-3 s, as browsers do. Pion's agent only sends keepalives when the pair has been idle in one
// direction, which never happens while media and RTCP flow, and an ICE-lite server that enforces
// consent freshness drops such a viewer. The answers reach Pion's agent, which ignores them.
func consentLoop(ctx context.Context, pc *webrtc.PeerConnection, vn *viewerNet, checks *uint64) error {
	localUfrag := sdpAttr(pc.LocalDescription().SDP, "ice-ufrag")
	remote := pc.RemoteDescription()
	if remote == nil {
		return fmt.Errorf("no remote description")
	}
	remoteUfrag, remotePwd := sdpAttr(remote.SDP, "ice-ufrag"), sdpAttr(remote.SDP, "ice-pwd")
	if localUfrag == "" || remoteUfrag == "" || remotePwd == "" {
		return fmt.Errorf("ICE credentials missing from the descriptions")
	}
	var tb [8]byte
	_, _ = rand.Read(tb[:])
	tiebreaker := binary.BigEndian.Uint64(tb[:])
	for {
		wait := 2*time.Second + time.Duration(mrand.IntN(1000))*time.Millisecond
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		var pair *webrtc.ICECandidatePair
		for _, t := range pc.GetTransceivers() {
			if r := t.Receiver(); r != nil && r.Transport() != nil {
				if p, err := r.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && p != nil {
					pair = p
					break
				}
			}
		}
		if pair == nil || pair.Local == nil || pair.Remote == nil {
			continue
		}
		conn := vn.connFor(int(pair.Local.Port))
		if conn == nil {
			continue
		}
		msg, err := stun.Build(stun.TransactionID, stun.BindingRequest,
			stun.NewUsername(remoteUfrag+":"+localUfrag),
			ice.AttrControlling(tiebreaker),
			ice.PriorityAttr(pair.Local.Priority),
			stun.NewShortTermIntegrity(remotePwd),
			stun.Fingerprint)
		if err != nil {
			return err
		}
		dst := &net.UDPAddr{IP: net.ParseIP(pair.Remote.Address), Port: int(pair.Remote.Port)}
		if _, err := conn.WriteTo(msg.Raw, dst); err == nil && checks != nil {
			*checks++
		}
	}
}
