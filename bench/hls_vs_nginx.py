#!/usr/bin/env python3
"""HLS segment and playlist GET throughput: dragon-core serving from memfs vs Debian's nginx serving
the same files from tmpfs, each measured with wrk in the same run on the same machine.

Usage: bench/hls_vs_nginx.py [--bin build-release/src/dragon-core] [--duration 15] [--connections 50]
Needs: wrk, nginx (scripts/install-deps.sh --bench), ffmpeg. Loopback only. Writes
bench/reports/hls_vs_nginx.{md,json}. Figures are reported, not asserted.

The files: a real 2 s MPEG-TS segment (testsrc2 1280x720 libx264 ~3 Mbps + AAC, ~786 kB like upstream-
measured.md's) and its playlist, uploaded to /memfs with PUT and written to a tmpfs directory for nginx.
wrk fetches a rotation of 8 segment names (same bytes) so neither server serves one hot name only.
CPU is the server process's user+system time over the wrk run (nginx: master + its one worker), so
"CPU-seconds per GB" compares the work each server does per byte, independent of wrk's own share of
the 2 cores. nginx runs one worker (as in research/upstream-measured.md); dragon-core its defaults.
"""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from procstats import free_port, cpu_seconds, children

REPO = Path(__file__).resolve().parents[1]
SEGMENTS = 8


def wrk(base, paths, duration, connections, tmp):
    script = Path(tmp) / "rotate.lua"
    script.write_text("local paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
                      "local i = 0\n"
                      "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n")
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    tr = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", out)
    mbps = float(tr.group(1)) * {"B": 1e-6, "KB": 1e-3, "MB": 1, "GB": 1e3}[tr.group(2)] * 8 * 1.048576
    to_ms = lambda m: float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    p50 = to_ms(re.search(r"50%\s+([\d.]+)(us|ms|s)", out))
    p99 = to_ms(re.search(r"99%\s+([\d.]+)(us|ms|s)", out))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "mbit_per_s": round(mbps, 1), "p50_ms": p50, "p99_ms": p99,
            "non2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else ""}


def measure(name, base, paths, pids_fn, duration, connections, tmp, bytes_per_request):
    wrk(base, paths, 2, connections, tmp)  # warm-up
    pids = pids_fn()
    c0 = cpu_seconds(pids)
    r = wrk(base, paths, duration, connections, tmp)
    c1 = cpu_seconds(pids)
    gb = r["rps"] * duration * bytes_per_request / 1e9
    r["cpu_seconds"] = round(c1 - c0, 2)
    r["cpu_seconds_per_gb"] = round((c1 - c0) / gb, 3) if gb > 0 else None
    r["cpu_us_per_request"] = round((c1 - c0) / (r["rps"] * duration) * 1e6, 1) if r["rps"] else None
    print(f"  {name}: {r}", flush=True)
    return r


def make_segment(tmp):
    out = Path(tmp) / "seg.ts"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440", "-t", "2", "-c:v", "libx264", "-preset", "veryfast",
                    "-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "1500k", "-g", "50", "-c:a", "aac",
                    "-f", "mpegts", str(out)], check=True)
    return out.read_bytes()


def playlist():
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:100"]
    for i in range(SEGMENTS):
        lines += ["#EXTINF:2.000000,", f"seg_{i}.ts"]
    return ("\n".join(lines) + "\n").encode()


