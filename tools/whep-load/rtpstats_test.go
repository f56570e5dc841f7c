package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestH264KeyframeDetection(t *testing.T) {
	cases := []struct {
		name string
		p    []byte
		want bool
	}{
		{"empty", nil, false},
		{"single IDR", []byte{0x65, 0x88}, true},
		{"single non-IDR", []byte{0x41, 0x9a}, false},
		{"SPS alone", []byte{0x67, 0x42}, false},
		{"STAP-A SPS PPS IDR", []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88}, true},
		{"STAP-A SPS PPS", []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, false},
		{"STAP-A truncated size", []byte{0x78, 0, 9, 0x65}, false},
		{"STAP-A zero size", []byte{0x78, 0, 0, 0x65}, false},
		{"FU-A IDR start", []byte{0x7c, 0x85, 0x88}, true},
		{"FU-A IDR middle", []byte{0x7c, 0x05, 0x88}, false},
		{"FU-A IDR end", []byte{0x7c, 0x45, 0x88}, false},
		{"FU-A non-IDR start", []byte{0x7c, 0x81, 0x9a}, false},
		{"FU-A header only", []byte{0x7c}, false},
	}
	for _, c := range cases {
		if got := isH264Keyframe(c.p); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLossFromGapsAndWrap(t *testing.T) {
	s := newStreamStats(90000, true)
	now := time.Unix(1000, 0)
	seqs := []uint16{65530, 65531, 65533, 65535, 0, 1, 4, 3, 3}
	for i, q := range seqs {
		s.onPacket(q, uint32(i*3000), []byte{0x41}, 100, now.Add(time.Duration(i)*33*time.Millisecond))
	}
	// 65530..4 across the wrap = 11 expected; received unique: 65530 65531 65533 65535 0 1 4 3 = 8.
	if s.expected() != 11 {
		t.Fatalf("expected %d, want 11", s.expected())
	}
	if s.lost() != 3 || s.Dups != 1 || s.Reordered != 2 {
		t.Fatalf("lost %d dups %d late %d, want 3 1 2", s.lost(), s.Dups, s.Reordered)
	}
	if s.Packets != 9 || s.Bytes != 900 {
		t.Fatalf("packets %d bytes %d", s.Packets, s.Bytes)
	}
}

func TestJitterRFC3550(t *testing.T) {
	// Perfectly paced packets: jitter stays 0.
	s := newStreamStats(90000, false)
	base := time.Unix(2000, 0)
	for i := 0; i < 100; i++ {
		s.onPacket(uint16(i), uint32(i*3000), nil, 10, base.Add(time.Duration(i)*time.Second/30))
	}
	if s.jitterMs() > 0.01 {
		t.Fatalf("paced jitter %.4f ms, want ~0", s.jitterMs())
	}
	// Alternating +-5 ms arrival offsets: |D| = 10 ms each, J converges to 10 ms.
	s = newStreamStats(90000, false)
	for i := 0; i < 400; i++ {
		off := 5 * time.Millisecond
		if i%2 == 1 {
			off = -off
		}
		s.onPacket(uint16(i), uint32(i*3000), nil, 10, base.Add(time.Duration(i)*time.Second/30+off))
	}
	if math.Abs(s.jitterMs()-10) > 0.1 {
		t.Fatalf("jitter %.3f ms, want 10", s.jitterMs())
	}
}

func TestKeyframesCountedOncePerPicture(t *testing.T) {
	s := newStreamStats(90000, true)
	now := time.Now()
	// Two IDR slices of one picture (same timestamp), then a second picture.
	s.onPacket(1, 1000, []byte{0x65}, 10, now)
	s.onPacket(2, 1000, []byte{0x65}, 10, now)
	s.onPacket(3, 4000, []byte{0x41}, 10, now)
	s.onPacket(4, 7000, []byte{0x7c, 0x85}, 10, now)
	if s.Keyframes != 2 {
		t.Fatalf("keyframes %d, want 2", s.Keyframes)
	}
}

func TestPrometheusParsingAndQuantile(t *testing.T) {
	first := parsePrometheusText(strings.NewReader(`# HELP x y
# TYPE dragonfork_webrtc_setup_seconds histogram
dragonfork_webrtc_setup_seconds_bucket{le="0.1"} 0
dragonfork_webrtc_setup_seconds_bucket{le="0.2"} 0
dragonfork_webrtc_setup_seconds_bucket{le="+Inf"} 0
dragonfork_webrtc_sessions_total{outcome="connected"} 3
`))
	last := parsePrometheusText(strings.NewReader(`dragonfork_webrtc_setup_seconds_bucket{le="0.1"} 30
dragonfork_webrtc_setup_seconds_bucket{le="0.2"} 60
dragonfork_webrtc_setup_seconds_bucket{le="+Inf"} 60
dragonfork_webrtc_setup_seconds_bucket{core="b",le="0.1"} 20
dragonfork_webrtc_setup_seconds_bucket{core="b",le="0.2"} 40
dragonfork_webrtc_setup_seconds_bucket{core="b",le="+Inf"} 40
dragonfork_webrtc_sessions_total{outcome="connected"} 13
label_with_space{a="b c"} 7 1700000000000
`))
	if last[`label_with_space{a="b c"}`] != 7 {
		t.Fatalf("parse: %v", last)
	}
	if v, ok := histogramQuantile(0.5, "dragonfork_webrtc_setup_seconds", first, last); !ok || math.Abs(v-0.1) > 1e-9 {
		t.Fatalf("p50 %v %v", v, ok)
	}
	if v, _ := histogramQuantile(0.75, "dragonfork_webrtc_setup_seconds", first, last); math.Abs(v-0.15) > 1e-9 {
		t.Fatalf("p75 %v", v)
	}
	smp := &sampler{firstScrape: first, lastScrape: last}
	found := false
	for _, d := range smp.deltas() {
		if d.Series == `dragonfork_webrtc_sessions_total{outcome="connected"}` && d.Delta == 10 {
			found = true
		}
	}
	if !found {
		t.Fatal("delta of sessions_total missing")
	}
	if v, ok := sumSeries(last, "dragonfork_webrtc_sessions_total"); !ok || v != 13 {
		t.Fatalf("sumSeries %v %v", v, ok)
	}
	if _, ok := sumSeries(last, "dragonfork_webrtc_sessions"); ok {
		t.Fatal("sumSeries matched a longer name")
	}
}
