"""Starts real dragon-core processes on 127.0.0.1 for the integration tests."""
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def binary() -> str:
    path = os.environ.get("DRAGON_BIN", str(REPO / "build" / "src" / "dragon-core"))
    if not Path(path).exists():
        pytest.exit(f"dragon-core binary not found at {path} (set DRAGON_BIN)", returncode=2)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def request(method, url, body=None, headers=None, token=None, timeout=30, context=None):
    headers = dict(headers or {})
    data = None
    if body is not None:
        if isinstance(body, (dict, list)) or body == "OK":
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


class Server:
    """One dragon-core process with its own config file and data directories."""

    def __init__(self, tmp: Path, env=None, config=None, args=None):
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config_path = tmp / "config" / "config.json"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp),
            "CORE_CONFIGFILE": str(self.config_path),
            "CORE_ADDRESS": f"127.0.0.1:{self.port}",
            "CORE_DB_DIR": str(tmp / "db"),
            "CORE_STORAGE_DISK_DIR": str(tmp / "data"),
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
            "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", ""),
        }
        self.env.update(env or {})
        if config is not None:
            self.config_path.parent.mkdir(parents=True, exist_ok=True)
            self.config_path.write_text(json.dumps(config, indent=4))
        self.args = args or []
        self.proc = None
        self.stderr_path = tmp / f"stderr-{self.port}.log"
        self.password = None
        self.username = "admin"

    def start(self, wait=True):
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([binary(), *self.args], cwd=self.tmp, env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr_file)
        if wait:
            self.wait_ready()
        return self

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dragon-core exited with {self.proc.returncode}:\n{self.stderr()}")
            try:
                if request("GET", self.base + "/ping", timeout=2).status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError("dragon-core did not answer /ping:\n" + self.stderr())
        m = re.search(r"password: (\S+)", self.stderr())
        if m:
            self.password = m.group(1)
        elif self.config_path.exists():
            self.password = json.loads(self.config_path.read_text())["api"]["auth"]["password"]

    def stop(self, sig=signal.SIGTERM, timeout=30) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def login(self):
        r = request("POST", self.base + "/api/login", {"username": self.username, "password": self.password})
        assert r.status == 200, r.body
        return r.json()

    def token(self):
        return self.login()["access_token"]

    def get(self, path, **kw):
        return request("GET", self.base + path, **kw)

    def put(self, path, body=None, **kw):
        return request("PUT", self.base + path, body, **kw)

    def post(self, path, body=None, **kw):
        return request("POST", self.base + path, body, **kw)

    def request_delete(self, path, **kw):
        return request("DELETE", self.base + path, **kw)


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def factory(env=None, config=None, args=None, start=True, sub="srv"):
        d = tmp_path / f"{sub}{len(servers)}"
        d.mkdir()
        s = Server(d, env=env, config=config, args=args)
        servers.append(s)
        if start:
            s.start()
        return s

    yield factory
    for s in servers:
        code = s.stop()
        # A sanitizer report makes the process exit non-zero: fail the test that caused it.
        assert code == 0, f"dragon-core exited with {code}:\n{s.stderr()[-4000:]}"


@pytest.fixture
def server(make_server):
    return make_server()
