package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// totals shared by all viewers, read by the sampler once a second.
type totals struct {
	bytes     atomic.Uint64
	packets   atomic.Uint64
	connected atomic.Int64 // viewers whose PeerConnection is connected now
	started   atomic.Int64 // viewers whose POST was sent
	failed    atomic.Int64 // viewers whose setup failed or that were dropped
}

type streamSummary struct {
	Codec       string  `json:"codec"`
	SSRC        uint32  `json:"ssrc"`
	Packets     uint64  `json:"packets"`
	Bytes       uint64  `json:"bytes"`
	Expected    uint64  `json:"expected"`
	Lost        uint64  `json:"lost"`
	LossPercent float64 `json:"loss_percent"`
	Duplicates  uint64  `json:"duplicates"`
	Late        uint64  `json:"late"`
	JitterMs    float64 `json:"jitter_ms"`
	MaxJitterMs float64 `json:"max_jitter_ms"`
	Keyframes   uint64  `json:"keyframes,omitempty"`
	BitrateKbps float64 `json:"bitrate_kbps"`
}

type viewerResult struct {
	ID             int            `json:"id"`
	URL            string         `json:"url"`
	Status         int            `json:"status"` // HTTP status of the WHEP POST
	Error          string         `json:"error,omitempty"`
	StartOffsetS   float64        `json:"start_offset_s"`  // since the run began
	PostMs         float64        `json:"post_ms"`         // POST sent -> answer received
	ConnectedMs    float64        `json:"connected_ms"`    // POST sent -> PeerConnection connected (ICE+DTLS)
	FirstPacketMs  float64        `json:"first_packet_ms"` // POST sent -> first RTP packet
	JoinMs         float64        `json:"join_ms"`         // POST sent -> first H.264 keyframe (or first packet without video)
	Dropped        bool           `json:"dropped"`         // connection failed or closed by the server before the end
	DropReason     string         `json:"drop_reason,omitempty"`
	DeleteStatus   int            `json:"delete_status"`
	Video          *streamSummary `json:"video,omitempty"`
	Audio          *streamSummary `json:"audio,omitempty"`
	ReceivedSecond float64        `json:"received_seconds"` // first packet -> end
	ConsentChecks  uint64         `json:"consent_checks"`   // STUN consent checks sent (RFC 7675)
}

type viewerConfig struct {
	ip       net.IP
	iface    string
	nack     bool
	rcvbuf   int
	url      string
	token    string
	timeout  time.Duration // setup: POST + ICE/DTLS + first keyframe
	client   *http.Client
	tot      *totals
	runStart time.Time
}

type trackState struct {
	kind  webrtc.RTPCodecType
	codec string
	ssrc  uint32
	st    *streamStats
}

