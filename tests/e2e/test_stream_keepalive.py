"""Keep-alive pings while Bedrock is silent mid-stream (extended thinking): Anthropic's `ping` event, an SSE comment
for OpenAI clients, nothing on a Bedrock-native stream. Without them a client's idle timeout (Claude Code's byte
watchdog, a load balancer's) cut a long-thinking stream that was still going.

The emulator's `stall` fault makes a stream silent for a while after some events; bedrock-proxy's
stream_ping_seconds is 0.5 here, so a gap of 2 s is several intervals, and a stream with no gap stays under an
interval between events even on a loaded CI machine (an interval of 0.2 s could see a ping in a stream that had
no gap at all).
"""

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import anthropic
import openai
import pytest
import requests
from botocore.eventstream import EventStreamBuffer

from tests.e2e.clients import logged_request
from tests.stack import GatewayStack

ADMIN = {"X-API-Key": "dev-admin-key"}
PING = b'event: ping\ndata: {"type": "ping"}'
KEEP_ALIVE = b": keep-alive"
GAP_S = 2.0
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
ASK = [{"role": "user", "content": "hi"}]
CLAUDE = Path(os.environ.get("CLAUDE_BIN") or Path(__file__).resolve().parents[2]
              / ".dev/claude-code/node_modules/.bin/claude")


@pytest.fixture(scope="module")
def stack():
    with GatewayStack(config_overrides={"bedrock-proxy": {"stream_ping_seconds": 0.5}}) as running:
        yield running


def _stall(stack, operation, delay_s=GAP_S, **extra):
    """The next `operation` stream goes silent for `delay_s` after its third event, then on."""
    stack.emulator_control("POST", "/_emulator/faults", json={
        "type": "stall", "delay_s": delay_s, "after_events": 3, "operation": operation, **extra}).raise_for_status()


def _sse(stack, path, body):
    """The stream's SSE events as the client reads them, raw."""
    r = requests.post(stack.proxy_url + path, json={**body, "stream": True}, headers=ADMIN, timeout=60)
    assert r.status_code == 200, r.text[:300]
    return [event for event in r.content.split(b"\n\n") if event.strip()]


def _kinds(events):
    return [event.split(b"\n", 1)[0] for event in events]


@pytest.mark.parametrize("model, operation", [
    ("sonnet", "invoke-with-response-stream"), ("titan", "converse-stream"), ("opus-4-7", "mantle-messages"),
], ids=["invoke", "converse", "mantle"])
def test_an_anthropic_stream_pings_through_a_silent_gap_and_the_sdk_message_is_unchanged(stack, model, operation):
    body = {"model": model, "max_tokens": 64, "messages": ASK}
    quiet = _sse(stack, "/v1/messages", body)
    assert PING not in quiet   # Bedrock never silent for an interval: no ping
    _stall(stack, operation)
    gapped = _sse(stack, "/v1/messages", body)
    assert gapped.count(PING) >= 1
    assert gapped[0].startswith(b"event: message_start\n")   # never a ping before message_start
    assert _kinds([e for e in gapped if e != PING]) == _kinds(quiet)   # the events themselves, in their order
    first_ping = gapped.index(PING)
    assert any(e.startswith(b"event: content_block_delta") for e in gapped[first_ping:])   # pings inside the gap

    sdk = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)
    with sdk.messages.stream(**body) as stream:
        expected = stream.get_final_message()
    _stall(stack, operation)
    with sdk.messages.stream(**body) as stream:
        kinds = [event.type for event in stream]
        got = stream.get_final_message()
    assert kinds[0] == "message_start"
    assert got.content == expected.content and got.stop_reason == expected.stop_reason
    assert got.usage.output_tokens == expected.usage.output_tokens
    assert got.content[0].text.startswith("Emulated")


