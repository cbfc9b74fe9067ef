"""The benchmark's floor: /kong-only sends a client's signed Converse call through Kong alone.

`make bench` subtracts this route's latency from the gateway's to tell what our
plugins and the relay add on top of Kong's own work, so the route must run
Kong's plugins (key-auth, pre-function, the consumer's rate limit, the global
ones) and reach Bedrock, and must not touch the plugin server. Each path's
"added" is measured against the direct call of the operation it makes, which
the benchmark reads from the emulator's log (`upstream_operation`).
"""

from __future__ import annotations

import json

import pytest

from bench.compare import API_KEY, MODEL_ID, chat_call, kong_only_call, upstream_operation
from bench.load import send
from tests.stack import GatewayStack


@pytest.fixture(scope="module")
def stack():
    with GatewayStack(kong_only_route=True) as running:
        yield running


def _post(call, headers=None):
    conn = call.connect()
    conn.request("POST", call.path, body=call.body, headers=headers if headers is not None else call.headers)
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


@pytest.mark.parametrize("stream", [False, True])
def test_signed_converse_reaches_bedrock_without_a_plugin_server_call(stack, stream):
    call = kong_only_call(stack.proxy_url, stack.emulator.url, stream)
    status, headers, body = _post(call)
    assert status == 200, body[:300]
    request_id = headers["X-Kong-Request-Id"]
    assert stack.harness.wait_for_log(request_id)
    assert stack.harness.request_stats(request_id)["rpc_calls"] == 0
    last = stack.emulator_control("GET", "/_emulator/requests").json()[-1]
    assert last["model_id"] == MODEL_ID and last["headers"]["x-kong-request-id"] == request_id
    assert last["operation"] == ("converse-stream" if stream else "converse")
    if not stream:
        assert json.loads(body)["usage"]["outputTokens"] > 0
    else:
        assert headers["Content-Type"] == "application/vnd.amazon.eventstream"


def test_the_stream_is_timed_by_the_benchmark_detector(stack):
    status, total, first = send(kong_only_call(stack.proxy_url, stack.emulator.url, True).connect(),
                                kong_only_call(stack.proxy_url, stack.emulator.url, True))
    assert status == 200 and first is not None and first <= total


def test_kong_plugins_still_run_there(stack):
    call = kong_only_call(stack.proxy_url, stack.emulator.url, False)
    status, _headers, body = _post(call, {k: v for k, v in call.headers.items() if k != "X-API-Key"})
    assert status == 401, body[:200]                                    # key-auth
    status, headers, _body = _post(call)
    assert "X-Correlation-ID" in headers                                # a global plugin


def test_kong_alone_and_this_gateway_are_measured_against_the_same_bedrock_operation(stack):
    """The chat call through our plugins becomes Converse too, so one direct baseline serves both."""
    emulator = stack.emulator.url
    assert upstream_operation(emulator, kong_only_call(stack.proxy_url, emulator, False)) == "converse"
    assert upstream_operation(emulator, chat_call(stack.proxy_url, {"X-API-Key": API_KEY}, False)) == "converse"
