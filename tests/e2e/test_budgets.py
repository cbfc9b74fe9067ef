"""token-meter through the whole stack: limits per role, 429s, concurrency, headers, metrics."""

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import anthropic
import openai
import pytest
import requests

from kong_plugins.metering.pricing import DEFAULT_PRICES
from kong_plugins.context import Usage
from tests.kong_harness.external import TIMERS
from tests.e2e.clients import charged, metric
from tests.stack import GatewayStack

KEYS = {"admin": "dev-admin-key", "developer": "dev-developer-key", "analyst": "dev-analyst-key",
        "ecommerce_ops": "dev-ops-key", "guest": "dev-guest-key"}
BIG_PROMPT = "order status please " * 1200          # ~24k characters: a ~6k-token reservation


def post(stack, key, body, path="/v1/messages", **kw):
    return requests.post(stack.proxy_url + path, json=body, headers={"X-API-Key": key}, timeout=30, **kw)


@pytest.mark.parametrize("role,allowed", [("admin", True), ("developer", True), ("analyst", False),
                                          ("ecommerce_ops", False), ("guest", False)])
def test_budget_matrix_per_role(stack, role, allowed):
    r = post(stack, KEYS[role], {"model": "haiku", "max_tokens": 64,
                                 "messages": [{"role": "user", "content": BIG_PROMPT}]})
    if allowed:
        assert r.status_code == 200
        return
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
    # ~6k tokens is more than these roles' whole minute: waiting cannot help, so no Retry-After and no SDK retry
    assert "Retry-After" not in r.headers and r.headers["x-should-retry"] == "false"
    limit = {"analyst": "5000 tokens a minute", "ecommerce_ops": "2000 tokens a minute",
             "guest": "1000 tokens a day"}[role]   # of the windows it exceeds, the one that reopens last
    assert f"more than this API key's limit of {limit}" in r.json()["error"]["message"]
    assert not [x for x in stack.emulator_control("GET", "/_emulator/requests").json()]   # refused before the call


def test_a_call_that_fits_an_empty_window_is_refused_with_retry_after_once_the_window_is_used(stack):
    prompt = "order status please " * 600          # ~12k characters: ~3k tokens, + 64 output, of 5,000 a minute
    body = {"model": "haiku", "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]}
    first, second = post(stack, KEYS["analyst"], body), post(stack, KEYS["analyst"], body)
    assert first.status_code == 200
    assert second.status_code == 429 and 0 < int(second.headers["Retry-After"]) <= 60
    assert "x-should-retry" not in second.headers and second.json()["error"]["message"] == \
        "Token rate limit reached for this minute."
    assert int(second.headers["X-RateLimit-Remaining-Tokens-Minute"]) < 3064


def test_the_sdks_do_not_retry_a_call_no_window_can_admit(stack):
    series = 'kong_bedrock_rejections_total{reason="request_too_large",role="guest"}'
    before = metric(stack, series)
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=KEYS["guest"], max_retries=2)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="haiku", max_tokens=64, messages=[{"role": "user", "content": BIG_PROMPT}])
    assert "limit of 1000 tokens a day" in refused.value.message
    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key=KEYS["guest"], max_retries=2)
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(model="haiku", max_tokens=64, messages=[{"role": "user", "content": BIG_PROMPT}])
    assert metric(stack, series) == before + 2                # one request each: neither SDK retried


def test_usage_and_cost_headers_match_the_body_and_the_price(stack):
    r = post(stack, KEYS["developer"], {"model": "sonnet", "max_tokens": 64,
                                        "messages": [{"role": "user", "content": "hello there"}]})
    usage = r.json()["usage"]
    assert int(r.headers["X-Token-Usage-Input"]) == usage["input_tokens"]
    assert int(r.headers["X-Token-Usage-Output"]) == usage["output_tokens"]
    assert int(r.headers["X-Token-Usage-Total"]) == usage["input_tokens"] + usage["output_tokens"] + \
        usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
    expected = DEFAULT_PRICES["sonnet"].cost_usd(Usage(input=usage["input_tokens"], output=usage["output_tokens"],
                                                       cache_read=usage["cache_read_input_tokens"],
                                                       cache_write=usage["cache_creation_input_tokens"]))
    assert Decimal(r.headers["X-Token-Cost-USD"]) == charged(expected)
    assert int(r.headers["X-RateLimit-Limit-Tokens-Minute"]) == 400000


