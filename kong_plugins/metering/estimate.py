"""A fast local estimate of a request's input tokens.

Used where Bedrock cannot count (count_tokens for models without CountTokens,
said so in a response header) and, with issue #4, to reserve budget before a
call. It errs high on purpose: ~4 characters per token for text and JSON
(tool schemas), a flat 1,600 tokens per image (Claude's cost for a ~1.15
megapixel image).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

from kong_plugins.context import Usage

CHARS_PER_TOKEN = 4
TOKENS_PER_IMAGE = 1600


def estimate_input_tokens(request: dict[str, Any]) -> int:
    """Estimate for an Anthropic-shaped request (the gateway's internal model)."""
    chars, images = 0, 0
    for part in text_and_images(request.get("system")), text_and_images(request.get("messages")):
        c, i = part
        chars, images = chars + c, images + i
    if request.get("tools"):
        chars += len(json.dumps(request["tools"], separators=(",", ":")))
    return max(1, math.ceil(chars / CHARS_PER_TOKEN) + images * TOKENS_PER_IMAGE)


def text_and_images(node: Any) -> tuple[int, int]:
    """(characters of text, number of images) below `node`."""
    if isinstance(node, str):
        return len(node), 0
    if isinstance(node, list):
        totals = [text_and_images(item) for item in node]
        return sum(t[0] for t in totals), sum(t[1] for t in totals)
    if isinstance(node, dict):
        if node.get("type") == "image":
            return 0, 1
        chars, images = 0, 0
        for key, value in node.items():
            if key in ("text", "content", "thinking", "input"):
                c, i = text_and_images(value) if not isinstance(value, dict) else (len(json.dumps(value)), 0)
                chars, images = chars + c, images + i
        return chars, images
    return 0, 0


class StreamedOutput:
    """What a stream produced, for one that ends before Bedrock reports its usage (a client hung up, the stream
    broke). ConverseStream reports usage only in its last event, so such a call would otherwise be charged
    nothing, though Bedrock bills the prompt and what it generated: its input is then the reservation's
    estimate, its output the text streamed, at CHARS_PER_TOKEN (never less than Bedrock said so far)."""

    def __init__(self) -> None:
        self.chars = 0
        self.finished = False

    def note(self, event: dict[str, Any]) -> None:
        """Count an Anthropic-shaped stream event (the internal model every stream is decoded to)."""
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            self.add(delta.get("text") or delta.get("partial_json") or delta.get("thinking"))
        elif kind == "message_stop":
            self.finished = True

    def add(self, piece: Any) -> None:
        """Count a piece of streamed text (anything else counts nothing)."""
        self.chars += len(piece) if isinstance(piece, str) else 0

    def at_least(self, usage: Usage | None, planned_input: int) -> Usage:
        usage = usage or Usage()
        read = usage.input or usage.cache_read or usage.cache_write
        return replace(usage, input=usage.input if read else planned_input,
                       output=max(usage.output, math.ceil(self.chars / CHARS_PER_TOKEN)))


def as_planned(planned_input: int, planned_output: int, calls: int = 1) -> Usage:
    """A call the gateway stopped waiting for (a read timeout): Bedrock carries on to its end, most likely
    max_tokens after so long, and bills it, so it is charged as planned (the input estimate, max_tokens)."""
    return Usage(input=planned_input * calls, output=planned_output * calls, calls=calls)
