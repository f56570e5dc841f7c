package main

import (
	"encoding/binary"
	"math"
	"time"
)

// streamStats counts one received RTP stream (one SSRC of one viewer) without decoding it:
// packets, bytes, loss from sequence gaps (RFC 3550 A.3: expected - received, over the extended
// highest sequence number), interarrival jitter (RFC 3550 A.8, in timestamp units, converted to ms
// with the clock rate), and H.264 IDR pictures found in the RTP payload.
type streamStats struct {
	clockRate float64
	isH264    bool

	Packets   uint64
	Bytes     uint64 // RTP header + payload, after SRTP decryption
	started   bool
	baseSeq   uint32
	maxSeq    uint16
	cycles    uint32
	Dups      uint64             // packets whose sequence number was already received (e.g. a retransmission)
	Reordered uint64             // packets older than the highest sequence number seen (late or retransmitted)
	seen      [seenWindow]uint32 // ext seq + 1 of recent packets, by ext seq % seenWindow

	// jitter
	haveTransit bool
	lastTransit float64
	jitter      float64 // timestamp units
	maxJitter   float64

	// keyframes
	Keyframes     uint64
	lastKeyTS     uint32
	haveKeyTS     bool
	FirstPacketAt time.Time
	FirstKeyAt    time.Time
}

const seenWindow = 4096

func newStreamStats(clockRate uint32, isH264 bool) *streamStats {
	if clockRate == 0 {
		clockRate = 90000
	}
	return &streamStats{clockRate: float64(clockRate), isH264: isH264}
}

// onPacket takes one RTP packet: seq, ts, the payload (after the header and any extensions, without
// padding), its total size, and the arrival time.
func (s *streamStats) onPacket(seq uint16, ts uint32, payload []byte, size int, arrival time.Time) {
	s.Packets++
	s.Bytes += uint64(size)
	var ext uint32
	if !s.started {
		s.started = true
		s.baseSeq = uint32(seq)
		s.maxSeq = seq
		s.FirstPacketAt = arrival
		ext = uint32(seq)
	} else {
		delta := seq - s.maxSeq // modulo 2^16
		switch {
		case delta == 0:
			ext = s.cycles + uint32(seq)
		case delta < 0x8000: // in order, perhaps after a gap
			if seq < s.maxSeq {
				s.cycles += 1 << 16
			}
			s.maxSeq = seq
			ext = s.cycles + uint32(seq)
		default: // older than the highest: a late (reordered or retransmitted) packet
			s.Reordered++
			ext = s.cycles + uint32(seq)
			if seq > s.maxSeq {
				ext -= 1 << 16
			}
		}
	}
	if slot := &s.seen[ext%seenWindow]; *slot == ext+1 {
		s.Dups++
	} else {
		*slot = ext + 1
	}

	// RFC 3550 A.8: transit = arrival (in ts units) - rtp ts; J += (|D| - J) / 16.
	arrivalTS := float64(arrival.UnixNano()) / 1e9 * s.clockRate
	transit := arrivalTS - float64(ts)
	if s.haveTransit {
		d := transit - s.lastTransit
		// A timestamp jump (new FFmpeg run, rebasing) must not poison the estimate: ignore |D| > 10 s.
		if math.Abs(d) < 10*s.clockRate {
			s.jitter += (math.Abs(d) - s.jitter) / 16
			if s.jitter > s.maxJitter {
				s.maxJitter = s.jitter
			}
		}
	}
	s.haveTransit = true
	s.lastTransit = transit

	if s.isH264 && isH264Keyframe(payload) {
		if !s.haveKeyTS || ts != s.lastKeyTS {
			s.Keyframes++
			if s.Keyframes == 1 {
				s.FirstKeyAt = arrival
			}
		}
		s.haveKeyTS = true
		s.lastKeyTS = ts
	}
}

// expected is the number of packets the sender sent between the first and the highest sequence.
func (s *streamStats) expected() uint64 {
	if !s.started {
		return 0
	}
	ext := s.cycles + uint32(s.maxSeq)
	return uint64(ext-s.baseSeq) + 1
}

// lost per RFC 3550 (expected - received, clamped at 0; duplicates do not count as received).
func (s *streamStats) lost() uint64 {
	exp := s.expected()
	recv := s.Packets - s.Dups
	if recv >= exp {
		return 0
	}
	return exp - recv
}

func (s *streamStats) jitterMs() float64    { return s.jitter / s.clockRate * 1000 }
func (s *streamStats) maxJitterMs() float64 { return s.maxJitter / s.clockRate * 1000 }

// isH264Keyframe reports whether an H.264 RTP payload (RFC 6184) carries the start of an IDR slice:
// a single NAL unit of type 5, an aggregation (STAP-A, 24) containing one, or the first fragment
// (FU-A, 28, start bit) of one.
func isH264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5:
		return true
	case 24: // STAP-A: [hdr] ([size:16][nal])...
		for off := 1; off+2 < len(p); {
			n := int(binary.BigEndian.Uint16(p[off:]))
			off += 2
			if n == 0 || off+n > len(p) {
				return false
			}
			if p[off]&0x1f == 5 {
				return true
			}
			off += n
		}
		return false
	case 28: // FU-A: [indicator][S E R type]
		return len(p) >= 2 && p[1]&0x80 != 0 && p[1]&0x1f == 5
	default:
		return false
	}
}
