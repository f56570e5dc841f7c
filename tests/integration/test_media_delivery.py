"""Media delivery through the filesystems: live HLS into memfs played by ffprobe/ffmpeg, cleanup
rules, memfs full, disk mount, and path traversal on every filesystem route over raw HTTP."""
import base64
import json
import socket
import subprocess
import time

import pytest

from test_processes import wait_for


def hls_into(pid, fs_placeholder, fs_prefix, max_files):
    return {
        "id": pid,
        "reference": pid,
        "autostart": True,
        "input": [
            {"id": "video", "address": "testsrc2=size=320x240:rate=25", "options": ["-re", "-f", "lavfi"]},
            {"id": "audio", "address": "sine=frequency=440:sample_rate=48000", "options": ["-re", "-f", "lavfi"]},
        ],
        "output": [{
            "id": "hls",
            "address": fs_placeholder + "/" + pid + ".m3u8",
            # No delete_segments: the cleanup rule alone must bound the segments.
            "options": ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                        "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "hls", "-hls_time", "2",
                        "-hls_list_size", "3", "-method", "PUT",
                        "-hls_segment_filename", fs_placeholder + "/" + pid + "_%04d.ts"],
            "cleanup": [{"pattern": fs_prefix + ":/" + pid + "_*.ts", "max_files": max_files, "purge_on_delete": True},
                        {"pattern": fs_prefix + ":/" + pid + ".m3u8", "purge_on_delete": True}],
        }],
    }


def segments(server, token, fsname, pid):
    r = server.get(f"/api/v3/fs/{fsname}?glob=/{pid}_*.ts", token=token)
    assert r.status == 200, r.body
    return r.json()


