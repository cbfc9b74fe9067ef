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

from kong_plugins.bedrock import guardrail_usage
from kong_plugins.context import Usage, token_count as _int
from kong_plugins.eventlog import log_event
from kong_plugins.formats import wire_json
from kong_plugins.formats.body import RequestError, load_json_object, require_messages

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"


def parse_request(body: bytes | None) -> dict[str, Any]:
    """Decode and shape-check an Anthropic Messages request body."""
    data = load_json_object(body)
    if not isinstance(data.get("max_tokens"), int) or isinstance(data.get("max_tokens"), bool):
        raise RequestError("max_tokens: Field required (an integer).", "max_tokens")
    require_messages(data)
    _check_stream_and_metadata(data)
    return _current_output_format(data)


def _check_stream_and_metadata(data: dict[str, Any]) -> None:
    """Anthropic's 400s for a `stream` that is no boolean (it was taken as false: a JSON answer to a client that
    asked for a stream) and a `metadata` or `metadata.user_id` of another type (sent on for Bedrock to refuse)."""
    if data.get("stream") is not None and not isinstance(data["stream"], bool):
        raise RequestError("stream: Input should be a valid boolean.", "stream")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RequestError("metadata: Input should be a valid dictionary.", "metadata")
    if isinstance(metadata, dict) and not isinstance(metadata.get("user_id"), (str, type(None))):
        raise RequestError("metadata.user_id: Input should be a valid string.", "metadata.user_id")


def _current_output_format(data: dict[str, Any]) -> dict[str, Any]:
    """The structured-outputs beta's top-level `output_format` (older SDKs send it; Bedrock takes only
    `output_config.format` now) moved to where Bedrock reads it, so no schema is dropped as an unknown key."""
    legacy = data.pop("output_format", None)
    config = data.get("output_config")
    if legacy is not None and not (isinstance(config, dict) and "format" in config):
        data["output_config"] = {**(config if isinstance(config, dict) else {}), "format": legacy}
    return data


def parse_count_request(body: bytes | None) -> dict[str, Any]:
    """Decode a /v1/messages/count_tokens body (no max_tokens, no stream)."""
    data = load_json_object(body)
    require_messages(data)
    return data


def count_tokens_body(request: dict[str, Any], fields: frozenset[str] | None = None,
                      betas: frozenset[str] | None = None) -> bytes:
    """Bedrock CountTokens body: the InvokeModel body, base64, with a placeholder max_tokens (Anthropic's
    count_tokens has none; Claude requires it above an enabled thinking budget). It is the body /v1/messages
    would send (system turns folded, only the fields and betas Bedrock takes), since Bedrock checks it as one:
    a request the gateway serves is never a 400 when counted."""
    thinking = request.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) and thinking.get("type") == "enabled" else 0
    placeholder = budget + 1 if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0 else 1
    request = fold_system_messages({**request, "max_tokens": request.get("max_tokens") or placeholder})
    invoke = invoke_body(request, fields, betas)
    return json.dumps({"input": {"invokeModel": {"body": base64.b64encode(invoke).decode()}}}).encode()


def with_count_header_betas(body: bytes, header: str, allowlist: frozenset[str]) -> bytes:
    """A CountTokens body (count_tokens_body) with an `anthropic-beta` header merged into the InvokeModel body it
    carries, as with_header_betas merges it into /v1/messages' own: the count is of the request Messages sends."""
    data = wire_json.loads(body)
    invoke = data["input"]["invokeModel"]
    inner = base64.b64decode(invoke["body"])
    merged = with_header_betas(inner, header, allowlist, converse=False)
    if merged is inner:
        return body
    invoke["body"] = base64.b64encode(merged).decode()
    return wire_json.dumps(data)


