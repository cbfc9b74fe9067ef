"""deploy/render_config.py: the production declarative file (no dev consumers, shared state on Redis, the Bedrock
guardrail on the customer-facing roles), loaded by the same harness that checks kong/kong.yaml against Kong 3.6.1's
schemas (test_kong_yaml.py), and its refusals."""

from __future__ import annotations

import copy
import os
import re
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from deploy.render_config import (ENV_TEMPLATE, KONG_YAML, BedrockGuardrail, RedisSettings, RenderError, consumer_id,
                                  plugins, render, render_files, unguarded_models)
from kong_plugins.policy.catalogue import Catalogue, Guardrail
from tests.stack import GatewayStack, free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "consumers.example.yaml"
ENV = {name: secrets.token_hex(16) for name in ENV_TEMPLATE.findall(EXAMPLE.read_text())}
REDIS = RedisSettings("redis.internal", 6380, password="redis-password-for-tests", ssl=True)
DEV_USERNAMES = {c["username"] for c in yaml.safe_load(KONG_YAML.read_text())["consumers"]}
JANE = {"username": "jane", "tags": ["role:developer"], "keyauth_credentials": [{"key": '${{ env "DECK_JANE" }}'}],
        "acls": [{"group": "developer"}]}
GUARDRAIL_ARN = "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123xyz789"
GUARDRAIL_ENV = {"BEDROCK_GUARDRAIL_ID": GUARDRAIL_ARN, "BEDROCK_GUARDRAIL_VERSION": "3"}
GUARDRAIL = BedrockGuardrail.from_environ(GUARDRAIL_ENV)


@pytest.fixture(scope="module")
def rendered() -> dict:
    return render_files(KONG_YAML, EXAMPLE, REDIS, ENV)


def keys(config: dict) -> list[str]:
    return [credential["key"] for consumer in config["consumers"] for credential in consumer["keyauth_credentials"]]


def test_no_dev_consumer_or_key_is_left(rendered):
    assert len(keys(rendered)) == 6 and set(keys(rendered)) <= set(ENV.values())
    assert not DEV_USERNAMES & {consumer["username"] for consumer in rendered["consumers"]}
    assert "dev-" not in yaml.safe_dump(rendered)


def test_every_shared_store_is_on_redis(rendered):
    """Budgets, Responses items and request counters per pod would be multiplied by the HPA's pod count."""
    by_name: dict[str, list[dict]] = {}
    for plugin in plugins(rendered):
        by_name.setdefault(plugin["name"], []).append(plugin["config"])
    gateway = {"host": "redis.internal", "port": 6380, "ssl": True, "password": "redis-password-for-tests"}
    assert [(c["storage"], c["redis"]) for c in by_name["token-meter"]] == [("redis", gateway)]
    stores = [c["openai_response_store"] for c in by_name["bedrock-proxy"]]
    assert [(s["storage"], s["redis"]) for s in stores] == [("redis", gateway)]
    assert stores[0]["ttl_seconds"] == 86400                    # kong.yaml's other settings stay
    limits = by_name["rate-limiting"]
    assert len(limits) == 5 and all(c["policy"] == "redis" for c in limits)
    assert all(c["redis"] == {**gateway, "ssl_verify": True, "server_name": "redis.internal"} for c in limits)


def test_kong_yaml_s_consumer_entities_and_consumer_plugins_are_dropped():
    base = yaml.safe_load(KONG_YAML.read_text())
    base["keyauth_credentials"] = [{"consumer": "admin-user", "key": "dev-top-level-key"}]
    base["acls"] = [{"consumer": "admin-user", "group": "admin"}]
    base["plugins"].append({"name": "rate-limiting", "consumer": "admin-user", "config": {"second": 1}})
    config = render(base, [dict(JANE, keyauth_credentials=[{"key": "k" * 30}])], REDIS)
    assert "keyauth_credentials" not in config and "acls" not in config
    assert [p["name"] for p in config["plugins"]] == [p["name"] for p in base["plugins"][:-1]]


class RenderedStack(GatewayStack):
    """The whole stack on a rendered file, with its per-consumer rate limits (test_kong_yaml loads kong.yaml)."""

    def __init__(self, source: Path) -> None:
        super().__init__(rate_limits=True)
        self.declarative_source = source


