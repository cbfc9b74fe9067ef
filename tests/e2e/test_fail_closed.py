"""Kong 3.6.1 fails open when a plugin's RPC fails: the request goes on without it. The relay
fails closed: no Bedrock call without the sign-off of every required plugin."""

import pytest
import requests
import yaml

from tests.stack import GatewayStack

ASK = {"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": "my card 4111 1111 1111 1111"}]}


class WithoutGuardrails(GatewayStack):
    """kong.yaml with ecommerce-guardrails missing from the service: what a skipped plugin looks like."""

    skipped = "ecommerce-guardrails"

    def _write_config(self):
        path = super()._write_config()
        config = yaml.safe_load(path.read_text())
        for service in config["services"]:
            service["plugins"] = [p for p in service.get("plugins", []) if p["name"] != self.skipped]
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path


class WithoutBedrockProxy(WithoutGuardrails):
    """bedrock-proxy skipped (its phase raised, or it is not on the route): nothing planned the call."""

    skipped = "bedrock-proxy"


@pytest.fixture(scope="module")
def without_guardrails():
    with WithoutGuardrails() as running:
        yield running


@pytest.fixture(scope="module")
def without_bedrock_proxy():
    with WithoutBedrockProxy() as running:
        yield running


@pytest.mark.parametrize("path,expect", [("/v1/messages", "overloaded_error"), ("/v1/chat/completions", "server_error")])
def test_no_bedrock_call_without_every_sign_off(without_guardrails, path, expect):
    stack = without_guardrails
    stack.emulator_control("DELETE", "/_emulator/requests")
    r = requests.post(stack.proxy_url + path, json=ASK, headers={"X-API-Key": "dev-admin-key"}, timeout=15)
    assert r.status_code == 503 and r.json()["error"]["type"] == expect
    assert "ecommerce-guardrails" in r.json()["error"]["message"]
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


@pytest.mark.parametrize("path,expect", [("/v1/messages", "overloaded_error"), ("/v1/chat/completions", "server_error")])
def test_a_request_bedrock_proxy_never_planned_is_the_gateways_503_not_a_403(without_bedrock_proxy, path, expect):
    ask = {**ASK, "messages": [{"role": "user", "content": "hello"}]}
    stack = without_bedrock_proxy
    stack.emulator_control("DELETE", "/_emulator/requests")
    r = requests.post(stack.proxy_url + path, json=ask, headers={"X-API-Key": "dev-admin-key"}, timeout=15)
    assert r.status_code == 503 and r.json()["error"]["type"] == expect
    assert "bedrock-proxy" in r.json()["error"]["message"]
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []
