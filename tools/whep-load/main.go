// whep-load: a sustained WHEP load generator. N viewers of one or more processes, each a real WebRTC
// receiver (ICE, DTLS, SRTP through Pion) that reads RTP without decoding and counts packets, bytes,
// loss, jitter and H.264 keyframes. It samples the server's CPU and RSS from /proc and its /metrics
// every second and writes a report (JSON, Markdown, PNG). See docs/observability.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }
func (u *urlList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*u = append(*u, p)
		}
	}
	return nil
}

type options struct {
	URLs         []string      `json:"urls"`
	Viewers      int           `json:"viewers"`
	Duration     time.Duration `json:"-"`
	DurationS    float64       `json:"duration_s"`
	Ramp         float64       `json:"ramp_per_second"`
	TokenSet     bool          `json:"token_set"`
	ServerPid    int           `json:"server_pid"`
	MetricsURL   string        `json:"metrics_url"`
	IP           string        `json:"ip"`
	Iface        string        `json:"interface"`
	SetupTimeout time.Duration `json:"-"`
	SetupS       float64       `json:"setup_timeout_s"`
	NACK         bool          `json:"nack"`
	RcvBuf       int           `json:"socket_receive_buffer"`
	Out          string        `json:"out"`
}

func main() {
	var urls urlList
	o := options{}
	var token string
	flag.Var(&urls, "url", "WHEP endpoint, e.g. http://127.0.0.1:8080/api/v3/whep/PROCESS (repeatable or comma-separated; viewers are spread round-robin)")
	flag.IntVar(&o.Viewers, "viewers", 10, "number of viewers")
	flag.DurationVar(&o.Duration, "duration", 30*time.Second, "how long all viewers are held after the ramp")
	flag.Float64Var(&o.Ramp, "ramp", 10, "viewers started per second")
	flag.StringVar(&token, "token", "", "Bearer token for the WHEP POST (API JWT or webrtc.token); default $WHEP_TOKEN")
	flag.IntVar(&o.ServerPid, "server-pid", 0, "pid of dragon-core, to sample its CPU and RSS from /proc (0: don't)")
	flag.StringVar(&o.MetricsURL, "metrics-url", "", "Prometheus endpoint to poll (default: /metrics on the first --url's host; \"none\" to skip)")
	flag.StringVar(&o.IP, "ip", "127.0.0.1", "the only local IPv4 address ICE may use")
	flag.StringVar(&o.Iface, "iface", "", "the only network interface ICE may use (default: lo when --ip is loopback)")
	flag.DurationVar(&o.SetupTimeout, "setup-timeout", 15*time.Second, "a viewer without a keyframe after this long counts as failed")
	flag.BoolVar(&o.NACK, "nack", true, "send NACKs for missing packets (as browsers do)")
	flag.IntVar(&o.RcvBuf, "rcvbuf", 4<<20, "UDP receive buffer per viewer in bytes (the kernel caps it at net.core.rmem_max)")
	flag.StringVar(&o.Out, "out", "whep-load-report", "report directory (report.json, report.md, report.png)")
	flag.Parse()
	o.URLs = urls
	if token == "" {
		token = os.Getenv("WHEP_TOKEN")
	}
	o.TokenSet = token != ""
	if len(o.URLs) == 0 || o.Viewers <= 0 || o.Ramp <= 0 {
		fmt.Fprintln(os.Stderr, "whep-load: --url is required; --viewers and --ramp must be positive")
		flag.Usage()
		os.Exit(2)
	}
	ip := net.ParseIP(o.IP).To4()
	if ip == nil {
		fmt.Fprintf(os.Stderr, "whep-load: --ip %q is not an IPv4 address\n", o.IP)
		os.Exit(2)
	}
	if o.Iface == "" && ip.IsLoopback() {
		o.Iface = "lo"
	}
	if o.MetricsURL == "" {
		if u, err := url.Parse(o.URLs[0]); err == nil {
			o.MetricsURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/metrics"}).String()
		}
	} else if o.MetricsURL == "none" {
		o.MetricsURL = ""
	}
	o.DurationS, o.SetupS = o.Duration.Seconds(), o.SetupTimeout.Seconds()

	if _, err := newAPI(ip, o.Iface, o.NACK, nil); err != nil {
		fmt.Fprintln(os.Stderr, "whep-load:", err)
		os.Exit(1)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16, Proxy: nil}}
	tot := &totals{}
	runStart := time.Now()
	rampTime := time.Duration(float64(o.Viewers-1) / o.Ramp * float64(time.Second))
	endAt := runStart.Add(rampTime + o.Duration)

	ctx, cancel := context.WithDeadline(context.Background(), endAt)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
			fmt.Fprintln(os.Stderr, "whep-load: interrupted, ending the run")
			cancel()
		case <-ctx.Done():
		}
	}()

	smp := &sampler{serverPid: o.ServerPid, metricsURL: o.MetricsURL, client: &http.Client{Timeout: time.Second}, tot: tot, runStart: runStart}
	smpDone := make(chan struct{})
	go smp.run(ctx, smpDone)

	fmt.Fprintf(os.Stderr, "whep-load: %d viewers over %d URL(s), ramp %.1f/s (%.1f s), hold %s\n",
		o.Viewers, len(o.URLs), o.Ramp, rampTime.Seconds(), o.Duration)
	results := make([]*viewerResult, o.Viewers)
	var wg sync.WaitGroup
	progressDone := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
				fmt.Fprintf(os.Stderr, "  t=%4.0fs started=%d connected=%d failed=%d rx=%.1f Mbit/s total\n", time.Since(runStart).Seconds(),
					tot.started.Load(), tot.connected.Load(), tot.failed.Load(), float64(tot.bytes.Load())*8/1e6/time.Since(runStart).Seconds())
			}
		}
	}()
launch:
	for i := 0; i < o.Viewers; i++ {
		at := runStart.Add(time.Duration(float64(i) / o.Ramp * float64(time.Second)))
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
			break launch
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = runViewer(ctx, i, viewerConfig{ip: ip, iface: o.Iface, nack: o.NACK, rcvbuf: o.RcvBuf, url: o.URLs[i%len(o.URLs)], token: token,
				timeout: o.SetupTimeout, client: client, tot: tot, runStart: runStart})
		}(i)
	}
	wg.Wait()
	close(progressDone)
	<-smpDone
	runEnd := time.Now()

	var done []*viewerResult
	for _, r := range results {
		if r != nil {
			done = append(done, r)
		}
	}
	rep := buildReport(o, done, smp, runStart, runEnd)
	if err := writeReport(o.Out, rep); err != nil {
		fmt.Fprintln(os.Stderr, "whep-load: writing the report:", err)
		os.Exit(1)
	}
	fmt.Print(rep.Markdown)
	fmt.Fprintf(os.Stderr, "whep-load: report in %s/\n", o.Out)
	if rep.Summary.ViewersOK < o.Viewers {
		os.Exit(3)
	}
}
