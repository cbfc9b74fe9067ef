"""Dockerfile.kong: pinned Kong 3.6.1, and an env block that agrees with kong/kong.conf and with
what the plugin server's --dump and socket flags expect. The build itself runs only where a
Docker engine does."""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile.kong").read_text()


def dockerfile_env() -> dict[str, str]:
    env = {}
    for block in re.findall(r"^ENV (.*?)(?<!\\)$", DOCKERFILE.replace("\\\n", "\\ "), re.M | re.S):
        for token in shlex.split(block.replace("\\ ", " ")):
            if "=" in token:
                key, value = token.split("=", 1)
                env[key] = value
    return env


def kong_conf() -> dict[str, str]:
    out = {}
    for line in (ROOT / "kong/kong.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


ENV = dockerfile_env()


def flag(command: str, name: str) -> str:
    parts = command.split()
    return parts[parts.index(name) + 1]


def test_base_image_is_pinned_kong_3_6_1_and_runs_as_kong():
    assert re.search(r"^FROM kong:3\.6\.1(-ubuntu)?$", DOCKERFILE, re.M)
    assert DOCKERFILE.strip().splitlines()[-2].startswith("USER kong")
    assert "HEALTHCHECK" in DOCKERFILE and "CMD kong health" in DOCKERFILE


def test_env_lists_every_plugin_the_server_dumps():
    dumped = json.loads(subprocess.run([shutil.which("kong-bedrock-plugins"), "--dump"], capture_output=True,
                                       check=True, env={"TZ": "UTC"}).stdout)
    plugins = ENV["KONG_PLUGINS"].split(",")
    assert plugins[0] == "bundled" and {p["Name"] for p in dumped} <= set(plugins)
    assert ENV["KONG_DATABASE"] == "off" and ENV["KONG_DECLARATIVE_CONFIG"] == "/etc/kong/kong.yaml"


def test_socket_is_where_the_started_server_listens():
    start = ENV["KONG_PLUGINSERVER_BEDROCK_START_CMD"]
    assert ENV["KONG_PLUGINSERVER_NAMES"] == "bedrock"
    assert ENV["KONG_PLUGINSERVER_BEDROCK_SOCKET"] == \
        str(Path(flag(start, "--kong-prefix")) / flag(start, "--socket-name"))
    assert ENV["KONG_PLUGINSERVER_BEDROCK_QUERY_CMD"].endswith("kong-bedrock-plugins --dump")
    assert start.split()[0] == "/usr/local/bin/kong-bedrock-plugins"      # the symlink the RUN step creates
    assert "ln -s /opt/bedrock-gateway/venv/bin/kong-bedrock-plugins /usr/local/bin/kong-bedrock-plugins" in DOCKERFILE


def test_env_agrees_with_kong_conf():
    conf = kong_conf()
    for key in ("plugins", "pluginserver_names", "pluginserver_bedrock_query_cmd", "nginx_main_env",
                "nginx_http_client_body_buffer_size", "nginx_http_client_max_body_size", "router_flavor"):
        assert ENV["KONG_" + key.upper()] == conf[key], key
    for key in ("pluginserver_bedrock_start_cmd", "pluginserver_bedrock_socket"):
        assert ENV["KONG_" + key.upper()] == conf[key], key


def test_plugin_server_sees_the_aws_credential_chain():
    declared = {part.strip().removeprefix("env ").strip() for part in ENV["KONG_NGINX_MAIN_ENV"].split(";")}
    assert {"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_REGION", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ACCESS_KEY_ID", "BEDROCK_ENDPOINT_URL", "GEMINI_API_KEY"} <= declared


def _docker_engine() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "info"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine")
def test_image_builds_and_dumps_the_plugins():
    subprocess.run(["docker", "build", "-f", "Dockerfile.kong", "-t", "kong-bedrock-gateway:test", "."], cwd=ROOT,
                   check=True)
    out = subprocess.run(["docker", "run", "--rm", "kong-bedrock-gateway:test", "kong-bedrock-plugins", "--dump"],
                         check=True, capture_output=True).stdout
    assert {p["Name"] for p in json.loads(out)} == {"bedrock-proxy", "token-meter", "ecommerce-guardrails"}
