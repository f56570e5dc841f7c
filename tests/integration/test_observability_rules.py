"""deploy/observability: the alert rules pass `promtool check rules`, their unit tests (alerts_test.yml:
each alert fires on a synthetic series and stays quiet on healthy ones) pass `promtool test rules`, the
Prometheus config is valid, and every PromQL expression of the Grafana dashboards parses."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OBS = REPO / "deploy" / "observability"
PROMTOOL = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)

pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus)")


def promtool(*args, cwd=OBS):
    p = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def test_check_rules():
    code, out = promtool("check", "rules", "alerts.yml")
    assert code == 0, out
    assert "SUCCESS" in out


def test_rule_unit_tests():
    code, out = promtool("test", "rules", "alerts_test.yml")
    assert code == 0, out
    assert "SUCCESS" in out


def test_every_alert_is_tested_and_documented():
    import yaml
    rules = yaml.safe_load((OBS / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load((OBS / "alerts_test.yml").read_text())
    tested = {t["alertname"] for tc in tests["tests"] for t in tc.get("alert_rule_test", []) if t.get("exp_alerts")}
    assert alerts - tested == set(), "alerts without a firing unit test"
    doc = (REPO / "docs" / "observability.md").read_text()
    for a in alerts:
        assert f"### {a}" in doc, f"{a} has no runbook section in docs/observability.md"
        rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == a)
        assert rule["annotations"].get("summary"), a
        assert rule["annotations"]["runbook_url"].endswith("#" + a.lower()), a


def test_prometheus_config():
    code, out = promtool("check", "config", "prometheus.yml")
    assert code == 0, out


def test_dashboard_expressions_parse(tmp_path):
    import yaml
    exprs = []
    for name in ("webrtc-health.json", "processes-system.json"):
        board = json.loads((OBS / "dashboards" / name).read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                exprs.append(target["expr"].replace("$__rate_interval", "1m").replace("$core", ".*"))
    assert len(exprs) > 40
    rules = {"groups": [{"name": "dashboards", "rules": [{"record": f"dashboard:expr_{i}", "expr": e}
                                                          for i, e in enumerate(exprs)]}]}
    f = tmp_path / "dashboard_exprs.yml"
    f.write_text(yaml.safe_dump(rules))
    code, out = promtool("check", "rules", str(f))
    assert code == 0, out
