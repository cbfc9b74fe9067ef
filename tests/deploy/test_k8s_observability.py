"""deploy/render_observability.py: the alerts and dashboards of deploy/observability as the objects a
kube-prometheus-stack loads (before, only docker-compose loaded them), and the dashboards' job names on EKS."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import kubernetes_validate
import yaml

from deploy.render_observability import render
from tests.deploy.test_observability import (ALERTS, DASHBOARD_DIR, DASHBOARDS, ROOT, load_dashboards,
                                             promtool_exe, run)

KONG_JOB_ON_EKS = "kong-kong-proxy"
"""The chart's ServiceMonitor sets jobLabel to the release name, a label no Service has, so the operator names
Kong's job after the proxy Service: <release>-kong-proxy, with make eks/deploy's release `kong`."""


def objects(namespace: str = "llm-gateway", release: str = "monitoring") -> dict[str, list[dict]]:
    by_kind: dict[str, list[dict]] = {}
    for document in render(namespace, release):
        by_kind.setdefault(document["kind"], []).append(document)
    return by_kind


def test_the_prometheus_rule_is_the_alert_rules_file(tmp_path):
    """One source of truth: the PrometheusRule's groups are the file's, which promtool checks and unit-tests."""
    (rule,) = objects(namespace="gw", release="monitoring")["PrometheusRule"]
    assert rule["metadata"]["namespace"] == "gw" and rule["metadata"]["labels"]["release"] == "monitoring"
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"]
    extracted = tmp_path / "rules.yml"
    extracted.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    proc = run([promtool_exe(), "check", "rules", str(extracted)], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_dashboard_is_a_config_map_grafana_s_sidecar_loads():
    maps = objects()["ConfigMap"]
    assert sorted(name for m in maps for name in m["data"]) == sorted(DASHBOARDS)
    for config_map in maps:
        kubernetes_validate.validate(config_map, "1.30", strict=True)
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((name, text),) = config_map["data"].items()
        assert json.loads(text) == json.loads((DASHBOARD_DIR / name).read_text())


def test_the_plugin_server_servicemonitor_carries_the_release_label():
    (monitor,) = objects(namespace="gw", release="monitoring")["ServiceMonitor"]
    assert monitor["metadata"]["labels"]["release"] == "monitoring" and monitor["metadata"]["namespace"] == "gw"
    assert monitor["spec"]["jobLabel"] == "prometheus-job"


def test_the_command_prints_objects_kubectl_applies():
    done = subprocess.run([sys.executable, "-m", "deploy.render_observability", "--release", "monitoring"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    kinds = [document["kind"] for document in yaml.safe_load_all(done.stdout)]
    assert kinds == ["ServiceMonitor", "PrometheusRule"] + ["ConfigMap"] * len(DASHBOARDS)


def test_the_scrape_targets_panel_finds_kong_under_compose_and_on_eks():
    """On EKS Kong's job is the proxy Service's name: the panel's `kong|kong-plugin-server` showed no Kong."""
    (panel,) = [p for p in load_dashboards()["kong-gateway.json"]["panels"] if p.get("title") == "Scrape targets"]
    (pattern,) = re.findall(r'job=~"([^"]+)"', panel["targets"][0]["expr"])
    for job in ("kong", KONG_JOB_ON_EKS, "kong-plugin-server"):
        assert re.fullmatch(pattern, job), job
