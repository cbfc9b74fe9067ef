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
from kong_plugins.metering.estimate import StreamedOutput


def upstream_body(request: dict[str, Any], model: str) -> bytes:
    body = {**request, "model": model}
    if body.get("stream") is True:
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return wire_json.dumps(body)


def usage_of(response: dict[str, Any]) -> Usage:
    u = response.get("usage") or {}
    cached = token_count((u.get("prompt_tokens_details") or {}).get("cached_tokens"))
    return Usage(input=max(0, token_count(u.get("prompt_tokens")) - cached),
                 output=token_count(u.get("completion_tokens")), cache_read=cached)


class ChunkPassthrough:
    """Pass `data:` lines on unchanged, reading usage; drop the usage chunk unless the client wants it."""

    def __init__(self, client_wants_usage: bool) -> None:
        self.client_wants_usage = client_wants_usage
        self.usage = Usage()
        self.streamed = StreamedOutput()   # finished once the usage chunk came (the gateway always asks for it)
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
        if not isinstance(parsed, dict):
            return True
        for choice in parsed.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict):
                self.streamed.add(delta.get("content"))
                self.streamed.add(delta.get("reasoning_content"))
                for call in delta.get("tool_calls") or ():
                    self.streamed.add(((call or {}).get("function") or {}).get("arguments"))
        if parsed.get("usage"):
            self.usage, self.streamed.finished = usage_of(parsed), True
            return self.client_wants_usage or bool(parsed.get("choices"))
        return True
