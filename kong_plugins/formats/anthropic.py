"""Anthropic Messages API over Bedrock InvokeModel (lossless for Claude).

The Bedrock body is the Anthropic request minus `model` and `stream` (the
model is in the path, streaming is chosen by the operation) plus
`anthropic_version: bedrock-2023-05-31`. Streamed responses arrive as
event-stream `chunk` frames whose payload base64-decodes to exactly the
`data:` JSON of Anthropic's SSE events, so the translation is per frame and
incremental.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Iterator

from kong_plugins.context import Usage, token_count as _int
from kong_plugins.formats.body import RequestError, load_json_object, require_messages

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"


def parse_request(body: bytes | None) -> dict[str, Any]:
    """Decode and shape-check an Anthropic Messages request body."""
    data = load_json_object(body)
    if not isinstance(data.get("max_tokens"), int) or isinstance(data.get("max_tokens"), bool):
        raise RequestError("max_tokens: Field required (an integer).", "max_tokens")
    require_messages(data)
    return data


def parse_count_request(body: bytes | None) -> dict[str, Any]:
    """Decode a /v1/messages/count_tokens body (no max_tokens, no stream)."""
    data = load_json_object(body)
    require_messages(data)
    return data


def count_tokens_body(request: dict[str, Any]) -> bytes:
    """Bedrock CountTokens body: the InvokeModel body, base64, with a placeholder max_tokens."""
    invoke = invoke_body({**request, "max_tokens": request.get("max_tokens") or 1})
    return json.dumps({"input": {"invokeModel": {"body": base64.b64encode(invoke).decode()}}}).encode()


def invoke_body(request: dict[str, Any]) -> bytes:
    """The InvokeModel body for an Anthropic request."""
    body = {k: v for k, v in request.items() if k not in ("model", "stream")}
    body["anthropic_version"] = BEDROCK_ANTHROPIC_VERSION
    return json.dumps(body, separators=(",", ":")).encode()


def usage_from_message(message: dict[str, Any]) -> Usage:
    u = message.get("usage") or {}
    return Usage(input=_int(u.get("input_tokens")), output=_int(u.get("output_tokens")),
                 cache_read=_int(u.get("cache_read_input_tokens")),
                 cache_write=_int(u.get("cache_creation_input_tokens")))


class InvokeStreamDecoder:
    """InvokeModelWithResponseStream frames → Anthropic stream events.

    Each `chunk` payload base64-decodes to one Anthropic event JSON; the raw
    bytes are kept so an Anthropic client receives them unchanged.
    """

    def __init__(self) -> None:
        self.usage = Usage()

    def feed(self, event_type: str, payload: bytes) -> Iterator[tuple[dict[str, Any], bytes | None]]:
        if event_type != "chunk":
            return
        raw = base64.b64decode(json.loads(payload)["bytes"])
        event = json.loads(raw)
        self._track(event)
        yield event, raw

    def message(self, content: bytes) -> dict[str, Any]:
        message = json.loads(content)
        self.usage = usage_from_message(message)
        return message

    def _track(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_start":
            self.usage = usage_from_message(event.get("message") or {})
        elif kind == "message_delta":
            self.usage.output = _int((event.get("usage") or {}).get("output_tokens")) or self.usage.output
        metrics = event.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):
            self.usage = Usage(input=_int(metrics.get("inputTokenCount")),
                               output=_int(metrics.get("outputTokenCount")),
                               cache_read=_int(metrics.get("cacheReadInputTokenCount")),
                               cache_write=_int(metrics.get("cacheWriteInputTokenCount")))


def sse_event(event: dict[str, Any], raw: bytes | None = None) -> bytes:
    """One Anthropic SSE event; `raw` (the upstream JSON bytes) is sent as is when given."""
    data = raw if raw is not None else json.dumps(event, separators=(",", ":")).encode()
    return b"event: " + str(event.get("type", "message")).encode() + b"\ndata: " + data + b"\n\n"
