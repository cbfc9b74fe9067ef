"""What an operation hands back to the HTTP layer: a JSON response or a stream plan.

Streams are planned up front (the reply is deterministic) but some payloads, such as the
final invocation metrics, are rendered lazily because they report measured latencies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Union

from .cache import InputUsage


@dataclass
class Clock:
    """Latency bookkeeping for one request (monotonic seconds)."""

    started: float = field(default_factory=time.monotonic)
    first_delta: float | None = None

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def first_byte_ms(self) -> int:
        point = self.first_delta if self.first_delta is not None else time.monotonic()
        return int((point - self.started) * 1000)


Payload = Union[dict[str, Any], Callable[[Clock], dict[str, Any]]]
Framer = Callable[[dict[str, Any], bool], bytes]  # (payload, corrupt_crc) -> frame bytes


@dataclass
class StreamItem:
    payload: Payload
    content_delta: bool = False

    def resolve(self, clock: Clock) -> dict[str, Any]:
        return self.payload(clock) if callable(self.payload) else self.payload


@dataclass
class JsonResponse:
    body: dict[str, Any] | Callable[[Clock], dict[str, Any]]
    headers: Callable[[Clock], dict[str, str]] | None = None
    status: int = 200

    def render(self, clock: Clock) -> tuple[bytes, dict[str, str]]:
        body = self.body(clock) if callable(self.body) else self.body
        headers = self.headers(clock) if self.headers else {}
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), headers


@dataclass
class StreamResponse:
    items: list[StreamItem]
    framer: Framer
    headers: dict[str, str] = field(default_factory=dict)
    # Renders an injected ``stream_exception`` fault (gets the FaultRule); None = AWS exception frame.
    error_framer: Callable[[Any], bytes] | None = None


OperationResult = Union[JsonResponse, StreamResponse]


def with_headers(result: OperationResult, added: dict[str, str]) -> OperationResult:
    """The same answer with `added` response headers (never mutating shared header dicts)."""
    if isinstance(result, JsonResponse):
        inner = result.headers

        def headers(clock: Clock) -> dict[str, str]:
            return {**(inner(clock) if inner else {}), **added}

        return replace(result, headers=headers)
    return replace(result, headers={**result.headers, **added})


def invocation_metrics(usage: InputUsage, output_tokens: int, clock: Clock) -> dict[str, int]:
    """``amazon-bedrock-invocationMetrics`` as carried by the last streamed chunk."""
    return {
        "inputTokenCount": usage.input_tokens,
        "outputTokenCount": output_tokens,
        "invocationLatency": clock.elapsed_ms(),
        "firstByteLatency": clock.first_byte_ms(),
        "cacheReadInputTokenCount": usage.cache_read,
        "cacheWriteInputTokenCount": usage.cache_write,
    }