def test_kong_loads_the_rendered_file_and_knows_only_the_operator_s_keys(tmp_path):
    """Kong 3.6.1's schemas accept it (rate-limiting's redis record included); a dev key is a 401; an operator's
    key reaches token-meter, which reads its budget from Redis (unreachable here: the documented 503)."""
    redis = RedisSettings("localhost", free_port(), password="redis-password-for-tests", ssl=True)
    source = tmp_path / "kong.yml"
    source.write_text(yaml.safe_dump(render_files(KONG_YAML, EXAMPLE, redis, ENV, GUARDRAIL), sort_keys=False))
    with RenderedStack(source) as stack:   # the roles' bedrock_guardrail records pass bedrock-proxy's schema too
        assert {c["id"]: c["username"] for c in stack.harness.config.of("consumers")} == \
            {consumer_id(c["username"]): c["username"] for c in yaml.safe_load(source.read_text())["consumers"]}
        budget = stack.proxy_url + "/v1/budget"
        assert requests.get(budget, headers={"x-api-key": "dev-admin-key"}, timeout=10).status_code == 401
        answer = requests.get(budget, headers={"x-api-key": ENV["DECK_JANE_DEVELOPER_KEY"]}, timeout=10)
        assert answer.status_code == 503 and "Retry-After" in answer.headers, answer.text


def consumers_file(tmp_path: Path, consumers: list[dict], **top: object) -> Path:
    path = tmp_path / "consumers.yaml"
    path.write_text(yaml.safe_dump({"consumers": consumers, **top}))
    return path


def with_changes(**changes: object) -> list[dict]:
    return [{**copy.deepcopy(JANE), **changes}]


GOOD_KEY = {"DECK_JANE": "j" * 32}


@pytest.mark.parametrize("consumers,environ,top,refusal", [
    (with_changes(), {"DECK_JANE": "dev-developer-key"}, {}, "a dev- key"),
    (with_changes(), {}, {}, "DECK_JANE is not set"),
    (with_changes(keyauth_credentials=[{"key": '${{ env "JANE_KEY" }}'}]), {"JANE_KEY": "j" * 32}, {},
     "must start with DECK_"),
    (with_changes(keyauth_credentials=[{"key": "<jane's key>"}]), {}, {}, "a placeholder left"),
    (with_changes(keyauth_credentials=[{"key": "short-key"}]), {}, {}, "a placeholder left, or too short"),
    (with_changes(keyauth_credentials=[{}]), {}, {}, "got 0 characters"),
    (with_changes(tags=["role:developers"]), GOOD_KEY, {}, "at most one role"),
    (with_changes(acls=[{"group": "admin"}]), GOOD_KEY, {}, "must match its role tag"),
    (with_changes(acls=[]), GOOD_KEY, {}, "must match its role tag"),
    (with_changes() * 2, GOOD_KEY, {}, "consumer jane is given 2 times"),
    ([{**with_changes()[0], "username": None, "custom_id": "jane"}], GOOD_KEY, {}, "a username is required"),
    ([], {}, {}, "no consumers"),
    (with_changes(), GOOD_KEY, {"services": []}, "only consumers belong here"),
    (with_changes(keyauth_credential=[{"key": "dev-admin-key"}]), GOOD_KEY, {}, "keyauth_credential not taken"),
    (with_changes(basicauth_credentials=[{"username": "j", "password": "dev"}]), GOOD_KEY, {},
     "basicauth_credentials not taken"),
    (with_changes(groups=[{"name": "gold"}]), GOOD_KEY, {}, "groups not taken"),
    (with_changes(plugins=[{"name": "rate-limiting-advanced", "config": {}}]), GOOD_KEY, {},
     "plugin rate-limiting-advanced is not one of"),
], ids=["dev-key", "unset-variable", "not-deck-variable", "placeholder", "short-key", "no-key", "unknown-role",
        "acl-not-role", "acl-missing", "twice", "no-username", "empty", "services", "misspelled-credentials",
        "basic-auth", "consumer-groups", "enterprise-plugin"])
def test_refusals(tmp_path, consumers, environ, top, refusal):
    with pytest.raises(RenderError, match=refusal) as refused:
        render_files(KONG_YAML, consumers_file(tmp_path, consumers, **top), REDIS, environ)
    assert not any(value in str(refused.value) for value in environ.values())     # never echoes a key


def test_a_missing_consumers_file_or_redis_host_is_refused(tmp_path):
    with pytest.raises(RenderError, match="not found"):
        render_files(KONG_YAML, tmp_path / "consumers.yaml", REDIS, ENV)
    with pytest.raises(RenderError, match="Redis host is required"):
        render_files(KONG_YAML, EXAMPLE, RedisSettings(""), ENV)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deploy.render_config", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={"PATH": os.environ.get("PATH", ""), **env})


