"""Fuzzed input on every client route (hypothesis, bounded): no 5xx caused by our code, every
error in the caller's format, nothing echoed back."""

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.stack import GatewayStack

ROUTES = {"/v1/messages": "anthropic", "/v1/chat/completions": "openai", "/v1/responses": "openai",
          "/v1/embeddings": "openai", "/v1/messages/count_tokens": "anthropic",
          "/v1/chat/haiku": "openai", "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke": "bedrock",
          "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/converse-stream": "bedrock"}
CANARY = "fuzz-canary-7f3a"

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=False), st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool", "x", 3]),
                                           "content": json_values}), max_size=3)
response_formats = st.one_of(st.fixed_dictionaries(
    {"type": st.sampled_from(["json_schema", "json_object", "text", "yaml", 1])},
    optional={"json_schema": st.one_of(scalars, st.lists(scalars, max_size=2), st.fixed_dictionaries(
        {"name": st.text(max_size=8)}, optional={"schema": json_values, "strict": st.booleans()}))}), json_values)
efforts = st.one_of(json_values, st.sampled_from(["none", "minimal", "low", "medium", "high", "xhigh", "max"]))
bodies = st.one_of(
    st.builds(lambda m, extra: json.dumps({"model": "haiku", "max_tokens": 8, "messages": m, **extra}).encode(),
              messages, st.dictionaries(st.sampled_from(["stream", "tools", "tool_choice", "system", "max_tokens",
                                                         "temperature", "n", "stop", "model", "thinking",
                                                         "output_config"]),
                                        json_values, max_size=3)),
    st.builds(lambda v: json.dumps({"model": "haiku", "input": v}).encode(), json_values),
    st.builds(lambda v, extra: json.dumps({"model": "titan-embed", "input": v, **extra}).encode(),
              st.one_of(json_values, st.lists(st.text(max_size=30), max_size=5)),
              st.dictionaries(st.sampled_from(["dimensions", "encoding_format", "user", "model"]), json_values,
                              max_size=2)),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.binary(max_size=200),
    st.just(b"[" * 5000 + b"]" * 5000),
    st.just(b'{"messages": [{"role": "user", "content": "\xff\xfe\xfd"}], "max_tokens": 5}'),
)


@pytest.fixture(scope="module")
def stack():
    with GatewayStack() as running:
        yield running


def chain_problems(stack, response, log_lines_before: int, server_lines_before: int) -> list[str]:
    """Problems Kong or the plugin server reported for this request (a crashed RPC, a traceback, a plugin
    phase that raised: `guarded` logs it as plugin_error, and the relay then refuses the unsigned request)."""
    if response.headers.get("X-Kong-Request-Id"):
        stack.harness.wait_for_log(response.headers["X-Kong-Request-Id"])
    errors = [line for line in stack.harness.error_log[log_lines_before:]
              if "mp_rpc" in line or "internal error" in line]
    server = [line for line in stack.harness.plugin_server_output("bedrock")[server_lines_before:]
              if "Traceback" in line or "failed with" in line or "plugin_error" in line]
    return errors + server


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
    before = len(stack.harness.error_log), len(stack.harness.plugin_server_output("bedrock"))
    r = requests.post(stack.proxy_url + route, data=body, headers=headers, timeout=30)
    assert not chain_problems(stack, r, *before)
    assert r.status_code < 500 or r.status_code in (502, 503, 504) and r.headers.get("X-Kong-Upstream-Latency"), \
        (r.status_code, r.text[:300])
    assert r.status_code != 500
    if r.status_code >= 400 and "json" in r.headers.get("Content-Type", ""):
        assert error_shape_ok(ROUTES[route], r.status_code, r), r.text[:300]
    assert CANARY not in r.text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(route=st.sampled_from(["/v1/chat/completions", "/v1/chat/opus-4-7"]), response_format=response_formats,
       effort=efforts, tools=st.booleans(), strict=st.one_of(st.none(), st.booleans(), scalars),
       max_tokens=st.sampled_from([8, 2048]), stream=st.booleans())
def test_fuzzed_openai_output_options(stack, route, response_format, effort, tools, strict, max_tokens, stream):
    """response_format, reasoning_effort and strict tools, valid or not, on Converse and on Mantle: a reply
    or a 400."""
    body = {"model": "haiku", "max_tokens": max_tokens, "stream": stream, "messages": [{"role": "user", "content":
            "hi"}], "response_format": response_format, "reasoning_effort": effort}
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
        if strict is not None:
            body["tools"][0]["function"]["strict"] = strict
    before = len(stack.harness.error_log), len(stack.harness.plugin_server_output("bedrock"))
    r = requests.post(stack.proxy_url + route, data=json.dumps(body).encode(), timeout=30,
                      headers={"X-API-Key": "dev-admin-key", "Content-Type": "application/json"})
    assert not chain_problems(stack, r, *before)
    assert r.status_code in (200, 400), (r.status_code, r.text[:300])
    if r.status_code == 400:
        assert error_shape_ok("openai", r.status_code, r), r.text[:300]


def test_body_over_the_size_limit_is_413(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", data=b"{" + b" " * (10 * 1024 * 1024 + 10) + b"}",
                      headers={"X-API-Key": "dev-admin-key", "Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413


HEADER_NAMES = ["anthropic-version", "anthropic-beta", "Authorization", "Accept", "Content-Encoding",
                "X-Amzn-Bedrock-Accept", "X-Amzn-Bedrock-Trace", "X-Amzn-Bedrock-GuardrailIdentifier",
                "X-Amzn-Bedrock-PerformanceConfig-Latency", "X-Kong-Request-Id", "X-Consumer-Username",
                "X-Request-Id", "User-Agent", "Accept-Encoding", "Content-Type"]
header_values = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xff,
                                               blacklist_categories=("Cc", "Zs")), max_size=80) | \
    st.sampled_from(["", "gzip", "br", "application/json; charset=utf-16", "Bearer ", "Bearer dev-admin-key",
                     "2023-06-01", "context-1m-2025-08-07,interleaved-thinking-2025-05-14", "ENABLED", "x" * 8000])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(route=st.sampled_from(sorted(ROUTES)), fuzzed=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values,
                                                                     min_size=1, max_size=4),
       stream=st.booleans())
def test_fuzzed_headers(stack, route, fuzzed, stream):
    body = {"model": "haiku", "max_tokens": 8, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    if route.startswith("/model/"):
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8,
                "messages": [{"role": "user", "content": "hi"}]}
    headers = {"X-API-Key": "dev-admin-key", "Content-Type": "application/json", **fuzzed, "X-Canary": CANARY}
    before = len(stack.harness.error_log), len(stack.harness.plugin_server_output("bedrock"))
    r = requests.post(stack.proxy_url + route, data=json.dumps(body).encode(), headers=headers, timeout=30)
    assert r.status_code < 500 or r.status_code in (502, 503, 504) and r.headers.get("X-Kong-Upstream-Latency"), \
        (r.status_code, r.text[:300], fuzzed)
    assert not chain_problems(stack, r, *before)
    if r.status_code >= 400 and "json" in r.headers.get("Content-Type", ""):
        assert error_shape_ok(ROUTES[route], r.status_code, r), r.text[:300]
    assert CANARY not in r.text
