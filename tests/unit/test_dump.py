"""`kong-bedrock-plugins --dump` is what Kong 3.6 reads at start-up (query_cmd)."""

import json
import re
import shutil
import subprocess

import pytest

EXPECTED = {"token-meter": {"access", "log"}, "ecommerce-guardrails": {"access"}, "bedrock-proxy": {"access"}}


@pytest.fixture(scope="module")
def dump():
    exe = shutil.which("kong-bedrock-plugins")
    assert exe, "console script not installed (pip install -e .)"
    # Kong runs query_cmd with an empty environment except TZ (nginx `env` rule).
    proc = subprocess.run([exe, "--dump"], capture_output=True, env={"TZ": "UTC"}, timeout=60)
    assert proc.returncode == 0
    return proc.stdout


def test_stdout_is_nothing_but_the_json_array(dump):
    plugins = json.loads(dump)  # Kong cjson.decodes the whole stdout
    assert isinstance(plugins, list)
    assert {p["Name"] for p in plugins} == set(EXPECTED)


def test_each_plugin_has_phases_version_priority_and_config_schema(dump):
    for plugin in json.loads(dump):
        assert set(plugin["Phases"]) == EXPECTED[plugin["Name"]]
        assert re.fullmatch(r"\d+\.\d+\.\d+", plugin["Version"])  # Kong refuses anything else
        assert isinstance(plugin["Priority"], int)
        schema = plugin["Schema"]
        assert schema["name"] == plugin["Name"]
        config = schema["fields"][0]["config"]
        assert config["type"] == "record" and config["fields"]


def test_priorities_run_after_bundled_auth_and_rate_limiting_in_our_order(dump):
    prio = {p["Name"]: p["Priority"] for p in json.loads(dump)}
    assert all(p < 910 for p in prio.values())  # key-auth 1250, acl 950, rate-limiting 910 go first
    assert prio["ecommerce-guardrails"] > prio["bedrock-proxy"] > prio["token-meter"]


def test_bedrock_proxy_schema_describes_models_and_roles(dump):
    proxy = next(p for p in json.loads(dump) if p["Name"] == "bedrock-proxy")
    fields = {next(iter(f)): next(iter(f.values())) for f in proxy["Schema"]["fields"][0]["config"]["fields"]}
    assert fields["models"]["elements"]["type"] == "record"
    assert fields["roles"]["elements"]["type"] == "record"
    assert fields["region"]["default"] == "us-east-1"