def play_and_check(url):
    """ffprobe sees H.264 and AAC; ffmpeg decodes frames from the live playlist."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json", url],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    codecs = sorted(s["codec_name"] for s in json.loads(probe.stdout)["streams"])
    assert codecs == ["aac", "h264"], codecs
    dec = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", url, "-t", "3", "-map", "0:v", "-f", "null", "-",
                          "-progress", "pipe:1"], capture_output=True, text=True, timeout=90)
    assert dec.returncode == 0, dec.stderr
    frames = [int(line.split("=")[1]) for line in dec.stdout.splitlines() if line.startswith("frame=")]
    assert frames and frames[-1] >= 50, dec.stdout[-500:]


def run_hls_delivery(server, token, pid, placeholder, prefix, fsname, mount):
    assert server.post("/api/v3/process", hls_into(pid, placeholder, prefix, max_files=4), token=token).status == 200
    assert wait_for(lambda: server.get(f"{mount}/{pid}.m3u8").status == 200, timeout=20), \
        server.get(f"/api/v3/process/{pid}/report", token=token).body[-2000:]
    play_and_check(f"{server.base}{mount}/{pid}.m3u8")
    # 2 s segments: after ~14 s FFmpeg has written 7+, the rule keeps at most 4.
    assert wait_for(lambda: json.loads(server.get(f"/api/v3/process/{pid}/state", token=token).body)
                    ["progress"]["frame"] > 25 * 14, timeout=40)
    time.sleep(1.5)  # one cleanup tick
    names = [f["name"] for f in segments(server, token, fsname, pid)]
    assert 1 <= len(names) <= 4, names
    assert server.request_delete(f"/api/v3/process/{pid}", token=token).status == 200
    assert wait_for(lambda: segments(server, token, fsname, pid) == [], timeout=10)
    assert server.get(f"{mount}/{pid}.m3u8").status == 404


def test_live_hls_in_memfs_plays_and_is_cleaned_up(server):
    run_hls_delivery(server, server.token(), "memhls", "{memfs}", "memfs", "mem", "/memfs")


def test_live_hls_on_disk_plays_through_the_root_mount(server):
    run_hls_delivery(server, server.token(), "diskhls", "{diskfs}", "diskfs", "disk", "")


def test_memfs_full_refuses_the_next_write_and_keeps_the_rest(make_server):
    server = make_server(env={"CORE_STORAGE_MEMORY_MAX_SIZE_MBYTES": "1",
                              "CORE_STORAGE_MEMORY_AUTH_USERNAME": "u", "CORE_STORAGE_MEMORY_AUTH_PASSWORD": "p",
                              "CORE_METRICS_ENABLE": "true"})
    token = server.token()
    auth = {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}
    first = bytes(range(256)) * 2400  # 600 KiB
    assert server.put("/memfs/a.ts", first, headers=auth).status == 201
    r = server.put("/memfs/b.ts", b"x" * (600 * 1024), headers=auth)
    assert r.status == 400, r.body  # upstream's status for a failed write (DESIGN)
    assert r.json()["details"] == ["not enough space on device"]
    r = server.put("/memfs/huge.ts", b"x" * (1024 * 1024 + 1), headers=auth)
    assert r.status == 400 and r.json()["details"] == ["File is too big"]
    assert server.get("/memfs/a.ts").body == first
    assert server.get("/memfs/b.ts").status == 404
    files = server.get("/api/v3/fs/mem", token=token).json()
    assert [(f["name"], f["size_bytes"]) for f in files] == [("/a.ts", len(first))]
    # The usage in the metrics API (upstream's filesystem_* catalogue) and in Prometheus.
    q = {"metrics": [{"name": "filesystem_usage", "labels": {"name": "memfs"}},
                     {"name": "filesystem_limit", "labels": {"name": "memfs"}}]}
    r = server.post("/api/v3/metrics", q, token=token)
    assert r.status == 200, r.body
    got = {m["name"]: m["values"][-1][1] for m in r.json()["metrics"]}
    assert got["filesystem_usage"] == len(first) and got["filesystem_limit"] == 1024 * 1024, got


def raw(server, method, target: bytes, body=b"", headers=()):
    """Sends the request line exactly as given (no client-side normalisation) and returns status, body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        head = method.encode() + b" " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        for h in headers:
            head += h.encode() + b"\r\n"
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        s.sendall(head + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.partition(b"\r\n\r\n")[2]


ATTACKS = [
    b"../outside/secret.txt", b"..%2foutside%2fsecret.txt", b"%2e%2e/outside/secret.txt", b"%2E%2E/outside/secret.txt",
    b"%252e%252e/outside/secret.txt", b"..%252foutside%252fsecret.txt", b"%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    b"a/../../outside/secret.txt", b"/../outside/secret.txt", b"//etc/passwd", b"%2fetc%2fpasswd", b"..\\outside\\secret.txt",
    b"ok%00/../../outside/secret.txt", b"%c0%ae%c0%ae/outside/secret.txt", b"x" * 300, (b"d/" * 2100) + b"f",
    b"./.././.././outside/secret.txt",
]


def tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_no_fs_route_reads_or_writes_outside_its_root(make_server):
    server = make_server(env={"CORE_STORAGE_MEMORY_AUTH_USERNAME": "u", "CORE_STORAGE_MEMORY_AUTH_PASSWORD": "p"})
    token = server.token()
    basic = "Authorization: Basic " + base64.b64encode(b"u:p").decode()
    bearer = "Authorization: Bearer " + token
    outside = server.tmp / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET-OUTSIDE")
    before_outside = tree(server.tmp)
    data = server.tmp / "data"
    routes = [("GET", "/memfs/", ()), ("HEAD", "/memfs/", ()), ("GET", "/", ()),
              ("GET", "/api/v3/fs/disk/", (bearer,)), ("GET", "/api/v3/fs/mem/", (bearer,)),
              ("PUT", "/memfs/", (basic,)), ("POST", "/memfs/", (basic,)), ("DELETE", "/memfs/", (basic,)),
              ("PUT", "/api/v3/fs/disk/", (bearer,)), ("DELETE", "/api/v3/fs/disk/", (bearer,)),
              ("PUT", "/api/v3/fs/mem/", (bearer,)), ("DELETE", "/api/v3/fs/mem/", (bearer,))]
    statuses = set()
    for method, prefix, headers in routes:
        for attack in ATTACKS:
            body = b"PWNED" if method in ("PUT", "POST") else b""
            status, resp = raw(server, method, prefix.encode() + attack, body, headers)
            statuses.add(status)
            assert status in (200, 201, 204, 400, 404, 405, 414, 431), (method, prefix, attack[:80], status)
            assert b"TOP-SECRET-OUTSIDE" not in resp and b"root:x:0:0" not in resp, (method, prefix, attack[:80])
    # Nothing outside the data dir changed; the secret is intact; every write stayed inside data/ or memfs.
    after = tree(server.tmp)
    new_outside = [p for p in after if p not in before_outside and not p.startswith("data")
                   and not p.startswith("db") and not p.startswith("stderr") and not p.startswith("config")]
    assert new_outside == [], new_outside
    assert (outside / "secret.txt").read_text() == "TOP-SECRET-OUTSIDE"
    for p in data.rglob("*"):
        assert p.resolve().is_relative_to(data.resolve()), p
    assert server.get("/ping").status == 200
    assert 404 in statuses


@pytest.fixture
def s3rver(tmp_path):
    """npm s3rver behind tests/peers/s3rver_start.mjs (strict SigV4 check), on 127.0.0.1."""
    from conftest import REPO
    if not (REPO / "web" / "node_modules" / "s3rver" / "package.json").exists():
        pytest.skip("npm s3rver is not installed (scripts/install-deps.sh)")
    proc = subprocess.Popen(["node", str(REPO / "tests" / "peers" / "s3rver_start.mjs"), "--port", "0",
                             "--bucket", "media", "--dir", str(tmp_path / "s3data")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info = json.loads(proc.stdout.readline())
    yield info["port"]
    proc.terminate()
    proc.wait(10)


def s3_config(port, secret="S3RVER"):
    return json.dumps([{"name": "s3media", "mountpoint": "/s3", "endpoint": f"127.0.0.1:{port}", "bucket": "media",
                        "access_key_id": "S3RVER", "secret_access_key": secret, "region": "us-east-1", "use_ssl": False,
                        "auth": {"enable": True, "username": "s3user", "password": "s3pass"}}])


def test_live_hls_on_s3_plays_and_is_cleaned_up(make_server, s3rver):
    server = make_server(env={"CORE_STORAGE_S3": s3_config(s3rver)})
    token = server.token()
    mounts = {m["name"]: m for m in server.get("/api/v3/fs", token=token).json()}
    assert mounts["s3media"] == {"name": "s3media", "type": "s3", "mount": "/s3"}
    run_hls_delivery(server, token, "s3hls", "{fs:s3media}", "s3media", "s3media", "/s3")
    # The mount's own Basic auth guards writes; reads are public; the secret never shows in the config API.
    assert server.put("/s3/x.ts", b"x").status == 401
    auth = {"Authorization": "Basic " + base64.b64encode(b"s3user:s3pass").decode()}
    assert server.put("/s3/x.ts", b"abc", headers=auth).status == 201
    assert server.get("/s3/x.ts").body == b"abc"
    r = server.get("/s3/x.ts", headers={"Range": "bytes=1-"})
    assert r.status == 206 and r.body == b"bc"
    s3cfg = server.get("/api/v3/config", token=token).json()["config"]["storage"]["s3"][0]
    assert s3cfg["secret_access_key"] != "S3RVER" and s3cfg["auth"]["password"] != "s3pass", s3cfg


def test_s3_with_a_wrong_secret_reports_the_error(make_server, s3rver):
    server = make_server(env={"CORE_STORAGE_S3": s3_config(s3rver, secret="not-the-secret")})
    auth = {"Authorization": "Basic " + base64.b64encode(b"s3user:s3pass").decode()}
    r = server.put("/s3/y.ts", b"abc", headers=auth)
    assert r.status == 400 and "SignatureDoesNotMatch" in " ".join(r.json()["details"]), r.body
    assert "not-the-secret" not in server.stderr()
