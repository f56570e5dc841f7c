"""HLS sessions with real viewers: a real FFmpeg writes HLS into memfs, 100 concurrent viewers poll the
playlist and fetch the segments from their own loopback addresses (127.0.0.2 ... 127.0.0.101: Linux
routes all of 127.0.0.0/8 to lo, and upstream's default sessions.ip_ignorelist only ignores 127.0.0.1),
and /api/v3/session/active must count exactly 100; with sessions.max_sessions = 100 the 101st viewer
gets upstream's 509."""
import http.client
import json
import re
import subprocess
import threading
import time

import pytest

from conftest import SHARED
from test_processes import hls_process, wait_for

VIEWERS = 100


class Viewer(threading.Thread):
    """A minimal HLS player: polls the playlist, fetches each new segment once, over one keep-alive
    connection bound to its own source address."""

    def __init__(self, port, source_ip, playlist, stop):
        super().__init__(daemon=True)
        self.port, self.source_ip, self.playlist, self.stop = port, source_ip, playlist, stop
        self.statuses = []
        self.refusal = None
        self.segments = 0
        self.errors = []

    def get(self, conn, path):
        conn.request("GET", path, headers={"User-Agent": "dragon-test-viewer"})
        r = conn.getresponse()
        return r.status, r.read()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20,
                                          source_address=(self.source_ip, 0))
        seen = set()
        base = self.playlist.rsplit("/", 1)[0] + "/"
        try:
            while not self.stop.is_set():
                status, body = self.get(conn, self.playlist)
                self.statuses.append(status)
                if status == 509:
                    self.refusal = json.loads(body)
                    return
                if status == 200:
                    names = [l for l in body.decode().splitlines() if l and not l.startswith("#")]
                    for name in names[-2:]:  # join near the live edge, like a player
                        if name in seen:
                            continue
                        seen.add(name)
                        s, b = self.get(conn, name if name.startswith("/") else base + name)
                        self.statuses.append(s)
                        if s == 509:
                            self.refusal = json.loads(b)
                            return
                        if s == 200:
                            self.segments += 1
                self.stop.wait(1.0)
        except (OSError, http.client.HTTPException) as e:
            self.errors.append(repr(e))
        finally:
            conn.close()


def active(server, token, collectors="hls"):
    r = server.get(f"/api/v3/session/active?collectors={collectors}", token=token)
    assert r.status == 200, r.body
    return r.json()


def start_hls(server, token, pid):
    r = server.post("/api/v3/process", hls_process(pid, autostart=True, extra={"reference": pid}), token=token)
    assert r.status == 200, r.body
    ok = wait_for(lambda: server.get(f"/memfs/{pid}.m3u8").status == 200 and
                  len(re.findall(rb"\.ts", server.get(f"/memfs/{pid}.m3u8").body)) >= 2, timeout=40, step=0.5)
    assert ok, server.stderr()[-3000:]


def start_viewers(port, playlist, addresses, stop):
    viewers = [Viewer(port, ip, playlist, stop) for ip in addresses]
    for v in viewers:
        v.start()
    return viewers


