"""Throttling, outages and denials: retries, fallback chains and truthful errors."""

import json

import anthropic
import openai
import pytest
import requests

from tests.e2e.clients import bedrock_runtime, request_line

HEADERS = {"X-API-Key": "dev-admin-key"}
FIRST_FRAME_THROTTLE = {"type": "stream_exception", "exception": "throttlingException", "after_events": 0}
"""A stream Bedrock answers with a 200 and refuses in its first frame."""
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def ask(stack, model="sonnet", stream=False, api="anthropic"):
    if api == "openai":
        body = {"model": model, "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
        return requests.post(stack.proxy_url + "/v1/chat/completions", json=body, headers=HEADERS, timeout=30,
                             stream=stream)
    body = {"model": model, "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return requests.post(stack.proxy_url + "/v1/messages", json=body, headers=HEADERS, timeout=30, stream=stream)


def fault(stack, **rule):
    assert stack.emulator_control("POST", "/_emulator/faults", json=rule).status_code == 200


def calls(stack, model_part):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if model_part in r["model_id"]]


def test_throttling_is_retried_then_succeeds(stack):
    fault(stack, type="throttle", count=2, model="sonnet")
    r = ask(stack)
    assert r.status_code == 200 and r.headers["X-Bedrock-Model"] == "sonnet"
    assert len(calls(stack, "sonnet")) == 3


def test_persistent_throttling_falls_back_along_the_chain(stack):
    fault(stack, type="throttle", count=-1, model="sonnet")
    r = ask(stack)
    assert r.status_code == 200
    assert r.headers["X-Bedrock-Model"] == "haiku" and r.headers["X-Bedrock-Fallback-From"] == "sonnet"


def test_throttling_everywhere_is_a_429_with_retry_after(stack):
    fault(stack, type="throttle", count=-1)
    r = ask(stack, model="haiku")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["type"] == "rate_limit_error"
    o = ask(stack, model="haiku", api="openai")
    assert o.status_code == 429 and o.json()["error"]["code"] == "rate_limit_exceeded"


def test_access_denied_falls_back_and_is_explained_when_alone(stack):
    fault(stack, type="access_denied", count=-1, model="opus")
    r = ask(stack, model="opus")
    assert r.status_code == 200 and r.headers["X-Bedrock-Model"] == "sonnet"
    fault(stack, type="access_denied", count=-1, model="haiku")
    denied = ask(stack, model="haiku")
    assert denied.status_code == 403 and "Bedrock console" in denied.json()["error"]["message"]


def test_server_errors_are_retried_and_validation_is_not(stack):
    fault(stack, type="internal", count=1, model="haiku")
    assert ask(stack, model="haiku").status_code == 200
    stack.emulator_control("DELETE", "/_emulator/requests")
    fault(stack, type="validation", count=1, model="haiku")
    r = ask(stack, model="haiku")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert len(calls(stack, "haiku")) == 1


def test_unavailable_and_model_timeout_statuses(stack):
    fault(stack, type="unavailable", count=-1)
    assert ask(stack, model="haiku").status_code == 503
    stack.emulator_control("DELETE", "/_emulator/faults")
    fault(stack, type="model_timeout", count=1, model="haiku")
    r = ask(stack, model="haiku", api="openai")
    assert r.status_code == 504 and r.json()["error"]["type"] == "server_error"


def test_exception_mid_stream_ends_the_stream_with_the_format_error_event(stack):
    fault(stack, type="stream_exception", exception="throttlingException", after_events=3, model="haiku")
    r = ask(stack, model="haiku", stream=True)
    assert r.status_code == 200
    events = [block for block in r.content.decode().split("\n\n") if block.strip()]
    assert events[0].startswith("event: message_start")
    assert events[-1].startswith("event: error")
    assert json.loads(events[-1].split("data: ", 1)[1])["error"]["type"] == "rate_limit_error"
    fault(stack, type="stream_exception", exception="modelStreamErrorException", after_events=3, model="haiku")
    o = ask(stack, model="haiku", stream=True, api="openai")
    last = [line for line in o.content.decode().split("\n\n") if line.strip()][-1]
    assert "error" in json.loads(last[len("data: "):])


def test_an_openai_answer_from_a_fallback_names_the_model_that_answered(stack):
    """OpenAI's `model` is the model that answered (LangChain's model_name, the Agents SDK's usage traces read
    it): a fallback's answer said the model asked for, though the headers and the price said the fallback."""
    fault(stack, type="throttle", count=-1, model="sonnet")
    whole = ask(stack, api="openai")
    assert whole.headers["X-Bedrock-Fallback-From"] == "sonnet" and whole.json()["model"] == "haiku"
    streamed = ask(stack, api="openai", stream=True)
    chunks = [json.loads(line[6:]) for line in streamed.iter_lines(decode_unicode=True)
              if line.startswith("data: {")]
    assert chunks and {chunk["model"] for chunk in chunks} == {"haiku"}
    unfailed = ask(stack, model="claude-haiku-4-5", api="openai")
    assert unfailed.json()["model"] == "claude-haiku-4-5"          # the name asked for, when that model answers


def fallbacks_logged(stack, kong_request_id):
    """The plugin server's bedrock_fallback lines for this request (written before its request line)."""
    request_line(stack, kong_request_id)
    lines = [json.loads(line[line.index("{"):]) for line in stack.harness.plugin_server_output("bedrock")
             if '"event":"bedrock_fallback"' in line and kong_request_id in line]
    return [{key: line[key] for key in ("model", "fallback", "error")} for line in lines]


def _openai_stream(stack, model):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-admin-key", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model=model, max_tokens=16, stream=True,
                                                           messages=[{"role": "user", "content": "hi"}])
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    return raw.headers, text


