#!/usr/bin/python3
"""Time to first frame over WHEP, GOP cache on and off, against a process whose WebRTC video leg
copies an H.264 constrained-baseline file with a 4 s GOP (testsrc2 640x360 25 fps, -g 100, plus a
sine AAC track; -re -stream_loop -1, so the leg is "-c:v copy").

Usage: /usr/bin/python3 bench/webrtc_ttff.py [--bin build-release/src/dragon-core] [--joins 20] [--probes 3]
(build the binary first: ninja -C build-release -j1 dragon-core). Loopback only.
Writes bench/reports/webrtc_ttff.{md,json}. Figures are reported, not asserted.

Time to first frame: tests/peers/whep_aiortc_client.py's first_frame_ms (WHEP POST sent → first video
frame decoded by aiortc), one client process per join, joins spread at random phases of the GOP.

Delay behind live, 5 s after joining (--probes joins per mode, an in-process aiortc client): each
decoded frame's RTP timestamp is mapped to the source's wall clock through the sender reports
dragon-core sends (it rebases FFmpeg's SR NTP/RTP pair onto its own timeline; FFmpeg's NTP is its
wall clock), then compared with time.time() at decode. Two figures: "arrival" (the newest frame
decoded by then: what aiortc itself renders, since it has no playout buffer) and "timestamp playout"
(a player that schedules frames by RTP timestamp from the first frame and re-anchors on stalls, as a
browser's jitter buffer roughly does: it shows the 4 s lag a non-compressed GOP burst would cause).
Both include FFmpeg's own SR mapping error and aiortc's decode time.
"""
import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIENT = REPO / "tests" / "peers" / "whep_aiortc_client.py"
NTP_EPOCH = 2208988800


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, body=None, token=None, timeout=15):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Server:
    """dragon-core as tests/integration/conftest.py starts it, with WebRTC on loopback."""

    def __init__(self, binary, tmp, gop_cache):
        self.tmp = Path(tmp)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        rtp_base = 40000 + (os.getpid() % 50) * 200
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.tmp),
            "CORE_CONFIGFILE": str(self.tmp / "config" / "config.json"),
            "CORE_ADDRESS": f"127.0.0.1:{self.port}",
            "CORE_DB_DIR": str(self.tmp / "db"),
            "CORE_STORAGE_DISK_DIR": str(self.tmp / "data"),
            "CORE_WEBRTC_ADDRESS": f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
            "CORE_WEBRTC_PUBLIC_IPS": "127.0.0.1",
            "CORE_WEBRTC_RTP_PORT_MIN": str(rtp_base),
            "CORE_WEBRTC_RTP_PORT_MAX": str(rtp_base + 199),
            "CORE_WEBRTC_GOP_CACHE": "true" if gop_cache else "false",
        }
        self.stderr_path = self.tmp / "stderr.log"
        self.proc = subprocess.Popen([binary], cwd=self.tmp, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.stderr_path, "wb"))
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dragon-core exited:\n" + self.stderr_path.read_text(errors="replace"))
            try:
                if urllib.request.urlopen(self.base + "/ping", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        m = re.search(r"password: (\S+)", self.stderr_path.read_text(errors="replace"))
        password = m.group(1) if m else json.loads((self.tmp / "config" / "config.json").read_text())["api"]["auth"]["password"]
        status, body = request("POST", self.base + "/api/login", {"username": "admin", "password": password})
        assert status == 200, body
        self.token = body["access_token"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def make_clip(path):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "400",
                    "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-bf", "0",
                    "-g", "100", "-keyint_min", "100", "-sc_threshold", "0", "-b:v", "1500k",
                    "-c:a", "aac", "-b:a", "128k", "-shortest", "-y", str(path)], check=True)


def start_process(server, clip):
    cfg = {
        "id": "gop4",
        "input": [{"id": "media", "address": str(clip), "options": ["-re", "-stream_loop", "-1"]}],
        "output": [{"id": "null", "address": "-", "options": ["-map", "0:v", "-c:v", "copy", "-f", "null"]}],
        "options": ["-loglevel", "level+info"],
        "reconnect": True, "reconnect_delay_seconds": 1, "autostart": True, "stale_timeout_seconds": 30,
        "webrtc": {"enabled": True},
    }
    status, body = request("POST", server.base + "/api/v3/process", cfg, server.token)
    assert status == 200, body
    deadline = time.time() + 20
    st = None
    while time.time() < deadline:
        _, st = request("GET", server.base + "/api/v3/process/gop4/state", token=server.token)
        if isinstance(st, dict) and st.get("exec") == "running" and (st.get("webrtc") or {}).get("video", {}).get("keyframes", 0) >= 1:
            break
        time.sleep(0.2)
    else:
        raise RuntimeError(f"process not running with WebRTC keyframes: {st}")
    cmd = st["command"]
    leg = next(i for i, a in enumerate(cmd) if a.startswith("rtp://127.0.0.1:") and i >= 4)
    copy = any(cmd[i:i + 2] == ["-c:v", "copy"] for i in range(max(0, leg - 12), leg))
    return cmd, copy


def join_once(server, timeout=20):
    p = subprocess.run(["/usr/bin/python3", str(CLIENT), "--url", server.base + "/api/v3/whep/gop4", "--token",
                        server.token, "--frames", "1", "--audio-frames", "0", "--timeout", str(timeout)],
                       capture_output=True, text=True, timeout=timeout + 30)
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"client printed nothing (exit {p.returncode}): {p.stderr[-2000:]}")
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------------------------
# Delay behind live (in-process aiortc client).

async def probe_delay(url, token, at=5.0):
    import aioice.ice
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc import rtcrtpreceiver
    from aiortc.rtp import RtcpSrPacket

    srs = []  # (ntp seconds as unix time, rtp timestamp), video and audio mixed: filtered by ssrc below
    orig = rtcrtpreceiver.RTCRtpReceiver._handle_rtcp_packet

    async def patched(self, packet):
        if isinstance(packet, RtcpSrPacket):
            ntp = packet.sender_info.ntp_timestamp
            srs.append((packet.ssrc, (ntp >> 32) - NTP_EPOCH + (ntp & 0xFFFFFFFF) / 2**32,
                        packet.sender_info.rtp_timestamp))
        return await orig(self, packet)

    rtcrtpreceiver.RTCRtpReceiver._handle_rtcp_packet = patched
    # aiortc rebases frame timestamps to the first one it saw; keep the RTP timestamps as sent.
    orig_map = rtcrtpreceiver.TimestampMapper.map
    rtcrtpreceiver.TimestampMapper.map = lambda self, timestamp: timestamp
    frames = []  # (decode wall time, rtp timestamp)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")

    async def consume(track):
        try:
            while True:
                f = await track.recv()
                if track.kind == "video":
                    frames.append((time.time(), f.pts))
        except Exception:
            pass

    pc.on("track", lambda track: asyncio.ensure_future(consume(track)))
    await pc.setLocalDescription(await pc.createOffer())
    loop = asyncio.get_event_loop()

    def post():
        req = urllib.request.Request(url, data=pc.localDescription.sdp.encode(), method="POST",
                                     headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.read().decode(), r.headers.get("Location")

    joined = time.time()
    answer, location = await loop.run_in_executor(None, post)
    video_ssrc = int(re.search(r"m=video.*?a=ssrc:(\d+) ", answer, re.S).group(1))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await asyncio.sleep(at + 1.5)  # frames until join + at, and sender reports after it
    await pc.close()
    try:
        req = urllib.request.Request(urllib.parse.urljoin(url, location), method="DELETE",
                                     headers={"Authorization": f"Bearer {token}"})
        urllib.request.urlopen(req, timeout=5).read()
    except Exception:
        pass
    rtcrtpreceiver.RTCRtpReceiver._handle_rtcp_packet = orig
    rtcrtpreceiver.TimestampMapper.map = orig_map

    video_srs = [(n, r) for s, n, r in srs if s == video_ssrc]
    t = joined + at
    shown = [f for f in frames if f[0] <= t]
    if not shown or not video_srs:
        return {"error": f"frames {len(frames)}, video sender reports {len(video_srs)}"}
    ntp0, rtp0 = video_srs[-1]  # the mapping is stable after the burst; take the latest one

    def content_time(pts):
        d = ((pts - rtp0 + 2**31) % 2**32) - 2**31
        return ntp0 + d / 90000

    arrival = t - content_time(shown[-1][1])
    # A player that schedules by RTP timestamp, anchored at the first frame, re-anchored on stalls.
    anchor = None
    last_pts = None
    unwrapped = 0
    shown_pts = None
    for wall, pts in frames:
        if last_pts is not None:
            unwrapped += ((pts - last_pts + 2**31) % 2**32) - 2**31
        else:
            unwrapped = 0
        last_pts = pts
        due = None if anchor is None else anchor + unwrapped / 90000
        if due is None or wall > due:
            anchor = wall - unwrapped / 90000
            due = wall
        if due <= t:
            shown_pts = pts
    playout = t - content_time(shown_pts)
    first = frames[0][0] - joined
    return {"arrival_delay_ms": round(arrival * 1000), "playout_delay_ms": round(playout * 1000),
            "first_frame_ms": round(first * 1000), "frames": len(frames), "sender_reports": len(video_srs)}


def run_mode(binary, clip, gop_cache, joins, probes, rng):
    with tempfile.TemporaryDirectory(prefix="ttff-") as tmp:
        server = Server(binary, tmp, gop_cache)
        try:
            cmd, copy = start_process(server, clip)
            time.sleep(5)  # past the first 4 s GOP: the cache holds a whole GOP
            results = []
            for i in range(joins):
                time.sleep(rng.uniform(0, 4))  # a random phase of the GOP
                r = join_once(server)
                results.append(r)
                print(f"  gop_cache={gop_cache} join {i + 1}/{joins}: first_frame_ms={r['first_frame_ms']} ok={r['ok']}",
                      file=sys.stderr, flush=True)
            delays = []
            for i in range(probes):
                time.sleep(rng.uniform(0, 4))
                d = asyncio.run(probe_delay(server.base + "/api/v3/whep/gop4", server.token))
                delays.append(d)
                print(f"  gop_cache={gop_cache} delay probe {i + 1}/{probes}: {d}", file=sys.stderr, flush=True)
            _, st = request("GET", server.base + "/api/v3/process/gop4/state", token=server.token)
            packets = st["webrtc"]["video"]["packets"]
            time.sleep(2)
            _, st = request("GET", server.base + "/api/v3/process/gop4/state", token=server.token)
            if st["webrtc"]["video"]["packets"] <= packets:
                print("  WARNING: the video leg stopped sending (see the report)", file=sys.stderr, flush=True)
            return {"gop_cache": gop_cache, "copy": copy, "command": cmd, "joins": results, "delay_probes": delays,
                    "webrtc_state": st.get("webrtc") if isinstance(st, dict) else None}
        finally:
            server.stop()


def summary(mode):
    ms = sorted(r["first_frame_ms"] for r in mode["joins"] if r.get("first_frame_ms") is not None)
    failed = sum(1 for r in mode["joins"] if r.get("first_frame_ms") is None)

    def p90(v):
        return v[min(len(v) - 1, round(0.9 * (len(v) - 1)))] if v else None

    arr = [d["arrival_delay_ms"] for d in mode["delay_probes"] if "arrival_delay_ms" in d]
    play = [d["playout_delay_ms"] for d in mode["delay_probes"] if "playout_delay_ms" in d]
    return {"gop_cache": mode["gop_cache"], "video_copied": mode["copy"], "joins": len(mode["joins"]), "failed": failed,
            "ttff_median_ms": statistics.median(ms) if ms else None, "ttff_p90_ms": p90(ms),
            "ttff_min_ms": ms[0] if ms else None, "ttff_max_ms": ms[-1] if ms else None,
            "delay_probes": len(mode["delay_probes"]),
            "arrival_delay_median_ms": statistics.median(arr) if arr else None,
            "playout_delay_median_ms": statistics.median(play) if play else None,
            "arrival_delay_all_ms": arr, "playout_delay_all_ms": play}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "build-release" / "src" / "dragon-core"))
    ap.add_argument("--joins", type=int, default=20)
    ap.add_argument("--probes", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="ttff-clip-") as d:
        clip = Path(d) / "gop4.mp4"
        make_clip(clip)  # 400 s: the run never reaches the loop point (see the report)
        modes = [run_mode(args.bin, clip, on, args.joins, args.probes, rng) for on in (True, False)]
    sums = [summary(m) for m in modes]
    out = {"benchmark": "webrtc_ttff", "binary": args.bin,
           "source": "testsrc2 640x360 25 fps H.264 constrained baseline, GOP 100 (4 s), sine AAC; -re -stream_loop -1",
           "summary": sums, "runs": modes}
    reports = REPO / "bench" / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "webrtc_ttff.json").write_text(json.dumps(out, indent=2) + "\n")

    def f(v):
        return "–" if v is None else str(v)

    md = ["# WebRTC time to first frame (WHEP POST → first decoded frame), 4 s GOP", "",
          "Command: `ninja -C build-release -j1 dragon-core && /usr/bin/python3 bench/webrtc_ttff.py`", "",
          "Source: testsrc2 640x360 25 fps, H.264 constrained baseline, `-g 100 -keyint_min 100 -sc_threshold 0` "
          "(4 s GOP), sine AAC, played `-re -stream_loop -1` (400 s long, so no run reaches the loop: with ffmpeg 5.1 the leg's `-bsf:v h264_mp4toannexb` stops the video leg at the first loop); dragon-core's video leg copies it (`-c:v copy`: "
          + ", ".join(f"cache {'on' if s['gop_cache'] else 'off'}: {'yes' if s['video_copied'] else 'NO'}" for s in sums)
          + "). Client: tests/peers/whep_aiortc_client.py (aiortc 1.4), one process per join, joins at random GOP "
          "phases. Loopback; 2 shared cores. Reported, not asserted.", "",
          "| webrtc.gop_cache | joins | failed | TTFF median ms | TTFF p90 ms | min | max | delay behind live at +5 s, arrival (median ms) | same, timestamp playout (median ms) |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in sums:
        md.append(f"| {'on' if s['gop_cache'] else 'off'} | {s['joins']} | {s['failed']} | {f(s['ttff_median_ms'])} | "
                  f"{f(s['ttff_p90_ms'])} | {f(s['ttff_min_ms'])} | {f(s['ttff_max_ms'])} | "
                  f"{f(s['arrival_delay_median_ms'])} {s['arrival_delay_all_ms']} | "
                  f"{f(s['playout_delay_median_ms'])} {s['playout_delay_all_ms']} |")
    md += ["", "Delay behind live: each decoded frame's RTP timestamp is mapped to the source's wall clock through "
           "the sender reports dragon-core sends (FFmpeg's SR NTP, rebased onto the viewer's timeline), and compared "
           "with the wall clock 5 s after the POST. *arrival*: the newest frame decoded by then (aiortc renders on "
           "arrival, no playout buffer). *timestamp playout*: a simulated player that schedules frames by RTP "
           "timestamp from the first frame and re-anchors on stalls (what a browser's jitter buffer roughly does; it "
           "would show a 4 s lag if the GOP burst kept its original timestamps). Both include FFmpeg's own NTP↔RTP "
           "mapping error (−re pacing), aiortc's decode time and Python's scheduling; compare the two rows rather "
           "than reading the absolute value as glass-to-glass latency.", ""]
    (reports / "webrtc_ttff.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