def test_100_hls_viewers_are_counted_and_the_101st_gets_509(make_server):
    server = make_server(env={"CORE_SESSIONS_MAX_SESSIONS": "100", "CORE_SESSIONS_SESSION_TIMEOUT_SEC": "4",
                              "CORE_SESSIONS_PERSIST": "true"})
    token = server.token()
    pid = "sesslive"
    start_hls(server, token, pid)
    playlist = f"/memfs/{pid}.m3u8"
    stop = threading.Event()
    viewers = start_viewers(server.port, playlist, [f"127.0.0.{i}" for i in range(2, 2 + VIEWERS)], stop)
    try:
        # A viewer on 127.0.0.1 (upstream's default ignore list) is served but never counted.
        local = start_viewers(server.port, playlist, ["127.0.0.1"], stop)
        counted = wait_for(lambda: len(active(server, token)["hls"]) == VIEWERS, timeout=60, step=1.0)
        sessions = active(server, token, "hls,webrtc")
        assert counted, (len(sessions["hls"]), [v.errors for v in viewers if v.errors][:3])
        assert sessions["webrtc"] == []
        hls = sessions["hls"]
        assert sorted(s["remote"] for s in hls) == sorted(f"127.0.0.{i}" for i in range(2, 2 + VIEWERS))
        assert all(s["reference"] == pid and s["local"] == playlist for s in hls)
        assert all(s["extra"] == "dragon-test-viewer" for s in hls)
        assert all(s["bytes_tx"] > 0 for s in hls)
        time.sleep(3)  # every viewer has fetched segments by now: bitrates show
        hls = active(server, token)["hls"]
        assert sum(1 for s in hls if s["bandwidth_tx_kbit"] > 0) >= VIEWERS * 0.9

        summary = server.get("/api/v3/session?collectors=hls", token=token).json()["hls"]
        assert summary["active"]["sessions"] == VIEWERS
        assert summary["active"]["max_sessions"] == 100
        assert summary["active"]["bandwidth_tx_mbit"] > 0

        # The widget is public and counts the process's viewers.
        w = server.get(f"/api/v3/widget/process/{pid}")
        assert w.status == 200, w.body
        assert w.json()["current_sessions"] == VIEWERS and w.json()["uptime"] >= 0

        # The 101st viewer: refused with upstream's 509, at its playlist request.
        extra = start_viewers(server.port, playlist, ["127.0.0.102"], stop)[0]
        extra.join(timeout=30)
        assert extra.refusal == {"code": 509, "message": "Bandwith limit exceeded",
                                 "details": ["Number of sessions exceeded"]}, extra.statuses
        # The admitted 100 keep watching; the loopback viewer was served without being counted.
        assert len(active(server, token)["hls"]) == VIEWERS
        assert not any(v.refusal for v in viewers)
        assert local[0].segments > 0 and local[0].refusal is None
    finally:
        stop.set()
        for v in viewers:
            v.join(timeout=30)
    assert not [v.errors for v in viewers if v.errors]

    # Idle viewers end after sessions.session_timeout_sec and become the history.
    assert wait_for(lambda: active(server, token)["hls"] == [], timeout=20, step=0.5)
    summary = server.get("/api/v3/session?collectors=hls", token=token).json()["hls"]["summary"]
    assert summary["sessions"] == VIEWERS
    assert summary["reference"][pid]["sessions"] == VIEWERS
    assert len(summary["remote"]) == VIEWERS
    assert server.get(f"/api/v3/widget/process/{pid}").json()["total_sessions"] == VIEWERS

    # sessions.persist: the history is in <db.dir>/sessions.json after a stop, and back after a start.
    assert server.stop() == 0
    doc = json.loads((server.tmp / "db" / "sessions.json").read_text())
    assert sum(e["total_sessions"] for e in doc["hls"]["sessions"].values()) == VIEWERS
    server.start()
    token = server.token()
    summary = server.get("/api/v3/session?collectors=hls", token=token).json()["hls"]["summary"]
    assert summary["sessions"] == VIEWERS


def test_ignorelist_cleared_counts_loopback(make_server):
    server = make_server(env={"CORE_SESSIONS_IP_IGNORELIST": ""})
    token = server.token()
    pid = "sessloop"
    start_hls(server, token, pid)
    stop = threading.Event()
    viewers = start_viewers(server.port, f"/memfs/{pid}.m3u8", ["127.0.0.1"], stop)
    try:
        assert wait_for(lambda: len(active(server, token)["hls"]) == 1, timeout=30, step=0.5)
        assert active(server, token)["hls"][0]["remote"] == "127.0.0.1"
    finally:
        stop.set()
        viewers[0].join(timeout=30)


def test_session_shapes_match_upstream(server):
    tool = SHARED / "tools" / "api_shape_check.py"
    if not tool.exists():
        pytest.skip("shared/tools/api_shape_check.py not present")
    r = subprocess.run(["python3", str(tool), server.base, "--user", "admin", "--password", server.password,
                        "--only", "get_session_active", "get_session_summary", "get_widget_process"],
                       capture_output=True, text=True, timeout=300)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
