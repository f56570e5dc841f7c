#!/usr/bin/env python3
"""HTTP foundation benchmark: wrk against /ping and GET /api (with a token) on an optimised build,
and whether 1,000 idle keep-alive connections delay new requests.

Usage: bench/http_foundation.py [--bin build-release/src/dragon-core] [--duration 10]
Writes bench/reports/http_foundation.md and prints it. Run on an otherwise idle machine."""
import argparse
import resource
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
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, tmp):
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": tmp, "CORE_CONFIGFILE": f"{tmp}/config/config.json",
           "CORE_ADDRESS": f"127.0.0.1:{port}", "CORE_DB_DIR": f"{tmp}/db", "CORE_STORAGE_DISK_DIR": f"{tmp}/data",
           "CORE_API_AUTH_PASSWORD": "bench-password", "CORE_LOG_LEVEL": "warn"}
    proc = subprocess.Popen([binary], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/ping", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return proc, base, port


def token(base):
    req = urllib.request.Request(base + "/api/login", method="POST",
                                 data=json.dumps({"username": "admin", "password": "bench-password"}).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))["access_token"]


def wrk(url, duration, connections=50, threads=2, header=None):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if header:
        cmd[1:1] = ["-H", header]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    to_ms = lambda m: float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": to_ms(p50), "p99_ms": to_ms(p99), "non2xx": int(errors.group(1)) if errors else 0}


def new_connection_latencies(port, n=300):
    """Wall time of n sequential requests, each on a fresh connection."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            buf = b""
            while b"pong" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        out.append((time.perf_counter() - t0) * 1000)
    out.sort()
    return {"p50_ms": statistics.median(out), "p99_ms": out[int(len(out) * 0.99) - 1], "max_ms": out[-1]}


def open_idle(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    for s in socks:
        buf = b""
        while b"pong" not in buf:
            buf += s.recv(4096)
    return socks


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "build-release" / "src" / "dragon-core"))
    ap.add_argument("--duration", type=int, default=10)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing (apt-get install wrk)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    tmp = tempfile.mkdtemp(prefix="dragon-bench-")
    proc, base, port = start_server(args.bin, tmp)
    try:
        tok = token(base)
        wrk(base + "/ping", 2)  # warm-up
        c0 = cpu_seconds(proc.pid)
        ping = wrk(base + "/ping", args.duration)
        c1 = cpu_seconds(proc.pid)
        about = wrk(base + "/api", args.duration, header=f"Authorization: Bearer {tok}")
        c2 = cpu_seconds(proc.pid)
        ping["cpu_us_per_req"] = (c1 - c0) / (ping["rps"] * args.duration) * 1e6
        about["cpu_us_per_req"] = (c2 - c1) / (about["rps"] * args.duration) * 1e6
        before = new_connection_latencies(port)
        idle = open_idle(port, 1000)
        rss_kb = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{proc.pid}/status").read_text()).group(1))
        with_idle = new_connection_latencies(port)
        ping_idle = wrk(base + "/ping", args.duration)
        still_open = sum(1 for s in idle if s.fileno() >= 0)
        for s in idle:
            s.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)

    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True,
                         text=True).stdout.strip()
    report = f"""# HTTP foundation benchmark

Machine: {os.cpu_count()} cores ({cpu}); server and wrk share it. Command: `bench/http_foundation.py`
(optimised build `build-release`, wrk -t2 -c50, {args.duration} s per run, loopback, log level warn).

| target | req/s | p50 | p99 | server CPU per request | non-2xx |
|---|---|---|---|---|---|
| `GET /ping` | {ping['rps']:,.0f} | {ping['p50_ms']:.2f} ms | {ping['p99_ms']:.2f} ms | {ping['cpu_us_per_req']:.1f} µs | {ping['non2xx']} |
| `GET /api` with token (JWT verified per request) | {about['rps']:,.0f} | {about['p50_ms']:.2f} ms | {about['p99_ms']:.2f} ms | {about['cpu_us_per_req']:.1f} µs | {about['non2xx']} |
| `GET /ping` with 1,000 idle keep-alive connections open | {ping_idle['rps']:,.0f} | {ping_idle['p50_ms']:.2f} ms | {ping_idle['p99_ms']:.2f} ms | | {ping_idle['non2xx']} |

New connections (300 sequential requests, each on a fresh connection):

| | p50 | p99 | max |
|---|---|---|---|
| no idle connections | {before['p50_ms']:.3f} ms | {before['p99_ms']:.3f} ms | {before['max_ms']:.3f} ms |
| 1,000 idle keep-alive connections open | {with_idle['p50_ms']:.3f} ms | {with_idle['p99_ms']:.3f} ms | {with_idle['max_ms']:.3f} ms |

Server RSS with 1,000 idle connections: {rss_kb / 1024:.1f} MB; idle connections still open at the end: {still_open}.
"""
    out = REPO / "bench" / "reports" / "http_foundation.md"
    out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
