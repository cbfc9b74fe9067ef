"""InvokeModelWithResponseStream: event order, metrics, raw frames decoded by botocore."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from emulator_helpers import ACCESS_KEY, NOVA, SECRET_KEY, SONNET_45, TITAN, claude_body, decode_stream

from kong_plugins.bedrock.eventstream import encode_message
from kong_plugins.emulator.eventstream import chunk_frame

TOOL = {"name": "lookup", "description": "Look up",
        "input_schema": {"type": "object", "required": ["query"], "properties": {"query": {"type": "string"}}}}


def _stream(client, body: dict, model: str = SONNET_45) -> list[dict]:
    return decode_stream(client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body)))


def test_event_order_usage_and_metrics(client, invoke) -> None:
    events = _stream(client, claude_body())
    types = [e["type"] for e in events]
    assert types == ["message_start", "content_block_start"] + ["content_block_delta"] * 12 + [
        "content_block_stop", "message_delta", "message_stop"]
    start = events[0]["message"]
    assert start["id"].startswith("msg_bdrk_") and start["model"] == "claude-sonnet-4-5-20250929"
    assert start["usage"]["output_tokens"] == 1 and start["stop_reason"] is None
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == invoke(claude_body())["json"]["content"][0]["text"]
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[-2]["usage"] == {"output_tokens": 12}
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == start["usage"]["input_tokens"]
    assert metrics["outputTokenCount"] == 12
    assert metrics["invocationLatency"] >= metrics["firstByteLatency"] >= 0
    assert metrics["cacheReadInputTokenCount"] == metrics["cacheWriteInputTokenCount"] == 0


def test_stream_thinking_and_tool_use(client) -> None:
    body = claude_body("use tool now", tools=[TOOL], max_tokens=4000,
                       thinking={"type": "enabled", "budget_tokens": 1024})
    events = _stream(client, body)
    starts = [e["content_block"] for e in events if e["type"] == "content_block_start"]
    assert [b["type"] for b in starts] == ["thinking", "text", "tool_use"]
    assert starts[2]["id"].startswith("toolu_bdrk_") and starts[2]["input"] == {}
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    kinds = [d["type"] for d in deltas]
    assert kinds.index("signature_delta") == kinds.count("thinking_delta")
    json_parts = [d["partial_json"] for d in deltas if d["type"] == "input_json_delta"]
    assert len(json_parts) > 1 and json.loads("".join(json_parts)) == {"query": "example"}
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_stream_cache_counts_in_message_start_and_metrics(client) -> None:
    system = [{"type": "text", "text": "Cached system prompt. " * 30, "cache_control": {"type": "ephemeral"}}]
    first = _stream(client, claude_body(system=system))
    second = _stream(client, claude_body(system=system))
    written = first[0]["message"]["usage"]["cache_creation_input_tokens"]
    assert written > 0
    assert second[0]["message"]["usage"]["cache_read_input_tokens"] == written
    assert second[-1]["amazon-bedrock-invocationMetrics"]["cacheReadInputTokenCount"] == written


def test_raw_frames_decode_with_botocore_event_stream_buffer(emulator) -> None:
    url = f"{emulator.url}/model/{quote(SONNET_45, safe='')}/invoke-with-response-stream"
    body = json.dumps(claude_body()).encode()
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json",
                                                                      "X-Amzn-Bedrock-Accept": "*/*"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock", "us-east-1").add_auth(request)
    response = requests.post(url, data=body, headers=dict(request.headers), stream=True, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.amazon.eventstream"
    assert response.headers["X-Amzn-Bedrock-Content-Type"] == "application/json"
    assert response.headers["Transfer-Encoding"] == "chunked"
    buffer, messages = EventStreamBuffer(), []
    for chunk in response.raw.stream(1024, decode_content=False):
        buffer.add_data(chunk)
        messages.extend(buffer)
    assert len(messages) == 17
    for message in messages:
        assert message.headers == {":event-type": "chunk", ":content-type": "application/json",
                                   ":message-type": "event"}
        payload = json.loads(message.payload)
        assert set(payload) == {"bytes", "p"} and payload["p"].isalnum()
        json.loads(base64.b64decode(payload["bytes"]))
    assert json.loads(base64.b64decode(json.loads(messages[-1].payload)["bytes"]))["type"] == "message_stop"


def test_encoder_round_trip_and_header_length() -> None:
    frame = chunk_frame({"type": "ping"})
    assert int.from_bytes(frame[4:8], "big") == 0x4B  # three standard headers
    buffer = EventStreamBuffer()
    buffer.add_data(frame + encode_message({":message-type": "event", ":event-type": "x"}, b""))
    decoded = list(buffer)
    assert json.loads(base64.b64decode(json.loads(decoded[0].payload)["bytes"])) == {"type": "ping"}
    assert decoded[1].payload == b"" and decoded[1].headers[":event-type"] == "x"


def test_titan_stream(client) -> None:
    response = client.invoke_model_with_response_stream(
        modelId=TITAN, body=json.dumps({"inputText": "Stream please"}))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in response["body"]]
    assert len(chunks) == 12
    assert "".join(c["outputText"] for c in chunks).startswith("Emulated reply to: Stream please")
    assert chunks[0]["inputTextTokenCount"] >= 1
    assert chunks[-1]["completionReason"] == "FINISH" and chunks[-1]["totalOutputTextTokenCount"] == 12
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 12


def test_nova_stream(client) -> None:
    body = {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}
    response = client.invoke_model_with_response_stream(modelId=NOVA, body=json.dumps(body))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in response["body"]]
    assert list(chunks[0]) == ["messageStart"] and list(chunks[-2]) == ["messageStop"]
    assert chunks[-1]["metadata"]["usage"]["outputTokens"] == 12
    assert "amazon-bedrock-invocationMetrics" in chunks[-1]
