"""What end-to-end tests share: the official OpenAI SDK's client, what the emulator saw, kong.yaml's roles
to override, and the plugin server's metrics."""

import json
import time
from decimal import ROUND_HALF_UP, Decimal

import boto3
import openai
import requests
import yaml
from botocore.config import Config

from tests.stack import KONG_YAML


def oa(stack, key="dev-developer-key"):
    # Plain SDK use: the key travels as `Authorization: Bearer` (kong.yaml's pre-function maps it for key-auth).
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=key, max_retries=0)


def bedrock_runtime(stack, key="dev-developer-key"):
    """boto3's bedrock-runtime client aimed at the gateway, as Claude Code's Bedrock mode and AWS SDK users do:
    the gateway key in X-API-Key, the client's own signature unused (the gateway signs)."""
    return _boto3_client("bedrock-runtime", stack, key)


def bedrock_control_plane(stack, key="dev-developer-key"):
    """boto3's `bedrock` (control-plane) client on the gateway, as LangChain's ChatBedrockConverse uses to learn
    which model an application inference profile serves."""
    return _boto3_client("bedrock", stack, key)


def _boto3_client(service, stack, key):
    client = boto3.client(service, endpoint_url=stack.proxy_url, region_name="us-east-1",
                          aws_access_key_id="client-side-not-used", aws_secret_access_key="client-side-not-used",
                          config=Config(retries={"total_max_attempts": 1}))
    client.meta.events.register(f"before-send.{service}.*",
                                lambda request, **_: request.headers.__setitem__("X-API-Key", key))
    return client


def sent(stack):
    """Every request the emulator received, oldest first (operation, model id, body)."""
    return stack.emulator_control("GET", "/_emulator/requests").json()


def last_sent(stack):
    """The last request the emulator received."""
    return sent(stack)[-1]


def shipped_roles(change):
    """kong.yaml's bedrock-proxy roles, each passed through `change` (a role dict in, a role dict out)."""
    proxy = next(p["config"] for s in yaml.safe_load(KONG_YAML.read_text())["services"]
                 for p in s.get("plugins", []) if p["name"] == "bedrock-proxy")
    return [change(role) for role in proxy["roles"]]


def metric(stack, series):
    """A series' value on the plugin server's exporter (`name{labels}` as exposed), 0 when absent."""
    found = [l for l in requests.get(stack.metrics_url, timeout=5).text.splitlines() if l.startswith(series)]
    return float(found[0].split()[-1]) if found else 0.0


def metric_reaches(stack, series, expected):
    """The value once token-meter's log phase (after the response) has run: at most 5 s."""
    deadline = time.monotonic() + 5
    while metric(stack, series) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return metric(stack, series) == expected


def logged_request(stack, kong_request_id) -> dict | None:
    """The plugin server's log line for this request if it is written yet (for tests that poll on a deadline of
    their own); request_line waits for it."""
    logged = [json.loads(line) for line in stack.harness.plugin_server_output("bedrock")
              if line.startswith("{") and kong_request_id in line]
    return next((entry for entry in logged if entry["event"] == "request"), None)


def request_line(stack, kong_request_id):
    """The plugin server's one log line for this request (token-meter writes it after the response, and the
    harness reads the plugin server's output on a thread of its own: polled for up to 5 s)."""
    stack.harness.wait_for_log(kong_request_id)
    deadline = time.monotonic() + 5
    while True:
        for line in stack.harness.plugin_server_output("bedrock"):
            if '"event":"request"' in line and kong_request_id in line:
                return json.loads(line[line.index("{"):])
        if time.monotonic() > deadline:
            raise AssertionError("no request log line")
        time.sleep(0.02)


def charged(cost: Decimal) -> Decimal:
    """An exact cost as the X-Token-Cost-USD header, the request log and the budget say it: whole micro-dollars,
    rounded half up (pricing.Price.charged_usd)."""
    return cost.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
