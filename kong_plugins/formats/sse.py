"""Incremental Server-Sent Events parsing (Bedrock Mantle answers in Anthropic SSE).

Chunks arrive cut anywhere; complete events are yielded as soon as their blank
line arrives, with the raw `data` bytes kept so they can be passed on unchanged.
Lines end in CR, LF or CRLF, as SSE allows, a CRLF cut between two reads included.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from kong_plugins.context import Usage
from kong_plugins.formats.anthropic import InvokeStreamDecoder


class SseParser:
    def __init__(self) -> None:
        self._buffer = b""
        self._after_cr = False   # the last read ended in CR: an LF opening the next one is the same line end

    def feed(self, chunk: bytes) -> Iterator[tuple[str, bytes]]:
        """(event name, data bytes) for every complete event in the stream so far."""
        self._buffer += self._lf_lines(chunk)
        while b"\n\n" in self._buffer:
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            name, data = "message", []
            for line in block.split(b"\n"):
                if line.startswith(b"event:"):
                    name = line[6:].strip().decode("utf-8", "replace")
                elif line.startswith(b"data:"):
                    data.append(line[5:].lstrip(b" "))
            if data:
                yield name, b"\n".join(data)

    def _lf_lines(self, chunk: bytes) -> bytes:
        """The read with every line end as LF. A CR ending the read ends its line now (an event it completes is
        not held for the next read), so an LF opening the next read is the rest of that CRLF, dropped."""
        if not chunk:
            return chunk
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._after_cr = chunk.endswith(b"\r")
        return chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


class AnthropicSseDecoder:
    """Anthropic SSE (Mantle) → Anthropic stream events, with running usage.

    Same interface as the event-stream decoders, fed with raw bytes instead of frames.
    """

    def __init__(self) -> None:
        self._parser = SseParser()
        self._usage = InvokeStreamDecoder()   # the same usage rules as Anthropic events from InvokeModel

    @property
    def usage(self) -> Usage:
        return self._usage.usage

    def feed_bytes(self, chunk: bytes) -> Iterator[tuple[dict[str, Any], bytes]]:
        for name, data in self._parser.feed(chunk):
            event = json.loads(data)
            if name == "error" or event.get("type") == "error":
                raise MantleStreamError(event.get("error") or {})
            self._usage.track(event)
            yield event, data

    def message(self, content: bytes) -> dict[str, Any]:
        return self._usage.message(content)


class MantleStreamError(Exception):
    """An `event: error` in a Mantle stream (Anthropic error object)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("type") or "error"))
        self.error_type = str(error.get("type") or "api_error")
        self.upstream_message = error.get("message") if isinstance(error.get("message"), str) else None