def _anthropic_stream(stack, model):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)
    raw = client.messages.with_raw_response.create(model=model, max_tokens=16, stream=True,
                                                   messages=[{"role": "user", "content": "hi"}])
    events = list(raw.parse())
    assert events[-1].type == "message_stop"
    return raw.headers, "".join(e.delta.text for e in events if e.type == "content_block_delta")


def _converse_stream(stack, model):
    out = bedrock_runtime(stack, key="dev-admin-key").converse_stream(
        modelId=SONNET, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in out["stream"] if "contentBlockDelta" in e)
    return out["ResponseMetadata"]["HTTPHeaders"], text


@pytest.mark.parametrize("client", [_openai_stream, _anthropic_stream, _converse_stream],
                         ids=["openai", "anthropic", "bedrock-native"])
def test_a_stream_throttled_in_every_first_frame_falls_back_like_an_http_429(stack, client):
    """Every attempt at sonnet is a 200 refused in its first frame: the gateway retries it and falls back to
    haiku, as for Bedrock's HTTP 429; the client, retrying nothing, gets haiku's whole stream."""
    fault(stack, **FIRST_FRAME_THROTTLE, count=-1, model="sonnet")
    headers, text = client(stack, "sonnet")
    assert text.startswith("Emulated")
    assert headers["x-bedrock-model"] == "haiku" and headers["x-bedrock-fallback-from"] == "sonnet"
    assert len(calls(stack, "sonnet")) == 3 and len(calls(stack, "haiku")) == 1


def test_the_fallback_is_logged_as_for_an_http_429(stack):
    fault(stack, type="throttle", count=-1, model="sonnet")
    http = ask(stack, stream=True)
    stack.emulator_control("DELETE", "/_emulator/faults")
    fault(stack, **FIRST_FRAME_THROTTLE, count=-1, model="sonnet")
    first_frame = ask(stack, stream=True)
    assert http.status_code == first_frame.status_code == 200 and http.text and first_frame.text
    logged = [fallbacks_logged(stack, r.headers["X-Kong-Request-Id"]) for r in (http, first_frame)]
    assert logged[0] == logged[1] == [{"model": "sonnet", "fallback": "haiku", "error": "ThrottlingException"}]


def test_a_mantle_stream_throttled_in_every_first_frame_falls_back(stack):
    fault(stack, **FIRST_FRAME_THROTTLE, count=-1, operation="mantle-messages")
    headers, text = _anthropic_stream(stack, "opus-4-7")
    assert text.startswith("Emulated")
    assert headers["x-bedrock-model"] == "opus" and headers["x-bedrock-fallback-from"] == "opus-4-7"
    assert [r["operation"] for r in calls(stack, "opus")] == ["mantle-messages"] * 3 + ["invoke-with-response-stream"]
