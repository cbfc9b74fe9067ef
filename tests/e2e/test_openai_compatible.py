"""The "other" tier: a consumer with no role tag reaches Gemini 1.5 Flash through an
OpenAI-compatible endpoint (here a local stub), metered like Bedrock calls."""

import json
import time

import anthropic
import openai
import pytest
import requests

from tests.openai_stub import OpenAIStub
from tests.stack import GatewayStack

STUB_KEY = "stub-provider-key"


@pytest.fixture(scope="module")
def other_tier():
    with OpenAIStub(api_key=STUB_KEY, model="gemini-1.5-flash") as stub:
        stack = GatewayStack(process_env={"GEMINI_API_KEY": STUB_KEY},
                             model_overrides={"gemini-flash": {"base_url": stub.url + "/v1"}})
        with stack:
            yield stack, stub


def client(stack, key="dev-partner-key"):
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=key, max_retries=0)


def test_consumer_without_role_gets_gemini_flash(other_tier):
    stack, stub = other_tier
    completion = client(stack).chat.completions.create(messages=[{"role": "user", "content": "hello"}],
                                                       model="gemini-flash")
    assert completion.choices[0].message.content and completion.usage.total_tokens > 0
    sent = stub.requests[-1]
    assert sent["body"]["model"] == "gemini-1.5-flash"
    assert sent["headers"]["authorization"] == "Bearer"          # the provider key went upstream (redacted here)
    r = requests.post(stack.proxy_url + "/v1/chat", headers={"X-API-Key": "dev-partner-key"}, timeout=10,
                      json={"messages": [{"role": "user", "content": "default model"}]})
    assert r.status_code == 200 and r.headers["X-Bedrock-Model"] == "gemini-flash"


def test_stream_is_metered_and_usage_chunk_only_when_asked(other_tier):
    stack, stub = other_tier
    chunks = list(client(stack).chat.completions.create(model="gemini-flash", stream=True,
                                                        messages=[{"role": "user", "content": "stream"}]))
    assert all(c.usage is None for c in chunks)              # not asked: the upstream usage chunk is dropped
    assert stub.requests[-1]["body"]["stream_options"] == {"include_usage": True}   # ...but metering asked
    with_usage = list(client(stack).chat.completions.create(model="gemini-flash", stream=True,
                                                            stream_options={"include_usage": True},
                                                            messages=[{"role": "user", "content": "stream"}]))
    assert with_usage[-1].usage.completion_tokens > 0


def test_nothing_more_than_that_tier(other_tier):
    stack, _ = other_tier
    with pytest.raises(openai.PermissionDeniedError):
        client(stack).chat.completions.create(model="haiku", messages=[{"role": "user", "content": "x"}])
    assert [m.id for m in client(stack).models.list()] == ["gemini-flash"]
    claude_code = requests.get(stack.proxy_url + "/v1/models", timeout=10,   # Claude Code's discovery: none
                               headers={"X-API-Key": "dev-partner-key", "anthropic-version": "2023-06-01"})
    assert claude_code.status_code == 200 and claude_code.json()["data"] == []   # a list, not cjson's {}
    assert list(anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-partner-key").models.list()) == []
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-partner-key"}, timeout=10,
                      json={"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400 and "/v1/chat/completions" in r.json()["error"]["message"]


def test_a_provider_stream_cut_before_its_usage_chunk_is_charged_what_it_streamed(other_tier):
    """The provider's usage comes in its last chunk: a client that hangs up first is still charged."""
    stack, stub = other_tier
    stub.chunk_delay_s = 0.05
    try:
        r = requests.post(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": "dev-partner-key"},
                          stream=True, timeout=10, json={"model": "gemini-flash", "stream": True, "messages": [
                              {"role": "user", "content": "tell me a long story about " + "words " * 30}]})
        request_id = r.headers["X-Kong-Request-Id"]
        next(line for line in r.iter_lines() if b'"content":"' in line and b'"content":""' not in line)
        r.close()
        deadline = time.monotonic() + 10
        while not (summary := [json.loads(line) for line in stack.harness.plugin_server_output("bedrock")
                               if request_id in line and '"event":"request"' in line]):
            assert time.monotonic() < deadline, "no request summary was logged"
            time.sleep(0.05)
    finally:
        stub.chunk_delay_s = 0.0
    assert summary[0]["error_type"] == "ClientDisconnected" and summary[0]["usage_estimated"] is True
    assert summary[0]["input_tokens"] > 0 and summary[0]["output_tokens"] > 0
