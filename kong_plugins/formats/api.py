"""Which client API a request speaks, decided by its path.

Errors must be answered in the caller's own format, and the same body is
scanned and metered regardless of format, so this is the one place that maps
a path to a format.
"""

from __future__ import annotations

from enum import Enum


class ApiFormat(str, Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    BEDROCK = "bedrock"
    COHERE = "cohere"   # Cohere's Rerank API (the cohere SDK's rerank, v1 and v2)


_REQUEST_ID_HEADERS = {ApiFormat.OPENAI: "x-request-id", ApiFormat.ANTHROPIC: "request-id"}


def request_id_headers(api: ApiFormat | None, request_id: str) -> list[tuple[str, str]]:
    """The gateway's request id where the client's SDK reads a response's id (OpenAI's and Anthropic's
    `_request_id`, quoted in their errors): the id the request log and Kong's access log carry. A Bedrock-native
    client reads Bedrock's own x-amzn-RequestId, passed on as it came."""
    name = _REQUEST_ID_HEADERS.get(api) if api is not None else None
    return [(name, request_id)] if name and request_id else []


RERANK_PATHS = ("/v1/rerank", "/v2/rerank")
IMAGE_VARIATIONS_PATH = "/v1/images/variations"
IMAGE_EDITS_PATH = "/v1/images/edits"
FORM_PATHS = frozenset({IMAGE_VARIATIONS_PATH, IMAGE_EDITS_PATH})
"""Routes whose clients send multipart/form-data (formats.multipart_form)."""


def api_for_path(path: str) -> ApiFormat:
    """Map a request path to the client API format it belongs to."""
    if path.startswith("/v1/messages"):
        return ApiFormat.ANTHROPIC
    if path.startswith(("/model/", "/inference-profiles", "/foundation-models", "/guardrail/")):
        return ApiFormat.BEDROCK
    if path.rstrip("/") in RERANK_PATHS:
        return ApiFormat.COHERE
    return ApiFormat.OPENAI


def token_count(api: ApiFormat, input_tokens: int) -> dict[str, object]:
    """A token count in the caller's format: Anthropic's `count_tokens` or OpenAI's `responses/input_tokens`."""
    if api is ApiFormat.OPENAI:
        return {"object": "response.input_tokens", "input_tokens": input_tokens}
    return {"input_tokens": input_tokens}