def _metric(text, name, **labels):
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()))


def test_metrics_scraped_match_the_requests_sent(stack):
    before = requests.get(stack.metrics_url, timeout=5).text
    costs, tokens = Decimal(0), 0
    for _ in range(3):
        r = post(stack, KEYS["developer"], {"model": "haiku", "max_tokens": 32,
                                            "messages": [{"role": "user", "content": "count me"}]})
        stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"])
        costs += Decimal(r.headers["X-Token-Cost-USD"])
        tokens += int(r.headers["X-Token-Usage-Output"])
    after = requests.get(stack.metrics_url, timeout=5).text
    labels = {"model": "haiku", "role": "developer", "consumer": "dev-user-1"}
    assert _metric(after, "kong_bedrock_requests_total", status="200", **labels) - \
        _metric(before, "kong_bedrock_requests_total", status="200", **labels) == 3
    assert _metric(after, "kong_bedrock_tokens_output_total", **labels) - \
        _metric(before, "kong_bedrock_tokens_output_total", **labels) == tokens
    spent = _metric(after, "kong_bedrock_cost_estimate_dollars_total", **labels) - \
        _metric(before, "kong_bedrock_cost_estimate_dollars_total", **labels)
    assert abs(Decimal(str(spent)) - costs) < Decimal("0.000003")
    rejected = _metric(after, "kong_bedrock_rejections_total", reason="tokens_per_minute")
    assert rejected >= 1        # from the matrix above, same module stack
    remaining = _metric(after, "kong_bedrock_budget_remaining_dollars", consumer="dev-user-1", role="developer")
    assert 0 < remaining < 10


def test_monthly_budget_exhausted_is_budget_exceeded():
    # one haiku call of 50 max_tokens reserves at most $0.000276; it uses about $0.000225 (40 tokens out)
    overrides = {"token-meter": {"consumer_overrides": [{"consumer": "analyst-user", "monthly_budget_usd": 0.0004}]}}
    with GatewayStack(config_overrides=overrides) as stack:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 40})
        client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-analyst-key", max_retries=0)
        client.chat.completions.create(model="haiku", max_tokens=50, messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="haiku", max_tokens=50, messages=[{"role": "user", "content": "x"}])
        assert refused.value.body["code"] == "budget_exceeded"
        assert int(refused.value.response.headers["Retry-After"]) > 60          # until the next month
        assert refused.value.response.headers["X-Budget-Limit-USD"] == "0.000400"
        sent = []   # the SDKs' own retries (2 by default) are told not to bother
        hooks = {"request": [sent.append]}
        retrying = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-analyst-key",
                                 http_client=openai.DefaultHttpxClient(event_hooks=hooks))
        with pytest.raises(openai.RateLimitError):
            retrying.chat.completions.create(model="haiku", max_tokens=50, messages=[{"role": "user", "content": "x"}])
        claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-analyst-key",
                                     http_client=anthropic.DefaultHttpxClient(event_hooks=hooks))
        with pytest.raises(anthropic.RateLimitError):
            claude.messages.create(model="haiku", max_tokens=50, messages=[{"role": "user", "content": "x"}])
        assert len(sent) == 2


def test_fifty_concurrent_streams_never_overrun_a_small_budget():
    limit = 3000
    overrides = {"token-meter": {"limits": [{"role": "developer", "tokens_per_day": limit}]}}   # no roll-over mid-test
    with GatewayStack(config_overrides=overrides) as stack:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 40})
        stack.emulator_control("POST", "/_emulator/hold")       # admitted streams stay open, reservations held

        def open_stream(_):
            return post(stack, KEYS["developer"], {"model": "haiku", "max_tokens": 100, "stream": True,
                                                   "messages": [{"role": "user", "content": "tell me something"}]},
                        stream=True)

        with ThreadPoolExecutor(max_workers=50) as pool:
            responses = list(pool.map(open_stream, range(50)))   # every status known while all 200s are open
            stack.emulator_control("POST", "/_emulator/release")
            spent = sum(pool.map(_tokens_streamed, [r for r in responses if r.status_code == 200]))
    statuses = [r.status_code for r in responses]
    one_estimate = 100 + 5                        # max_tokens + the prompt's input estimate
    admitted = statuses.count(200)
    assert set(statuses) == {200, 429}
    assert admitted * one_estimate <= limit < (admitted + 1) * one_estimate   # as many as the budget holds
    assert spent <= limit + one_estimate, (spent, admitted)


