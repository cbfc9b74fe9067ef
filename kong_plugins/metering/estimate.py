"""A fast local estimate of a request's input tokens.

Used where Bedrock cannot count (count_tokens for models without CountTokens,
said so in a response header) and, with issue #4, to reserve budget before a
call. It errs high on purpose: ~4 characters per token for text and JSON
(tool schemas), a flat 1,600 tokens per image (Claude's cost for a ~1.15
megapixel image), a document's bytes as characters. A part of the prompt it missed would be
reserved as nothing and charged only after the call: one such call could spend a whole day's
tokens, so it reads every string a body holds.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any, NamedTuple

from kong_plugins.context import Usage
from kong_plugins.guardrails.document_bytes import decode_base64

CHARS_PER_TOKEN = 4
TOKENS_PER_IMAGE = 1600
BASE64_BYTES_PER_CHAR = 0.75
"""A base64 payload holds three bytes in every four characters; a document's bytes count as characters (a PDF's
compressed pages err high, as the estimate should)."""

_JSON_KEYS = frozenset({"tools", "toolConfig", "input", "json"})
"""Tool schemas, tool inputs and JSON tool results: billed as the JSON text the model reads, keys included."""
_UNREAD_KEYS = frozenset({"type", "media_type", "format", "cache_control", "cachePoint", "signature", "id",
                          "tool_use_id", "toolUseId", "anthropic_version", "anthropic_beta", "model", "modelId",
                          "role"})
"""Labels and markers, not prompt: the thinking signature is checked by Bedrock, not read by the model."""
_IMAGE_TYPES = frozenset({"image", "image_url", "input_image"})


def estimate_input_tokens(request: dict[str, Any]) -> int:
    """Estimate for a request body: the gateway's internal (Anthropic-shaped) model, or a native Bedrock body of
    any model family (Converse, Titan's inputText, Llama's prompt ...). Every string in it counts, wherever the
    format puts the prompt (a document's text or content, a tool result, a search result), except labels,
    base64 payloads (counted by their bytes) and images (a flat TOKENS_PER_IMAGE each)."""
    chars, images = text_and_images(request)
    return max(1, math.ceil(chars / CHARS_PER_TOKEN) + images * TOKENS_PER_IMAGE)


def text_and_images(node: Any) -> tuple[int, int]:
    """(characters of prompt, number of images) below `node`."""
    if isinstance(node, str):
        return len(node), 0
    if isinstance(node, list):
        chars, images = 0, 0
        for item in node:
            c, i = text_and_images(item)
            chars, images = chars + c, images + i
        return chars, images
    if not isinstance(node, dict):
        return 0, 0
    kind = node.get("type")
    if isinstance(kind, str) and kind in _IMAGE_TYPES:   # a native body is the client's: a list there is no image
        return 0, 1
    chars, images = 0, 0
    pdf_source = node.get("format") == "pdf"   # a Converse document: its source holds the bytes
    for key, value in node.items():
        if key in _UNREAD_KEYS:
            continue
        if key == "source" and pdf_source and isinstance(value, dict) and isinstance(value.get("bytes"), str):
            chars += _payload_chars(value["bytes"], pdf=True)
            continue
        if key == "image" and isinstance(value, dict):   # a Converse image block
            images += 1
        elif key in _JSON_KEYS and isinstance(value, (dict, list)):
            chars += len(json.dumps(value, separators=(",", ":")))
        elif isinstance(value, str) and (key == "bytes" or (key == "data" and node.get("type") == "base64")):
            chars += _payload_chars(value, pdf=node.get("media_type") == "application/pdf")
        else:
            c, i = text_and_images(value)
            chars, images = chars + c, images + i
    return chars, images


_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
TOKENS_PER_PDF_PAGE = 4600
"""Claude reads a PDF page as its text (1,500-3,000 tokens) and as an image (about 1,600): the high end of both."""


def _payload_chars(data: str, *, pdf: bool) -> int:
    """A base64 payload as characters of prompt: a PDF by its pages (its bytes are mostly compressed streams and
    images, 2 MB for an 11-page scan that Claude reads as some 50,000 tokens), anything else by its bytes. A PDF
    whose page objects are compressed (object streams) cannot be counted this way: by its bytes, erring high."""
    if pdf:
        raw = decode_base64(data)
        pages = len(_PDF_PAGE.findall(raw)) if raw else 0
        if pages:
            return pages * TOKENS_PER_PDF_PAGE * CHARS_PER_TOKEN
    return math.ceil(len(data) * BASE64_BYTES_PER_CHAR)


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


_MAX_OUTPUT_FIELDS = (("max_tokens",), ("inferenceConfig", "maxTokens"), ("inferenceConfig", "max_new_tokens"),
                      ("textGenerationConfig", "maxTokenCount"), ("max_gen_len",))
"""Where each native body names its output cap: Anthropic and Mistral, Converse, Nova's InvokeModel, Titan, Llama."""
_FAMILY_CAPS = (("meta.", "max_gen_len"), ("amazon.titan-text", "textGenerationConfig.maxTokenCount"),
                ("amazon.nova", "inferenceConfig.max_new_tokens"))
"""The InvokeModel cap of the families that do not call it max_tokens, by Bedrock id (after a region prefix)."""
NO_CAP_OUTPUT = 4096


class NativeEstimate(NamedTuple):
    input: int
    output: int
    cap_field: str      # the body's field that caps the output, as the caller writes it (for a 429's advice)


def native_estimate(body: dict[str, Any], bedrock_id: str = "", operation: str = "invoke") -> NativeEstimate:
    """Input estimate and max output of a Bedrock-native body of any model family (NO_CAP_OUTPUT when it names
    no cap), and the field a caller lowers to ask for less: the one the body used, else its API's or family's."""
    for path in _MAX_OUTPUT_FIELDS:
        value: Any = body
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return NativeEstimate(estimate_input_tokens(body), value, ".".join(path))
    return NativeEstimate(estimate_input_tokens(body), NO_CAP_OUTPUT, _default_cap_field(bedrock_id, operation))


def _default_cap_field(bedrock_id: str, operation: str) -> str:
    if operation.startswith("converse"):
        return "inferenceConfig.maxTokens"
    dotted = "." + bedrock_id     # a cross-region profile's prefix (us., eu., global.) goes before the family
    return next((field for family, field in _FAMILY_CAPS if "." + family in dotted), "max_tokens")
