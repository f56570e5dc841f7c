package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type dist struct {
	N   int     `json:"n"`
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	Avg float64 `json:"avg"`
}

// distribution with nearest-rank percentiles.
func distribution(v []float64) dist {
	if len(v) == 0 {
		return dist{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		if i < 0 {
			i = 0
		}
		return s[i]
	}
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return dist{N: len(s), Min: round(s[0], 2), P50: round(pct(0.5), 2), P95: round(pct(0.95), 2), P99: round(pct(0.99), 2),
		Max: round(s[len(s)-1], 2), Avg: round(sum/float64(len(s)), 2)}
}

type summary struct {
	ViewersRequested int            `json:"viewers_requested"`
	ViewersStarted   int            `json:"viewers_started"`
	ViewersOK        int            `json:"viewers_ok"` // joined (keyframe) and not dropped
	ViewersFailed    int            `json:"viewers_failed"`
	ViewersDropped   int            `json:"viewers_dropped"`
	PostStatus       map[string]int `json:"post_status"`
	RunSeconds       float64        `json:"run_seconds"`
	SteadyFromS      float64        `json:"steady_from_s"` // end of the ramp + 5 s

	JoinMs      dist `json:"join_ms"`      // POST -> first keyframe
	ConnectedMs dist `json:"connected_ms"` // POST -> ICE+DTLS connected
	PostMs      dist `json:"post_ms"`      // POST -> answer

	VideoKbps        dist    `json:"video_kbps_per_viewer"`
	AudioKbps        dist    `json:"audio_kbps_per_viewer"`
	TotalKbps        dist    `json:"total_kbps_per_viewer"`
	LossPercent      dist    `json:"video_loss_percent_per_viewer"`
	PacketsLost      uint64  `json:"packets_lost"` // video + audio, all viewers
	PacketsExpected  uint64  `json:"packets_expected"`
	LossPercentTotal float64 `json:"loss_percent_total"`
	JitterMs         dist    `json:"video_jitter_ms_per_viewer"`
	Keyframes        dist    `json:"keyframes_per_viewer"`

	ServerCPU          dist    `json:"server_cpu_percent_steady"`
	ServerCPUPerViewer float64 `json:"server_cpu_percent_per_viewer"`
	ServerRSSStartMB   float64 `json:"server_rss_start_mb"`
	ServerRSSSteadyMB  float64 `json:"server_rss_steady_start_mb"`
	ServerRSSEndMB     float64 `json:"server_rss_end_mb"`
	ServerRSSMaxMB     float64 `json:"server_rss_max_mb"`
	ServerRSSGrowthMB  float64 `json:"server_rss_growth_steady_mb"` // end - start of the steady phase
	ToolCPU            dist    `json:"tool_cpu_percent_steady"`
	ToolRSSMaxMB       float64 `json:"tool_rss_max_mb"`

	ServerSetupP50 float64 `json:"server_setup_seconds_p50,omitempty"` // from dragonfork_webrtc_setup_seconds deltas
	ServerSetupP95 float64 `json:"server_setup_seconds_p95,omitempty"`
	ServerSetupP99 float64 `json:"server_setup_seconds_p99,omitempty"`
	MetricsScrapes int     `json:"metrics_scrapes"`
	MetricsError   string  `json:"metrics_error,omitempty"`
}

type report struct {
	Tool      string          `json:"tool"`
	StartedAt time.Time       `json:"started_at"`
	Options   options         `json:"options"`
	Summary   summary         `json:"summary"`
	Viewers   []*viewerResult `json:"viewers"`
	Timeline  []tick          `json:"timeline"`
	Metrics   []metricDelta   `json:"metric_deltas"`
	Markdown  string          `json:"-"`
}

func buildReport(o options, vs []*viewerResult, smp *sampler, runStart, runEnd time.Time) *report {
	r := &report{Tool: "whep-load", StartedAt: runStart.UTC(), Options: o, Viewers: vs, Timeline: smp.ticks, Metrics: smp.deltas()}
	s := &r.Summary
	s.ViewersRequested = o.Viewers
	s.ViewersStarted = len(vs)
	s.PostStatus = map[string]int{}
	s.RunSeconds = round(runEnd.Sub(runStart).Seconds(), 1)
	s.SteadyFromS = round(float64(o.Viewers-1)/o.Ramp+5, 1)
	var join, conn, post, vk, ak, tk, loss, jit, kf []float64
	for _, v := range vs {
		key := fmt.Sprint(v.Status)
		if v.Status == 0 {
			key = "no answer"
		}
		s.PostStatus[key]++
		if v.PostMs > 0 {
			post = append(post, v.PostMs)
		}
		switch {
		case v.Error != "":
			s.ViewersFailed++
		case v.Dropped:
			s.ViewersDropped++
		default:
			s.ViewersOK++
		}
		if v.JoinMs > 0 {
			join = append(join, v.JoinMs)
		}
		if v.ConnectedMs > 0 {
			conn = append(conn, v.ConnectedMs)
		}
		total := 0.0
		for _, st := range []*streamSummary{v.Video, v.Audio} {
			if st == nil {
				continue
			}
			s.PacketsLost += st.Lost
			s.PacketsExpected += st.Expected
			total += st.BitrateKbps
		}
		if v.Video != nil {
			vk = append(vk, v.Video.BitrateKbps)
			loss = append(loss, v.Video.LossPercent)
			jit = append(jit, v.Video.JitterMs)
			kf = append(kf, float64(v.Video.Keyframes))
		}
		if v.Audio != nil {
			ak = append(ak, v.Audio.BitrateKbps)
		}
		if total > 0 {
			tk = append(tk, total)
		}
	}
	s.JoinMs, s.ConnectedMs, s.PostMs = distribution(join), distribution(conn), distribution(post)
	s.VideoKbps, s.AudioKbps, s.TotalKbps = distribution(vk), distribution(ak), distribution(tk)
	s.LossPercent, s.JitterMs, s.Keyframes = distribution(loss), distribution(jit), distribution(kf)
	if s.PacketsExpected > 0 {
		s.LossPercentTotal = round(100*float64(s.PacketsLost)/float64(s.PacketsExpected), 4)
	}

	var cpu, tcpu, conns []float64
	for i, k := range smp.ticks {
		if i == 0 {
			s.ServerRSSStartMB = k.ServerRSSMB
		}
		s.ServerRSSEndMB = k.ServerRSSMB
		s.ServerRSSMaxMB = math.Max(s.ServerRSSMaxMB, k.ServerRSSMB)
		s.ToolRSSMaxMB = math.Max(s.ToolRSSMaxMB, k.ToolRSSMB)
		if k.T >= s.SteadyFromS {
			if len(cpu) == 0 {
				s.ServerRSSSteadyMB = k.ServerRSSMB
			}
			cpu = append(cpu, k.ServerCPU)
			tcpu = append(tcpu, k.ToolCPU)
			conns = append(conns, float64(k.ViewersConnected))
		}
	}
	if len(cpu) > 0 {
		s.ServerRSSGrowthMB = round(s.ServerRSSEndMB-s.ServerRSSSteadyMB, 2)
	}
	s.ServerCPU, s.ToolCPU = distribution(cpu), distribution(tcpu)
	if c := distribution(conns); c.Avg > 0 {
		s.ServerCPUPerViewer = round(s.ServerCPU.Avg/c.Avg, 3)
	}
	s.MetricsScrapes = smp.scrapes
	if smp.scrapes == 0 {
		s.MetricsError = smp.scrapeErr
	}
	if smp.scrapes > 1 {
		for _, q := range []struct {
			q   float64
			dst *float64
		}{{0.5, &s.ServerSetupP50}, {0.95, &s.ServerSetupP95}, {0.99, &s.ServerSetupP99}} {
			if v, ok := histogramQuantile(q.q, "dragonfork_webrtc_setup_seconds", smp.firstScrape, smp.lastScrape); ok {
				*q.dst = round(v, 4)
			}
		}
	}
	r.Markdown = markdown(r)
	return r
}

func writeReport(dir string, r *report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown), 0o644); err != nil {
		return err
	}
	return writePlot(filepath.Join(dir, "report.png"), r)
}

func markdown(r *report) string {
	s := r.Summary
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("# WHEP load report\n\n")
	w("Started %s; %d viewers over %s, ramp %.1f/s, held %.0f s after the ramp (run %.1f s). Token: %v. ICE on %s/%s only, no STUN.\n\n",
		r.StartedAt.Format(time.RFC3339), s.ViewersRequested, strings.Join(r.Options.URLs, ", "), r.Options.Ramp,
		r.Options.DurationS, s.RunSeconds, r.Options.TokenSet, r.Options.IP, r.Options.Iface)
	w("## Result\n\n| | |\n|---|---|\n")
	w("| viewers ok / started / requested | %d / %d / %d |\n", s.ViewersOK, s.ViewersStarted, s.ViewersRequested)
	w("| viewers failed at setup | %d |\n| viewers dropped during the run | %d |\n", s.ViewersFailed, s.ViewersDropped)
	w("| WHEP POST statuses | %s |\n", statusList(s.PostStatus))
	w("| packets lost / expected (all streams) | %d / %d (%.4f %%) |\n", s.PacketsLost, s.PacketsExpected, s.LossPercentTotal)
	w("| server CPU (steady, 100 %% = 1 core) | avg %.1f %%, p95 %.1f %%, max %.1f %% — %.3f %% per viewer |\n",
		s.ServerCPU.Avg, s.ServerCPU.P95, s.ServerCPU.Max, s.ServerCPUPerViewer)
	w("| server RSS | start %.1f MB, steady start %.1f MB, end %.1f MB, max %.1f MB (growth in steady phase %+.1f MB) |\n",
		s.ServerRSSStartMB, s.ServerRSSSteadyMB, s.ServerRSSEndMB, s.ServerRSSMaxMB, s.ServerRSSGrowthMB)
	w("| load tool CPU / RSS | avg %.1f %%, max %.1f %% / max %.1f MB |\n", s.ToolCPU.Avg, s.ToolCPU.Max, s.ToolRSSMaxMB)
	if s.MetricsScrapes > 0 {
		w("| server setup_seconds p50 / p95 / p99 (from /metrics) | %.3f / %.3f / %.3f s |\n", s.ServerSetupP50, s.ServerSetupP95, s.ServerSetupP99)
	} else {
		w("| /metrics | not scraped: %s |\n", s.MetricsError)
	}
	w("\n## Distributions (per viewer)\n\n| | n | min | p50 | p95 | p99 | max | avg |\n|---|---|---|---|---|---|---|---|\n")
	row := func(name string, d dist) {
		w("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", name, d.N, d.Min, d.P50, d.P95, d.P99, d.Max, d.Avg)
	}
	row("join time, POST → first keyframe (ms)", s.JoinMs)
	row("POST → ICE+DTLS connected (ms)", s.ConnectedMs)
	row("POST → answer (ms)", s.PostMs)
	row("video bitrate (kbit/s)", s.VideoKbps)
	row("audio bitrate (kbit/s)", s.AudioKbps)
	row("video loss (%)", s.LossPercent)
	row("video jitter, RFC 3550 (ms)", s.JitterMs)
	row("keyframes received", s.Keyframes)
	w("\n![server CPU, RSS, viewers and throughput over time](report.png)\n")

	w("\n## Metric deltas (/metrics, first → last scrape)\n\n")
	if len(r.Metrics) == 0 {
		w("None (no scrape).\n")
	} else {
		w("| series | start | end | delta |\n|---|---|---|---|\n")
		for _, m := range r.Metrics {
			if strings.HasPrefix(m.Series, "dragonfork_") || strings.Contains(m.Series, "restream") || strings.HasPrefix(m.Series, "ffmpeg_") ||
				strings.HasPrefix(m.Series, "session_") {
				if strings.Contains(m.Series, "_bucket{") {
					continue
				}
				w("| `%s` | %g | %g | %g |\n", m.Series, m.Start, m.End, m.Delta)
			}
		}
		w("\n(All changed series, histogram buckets included, are in report.json.)\n")
	}

	w("\n## Viewers\n\n| # | url | status | join ms | connected ms | video kbit/s | audio kbit/s | video loss %% | jitter ms | keyframes | result |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, v := range r.Viewers {
		var vk, ak, lp, j float64
		var kf uint64
		if v.Video != nil {
			vk, lp, j, kf = v.Video.BitrateKbps, v.Video.LossPercent, v.Video.JitterMs, v.Video.Keyframes
		}
		if v.Audio != nil {
			ak = v.Audio.BitrateKbps
		}
		res := "ok"
		if v.Error != "" {
			res = "failed: " + v.Error
		} else if v.Dropped {
			res = "dropped: " + v.DropReason
		}
		res = strings.ReplaceAll(res, "|", "/")
		if len(res) > 160 {
			res = res[:160] + "…"
		}
		w("| %d | %s | %d | %.0f | %.0f | %.0f | %.0f | %.3f | %.2f | %d | %s |\n", v.ID, shortURL(v.URL), v.Status, v.JoinMs, v.ConnectedMs, vk, ak, lp, j, kf, res)
	}
	return b.String()
}

func statusList(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s × %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func shortURL(u string) string {
	if i := strings.Index(u, "/api/v3/whep/"); i >= 0 {
		return u[i+len("/api/v3/whep/"):]
	}
	return u
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
