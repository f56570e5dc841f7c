#!/usr/bin/env python3
"""Runs whep-load against a dragon-core it starts itself, on loopback only.

Starts the given dragon-core binary with a fresh config and data dir (WebRTC on 127.0.0.1, Prometheus
metrics on), creates --processes processes with WebRTC enabled, runs the whep-load binary against them
with --server-pid, and stops the server. The source is either lavfi testsrc2+sine (transcoded by
dragon-core's leg) or, with --bitrate, a pre-encoded H.264 Constrained Baseline clip at that bitrate that
the leg copies (what "a 2 Mbps process" means in issue 9).

  python3 tools/whep-load/run_local.py --bin build-release/src/dragon-core --viewers 100 \
      --ramp 5 --duration 10m --bitrate 2M --out docs/load/100-viewers
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None, token=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="dragon-core binary")
    ap.add_argument("--whep-load", default=str(HERE / "whep-load"), help="whep-load binary (built if missing)")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--bitrate", default="", help="e.g. 2M: loop a pre-encoded H.264 baseline clip at this bitrate (copied leg)")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--out", default="whep-load-report")
    ap.add_argument("--keep", action="store_true", help="keep the server's temp dir")
    args, rest = ap.parse_known_args()  # the rest (--viewers, --duration, --ramp, ...) goes to whep-load

    wl = Path(args.whep_load)
    if not wl.exists():
        subprocess.run(["go", "build", "-o", str(wl), "."], cwd=HERE, check=True)

    tmp = Path(tempfile.mkdtemp(prefix="whep-load-"))
    port, udp = free_port(), free_port(socket.SOCK_DGRAM)
    rtp_base = 40000 + (os.getpid() % 100) * 100
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp),
        "CORE_CONFIGFILE": str(tmp / "config" / "config.json"), "CORE_ADDRESS": f"127.0.0.1:{port}",
        "CORE_DB_DIR": str(tmp / "db"), "CORE_STORAGE_DISK_DIR": str(tmp / "data"),
        "CORE_WEBRTC_ADDRESS": f"127.0.0.1:{udp}", "CORE_WEBRTC_PUBLIC_IPS": "127.0.0.1",
        "CORE_WEBRTC_RTP_PORT_MIN": str(rtp_base), "CORE_WEBRTC_RTP_PORT_MAX": str(rtp_base + 99),
        "CORE_METRICS_ENABLE_PROMETHEUS": "true",
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
    }
    base = f"http://127.0.0.1:{port}"
    stderr = open(tmp / "server.log", "wb")
    srv = subprocess.Popen([str(Path(args.bin).resolve())], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    code = 1
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if srv.poll() is not None:
                sys.exit(f"dragon-core exited with {srv.returncode}; see {tmp}/server.log")
            try:
                if call("GET", base + "/ping", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        log = (tmp / "server.log").read_text(errors="replace")
        m = re.search(r"password: (\S+)", log)
        password = m.group(1) if m else json.loads((tmp / "config" / "config.json").read_text())["api"]["auth"]["password"]
        st, body = call("POST", base + "/api/login", {"username": "admin", "password": password})
        assert st == 200, body
        token = json.loads(body)["access_token"]

        if args.bitrate:
            clip = tmp / "clip.mp4"
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                            f"testsrc2=size={args.size}:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                            "-t", "20", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "baseline", "-pix_fmt", "yuv420p",
                            "-b:v", args.bitrate, "-maxrate", args.bitrate, "-bufsize", args.bitrate, "-g", "60", "-bf", "0",
                            "-c:a", "aac", "-y", str(clip)], check=True)
            inputs = [{"id": "in", "address": str(clip), "options": ["-re", "-stream_loop", "-1"]}]
        else:
            inputs = [{"id": "video", "address": f"testsrc2=size={args.size}:rate=30", "options": ["-re", "-f", "lavfi"]},
                      {"id": "audio", "address": "sine=frequency=440:sample_rate=48000", "options": ["-re", "-f", "lavfi"]}]
        urls = []
        for i in range(args.processes):
            pid = f"load{i}"
            cfg = {"id": pid, "input": inputs,
                   "output": [{"id": "null", "address": "-", "options": ["-map", "0:v", "-c:v", "copy", "-f", "null"]}],
                   "options": ["-loglevel", "level+info"], "reconnect": True, "reconnect_delay_seconds": 1,
                   "autostart": True, "stale_timeout_seconds": 30, "webrtc": {"enabled": True}}
            st, body = call("POST", base + "/api/v3/process", cfg, token)
            assert st == 200, body
            urls.append(f"{base}/api/v3/whep/{pid}")
        # Running, and the leg has produced a keyframe (POST answers 503 before media).
        deadline = time.time() + 60
        for pid in (f"load{i}" for i in range(args.processes)):
            while time.time() < deadline:
                st, body = call("GET", f"{base}/api/v3/process/{pid}/state", token=token)
                s = json.loads(body) if st == 200 else {}
                if s.get("exec") == "running" and ((s.get("webrtc") or {}).get("video") or {}).get("keyframes", 0) > 0:
                    break
                time.sleep(0.25)
        cmd = [str(wl), "--url", ",".join(urls), "--token", token, "--server-pid", str(srv.pid), "--out", args.out, *rest]
        print("+", " ".join(c if c != token else "<token>" for c in cmd), file=sys.stderr, flush=True)
        code = subprocess.run(cmd).returncode
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            rc = srv.wait(60)
        except subprocess.TimeoutExpired:
            srv.kill()
            rc = srv.wait()
        print(f"dragon-core exited with {rc}; log: {tmp}/server.log", file=sys.stderr)
        if rc != 0:
            code = code or 4
    sys.exit(code)


if __name__ == "__main__":
    main()
