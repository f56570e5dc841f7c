package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clkTck is USER_HZ, the unit of utime/stime in /proc/<pid>/stat: 100 on every Linux ABI Go supports.
const clkTck = 100.0

type procSample struct {
	cpuTicks float64
	rssBytes float64
	ok       bool
}

// readProc reads utime+stime and VmRSS of a process (pid 0: none).
func readProc(pid int) procSample {
	if pid <= 0 {
		return procSample{}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}
	}
	// The command name is in parentheses and may contain spaces: split after the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procSample{}
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return procSample{}
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14
	st, _ := strconv.ParseFloat(f[12], 64) // field 15
	out := procSample{cpuTicks: ut + st, ok: true}
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
				out.rssBytes = kb * 1024
			}
		}
	}
	return out
}

// One second of the run.
type tick struct {
	T                float64 `json:"t"`               // seconds since the run began
	ViewersStarted   int64   `json:"viewers_started"` // POSTs sent so far
	ViewersConnected int64   `json:"viewers_connected"`
	ViewersFailed    int64   `json:"viewers_failed"`
	RxMbps           float64 `json:"rx_mbps"` // all viewers together, RTP bytes
	RxPps            float64 `json:"rx_pps"`
	ServerCPU        float64 `json:"server_cpu_percent"` // 100 = one core
	ServerRSSMB      float64 `json:"server_rss_mb"`
	ToolCPU          float64 `json:"tool_cpu_percent"`
	ToolRSSMB        float64 `json:"tool_rss_mb"`
	ServerSessions   float64 `json:"server_sessions_active"` // dragonfork_webrtc_sessions_active, -1 when not scraped
	ServerTxMbps     float64 `json:"server_tx_mbps"`         // rate of dragonfork_webrtc_bytes_sent_total, -1 when not scraped
}

type sampler struct {
	serverPid  int
	metricsURL string
	client     *http.Client
	tot        *totals
	runStart   time.Time

	ticks       []tick
	firstScrape map[string]float64
	lastScrape  map[string]float64
	scrapeErr   string
	scrapes     int
}

func (s *sampler) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prevT := time.Now()
	prevSrv := readProc(s.serverPid)
	prevTool := readProc(os.Getpid())
	var prevBytes, prevPkts uint64
	prevTx := math.NaN()
	s.scrape() // baseline
	if v, ok := sumSeries(s.lastScrape, "dragonfork_webrtc_bytes_sent_total"); ok {
		prevTx = v
	}
	for {
		select {
		case <-ctx.Done():
			s.scrape() // final values for the deltas
			return
		case now := <-t.C:
			dt := now.Sub(prevT).Seconds()
			prevT = now
			k := tick{T: round(now.Sub(s.runStart).Seconds(), 2), ViewersStarted: s.tot.started.Load(),
				ViewersConnected: s.tot.connected.Load(), ViewersFailed: s.tot.failed.Load(), ServerSessions: -1, ServerTxMbps: -1}
			b, p := s.tot.bytes.Load(), s.tot.packets.Load()
			k.RxMbps = round(float64(b-prevBytes)*8/dt/1e6, 3)
			k.RxPps = round(float64(p-prevPkts)/dt, 1)
			prevBytes, prevPkts = b, p
			if cur := readProc(s.serverPid); cur.ok {
				if prevSrv.ok {
					k.ServerCPU = round((cur.cpuTicks-prevSrv.cpuTicks)/clkTck/dt*100, 2)
				}
				k.ServerRSSMB = round(cur.rssBytes/1048576, 2)
				prevSrv = cur
			}
			if cur := readProc(os.Getpid()); cur.ok {
				k.ToolCPU = round((cur.cpuTicks-prevTool.cpuTicks)/clkTck/dt*100, 2)
				k.ToolRSSMB = round(cur.rssBytes/1048576, 2)
				prevTool = cur
			}
			if s.scrape() {
				if v, ok := sumSeries(s.lastScrape, "dragonfork_webrtc_sessions_active"); ok {
					k.ServerSessions = v
				}
				if v, ok := sumSeries(s.lastScrape, "dragonfork_webrtc_bytes_sent_total"); ok {
					if !math.IsNaN(prevTx) {
						k.ServerTxMbps = round((v-prevTx)*8/dt/1e6, 3)
					}
					prevTx = v
				}
			}
			s.ticks = append(s.ticks, k)
		}
	}
}

