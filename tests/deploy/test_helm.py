"""helm/: values for the official Kong chart 2.41.1, an Argo CD Application, plain manifests."""

import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_VALUES_FILE = ROOT.parent / "shared/kong/helm-kong-values-2.41.1.yaml"
VALUES = yaml.safe_load((ROOT / "helm/kong-values.yaml").read_text())
# Maps whose keys are free-form in the chart (env vars, annotations, resources...).
OPEN = {"env", "customEnv", "annotations", "labels", "podAnnotations", "podLabels", "resources", "nodeSelector",
        "metrics", "requests", "limits", "httpGet", "target", "resource", "serviceAccount"}


@pytest.fixture(scope="module")
def chart():
    assert CHART_VALUES_FILE.exists(), f"missing {CHART_VALUES_FILE} (shared/ beside the repository)"
    text = CHART_VALUES_FILE.read_text()
    return yaml.safe_load(text), text


def key_paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            path = prefix + (key,)
            yield path
            if key not in OPEN:
                yield from key_paths(value, path)


def test_every_values_key_exists_in_the_chart(chart):
    values, text = chart
    missing = []
    for path in key_paths(VALUES):
        node = values
        for key in path:
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif re.search(rf"^\s*#\s*{re.escape(path[-1])}:", text, re.M):   # documented but commented out
                node = None
                break
            else:
                missing.append(".".join(path))
                break
    assert missing == [], missing


def test_plain_dbless_with_the_plugin_server_and_irsa():
    env = VALUES["env"]
    assert VALUES["ingressController"]["enabled"] is False
    assert env["database"] == "off" and env["plugins"].startswith("bundled,")
    start = env["pluginserver_bedrock_start_cmd"].split()
    prefix, name = start[start.index("--kong-prefix") + 1], start[start.index("--socket-name") + 1]
    assert env["pluginserver_bedrock_socket"] == f"{prefix.rstrip('/')}/{name}" and prefix.startswith("/kong_prefix")
    assert "--fail-health-after-restart" in start
    assert {"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} <= {
        p.strip().removeprefix("env ").strip() for p in env["nginx_main_env"].split(";")}
    role = VALUES["deployment"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role.startswith("arn:aws:iam::")
    assert VALUES["readinessProbe"]["httpGet"]["path"] == "/status/ready"
    assert VALUES["livenessProbe"]["httpGet"]["path"] == "/health"
    assert VALUES["autoscaling"]["enabled"] and VALUES["podDisruptionBudget"]["enabled"]
    assert VALUES["serviceMonitor"]["enabled"] and VALUES["resources"]["requests"]


CONTAINER_PORTS = {"admin", "admin-tls", "proxy", "proxy-tls", "status", "status-tls", "cluster-tls"}
"""The Kong container's port names in chart 2.41.1 (templates/deployment.yaml); `kong-proxy` and the like are
the Service's (_helpers.tpl), which a probe's named port never matches."""


def test_the_probes_name_ports_the_kong_container_has():
    """A liveness probe on a port the container lacks always fails: Kubernetes restarts every pod ~45 s in."""
    for probe in ("readinessProbe", "livenessProbe"):
        assert VALUES[probe]["httpGet"]["port"] in CONTAINER_PORTS, probe


def coalesced(chart_value, ours):
    """A values file over the chart's defaults as Helm coalesces them: maps merge key by key, anything else
    replaces."""
    if isinstance(chart_value, dict) and isinstance(ours, dict):
        return {**chart_value, **{key: coalesced(chart_value.get(key), value) for key, value in ours.items()}}
    return ours


def test_the_network_policy_lets_in_every_port_the_chart_serves(chart):
    """Chart 2.41.1 also serves the proxy's TLS listener (proxy.tls on by default: Service port 443 -> 8443), the
    one https clients (docs/curl-examples.md) and the NLB's health checks reach. The policy let in 8000 only, so
    on a cluster that enforces network policies every https call timed out."""
    values = coalesced(chart[0], VALUES)
    proxy, status = values["proxy"], values["status"]
    served = {proxy[kind]["containerPort"] for kind in ("http", "tls") if proxy["enabled"] and proxy[kind]["enabled"]}
    policy = yaml.safe_load((ROOT / "helm/manifests/networkpolicy.yaml").read_text())
    metrics = yaml.safe_load((ROOT / "helm/manifests/plugin-server-servicemonitor-service.yaml").read_text())
    rules = policy["spec"]["ingress"]
    from_anywhere = {port["port"] for rule in rules if "from" not in rule for port in rule["ports"]}
    from_monitoring = {port["port"] for rule in rules if "from" in rule for port in rule["ports"]}
    assert served == {8000, 8443} and served <= from_anywhere
    assert {status["http"]["containerPort"], *(p["targetPort"] for p in metrics["spec"]["ports"])} <= from_monitoring
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "kong"}   # kong.name