def test_the_command_line_writes_a_private_file_and_refuses_with_a_reason(tmp_path):
    out = tmp_path / "kong.yml"
    done = run_cli("--consumers", str(EXAMPLE), "--redis-host", "redis.internal", "-o", str(out),
                   env={**ENV, "REDIS_PASSWORD": "from-the-environment"})
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    config = yaml.safe_load(out.read_text())
    assert next(p for p in plugins(config) if p["name"] == "token-meter")["config"]["redis"]["password"] == \
        "from-the-environment"
    refused = run_cli("--consumers", str(tmp_path / "missing.yaml"), "--redis-host", "redis.internal", env=ENV)
    assert refused.returncode == 1 and "refused" in refused.stderr and refused.stdout == ""


def _stores(config: dict) -> dict[str, list[dict]]:
    by_name: dict[str, list[dict]] = {}
    for plugin in plugins(config):
        by_name.setdefault(plugin["name"], []).append(plugin["config"])
    return by_name


@pytest.mark.parametrize("host", ["10.0.12.7", "fd00::7"])
def test_a_redis_ip_over_tls_gives_rate_limiting_no_server_name_kong_would_refuse(host):
    """Kong 3.6.1's typedefs.sni (rate-limiting's redis.server_name) answers "must not be an IP", refusing the whole
    declarative file: REDIS_HOST=<an IP> with REDIS_TLS=true left every pod unable to start. The certificate is
    still checked."""
    config = render_files(KONG_YAML, EXAMPLE, RedisSettings(host, ssl=True), ENV)
    limits = [plugin["config"]["redis"] for plugin in plugins(config) if plugin["name"] == "rate-limiting"]
    assert limits and all(redis["ssl_verify"] is True and "server_name" not in redis for redis in limits)


def test_on_a_redis_cluster_our_plugins_use_it_and_rate_limiting_a_server_of_its_own():
    """Kong 3.6's rate-limiting speaks to one Redis server: beside a cluster it gets one of its own, while
    token-meter's budgets and the Responses store go to the cluster (`cluster: true`, hash-tagged keys)."""
    beside = RedisSettings("cluster.internal", 6379, cluster=True, rate_limiting_host="limits.internal")
    stores = _stores(render_files(KONG_YAML, EXAMPLE, beside, ENV))
    assert all(c["redis"]["cluster"] is True and c["redis"]["host"] == "cluster.internal"
               for c in [*stores["token-meter"], *(b["openai_response_store"] for b in stores["bedrock-proxy"])])
    limits = stores["rate-limiting"]
    assert all(c["policy"] == "redis" and c["redis"]["host"] == "limits.internal" and "cluster" not in c["redis"]
               for c in limits)
    local = _stores(render_files(KONG_YAML, EXAMPLE, RedisSettings("cluster.internal", cluster=True,
                                                                   rate_limiting_local=True), ENV))
    assert all(c["policy"] == "local" and "redis" not in c for c in local["rate-limiting"])


def test_a_cluster_without_a_home_for_rate_limiting_is_refused_naming_the_choices():
    with pytest.raises(RenderError, match="--rate-limiting-redis-host.*--rate-limiting-local"):
        render_files(KONG_YAML, EXAMPLE, RedisSettings("cluster.internal", cluster=True), ENV)


def test_rate_limiting_on_its_own_redis_and_per_pod_at_once_is_refused():
    """Both asked for: it was per pod (policy local) without a word, the Redis server named for it unused and each
    consumer's limits multiplied by the pod count."""
    with pytest.raises(RenderError, match="--rate-limiting-redis-host.*--rate-limiting-local"):
        render_files(KONG_YAML, EXAMPLE, RedisSettings("cluster.internal", cluster=True, rate_limiting_host="limits",
                                                       rate_limiting_local=True), ENV)


def test_make_passes_rate_limitings_own_redis_port_on():
    """RATE_LIMITING_REDIS_HOST on a port other than 6379 (the renderer's --rate-limiting-redis-port)."""
    from tests.deploy.test_helm import make_dry_run
    commands = make_dry_run("eks/config", CONSUMERS="c.yaml", REDIS_HOST="cfg.cache.amazonaws.com",
                            REDIS_CLUSTER="true", RATE_LIMITING_REDIS_HOST="limits.internal",
                            RATE_LIMITING_REDIS_PORT="6380")
    assert "--rate-limiting-redis-host 'limits.internal'" in commands
    assert "--rate-limiting-redis-port '6380'" in commands


@pytest.mark.parametrize("rate_limiting", [{"rate_limiting_host": "localhost"}, {"rate_limiting_local": True}],
                         ids=["own-redis", "per-pod"])
