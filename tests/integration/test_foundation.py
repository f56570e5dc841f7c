"""The foundation over real HTTP: first start, login, tokens, config API, logs, CORS, gzip, TLS,
read-only mode, access lists, start-up errors and graceful shutdown."""
import gzip
import json
import signal
import ssl
import subprocess
import threading
import time

import pytest

from conftest import SHARED, binary, request


def test_version_and_help():
    out = subprocess.run([binary(), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("dragon-core ")
    out = subprocess.run([binary(), "--help"], capture_output=True, text=True, check=True).stdout
    assert "--config FILE" in out
    bad = subprocess.run([binary(), "--nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown option" in bad.stderr


def test_first_start_generates_and_prints_password_once(make_server):
    s = make_server()
    assert "username: admin" in s.stderr()
    assert s.password and len(s.password) >= 20
    stored = json.loads(s.config_path.read_text())
    assert stored["api"]["auth"]["enable"] is True
    assert stored["api"]["auth"]["password"] == s.password
    assert s.stop() == 0
    s.start()  # second start: the stored password, not printed again
    assert s.stderr().count("password: ") <= 1
    assert s.login()["access_token"]
    # The generated password never reaches the log API.
    log = s.get("/api/v3/log", token=s.token()).json()
    assert not any(s.password in line for line in log)


def test_about_without_and_with_token(server):
    r = server.get("/api")
    assert r.status == 200
    body = r.json()
    assert body["app"] == "datarhei-core"
    assert body["auths"] == ["localjwt"]
    assert "id" not in body and body["version"] == {"number": "16.0.0"}
    full = server.get("/api", token=server.token()).json()
    assert full["id"] and full["name"]
    assert full["version"]["number"] == "16.16.0"
    assert full["uptime_seconds"] >= 0
    bad = server.get("/api", token="not.a.token").json()
    assert "id" not in bad


def test_login_refresh_and_token_rules(server):
    tokens = server.login()
    assert server.get("/api/v3/config", token=tokens["access_token"]).status == 200
    # A refresh token is not an access token and vice versa.
    assert server.get("/api/v3/config", token=tokens["refresh_token"]).status == 401
    assert server.get("/api/login/refresh", token=tokens["access_token"]).status == 401
    r = server.get("/api/login/refresh", token=tokens["refresh_token"])
    assert r.status == 200 and set(r.json()) == {"access_token"}
    assert server.get("/api/v3/config", token=r.json()["access_token"]).status == 200
    # Tampered token.
    head, payload, sig = tokens["access_token"].split(".")
    assert server.get("/api/v3/config", token=f"{head}.{payload}x.{sig}").status == 401
    # alg=none.
    import base64
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    assert server.get("/api/v3/config", token=f"{none_head}.{payload}.").status == 401


def test_failed_login_is_delayed(server):
    t0 = time.time()
    r = server.post("/api/login", {"username": "admin", "password": "wrong"})
    assert r.status == 401
    assert time.time() - t0 >= 4.9
    assert r.json()["details"] == ["Invalid authorization credentials: invalid username or password"]
    r = server.post("/api/login", "{}", headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["details"] == ["Missing authorization credentials"]


def test_config_put_roundtrip_persists_and_keeps_secrets(server):
    token = server.token()
    view = server.get("/api/v3/config", token=token).json()
    cfg = view["config"]
    assert cfg["api"]["auth"]["password"] == "********"
    assert cfg["api"]["auth"]["jwt"]["secret"] == "********"
    assert cfg["storage"]["memory"]["auth"]["password"] == "********"
    assert "webrtc" in cfg
    assert "address" in view["overrides"]
    cfg["name"] = "renamed-by-test"
    r = server.put("/api/v3/config", cfg, token=token)
    assert r.status == 200, r.body
    assert r.json() == "OK"
    assert server.get("/api/v3/config", token=token).json()["config"]["name"] == "renamed-by-test"
    on_disk = json.loads(server.config_path.read_text())
    assert on_disk["name"] == "renamed-by-test"
    # The redaction marker written back did not wipe the secrets.
    assert on_disk["api"]["auth"]["password"] == server.password
    assert server.login()


def test_config_put_rejects_bad_input_and_changes_nothing(server):
    token = server.token()
    before = server.config_path.read_text()
    r = server.put("/api/v3/config", '{"name": ', token=token, headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert r.json()["message"] == "Invalid JSON"
    assert "line 1" in r.json()["details"][0]
    r = server.put("/api/v3/config", {"version": 3, "log": {"level": "loud"}}, token=token)
    assert r.status == 409, r.body
    assert "log.level" in r.json()
    r = server.put("/api/v3/config", {"version": 3, "api": {"auth": {"enable": "yes"}}}, token=token)
    assert r.status == 409 and "api.auth.enable" in r.json()
    r = server.put("/api/v3/config", {"version": 7}, token=token)
    assert r.status == 400
    assert server.config_path.read_text() == before
    assert server.get("/api/v3/config", token=token).json()["config"]["log"]["level"] == "info"


def test_config_reload_applies_stored_config(server):
    token = server.token()
    cfg = server.get("/api/v3/config", token=token).json()["config"]
    cfg["name"] = "after-reload"
    assert server.put("/api/v3/config", cfg, token=token).status == 200
    assert server.get("/api/v3/config/reload", token=token).json() == "OK"
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            about = server.get("/api", token=server.token(), timeout=2).json()
            if about.get("name") == "after-reload":
                break
        except (OSError, AssertionError):
            pass
        time.sleep(0.1)
    else:
        pytest.fail("reload did not apply the stored name")


def test_log_formats(server):
    token = server.token()
    lines = server.get("/api/v3/log", token=token).json()
    assert any('component="HTTP"' in l and "Server started" in l for l in lines)
    assert all(l.startswith("ts=") for l in lines)
    raw = server.get("/api/v3/log?format=raw", token=token).json()
    assert all({"ts", "component", "message"} <= set(e) for e in raw)
    assert server.get("/api/v3/log?format=xml", token=token).status == 400


def test_cors_preflight_and_gzip(server):
    r = request("OPTIONS", server.base + "/api/v3/config",
                headers={"Origin": "http://ui.example", "Access-Control-Request-Method": "PUT",
                         "Access-Control-Request-Headers": "authorization,content-type"})
    assert r.status == 204
    assert r.headers["Access-Control-Allow-Origin"] == "http://ui.example"
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    r = server.get("/api/v3/config", token=server.token(), headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(r.body))["config"]["version"] == 3


def test_pretty_json_and_error_shape(server):
    r = server.get("/api/v3/config?pretty", token=server.token())
    assert r.body.startswith(b"{\n")
    r = server.get("/api/v3/process")  # no token: upstream's exact 401
    assert r.status == 401
    assert r.json() == {"code": 401, "message": "Unauthorized", "details": ["Missing or invalid JWT token"]}
    assert r.headers["Content-Type"] == "application/json"


def test_swagger_ui_and_document(server):
    r = server.get("/api/swagger/index.html")
    assert r.status == 200 and b"swagger-ui-bundle.js" in r.body
    assert server.get("/api/swagger/swagger-ui-bundle.js").status == 200
    doc = server.get("/api/swagger/doc.json").json()
    assert doc["openapi"].startswith("3.") and "/api/v3/config" in doc["paths"]


def test_read_only_mode_removes_writes(make_server):
    s = make_server(env={"CORE_API_READ_ONLY": "true"})
    token = s.token()
    assert s.get("/api/v3/config", token=token).status == 200
    assert s.put("/api/v3/config", {"version": 3}, token=token).status == 405


def test_access_block_list(make_server):
    s = make_server(env={"CORE_API_ACCESS_HTTP_BLOCK": "127.0.0.1/32"})
    assert s.get("/ping").status == 200  # not part of the API group
    r = s.get("/api")
    assert r.status == 403


def test_invalid_env_value_stops_startup_naming_key(make_server):
    s = make_server(env={"CORE_LOG_LEVEL": "loud"}, start=False)
    s.start(wait=False)
    assert s.proc.wait(30) != 0
    assert "log.level" in s.stderr()
    s.proc = None


def test_broken_config_file_is_reported_and_left_alone(make_server):
    s = make_server(start=False)
    s.config_path.parent.mkdir(parents=True, exist_ok=True)
    s.config_path.write_text('{\n  "version": 3,\n  "name": oops\n}\n')
    s.start(wait=False)
    assert s.proc.wait(30) != 0
    err = s.stderr()
    assert "line 3" in err
    assert s.config_path.read_text() == '{\n  "version": 3,\n  "name": oops\n}\n'
    s.proc = None


def test_sigterm_lets_in_flight_request_finish(server):
    result = {}

    def slow_login():
        result["r"] = server.post("/api/login", {"username": "admin", "password": "wrong"})

    t = threading.Thread(target=slow_login)
    t.start()
    time.sleep(1.0)
    server.proc.send_signal(signal.SIGTERM)
    t.join(20)
    assert result["r"].status == 401
    assert server.proc.wait(20) == 0


def test_tls_with_http_sidecar(make_server, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    from conftest import free_port
    tls_port = free_port()
    s = make_server(env={"CORE_TLS_ENABLE": "true", "CORE_TLS_ADDRESS": f"127.0.0.1:{tls_port}",
                         "CORE_TLS_CERT_FILE": str(cert), "CORE_TLS_KEY_FILE": str(key)})
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False
    r = request("GET", f"https://127.0.0.1:{tls_port}/api", context=ctx)
    assert r.status == 200 and r.json()["app"] == "datarhei-core"
    assert s.get("/ping").status == 200  # the plain-HTTP sidecar


def test_api_shape_matches_upstream_for_foundation_calls(server):
    only = ["get_api", "post_api_login", "post_api_login_wrong_password", "get_process_list_no_auth",
            "get_api_login_refresh", "get_api_authenticated", "get_config", "get_log"]
    tool = SHARED / "tools" / "api_shape_check.py"
    if not tool.exists():
        pytest.skip("shared/tools/api_shape_check.py not present")
    r = subprocess.run(["python3", str(tool), server.base, "--user", "admin", "--password", server.password,
                        "--only", *only], capture_output=True, text=True, timeout=300)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
