"""Cohere Embed on InvokeModel (English and Multilingual v3, v4): body validation and the answer.

Up to 96 texts per call, each embedded as a document, a query, or for classification or
clustering (`input_type`, required): the emulator folds the input type into the text's hashed
vector, so a query and a document of the same words differ yet stay close. Texts are at most
512 tokens; `truncate` says whether a longer one is an error (NONE) or is cut from its start or
end. Vectors come from `embeddings.embedding_vector` (Titan's), unit length.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from .anthropic_body import json_type
from .embeddings import embedding_vector
from .errors import malformed, validation
from .prompt import LastUserTurn, Prompt, SegmentList

MAX_TEXTS = 96
MAX_TEXT_TOKENS = 512
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
TRUNCATE = ("NONE", "START", "END")
EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary")
V3_DIMENSIONS = 1024
V4_DIMENSIONS = (256, 512, 1024, 1536)
MSG_TEXT_TOO_LONG = (f"invalid request: text at index {{index}} is too long: {{tokens}} tokens, the model takes at "
                     f"most {MAX_TEXT_TOKENS}; set truncate to START or END to cut it")
_V3_KEYS = frozenset({"texts", "input_type", "truncate", "embedding_types"})
_V4_KEYS = _V3_KEYS | {"output_dimension", "max_tokens"}


@dataclass(frozen=True)
class CohereOptions:
    """What a Cohere body asks for: the texts as embedded (after truncation) and how."""

    texts: tuple[str, ...]
    input_type: str
    dimensions: int
    types: tuple[str, ...] | None   # None: the plain `embeddings_floats` answer


def is_v4(base_id: str) -> bool:
    return "embed-v4" in base_id


def _enum(body: dict[str, Any], key: str, values: tuple[str, ...], default: str | None = None) -> str:
    if key not in body and default is not None:
        return default
    if key not in body:
        raise malformed(f"#: required key [{key}] not found")
    value = body[key]
    if not isinstance(value, str):
        raise malformed(f"#/{key}: expected type: String, found: {json_type(value)}")
    if value not in values:
        raise malformed(f"#/{key}: {value} is not a valid enum value")
    return value


def _texts(body: dict[str, Any]) -> list[str]:
    if "texts" not in body:
        raise malformed("#: required key [texts] not found")
    texts = body["texts"]
    if not isinstance(texts, list):
        raise malformed(f"#/texts: expected type: JSONArray, found: {json_type(texts)}")
    if not texts:
        raise malformed("#/texts: expected minimum item count: 1, found: 0")
    if len(texts) > MAX_TEXTS:
        raise malformed(f"#/texts: expected maximum item count: {MAX_TEXTS}, found: {len(texts)}")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise malformed(f"#/texts/{index}: expected type: String, found: {json_type(text)}")
    return texts


def _types(body: dict[str, Any]) -> tuple[str, ...] | None:
    if "embedding_types" not in body:
        return None
    types = body["embedding_types"]
    if not isinstance(types, list):
        raise malformed(f"#/embedding_types: expected type: JSONArray, found: {json_type(types)}")
    for index, kind in enumerate(types):
        if kind not in EMBEDDING_TYPES:
            raise malformed(f"#/embedding_types/{index}: {kind} is not a valid enum value")
    return tuple(dict.fromkeys(types))


def _dimensions(body: dict[str, Any], v4: bool) -> int:
    if not v4:
        return V3_DIMENSIONS
    value = body.get("output_dimension", max(V4_DIMENSIONS))
    if isinstance(value, bool) or not isinstance(value, int):
        raise malformed(f"#/output_dimension: expected type: Integer, found: {json_type(value)}")
    if value not in V4_DIMENSIONS:
        raise malformed(f"#/output_dimension: {value} is not a valid enum value")
    return value


def _fitted(text: str, index: int, truncate: str) -> str:
    """The text within MAX_TEXT_TOKENS (4 UTF-8 bytes a token, the emulator's estimate), or the error."""
    data = text.encode("utf-8")
    limit = MAX_TEXT_TOKENS * 4
    if len(data) <= limit:
        return text
    if truncate == "NONE":
        raise validation(MSG_TEXT_TOO_LONG.format(index=index, tokens=-(-len(data) // 4)))
    kept = data[:limit] if truncate == "END" else data[-limit:]
    return kept.decode("utf-8", errors="ignore")


def parse_cohere_body(body: Any, base_id: str) -> tuple[Prompt, CohereOptions]:
    """Validate like Bedrock's schema for the model; the texts become a Prompt (for token counting)."""
    if not isinstance(body, dict):
        raise malformed(f"#: expected type: JSONObject, found: {json_type(body)}")
    v4 = is_v4(base_id)
    for key in body:
        if key not in (_V4_KEYS if v4 else _V3_KEYS):
            raise malformed(f"#: extraneous key [{key}] is not permitted")
    texts = _texts(body)
    input_type = _enum(body, "input_type", INPUT_TYPES)
    truncate = _enum(body, "truncate", TRUNCATE, default="NONE")
    types, dimensions = _types(body), _dimensions(body, v4)
    fitted = tuple(_fitted(text, i, truncate) for i, text in enumerate(texts))
    segments = SegmentList()
    for text in fitted:
        segments.add("user:text", text)
    prompt = Prompt(segments=segments.items, last_user=LastUserTurn(text=fitted[-1]), max_tokens=0)
    return prompt, CohereOptions(fitted, input_type, dimensions, types)


def _vector(text: str, options: CohereOptions) -> list[float]:
    return embedding_vector(f"{options.input_type} {text}", options.dimensions)


def _typed(values: list[float], kind: str) -> list[float] | list[int]:
    if kind == "float":
        return values
    signed = [max(-128, min(127, round(v * 127))) for v in values]
    if kind == "int8":
        return signed
    if kind == "uint8":
        return [v + 128 for v in signed]
    packed = [int("".join("1" if v > 0 else "0" for v in values[i:i + 8]), 2) for i in range(0, len(values), 8)]
    return packed if kind == "ubinary" else [b - 256 if b > 127 else b for b in packed]


def response_json(options: CohereOptions) -> dict[str, Any]:
    vectors = [_vector(text, options) for text in options.texts]
    answer: dict[str, Any] = {"id": str(uuid.uuid4()), "texts": list(options.texts)}
    if options.types is None:
        return {**answer, "response_type": "embeddings_floats", "embeddings": vectors}
    by_type = {kind: [_typed(v, kind) for v in vectors] for kind in options.types}
    return {**answer, "response_type": "embeddings_by_type", "embeddings": by_type}

