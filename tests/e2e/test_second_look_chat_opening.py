"""A Chat stream is the client's from Bedrock's first event that says something (messageStart), as every other
format's is: its 200 and opening chunk go out then, keep-alive comments fill a silence before the first token,
and a failure after it is the stream's last event, billed as Bedrock bills a call the model had begun.

Since 6ef2d2e held the opening chunk (and with it the 200) back to the first content, a Chat stream that Bedrock
opened and then kept silent (long thinking, a big prompt's prefill) sent the client nothing at all, not even the
keep-alive pings a load balancer's 60 s idle timeout needs; and a model error after messageStart became a 502
billed nothing (the OpenAI SDK then ran the call again), where the same failure was billed for Anthropic clients.

bedrock-proxy's stream_ping_seconds is 0.5 here and the emulator's silence 2 s (as in test_stream_keepalive).
"""

import json

import openai
import pytest
import requests

from tests.e2e.clients import request_line
from tests.stack import GatewayStack

ADMIN = {"X-API-Key": "dev-admin-key"}
KEEP_ALIVE = b": keep-alive"
ASK = [{"role": "user", "content": "hi"}]
CHAT = {"model": "haiku", "max_tokens": 64, "messages": ASK}


@pytest.fixture(scope="module")
def stack():
    with GatewayStack(config_overrides={"bedrock-proxy": {"stream_ping_seconds": 0.5}}) as running:
        yield running


def _fault(stack, **rule):
    stack.emulator_control("POST", "/_emulator/faults", json={"operation": "converse-stream", **rule}) \
        .raise_for_status()


def _events(stack, body):
    """The Chat stream's status, request id and SSE events as the client reads them, raw."""
    r = requests.post(stack.proxy_url + "/v1/chat/completions", json={**body, "stream": True}, headers=ADMIN,
                      timeout=60)
    return r.status_code, r.headers["X-Kong-Request-Id"], [e for e in r.content.split(b"\n\n") if e.strip()]


def _said(event):
    """Whether a chunk says something of the answer (content, a call, a thought, a finish)."""
    if not event.startswith(b"data: {"):
        return False
    choices = json.loads(event[len(b"data: "):]).get("choices") or [{}]
    delta = choices[0].get("delta") or {}
    return bool(delta.get("content") is not None or set(delta) - {"role", "content"} or choices[0].get("finish_reason"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("choices", [1, 2])
def test_a_chat_stream_silent_after_bedrock_opened_it_is_kept_alive_before_its_first_token(stack, choices):
    _fault(stack, type="stall", delay_s=2.0, after_events=1, count=choices)   # silent right after messageStart
    status, _, events = _events(stack, {**CHAT, "n": choices})
    assert status == 200
    assert events[0].startswith(b"data: {") and not _said(events[0])   # the opening chunk: the role
    assert KEEP_ALIVE in events and events.index(KEEP_ALIVE) < next(i for i, e in enumerate(events) if _said(e))
    assert events[-1] == b"data: [DONE]"


@pytest.mark.timeout(60)
def test_the_sdk_reads_a_kept_alive_opening_as_the_same_completion(stack):
    gpt = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-admin-key", max_retries=0)

    def completion():
        with gpt.chat.completions.stream(**CHAT) as stream:
            return stream.get_final_completion().choices[0].message.model_dump()

    expected = completion()
    _fault(stack, type="stall", delay_s=2.0, after_events=1)
    assert completion() == expected and expected["content"].startswith("Emulated")


@pytest.mark.timeout(60)
def test_a_model_error_after_messagestart_ends_the_chat_stream_and_is_billed_as_begun(stack):
    _fault(stack, type="stream_exception", exception="modelStreamErrorException", after_events=1)
    status, request_id, events = _events(stack, CHAT)
    assert status == 200 and events[0].startswith(b"data: {")
    assert json.loads(events[-1][len(b"data: "):])["error"]["type"] == "server_error"
    line = request_line(stack, request_id)
    assert line["error_type"] == "modelStreamErrorException"
    assert line["input_tokens"] > 0 and float(line["cost_usd"]) > 0   # the model had begun: Bedrock bills it

    _fault(stack, type="stream_exception", exception="modelStreamErrorException", after_events=1)
    gpt = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-admin-key")   # the SDK's default retries
    with pytest.raises(openai.APIError):
        list(gpt.chat.completions.create(stream=True, **CHAT))
    assert len(stack.emulator_control("GET", "/_emulator/requests").json()) == 2   # run once, not run again


@pytest.mark.timeout(60)
def test_a_refusal_in_the_first_frame_is_still_the_http_error_after_retries(stack):
    _fault(stack, type="stream_exception", exception="throttlingException", after_events=0, count=-1)
    status, _, events = _events(stack, CHAT)
    assert status == 429 and json.loads(events[0])["error"]["code"] == "rate_limit_exceeded", events