def test_openai_streams_carry_sse_comments_the_sdk_skips(stack):
    chat = {"model": "haiku", "max_tokens": 64, "messages": ASK}
    quiet = _sse(stack, "/v1/chat/completions", chat)
    assert KEEP_ALIVE not in quiet
    _stall(stack, "converse-stream")
    gapped = _sse(stack, "/v1/chat/completions", chat)
    assert gapped.count(KEEP_ALIVE) >= 1 and gapped[0].startswith(b"data: {")
    assert len([e for e in gapped if e != KEEP_ALIVE]) == len(quiet)

    gpt = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-admin-key", max_retries=0)

    def chat_text():
        chunks = list(gpt.chat.completions.create(stream=True, stream_options={"include_usage": True}, **chat))
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[-1].usage

    expected = chat_text()
    _stall(stack, "converse-stream")
    assert chat_text() == expected and expected[0].startswith("Emulated")

    _stall(stack, "converse-stream")
    events = _sse(stack, "/v1/responses", {"model": "haiku", "input": "hi", "max_output_tokens": 64})
    assert events.count(KEEP_ALIVE) >= 1 and events[0].startswith(b"event: response.created")

    def answer():
        with gpt.responses.stream(model="haiku", input="hi", max_output_tokens=64) as stream:
            final = stream.get_final_response()
        return final.output_text, final.usage.output_tokens

    expected = answer()
    _stall(stack, "converse-stream")
    assert answer() == expected


def test_a_several_choices_stream_gets_comments_while_every_choice_is_silent(stack):
    _stall(stack, "converse-stream", count=2)
    events = _sse(stack, "/v1/chat/completions", {"model": "haiku", "max_tokens": 64, "n": 2, "messages": ASK})
    assert events.count(KEEP_ALIVE) >= 1 and events[0].startswith(b"data: {") and events[-1] == b"data: [DONE]"


def test_a_bedrock_native_stream_gets_nothing_but_bedrock_frames(stack):
    def frames():
        r = requests.post(f"{stack.proxy_url}/model/{HAIKU}/invoke-with-response-stream", headers=ADMIN, timeout=60,
                          json={"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": ASK})
        assert r.status_code == 200
        buffer = EventStreamBuffer()
        buffer.add_data(r.content)
        parsed = list(buffer)
        assert sum(frame.prelude.total_length for frame in parsed) == len(r.content)   # not one byte besides
        return [json.loads(base64.b64decode(json.loads(frame.payload)["bytes"]))["type"] for frame in parsed]

    expected = frames()
    _stall(stack, "invoke-with-response-stream")
    assert frames() == expected


def test_a_client_that_hangs_up_in_a_gap_is_let_go_in_the_gap(stack):
    """The relay notices on a ping's write: the Bedrock call is closed then, not when Bedrock next speaks."""
    _stall(stack, "invoke-with-response-stream", delay_s=15)
    r = requests.post(stack.proxy_url + "/v1/messages", headers=ADMIN, stream=True, timeout=30,
                      json={"model": "sonnet", "max_tokens": 64, "stream": True, "messages": ASK})
    request_id = r.headers["X-Kong-Request-Id"]
    for line in r.iter_lines():
        if line == b"event: ping":
            break
    r.close()
    deadline = time.monotonic() + 8   # well inside the 15 s gap
    while (summary := logged_request(stack, request_id)) is None:
        assert time.monotonic() < deadline, "the hang-up was not noticed during the gap"
        time.sleep(0.1)
    assert summary["error_type"] == "ClientDisconnected"


def test_pings_do_not_outlive_bedrocks_read_timeout():
    """A Bedrock stream silent past the relay's read timeout still ends with the error event it ends with today."""
    with GatewayStack(extra_start_args="--bedrock-read-timeout 1",
                      config_overrides={"bedrock-proxy": {"stream_ping_seconds": 0.2}}) as stack:
        _stall(stack, "invoke-with-response-stream", delay_s=4)
        events = _sse(stack, "/v1/messages", {"model": "sonnet", "max_tokens": 64, "messages": ASK})
        assert events.count(PING) >= 1
        assert events[-1].startswith(b"event: error\n") and b"message_stop" not in b"".join(events)
        assert all(e == PING for e in events[events.index(PING):-1])   # nothing of the model's after the silence


def test_claude_code_reads_through_the_pings_of_a_gap(stack, tmp_path):
    """Claude Code 2.1.197, unmodified, on a stream with pings in a gap: its answer as without them, one call
    (not failed and sent again)."""
    assert CLAUDE.exists(), f"Claude Code not installed at {CLAUDE}: run `make claude-code`"
    _stall(stack, "invoke-with-response-stream", model="sonnet", count=-1)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DISABLE_TELEMETRY": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
           "ANTHROPIC_BASE_URL": stack.proxy_url, "ANTHROPIC_API_KEY": "dev-developer-key", "ANTHROPIC_MODEL": "sonnet"}
    done = subprocess.run([str(CLAUDE), "-p", "say hi"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Emulated reply" in done.stdout
    calls = stack.emulator_control("GET", "/_emulator/requests").json()
    assert len([r for r in calls if "sonnet" in (r["model_id"] or "")]) == 1
