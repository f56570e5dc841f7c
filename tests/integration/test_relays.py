"""The built-in RTMP(S) and SRT servers through the real binary: ffmpeg publishes a test pattern,
ffprobe/ffmpeg play it back, a process re-streams {rtmp,name=...} to HLS, refusals, end of stream,
the API routes, sessions and metrics, and the full upstream shape check with both servers on."""
import json
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import SHARED, free_port
from test_processes import wait_for

TOKEN = "relay-token"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(tmp):
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def relay_server(make_server, tmp_path):
    cert, key = self_signed(tmp_path)
    rtmp, rtmps, srt = free_port(), free_port(), free_udp_port()
    s = make_server(env={
        "CORE_RTMP_ENABLE": "true", "CORE_RTMP_ADDRESS": f"127.0.0.1:{rtmp}", "CORE_RTMP_TOKEN": TOKEN,
        "CORE_RTMP_ENABLE_TLS": "true", "CORE_RTMP_ADDRESS_TLS": f"127.0.0.1:{rtmps}",
        "CORE_TLS_ENABLE": "true", "CORE_TLS_ADDRESS": f"127.0.0.1:{free_port()}",
        "CORE_TLS_CERT_FILE": str(cert), "CORE_TLS_KEY_FILE": str(key),
        "CORE_SRT_ENABLE": "true", "CORE_SRT_ADDRESS": f"127.0.0.1:{srt}", "CORE_SRT_TOKEN": TOKEN,
        "CORE_SESSIONS_IP_IGNORELIST": "", "CORE_METRICS_ENABLE_PROMETHEUS": "true",
    })
    s.rtmp, s.rtmps, s.srt = rtmp, rtmps, srt
    return s


def publish(url, fmt="flv", seconds=None):
    args = ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    if seconds:
        args += ["-t", str(seconds)]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-f", fmt, url]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def probe(url, timeout=30):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,codec_type", "-of", "json", url],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        return None
    streams = json.loads(r.stdout)["streams"]
    print("ffprobe", url, streams)
    return sorted(s.get("codec_name", s.get("codec_type", "?")) for s in streams)


def decode_frames(url, seconds=3, timeout=60):
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", url, "-t", str(seconds), "-map", "0:v", "-f", "null",
                        "-", "-progress", "pipe:1"], capture_output=True, text=True, timeout=timeout)
    frames = [int(line.split("=")[1]) for line in r.stdout.splitlines() if line.startswith("frame=")]
    return frames[-1] if frames else 0


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_rtmp_publish_play_restream_and_refusals(relay_server):
    s = relay_server
    token = s.token()
    base = f"rtmp://127.0.0.1:{s.rtmp}"
    pub = publish(f"{base}/live/cam?token={TOKEN}")
    try:
        assert wait_for(lambda: s.get("/api/v3/rtmp", token=token).json() == [{"name": "/live/cam"}], timeout=20), \
            s.get("/api/v3/rtmp", token=token).body
        assert probe(f"{base}/live/cam?token={TOKEN}") == ["aac", "h264"]
        assert decode_frames(f"{base}/live/cam/{TOKEN}") >= 50  # token as the last path element (upstream)

        # Refused: wrong token, a second publisher on the taken name, playing an unknown name.
        bad = publish(f"{base}/live/other?token=wrong", seconds=5)
        assert bad.wait(20) != 0
        dup = publish(f"{base}/live/cam?token={TOKEN}", seconds=5)
        assert dup.wait(20) != 0
        assert probe(f"{base}/live/nothing?token={TOKEN}", timeout=20) is None
        assert pub.poll() is None, "the first publisher keeps going"
        log = s.stderr()
        assert re.search(r"RTMP.*(token|Token)", log), log[-3000:]
        assert re.search(r"RTMP.*(conflict|already)", log, re.I), log[-3000:]
        assert TOKEN not in "\n".join(l for l in log.splitlines() if "RTMP" in l), "tokens never appear in logs"

        # A process re-streams {rtmp,name=live/cam} into memfs as HLS.
        proc = {"id": "relay", "autostart": True,
                "input": [{"id": "in", "address": "{rtmp,name=live/cam}", "options": []}],
                "output": [{"id": "hls", "address": "{memfs}/relay.m3u8",
                            "options": ["-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_list_size", "4",
                                        "-hls_flags", "delete_segments", "-method", "PUT"]}]}
        assert s.post("/api/v3/process", proc, token=token).status == 200
        assert wait_for(lambda: s.get("/memfs/relay.m3u8").status == 200, timeout=30), \
            s.get("/api/v3/process/relay/report", token=token).body[-3000:]
        assert probe(f"{s.base}/memfs/relay.m3u8") == ["aac", "h264"]

        # Sessions and metrics see the publisher and the process's player.
        active = s.get("/api/v3/session/active?collectors=rtmp", token=token).json()["rtmp"]
        locations = sorted(a["local"] for a in active)
        assert "publish:/live/cam" in locations and "play:/live/cam" in locations, active
        metrics = s.get("/metrics").body.decode()
        assert re.search(r"^dragonfork_rtmp_publishers(\{[^}]*\})? 1(\.0)?$", metrics, re.M), metrics[:2000]
        assert re.search(r'^dragonfork_rtmp_connections_refused_total\{[^}]*reason="token"[^}]*\} [1-9]', metrics, re.M)
        assert re.search(r"^dragonfork_srt_publishers", metrics, re.M)
        # promtool finds nothing to complain about in the RTMP/SRT families (upstream's legacy names aside).
        p = subprocess.run([shutil.which("promtool") or "/usr/bin/promtool", "check", "metrics"], input=metrics,
                           capture_output=True, text=True)
        complaints = [l for l in (p.stdout + p.stderr).splitlines()
                      if l.strip() and not any(n in l for n in ("uptime_seconds", "session_rx_bytes", "session_tx_bytes"))]
        assert complaints == [], complaints

        # A player sees the end of the stream when the publisher leaves.
        player = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-i", f"{base}/live/cam?token={TOKEN}",
                                   "-f", "null", "-"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)
        assert player.poll() is None
        pub.kill()
        pub.wait()
        try:
            player.wait(15)
        except subprocess.TimeoutExpired:
            player.kill()
            pytest.fail("the player did not see the end of the stream")
        assert wait_for(lambda: s.get("/api/v3/rtmp", token=token).json() == [], timeout=10)
        assert s.request_delete("/api/v3/process/relay", token=token).status == 200
    finally:
        stop(pub)


def test_rtmps_publish_and_play(relay_server):
    s = relay_server
    token = s.token()
    # One path element, as the Restreamer UI's {rtmp,name=<id>.stream} addresses are: FFmpeg sends it
    # all as the app with an empty stream name.
    url = f"rtmps://127.0.0.1:{s.rtmps}/secure.stream?token={TOKEN}"
    pub = publish(url)
    try:
        assert wait_for(lambda: s.get("/api/v3/rtmp", token=token).json() == [{"name": "/secure.stream"}], timeout=20)
        assert probe(url) == ["aac", "h264"]
        assert decode_frames(url) >= 50
        # The same channel over plain RTMP through the placeholder, re-streamed to HLS.
        proc = {"id": "fromtls", "autostart": True,
                "input": [{"id": "in", "address": "{rtmp,name=secure.stream}", "options": []}],
                "output": [{"id": "hls", "address": "{memfs}/fromtls.m3u8",
                            "options": ["-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_list_size", "4",
                                        "-hls_flags", "delete_segments", "-method", "PUT"]}]}
        assert s.post("/api/v3/process", proc, token=token).status == 200
        assert wait_for(lambda: s.get("/memfs/fromtls.m3u8").status == 200, timeout=30), \
            s.get("/api/v3/process/fromtls/report", token=token).body[-3000:]
        assert probe(f"{s.base}/memfs/fromtls.m3u8") == ["aac", "h264"]
        assert s.request_delete("/api/v3/process/fromtls", token=token).status == 200
    finally:
        stop(pub)


def test_srt_publish_play_and_api(relay_server):
    s = relay_server
    token = s.token()
    base = f"srt://127.0.0.1:{s.srt}?transtype=live&latency=200000"
    pub = publish(f"{base}&streamid=feed,mode:publish,token:{TOKEN}", fmt="mpegts")
    try:
        def published():
            return s.get("/api/v3/srt", token=token).json()["publisher"].get("feed") is not None
        assert wait_for(published, timeout=20), s.get("/api/v3/srt", token=token).body
        play = f"{base}&streamid=feed,token:{TOKEN}"
        assert "h264" in probe(play)
        assert decode_frames(play, seconds=4) >= 50
        channels = s.get("/api/v3/srt", token=token).json()
        assert set(channels) == {"publisher", "subscriber", "connections", "log"}
        conn = channels["connections"][str(channels["publisher"]["feed"])]
        assert conn["stats"]["recv_bytes"] > 0 and "rtt_ms" in conn["stats"]
        # The legacy syntax, and a refused wrong token.
        assert "h264" in probe(f"{base}&streamid=#!:m=request,r=feed,token={TOKEN}")
        assert probe(f"{base}&streamid=feed,token:wrong", timeout=20) is None
        assert re.search(r"SRT.*token", s.stderr(), re.I)
        dup = publish(f"{base}&streamid=feed,mode:publish,token:{TOKEN}", fmt="mpegts", seconds=5)
        assert dup.wait(20) != 0
        active = s.get("/api/v3/session/active?collectors=srt", token=token).json()["srt"]
        assert any(a["local"] == "publish:feed" for a in active), active
        # srt-live-transmit interoperates as a subscriber.
        out = s.tmp / "slt.ts"
        slt = subprocess.run(["timeout", "6", "srt-live-transmit", f"srt://127.0.0.1:{s.srt}?streamid=feed,token:{TOKEN}",
                              f"file://con"], stdout=open(out, "wb"), stderr=subprocess.PIPE, timeout=20)
        assert out.stat().st_size > 100_000, slt.stderr[-1000:]
        assert "h264" in probe(str(out))
    finally:
        stop(pub)


def test_full_upstream_shape_check_with_relays_on(relay_server):
    tool = SHARED / "tools" / "api_shape_check.py"
    if not tool.exists():
        pytest.skip("shared/tools/api_shape_check.py not present")
    r = subprocess.run(["python3", str(tool), relay_server.base, "--user", "admin", "--password",
                        relay_server.password], capture_output=True, text=True, timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