def fold_system_messages(request: dict[str, Any]) -> dict[str, Any]:
    """Move `role: "system"` turns out of `messages` into the top-level `system`.

    The first-party API (and Claude Code 2.1+ in Anthropic mode) accepts system
    turns inside `messages`; Bedrock's Claude body has only user and assistant
    turns. Their text is appended to `system` in order, and user turns left
    next to each other are merged, since Claude requires alternation.
    """
    messages = request.get("messages") or []
    if not any(isinstance(m, dict) and m.get("role") == "system" for m in messages):
        return request
    system = _text_blocks(request.get("system"))
    kept: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "system":
            system.extend(_text_blocks(message.get("content")))
        elif kept and isinstance(message, dict) and kept[-1].get("role") == message.get("role"):
            kept[-1] = {**kept[-1], "content": _blocks(kept[-1].get("content")) + _blocks(message.get("content"))}
        else:
            kept.append(message)
    return {**request, "system": system, "messages": kept}


def _text_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict) and b.get("type") == "text"] if isinstance(content, list) else []


def _blocks(content: Any) -> list[Any]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])


def invoke_body(request: dict[str, Any], fields: frozenset[str] | None = None,
                betas: frozenset[str] | None = None) -> bytes:
    """The InvokeModel body for an Anthropic request.

    `fields`: the top-level keys Bedrock accepts (it rejects any other with
    "extraneous key [...] is not permitted"); `betas`: the beta names it
    accepts (others give "invalid beta flag"). None keeps everything.
    """
    body = {k: v for k, v in request.items() if k not in ("model", "stream")}
    body["anthropic_version"] = BEDROCK_ANTHROPIC_VERSION
    if fields is not None:
        structured = _structured_output(body) if "output_config" not in fields else None
        dropped = sorted(k for k in body if k not in fields and k != "anthropic_version")
        if dropped:
            log_event("bedrock_fields_dropped", level="debug", fields=dropped)
            body = {k: v for k, v in body.items() if k not in dropped}
        if structured:
            body["output_config"] = structured
    if betas is not None and isinstance(body.get("anthropic_beta"), list):
        body["anthropic_beta"] = allowed_betas(body["anthropic_beta"], betas)
        if not body["anthropic_beta"]:
            del body["anthropic_beta"]
    return wire_json.dumps(body)


def _structured_output(body: dict[str, Any]) -> dict[str, Any] | None:
    """`output_config.format` alone: a schema the client asked for is sent even where `output_config` is
    not a listed field (Claude 4.5 and later take it on InvokeModel; an older model's 400 reaches the
    client), while the rest of `output_config` (Claude Code's `effort`) follows the field list."""
    config = body.get("output_config")
    if isinstance(config, dict) and "format" in config:
        return {"format": config["format"]}
    return None


def allowed_betas(requested: list[Any], allowlist: frozenset[str]) -> list[str]:
    """Keep the allowed beta names (order kept, duplicates dropped); log the others' names."""
    kept: list[str] = []
    dropped: list[str] = []
    for beta in requested:
        name = str(beta).strip()
        if not name or name in kept:
            continue
        (kept if name in allowlist else dropped).append(name)
    if dropped:
        log_event("anthropic_beta_dropped", level="debug", betas=dropped)
    return kept


def with_header_betas(body: bytes, header: str, allowlist: frozenset[str], *, converse: bool) -> bytes:
    """Merge an `anthropic-beta` request header into the body's `anthropic_beta` list.

    The Anthropic SDK does the same for Bedrock (splitting the header on
    commas); for Converse the list lives in additionalModelRequestFields.
    """
    wanted = allowed_betas(header.split(","), allowlist)
    if not wanted:
        return body
    data = wire_json.loads(body)
    target = data.setdefault("additionalModelRequestFields", {}) if converse else data
    existing = [b for b in target.get("anthropic_beta") or [] if isinstance(b, str)]
    target["anthropic_beta"] = existing + [b for b in wanted if b not in existing]
    return wire_json.dumps(data)