def _tokens_streamed(response) -> int:
    used = 0
    for block in response.content.decode().split("\n\n"):
        if block.startswith("event: message_start"):
            used += json.loads(block.split("data: ", 1)[1])["message"]["usage"]["input_tokens"]
        if block.startswith("event: message_delta"):
            used += json.loads(block.split("data: ", 1)[1])["usage"]["output_tokens"]
    return used


def test_dogstatsd_receives_usage_with_tags():
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    overrides = {"token-meter": {"dogstatsd": {"enabled": True, "host": "127.0.0.1",
                                               "port": listener.getsockname()[1], "tags": ["env:test"]}}}
    try:
        with GatewayStack(config_overrides=overrides) as stack:
            r = post(stack, KEYS["developer"], {"model": "haiku", "max_tokens": 16,
                                                "messages": [{"role": "user", "content": "statsd"}]})
            assert r.status_code == 200
            lines = []
            while not any(line.startswith("kong.bedrock.tokens.output:") for line in lines):
                lines += listener.recv(65535).decode().splitlines()
    finally:
        listener.close()
    output = next(line for line in lines if line.startswith("kong.bedrock.tokens.output:"))
    assert output.startswith(f"kong.bedrock.tokens.output:{r.headers['X-Token-Usage-Output']}|c")
    assert "model:haiku" in output and "role:developer" in output and "env:test" in output


def test_back_to_back_calls_are_not_refused_while_kong_has_yet_to_log_the_last():
    """Kong logs a request in a timer after the client has its answer: the reservation cannot wait for it."""
    limit = 300     # two calls' reservations (max_tokens 200 each) overrun it; their usage does not
    overrides = {"token-meter": {"limits": [{"role": "developer", "tokens_per_day": limit}]}}   # no roll-over
    with GatewayStack(config_overrides=overrides) as stack:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 10})
        client = anthropic.Anthropic(base_url=stack.proxy_url, api_key=KEYS["developer"], max_retries=0)
        ask = {"model": "haiku", "max_tokens": 200, "messages": [{"role": "user", "content": "hi"}]}
        with TIMERS.held():       # no log phase runs until the block ends
            first = client.messages.with_raw_response.create(**ask)
            with client.messages.stream(**ask) as stream:
                streamed = stream.get_final_message().usage
            third = client.messages.with_raw_response.create(**ask)
    reserved = limit - int(first.headers["X-RateLimit-Remaining-Tokens-Day"])   # each call's, before any usage
    spent = sum(u.input_tokens + u.output_tokens for u in (first.parse().usage, streamed))
    assert reserved > limit / 2 and spent < limit / 2
    assert int(third.headers["X-RateLimit-Remaining-Tokens-Day"]) == limit - spent - reserved


@pytest.mark.parametrize("path, body", [
    ("/v1/messages", {"model": "haiku", "max_tokens": 64, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": BIG_PROMPT}},
        {"type": "text", "text": "summarise"}]}]}),
    ("/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/converse", {"messages": [{"role": "user", "content": [
        {"document": {"format": "txt", "name": "orders", "source": {"text": BIG_PROMPT}}},
        {"text": "summarise"}]}], "inferenceConfig": {"maxTokens": 64}}),
    ("/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/converse", {"messages": [
        {"role": "user", "content": [{"text": "look it up"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": BIG_PROMPT}]}}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}]},
        "inferenceConfig": {"maxTokens": 64}}),
], ids=["anthropic-document", "converse-document", "converse-tool-result"])
def test_a_prompt_in_a_document_or_a_tool_result_is_reserved_as_the_same_text_in_a_message(stack, path, body):
    """The estimate read only text and content keys: the same ~6k tokens as a document's text or a Converse
    tool result were reserved as a dozen, and one guest call spent five times its daily limit."""
    r = post(stack, KEYS["guest"], body, path=path)
    assert r.status_code == 429 and "more than this API key's limit of 1000 tokens a day" in r.text
    assert not stack.emulator_control("GET", "/_emulator/requests").json()     # refused before the call
