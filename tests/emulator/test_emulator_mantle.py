"""Bedrock Mantle (/anthropic/v1/messages): replies, SSE streams, timing, count_tokens, the SDK."""

from __future__ import annotations

import json
import queue
import threading
import time

import anthropic
import pytest
from emulator_helpers import (ACCESS_KEY, MANTLE_COUNT, MANTLE_MESSAGES, OPUS_47, SECRET_KEY, claude_body,
                              mantle_body, mantle_post, parse_sse)

TOOL = {"name": "lookup", "description": "Look up",
        "input_schema": {"type": "object", "required": ["query"], "properties": {"query": {"type": "string"}}}}
TEXT_STREAM = (["message_start", "content_block_start", "ping"] + ["content_block_delta"] * 12
               + ["content_block_stop", "message_delta", "message_stop"])


def _stream(emulator, body: dict, **kwargs) -> list[tuple[str, dict]]:
    response = mantle_post(emulator.url, MANTLE_MESSAGES, {**body, "stream": True}, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return parse_sse(response.text)


def test_non_stream_message(emulator) -> None:
    response = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body())
    assert response.status_code == 200, response.text
    assert response.headers["request-id"].startswith("req_")
    message = response.json()
    assert message["id"].startswith("msg_") and message["type"] == "message" and message["role"] == "assistant"
    assert message["model"] == OPUS_47
    assert message["content"][0]["text"].startswith("Emulated reply to: Say hello world please")
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    assert message["usage"]["output_tokens"] == 12 and message["usage"]["input_tokens"] >= 1
    logged = emulator.requests()[-1]
    assert (logged["operation"], logged["model_id"], logged["status"]) == ("mantle-messages", OPUS_47, 200)
    assert logged["headers"]["authorization"] == "<redacted>"
    assert emulator.stats()["operations"]["mantle-messages"] == {"200": 1}


def test_same_generator_as_invoke_model(emulator, client) -> None:
    mantle = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body()).json()
    invoke = json.loads(client.invoke_model(modelId=f"us.{OPUS_47}", body=json.dumps(claude_body()))["body"].read())
    assert mantle["content"] == invoke["content"]
    assert mantle["usage"]["input_tokens"] == invoke["usage"]["input_tokens"]


def test_later_model_ids_are_served(emulator) -> None:
    for model in ("anthropic.claude-opus-4-8", "anthropic.claude-opus-5", "anthropic.claude-sonnet-5"):
        response = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(model=model))
        assert response.status_code == 200 and response.json()["model"] == model


def test_stream_event_sequence(emulator) -> None:
    events = _stream(emulator, mantle_body())
    assert [name for name, _ in events] == TEXT_STREAM
    assert all(name == data["type"] for name, data in events)
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_") and start["model"] == OPUS_47 and start["content"] == []
    assert start["stop_reason"] is None and start["usage"]["output_tokens"] == 1
    assert events[2][1] == {"type": "ping"}
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body()).json()["content"][0]["text"]
    assert events[-2][1] == {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                             "usage": {"output_tokens": 12}}
    assert events[-1][1] == {"type": "message_stop"}


def test_stream_thinking_and_tool_use(emulator) -> None:
    body = mantle_body("use tool now", tools=[TOOL], thinking={"type": "adaptive"},
                       output_config={"effort": "high"})
    events = _stream(emulator, body)
    names = [n for n, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"] and names.count("ping") == 1
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [b["type"] for b in starts] == ["thinking", "text", "tool_use"]
    parts = [d["delta"]["partial_json"] for n, d in events if d.get("delta", {}).get("type") == "input_json_delta"]
    assert json.loads("".join(parts)) == {"query": "example"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_stream_is_chunked_one_event_per_chunk(emulator) -> None:
    response = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(stream=True), stream=True)
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.headers["request-id"].startswith("req_")
    chunks = [c.decode() for c in response.raw.read_chunked(decode_content=False)]
    assert len(chunks) == len(TEXT_STREAM)
    assert all(c.startswith("event: ") and c.endswith("\n\n") and c.count("event: ") == 1 for c in chunks)


def test_ttft_and_pacing(emulator) -> None:
    emulator.update_settings(ttft_ms=300, tokens_per_second=50)
    response = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(stream=True), stream=True)
    stamped = [(time.monotonic(), c) for c in response.raw.read_chunked(decode_content=False)]
    deltas = [t for t, c in stamped if c.startswith(b"event: content_block_delta")]
    ping_at = next(t for t, c in stamped if c.startswith(b"event: ping"))
    assert deltas[0] - ping_at >= 0.2
    assert deltas[-1] - deltas[0] >= 0.15


