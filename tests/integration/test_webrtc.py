"""WebRTC egress over WHEP against the real binary, real FFmpeg and independent WebRTC stacks
(aiortc from Debian; Chromium in tests/browser). Loopback only: the server announces 127.0.0.1."""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, free_port, request
from test_processes import wait_for

AIORTC_PYTHON = "/usr/bin/python3"
CLIENT = REPO / "tests" / "peers" / "whep_aiortc_client.py"
SDP_DIR = REPO / "tests" / "data" / "sdp"  # copies of ../shared/testdata/sdp


def webrtc_env(extra=None):
    env = {
        "CORE_WEBRTC_ADDRESS": f"127.0.0.1:{free_port_udp()}",
        "CORE_WEBRTC_PUBLIC_IPS": "127.0.0.1",
        "CORE_WEBRTC_RTP_PORT_MIN": str(base_rtp_port()),
        "CORE_WEBRTC_RTP_PORT_MAX": str(base_rtp_port() + 199),
        "CORE_METRICS_ENABLE_PROMETHEUS": "true",
    }
    env.update(extra or {})
    return env


def free_port_udp():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_rtp_base = [30000 + (os.getpid() % 50) * 400]


def base_rtp_port():
    return _rtp_base[0]


def webrtc_process(pid, video_input=None, audio=True, webrtc=None, extra=None):
    inputs = [video_input or {"id": "video", "address": "testsrc2=size=640x360:rate=25", "options": ["-re", "-f", "lavfi"]}]
    if audio:
        inputs.append({"id": "audio", "address": "sine=frequency=440:sample_rate=48000", "options": ["-re", "-f", "lavfi"]})
    cfg = {
        "id": pid,
        "input": inputs,
        # The WebRTC legs are added by dragon-core; this output only keeps FFmpeg's own output busy.
        "output": [{"id": "null", "address": "-", "options": ["-map", "0:v", "-c:v", "copy", "-f", "null"]}],
        "options": ["-loglevel", "level+info"],
        "reconnect": True,
        "reconnect_delay_seconds": 1,
        "autostart": True,
        "stale_timeout_seconds": 30,
        "webrtc": webrtc or {"enabled": True},
    }
    cfg.update(extra or {})
    return cfg



def aiortc(url, token, *args, timeout=60):
    p = subprocess.run([AIORTC_PYTHON, str(CLIENT), "--url", url, "--token", token, *args],
                       capture_output=True, text=True, timeout=timeout)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, f"aiortc client printed nothing (exit {p.returncode}):\n{p.stderr[-3000:]}"
    return json.loads(lines[-1])


@pytest.fixture
def webrtc_server(make_server):
    return make_server(env=webrtc_env())


def start_process(server, token, cfg):
    r = server.post("/api/v3/process", cfg, token=token)
    assert r.status == 200, r.body
    assert wait_for(lambda: server.get(f"/api/v3/process/{cfg['id']}/state", token=token).json()["exec"] == "running", 15)


def test_aiortc_receives_video_and_audio_then_delete_tears_down(webrtc_server):
    s = webrtc_server
    token = s.token()
    start_process(s, token, webrtc_process("wrtc"))
    res = aiortc(s.base + "/api/v3/whep/wrtc", token, "--frames", "100", "--audio-frames", "50")
    assert res["ok"], res
    assert res["video_frames"] >= 100 and res["audio_frames"] >= 50
    assert res["video_codec"].startswith("H264/90000"), res
    assert "packetization-mode=1" in res["video_codec"]
    assert res["audio_codec"].startswith("opus/48000/2"), res
    assert res["deleted"] == 204
    st = s.get("/api/v3/process/wrtc/state", token=token).json()
    assert st["webrtc"]["viewers"] == 0
    assert st["webrtc"]["video"]["keyframes"] > 0
    # The legs are in the command the state reports.
    assert any(a.startswith("rtp://127.0.0.1:") for a in st["command"])
    assert "libopus" in st["command"]


def test_copied_h264_input_and_a_process_without_audio(webrtc_server, tmp_path):
    s = webrtc_server
    token = s.token()
    clip = tmp_path / "baseline.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
                    "-t", "8", "-c:v", "libx264", "-profile:v", "baseline", "-g", "100", "-pix_fmt", "yuv420p",
                    "-y", str(clip)], check=True)
    video_input = {"id": "video", "address": str(clip), "options": ["-re", "-stream_loop", "-1"]}
    start_process(s, token, webrtc_process("copy", video_input=video_input, audio=False))
    # Held past the clip's loop (8 s): FFmpeg must keep sending video when -stream_loop wraps.
    res = aiortc(s.base + "/api/v3/whep/copy", token, "--frames", "60", "--audio-frames", "0", "--hold", "9")
    assert res["ok"], res
    assert res["video_frames_last_3s"] > 20, res
    assert res["audio_codec"] is None  # rejected m-line: the process has no audio
    st = s.get("/api/v3/process/copy/state", token=token).json()
    cmd = st["command"]
    leg = cmd.index("rtp://127.0.0.1:%d?pkt_size=1200&rtcpport=%d" % (st["webrtc"]["ports"]["video"],
                                                                     st["webrtc"]["ports"]["video"] + 1))
    assert cmd[leg - 6:leg - 4] == ["-c:v", "copy"], cmd
    assert "-sdp_file" in cmd  # SPS/PPS of the MP4 come from FFmpeg's SDP
    assert st["webrtc"]["video"]["profile_level_id"].startswith("42")


def offer_file(name):
    return (SDP_DIR / name).read_bytes().decode()


def whep_post(server, pid, sdp, token=None, content_type="application/sdp", headers=None):
    h = {"Content-Type": content_type}
    h.update(headers or {})
    return request("POST", server.base + f"/api/v3/whep/{pid}", sdp, headers=h, token=token)


def test_error_matrix(make_server):
    s = make_server(env=webrtc_env({"CORE_WEBRTC_MAX_VIEWERS": "2", "CORE_WEBRTC_ICE_TIMEOUT_SECONDS": "2",
                                    "CORE_WEBRTC_TOKEN": "viewer-secret"}))
    token = s.token()
    chromium = offer_file("chromium-156-linux-recvonly.sdp")
    start_process(s, token, webrtc_process("live"))
    plain = webrtc_process("plain", webrtc={"enabled": False})
    assert s.post("/api/v3/process", plain, token=token).status == 200
    stopped = webrtc_process("stopped", extra={"autostart": False})
    assert s.post("/api/v3/process", stopped, token=token).status == 200

    # 401 without a token or with a wrong one; the viewer token works instead of a JWT.
    assert whep_post(s, "live", chromium).status == 401
    assert whep_post(s, "live", chromium, token="wrong").status == 401
    # 415: not application/sdp.
    r = whep_post(s, "live", chromium, token=token, content_type="application/json")
    assert r.status == 415 and b"application/sdp" in r.body
    # 400: malformed SDP, with what was wrong.
    r = whep_post(s, "live", "v=0\r\nthis is not sdp\r\n", token=token)
    assert r.status == 400 and b"SDP" in r.body, r.body
    # 404: unknown process, WebRTC off, process stopped.
    r = whep_post(s, "nope", chromium, token=token)
    assert r.status == 404 and b"nope" in r.body
    r = whep_post(s, "plain", chromium, token=token)
    assert r.status == 404 and b"WebRTC" in r.body
    r = whep_post(s, "stopped", chromium, token=token)
    assert r.status == 404 and b"not running" in r.body, r.body
    # 406: Firefox without H.264 offers nothing we can send; the body says what it offered.
    r = whep_post(s, "live", offer_file("firefox-esr-153-linux-no-h264-recvonly.sdp"), token=token)
    assert r.status == 406 and b"VP8" in r.body and b"H264" in r.body, r.body

    # 201 with the viewer token: Location, ETag, CORS exposure.
    r = whep_post(s, "live", chromium, token="viewer-secret", headers={"Origin": "http://example.test"})
    assert r.status == 201, r.body
    assert r.headers["Content-Type"].startswith("application/sdp")
    location, etag = r.headers["Location"], r.headers["ETag"]
    assert location.startswith("/api/v3/whep/live/") and len(location.rsplit("/", 1)[1]) >= 32
    assert "Location" in r.headers["Access-Control-Expose-Headers"]
    answer = r.body.decode()
    for line in ("a=ice-lite", "a=setup:passive", "a=rtcp-mux", "a=fingerprint:sha-256 ", "a=group:BUNDLE",
                 "a=end-of-candidates", "127.0.0.1"):
        assert line in answer, line
    assert "actpass" not in answer

    # 412: PATCH with a stale If-Match; 204 with the right one (trickle candidates).
    frag = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwxyz\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" \
           "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n"
    url = s.base + location
    r = request("PATCH", url, frag, headers={"Content-Type": "application/trickle-ice-sdpfrag", "If-Match": '"stale"'})
    assert r.status == 412, r.body
    # 503 at the viewer cap (2): the session above plus one more, then refused.
    assert whep_post(s, "live", chromium, token=token).status == 201
    r = whep_post(s, "live", chromium, token=token)
    assert r.status == 503 and b"max_viewers" in r.body, r.body
    # 504: PATCH after ICE did not complete within webrtc.ice_timeout_seconds (2 s).
    time.sleep(3)
    r = request("PATCH", url, frag, headers={"Content-Type": "application/trickle-ice-sdpfrag", "If-Match": etag})
    assert r.status == 504 and b"ICE" in r.body, r.body
    # DELETE is idempotent: 204 twice, also for a session that timed out.
    assert request("DELETE", url).status == 204
    assert request("DELETE", url).status == 204
    # 405 for other methods on WHEP routes.
    assert s.get("/api/v3/whep/live", token=token).status == 405
    assert request("PUT", url, "x", token=token).status == 405
    # CORS preflight on both routes, with Accept-Post on the endpoint.
    pre = {"Origin": "http://example.test", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type"}
    r = request("OPTIONS", s.base + "/api/v3/whep/live", headers=pre)
    assert r.status == 204
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert r.headers["Accept-Post"] == "application/sdp"
    r = request("OPTIONS", url, headers=dict(pre, **{"Access-Control-Request-Method": "PATCH"}))
    assert r.status == 204 and "PATCH" in r.headers["Access-Control-Allow-Methods"]
    assert "If-Match" in r.headers["Access-Control-Allow-Headers"]
    # Nothing broke: the server still serves.
    assert s.get("/api/v3/process/live/state", token=token).json()["exec"] == "running"


def test_three_viewers_one_killed_without_delete(make_server):
    # Consent checks come every 5 s (aioice, browsers): expiry must be longer than that.
    s = make_server(env=webrtc_env({"CORE_WEBRTC_ICE_TIMEOUT_SECONDS": "8"}))
    token = s.token()
    start_process(s, token, webrtc_process("three"))
    url = s.base + "/api/v3/whep/three"
    procs = [subprocess.Popen([AIORTC_PYTHON, str(CLIENT), "--url", url, "--token", token, "--frames", "25",
                               "--audio-frames", "0", "--hold", "20", "--timeout", "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    # All three play, then one dies without DELETE.
    for p in procs:
        line = p.stdout.readline()
        assert '"holding": true' in line, line + p.stderr.read()[-2000:] if p.poll() is not None else line
    assert wait_for(lambda: s.get("/api/v3/process/three/state", token=token).json()["webrtc"]["viewers"] == 3, 5)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    before = {v["resource"]: v["packets"] for v in
              s.get("/api/v3/process/three/state", token=token).json()["webrtc"]["viewer_list"]}
    # Gone within the consent timeout (8 s) plus a housekeeping tick; the other two keep receiving.
    assert wait_for(lambda: s.get("/api/v3/process/three/state", token=token).json()["webrtc"]["viewers"] == 2, 12)
    after = s.get("/api/v3/process/three/state", token=token).json()["webrtc"]["viewer_list"]
    assert len(after) == 2
    for v in after:
        assert v["packets"] > before[v["resource"]], (before, after)
    # The viewers are sessions of the "webrtc" collector, referenced by the process id.
    active = s.get("/api/v3/session/active?collectors=webrtc", token=token).json()["webrtc"]
    assert len(active) == 2 and all(a["reference"] == "three" for a in active), active
    m = s.get("/metrics").body.decode()
    assert re.search(r'dragonfork_webrtc_sessions_ended_total\{[^}]*reason="consent_expired"\} 1\n', m), m
    assert re.search(r'dragonfork_webrtc_sessions_active\{[^}]*\} 2\n', m), m
    for p in procs[1:]:
        out, err = p.communicate(timeout=30)
        res = json.loads(out.strip().splitlines()[-1])
        assert res["ok"] and res["deleted"] == 204, (res, err[-2000:])


def test_restart_resumes_media_and_stop_tears_viewers_down(make_server):
    s = make_server(env=webrtc_env())
    token = s.token()
    start_process(s, token, webrtc_process("life"))
    url = s.base + "/api/v3/whep/life"
    viewer = subprocess.Popen([AIORTC_PYTHON, str(CLIENT), "--url", url, "--token", token, "--frames", "25",
                               "--audio-frames", "0", "--hold", "10", "--no-delete"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = viewer.stdout.readline()
    assert '"holding": true' in line, line + viewer.stderr.read()[-2000:]
    st = s.get("/api/v3/process/life/state", token=token).json()
    resource = st["webrtc"]["viewer_list"][0]["resource"]
    old_ports = st["webrtc"]["ports"]
    # A restart is a new FFmpeg run (new SSRC, sequence, timestamps): the viewer keeps its session.
    assert s.put("/api/v3/process/life/command", {"command": "restart"}, token=token).status == 200
    assert wait_for(lambda: s.get("/api/v3/process/life/state", token=token).json()["webrtc"]["video"]["sources"] >= 2, 8)
    st = s.get("/api/v3/process/life/state", token=token).json()
    assert st["webrtc"]["ports"] == old_ports  # two FFmpeg runs fed the same ports and track
    assert [v["resource"] for v in st["webrtc"]["viewer_list"]] == [resource]
    out, err = viewer.communicate(timeout=40)
    res = json.loads(out.strip().splitlines()[-1])
    assert res["video_frames_last_3s"] > 20, (res, err[-2000:])  # still playing at the end of the hold

    # Stop: viewers are torn down (RTCP BYE) and their session URLs answer 404.
    post = whep_post(s, "life", offer_file("chromium-156-linux-recvonly.sdp"), token=token)
    assert post.status == 201
    assert s.put("/api/v3/process/life/command", {"command": "stop"}, token=token).status == 200
    frag = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwxyz\r\n"
    r = request("PATCH", s.base + post.headers["Location"], frag,
                headers={"Content-Type": "application/trickle-ice-sdpfrag"})
    assert r.status == 404, r.body
    r = whep_post(s, "life", offer_file("chromium-156-linux-recvonly.sdp"), token=token)
    assert r.status == 404
    m = s.get("/metrics").body.decode()
    assert re.search(r'dragonfork_webrtc_sessions_ended_total\{[^}]*reason="process_stopped"\} 1\n', m), m


def test_garbage_datagrams_at_the_webrtc_port_do_not_disturb_a_viewer(make_server):
    import random
    import socket
    env = webrtc_env()
    s = make_server(env=env)
    token = s.token()
    start_process(s, token, webrtc_process("noise"))
    host, port = env["CORE_WEBRTC_ADDRESS"].split(":")
    viewer = subprocess.Popen([AIORTC_PYTHON, str(CLIENT), "--url", s.base + "/api/v3/whep/noise", "--token", token,
                               "--frames", "25", "--audio-frames", "0", "--hold", "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = viewer.stdout.readline()
    assert '"holding": true' in line, line + viewer.stderr.read()[-2000:]
    rng = random.Random(7)
    sent = 0
    deadline = time.time() + 30
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        while time.time() < deadline:
            # Random bytes, and random bytes that look like STUN, DTLS and SRTP(C) to the demultiplexer.
            for first in (None, 0x00, 0x16, 0x80, 0x81, 0xC8):
                data = bytearray(rng.randbytes(rng.randint(1, 1400)))
                if first is not None:
                    data[0] = first
                if first == 0x00 and len(data) >= 20:
                    data[4:8] = b"\x21\x12\xa4\x42"
                sock.sendto(bytes(data), (host, int(port)))
                sent += 1
            time.sleep(0.002)
    out, err = viewer.communicate(timeout=60)
    res = json.loads(out.strip().splitlines()[-1])
    assert res["video_frames_last_3s"] > 20, (res, err[-2000:])
    assert sent > 10000
    assert s.get("/api/v3/process/noise/state", token=token).json()["exec"] == "running"


def test_chromium_plays_in_whep_player(make_server):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (scripts/install-deps.sh --tests)")
    if not (REPO / "web" / "node_modules" / "playwright-core").exists():
        pytest.skip("npm playwright-core missing (scripts/install-deps.sh runs npm ci in web/)")
    s = make_server(env=webrtc_env())
    token = s.token()
    start_process(s, token, webrtc_process("browser"))
    p = subprocess.run(["node", str(REPO / "tests" / "browser" / "whep_chromium.mjs"), "--base", s.base,
                        "--whep", "/api/v3/whep/browser", "--token", token, "--seconds", "30", "--frames", "50"],
                       capture_output=True, text=True, timeout=120)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, p.stdout + p.stderr[-3000:]
    res = json.loads(lines[-1])
    assert res["ok"], res
    assert res["framesDecoded"] >= 50 and res["audioSamples"] > 0, res
    assert "H264" in res["videoCodec"]["mimeType"] and "opus" in res["audioCodec"]["mimeType"].lower(), res


def test_copied_video_with_b_frames_switches_to_transcoding(webrtc_server, tmp_path):
    s = webrtc_server
    token = s.token()
    clip = tmp_path / "main-bframes.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
                    "-t", "6", "-c:v", "libx264", "-profile:v", "main", "-bf", "2", "-g", "50", "-pix_fmt", "yuv420p",
                    "-y", str(clip)], check=True)
    video_input = {"id": "video", "address": str(clip), "options": ["-re", "-stream_loop", "-1"]}
    start_process(s, token, webrtc_process("bframes", video_input=video_input, audio=False))
    # Planned as a copy (H.264 Main), then the ingest finds B-slices and FFmpeg is restarted to transcode.
    assert wait_for(lambda: "libx264" in s.get("/api/v3/process/bframes/state", token=token).json()["command"], 15), \
        s.get("/api/v3/process/bframes/state", token=token).json()["command"]
    assert wait_for(lambda: s.get("/api/v3/process/bframes/state", token=token).json()["exec"] == "running", 10)
    res = aiortc(s.base + "/api/v3/whep/bframes", token, "--frames", "50", "--audio-frames", "0")
    assert res["ok"], res
    assert "profile-level-id=42" in res["video_codec"], res
