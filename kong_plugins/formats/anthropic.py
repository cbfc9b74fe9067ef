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

from botocore.eventstream import EventStreamBuffer

from kong_plugins.context import Usage

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"


class RequestError(ValueError):
    """The client's body is not a valid request; the message names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def parse_request(body: bytes | None) -> dict[str, Any]:
    """Decode and shape-check an Anthropic Messages request body."""
    if not body:
        raise RequestError("Request body is empty; expected a JSON object.")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise RequestError("Request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise RequestError("Request body must be a JSON object.")
    if "model" in data and not isinstance(data["model"], str):
        raise RequestError("model: must be a string.", "model")
    if not isinstance(data.get("max_tokens"), int) or isinstance(data.get("max_tokens"), bool):
        raise RequestError("max_tokens: Field required (an integer).", "max_tokens")
    if not isinstance(data.get("messages"), list) or not data["messages"]:
        raise RequestError("messages: Field required (a non-empty list).", "messages")
    return data


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


class StreamTranslator:
    """Event-stream bytes from InvokeModelWithResponseStream → Anthropic SSE bytes.

    Feed raw upstream chunks to `feed`; it yields SSE events as soon as each
    frame is complete and keeps a running `usage`. A Bedrock exception frame
    raises `StreamException` so the caller can end the stream with the
    format's error event.
    """

    def __init__(self) -> None:
        self._buffer = EventStreamBuffer()
        self.usage = Usage()
        self.saw_content = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buffer.add_data(data)
        for message in self._buffer:
            headers = message.headers
            if headers.get(":message-type") != "event":
                raise StreamException(str(headers.get(":exception-type") or headers.get(":error-code") or ""),
                                      _message_of(message.payload))
            if headers.get(":event-type") != "chunk":
                continue
            event_bytes = base64.b64decode(json.loads(message.payload)["bytes"])
            event = json.loads(event_bytes)
            self._track(event)
            yield b"event: " + str(event.get("type", "message")).encode() + b"\ndata: " + event_bytes + b"\n\n"

    def _track(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_start":
            self.usage = usage_from_message(event.get("message") or {})
        elif kind == "message_delta":
            self.usage.output = _int((event.get("usage") or {}).get("output_tokens")) or self.usage.output
        elif kind == "content_block_delta":
            self.saw_content = True
        metrics = event.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):
            self.usage = Usage(input=_int(metrics.get("inputTokenCount")),
                               output=_int(metrics.get("outputTokenCount")),
                               cache_read=_int(metrics.get("cacheReadInputTokenCount")),
                               cache_write=_int(metrics.get("cacheWriteInputTokenCount")))


class StreamException(Exception):
    """Bedrock sent an exception frame after the stream started."""

    def __init__(self, exception_type: str, message: str | None) -> None:
        super().__init__(exception_type)
        self.exception_type = exception_type
        self.upstream_message = message


def _message_of(payload: bytes) -> str | None:
    try:
        value = json.loads(payload).get("message")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
