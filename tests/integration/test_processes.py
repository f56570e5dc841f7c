"""FFmpeg processes with the real ffmpeg: lifecycle, progress, HLS into memfs, persistence."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import SHARED


def hls_process(pid, autostart=False, extra=None):
    cfg = {
        "id": pid,
        "reference": "it",
        "input": [
            {"id": "video", "address": "testsrc2=size=320x240:rate=25", "options": ["-re", "-f", "lavfi"]},
            {"id": "audio", "address": "sine=frequency=440:sample_rate=48000", "options": ["-re", "-f", "lavfi"]},
        ],
        "output": [{
            "id": "hls",
            "address": "{memfs}/" + pid + ".m3u8",
            "options": ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                        "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "hls", "-hls_time", "2",
                        "-hls_list_size", "6", "-hls_flags", "delete_segments+append_list", "-method", "PUT",
                        "-hls_segment_filename", "{memfs}/" + pid + "_%04d.ts"],
            "cleanup": [{"pattern": "memfs:/" + pid + "_*.ts", "max_files": 8, "purge_on_delete": True},
                        {"pattern": "memfs:/" + pid + ".m3u8", "purge_on_delete": True}],
        }],
        "options": ["-loglevel", "level+info", "-err_detect", "ignore_err"],
        "reconnect": True,
        "reconnect_delay_seconds": 2,
        "autostart": autostart,
        "stale_timeout_seconds": 30,
    }
    cfg.update(extra or {})
    return cfg


def wait_for(pred, timeout=10.0, step=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    return last


def state(server, token, pid):
    r = server.get(f"/api/v3/process/{pid}/state", token=token)
    assert r.status == 200, r.body
    return r.json()


def test_lifecycle_with_real_ffmpeg(server):
    token = server.token()
    r = server.post("/api/v3/process", hls_process("life"), token=token)
    assert r.status == 200, r.body
    assert r.json()["output"][0]["address"] == "{memfs}/life.m3u8"  # stored raw
    s = state(server, token, "life")
    assert s["exec"] == "finished" and s["order"] == "stop"
    assert "http://" in " ".join(s["command"])  # resolved

    t0 = time.time()
    assert server.put("/api/v3/process/life/command", {"command": "start"}, token=token).status == 200
    running = wait_for(lambda: state(server, token, "life")["exec"] == "running", timeout=5)
    assert running, state(server, token, "life")
    assert time.time() - t0 < 2.5
    f1 = wait_for(lambda: state(server, token, "life")["progress"]["frame"], timeout=5)
    time.sleep(1.0)
    s = state(server, token, "life")
    assert s["progress"]["frame"] > f1, "frame count must rise"
    assert s["progress"]["fps"] > 0
    assert isinstance(s["cpu_usage"], (int, float)) and s["memory_bytes"] > 0

    # HLS reaches memfs through PUT with Basic auth.
    assert wait_for(lambda: server.get("/memfs/life.m3u8").status == 200, timeout=10)
    assert b"#EXTM3U" in server.get("/memfs/life.m3u8").body

    assert server.put("/api/v3/process/life/command", {"command": "stop"}, token=token).status == 200
    s = state(server, token, "life")
    assert s["exec"] == "finished" and s["order"] == "stop"

    assert server.put("/api/v3/process/life/command", {"command": "start"}, token=token).status == 200
    assert wait_for(lambda: state(server, token, "life")["exec"] == "running", timeout=5)
    pid1 = server.get("/api/v3/process/life/report", token=token).json()["created_at"]
    assert server.put("/api/v3/process/life/command", {"command": "restart"}, token=token).status == 200
    assert wait_for(lambda: state(server, token, "life")["exec"] == "running", timeout=8)
    report = server.get("/api/v3/process/life/report", token=token).json()
    assert report["history"], "a restart moves the previous run into the history"
    assert report["created_at"] >= pid1

    # PUT a change, then reload: the new command runs.
    r = server.put("/api/v3/process/life", {"reference": "changed"}, token=token)
    assert r.status == 200, r.body
    assert server.get("/api/v3/process/life/config", token=token).json()["reference"] == "changed"
    assert server.put("/api/v3/process/life/command", {"command": "reload"}, token=token).status == 200
    assert wait_for(lambda: state(server, token, "life")["exec"] == "running", timeout=8)

    assert server.put("/api/v3/process/life/command", {"command": "jump"}, token=token).status == 400
    r = server.request_delete("/api/v3/process/life", token=token)
    assert r.status == 200 and r.json() == "OK"
    assert server.get("/api/v3/process/life", token=token).status == 404
    # purge_on_delete emptied memfs of this process's files
    assert wait_for(lambda: server.get("/memfs/life.m3u8").status == 404, timeout=5)


def test_validation_errors_are_upstreams(server):
    token = server.token()
    r = server.post("/api/v3/process", {"id": "x", "input": [], "output": []}, token=token)
    assert r.status == 400 and r.json()["message"] == "At least one input and one output need to be defined"
    r = server.post("/api/v3/process", {"id": "x", "type": "gstreamer", "input": [{"address": "a"}],
                                        "output": [{"address": "-"}]}, token=token)
    assert r.status == 400 and r.json()["message"] == "Unsupported process type"
    r = server.post("/api/v3/process", hls_process("dup"), token=token)
    assert r.status == 200
    r = server.post("/api/v3/process", hls_process("dup"), token=token)
    assert r.status == 400 and r.json()["details"] == ["process already exists"]
    r = server.post("/api/v3/process", '{"id": ', token=token, headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["message"] == "Invalid JSON"
    assert server.get("/api/v3/process/nope/state", token=token).status == 404


def test_list_filters_and_metadata(server):
    token = server.token()
    for pid, ref in (("a1", "alpha"), ("a2", "alpha"), ("b1", "beta")):
        assert server.post("/api/v3/process", hls_process(pid, extra={"reference": ref}), token=token).status == 200
    ids = lambda q: sorted(p["id"] for p in server.get("/api/v3/process" + q, token=token).json())
    assert ids("") == ["a1", "a2", "b1"]
    assert ids("?reference=alpha") == ["a1", "a2"]
    assert ids("?id=a1,b1") == ["a1", "b1"]
    assert ids("?idpattern=a*") == ["a1", "a2"]
    assert ids("?refpattern=b*") == ["b1"]
    one = server.get("/api/v3/process?id=a1&filter=state", token=token).json()[0]
    assert "state" in one and "config" not in one and "report" not in one
    assert server.get("/api/v3/process/a1/metadata", token=token).json() is None
    assert server.put("/api/v3/process/a1/metadata/ui", {"x": 1}, token=token).json() == {"x": 1}
    assert server.get("/api/v3/process/a1/metadata/ui", token=token).json() == {"x": 1}
    assert server.get("/api/v3/process/a1/metadata/other", token=token).status == 404
    assert server.get("/api/v3/metadata/restreamer-ui", token=token).status == 404
    assert server.put("/api/v3/metadata/restreamer-ui", {"v": [1, 2]}, token=token).status == 200
    assert server.get("/api/v3/metadata/restreamer-ui", token=token).json() == {"v": [1, 2]}


def test_persistence_and_autostart_across_restart_and_crash(make_server):
    s = make_server()
    token = s.token()
    assert s.post("/api/v3/process", hls_process("keep", autostart=True), token=token).status == 200
    assert wait_for(lambda: state(s, token, "keep")["exec"] == "running", timeout=5)
    assert s.put("/api/v3/process/keep/metadata/note", {"text": "hello"}, token=token).status == 200
    db = json.loads((s.tmp / "db" / "db.json").read_text())
    assert db["version"] == 4 and db["process"]["keep"]["order"] == "start"
    child = state(s, token, "keep")
    # Crash: SIGKILL the server. Its FFmpeg must not outlive it.
    ffmpeg_pids = subprocess.run(["pgrep", "-P", str(s.proc.pid)], capture_output=True, text=True).stdout.split()
    assert ffmpeg_pids
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait(10)
    assert wait_for(lambda: not any(os.path.exists(f"/proc/{p}") and "Z" not in open(f"/proc/{p}/stat").read().split()[2]
                                    for p in ffmpeg_pids), timeout=10), "FFmpeg outlived the server"
    s.start()
    token = s.token()
    assert wait_for(lambda: state(s, token, "keep")["exec"] == "running", timeout=8)
    assert s.get("/api/v3/process/keep/metadata/note", token=token).json() == {"text": "hello"}
    assert child["command"] == state(s, token, "keep")["command"]


def test_upstream_db_json_loads(make_server, tmp_path):
    s = make_server(start=False)
    (s.tmp / "db").mkdir(parents=True, exist_ok=True)
    up = {"version": 4, "process": {"up1": {"id": "up1", "reference": "r", "config": {
        "id": "up1", "reference": "r", "ffversion": "^5.1.0",
        "input": [{"id": "in", "address": "testsrc2", "options": ["-f", "lavfi"], "cleanup": []}],
        "output": [{"id": "out", "address": "-", "options": ["-f", "null"], "cleanup": []}],
        "options": ["-loglevel", "info"], "reconnect": True, "reconnect_delay_seconds": 10, "autostart": False,
        "stale_timeout_seconds": 0, "limit_cpu_usage": 0, "limit_memory_bytes": 0, "limit_waitfor_seconds": 0},
        "created_at": 1700000000, "updated_at": 1700000000, "order": "stop"}},
          "metadata": {"system": {"k": "v"}, "process": {"up1": {"m": 1}}}}
    (s.tmp / "db" / "db.json").write_text(json.dumps(up))
    s.start()
    token = s.token()
    p = s.get("/api/v3/process/up1", token=token).json()
    assert p["config"]["reconnect_delay_seconds"] == 10 and p["created_at"] == 1700000000
    assert p["metadata"] == {"m": 1}
    assert s.get("/api/v3/metadata/k", token=token).json() == "v"


def test_api_shape_matches_upstream_for_process_calls(server):
    tool = SHARED / "tools" / "api_shape_check.py"
    if not tool.exists():
        pytest.skip("shared/tools/api_shape_check.py not present")
    only = ["get_process", "get_process_config", "get_process_list_by_id", "get_process_not_found",
            "get_process_report", "get_process_state_before_start", "get_process_state_running",
            "get_process_state_stopped", "get_process_metadata_all", "post_process", "put_process_command_start",
            "put_process_command_stop", "get_metadata_all", "get_fs_mem"]
    r = subprocess.run(["python3", str(tool), server.base, "--user", "admin", "--password", server.password,
                        "--only", *only], capture_output=True, text=True, timeout=300)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr


def null_process(pid, extra=None, input_address="testsrc2=size=160x90:rate=25", input_options=None):
    cfg = {"id": pid, "input": [{"id": "in", "address": input_address,
                                 "options": input_options if input_options is not None else ["-re", "-f", "lavfi"]}],
           "output": [{"id": "out", "address": "-", "options": ["-c:v", "libx264", "-preset", "ultrafast", "-f", "null"]}],
           "options": ["-loglevel", "level+info"], "autostart": True, "reconnect": True, "reconnect_delay_seconds": 1}
    cfg.update(extra or {})
    return cfg


def ffmpeg_children(server):
    out = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def test_killed_child_reconnects(server):
    token = server.token()
    assert server.post("/api/v3/process", null_process("victim"), token=token).status == 200
    assert wait_for(lambda: state(server, token, "victim")["exec"] == "running", timeout=5)
    children = wait_for(lambda: ffmpeg_children(server), timeout=5)
    os.kill(children[0], signal.SIGKILL)
    assert wait_for(lambda: state(server, token, "victim")["exec"] in ("killed", "starting"), timeout=5, step=0.02)
    assert wait_for(lambda: state(server, token, "victim")["exec"] == "running"
                    and ffmpeg_children(server) and ffmpeg_children(server)[0] != children[0], timeout=8)


def test_stalled_input_hits_stale_timeout(server):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = server.token()
    # FFmpeg waits forever for a publisher on this port: no progress.
    cfg = null_process("stalled", {"stale_timeout_seconds": 2}, input_address=f"tcp://127.0.0.1:{port}?listen=1",
                       input_options=["-f", "mpegts"])
    assert server.post("/api/v3/process", cfg, token=token).status == 200
    seen = wait_for(lambda: "no progress" in state(server, token, "stalled")["last_logline"]
                    or any("no progress" in l[1] for l in server.get("/api/v3/process/stalled/report", token=token)
                           .json()["log"]), timeout=15)
    assert seen, state(server, token, "stalled")
    report = server.get("/api/v3/process/stalled/report", token=token).json()
    assert wait_for(lambda: server.get("/api/v3/process/stalled/report", token=token).json()["history"]
                    or state(server, token, "stalled")["exec"] in ("starting", "running"), timeout=10)
    assert report is not None


def test_memory_limit_kills_with_reason(server):
    token = server.token()
    cfg = null_process("hungry", {"limits": {"cpu_usage": 0, "memory_mbytes": 1, "waitfor_seconds": 1},
                                  "reconnect": False})
    assert server.post("/api/v3/process", cfg, token=token).status == 200
    assert wait_for(lambda: "memory above limits.memory_mbytes" in state(server, token, "hungry")["last_logline"],
                    timeout=15), state(server, token, "hungry")
    assert wait_for(lambda: state(server, token, "hungry")["exec"] in ("finished", "killed", "failed"), timeout=10)


@pytest.mark.parametrize("mutate, field", [
    (lambda c: c["input"][0].update(address="{nonsense}/x"), "unknown placeholder {nonsense}"),
    (lambda c: c.update(id="a/b"), "id must not contain '/'"),
    (lambda c: c["output"][0]["options"].append("x" * (1 << 20)), "output 'out' option"),
    (lambda c: c["output"][0].update(address="-y"), "would be read as an option"),
    (lambda c: c["input"][0].update(address="x$(touch /tmp/pwned)"), "shell syntax"),
    (lambda c: c["input"][0].update(address="a\nb"), "control characters"),
])
def test_hostile_process_input_is_refused(server, mutate, field):
    token = server.token()
    cfg = null_process("hostile", {"autostart": True})
    mutate(cfg)
    r = server.post("/api/v3/process", cfg, token=token)
    assert r.status == 400, r.body
    assert any(field in d for d in r.json()["details"]), r.json()
    assert server.get("/api/v3/process", token=token).json() == []
    assert not ffmpeg_children(server)
    db = server.tmp / "db" / "db.json"
    assert not db.exists() or "hostile" not in db.read_text()


def test_sigkill_during_updates_never_loses_acknowledged_changes(make_server):
    import random
    import threading
    rnd = random.Random(7)
    s = make_server()
    token = s.token()
    assert s.post("/api/v3/process", null_process("durable", {"autostart": False}), token=token).status == 200
    acknowledged = None
    kills = 0
    i = 0
    while i < 200:
        inflight = f"rev-{i}"
        killer = None
        if i % 20 == 10:  # a SIGKILL at a random moment while this update is in flight
            delay = rnd.uniform(0, 0.02)
            killer = threading.Timer(delay, lambda: s.proc.send_signal(signal.SIGKILL))
            killer.start()
        try:
            r = s.put("/api/v3/process/durable", {"reference": inflight}, token=token, timeout=10)
            if r.status == 200:
                acknowledged = inflight
        except OSError:
            pass
        if killer:
            killer.join()
            s.proc.wait(10)
            kills += 1
            s.start()  # db.json must load
            token = s.token()
            ref = s.get("/api/v3/process/durable/config", token=token).json()["reference"]
            assert ref in (acknowledged, inflight), (ref, acknowledged, inflight)
            acknowledged = ref
        i += 1
    assert kills == 10
    assert s.get("/api/v3/process/durable/config", token=token).json()["reference"] == "rev-199"
