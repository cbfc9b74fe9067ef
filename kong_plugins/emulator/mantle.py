"""Bedrock Mantle: the Anthropic Messages API that Bedrock serves for Claude Opus 4.7 and later.

Real endpoint: ``https://bedrock-mantle.{region}.api.aws/anthropic`` with ``POST /v1/messages``
and ``POST /v1/messages/count_tokens``, SigV4-signed for service ``bedrock-mantle`` (or a
Bedrock API key as ``Authorization: Bearer`` / ``x-api-key``). The emulator serves it on the
same port under ``/anthropic/``. Replies come from the same generator, prompt cache and timing
knobs as InvokeModel; streams are Anthropic SSE (``event:`` + ``data:`` lines, a ``ping``
after the first ``content_block_start``), one event per HTTP chunk. A ``stream_exception`` fault's
``event: error`` comes after its ``empty_frames`` events that say nothing: an SSE comment line, then
that many ``ping`` events.

Request log / stats / fault rules use the operations ``mantle-messages`` and
``mantle-count-tokens``; the logged ``model_id`` is the body's ``model``.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from . import anthropic_format
from .errors import BedrockError
from .faults import FaultRule
from .generator import Reply, generate
from .mantle_body import COUNT_TOKENS, MESSAGES, MantleRequest, logged_model, prepare_mantle
from .mantle_errors import MantleError, from_auth_error, new_request_id, not_found, stream_error_frame
from .prompt import total_input_tokens
from .responses import JsonResponse, OperationResult, StreamItem, StreamResponse
from .settings import EmulatorSettings, TimingValues
from .sigv4 import MANTLE_SERVICE, HeaderSource, verify_request
from .state import EmulatorState

PREFIX = "/anthropic/"
ROUTES: dict[str, str] = {
    "/anthropic/v1/messages": MESSAGES,
    "/anthropic/v1/messages/count_tokens": COUNT_TOKENS,
}
OPERATIONS = frozenset(ROUTES.values())
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}

__all__ = ["PREFIX", "ROUTES", "OPERATIONS", "route", "authenticate", "prepare", "execute", "sse_event",
           "stream_events", "MantleRequest", "MantleError"]


def is_mantle_path(path: str) -> bool:
    return path.startswith(PREFIX)


def route(path: str, body: bytes) -> tuple[str | None, str | None]:
    """(operation, model id for the log) of a ``/anthropic/...`` path; operation None if unknown."""
    operation = ROUTES.get(path.rstrip("/"))
    return operation, logged_model(body) if operation else None


def authenticate(settings: EmulatorSettings, method: str, raw_path: str, headers: HeaderSource,
                 body: bytes) -> None:
    """SigV4 for service ``bedrock-mantle`` (a ``bedrock`` signature fails) or the API key."""
    try:
        verify_request(settings, method, raw_path, headers, body, service=MANTLE_SERVICE,
                       allow_api_key_header=True)
    except BedrockError as error:
        raise from_auth_error(error) from None


def prepare(operation: str | None, method: str, path: str, body: bytes,
            headers: Mapping[str, str] | Any) -> MantleRequest:
    if operation is None:
        raise not_found(f"Not found: {path}")
    if method != "POST":
        raise MantleError(405, "invalid_request_error", f"Method {method} is not allowed on {path}")
    return prepare_mantle(operation, body, headers)


def sse_event(payload: dict[str, Any], corrupt: bool = False) -> bytes:
    """One SSE event; ``corrupt`` truncates the JSON (the ``malformed_frame`` fault)."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    if corrupt:
        data = data[: max(1, len(data) // 2)]
    return f"event: {payload['type']}\ndata: {data}\n\n".encode("utf-8")


def stream_events(reply: Reply, model: str, message_id: str) -> list[StreamItem]:
    """Anthropic's first-party event sequence: Bedrock's, plus ``ping``, minus invocation metrics."""
    items = anthropic_format.stream_events(reply, model, message_id)
    items[-1] = StreamItem({"type": "message_stop"})
    for index, item in enumerate(items):
        if isinstance(item.payload, dict) and item.payload["type"] == "content_block_start":
            items.insert(index + 1, StreamItem({"type": "ping"}))
            break
    return items


def error_after_pings(fault: FaultRule) -> bytes:
    """A ``stream_exception``'s ``event: error``, after what says nothing (``empty_frames``): a comment, pings."""
    if not fault.empty_frames:
        return stream_error_frame(fault)
    pings = sse_event({"type": "ping"}) * fault.empty_frames
    return b": keep-alive\n\n" + pings + stream_error_frame(fault)


def execute(request: MantleRequest, state: EmulatorState, timing: TimingValues) -> OperationResult:
    """Account the prompt cache, generate the reply and shape it as Anthropic does."""
    request_id = new_request_id()
    if request.operation == COUNT_TOKENS:
        return JsonResponse({"input_tokens": total_input_tokens(request.prompt.segments)},
                            lambda clock: {"request-id": request_id})
    usage = state.cache.account(request.model, request.prompt.segments)
    reply = generate(request.prompt, timing.output_tokens, usage)
    message_id = anthropic_format.new_message_id()
    if request.stream:
        return StreamResponse(stream_events(reply, request.model, message_id), sse_event,
                              {**SSE_HEADERS, "request-id": request_id}, error_framer=error_after_pings)
    return JsonResponse(anthropic_format.message_json(reply, request.model, message_id),
                        lambda clock: {"request-id": request_id})