def test_kong_quit_lets_streams_finish_within_the_grace_period():
    """kong quit stops Kong --wait seconds plus its --timeout (default 10) after preStop starts; the pod is killed
    terminationGracePeriodSeconds after it: the first must be the shorter, and long enough for a long stream."""
    command = VALUES["lifecycle"]["preStop"]["exec"]["command"]
    assert command[:2] == ["kong", "quit"]
    options = dict(arg.removeprefix("--").split("=") for arg in command[2:])
    stops_after = int(options.get("wait", 0)) + int(options.get("timeout", 10))
    assert 45 <= stops_after < VALUES["terminationGracePeriodSeconds"]


def test_chart_version_is_pinned_everywhere():
    app = yaml.safe_load((ROOT / "helm/argocd/application.yaml").read_text())
    chart_source = next(s for s in app["spec"]["sources"] if s.get("chart") == "kong")
    assert chart_source["targetRevision"] == "2.41.1"
    assert "--version 2.41.1" in (ROOT / "helm/kong-values.yaml").read_text()


@pytest.mark.parametrize("manifest", sorted((ROOT / "helm/manifests").rglob("*.yaml")), ids=lambda p: p.name)
def test_plain_manifests_validate(manifest):
    for document in yaml.safe_load_all(manifest.read_text()):
        if document["apiVersion"].startswith(("monitoring.coreos.com", "argoproj.io")):
            assert document["metadata"]["name"] and document["spec"]          # CRDs: no bundled schema
            continue
        kubernetes_validate.validate(document, "1.30", strict=True)


def test_provider_keys_come_from_an_optional_secret_and_reach_the_plugin_server():
    """customEnv rendered as the chart renders it (name plus value or valueFrom) is a valid container env;
    a key from a Secret is optional (the pod starts without it); every variable is declared in nginx_main_env
    (nginx passes the plugin server only what is declared)."""
    custom = VALUES["customEnv"]
    env = [{"name": name, **(spec if isinstance(spec, dict) else {"value": spec})} for name, spec in custom.items()]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kong"},
           "spec": {"containers": [{"name": "proxy", "image": "kong", "env": env}]}}
    kubernetes_validate.validate(pod, "1.30", strict=True)
    declared = {p.strip().removeprefix("env ").strip() for p in VALUES["env"]["nginx_main_env"].split(";")}
    from_secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e}
    assert {"GEMINI_API_KEY", "AWS_BEARER_TOKEN_BEDROCK", "AWS_BEARER_TOKEN_BEDROCK_MANTLE"} <= set(from_secrets)
    assert set(custom) <= declared, sorted(set(custom) - declared)     # the plugin server's environment
    assert all(ref["optional"] is True for ref in from_secrets.values())


def test_the_operator_names_the_plugin_server_job_as_the_alerts_do():
    """Under the Prometheus operator a ServiceMonitor's job is the Service's name unless jobLabel names a
    Service label: `up{job="kong-plugin-server"}` (LLMGatewayPluginServerDown) matched nothing on EKS."""
    monitor = yaml.safe_load((ROOT / "helm/manifests/monitoring/plugin-server-servicemonitor.yaml").read_text())
    service = yaml.safe_load((ROOT / "helm/manifests/plugin-server-servicemonitor-service.yaml").read_text())
    job = service["metadata"]["labels"][monitor["spec"]["jobLabel"]]
    alerts = (ROOT / "deploy/observability/alerts/llm-gateway.yml").read_text()
    assert f'up{{job="{job}"}}' in alerts
    compose = yaml.safe_load((ROOT / "deploy/observability/prometheus.yml").read_text())
    assert job in {scrape["job_name"] for scrape in compose["scrape_configs"]}     # the same name under compose