def test_kong_loads_a_file_rendered_for_a_redis_cluster(tmp_path, rate_limiting):
    """`cluster: true` on our plugins' redis records and rate-limiting's own server (or policy local) pass Kong
    3.6.1's schemas; an operator's key reaches token-meter, whose cluster is unreachable here: the documented 503."""
    redis = RedisSettings("localhost", free_port(), password="redis-password-for-tests", ssl=True, cluster=True,
                          **rate_limiting)
    source = tmp_path / "kong.yml"
    source.write_text(yaml.safe_dump(render_files(KONG_YAML, EXAMPLE, redis, ENV), sort_keys=False))
    with RenderedStack(source) as stack:
        answer = requests.get(stack.proxy_url + "/v1/budget", headers={"x-api-key": ENV["DECK_JANE_DEVELOPER_KEY"]},
                              timeout=20)
        assert answer.status_code == 503 and "Retry-After" in answer.headers, answer.text


# ------------------------------------------------------------- the Bedrock guardrail (BEDROCK_GUARDRAIL_*)

def proxy_config(config: dict) -> dict:
    (proxy,) = [plugin["config"] for plugin in plugins(config) if plugin["name"] == "bedrock-proxy"]
    return proxy


def guardrails_by_role(config: dict) -> dict[str, dict | None]:
    return {role["name"]: role.get("bedrock_guardrail") for role in proxy_config(config)["roles"]}


def test_the_guardrail_goes_on_the_customer_facing_roles_and_nothing_else_changes():
    """ecommerce_ops and guest by default: the roles through which shoppers' and guests' words reach a model."""
    base_roles = proxy_config(yaml.safe_load(KONG_YAML.read_text()))["roles"]
    assert not any(guardrails_by_role(render_files(KONG_YAML, EXAMPLE, REDIS, ENV)).values())   # none unless asked
    config = render_files(KONG_YAML, EXAMPLE, REDIS, ENV, GUARDRAIL)
    record = {"identifier": GUARDRAIL_ARN, "version": "3", "trace": False}
    assert guardrails_by_role(config) == {"admin": None, "developer": None, "analyst": None,
                                          "ecommerce_ops": record, "guest": record, "other": None}
    assert [{k: v for k, v in role.items() if k != "bedrock_guardrail"} for role in proxy_config(config)["roles"]] \
        == base_roles
    roles = Catalogue.from_config(proxy_config(config)).roles     # as bedrock-proxy reads it
    assert roles["guest"].guardrail == roles["ecommerce_ops"].guardrail == Guardrail(GUARDRAIL_ARN, "3", False)
    assert roles["developer"].guardrail is None


def test_the_environment_picks_the_roles_the_trace_and_a_draft():
    guardrail = BedrockGuardrail.from_environ({"BEDROCK_GUARDRAIL_ID": "abc123xyz789", "BEDROCK_GUARDRAIL_VERSION":
                                               "DRAFT", "BEDROCK_GUARDRAIL_ROLES": " analyst, guest ,analyst",
                                               "BEDROCK_GUARDRAIL_TRACE": "True"})
    assert guardrail == BedrockGuardrail("abc123xyz789", "DRAFT", ("analyst", "guest"), trace=True)
    assert guardrail.region is None and GUARDRAIL.region == "us-east-1"
    assert BedrockGuardrail.from_environ({}) is None
    record = {"identifier": "abc123xyz789", "version": "DRAFT", "trace": True}
    guarded = {name for name, value in guardrails_by_role(render_files(KONG_YAML, EXAMPLE, REDIS, ENV, guardrail))
               .items() if value == record}
    assert guarded == {"analyst", "guest"}