// runViewer joins with WHEP, receives until ctx ends, leaves with DELETE. It never returns early
// on its own: a failed viewer records why and waits for the end, so the report shows all of them.
func runViewer(ctx context.Context, id int, cfg viewerConfig) *viewerResult {
	res := &viewerResult{ID: id, URL: cfg.url}
	t0 := time.Now()
	res.StartOffsetS = t0.Sub(cfg.runStart).Seconds()
	cfg.tot.started.Add(1)
	fail := func(format string, a ...any) *viewerResult {
		res.Error = fmt.Sprintf(format, a...)
		cfg.tot.failed.Add(1)
		return res
	}

	vn, err := newViewerNet(cfg.rcvbuf)
	if err != nil {
		return fail("network: %v", err)
	}
	api, err := newAPI(cfg.ip, cfg.iface, cfg.nack, vn)
	if err != nil {
		return fail("pion API: %v", err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{}) // no ICE servers: no STUN, no TURN
	if err != nil {
		return fail("new peer connection: %v", err)
	}
	defer pc.Close()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return fail("add transceiver: %v", err)
		}
	}

	var (
		mu          sync.Mutex
		tracks      []*trackState
		readers     sync.WaitGroup
		connectedAt time.Time
		firstPkt    time.Time
		dropReason  string
		ending      atomic.Bool
		keyframe    = make(chan struct{})
		keyOnce     sync.Once
		wasUp       bool
	)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case webrtc.PeerConnectionStateConnected:
			if connectedAt.IsZero() {
				connectedAt = time.Now()
			}
			if !wasUp {
				wasUp = true
				cfg.tot.connected.Add(1)
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			if wasUp && s != webrtc.PeerConnectionStateDisconnected {
				wasUp = false
				cfg.tot.connected.Add(-1)
			}
			if !ending.Load() && dropReason == "" && s != webrtc.PeerConnectionStateDisconnected {
				dropReason = "connection " + s.String()
			}
		}
	})
	pc.OnTrack(func(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		codec := track.Codec()
		ts := &trackState{kind: track.Kind(), codec: codec.MimeType, ssrc: uint32(track.SSRC()),
			st: newStreamStats(codec.ClockRate, strings.EqualFold(codec.MimeType, webrtc.MimeTypeH264))}
		mu.Lock()
		tracks = append(tracks, ts)
		mu.Unlock()
		readers.Add(2)
		go func() { // drain RTCP (sender reports feed the receiver-report interceptor)
			defer readers.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := recv.Read(buf); err != nil {
					return
				}
			}
		}()
		go func() {
			defer readers.Done()
			buf := make([]byte, 1500)
			var h rtp.Header
			for {
				n, _, err := track.Read(buf)
				if err != nil {
					if !ending.Load() && !errors.Is(err, io.EOF) {
						mu.Lock()
						if dropReason == "" {
							dropReason = "track read: " + err.Error()
						}
						mu.Unlock()
					}
					return
				}
				now := time.Now()
				hl, err := h.Unmarshal(buf[:n])
				if err != nil {
					continue
				}
				end := n
				if h.Padding && n > hl {
					end -= int(buf[n-1])
				}
				if end < hl {
					end = hl
				}
				ts.st.onPacket(h.SequenceNumber, h.Timestamp, buf[hl:end], n, now)
				cfg.tot.bytes.Add(uint64(n))
				cfg.tot.packets.Add(1)
				if ts.st.Packets == 1 {
					mu.Lock()
					if firstPkt.IsZero() {
						firstPkt = now
					}
					mu.Unlock()
				}
				if ts.st.Keyframes == 1 && ts.st.FirstKeyAt.Equal(now) {
					keyOnce.Do(func() { close(keyframe) })
				}
			}
		}()
	})

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail("create offer: %v", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail("set local description: %v", err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		return fail("ICE gathering did not complete in 5 s")
	case <-ctx.Done():
		return fail("run ended during gathering")
	}

	postStart := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, cfg.url, strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	if cfg.token != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.token)
	}
	resp, err := cfg.client.Do(req)
	if err != nil {
		return fail("POST: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	res.Status = resp.StatusCode
	res.PostMs = ms(time.Since(postStart))
	if resp.StatusCode != http.StatusCreated {
		return fail("POST answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	resource := ""
	if loc := resp.Header.Get("Location"); loc != "" {
		if base, err := url.Parse(cfg.url); err == nil {
			if u, err := base.Parse(loc); err == nil {
				resource = u.String()
			}
		}
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		deleteResource(cfg, resource)
		return fail("set remote description: %v", err)
	}

	var consentChecks uint64
	consentCtx, stopConsent := context.WithCancel(ctx)
	consentDone := make(chan struct{})
	go func() {
		defer close(consentDone)
		if err := consentLoop(consentCtx, pc, vn, &consentChecks); err != nil {
			mu.Lock()
			if dropReason == "" {
				dropReason = "consent checks: " + err.Error()
			}
			mu.Unlock()
		}
	}()

	// Setup: wait for the first keyframe (or, for an audio-only process, the first packet).
	setupDeadline := time.NewTimer(cfg.timeout)
	defer setupDeadline.Stop()
	audioOnly := time.NewTicker(200 * time.Millisecond)
	defer audioOnly.Stop()
	joined := false
	for !joined {
		select {
		case <-keyframe:
			joined = true
		case <-audioOnly.C:
			mu.Lock()
			onlyAudio := len(tracks) > 0 && !firstPkt.IsZero() && time.Since(firstPkt) > 2*time.Second
			for _, t := range tracks {
				if t.kind == webrtc.RTPCodecTypeVideo {
					onlyAudio = false
				}
			}
			mu.Unlock()
			joined = onlyAudio
		case <-setupDeadline.C:
			mu.Lock()
			res.Error = fmt.Sprintf("no keyframe within %s (connected=%v, first packet=%v)", cfg.timeout,
				!connectedAt.IsZero(), !firstPkt.IsZero())
			mu.Unlock()
			cfg.tot.failed.Add(1)
			joined = true
		case <-ctx.Done():
			joined = true
		}
	}
	<-ctx.Done()

	ending.Store(true)
	end := time.Now()
	stopConsent()
	<-consentDone
	res.ConsentChecks = consentChecks
	res.DeleteStatus = deleteResource(cfg, resource)
	pc.Close()
	readers.Wait()

	mu.Lock()
	defer mu.Unlock()
	if !connectedAt.IsZero() {
		res.ConnectedMs = ms(connectedAt.Sub(postStart))
	}
	if !firstPkt.IsZero() {
		res.FirstPacketMs = ms(firstPkt.Sub(postStart))
		res.ReceivedSecond = end.Sub(firstPkt).Seconds()
	}
	for _, t := range tracks {
		s := summarize(t, end)
		if t.kind == webrtc.RTPCodecTypeVideo {
			res.Video = s
			if !t.st.FirstKeyAt.IsZero() {
				res.JoinMs = ms(t.st.FirstKeyAt.Sub(postStart))
			}
		} else {
			res.Audio = s
		}
	}
	if res.Video == nil && res.JoinMs == 0 && res.FirstPacketMs > 0 {
		res.JoinMs = res.FirstPacketMs
	}
	if dropReason != "" && res.Error == "" {
		res.Dropped = true
		res.DropReason = dropReason
		cfg.tot.failed.Add(1)
	}
	return res
}

func summarize(t *trackState, end time.Time) *streamSummary {
	s := t.st
	out := &streamSummary{Codec: t.codec, SSRC: t.ssrc, Packets: s.Packets, Bytes: s.Bytes, Expected: s.expected(),
		Lost: s.lost(), Duplicates: s.Dups, Late: s.Reordered, JitterMs: round(s.jitterMs(), 3),
		MaxJitterMs: round(s.maxJitterMs(), 3), Keyframes: s.Keyframes}
	if out.Expected > 0 {
		out.LossPercent = round(100*float64(out.Lost)/float64(out.Expected), 4)
	}
	if !s.FirstPacketAt.IsZero() {
		if d := end.Sub(s.FirstPacketAt).Seconds(); d > 0 {
			out.BitrateKbps = round(float64(s.Bytes)*8/d/1000, 1)
		}
	}
	return out
}

func deleteResource(cfg viewerConfig, resource string) int {
	if resource == "" {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, resource, nil)
	if cfg.token != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.token)
	}
	resp, err := cfg.client.Do(req)
	if err != nil {
		return -1
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// newAPI builds one viewer's Pion API: H.264 and Opus only, NACK and receiver reports,
// and ICE restricted to UDP over IPv4 on one interface and one address (loopback by default), with no
// mDNS and no STUN/TURN server.
func newAPI(ip net.IP, iface string, nack bool, vn *viewerNet) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	pt := webrtc.PayloadType(102)
	for _, plid := range []string{"42e01f", "42001f", "4d001f", "640c1f", "64001f"} {
		c := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + plid, RTCPFeedback: fb}, PayloadType: pt}
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
		pt += 2
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus,
		ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if nack {
		if err := webrtc.ConfigureNack(m, reg); err != nil {
			return nil, err
		}
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, err
	}

	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(candidate net.IP) bool { return candidate.Equal(ip) })
	if iface != "" {
		se.SetInterfaceFilter(func(name string) bool { return name == iface })
	}
	se.SetIncludeLoopbackCandidate(ip.IsLoopback())
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if vn != nil {
		se.SetNet(vn)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }
