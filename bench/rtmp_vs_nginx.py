#!/usr/bin/env python3
"""RTMP fan-out: one ~4 Mbps publisher, N players, server CPU-seconds per player-minute for dragon-core's
built-in RTMP server and for Debian's nginx with libnginx-mod-rtmp, measured one after the other in the
same run on the same machine.

Usage: bench/rtmp_vs_nginx.py [--bin build-release/src/dragon-core] [--players 50] [--duration 60]
                              [--bitrate 4000k] [--only nginx|dragon] [--out bench/reports/rtmp_vs_nginx]
Needs: ffmpeg, ffprobe, nginx + libnginx-mod-rtmp (scripts/install-deps.sh --bench). Loopback only.
Writes <out>.{md,json}. Figures are reported, not asserted.

The source: testsrc2 1280x720 25 fps, libx264 veryfast CBR-ish (-b:v/-maxrate = --bitrate, -bufsize half,
-g 50) + AAC, 60 s, made once into an .flv. The publisher sends it with `-re -stream_loop -1 -c copy`, so
its CPU is small and the same for both servers. Players are `ffmpeg -i rtmp://... -c copy -f null -`
with `-progress pipe:1`, started 50 ms apart; after a warm-up the server's user+system CPU (nginx: master
+ workers; dragon-core: its process) is taken over the window and divided by players x window minutes.
A player is "behind" when its stream time advanced more than 2 s less than the median player's over the
window ("behind wall clock": more than 2 s less than the wall time). The players and the publisher
share the machine with the server; the machine's total CPU over the window is reported as well.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from procstats import free_port, cpu_seconds, rss_mb, children

REPO = Path(__file__).resolve().parents[1]
NGINX_RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
REFERENCE_NGINX = 0.050  # research/upstream-measured.md: CPU-seconds per player-minute, 4.2 Mbps, 50 players
SOURCE_SECONDS = 60
STREAM = "live/bench"

_procs = []  # every process we start, so cleanup() can end them whatever happens


def machine_cpu():
    """(busy, total) jiffies over all cores from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(f[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - f[3] - f[4], total


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    _procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, wait=5):
    if p.poll() is not None:
        return
    try:
        p.send_signal(sig)
        p.wait(wait)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    except ProcessLookupError:
        pass


def cleanup(extra_pids=()):
    for p in reversed(_procs):
        if p.poll() is None:
            try:
                p.kill()
            except ProcessLookupError:
                pass
    for p in _procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass
    for pid in extra_pids:  # e.g. nginx workers whose master died
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _procs.clear()


def kbit(rate):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", rate)
    if not m:
        sys.exit(f"--bitrate: cannot read {rate!r} (e.g. 4000k, 4M)")
    return int(float(m.group(1)) * {"": 0.001, "k": 1, "K": 1, "m": 1000, "M": 1000}[m.group(2)])


def make_source(tmp, rate_kbit):
    out = Path(tmp) / "source.flv"
    t0 = time.monotonic()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(SOURCE_SECONDS),
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    "-b:v", f"{rate_kbit}k", "-maxrate", f"{rate_kbit}k", "-bufsize", f"{rate_kbit // 2}k",
                    "-g", "50", "-c:a", "aac", "-b:a", "128k", "-f", "flv", str(out)], check=True)
    size = out.stat().st_size
    print(f"source: {size} bytes, {size * 8 / SOURCE_SECONDS / 1e6:.2f} Mbit/s "
          f"(encoded in {time.monotonic() - t0:.0f} s)", flush=True)
    return out, round(size * 8 / SOURCE_SECONDS / 1e6, 2)


def wait_port(port, proc, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_nginx(tmp):
    port = free_port()
    conf = Path(tmp) / "nginx.conf"
    conf.write_text(f"""daemon off;
worker_processes 1;
load_module {NGINX_RTMP_MODULE};
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
rtmp {{
  server {{
    listen 127.0.0.1:{port};
    application live {{
      live on;
    }}
  }}
}}
""")
    log = open(Path(tmp) / "nginx-stderr.log", "wb")
    proc = spawn(["nginx", "-c", str(conf), "-p", f"{tmp}/"], stdout=subprocess.DEVNULL, stderr=log)
    if not wait_port(port, proc):
        raise RuntimeError("nginx did not start: " + (Path(tmp) / "nginx-stderr.log").read_text()[-2000:])
    return proc, port, lambda: [proc.pid, *children(proc.pid)]


def start_dragon(binary, tmp):
    port, rtmp_port = free_port(), free_port()
    env = {"PATH": os.environ["PATH"], "HOME": tmp, "CORE_CONFIGFILE": f"{tmp}/config/config.json",
           "CORE_ADDRESS": f"127.0.0.1:{port}", "CORE_DB_DIR": f"{tmp}/db", "CORE_STORAGE_DISK_DIR": f"{tmp}/data",
           "CORE_API_AUTH_PASSWORD": "bench-password", "CORE_LOG_LEVEL": "warn",
           "CORE_RTMP_ENABLE": "true", "CORE_RTMP_ADDRESS": f"127.0.0.1:{rtmp_port}"}
    log = open(Path(tmp) / "dragon-stderr.log", "wb")
    proc = spawn([binary], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    if not wait_port(rtmp_port, proc):
        raise RuntimeError(f"dragon-core ({binary}) does not accept RTMP on {rtmp_port} (a build without the "
                           "RTMP server?): " + (Path(tmp) / "dragon-stderr.log").read_text()[-2000:])
    return proc, rtmp_port, lambda: [proc.pid]


def probe(url, publisher, seconds=40):
    """Wait until ffprobe sees the live stream's video and audio."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        if publisher.poll() is not None:
            raise RuntimeError(f"publisher exited with {publisher.returncode}")
        try:
            r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                                url], capture_output=True, text=True, timeout=15)
            kinds = set(r.stdout.split())
            if {"video", "audio"} <= kinds:
                return
            last = r.stderr.strip()[-300:]
        except subprocess.TimeoutExpired:
            last = "ffprobe timed out"
        time.sleep(0.5)
    raise RuntimeError(f"no stream at {url}: {last}")


class Player:
    """One `ffmpeg -c copy -f null` player; a thread reads its -progress blocks."""

    def __init__(self, url, tmp, i):
        self.err_path = Path(tmp) / f"player-{i}.err"
        self.proc = spawn(["ffmpeg", "-nostdin", "-v", "error", "-progress", "pipe:1", "-i", url,
                           "-c", "copy", "-f", "null", "-"],
                          stdout=subprocess.PIPE, stderr=open(self.err_path, "wb"), text=True, bufsize=1)
        self.last = None  # (wall monotonic, out_time_us, speed)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        block = {}
        for line in self.proc.stdout:
            key, _, value = line.strip().partition("=")
            if key == "progress":
                try:
                    us = int(block.get("out_time_us", block.get("out_time_ms", "")))
                except ValueError:
                    us = None
                if us is not None and us >= 0:
                    speed = block.get("speed", "").rstrip("x").strip()
                    self.last = (time.monotonic(), us, float(speed) if re.fullmatch(r"[\d.]+", speed) else None)
                block = {}
            else:
                block[key] = value

    def error_text(self):
        try:
            return self.err_path.read_text(errors="replace").strip()
        except FileNotFoundError:
            return ""


def run_server(name, start, source, args, tmp):
    """Start the server, the publisher and the players; measure; stop everything. Returns the figures."""
    print(f"{name}: starting", flush=True)
    server, port, pids_fn = start()
    url = f"rtmp://127.0.0.1:{port}/{STREAM}"
    all_server_pids = set()
    try:
        publisher = spawn(["ffmpeg", "-nostdin", "-v", "error", "-re", "-stream_loop", "-1", "-i", str(source),
                           "-c", "copy", "-f", "flv", url], stdout=subprocess.DEVNULL,
                          stderr=open(Path(tmp) / f"publisher-{name}.err", "wb"))
        probe(url, publisher)
        print(f"{name}: stream is up at {url}; starting {args.players} players", flush=True)
        players = []
        for i in range(args.players):
            players.append(Player(url, tmp, f"{name}-{i}"))
            time.sleep(0.05)
        time.sleep(args.warmup)

        pids = pids_fn()
        all_server_pids.update(pids)
        player_pids = [p.proc.pid for p in players]
        alive_at_start = sum(1 for p in players if p.proc.poll() is None)
        start_marks = [p.last for p in players]
        c0, pc0, pub0, m0 = cpu_seconds(pids), cpu_seconds(player_pids), cpu_seconds([publisher.pid]), machine_cpu()
        t0 = time.monotonic()
        time.sleep(args.duration)
        t1 = time.monotonic()
        pids_end = pids_fn()
        all_server_pids.update(pids_end)
        c1, pc1, pub1, m1 = (cpu_seconds(pids_end), cpu_seconds(player_pids), cpu_seconds([publisher.pid]),
                             machine_cpu())
        rss = rss_mb(pids_end)
        end_marks = [p.last for p in players]
        alive = sum(1 for p in players if p.proc.poll() is None)
        publisher_alive = publisher.poll() is None

        # Stream time each player advanced over the window, against the wall time between its two samples.
        advances, lags = [], []
        for a, b, p in zip(start_marks, end_marks, players):
            if a is None or b is None or p.proc.poll() is not None:
                advances.append(None)
                lags.append(None)
                continue
            adv = (b[1] - a[1]) / 1e6
            advances.append(round(adv, 2))
            lags.append(round((b[0] - a[0]) - adv, 2))
        live = [a for a in advances if a is not None]
        median_adv = statistics.median(live) if live else 0.0
        behind_median = sum(1 for a in advances if a is None or a < median_adv - 2)
        behind_wall = sum(1 for x in lags if x is None or x > 2)
        speeds = [m[2] for m in end_marks if m and m[2] is not None]
        errors = [e for e in (p.error_text() for p in players) if e]

        window = t1 - t0
        cpu = c1 - c0
        busy = (m1[0] - m0[0]) / max(1, m1[1] - m0[1])
        r = {
            "players": args.players,
            "players_alive_at_window_start": alive_at_start,
            "players_alive": alive,
            "publisher_alive": publisher_alive,
            "window_s": round(window, 2),
            "cpu_seconds": round(cpu, 3),
            "cpu_seconds_per_player_minute": round(cpu / (args.players * window / 60), 4),
            "cpu_percent_of_one_core": round(cpu / window * 100, 2),
            "rss_mb": rss,
            "server_pids": len(pids_end),
            "players_behind_median": behind_median,
            "players_behind_wall_clock": behind_wall,
            "median_stream_advance_s": round(median_adv, 2),
            "median_player_speed": round(statistics.median(speeds), 3) if speeds else None,
            "players_cpu_seconds": round(pc1 - pc0, 2),
            "publisher_cpu_seconds": round(pub1 - pub0, 2),
            "machine_cpu_busy_percent": round(busy * 100, 1),
            "machine_cores": os.cpu_count(),
            "player_advances_s": advances,
            "player_lags_s": lags,
            "players_with_errors": len(errors),
            "first_player_error": errors[0][-500:] if errors else "",
        }
        print(f"{name}: " + json.dumps({k: v for k, v in r.items() if k not in ("player_advances_s", "player_lags_s")}),
              flush=True)
        # Stop players first (so the server does not log their loss as the cause of anything), then the rest.
        for p in players:
            stop(p.proc, signal.SIGKILL)
        stop(publisher, signal.SIGKILL)
        stop(server, signal.SIGQUIT if name == "nginx" else signal.SIGTERM, wait=15)
        return r
    finally:
        cleanup(all_server_pids | (set(children(server.pid)) if server.poll() is None else set()))
        time.sleep(2)  # let the machine settle before the next server


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(REPO / "build-release" / "src" / "dragon-core"))
    ap.add_argument("--players", type=int, default=50)
    ap.add_argument("--duration", type=int, default=60, help="measuring window, seconds")
    ap.add_argument("--warmup", type=int, default=10, help="seconds after the last player starts")
    ap.add_argument("--bitrate", default="4000k", help="video bitrate of the test source")
    ap.add_argument("--only", choices=("nginx", "dragon"), help="measure one server only")
    ap.add_argument("--out", default=str(REPO / "bench" / "reports" / "rtmp_vs_nginx"))
    args = ap.parse_args()
    for tool in ("ffmpeg", "ffprobe", "nginx", "pgrep"):
        if not shutil.which(tool) and not (tool == "nginx" and args.only == "dragon"):
            sys.exit(f"{tool} is missing (scripts/install-deps.sh --bench)")
    if args.only != "dragon" and not Path(NGINX_RTMP_MODULE).exists():
        sys.exit(f"{NGINX_RTMP_MODULE} is missing (apt-get install libnginx-mod-rtmp)")
    if args.only != "nginx" and not os.access(args.bin, os.X_OK):
        sys.exit(f"{args.bin} is missing (an optimised build: ninja -C build-release dragon-core)")
    rate = kbit(args.bitrate)
    # SIGTERM/SIGHUP unwind like Ctrl-C, so the finally blocks end every ffmpeg and server we started.
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit("stopped by signal"))

    servers = [s for s in ("nginx", "dragon") if args.only in (None, s)]
    results = {}
    with tempfile.TemporaryDirectory(prefix="rtmp-bench-") as tmp:
        try:
            source, source_mbit = make_source(tmp, rate)
            for name in servers:
                start = (lambda: start_nginx(tmp)) if name == "nginx" else (lambda: start_dragon(args.bin, tmp))
                results[name] = run_server(name, start, source, args, tmp)
        finally:
            cleanup()

    ratio = None
    if "nginx" in results and "dragon" in results and results["nginx"]["cpu_seconds_per_player_minute"]:
        ratio = round(results["dragon"]["cpu_seconds_per_player_minute"]
                      / results["nginx"]["cpu_seconds_per_player_minute"], 2)
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip() \
        if shutil.which("nginx") else "nginx missing"
    ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    md = ["# RTMP fan-out: dragon-core vs nginx-rtmp",
          "",
          f"Machine: {os.cpu_count()} cores ({cpu.group(1) if cpu else '?'}). One publisher "
          f"(testsrc2 1280x720 25 fps, libx264 veryfast {args.bitrate} + AAC 128k, {source_mbit} Mbit/s "
          f"measured, `-re -stream_loop -1 -c copy`), {args.players} players (`ffmpeg -c copy -f null`, started "
          f"50 ms apart), {args.warmup} s warm-up, {args.duration} s window, loopback. {nginx_version} with "
          f"libnginx-mod-rtmp, one worker, `live on`; dragon-core its defaults with `CORE_RTMP_ENABLE=true`, log "
          f"level warn. {ffmpeg_version}. Command: `bench/rtmp_vs_nginx.py"
          + (f" --only {args.only}" if args.only else "")
          + (f" --players {args.players}" if args.players != 50 else "")
          + (f" --duration {args.duration}" if args.duration != 60 else "")
          + "` (binary: an optimised build, `ninja -C build-release dragon-core`).",
          "",
          "Server CPU is the server's own user+system time (nginx: master + worker). The players and the "
          "publisher share the same cores with the server, so the machine is equally loaded for both servers; "
          "\"machine CPU\" is the whole machine's busy share over the window (100 % = all cores saturated), "
          "which shows whether the players themselves were starved. A player is behind when its stream time "
          "advanced more than 2 s less than the median player's (in brackets: than the wall clock).",
          "",
          "| server | players | window s | CPU s | CPU s per player-minute | % of one core | RSS MB | players behind "
          "| players alive | machine CPU | players' CPU s | publisher CPU s |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in servers:
        if name not in results:
            continue
        x = results[name]
        md.append(f"| {'dragon-core' if name == 'dragon' else 'nginx-rtmp'} | {x['players']} | {x['window_s']:.1f} | "
                  f"{x['cpu_seconds']:.2f} | **{x['cpu_seconds_per_player_minute']:.4f}** | "
                  f"{x['cpu_percent_of_one_core']:.1f} | {x['rss_mb']} | {x['players_behind_median']} "
                  f"({x['players_behind_wall_clock']}) | {x['players_alive']} | {x['machine_cpu_busy_percent']} % | "
                  f"{x['players_cpu_seconds']:.1f} | {x['publisher_cpu_seconds']:.2f} |")
    md.append("")
    if ratio is not None:
        md.append(f"- CPU per player-minute, dragon-core / nginx-rtmp = **{ratio}** (goal ≤ 1.0: no more than "
                  f"nginx-rtmp; {'met' if ratio <= 1.0 else 'not met'} in this run).")
    else:
        md.append(f"- Only {', '.join(results) or 'nothing'} measured (`--only`): no ratio.")
    md.append(f"- Reference (research/upstream-measured.md): nginx-rtmp 0.050 CPU-seconds per player-minute with one "
              f"4.2 Mbps publisher and 50 players; absolute figures move with the machine's load, the ratio within "
              f"one run is what counts.")
    for name, x in results.items():
        if x["players_with_errors"]:
            md.append(f"- {name}: {x['players_with_errors']} players printed errors; first: "
                      f"`{x['first_player_error'].splitlines()[-1] if x['first_player_error'] else ''}`")
        if not x["publisher_alive"]:
            md.append(f"- {name}: the publisher had exited by the end of the window.")
    out = {"source_mbit_per_s": source_mbit, "bitrate": args.bitrate, "players": args.players,
           "warmup_s": args.warmup, "duration_s": args.duration, "reference_nginx_cpu_s_per_player_minute":
           REFERENCE_NGINX, "ratio_dragon_to_nginx": ratio, "goal": "ratio <= 1.0", "results": results,
           "nginx_version": nginx_version, "ffmpeg_version": ffmpeg_version, "cores": os.cpu_count()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".md").write_text("\n".join(md) + "\n")
    Path(args.out + ".json").write_text(json.dumps(out, indent=2) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
