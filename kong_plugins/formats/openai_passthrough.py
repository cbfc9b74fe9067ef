"""OpenAI clients on an OpenAI-compatible upstream (e.g. Gemini's OpenAI endpoint).

The body passes through with the catalogue's model name; streams always ask the
upstream for a final usage chunk (metering needs it) and drop it again when the
client did not ask for one.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from kong_plugins.context import Usage, token_count
from kong_plugins.formats import wire_json


def upstream_body(request: dict[str, Any], model: str) -> bytes:
    body = {**request, "model": model}
    if body.get("stream") is True:
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return wire_json.dumps(body)


def usage_of(response: dict[str, Any]) -> Usage:
    u = response.get("usage") or {}
    cached = token_count((u.get("prompt_tokens_details") or {}).get("cached_tokens"))
    return Usage(input=max(0, token_count(u.get("prompt_tokens")) - cached), output=token_count(u.get("completion_tokens")),
                 cache_read=cached)


class ChunkPassthrough:
    """Pass `data:` lines on unchanged, reading usage; drop the usage chunk unless the client wants it."""

    def __init__(self, client_wants_usage: bool) -> None:
        self.client_wants_usage = client_wants_usage
        self.usage = Usage()
        self._buffer = b""

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        self._buffer += chunk.replace(b"\r\n", b"\n")
        while b"\n\n" in self._buffer:
            event, self._buffer = self._buffer.split(b"\n\n", 1)
            if not self._keep(event):
                continue
            yield event + b"\n\n"

    def _keep(self, event: bytes) -> bool:
        data = event[5:].strip() if event.startswith(b"data:") else b""
        if not data or data == b"[DONE]":
            return True
        try:
            parsed = json.loads(data)
        except ValueError:
            return True
        if isinstance(parsed, dict) and parsed.get("usage"):
            self.usage = usage_of(parsed)
            return self.client_wants_usage or bool(parsed.get("choices"))
        return True
