"""Cohere Embed on InvokeModel (English and Multilingual v3, v4): body validation and the answer.

Up to 96 texts per call, each embedded as a document, a query, or for classification or
clustering (`input_type`, required): the emulator folds the input type into the text's hashed
vector, so a query and a document of the same words differ yet stay close. Texts are at most
512 tokens (v4's `max_tokens` may lower that); `truncate` says whether a longer one is an error
(NONE) or is cut from its start or end before it is embedded and counted. Vectors come from
`embeddings.embedding_vector` (Titan's), in the model's own space and unit length, so each
model gives its own vectors and texts sharing words stay closer than unrelated ones.

Images (v3's `images`, v4's `inputs`) are not emulated: their keys are refused as extraneous.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from .anthropic_body import json_type
from .embeddings import embedding_vector, enum_value
from .errors import MSG_INPUT_TOO_LONG, malformed, validation
from .prompt import BYTES_PER_TOKEN, LastUserTurn, Prompt, SegmentList, estimate_tokens
from .schema_checks import expect_strings, required_key

MAX_TEXTS = 96
MAX_TEXT_TOKENS = 512
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
TRUNCATE = ("NONE", "START", "END")
DEFAULT_TRUNCATE = "NONE"
EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary")
V3_DIMENSIONS = 1024
V4_DIMENSIONS = (256, 512, 1024, 1536)
V4_DEFAULT_DIMENSIONS = 1536
MSG_TEXT_TOO_LONG = MSG_INPUT_TOO_LONG
"""A text past the limit under `truncate: NONE`: what Bedrock answers Cohere callers (as they report it)."""

_V3_KEYS = frozenset({"texts", "input_type", "truncate", "embedding_types"})
_V4_KEYS = _V3_KEYS | {"output_dimension", "max_tokens"}


@dataclass(frozen=True)
class CohereOptions:
    """What a Cohere body asks for: the texts as embedded (after truncation) and how."""

    model: str                      # the base id: its vector space (a profile embeds as its model)
    texts: tuple[str, ...]
    tokens: tuple[int, ...]         # each text's count, after truncation
    input_type: str
    dimensions: int
    types: tuple[str, ...] | None   # None: the plain `embeddings_floats` answer

    @property
    def input_tokens(self) -> int:
        """What Bedrock's X-Amzn-Bedrock-Input-Token-Count reports: every text's count, summed."""
        return sum(self.tokens)


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


def _types(body: dict[str, Any]) -> tuple[str, ...] | None:
    if "embedding_types" not in body:
        return None
    types = body["embedding_types"]
    if not isinstance(types, list):
        raise malformed(f"#/embedding_types: expected type: JSONArray, found: {json_type(types)}")
    for index, kind in enumerate(types):
        if not isinstance(kind, str) or kind not in EMBEDDING_TYPES:
            raise malformed(f"#/embedding_types/{index}: {enum_value(kind)} is not a valid enum value")
    return tuple(dict.fromkeys(types))


def _integer(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise malformed(f"#/{key}: expected type: Integer, found: {json_type(value)}")
    return value


def _dimensions(body: dict[str, Any], v4: bool) -> int:
    if not v4:
        return V3_DIMENSIONS
    value = _integer(body, "output_dimension", V4_DEFAULT_DIMENSIONS)
    if value not in V4_DIMENSIONS:
        raise malformed(f"#/output_dimension: {value} is not a valid enum value")
    return value


def _budget(body: dict[str, Any], v4: bool) -> int:
    """The tokens a text may have: MAX_TEXT_TOKENS, or v4's `max_tokens` (a per-text budget) when lower."""
    if not v4:
        return MAX_TEXT_TOKENS
    value = _integer(body, "max_tokens", MAX_TEXT_TOKENS)
    if value < 1:
        raise malformed(f"#/max_tokens: {value} is not greater or equal to 1")
    return min(value, MAX_TEXT_TOKENS)


def _tokens(text: str) -> int:
    return estimate_tokens(len(text.encode("utf-8")), 0)


def _fitted(text: str, truncate: str, budget: int) -> str:
    """The text within ``budget`` tokens (the emulator's estimate), cut from START or END, or the error.

    A cut through a multi-byte character drops that character, so a cut text may count a token less.
    """
    if _tokens(text) <= budget:
        return text
    if truncate == "NONE":
        raise validation(MSG_TEXT_TOO_LONG)
    data, keep = text.encode("utf-8"), budget * BYTES_PER_TOKEN
    kept = data[:keep] if truncate == "END" else data[-keep:]
    return kept.decode("utf-8", errors="ignore")


def parse_cohere_body(body: Any, base_id: str) -> tuple[Prompt, CohereOptions]:
    """Validate like Bedrock's schema for the model, then the length limit; the texts become a Prompt."""
    if not isinstance(body, dict):
        raise malformed(f"#: expected type: JSONObject, found: {json_type(body)}")
    v4 = is_v4(base_id)
    for key in body:
        if key not in (_V4_KEYS if v4 else _V3_KEYS):
            raise malformed(f"#: extraneous key [{key}] is not permitted")
    texts = expect_strings(required_key(body, "texts", "#"), "#/texts", MAX_TEXTS)
    input_type = _enum(body, "input_type", INPUT_TYPES)
    truncate = _enum(body, "truncate", TRUNCATE, default=DEFAULT_TRUNCATE)
    types, dimensions, budget = _types(body), _dimensions(body, v4), _budget(body, v4)
    fitted = tuple(_fitted(text, truncate, budget) for text in texts)
    segments = SegmentList()
    for text in fitted:
        segments.add("user:text", text)
    prompt = Prompt(segments=segments.items, last_user=LastUserTurn(text=fitted[-1]), max_tokens=0)
    tokens = tuple(_tokens(text) for text in fitted)
    return prompt, CohereOptions(base_id, fitted, tokens, input_type, dimensions, types)


def _vector(text: str, options: CohereOptions) -> list[float]:
    return embedding_vector(f"{options.input_type} {text}", options.dimensions, space=options.model)


def quantised(values: list[float], kind: str) -> list[float] | list[int]:
    """One embedding type of a unit float vector, simply: int8 scales the largest component to ±127,
    uint8 is int8 + 128; ubinary packs the signs 8 to a byte (1 = positive), binary is ubinary - 128."""
    if kind == "float":
        return values
    peak = max(abs(v) for v in values) or 1.0
    signed = [round(v / peak * 127) for v in values]
    if kind in ("int8", "uint8"):
        return signed if kind == "int8" else [v + 128 for v in signed]
    bits = "".join("1" if v > 0 else "0" for v in values)
    packed = [int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)]
    return packed if kind == "ubinary" else [b - 128 for b in packed]


def response_json(options: CohereOptions) -> dict[str, Any]:
    """``embeddings_floats`` (a list of vectors) unless `embedding_types` asked for ``embeddings_by_type``."""
    vectors = [_vector(text, options) for text in options.texts]
    if options.types is None:
        embeddings: Any = vectors
        response_type = "embeddings_floats"
    else:
        embeddings = {kind: [quantised(v, kind) for v in vectors] for kind in options.types}
        response_type = "embeddings_by_type"
    return {"id": str(uuid.uuid4()), "response_type": response_type, "embeddings": embeddings,
            "texts": list(options.texts)}