@pytest.mark.parametrize("environ,refusal", [
    ({"BEDROCK_GUARDRAIL_VERSION": "3"}, "BEDROCK_GUARDRAIL_VERSION set without BEDROCK_GUARDRAIL_ID"),
    ({"BEDROCK_GUARDRAIL_ROLES": "guest", "BEDROCK_GUARDRAIL_TRACE": "true"},
     "BEDROCK_GUARDRAIL_ROLES, BEDROCK_GUARDRAIL_TRACE set without BEDROCK_GUARDRAIL_ID"),
    ({"BEDROCK_GUARDRAIL_ID": GUARDRAIL_ARN}, "BEDROCK_GUARDRAIL_VERSION is required"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_ID": GUARDRAIL_ARN.replace("abc123xyz789", "*")}, "is no guardrail"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_ID": "My-Guardrail"}, "is no guardrail"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_ID": GUARDRAIL_ARN.replace("guardrail/abc123xyz789",
                                                                    "guardrail-profile/us.guardrail.v1:0")},
     "is no guardrail"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_VERSION": "latest"}, "neither a version number"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_VERSION": "0"}, "neither a version number"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_ROLES": " , "}, "names no role"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_TRACE": "sometimes"}, "BEDROCK_GUARDRAIL_TRACE 'sometimes'"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_ROLES": "ecommerce-ops"}, "ecommerce-ops not among bedrock-proxy's roles"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_ROLES": "guest,other"}, "role other: none of its models can apply"),
    ({**GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_ID": "arn:aws:bedrock:us-west-2:123456789012:guardrail/abc123xyz789"},
     "haiku run outside us-west-2, the guardrail's region"),
], ids=["version-alone", "roles-and-trace-alone", "no-version", "wildcard", "not-an-id", "a-profile", "word-version",
        "version-0", "empty-roles", "bad-trace", "unknown-role", "role-without-guardable-model", "other-region"])
def test_guardrail_refusals(environ, refusal):
    with pytest.raises(RenderError, match=re.escape(refusal)):
        render_files(KONG_YAML, EXAMPLE, REDIS, ENV, BedrockGuardrail.from_environ(environ))


def test_a_guarded_role_whose_default_model_cannot_carry_it_is_refused():
    base = yaml.safe_load(KONG_YAML.read_text())
    role = next(r for r in proxy_config(base)["roles"] if r["name"] == "ecommerce_ops")
    role["default_model"] = "nova-canvas"
    with pytest.raises(RenderError, match="its default model nova-canvas cannot apply"):
        render(base, [dict(JANE, keyauth_credentials=[{"key": "k" * 30}])], REDIS, GUARDRAIL)


@pytest.mark.parametrize("profile_region, refused", [("us-west-2", True), ("us-east-1", False)])
def test_a_guarded_role_is_refused_when_its_inference_profile_calls_another_region(profile_region, refused):
    """The role calls haiku through its application inference profile, in the profile's region (CatalogueEntry.
    invocation_region), where a guardrail of us-east-1 does not apply: render_config let it through until
    2026-11-25, and every call of the role failed at Bedrock."""
    base = yaml.safe_load(KONG_YAML.read_text())
    role = next(r for r in proxy_config(base)["roles"] if r["name"] == "ecommerce_ops")
    role["inference_profiles"] = [{"model": "haiku", "arn": f"arn:aws:bedrock:{profile_region}:123456789012:"
                                                            "application-inference-profile/a1b2c3d4e5f6"}]
    consumers = [dict(JANE, keyauth_credentials=[{"key": "k" * 30}])]
    if refused:
        with pytest.raises(RenderError, match="role ecommerce_ops: haiku run outside us-east-1"):
            render(base, consumers, REDIS, GUARDRAIL)
    else:
        assert guardrails_by_role(render(base, consumers, REDIS, GUARDRAIL))["ecommerce_ops"] is not None


def test_models_a_guarded_role_loses_are_named():
    """bedrock-proxy refuses a guarded role's image calls (they would bypass the guardrail): ecommerce_ops' product
    shots need a role without it. Embeddings and reranking stay (no content for a guardrail to judge)."""
    assert unguarded_models(render_files(KONG_YAML, EXAMPLE, REDIS, ENV)) == []
    notes = unguarded_models(render_files(KONG_YAML, EXAMPLE, REDIS, ENV, GUARDRAIL))
    assert len(notes) == 1 and notes[0].startswith("role ecommerce_ops: nova-canvas, stable-image-core cannot carry")


def test_the_command_line_takes_the_guardrail_from_the_environment(tmp_path):
    out = tmp_path / "kong.yml"
    done = run_cli("--consumers", str(EXAMPLE), "--redis-host", "redis.internal", "-o", str(out),
                   env={**ENV, **GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_TRACE": "false"})
    assert done.returncode == 0, done.stderr
    assert guardrails_by_role(yaml.safe_load(out.read_text()))["guest"] == \
        {"identifier": GUARDRAIL_ARN, "version": "3", "trace": False}
    assert "render_config: note: role ecommerce_ops: nova-canvas, stable-image-core" in done.stderr
    refused = run_cli("--consumers", str(EXAMPLE), "--redis-host", "redis.internal",
                      env={**ENV, **GUARDRAIL_ENV, "BEDROCK_GUARDRAIL_VERSION": "latest"})
    assert refused.returncode == 1 and refused.stdout == ""
    assert "render_config: refused: BEDROCK_GUARDRAIL_VERSION 'latest'" in refused.stderr