def make_dry_run(target: str, **variables: str) -> str:
    """The commands `make <target>` would run (make -n runs none of them)."""
    done = subprocess.run(["make", "-n", target, *(f"{k}={v}" for k, v in variables.items())], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_eks_deploy_ships_the_rendered_config_as_the_chart_s_secret():
    """make eks/deploy used to ship kong/kong.yaml as a ConfigMap: production got the dev- keys and per-pod budgets,
    Responses items and rate limits. It now renders the operator's consumers file onto Redis, as a Secret."""
    commands = make_dry_run("eks/deploy", CONSUMERS="ops/consumers.yaml", REDIS_HOST="redis.internal")
    secret = VALUES["dblessConfig"]["secret"]
    assert set(VALUES["dblessConfig"]) == {"secret"}
    assert "-m deploy.render_config --consumers 'ops/consumers.yaml' --redis-host 'redis.internal'" in commands
    assert f"create secret generic {secret} --from-file=kong.yml=" in commands
    assert "kong/kong.yaml" not in commands and "create configmap" not in commands


@pytest.mark.parametrize("tls", ["true", "TRUE", "1", "yes"])
def test_redis_tls_and_username_reach_the_renderer_however_tls_is_spelled(tls):
    """REDIS_TLS=TRUE or 1 used to leave TLS off without a word; a Redis username had no way through make."""
    commands = make_dry_run("eks/config", CONSUMERS="c.yaml", REDIS_HOST="redis.internal", REDIS_TLS=tls,
                            REDIS_USERNAME="gateway")
    assert "--redis-ssl" in commands and "--redis-username 'gateway'" in commands
    assert "--redis-ssl" not in make_dry_run("eks/config", CONSUMERS="c.yaml", REDIS_HOST="redis.internal")


def test_eks_config_refuses_to_run_without_consumers_or_redis():
    done = subprocess.run(["make", "eks/config", "REDIS_HOST=redis.internal"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode != 0 and "CONSUMERS=" in done.stderr and "kubectl" not in done.stdout


def test_eks_deploy_rolls_the_pods_when_the_config_changes():
    """Chart 2.41.1 checksums only an inline dblessConfig.config: an updated Secret reached no running pod. The
    Secret's own checksum, as a pod annotation, changes the pod template exactly when the config changed."""
    commands = make_dry_run("eks/deploy", CONSUMERS="ops/consumers.yaml", REDIS_HOST="redis.internal")
    secret = VALUES["dblessConfig"]["secret"]
    assert f"get secret {secret} -o 'jsonpath={{.data.kong\\.yml}}'" in commands
    assert "sha256sum" in commands and "--set-string podAnnotations.checksum/dbless-config=$sum" in commands
    assert commands.index("create secret generic") < commands.index("helm upgrade")


def test_metrics_are_scraped_through_the_servicemonitors_only():
    """prometheus.io/scrape on the pods beside the ServiceMonitors made a Prometheus that scrapes annotated pods
    take every series twice, under another job: every sum() in the alerts and dashboards doubled."""
    assert not any(key.startswith("prometheus.io/") for key in VALUES.get("podAnnotations", {}))
    assert VALUES["serviceMonitor"]["enabled"] and "release" in VALUES["serviceMonitor"]["labels"]


def test_the_servicemonitors_carry_the_release_label_kube_prometheus_stack_selects():
    """Without `release: <kube-prometheus-stack's release>` its default serviceMonitorSelector skipped both."""
    commands = make_dry_run("eks/deploy", CONSUMERS="c.yaml", REDIS_HOST="r", PROMETHEUS_RELEASE="monitoring")
    assert "--set-string serviceMonitor.labels.release='monitoring'" in commands
    assert "-m deploy.render_observability --namespace llm-gateway --release 'monitoring' |" in commands
    assert "kubectl apply -f helm/manifests/\n" in commands      # not recursive: monitoring/ comes rendered


def test_a_redis_cluster_and_rate_limitings_own_redis_reach_the_renderer():
    commands = make_dry_run("eks/config", CONSUMERS="c.yaml", REDIS_HOST="cfg.cache.amazonaws.com",
                            REDIS_CLUSTER="TRUE", RATE_LIMITING_REDIS_HOST="limits.internal")
    assert "--redis-cluster" in commands and "--rate-limiting-redis-host 'limits.internal'" in commands
    local = make_dry_run("eks/config", CONSUMERS="c.yaml", REDIS_HOST="h", REDIS_CLUSTER="1", RATE_LIMITING_LOCAL="yes")
    assert "--rate-limiting-local" in local and "--rate-limiting-redis-host" not in local
    assert "--redis-cluster" not in make_dry_run("eks/config", CONSUMERS="c.yaml", REDIS_HOST="redis.internal")
