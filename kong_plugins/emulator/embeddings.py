"""Amazon Titan Text Embeddings V2 on InvokeModel: body validation, vector and response shape.

An embedding model has no reply to generate and no prompt cache: the answer is one vector
derived from the text alone, so a gateway's embedding path sees stable, comparable values.
Vectors are sums of per-word hashed vectors (plus one for the whole text), so texts sharing
words have a higher cosine similarity than unrelated ones, and any two texts differ.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import re
import struct
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Callable

from . import anthropic_format
from .anthropic_body import json_type
from .cache import InputUsage
from .errors import malformed, validation
from .generator import Reply
from .prompt import LastUserTurn, Prompt, SegmentList, total_input_tokens
from .responses import Clock

ALLOWED_KEYS = frozenset({"inputText", "dimensions", "normalize", "embeddingTypes"})
DIMENSIONS = (256, 512, 1024)
DEFAULT_DIMENSIONS = 1024
EMBEDDING_TYPES = ("float", "binary")
MAX_INPUT_CHARS = 50_000
MAX_INPUT_TOKENS = 8_192
MSG_NO_STREAMING = "The model is unsupported for streaming."
MSG_NOT_A_CHAT_MODEL = ("This action doesn't support the model that you provided. "
                        "Try again with a supported text or chat model.")

_WORD = re.compile(r"\w+")
_SCALE = 1 / 32768  # hashed components are int16: scaled into [-1, 1)


@dataclass(frozen=True)
class EmbeddingOptions:
    """What the body asks for besides the text (the text is the Prompt's only segment)."""

    dimensions: int = DEFAULT_DIMENSIONS
    normalize: bool = True
    types: tuple[str, ...] = ("float",)


def enum_value(value: Any) -> str:
    """A value as the schema validator prints it in "... is not a valid enum value" (strings bare)."""
    return value if isinstance(value, str) else json.dumps(value)


def _text(body: dict[str, Any]) -> str:
    if "inputText" not in body:
        raise malformed("#: required key [inputText] not found")
    text = body["inputText"]
    if not isinstance(text, str):
        raise malformed(f"#/inputText: expected type: String, found: {json_type(text)}")
    if not text:
        raise malformed("#/inputText: expected minLength: 1, actual: 0")
    if len(text) > MAX_INPUT_CHARS:
        raise malformed(f"#/inputText: expected maxLength: {MAX_INPUT_CHARS}, actual: {len(text)}")
    return text


def _options(body: dict[str, Any]) -> EmbeddingOptions:
    dimensions = body.get("dimensions", DEFAULT_DIMENSIONS)
    if isinstance(dimensions, bool) or not isinstance(dimensions, int):
        raise malformed(f"#/dimensions: expected type: Integer, found: {json_type(dimensions)}")
    if dimensions not in DIMENSIONS:
        raise malformed(f"#/dimensions: {dimensions} is not a valid enum value")
    normalize = body.get("normalize", True)
    if not isinstance(normalize, bool):
        raise malformed(f"#/normalize: expected type: Boolean, found: {json_type(normalize)}")
    types = body.get("embeddingTypes", ["float"])
    if not isinstance(types, list):
        raise malformed(f"#/embeddingTypes: expected type: JSONArray, found: {json_type(types)}")
    if not types:
        raise malformed("#/embeddingTypes: expected minimum item count: 1, found: 0")
    for index, kind in enumerate(types):
        if not isinstance(kind, str) or kind not in EMBEDDING_TYPES:
            raise malformed(f"#/embeddingTypes/{index}: {enum_value(kind)} is not a valid enum value")
    return EmbeddingOptions(dimensions, normalize, tuple(dict.fromkeys(types)))


def parse_embedding_body(body: Any) -> tuple[Prompt, EmbeddingOptions]:
    """Validate like Bedrock (schema first, then the model's token limit); the text becomes a Prompt.

    The Prompt carries the text as one ``user:text`` segment, as a Titan Text body does, so the
    same text counts the same tokens on either model.
    """
    if not isinstance(body, dict):
        raise malformed(f"#: expected type: JSONObject, found: {json_type(body)}")
    for key in body:
        if key not in ALLOWED_KEYS:
            raise malformed(f"#: extraneous key [{key}] is not permitted")
    text = _text(body)
    options = _options(body)
    segments = SegmentList()
    segments.add("user:text", text)
    tokens = total_input_tokens(segments.items)
    if tokens > MAX_INPUT_TOKENS:
        raise validation(f"400 Bad Request: Too many input tokens. Max input tokens: {MAX_INPUT_TOKENS}, "
                         f"request input token size: {tokens}")
    return Prompt(segments=segments.items, last_user=LastUserTurn(text=text), max_tokens=0), options


MAX_VECTOR = 1536
"""The longest vector any emulated embedding model gives (Cohere Embed v4)."""


def _hashed(material: bytes) -> tuple[int, ...]:
    """MAX_VECTOR int16 values from SHA-256 in counter mode, seeded by ``material``.

    Shorter vectors are prefixes of this stream, so a word means the same at every size.
    """
    seed = hashlib.sha256(material).digest()
    blocks = MAX_VECTOR * 2 // 32
    stream = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(blocks))
    return struct.unpack(f">{MAX_VECTOR}h", stream)


def _add(total: list[int], vector: tuple[int, ...], weight: int) -> list[int]:
    scaled: Any = vector if weight == 1 else map(operator.mul, vector, repeat(weight))
    return list(map(operator.add, total, scaled))


def embedding_vector(text: str, dimensions: int = DEFAULT_DIMENSIONS, normalize: bool = True,
                     space: str = "") -> list[float]:
    """Deterministic vector for ``text``: sum of its (lower-cased) words' vectors and its own.

    Integers are summed exactly, then scaled; ``normalize`` divides by the L2 norm. ``space``
    names another model's vector space: every hash is seeded with it, so two models give
    unrelated vectors for one text, as real models do (Titan's is the empty space).
    """
    seed = space.encode("utf-8") + b"\x00" if space else b""
    total = list(_hashed(seed + b"text\x00" + text.encode("utf-8")))
    for word, count in Counter(w.lower() for w in _WORD.findall(text)).items():
        total = _add(total, _hashed(seed + b"word\x00" + word.encode("utf-8")), count)
    values = [v * _SCALE for v in total[:dimensions]]
    if not normalize:
        return values
    norm = math.sqrt(math.fsum(v * v for v in values))
    return [v / norm for v in values] if norm > 0 else values


def binary_embedding(values: list[float]) -> list[int]:
    """Titan's binary type: 1 for a positive component, else 0."""
    return [1 if v > 0 else 0 for v in values]


def response_json(prompt: Prompt, options: EmbeddingOptions) -> dict[str, Any]:
    """``embedding`` is always the float vector; ``embeddingsByType`` lists what was asked for."""
    values = embedding_vector(prompt.last_user.text, options.dimensions, options.normalize)
    by_type: dict[str, Any] = {kind: values if kind == "float" else binary_embedding(values)
                               for kind in options.types}
    return {"embedding": values, "inputTextTokenCount": total_input_tokens(prompt.segments),
            "embeddingsByType": by_type}


def usage_headers(input_tokens: int) -> Callable[[Clock], dict[str, str]]:
    """An embedding answer's InvokeModel count/latency headers: the input tokens given, output 0.

    Titan passes its inputTextTokenCount; Cohere the sum of its texts' counts.
    """
    reply = Reply(blocks=[], stop_reason="end_turn", stop_sequence=None, usage=InputUsage(input_tokens))
    return lambda clock: anthropic_format.usage_headers(reply, clock)
