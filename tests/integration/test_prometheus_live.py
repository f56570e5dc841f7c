"""Issue 9's live check: Debian's Prometheus scrapes a running dragon-core (one FFmpeg process with
WebRTC, one WHEP viewer from aiortc) with our scrape config and rules; `promtool check metrics` on
a live scrape reports nothing; every PromQL expression of both dashboards and every rule evaluates
through Prometheus's HTTP API without error and returns data where the panel expects data; and the
Restreamer UI's metric queries (POST /api/v3/metrics) answer in upstream's shape."""
import json
import re
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from conftest import REPO, free_port, request
from test_webrtc import AIORTC_PYTHON, CLIENT, start_process, webrtc_env, webrtc_process, wait_for

OBS = REPO / "deploy" / "observability"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

pytestmark = pytest.mark.skipif(not Path(PROMETHEUS).exists() or not Path(PROMTOOL).exists(),
                                reason="Debian's prometheus package is not installed")


def dashboard_exprs():
    out = []
    for f in sorted((OBS / "dashboards").glob("*.json")):
        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k == "expr" and isinstance(v, str):
                        out.append((f.name, v))
                    else:
                        walk(v)
            elif isinstance(o, list):
                for x in o:
                    walk(x)
        walk(json.loads(f.read_text()))
    return out


def rule_exprs():
    doc = yaml.safe_load((OBS / "alerts.yml").read_text())
    return [(r.get("alert") or r.get("record"), r["expr"]) for g in doc["groups"] for r in g["rules"]]


def test_prometheus_scrapes_and_every_dashboard_and_rule_query_evaluates(make_server, tmp_path):
    s = make_server(env=webrtc_env({"CORE_METRICS_ENABLE": "true", "CORE_METRICS_INTERVAL_SECONDS": "1"}))
    token = s.token()
    start_process(s, token, webrtc_process("obs"))
    viewer = subprocess.Popen([AIORTC_PYTHON, str(CLIENT), "--url", s.base + "/api/v3/whep/obs", "--token", token,
                               "--frames", "25", "--audio-frames", "0", "--hold", "40"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = viewer.stdout.readline()
    assert '"holding": true' in line, line + viewer.stderr.read()[-2000:]
    # One WHEP error so the errors-by-code panels have a series with data.
    assert request("POST", s.base + "/api/v3/whep/none", "v=0", headers={"Content-Type": "application/sdp"},
                   token=token).status == 404

    # promtool check metrics on a live scrape reports nothing (upstream's three legacy names aside).
    scrape = s.get("/metrics").body.decode()
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=scrape, capture_output=True, text=True)
    complaints = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
    legacy = ("uptime_seconds", "session_rx_bytes", "session_tx_bytes")
    assert all(any(n in l for n in legacy) for l in complaints), complaints

    # Prometheus with our scrape config (target rewritten to this server) and our rules.
    cfg = yaml.safe_load((OBS / "prometheus.yml").read_text())
    cfg["global"]["scrape_interval"] = "1s"
    cfg["global"]["evaluation_interval"] = "1s"
    for job in cfg["scrape_configs"]:
        job.pop("file_sd_configs", None)
        job["static_configs"] = [{"targets": [f"127.0.0.1:{s.port}"]}]
        job["scrape_interval"] = "1s"
    cfg["rule_files"] = [str(OBS / "alerts.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    port = free_port()
    prom = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"

    def query(expr):
        r = request("GET", base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout=10)
        return r.status, json.loads(r.body)

    def ready():
        try:
            return request("GET", base + "/-/ready", timeout=2).status == 200
        except OSError:
            return False

    try:
        assert wait_for(ready, 30), prom.stderr.read1(4000) if prom.poll() is not None else "not ready"

        # Enough samples for rate() over the dashboards' window.
        assert wait_for(lambda: query('count(up{job="dragon-core"} == 1)')[1]["data"]["result"], 30)
        time.sleep(20)
        failures, empty = [], []
        for where, expr in dashboard_exprs() + rule_exprs():
            e = expr.replace("$__rate_interval", "15s").replace('=~"$core"', '=~".*"').replace("$core", ".*")
            status, body = query(e)
            if status != 200 or body.get("status") != "success":
                failures.append((where, expr, body.get("error")))
            elif where.endswith(".json") and not body["data"]["result"]:
                empty.append((where, expr))
        assert not failures, failures
        # Panels that have no data on a healthy server are fine only when they count failures.
        allowed_empty = ("ice_failures", "send_drops", "restarts", "failed", "errors_total", "quantile",
                         "> 0)")  # ratios over limited filesystems only (memfs is unlimited here)
        unexpected = [(w, e) for w, e in empty if not any(a in e for a in allowed_empty)]
        assert not unexpected, unexpected
        # The rules were loaded and are evaluated without error.
        rules = json.loads(request("GET", base + "/api/v1/rules", timeout=10).body)["data"]["groups"]
        health = [(r["name"], r.get("lastError")) for g in rules for r in g["rules"] if r.get("health") == "err"]
        assert rules and not health, health
    finally:
        prom.terminate()
        prom.wait(timeout=30)
        viewer.kill()
        viewer.wait()


def test_restreamer_ui_metric_queries(make_server):
    s = make_server(env={"CORE_METRICS_ENABLE": "true", "CORE_METRICS_INTERVAL_SECONDS": "2"})
    token = s.token()
    described = {m["name"]: m for m in s.get("/api/v3/metrics", token=token).json()}
    for name in ("uptime_uptime", "cpu_ncpu", "cpu_idle", "mem_total", "mem_free", "filesystem_limit",
                 "filesystem_usage", "session_limit", "session_active", "session_txbitrate", "session_maxtxbitrate",
                 "restream_process", "ffmpeg_process", "net_rx", "disk_total"):
        assert name in described, name
    # The UI's dashboard query (current values).
    body = {"timerange_sec": 0, "metrics": [
        {"name": "uptime_uptime"}, {"name": "cpu_ncpu"}, {"name": "cpu_idle"}, {"name": "mem_total"},
        {"name": "mem_free"}, {"name": "filesystem_limit", "labels": {"name": "memfs"}},
        {"name": "filesystem_usage", "labels": {"name": "memfs"}}]}
    r = s.post("/api/v3/metrics", body, token=token)
    assert r.status == 200, r.body
    got = r.json()
    names = [m["name"] for m in got["metrics"]]
    assert names == sorted(names)
    for m in got["metrics"]:
        assert isinstance(m["values"], list) and len(m["values"]) == 1
        ts, value = m["values"][0]
        assert isinstance(ts, int) and isinstance(value, (int, float))
    fs = [m for m in got["metrics"] if m["name"] == "filesystem_limit"][0]
    assert fs["labels"] == {"name": "memfs"}
    # History: 60 s at 2 s → at most 30 steps, oldest first.
    time.sleep(7)
    r = s.post("/api/v3/metrics", {"timerange_sec": 60, "interval_sec": 2, "metrics": [{"name": "cpu_idle"}]},
               token=token)
    values = r.json()["metrics"][0]["values"]
    assert 2 <= len(values) <= 30
    assert [v[0] for v in values] == sorted(v[0] for v in values)
    # An invalid regex matches nothing; it is not an error.
    r = s.post("/api/v3/metrics", {"metrics": [{"name": "filesystem_usage", "labels": {"name": "(("}}]}, token=token)
    assert r.status == 200 and r.json()["metrics"] == []
    # Malformed queries are refused with what was wrong.
    r = s.post("/api/v3/metrics", {"metrics": {"name": "x"}}, token=token)
    assert r.status == 400 and b"metrics" in r.body
