#!/usr/bin/env python3
"""Writes the Grafana dashboards of Dragon Core (webrtc-health.json, processes-system.json) next to this
file. Edit the panels here and re-run: `python3 deploy/observability/dashboards/generate.py`.

Every expression uses only $core (a multi-value variable over the `core` label) and $__rate_interval,
so a test can evaluate them through Prometheus's HTTP API after substituting `.*` and `1m`."""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}


class Board:
    def __init__(self, uid, title, description, core_metric):
        self.uid, self.title, self.description, self.core_metric = uid, title, description, core_metric
        self.panels = []
        self.y = 0
        self.x = 0
        self.row_h = 0
        self.next_id = 1

    def row(self, title):
        self.newline()
        self.panels.append({"type": "row", "title": title, "id": self._id(), "collapsed": False, "panels": [],
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}})
        self.y += 1

    def newline(self):
        if self.x:
            self.y += self.row_h
            self.x, self.row_h = 0, 0

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def panel(self, title, targets, kind="timeseries", w=12, h=8, unit="short", description="", stack=False,
              min0=True, thresholds=None, legend=True):
        if self.x + w > 24:
            self.newline()
        p = {"type": kind, "title": title, "id": self._id(), "datasource": DS, "description": description,
             "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
             "targets": [{"refId": chr(65 + i), "datasource": DS, "expr": e, "legendFormat": l,
                          "range": kind != "table", "instant": kind == "table",
                          **({"format": "table"} if kind == "table" else {})}
                         for i, (e, l) in enumerate(targets)],
             "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": {}}
        d = p["fieldConfig"]["defaults"]
        if min0 and kind in ("timeseries", "stat"):
            d["min"] = 0
        if thresholds:
            d["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None}] +
                               [{"color": c, "value": v} for v, c in thresholds]}
        if kind == "timeseries":
            d["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if stack else 0,
                           "stacking": {"mode": "normal" if stack else "none", "group": "A"},
                           "showPoints": "never", "spanNulls": True}
            p["options"] = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": legend},
                            "tooltip": {"mode": "multi", "sort": "desc"}}
        elif kind == "stat":
            p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                            "colorMode": "value", "graphMode": "area", "textMode": "auto"}
        elif kind == "table":
            p["transformations"] = [{"id": "merge", "options": {}},
                                    {"id": "organize", "options": {"excludeByName": {"Time": True}}}]
        self.panels.append(p)
        self.x += w
        self.row_h = max(self.row_h, h)

    def write(self, name):
        board = {
            "uid": self.uid, "title": self.title, "description": self.description, "tags": ["dragon-core"],
            "timezone": "browser", "schemaVersion": 39, "version": 1, "editable": True, "refresh": "30s",
            "time": {"from": "now-3h", "to": "now"}, "graphTooltip": 1,
            "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                      "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                      "name": "Annotations & Alerts", "type": "dashboard"}]},
            "templating": {"list": [
                {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                 "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
                {"name": "core", "label": "core", "type": "query", "datasource": DS,
                 "query": {"query": f"label_values({self.core_metric}, core)", "refId": "core"},
                 "definition": f"label_values({self.core_metric}, core)", "refresh": 2, "includeAll": True,
                 "multi": True, "allValue": ".*", "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                 "sort": 1, "hide": 0, "options": []},
            ]},
            "panels": self.panels,
        }
        (HERE / name).write_text(json.dumps(board, indent=2) + "\n")


C = '{core=~"$core"}'
R = "$__rate_interval"


def sel(label, value, op="="):
    return '{core=~"$core",' + label + op + '"' + value + '"}'


def webrtc():
    b = Board("dragon-core-webrtc", "Dragon Core / WebRTC health",
              "WHEP viewers of dragon-core: sessions, setup latency, errors, throughput, ICE, NACK/PLI, GOP cache, "
              "drops (the dragonfork_webrtc_* family, docs/observability.md).", "dragonfork_webrtc_sessions_active")
    b.row("Sessions")
    b.panel("Viewers now", [(f"sum(dragonfork_webrtc_sessions_active{C})", "viewers")], kind="stat", w=4, h=6)
    b.panel("Setup p95 (POST → first keyframe)",
            [(f"histogram_quantile(0.95, sum by (le) (rate(dragonfork_webrtc_setup_seconds_bucket{C}[{R}])))", "p95")],
            kind="stat", w=4, h=6, unit="s", thresholds=[(1, "orange"), (2, "red")])
    b.panel("WHEP error ratio",
            [(f"sum(rate(dragonfork_webrtc_errors_total{C}[{R}])) / (sum(rate(dragonfork_webrtc_errors_total{C}[{R}]))"
              f" + sum(rate(dragonfork_webrtc_sessions_total{C}[{R}])))", "errors / POSTs")],
            kind="stat", w=4, h=6, unit="percentunit", thresholds=[(0.05, "orange"), (0.1, "red")])
    b.panel("GOP-cache hit ratio",
            [(f'sum(rate(dragonfork_webrtc_gop_cache_total{sel("result", "hit")}[{R}])) / '
              f"sum(rate(dragonfork_webrtc_gop_cache_total{C}[{R}]))", "hits")],
            kind="stat", w=4, h=6, unit="percentunit", min0=True)
    b.panel("Sent", [(f"sum(rate(dragonfork_webrtc_bytes_sent_total{C}[{R}])) * 8", "bit/s")],
            kind="stat", w=4, h=6, unit="bps")
    b.panel("ICE failures (1 h)", [(f"sum(increase(dragonfork_webrtc_ice_failures_total{C}[1h]))", "failures")],
            kind="stat", w=4, h=6, thresholds=[(1, "orange"), (10, "red")])
    b.panel("Viewers by core", [(f"sum by (core) (dragonfork_webrtc_sessions_active{C})", "{{core}}")], stack=True,
            description="WHEP sessions that exist now (dragonfork_webrtc_sessions_active).")
    b.panel("New sessions by outcome", [(f"sum by (outcome) (rate(dragonfork_webrtc_sessions_total{C}[{R}]))", "{{outcome}}")],
            unit="ops", stack=True,
            description="Sessions created by a WHEP POST, by the outcome of their setup (connected, ice_failed, dtls_failed).")
    b.panel("Sessions ended by reason",
            [(f"sum by (reason) (rate(dragonfork_webrtc_sessions_ended_total{C}[{R}]))", "{{reason}}")], unit="ops", stack=True,
            description="deleted (WHEP DELETE), bye (RTCP BYE), process_stopped, consent_expired, ice_timeout, dtls_failed.")
    b.panel("Setup latency (POST → first keyframe sent)",
            [(f"histogram_quantile({q}, sum by (le) (rate(dragonfork_webrtc_setup_seconds_bucket{C}[{R}])))", f"p{int(q * 100)}")
             for q in (0.5, 0.95, 0.99)], unit="s",
            description="dragonfork_webrtc_setup_seconds: from the WHEP POST to the first keyframe sent to the viewer.")
    b.row("Errors and failures")
    b.panel("WHEP errors by status code", [(f"sum by (code) (rate(dragonfork_webrtc_errors_total{C}[{R}]))", "{{code}}")],
            unit="ops", stack=True,
            description="dragonfork_webrtc_errors_total{code}: 400 bad SDP, 401 token, 404 unknown/stopped process, 406 codec, "
                        "415 content type, 503 viewer cap or no media yet, 504 ICE timeout.")
    b.panel("ICE failures", [(f"sum(rate(dragonfork_webrtc_ice_failures_total{C}[{R}]))", "ICE/DTLS not completed"),
                             (f"sum(rate(dragonfork_webrtc_ice_failures_total{C}[{R}])) / sum(rate(dragonfork_webrtc_sessions_total{C}[{R}]))",
                              "ratio of new sessions")],
            unit="short", description="Viewers whose ICE/DTLS did not complete within webrtc.ice_timeout_seconds.")
    b.panel("Send drops", [(f"sum(rate(dragonfork_webrtc_send_drops_total{C}[{R}]))", "packets dropped / s")], unit="pps",
            description="Packets not sent because a viewer's socket buffer was full (slow viewer, saturated uplink or CPU).")
    b.panel("Ingest packets (FFmpeg → dragon-core)",
            [(f"sum by (result) (rate(dragonfork_webrtc_ingest_packets_total{C}[{R}]))", "{{result}}")], unit="pps",
            description="RTP packets of the processes' WebRTC legs; invalid ones are dropped.")
    b.row("Throughput and feedback")
    b.panel("Bytes sent to viewers", [(f"sum by (core) (rate(dragonfork_webrtc_bytes_sent_total{C}[{R}])) * 8", "{{core}}")],
            unit="bps")
    b.panel("Packets sent to viewers", [(f"sum by (core) (rate(dragonfork_webrtc_packets_sent_total{C}[{R}]))", "{{core}}")],
            unit="pps")
    b.panel("NACK, retransmits, PLI", [
        (f"sum(rate(dragonfork_webrtc_nacks_received_total{C}[{R}]))", "NACKed packets / s"),
        (f"sum(rate(dragonfork_webrtc_retransmits_total{C}[{R}]))", "retransmits / s"),
        (f"sum(rate(dragonfork_webrtc_plis_received_total{C}[{R}]))", "PLI+FIR / s")], unit="short",
        description="Sequence numbers viewers asked for, packets resent from the history, picture loss indications.")
    b.panel("Loss signals per packet sent", [
        (f"sum(rate(dragonfork_webrtc_nacks_received_total{C}[{R}])) / sum(rate(dragonfork_webrtc_packets_sent_total{C}[{R}]))",
         "NACKed / sent"),
        (f"sum(rate(dragonfork_webrtc_retransmits_total{C}[{R}])) / sum(rate(dragonfork_webrtc_nacks_received_total{C}[{R}]))",
         "retransmitted / NACKed")], unit="percentunit")
    b.panel("GOP cache", [(f"sum by (result) (rate(dragonfork_webrtc_gop_cache_total{C}[{R}]))", "{{result}}")], unit="ops",
            stack=True, description="hit: the viewer started from the cached keyframe at once; miss: it waited for the next one.")
    b.write("webrtc-health.json")


def system():
    b = Board("dragon-core-processes-system", "Dragon Core / Processes and system",
              "FFmpeg processes (restream) and the host, from upstream datarhei Core's Prometheus names "
              "(docs/observability.md).", "uptime_seconds")
    b.row("Server")
    b.panel("Uptime", [(f"max(uptime_seconds{C})", "uptime")], kind="stat", w=4, h=6, unit="s")
    b.panel("CPU busy", [(f"100 - avg(cpu_idle_time_percent{C})", "busy")], kind="stat", w=4, h=6, unit="percent",
            thresholds=[(70, "orange"), (90, "red")])
    b.panel("Memory used", [(f"1 - sum(mem_free_bytes{C}) / sum(mem_total_bytes{C})", "used")], kind="stat", w=4, h=6,
            unit="percentunit", thresholds=[(0.8, "orange"), (0.95, "red")])
    b.panel("Processes running", [(f'sum(ffmpeg_states{sel("state", "running")})', "running")], kind="stat", w=4, h=6)
    b.panel("Processes failed", [(f'sum(ffmpeg_states{sel("state", "failed")})', "failed")], kind="stat", w=4, h=6,
            thresholds=[(1, "red")])
    b.panel("Viewers (all collectors)", [(f"sum(session_active{C})", "sessions")], kind="stat", w=4, h=6)
    b.panel("CPU", [(f"avg by (core) (cpu_{k}_time_percent{C})", f"{k} {{{{core}}}}") for k in ("user", "system", "other")],
            unit="percent", stack=True, description="cpu_*_time_percent (cgroup-aware when the server runs in one).")
    b.panel("Memory", [(f"sum by (core) (mem_total_bytes{C}) - sum by (core) (mem_free_bytes{C})", "used {{core}}"),
                       (f"sum by (core) (mem_total_bytes{C})", "total {{core}}")], unit="bytes")
    b.panel("Network", [(f"sum by (interface) (rate(net_rx_bytes{C}[{R}])) * 8", "rx {{interface}}"),
                        (f"sum by (interface) (rate(net_tx_bytes{C}[{R}])) * -8", "tx {{interface}}")], unit="bps", min0=False,
            description="net_rx_bytes / net_tx_bytes per interface; transmit drawn below zero.")
    b.panel("Disk and filesystems", [(f"sum by (path) (disk_usage_bytes{C}) / sum by (path) (disk_total_bytes{C})", "disk {{path}}"),
                                     (f"sum by (name) (filesystem_usage_bytes{C}) / sum by (name) (filesystem_limit_bytes{C} > 0)",
                                      "fs {{name}}")], unit="percentunit",
            description="Volume of storage.disk.dir, and each filesystem against its limit (unlimited ones are left out).")
    b.row("Processes")
    b.panel("Processes by state", [(f"sum by (state) (ffmpeg_states{C})", "{{state}}")], stack=True,
            description="ffmpeg_states{state}: how many processes are in each exec state now.")
    b.panel("State changes", [(f"sum by (state) (rate(ffmpeg_states_total{C}[{R}]))", "{{state}}")], unit="ops",
            description="ffmpeg_states_total{state}: states entered, all processes together.")
    b.panel("Starts per process (1 h)", [(f'sum by (process) (increase(ffmpeg_process_states{sel("state", "starting")}[1h]))',
                                          "{{process}}")],
            description="A process that starts again and again is in a restart loop (alert ProcessRestartLoop).")
    b.panel("Failures per process (1 h)", [(f'sum by (process, state) (increase(ffmpeg_process_states{sel("state", "failed|killed", "=~")}[1h]))',
                                            "{{process}} {{state}}")])
    b.panel("CPU per process", [(f'sum by (process) (ffmpeg_process{sel("name", "cpu")})', "{{process}}")], unit="percent",
            description="ffmpeg_process{name=\"cpu\"}: the FFmpeg child's CPU in percent of one core.")
    b.panel("Memory per process", [(f'sum by (process) (ffmpeg_process{sel("name", "memory")})', "{{process}}")], unit="bytes")
    b.panel("Process table", [
        (f'max by (process, state, order) (ffmpeg_process{sel("name", "uptime")})', "uptime"),
        (f'max by (process, state, order) (ffmpeg_process{sel("name", "cpu")})', "cpu"),
        (f'max by (process, state, order) (ffmpeg_process{sel("name", "memory")})', "memory"),
        (f'max by (process, state, order) (ffmpeg_process{sel("name", "fps")})', "fps"),
        (f'max by (process, state, order) (ffmpeg_process{sel("name", "bitrate")})', "bitrate")],
        kind="table", w=24, h=9, description="One row per process: its state and order, uptime (s), CPU (%), memory (bytes), fps, bitrate (kbit/s).")
    b.row("Sessions")
    b.panel("Active sessions by collector", [(f"sum by (collector) (session_active{C})", "{{collector}}")], stack=True)
    b.panel("Session traffic", [(f"sum by (collector) (rate(session_tx_bytes{C}[{R}])) * 8", "tx {{collector}}"),
                                (f"sum by (collector) (rate(session_rx_bytes{C}[{R}])) * 8", "rx {{collector}}")], unit="bps")
    b.write("processes-system.json")


if __name__ == "__main__":
    webrtc()
    system()