def usage_from_message(message: dict[str, Any]) -> Usage:
    u = message.get("usage") or {}
    by_ttl = u.get("cache_creation") if isinstance(u.get("cache_creation"), dict) else {}
    return Usage(input=_int(u.get("input_tokens")), output=_int(u.get("output_tokens")),
                 cache_read=_int(u.get("cache_read_input_tokens")),
                 cache_write=_int(u.get("cache_creation_input_tokens")),
                 cache_write_1h=_int(by_ttl.get("ephemeral_1h_input_tokens")))


def answering_as(event: dict[str, Any], model: str) -> dict[str, Any] | None:
    """A message, or a stream's message_start, naming `model` (the name the client asked for); None when it does.

    Bedrock's answer names its own id (claude-sonnet-4-5-20250929), and Claude Code keeps an answer's thinking
    blocks for its next turn only when the answer names the model it asked for: with any other name it sent the
    tool loop's next call without them, which Claude refuses while thinking (or thinks on without its reasoning).
    """
    if event.get("type") == "message_start" and isinstance(event.get("message"), dict):
        inner = answering_as(event["message"], model)
        return None if inner is None else {**event, "message": inner}
    if event.get("type") == "message" and event.get("model") != model:
        return {**event, "model": model}
    return None


class InvokeStreamDecoder:
    """InvokeModelWithResponseStream frames → Anthropic stream events.

    Each `chunk` payload base64-decodes to one Anthropic event JSON; the raw
    bytes are kept so an Anthropic client receives them unchanged.
    """

    def __init__(self) -> None:
        self.usage = Usage()
        self._guardrail_units: dict[str, int] = {}

    def feed(self, event_type: str, payload: bytes) -> Iterator[tuple[dict[str, Any], bytes | None]]:
        if event_type != "chunk":
            return
        raw = base64.b64decode(json.loads(payload)["bytes"])
        event = json.loads(raw)
        self.track(event)
        yield event, raw

    def message(self, content: bytes) -> dict[str, Any]:
        message = wire_json.loads(content)
        self.usage = usage_from_message(message)
        self.usage.guardrail_units = guardrail_usage.units_in(message.get(guardrail_usage.INVOKE_TRACE))
        return message

    def track(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_start":
            self.usage = usage_from_message(event.get("message") or {})
        elif kind == "message_delta":
            self._cumulative(event.get("usage"))
        metrics = event.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):   # Bedrock's final count, without the TTL split message_start gave
            cache_write = _int(metrics.get("cacheWriteInputTokenCount"))
            self.usage = Usage(input=_int(metrics.get("inputTokenCount")),
                               output=_int(metrics.get("outputTokenCount")),
                               cache_read=_int(metrics.get("cacheReadInputTokenCount")), cache_write=cache_write,
                               cache_write_1h=min(self.usage.cache_write_1h, cache_write))
        if guardrail_usage.INVOKE_TRACE in event:
            self._guardrail_units = guardrail_usage.added(self._guardrail_units,
                                                          guardrail_usage.units_in(event[guardrail_usage.INVOKE_TRACE]))
        self.usage.guardrail_units = self._guardrail_units


    def _cumulative(self, usage: Any) -> None:
        """message_delta's counts are the call's so far (Anthropic's API, Mantle): the last one given wins, input
        and cache counts too, which grow past message_start's when a server tool runs the model again."""
        if not isinstance(usage, dict):
            return
        for name, attribute in _DELTA_COUNTS:
            if usage.get(name) is not None:
                setattr(self.usage, attribute, _int(usage.get(name)))
        self.usage.cache_write_1h = min(self.usage.cache_write_1h, self.usage.cache_write)


_DELTA_COUNTS = (("input_tokens", "input"), ("output_tokens", "output"), ("cache_read_input_tokens", "cache_read"),
                 ("cache_creation_input_tokens", "cache_write"))


def sse_event(event: dict[str, Any], raw: bytes | None = None) -> bytes:
    """One Anthropic SSE event; `raw` (the upstream JSON bytes) is sent as is when given."""
    data = raw if raw is not None else json.dumps(event, separators=(",", ":")).encode()
    return b"event: " + str(event.get("type", "message")).encode() + b"\ndata: " + data + b"\n\n"