// sumSeries adds up every series of one metric name, whatever its labels (e.g. the core label).
func sumSeries(m map[string]float64, name string) (float64, bool) {
	sum, found := 0.0, false
	for k, v := range m {
		if k == name || (strings.HasPrefix(k, name) && len(k) > len(name) && k[len(name)] == '{') {
			sum += v
			found = true
		}
	}
	return sum, found
}

// scrape fetches /metrics; the first good answer is the baseline, the latest one the end point.
func (s *sampler) scrape() bool {
	if s.metricsURL == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.metricsURL, nil)
	resp, err := s.client.Do(req)
	if err != nil {
		s.scrapeErr = err.Error()
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.scrapeErr = fmt.Sprintf("GET %s: %d", s.metricsURL, resp.StatusCode)
		io.Copy(io.Discard, resp.Body)
		return false
	}
	m := parsePrometheusText(resp.Body)
	if s.firstScrape == nil {
		s.firstScrape = m
	}
	s.lastScrape = m
	s.scrapes++
	return true
}

// parsePrometheusText reads the text exposition format into series -> value, the series key being
// the sample line up to its value ("name" or "name{labels}"). Comments and malformed lines are skipped.
func parsePrometheusText(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		split := strings.LastIndexByte(line, '}')
		if split < 0 {
			split = strings.IndexByte(line, ' ')
		} else {
			split++
		}
		if split <= 0 || split >= len(line) {
			continue
		}
		key := line[:split]
		f := strings.Fields(line[split:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out[key] = v
	}
	return out
}

type metricDelta struct {
	Series string  `json:"series"`
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Delta  float64 `json:"delta"`
}

// deltas lists every series that changed between the first and the last scrape, and every
// dragonfork_webrtc_* series whether or not it changed.
func (s *sampler) deltas() []metricDelta {
	var out []metricDelta
	for k, end := range s.lastScrape {
		start := s.firstScrape[k]
		if end != start || strings.HasPrefix(k, "dragonfork_webrtc_") {
			out = append(out, metricDelta{Series: k, Start: start, End: end, Delta: end - start})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Series < out[j].Series })
	return out
}

// histogramQuantile estimates a quantile of the observations made between the two scrapes from the
// cumulative buckets of a label-less histogram (as Prometheus's histogram_quantile does).
func histogramQuantile(q float64, name string, first, last map[string]float64) (float64, bool) {
	type bucket struct{ le, n float64 }
	// Sum over every label set but le (e.g. the core label), per upper bound.
	byLe := map[float64]float64{}
	prefix := name + "_bucket{"
	for k, v := range last {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		i := strings.Index(k, `le="`)
		if i < 0 {
			continue
		}
		rest := k[i+4:]
		j := strings.IndexByte(rest, '"')
		if j < 0 {
			continue
		}
		le, err := strconv.ParseFloat(rest[:j], 64)
		if err != nil {
			continue
		}
		byLe[le] += v - first[k]
	}
	var bs []bucket
	for le, n := range byLe {
		bs = append(bs, bucket{le, n})
	}
	if len(bs) == 0 {
		return 0, false
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	total := bs[len(bs)-1].n
	if total <= 0 {
		return 0, false
	}
	rank := q * total
	prevLe, prevN := 0.0, 0.0
	for _, b := range bs {
		if b.n >= rank {
			if math.IsInf(b.le, 1) {
				return prevLe, true
			}
			if b.n == prevN {
				return b.le, true
			}
			return prevLe + (b.le-prevLe)*(rank-prevN)/(b.n-prevN), true
		}
		prevLe, prevN = b.le, b.n
	}
	return prevLe, true
}
