"""The Bedrock models behind `/v1/embeddings`: how each takes texts, and gives vectors back.

Amazon Titan Text Embeddings V2 embeds one text per InvokeModel call and counts its tokens in
the body; Cohere Embed (v3 English and Multilingual, v4) embeds up to 96 texts per call, needs
to know whether they are documents or queries (`input_type`, which OpenAI's API has no field
for: clients send it as an extra body field, documents by default), and counts tokens only in
Bedrock's response header. Both give unit vectors, as OpenAI's are.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol

from kong_plugins.bedrock.usage import usage_from_headers
from kong_plugins.formats import wire_json
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.openai_embeddings import EmbeddingRequest

Vectors = list[list[float]]


class EmbeddingModel(Protocol):
    def bodies(self, request: EmbeddingRequest, model: str) -> tuple[bytes, ...]:
        """The InvokeModel bodies for the request's texts, in order (RequestError if the model cannot)."""

    def read(self, content: bytes, headers: Mapping[str, Any]) -> tuple[Vectors, int]:
        """(vectors, input tokens) of one answer; ValueError if it is not one."""


class Titan:
    def bodies(self, request: EmbeddingRequest, model: str) -> tuple[bytes, ...]:
        if request.input_type is not None:
            raise RequestError(f"input_type: {model} embeds documents and queries alike; send none.", "input_type")
        extra: dict[str, Any] = {"normalize": True}
        if request.dimensions is not None:
            extra["dimensions"] = request.dimensions
        return tuple(wire_json.dumps({"inputText": text, **extra}) for text in request.texts)

    def read(self, content: bytes, headers: Mapping[str, Any]) -> tuple[Vectors, int]:
        data = wire_json.loads(content)
        vector = data.get("embedding") if isinstance(data, dict) else None
        tokens = data.get("inputTextTokenCount") if isinstance(data, dict) else None
        if not isinstance(vector, list) or not vector or not isinstance(tokens, int):
            raise ValueError("not a Titan embedding response")
        return [vector], tokens


COHERE_TEXTS_PER_CALL = 96
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
COHERE_V3_DIMENSIONS = 1024


class Cohere:
    def __init__(self, v4: bool) -> None:
        self.v4 = v4   # v4 takes output_dimension; v3 gives 1024 dimensions only

    def bodies(self, request: EmbeddingRequest, model: str) -> tuple[bytes, ...]:
        input_type = request.input_type or "search_document"
        if input_type not in COHERE_INPUT_TYPES:
            raise RequestError(f"input_type: must be one of {', '.join(COHERE_INPUT_TYPES)}.", "input_type")
        extra: dict[str, Any] = {}
        if request.dimensions is not None and self.v4:
            extra["output_dimension"] = request.dimensions
        elif request.dimensions not in (None, COHERE_V3_DIMENSIONS):
            raise RequestError(f"dimensions: {model} gives {COHERE_V3_DIMENSIONS}-dimension vectors only.",
                               "dimensions")
        texts = request.texts
        return tuple(wire_json.dumps({"texts": list(texts[i:i + COHERE_TEXTS_PER_CALL]), "input_type": input_type,
                                      "truncate": "NONE", **extra})
                     for i in range(0, len(texts), COHERE_TEXTS_PER_CALL))

    def read(self, content: bytes, headers: Mapping[str, Any]) -> tuple[Vectors, int]:
        data = wire_json.loads(content)
        vectors = data.get("embeddings") if isinstance(data, dict) else None
        if not isinstance(vectors, list) or not vectors or not all(isinstance(v, list) and v for v in vectors):
            raise ValueError("not a Cohere embedding response")
        return vectors, usage_from_headers(headers).input


def embedding_model(bedrock_id: str) -> EmbeddingModel:
    """The model family by its Bedrock id (a profile's geo prefix aside); Titan for anything else."""
    if "cohere.embed" in bedrock_id:
        return Cohere(v4="embed-v4" in bedrock_id)
    return Titan()
