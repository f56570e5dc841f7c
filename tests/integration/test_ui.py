"""The web UI (/ui/) against the real binary: HTTP-level checks of how it is served, and the
end-to-end run in Debian's headless Chromium (tests/browser/ui_e2e.mjs, npm playwright-core)."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, request
from test_webrtc import webrtc_env


def test_ui_is_served_from_the_binary(server):
    s = server
    r = request("GET", s.base + "/", headers={})
    # urllib follows the redirects: / → /ui/ → index.html
    assert r.status == 200 and b'<main id="main"' in r.body
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    c.request("GET", "/")
    res = c.getresponse()
    res.read()
    assert res.status == 302 and res.getheader("Location") == "/ui/"
    c.request("GET", "/ui")
    res = c.getresponse()
    res.read()
    assert res.status == 301 and res.getheader("Location") == "/ui/"
    c.close()
    # Public, like the Swagger UI; content types, validators, CSP on the page.
    r = s.get("/ui/")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-cache" and r.headers["ETag"]
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    etag = r.headers["ETag"]
    assert s.get("/ui/", headers={"If-None-Match": etag}).status == 304
    r = s.get("/ui/js/app.js")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript")
    assert s.get("/ui/app.css").headers["Content-Type"].startswith("text/css")
    r = s.get("/ui/vendor/hls.light.min.mjs")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript") and len(r.body) > 100000
    # Single-page app: its own paths load index.html; missing assets are 404, never HTML.
    r = s.get("/ui/process/abc")
    assert r.status == 200 and b'<main id="main"' in r.body
    assert s.get("/ui/js/missing.js").status == 404
    assert s.get("/ui/../api/v3/config").status in (400, 401, 404)
    # No page loads anything from outside this server.
    for path in ("/ui/index.html", "/ui/js/app.js", "/ui/js/api.js", "/ui/js/player.js", "/ui/js/util.js", "/ui/js/process-form.js"):
        body = s.get(path).body.decode()
        assert not re.search(r"""(src|href)=["']https?:|from\s*["']https?:|import\(\s*["']https?:|url\(\s*["']?https?:""", body), path


def test_router_ui_path_serves_a_folder_instead(make_server, tmp_path):
    ui = tmp_path / "other-ui"
    (ui / "static").mkdir(parents=True)
    (ui / "index.html").write_text("<!doctype html><title>other</title>")
    (ui / "static" / "x.js").write_text("console.log(1)")
    s = make_server(env={"CORE_ROUTER_UI_PATH": str(ui)})
    r = s.get("/ui/")
    assert r.status == 200 and b"<title>other</title>" in r.body
    assert s.get("/ui/static/x.js").headers["Content-Type"].startswith("text/javascript")
    assert b"<title>other</title>" in s.get("/ui/some/page").body
    assert s.get("/ui/static/missing.js").status == 404
    assert s.get("/ui/js/app.js").status == 404  # the embedded UI is not mixed in


def test_ui_end_to_end_in_chromium(make_server):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (scripts/install-deps.sh --tests)")
    if not (REPO / "web" / "node_modules" / "playwright-core").exists():
        pytest.skip("npm playwright-core missing (scripts/install-deps.sh runs npm ci in web/)")
    s = make_server(env=webrtc_env())
    args = ["node", str(REPO / "tests" / "browser" / "ui_e2e.mjs"), "--base", s.base, "--password", s.password]
    if os.environ.get("UI_SCREENSHOTS"):
        args.append("--screenshots")
    p = subprocess.run(args, capture_output=True, text=True, timeout=240)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, p.stdout + p.stderr[-3000:]
    res = json.loads(lines[-1])
    assert res["ok"], json.dumps(res, indent=1) + "\n" + s.stderr()[-3000:]
    assert res["framesDecoded"] > 25 and "H264" in res["videoCodec"], res
    assert res["copied"] == s.base + "/api/v3/whep/ui-e2e"
    assert len(res["jsonErrors"]) == 2
