"""Prometheus config, alert rules and Grafana dashboards of the compose stack (deploy/observability).

- promtool (Debian package `prometheus`) checks the config and the rules and runs the
  rules' unit tests (alerts/llm-gateway.test.yml). A missing promtool is a failure,
  not a skip: CI must install it.
- Every metric name used in a PromQL expression (alerts, dashboards, dashboard
  variables) must really be exported: by the plugin server (its prometheus-client
  registry, kong_plugins.metrics) or by Kong 3.6.1's bundled prometheus plugin
  (deploy/observability/kong-3.6.1-metrics.txt, extracted from Kong's source by
  this module: `python3 tests/deploy/test_observability.py --kong-metrics KONG_REPO`).
- Dashboard expressions are also parsed by promtool, with Grafana's variables
  replaced by plausible values.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"
ALERTS = OBS / "alerts" / "llm-gateway.yml"
ALERT_TESTS = OBS / "alerts" / "llm-gateway.test.yml"
PROMETHEUS_YML = OBS / "prometheus.yml"
KONG_METRICS_FILE = OBS / "kong-3.6.1-metrics.txt"
DASHBOARD_DIR = OBS / "grafana" / "dashboards"
DASHBOARDS = ("kong-gateway.json", "llm-usage-overview.json")
DATASOURCES = OBS / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = OBS / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
KONG_TAG = "3.6.1"
KONG_SOURCE = Path(__file__).resolve().parent / "kong-3.6.1"
"""Kong's kong/plugins/prometheus/{exporter,prometheus}.lua at the tag (Apache-2.0), copied verbatim."""
KONG_SOURCE_BLOBS = {"exporter.lua": "02eb4ba3e9694aea2dd4b95af1fc37398c9d7ea9",
                     "prometheus.lua": "796a76c8813e6d5cbfad4a908050353d52d21e0a"}
RUNBOOK = "docs/runbooks/incident-response.md#"
# Series Prometheus itself writes for every scrape target (not exported by anyone).
PROMETHEUS_SYNTHETIC = {"up"}


# ---------------------------------------------------------------------------
# Kong 3.6.1's metric names, from its Lua source

_LUA_METRIC = re.compile(r'prometheus:(counter|gauge|histogram)\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"')
_LUA_ERROR_METRIC = re.compile(r'DEFAULT_ERROR_METRIC_NAME\s*=\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"')


def kong_metric_names(exporter_lua: str, prometheus_lua: str, prefix: str = "kong_") -> list[str]:
    """Sample names as Kong's /metrics prints them.

    exporter.lua declares each metric with prometheus:counter|gauge|histogram("name", ...);
    prometheus.lua prefixes every name (exporter.lua inits it with "kong_"), prints
    histograms as name_bucket/_count/_sum and counters under their own name (no
    `_total` is added), and keeps one error counter of its own.
    """
    names: set[str] = set()
    for kind, name in _LUA_METRIC.findall(exporter_lua):
        full = prefix + name
        if kind == "histogram":
            names.update({full + "_bucket", full + "_count", full + "_sum"})
        else:
            names.add(full)
    names.update(prefix + n for n in _LUA_ERROR_METRIC.findall(prometheus_lua))
    return sorted(names)


def kong_metrics_from_source(folder: Path) -> list[str]:
    return kong_metric_names((folder / "exporter.lua").read_text(), (folder / "prometheus.lua").read_text())


def load_kong_metrics() -> set[str]:
    lines = KONG_METRICS_FILE.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}


# ---------------------------------------------------------------------------
# The plugin server's metric names, from its real registry

def plugin_server_metric_names() -> set[str]:
    """Sample names the plugin server's exporter prints (prometheus-client conventions)."""
    from kong_plugins.metrics import registry

    suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                "histogram": ("_bucket", "_count", "_sum", "_created"),
                "summary": ("", "_count", "_sum", "_created")}
    names: set[str] = set()
    for family in registry.collect():
        names.update(family.name + s for s in suffixes[family.type])
        names.update(sample.name for sample in family.samples)
    return names


# ---------------------------------------------------------------------------
# Metric names in a PromQL expression

_PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
                    "group_right", "bool", "offset", "inf", "nan", "start", "end", "atan2"}
_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\$\w+|\[\[\w+\]\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])")


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (names before `{`, bare names; not functions,
    label names, keywords, durations or numbers). __name__ matchers are not supported and
    are rejected by the caller's test."""
    text = _STRINGS.sub('""', expr)
    text = _GRAFANA_VAR.sub("1m", text)
    text = re.sub(r"\{[^{}]*\}", " ", text)          # label matchers
    text = re.sub(r"\[[^\[\]]*\]", " ", text)        # ranges and subqueries
    text = _GROUPING.sub(" ", text)                  # by (...), on (...), group_left (...)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(1)
        following = text[match.end():].lstrip()
        if following.startswith("("):                # function or aggregation
            continue
        if word.lower() in _PROMQL_KEYWORDS:
            continue
        if re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def test_promql_metric_name_extraction():
    expr = ('histogram_quantile(0.99, sum by (le, model) (rate(kong_bedrock_request_duration_seconds_bucket'
            '{model=~"$model", role!="a b"}[$__rate_interval]))) > 30 and on (model) '
            'sum without (x) (kong_bedrock_requests_total offset 5m) / ignoring(y) group_left(z) '
            'up{job="kong"} or vector(0) unless kong_http_requests_total @ end()')
    assert promql_metric_names(expr) == {"kong_bedrock_request_duration_seconds_bucket",
                                         "kong_bedrock_requests_total", "up", "kong_http_requests_total"}
    assert promql_metric_names('sort_desc(sum by (consumer) (increase(kong_bedrock_cost_estimate_dollars_total'
                               '[${__range}]))) * 3600') == {"kong_bedrock_cost_estimate_dollars_total"}
    assert promql_metric_names('count(kong_node_info{version=~"3\\\\.6.*"}) by (version)') == {"kong_node_info"}


# ---------------------------------------------------------------------------
# Where the expressions are

def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def load_dashboards() -> dict[str, dict]:
    return {name: json.loads((DASHBOARD_DIR / name).read_text()) for name in DASHBOARDS}


def all_panels(dashboard: dict) -> list[dict]:
    panels = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))       # collapsed rows keep their panels inside
    return panels


_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(.*?)\s*,\s*[a-zA-Z_]\w*\s*\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^\s*query_result\((.*)\)\s*$", re.S)