def start_dragon(binary, tmp):
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": tmp, "CORE_CONFIGFILE": f"{tmp}/config/config.json",
           "CORE_ADDRESS": f"127.0.0.1:{port}", "CORE_DB_DIR": f"{tmp}/db", "CORE_STORAGE_DISK_DIR": f"{tmp}/data",
           "CORE_API_AUTH_PASSWORD": "bench-password", "CORE_LOG_LEVEL": "warn",
           "CORE_STORAGE_MEMORY_AUTH_USERNAME": "bench", "CORE_STORAGE_MEMORY_AUTH_PASSWORD": "bench"}
    proc = subprocess.Popen([binary], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/ping", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return proc, base


def put(base, path, data):
    req = urllib.request.Request(base + path, data=data, method="PUT",
                                 headers={"Authorization": "Basic " + base64.b64encode(b"bench:bench").decode()})
    urllib.request.urlopen(req).read()


def start_nginx(root, tmp):
    port = free_port()
    conf = Path(tmp) / "nginx.conf"
    conf.write_text(f"""daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location / {{ add_header Cache-Control no-cache; }}
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/live.m3u8", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return proc, base


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "build-release" / "src" / "dragon-core"))
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--out", default=str(REPO / "bench" / "reports" / "hls_vs_nginx"))
    args = ap.parse_args()
    for tool in ("wrk", "nginx", "ffmpeg"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (scripts/install-deps.sh --bench)")
    results = {}
    with tempfile.TemporaryDirectory(prefix="hls-bench-") as tmp, \
            tempfile.TemporaryDirectory(prefix="hls-bench-", dir="/dev/shm") as shm:
        os.chmod(shm, 0o755)  # nginx's worker runs as another user
        seg = make_segment(tmp)
        m3u8 = playlist()
        for i in range(SEGMENTS):
            Path(shm, f"seg_{i}.ts").write_bytes(seg)
        Path(shm, "live.m3u8").write_bytes(m3u8)

        dragon, dbase = start_dragon(args.bin, tmp)
        nginx, nbase = start_nginx(shm, tmp)
        try:
            for i in range(SEGMENTS):
                put(dbase, f"/memfs/seg_{i}.ts", seg)
            put(dbase, "/memfs/live.m3u8", m3u8)
            assert urllib.request.urlopen(dbase + "/memfs/seg_0.ts").read() == seg
            assert urllib.request.urlopen(nbase + "/seg_0.ts").read() == seg
            seg_paths = [f"/seg_{i}.ts" for i in range(SEGMENTS)]
            for kind, paths, size in (("segment", seg_paths, len(seg)), ("playlist", ["/live.m3u8"], len(m3u8))):
                print(f"{kind} ({size} bytes), {args.connections} connections, {args.duration} s:", flush=True)
                results[kind] = {
                    "nginx": measure("nginx", nbase, paths, lambda: [nginx.pid, *children(nginx.pid)],
                                     args.duration, args.connections, tmp, size),
                    "dragon": measure("dragon-core", dbase, ["/memfs" + p for p in paths], lambda: [dragon.pid],
                                      args.duration, args.connections, tmp, size),
                    "bytes": size,
                }
                r = results[kind]
                r["rps_ratio"] = round(r["dragon"]["rps"] / r["nginx"]["rps"], 2)
                if r["nginx"]["cpu_seconds_per_gb"] and r["dragon"]["cpu_seconds_per_gb"]:
                    r["cpu_per_gb_ratio"] = round(r["dragon"]["cpu_seconds_per_gb"] / r["nginx"]["cpu_seconds_per_gb"], 2)
        finally:
            for p in (dragon, nginx):
                p.send_signal(signal.SIGTERM if p is dragon else signal.SIGQUIT)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()

    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    md = [f"# HLS GET throughput: dragon-core memfs vs nginx tmpfs",
          "",
          f"Machine: {os.cpu_count()} cores ({cpu.group(1) if cpu else '?'}); servers and wrk share it. "
          f"{nginx_version}, one worker, sendfile on. wrk -t2 -c{args.connections} -d{args.duration}s, "
          f"rotating over {SEGMENTS} segment names. Command: `bench/hls_vs_nginx.py` "
          f"(binary: an optimised build, `ninja -C build-release dragon-core`).",
          "",
          "| file | server | req/s | Mbit/s | p50 ms | p99 ms | CPU s per GB | CPU µs per request | non-2xx |",
          "|---|---|---|---|---|---|---|---|---|"]
    for kind, r in results.items():
        for server in ("nginx", "dragon"):
            x = r[server]
            md.append(f"| {kind} ({r['bytes']} B) | {'dragon-core' if server == 'dragon' else 'nginx'} | {x['rps']:.0f} | "
                      f"{x['mbit_per_s']} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | {x['cpu_seconds_per_gb']} | "
                      f"{x['cpu_us_per_request']} | {x['non2xx']} |")
    md.append("")
    for kind, r in results.items():
        md.append(f"- {kind}: dragon-core / nginx throughput = **{r['rps_ratio']}** (goal ≥ 0.8); "
                  f"CPU per GB dragon-core / nginx = {r.get('cpu_per_gb_ratio')}")
    Path(args.out + ".md").write_text("\n".join(md) + "\n")
    Path(args.out + ".json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
