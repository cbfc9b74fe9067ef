"""Amazon Titan Text InvokeModel: request validation and response/stream shapes.

Titan has a flat body (``inputText`` + ``textGenerationConfig``) and its own completion
reasons, which is what a gateway's non-Claude path must cope with.
"""

from __future__ import annotations

from typing import Any

from .anthropic_body import json_type
from .errors import malformed
from .generator import Reply
from .prompt import LastUserTurn, Prompt, SegmentList
from .responses import Clock, StreamItem, invocation_metrics
from .schema_checks import in_range

ALLOWED_KEYS = frozenset({"inputText", "textGenerationConfig"})
CONFIG_KEYS = frozenset({"maxTokenCount", "temperature", "topP", "stopSequences"})
DEFAULT_MAX_TOKENS = 512
COMPLETION_REASONS = {"end_turn": "FINISH", "max_tokens": "LENGTH", "stop_sequence": "STOP_CRITERIA_MET"}


def parse_titan_body(body: Any) -> Prompt:
    if not isinstance(body, dict):
        raise malformed(f"#: expected type: JSONObject, found: {json_type(body)}")
    for key in body:
        if key not in ALLOWED_KEYS:
            raise malformed(f"#: extraneous key [{key}] is not permitted")
    text = body.get("inputText")
    if not isinstance(text, str):
        raise malformed("#: required key [inputText] not found" if text is None
                        else f"#/inputText: expected type: String, found: {json_type(text)}")
    config = body.get("textGenerationConfig", {})
    if not isinstance(config, dict):
        raise malformed(f"#/textGenerationConfig: expected type: JSONObject, found: {json_type(config)}")
    for key in config:
        if key not in CONFIG_KEYS:
            raise malformed(f"#/textGenerationConfig: extraneous key [{key}] is not permitted")
    max_tokens = config.get("maxTokenCount", DEFAULT_MAX_TOKENS)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise malformed(f"#/textGenerationConfig/maxTokenCount: expected type: Integer, found: "
                        f"{json_type(max_tokens)}")
    if max_tokens < 1:
        raise malformed(f"#/textGenerationConfig/maxTokenCount: {max_tokens} is not greater or equal to 1")
    for key in ("temperature", "topP"):
        if key in config:
            in_range(config[key], f"#/textGenerationConfig/{key}", 0, 1, integer=False)
    stops = config.get("stopSequences", [])
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise malformed(f"#/textGenerationConfig/stopSequences: expected type: JSONArray, found: "
                        f"{json_type(stops)}")
    segments = SegmentList()
    segments.add("user:text", text)
    return Prompt(segments=segments.items, last_user=LastUserTurn(text=text), max_tokens=max_tokens,
                  stop_sequences=stops)


def completion_reason(reply: Reply) -> str:
    return COMPLETION_REASONS.get(reply.stop_reason, "FINISH")


def response_json(reply: Reply) -> dict[str, Any]:
    text = "".join(b.text for b in reply.blocks if b.kind == "text")
    return {
        "inputTextTokenCount": reply.usage.total,
        "results": [{"tokenCount": reply.output_tokens, "outputText": text,
                     "completionReason": completion_reason(reply)}],
    }


def stream_events(reply: Reply) -> list[StreamItem]:
    """One chunk per token; the last carries completionReason and the invocation metrics."""
    pieces = [p for b in reply.blocks if b.kind == "text" for p in b.pieces] or [""]
    items: list[StreamItem] = []
    for count, piece in enumerate(pieces[:-1], start=1):
        chunk: dict[str, Any] = {"outputText": piece, "index": 0, "totalOutputTextTokenCount": count,
                                 "completionReason": None}
        if count == 1:
            chunk["inputTextTokenCount"] = reply.usage.total
        items.append(StreamItem(chunk, True))

    def last(clock: Clock) -> dict[str, Any]:
        chunk: dict[str, Any] = {"outputText": pieces[-1], "index": 0,
                                 "totalOutputTextTokenCount": reply.output_tokens,
                                 "completionReason": completion_reason(reply),
                                 "amazon-bedrock-invocationMetrics": invocation_metrics(
                                     reply.usage, reply.output_tokens, clock)}
        if len(pieces) == 1:
            chunk["inputTextTokenCount"] = reply.usage.total
        return chunk

    items.append(StreamItem(last, True))
    return items
