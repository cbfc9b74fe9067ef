"""Fuzzed input on every client route (hypothesis, bounded): no 5xx caused by our code, every
error in the caller's format, nothing echoed back."""

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.stack import GatewayStack

ROUTES = {"/v1/messages": "anthropic", "/v1/chat/completions": "openai", "/v1/messages/count_tokens": "anthropic",
          "/v1/chat/haiku": "openai", "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke": "bedrock",
          "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/converse-stream": "bedrock"}
CANARY = "fuzz-canary-7f3a"

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=False), st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool", "x", 3]),
                                           "content": json_values}), max_size=3)
bodies = st.one_of(
    st.builds(lambda m, extra: json.dumps({"model": "haiku", "max_tokens": 8, "messages": m, **extra}).encode(),
              messages, st.dictionaries(st.sampled_from(["stream", "tools", "tool_choice", "system", "max_tokens",
                                                         "temperature", "n", "stop", "model", "thinking"]),
                                        json_values, max_size=3)),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.binary(max_size=200),
    st.just(b"[" * 5000 + b"]" * 5000),
    st.just(b'{"messages": [{"role": "user", "content": "\xff\xfe\xfd"}], "max_tokens": 5}'),
)


@pytest.fixture(scope="module")
def stack():
    with GatewayStack() as running:
        yield running


def error_shape_ok(fmt, status, response):
    if status < 400:
        return True
    data = response.json()
    if fmt == "openai":
        return isinstance(data.get("error"), dict) and "message" in data["error"] or "message" in data
    if fmt == "anthropic":
        return data.get("type") == "error" or "message" in data
    return "message" in data or "Message" in data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(route=st.sampled_from(sorted(ROUTES)), body=bodies,
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]))
def test_fuzzed_bodies(stack, route, body, content_type):
    headers = {"X-API-Key": "dev-admin-key", "X-Canary": CANARY}
    if content_type:
        headers["Content-Type"] = content_type
    r = requests.post(stack.proxy_url + route, data=body, headers=headers, timeout=30)
    assert r.status_code < 500 or r.status_code in (502, 503, 504) and r.headers.get("X-Kong-Upstream-Latency"), \
        (r.status_code, r.text[:300])
    assert r.status_code != 500
    if r.status_code >= 400 and "json" in r.headers.get("Content-Type", ""):
        assert error_shape_ok(ROUTES[route], r.status_code, r), r.text[:300]
    assert CANARY not in r.text


def test_body_over_the_size_limit_is_413(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", data=b"{" + b" " * (10 * 1024 * 1024 + 10) + b"}",
                      headers={"X-API-Key": "dev-admin-key", "Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413