def dashboard_expressions(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    found = []
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                found.append((f"panel {panel.get('title')!r} ref {target.get('refId')}", target["expr"]))
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        m = _LABEL_VALUES.match(query or "") or _QUERY_RESULT.match(query or "")
        if m:
            found.append((f"variable {var['name']!r}", m.group(1)))
    return found


def every_expression() -> list[tuple[str, str]]:
    exprs = [(f"alert {rule['alert']}", rule["expr"]) for rule in alert_rules()]
    for name, dashboard in load_dashboards().items():
        exprs += [(f"{name}: {where}", expr) for where, expr in dashboard_expressions(dashboard)]
    return exprs


# ---------------------------------------------------------------------------
# promtool

def promtool_exe() -> str:
    """promtool's path; a plain helper, not a fixture, so a missing promtool FAILS each test (not ERROR, not skip)."""
    exe = shutil.which("promtool")
    if not exe:
        pytest.fail("promtool not found: install the Debian package `prometheus` "
                    "(apt-get install -y prometheus), which provides /usr/bin/promtool")
    return exe


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_promtool_check_config():
    promtool = promtool_exe()
    proc = run([promtool, "check", "config", PROMETHEUS_YML.name], PROMETHEUS_YML.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_check_rules():
    promtool = promtool_exe()
    proc = run([promtool, "check", "rules", ALERTS.name], ALERTS.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in proc.stdout + proc.stderr


def test_promtool_test_rules():
    promtool = promtool_exe()
    proc = run([promtool, "test", "rules", ALERT_TESTS.name], ALERT_TESTS.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr


_GRAFANA_SAMPLE_VALUES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h",
                          "__range_s": "3600", "__interval_ms": "60000"}


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana's variables as Grafana would (template variables: the All regex)."""
    def value(m: re.Match) -> str:
        name = m.group(0).strip("${}[]").split(":")[0]
        return _GRAFANA_SAMPLE_VALUES.get(name, ".*")
    return _GRAFANA_VAR.sub(value, expr)


def test_dashboard_expressions_parse(tmp_path):
    promtool = promtool_exe()
    rules = []
    for i, (where, expr) in enumerate(every_expression()):
        rules.append({"record": f"dashboard:check_{i}", "expr": grafana_to_promql(expr)})
    path = tmp_path / "dashboard-exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard-exprs", "rules": rules}]}))
    proc = run([promtool, "check", "rules", str(path)], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------
# Metric names are real

def test_kong_metric_list_is_sane():
    names = load_kong_metrics()
    for expected in ("kong_http_requests_total", "kong_kong_latency_ms_bucket", "kong_upstream_latency_ms_bucket",
                     "kong_request_latency_ms_bucket", "kong_bandwidth_bytes", "kong_nginx_connections_total",
                     "kong_upstream_target_health"):
        assert expected in names
    assert not any(n.startswith("kong_bedrock_") for n in names)


def test_vendored_kong_source_is_the_tag_s():
    """The copies are byte for byte the files at Kong's tag (git blob ids from `git ls-tree 3.6.1`)."""
    for name, blob in KONG_SOURCE_BLOBS.items():
        data = (KONG_SOURCE / name).read_bytes()
        assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == blob, name


def test_kong_metric_list_matches_kong_source():
    listed = sorted(load_kong_metrics())
    assert listed == kong_metrics_from_source(KONG_SOURCE), (
        "regenerate: python3 tests/deploy/test_observability.py --kong-metrics tests/deploy/kong-3.6.1")


def test_plugin_server_registry_names():
    names = plugin_server_metric_names()
    assert "kong_bedrock_requests_total" in names
    assert "kong_bedrock_request_duration_seconds_bucket" in names
    assert "kong_bedrock_budget_remaining_dollars" in names


def test_every_metric_used_is_exported():
    known = plugin_server_metric_names() | load_kong_metrics() | PROMETHEUS_SYNTHETIC
    unknown = []
    used = set()
    for where, expr in every_expression():
        assert "__name__" not in expr, f"{where}: select metrics by name, not by __name__"
        names = promql_metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        used |= names
        unknown += [f"{where}: {n}" for n in sorted(names - known)]
    assert not unknown, "metrics nobody exports:\n" + "\n".join(unknown)
    # Both exporters are really used.
    assert any(n.startswith("kong_bedrock_") for n in used)
    assert used & load_kong_metrics()


# ---------------------------------------------------------------------------
# Alert rules: shape and unit-test coverage

SEED_ALERTS = {"LLMGatewayHighTokenUsage", "LLMGatewayConsumerRateLimited", "LLMGatewayTokenBudgetRejections",
               "LLMGatewayBedrockErrorRate", "LLMGatewayHighLatencyP99"}
EXPECTED_ALERTS = SEED_ALERTS | {"LLMGatewayBudgetStoreErrors", "LLMGatewayResponseStoreErrors",
                                 "LLMGatewayPluginServerDown", "LLMGatewayModelMisconfigured",
                                 "LLMGatewayBedrockRejectsRequests", "LLMGatewayPluginServerNotScraped",
                                 "LLMGatewayProviderKeyMissing"}
CRITICAL = {"LLMGatewayBedrockErrorRate", "LLMGatewayPluginServerDown", "LLMGatewayModelMisconfigured",
            "LLMGatewayPluginServerNotScraped"}


def test_alert_rules_have_for_severity_and_annotations():
    rules = alert_rules()
    assert {r["alert"] for r in rules} == EXPECTED_ALERTS
    for rule in rules:
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        assert annotations["runbook_url"].startswith(RUNBOOK), rule["alert"]
        assert re.fullmatch(r"[a-z0-9-]+", annotations["runbook_url"][len(RUNBOOK):]), rule["alert"]


def test_alert_severities_follow_the_seeds():
    severity = {r["alert"]: r["labels"]["severity"] for r in alert_rules()}
    assert {a for a, s in severity.items() if s == "critical"} == CRITICAL
    assert {a for a, s in severity.items() if s == "warning"} == EXPECTED_ALERTS - CRITICAL


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_runbook_anchors_exist():
    runbook = ROOT / RUNBOOK.split("#")[0]
    if not runbook.exists():
        pytest.skip(f"{runbook.relative_to(ROOT)} not written yet")
    anchors = {github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", runbook.read_text(), re.M)}
    for rule in alert_rules():
        anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor in anchors, f"{rule['alert']}: no heading #{anchor} in {runbook.name} (has {sorted(anchors)})"


def test_alert_thresholds_follow_the_seeds():
    exprs = {r["alert"]: " ".join(r["expr"].split()) for r in alert_rules()}
    assert exprs["LLMGatewayHighTokenUsage"].endswith("> 100000") and "[1h]" in exprs["LLMGatewayHighTokenUsage"]
    assert exprs["LLMGatewayConsumerRateLimited"].endswith("* 60 > 10")
    assert 'code="429"' in exprs["LLMGatewayConsumerRateLimited"]
    assert exprs["LLMGatewayTokenBudgetRejections"].endswith("* 60 > 10")
    assert exprs["LLMGatewayBedrockErrorRate"].endswith("> 0.05")
    assert exprs["LLMGatewayHighLatencyP99"].startswith("histogram_quantile(0.99,")
    assert exprs["LLMGatewayHighLatencyP99"].endswith("> 30")


def test_every_alert_is_unit_tested_firing_and_silent():
    suite = yaml.safe_load(ALERT_TESTS.read_text())
    assert suite["rule_files"] == [ALERTS.name]
    firing, silent = set(), set()
    for group in suite["tests"]:
        for case in group.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    assert firing == EXPECTED_ALERTS
    assert silent == EXPECTED_ALERTS


def test_prometheus_scrapes_kong_and_the_plugin_server():
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    targets = {job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
               for job in config["scrape_configs"]}
    paths = {job["job_name"]: job.get("metrics_path", "/metrics") for job in config["scrape_configs"]}
    assert targets["kong"] == ["kong:8100"] and paths["kong"] == "/metrics"
    assert targets["kong-plugin-server"] == ["kong:9542"] and paths["kong-plugin-server"] == "/metrics"
    assert config["rule_files"] == ["alerts/llm-gateway.yml"]


def test_plugin_server_metrics_port_matches_kong_conf():
    conf = (ROOT / "kong" / "kong.conf").read_text()
    start_cmd = re.search(r"^pluginserver_bedrock_start_cmd\s*=\s*(.*)$", conf, re.M).group(1)
    assert re.search(r"--metrics-listen\s+0\.0\.0\.0:9542\b", start_cmd), start_cmd


# ---------------------------------------------------------------------------
# Grafana: provisioning and dashboards

def provisioned_datasource_uid() -> str:
    sources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert len(sources) == 1 and sources[0]["type"] == "prometheus"
    assert sources[0]["url"] == "http://prometheus:9090"
    return sources[0]["uid"]


def test_dashboard_provider_points_at_the_mounted_folder():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"] if v.startswith("./"))
    providers = yaml.safe_load(DASHBOARD_PROVIDERS.read_text())["providers"]
    assert len(providers) == 1 and providers[0]["type"] == "file"
    assert mounts["./deploy/observability/grafana/dashboards"] == providers[0]["options"]["path"]
    assert mounts["./deploy/observability/grafana/provisioning"] == "/etc/grafana/provisioning"


def _datasource_refs(node, where="dashboard"):
    """Every `datasource` value anywhere in the dashboard JSON."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield where, value
            else:
                yield from _datasource_refs(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _datasource_refs(value, f"{where}[{i}]")


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_shape(name):
    uid = provisioned_datasource_uid()
    dashboard = load_dashboards()[name]
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["uid"] == name.removesuffix(".json")
    assert dashboard["title"]
    assert dashboard.get("id") is None            # provisioned dashboards must not carry a database id
    panels = all_panels(dashboard)
    assert len({p["id"] for p in panels}) == len(panels), "panel ids must be unique"
    for where, ref in _datasource_refs(dashboard):
        if isinstance(ref, dict) and ref.get("type") == "datasource":   # Grafana's built-in annotations
            continue
        assert ref == {"type": "prometheus", "uid": uid}, f"{name} {where}: {ref!r}"
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel.get("title"), panel
        assert panel.get("targets"), f"{name}: panel {panel.get('title')!r} has no query"
        assert "gridPos" in panel


def test_dashboard_uids_are_unique():
    uids = [d["uid"] for d in load_dashboards().values()]
    assert len(set(uids)) == len(uids)


def test_the_error_ratio_panels_leave_out_what_the_bedrock_error_alert_leaves_out():
    excluded = re.compile(r'error_type!~\\?"([^"\\]+)')
    unless = re.compile(r"unless\s+(kong_bedrock_errors_total\{[^}]*\})")
    (alert,) = [r["expr"] for r in alert_rules() if r["alert"] == "LLMGatewayBedrockErrorRate"]
    exprs = dashboard_expressions(load_dashboards()["llm-usage-overview.json"])
    panels = [expr for _, expr in exprs if "error_type!~" in expr]
    assert len(panels) == 2 and all(excluded.findall(expr) == excluded.findall(alert) for expr in panels)
    assert unless.findall(alert) and all(["".join(u.split()) for u in unless.findall(expr)] ==
                                         ["".join(u.split()) for u in unless.findall(alert)] for expr in panels)


def test_llm_dashboard_covers_the_product_questions():
    used = {n for _, e in dashboard_expressions(load_dashboards()["llm-usage-overview.json"])
            for n in promql_metric_names(e)}
    for metric in ("kong_bedrock_tokens_input_total", "kong_bedrock_tokens_output_total",
                   "kong_bedrock_cost_estimate_dollars_total", "kong_bedrock_requests_total",
                   "kong_bedrock_errors_total", "kong_bedrock_time_to_first_token_seconds_bucket",
                   "kong_bedrock_request_duration_seconds_bucket", "kong_bedrock_rejections_total",
                   "kong_bedrock_guardrail_blocks_total", "kong_bedrock_budget_remaining_dollars",
                   "kong_bedrock_bedrock_guardrail_interventions_total",
                   "kong_bedrock_service_tier_cost_estimate_dollars_total",
                   "kong_bedrock_bedrock_guardrail_text_units_total", "kong_bedrock_model_misconfigured_total",
                   "kong_bedrock_images_total", "kong_bedrock_rerank_search_units_total",
                   "kong_bedrock_response_store_errors_total"):
        assert metric in used, metric


def test_kong_dashboard_covers_the_gateway():
    used = {n for _, e in dashboard_expressions(load_dashboards()["kong-gateway.json"])
            for n in promql_metric_names(e)}
    for metric in ("kong_http_requests_total", "kong_kong_latency_ms_bucket", "kong_upstream_latency_ms_bucket",
                   "kong_request_latency_ms_bucket", "kong_bandwidth_bytes", "kong_upstream_target_health",
                   "kong_nginx_connections_total"):
        assert metric in used, metric


# ---------------------------------------------------------------------------

if __name__ == "__main__":   # regenerate deploy/observability/kong-3.6.1-metrics.txt
    if len(sys.argv) != 3 or sys.argv[1] != "--kong-metrics":
        sys.exit("usage: python3 tests/deploy/test_observability.py --kong-metrics tests/deploy/kong-3.6.1")
    print(f"""\
# Metric names Kong Gateway {KONG_TAG}'s bundled prometheus plugin can export, as /metrics prints
# them (prefix kong_; histograms as _bucket/_count/_sum; some only in stream, hybrid or
# with the plugin's *_metrics options on). Produced from Kong's source (tag {KONG_TAG}) by
#   python3 tests/deploy/test_observability.py --kong-metrics tests/deploy/kong-3.6.1 > deploy/observability/kong-3.6.1-metrics.txt
# which reads copies of kong/plugins/prometheus/exporter.lua at the tag (every
# prometheus:counter|gauge|histogram("name", ...)) and prometheus.lua (its error counter).""")
    print("\n".join(kong_metrics_from_source(Path(sys.argv[2]))))
