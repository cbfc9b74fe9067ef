"""OpenAI Embeddings (`POST /v1/embeddings`): the request, and the OpenAI list answered.

The Bedrock side is `embedding_models` (Titan: one text per InvokeModel call; Cohere Embed: up
to 96); the relay runs the calls a few at a time and the answer keeps the client's order. The
official SDK asks for `encoding_format: "base64"` unless told otherwise: little-endian float32s,
base64-encoded, which it decodes itself. Token arrays (what tiktoken-based clients send to
OpenAI) cannot be embedded by a model with another tokenizer, so they are refused with a 400
saying to send the text.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from typing import Any

from kong_plugins.formats import wire_json
from kong_plugins.formats.body import RequestError, load_json_object, whole_number

MAX_INPUTS = 2048
"""OpenAI's own limit of texts per request."""
ENCODINGS = ("float", "base64")


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str | None
    texts: tuple[str, ...]
    dimensions: int | None
    encoding: str   # "float" | "base64"
    input_type: str | None = None   # Cohere's document/query switch, sent as an extra body field


def parse_request(body: bytes | None) -> EmbeddingRequest:
    data = load_json_object(body)
    encoding = data.get("encoding_format") or "float"
    if encoding not in ENCODINGS:
        raise RequestError("encoding_format: must be float or base64.", "encoding_format")
    dimensions = data.get("dimensions")
    if dimensions is not None:
        whole_number(dimensions, "dimensions")
    input_type = data.get("input_type")
    if input_type is not None and not isinstance(input_type, str):
        raise RequestError("input_type: must be a string.", "input_type")
    return EmbeddingRequest(model=data.get("model"), texts=_texts(data.get("input")), dimensions=dimensions,
                            encoding=encoding, input_type=input_type)


def _texts(value: Any) -> tuple[str, ...]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise RequestError("input: Field required (a string or a non-empty list of strings).", "input")
    if not all(isinstance(text, str) for text in texts):
        raise RequestError("input: token arrays are not supported (Bedrock's models have their own "
                           "tokenizers); send the text as strings.", "input")
    if len(texts) > MAX_INPUTS:
        raise RequestError(f"input: at most {MAX_INPUTS} texts per request.", "input")
    if not all(texts):
        raise RequestError("input: texts must not be empty.", "input")
    return tuple(texts)


def render(vectors: list[list[float]], tokens: int, *, model: str, encoding: str) -> bytes:
    data = [{"object": "embedding", "index": i, "embedding": _encoded(vector, encoding)}
            for i, vector in enumerate(vectors)]
    return wire_json.dumps({"object": "list", "data": data, "model": model,
                            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def _encoded(vector: list[float], encoding: str) -> Any:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
