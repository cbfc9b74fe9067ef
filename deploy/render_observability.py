"""The Kubernetes objects that bring the gateway's alerts and dashboards to a kube-prometheus-stack: a
PrometheusRule made from deploy/observability/alerts/llm-gateway.yml, one ConfigMap per Grafana dashboard (the
sidecar's `grafana_dashboard: "1"` label) and the plugin server's ServiceMonitor, each with the `release` label
the stack's default selectors look for.

Why: only docker-compose loaded the alert rules and dashboards; on EKS nothing did, and a ServiceMonitor without
the release label is never scraped. Made from the same files, so compose and EKS cannot drift apart.

    python -m deploy.render_observability --namespace llm-gateway --release kube-prometheus-stack | kubectl apply -f -
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from deploy.render_config import LiteralDumper

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "deploy" / "observability" / "alerts" / "llm-gateway.yml"
DASHBOARDS = ROOT / "deploy" / "observability" / "grafana" / "dashboards"
SERVICE_MONITOR = ROOT / "helm" / "manifests" / "monitoring" / "plugin-server-servicemonitor.yaml"
PART_OF = {"app.kubernetes.io/part-of": "kong-bedrock-gateway"}
GRAFANA_FOLDER = "LLM gateway"
"""The compose Grafana's folder; the sidecar uses the annotation when its folderAnnotation is grafana_folder."""


def prometheus_rule(namespace: str, release: str) -> dict[str, Any]:
    """The alert rules file as the operator's PrometheusRule: its groups unchanged."""
    labels = {**PART_OF, "release": release}
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "llm-gateway-alerts", "namespace": namespace, "labels": labels},
            "spec": {"groups": yaml.safe_load(ALERTS.read_text())["groups"]}}


def dashboard_config_maps(namespace: str) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard JSON (a ConfigMap holds 1 MiB; one per file keeps each well under)."""
    return [{"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": f"grafana-dashboard-{path.stem}", "namespace": namespace,
                          "labels": {**PART_OF, "grafana_dashboard": "1"},
                          "annotations": {"grafana_folder": GRAFANA_FOLDER}},
             "data": {path.name: path.read_text()}}
            for path in sorted(DASHBOARDS.glob("*.json"))]


def service_monitor(namespace: str, release: str) -> dict[str, Any]:
    monitor = yaml.safe_load(SERVICE_MONITOR.read_text())
    monitor["metadata"]["namespace"] = namespace
    monitor["metadata"].setdefault("labels", {})["release"] = release
    return monitor


def render(namespace: str, release: str) -> list[dict[str, Any]]:
    return [service_monitor(namespace, release), prometheus_rule(namespace, release), *dashboard_config_maps(namespace)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.render_observability",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", default="llm-gateway")
    parser.add_argument("--release", required=True,
                        help="kube-prometheus-stack's Helm release name: its default selectors match `release`")
    args = parser.parse_args(argv)
    sys.stdout.write(yaml.dump_all(render(args.namespace, args.release), Dumper=LiteralDumper, sort_keys=False,
                                   width=120))
    return 0


if __name__ == "__main__":
    sys.exit(main())