def test_hold_and_release(emulator) -> None:
    emulator.hold()
    received: queue.Queue[bytes] = queue.Queue()

    def consume() -> None:
        response = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(stream=True), stream=True)
        for chunk in response.raw.read_chunked(decode_content=False):
            received.put(chunk)

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    seen = [received.get(timeout=5) for _ in range(3 + 11)]  # start, block start, ping, 11 of 12 deltas
    time.sleep(0.2)
    assert received.empty() and emulator.state.hold.waiting == 1
    emulator.release()
    worker.join(timeout=5)
    while not received.empty():
        seen.append(received.get())
    assert [c.split(b"\n")[0] for c in seen[-3:]] == [b"event: content_block_stop", b"event: message_delta",
                                                      b"event: message_stop"]


def test_prompt_cache_and_count_tokens_agree(emulator) -> None:
    system = [{"type": "text", "text": "Cached system prompt. " * 30, "cache_control": {"type": "ephemeral"}}]
    body = mantle_body(system=system, tools=[TOOL])
    first = mantle_post(emulator.url, MANTLE_MESSAGES, body).json()["usage"]
    second = _stream(emulator, body)[0][1]["message"]["usage"]
    assert first["cache_creation_input_tokens"] > 0
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    count_body = {k: v for k, v in body.items() if k != "max_tokens"}
    counted = mantle_post(emulator.url, MANTLE_COUNT, count_body)
    assert counted.status_code == 200, counted.text
    total = first["input_tokens"] + first["cache_creation_input_tokens"] + first["cache_read_input_tokens"]
    assert counted.json() == {"input_tokens": total}
    assert counted.headers["request-id"].startswith("req_")
    logged = emulator.requests()[-1]
    assert (logged["operation"], logged["model_id"]) == ("mantle-count-tokens", OPUS_47)


def test_count_tokens_rejects_messages_only_fields(emulator) -> None:
    response = mantle_post(emulator.url, MANTLE_COUNT, mantle_body())
    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request_error",
                                        "message": "max_tokens: Extra inputs are not permitted"}


def test_beta_header_query_string_and_version(emulator) -> None:
    headers = {"anthropic-beta": "context-1m-2025-08-07, some-future-beta-2027-01-01"}
    response = mantle_post(emulator.url, MANTLE_MESSAGES + "?beta=true", mantle_body(), headers=headers)
    assert response.status_code == 200, response.text
    assert emulator.requests()[-1]["headers"]["anthropic-beta"] == headers["anthropic-beta"]
    bad = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(), headers={"anthropic-version": "latest"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"


def test_official_sdk_mantle_client(emulator) -> None:
    """The Anthropic SDK's own Mantle client signs for bedrock-mantle; no network is needed."""
    client = anthropic.AnthropicBedrockMantle(aws_access_key=ACCESS_KEY, aws_secret_key=SECRET_KEY,
                                              aws_region="us-east-1", base_url=f"{emulator.url}/anthropic",
                                              max_retries=0)
    messages = [{"role": "user", "content": "Hello from the SDK"}]
    message = client.messages.create(model=OPUS_47, max_tokens=100, messages=messages)
    assert message.model == OPUS_47 and message.content[0].text.startswith("Emulated reply to: Hello from")
    with client.messages.stream(model=OPUS_47, max_tokens=100, messages=messages) as stream:
        assert stream.get_final_message().content[0].text == message.content[0].text
    assert client.messages.count_tokens(model=OPUS_47, messages=messages).input_tokens == \
        message.usage.input_tokens
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="anthropic.claude-sonnet-4-6", max_tokens=10, messages=messages)
    assert {e["operation"] for e in emulator.requests()} == {"mantle-messages", "mantle-count-tokens"}

