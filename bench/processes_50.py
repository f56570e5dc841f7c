#!/usr/bin/env python3
"""dragon-core's own CPU and memory while supervising N running FFmpeg processes, as upstream was
measured in ../shared/research/upstream-measured.md (50 × testsrc2 160x90@10 → libx264 ultrafast →
HLS PUT into {memfs} with a purge_on_delete cleanup rule, -loglevel info).

Usage: bench/processes_50.py [--bin build-release/src/dragon-core] [--count 50] [--window 60]
Writes bench/reports/processes_50.md. Run on an otherwise idle machine."""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = {(10, False): 2.25, (10, True): 2.22, (50, False): 9.2, (50, True): 10.2}  # % of one core


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, token=None, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def proc_cpu_rss_threads(pid):
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS")).split()[1]) * 1024
    threads = int(next(l for l in status.splitlines() if l.startswith("Threads")).split()[1])
    return cpu, rss, threads


def measure(pid, window, poll=None):
    stop = threading.Event()
    if poll:
        t = threading.Thread(target=lambda: [poll() or stop.wait(1.0) for _ in iter(stop.is_set, True)], daemon=True)
        t.start()
    c0, _, _ = proc_cpu_rss_threads(pid)
    t0 = time.time()
    rss = []
    threads = 0
    while time.time() - t0 < window:
        time.sleep(1)
        _, r, threads = proc_cpu_rss_threads(pid)
        rss.append(r)
    c1, _, _ = proc_cpu_rss_threads(pid)
    stop.set()
    return {"cpu_pct": (c1 - c0) / (time.time() - t0) * 100, "rss_min": min(rss), "rss_mean": sum(rss) / len(rss),
            "rss_max": max(rss), "threads": threads}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "build-release" / "src" / "dragon-core"))
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--window", type=int, default=60)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    tmp = tempfile.mkdtemp(prefix="dragon-bench-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PATH": os.environ["PATH"], "HOME": tmp, "CORE_CONFIGFILE": f"{tmp}/config/config.json",
           "CORE_ADDRESS": f"127.0.0.1:{port}", "CORE_DB_DIR": f"{tmp}/db", "CORE_STORAGE_DISK_DIR": f"{tmp}/data",
           "CORE_API_AUTH_PASSWORD": "bench-password", "CORE_LOG_LEVEL": "warn"}
    server = subprocess.Popen([args.bin], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/ping", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        token = call(base, "POST", "/api/login", body={"username": "admin", "password": "bench-password"})["access_token"]
        idle = measure(server.pid, 10)
        for i in range(args.count):
            pid = f"bench{i:02d}"
            call(base, "POST", "/api/v3/process", token, {
                "id": pid, "autostart": True, "reconnect": True, "reconnect_delay_seconds": 5,
                "stale_timeout_seconds": 30, "options": ["-loglevel", "info"],
                "input": [{"id": "in", "address": "testsrc2=size=160x90:rate=10", "options": ["-re", "-f", "lavfi"]}],
                "output": [{"id": "out", "address": "{memfs}/{processid}.m3u8", "options": [
                    "-c:v", "libx264", "-preset", "ultrafast", "-f", "hls", "-hls_time", "2", "-hls_list_size", "6",
                    "-hls_flags", "delete_segments", "-method", "PUT", "-hls_segment_filename",
                    "{memfs}/{processid}_%04d.ts"],
                    "cleanup": [{"pattern": "memfs:/{processid}*", "purge_on_delete": True}]}]})
        time.sleep(10)  # all started and writing
        states = call(base, "GET", "/api/v3/process?filter=state", token)
        running = sum(1 for p in states if p["state"]["exec"] == "running")
        quiet = measure(server.pid, args.window)

        def ui_poll():  # what the Restreamer UI asks every second or two
            call(base, "GET", "/api/v3/process?filter=state", token)
            for p in range(0, args.count, 10):
                call(base, "GET", f"/api/v3/process/bench{p:02d}/state", token)
            call(base, "GET", "/api/v3/fs/mem", token)

        polled = measure(server.pid, args.window, ui_poll)
        states = call(base, "GET", "/api/v3/process?filter=state", token)
        running_end = sum(1 for p in states if p["state"]["exec"] == "running")
        restarts = sum(1 for p in call(base, "GET", "/api/v3/process?filter=report", token) if p["report"]["history"])
        files = len(call(base, "GET", "/api/v3/fs/mem", token))
        for i in range(args.count):
            call(base, "DELETE", f"/api/v3/process/bench{i:02d}", token)
        left = len(call(base, "GET", "/api/v3/fs/mem", token))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        shutil.rmtree(tmp, ignore_errors=True)

    mb = lambda b: b / 1024 / 1024
    up_q, up_p = UPSTREAM.get((args.count, False)), UPSTREAM.get((args.count, True))
    ratio = lambda ours, up: f"{ours / up:.2f}×" if up else "n/a"
    report = f"""# Supervising {args.count} FFmpeg processes

Command: `bench/processes_50.py --count {args.count} --window {args.window}` (optimised build, {os.cpu_count()} cores,
FFmpeg children share the machine). Each process: `-re -f lavfi testsrc2=160x90:rate=10`, libx264
ultrafast, HLS with `-method PUT` into `{{memfs}}` (2 s segments), cleanup rule with `purge_on_delete`,
`-loglevel info`. Server's own CPU only (children excluded), {args.window} s windows.

| | server CPU (% of one core) | per process per second | RSS MB min / mean / max | threads | upstream Core 16.16 (same load) | ratio |
|---|---|---|---|---|---|---|
| idle, no processes (10 s) | {idle['cpu_pct']:.2f} | | {mb(idle['rss_min']):.1f} / {mb(idle['rss_mean']):.1f} / {mb(idle['rss_max']):.1f} | {idle['threads']} | 0.17 | {ratio(idle['cpu_pct'], 0.17)} |
| {args.count} running, no polling | {quiet['cpu_pct']:.2f} | {quiet['cpu_pct'] * 10 / args.count:.2f} ms | {mb(quiet['rss_min']):.1f} / {mb(quiet['rss_mean']):.1f} / {mb(quiet['rss_max']):.1f} | {quiet['threads']} | {up_q} | {ratio(quiet['cpu_pct'], up_q)} |
| {args.count} running, UI-like polling | {polled['cpu_pct']:.2f} | {polled['cpu_pct'] * 10 / args.count:.2f} ms | {mb(polled['rss_min']):.1f} / {mb(polled['rss_mean']):.1f} / {mb(polled['rss_max']):.1f} | {polled['threads']} | {up_p} | {ratio(polled['cpu_pct'], up_p)} |

Running after start: {running}/{args.count}; at the end: {running_end}/{args.count}; processes with a restart in
their history: {restarts}. memfs files while running: {files}; after deleting all processes: {left}.
Upstream figures: ../shared/research/upstream-measured.md (60 s windows, same machine kind).
"""
    out = REPO / "bench" / "reports" / f"processes_{args.count}.md"
    out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
