"""Gateway errors rendered in the caller's own API format.

One neutral `ErrorKind` per failure, four renderings: OpenAI
`{"error": {...}}`, Anthropic `{"type": "error", "error": {...}}`, Bedrock
`{"message": ...}` plus `x-amzn-ErrorType`, and Cohere's `{"message": ...}`. Status codes follow
ARCHITECTURE.md: they tell the truth and are never a bare 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum

from kong_plugins.formats.api import ApiFormat


@dataclass(frozen=True)
class _Kind:
    status: int
    openai_type: str
    openai_code: str | None
    anthropic_type: str
    bedrock_type: str


class ErrorKind(Enum):
    INVALID_REQUEST = _Kind(400, "invalid_request_error", None, "invalid_request_error", "ValidationException")
    CONTENT_POLICY = _Kind(400, "invalid_request_error", "content_policy_violation", "invalid_request_error",
                           "ValidationException")   # OpenAI's code for an image its safety system would not draw
    UNAUTHENTICATED = _Kind(401, "invalid_request_error", "invalid_api_key", "authentication_error",
                            "UnrecognizedClientException")
    PERMISSION = _Kind(403, "invalid_request_error", "permission_denied", "permission_error",
                       "AccessDeniedException")
    MODEL_NOT_ALLOWED = _Kind(403, "invalid_request_error", "model_not_allowed", "permission_error",
                              "AccessDeniedException")
    CONTENT_BLOCKED = _Kind(403, "invalid_request_error", "content_blocked", "permission_error",
                            "AccessDeniedException")
    MODEL_NOT_FOUND = _Kind(404, "invalid_request_error", "model_not_found", "not_found_error",
                            "ResourceNotFoundException")
    NOT_FOUND = _Kind(404, "invalid_request_error", "not_found", "not_found_error", "ResourceNotFoundException")
    TOO_LARGE = _Kind(413, "invalid_request_error", "request_too_large", "request_too_large", "ValidationException")
    RATE_LIMITED = _Kind(429, "rate_limit_error", "rate_limit_exceeded", "rate_limit_error", "ThrottlingException")
    BUDGET_EXCEEDED = _Kind(429, "rate_limit_error", "budget_exceeded", "rate_limit_error", "ThrottlingException")
    UPSTREAM_ERROR = _Kind(502, "server_error", "upstream_error", "api_error", "InternalServerException")
    UNAVAILABLE = _Kind(503, "server_error", "service_unavailable", "overloaded_error",
                        "ServiceUnavailableException")
    TIMEOUT = _Kind(504, "server_error", "timeout", "timeout_error", "ModelTimeoutException")

    @property
    def status(self) -> int:
        return self.value.status


@dataclass(frozen=True)
class Reply:
    """A response a plugin sends itself (kong.response.exit), error or not."""

    status: int
    body: dict
    headers: dict[str, str]


def render_error(api: ApiFormat, kind: ErrorKind, message: str, *, status: int | None = None,
                 retry_after: int | None = None, param: str | None = None) -> Reply:
    """Render `kind` in the `api` format. `message` must never echo user input."""
    k = kind.value
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(0, int(retry_after)))
    if api is ApiFormat.OPENAI:
        body = {"error": {"message": message, "type": k.openai_type, "param": param, "code": k.openai_code}}
    elif api is ApiFormat.ANTHROPIC:
        body = {"type": "error", "error": {"type": k.anthropic_type, "message": _anthropic_words(kind, message)}}
    elif api is ApiFormat.COHERE:
        body = {"message": message}
    else:
        body = {"message": message}
        headers["x-amzn-ErrorType"] = k.bedrock_type
    return Reply(status=status or k.status, body=body, headers=headers)


PROMPT_TOO_LONG = "prompt is too long"
"""Anthropic's words for a prompt over the model's context window ("prompt is too long: 210000 tokens > 200000
maximum"). Claude Code compacts the conversation and sends it again on them; Bedrock's InvokeModel says "Input is
too long for requested model." instead, on which Claude Code gives up, its /compact included (claude-code#8637)."""


def _anthropic_words(kind: ErrorKind, message: str) -> str:
    """`message` with Anthropic's words in front where Bedrock's mean the same and Anthropic clients act on them."""
    lowered = message.lower()
    if kind is ErrorKind.INVALID_REQUEST and "input is too long" in lowered and PROMPT_TOO_LONG not in lowered:
        return f"{PROMPT_TOO_LONG}: {message}"
    return message


def sse_error_event(api: ApiFormat, kind: ErrorKind, message: str) -> bytes:
    """The format's in-stream error event, for failures after a stream started."""
    rendered = render_error(api, kind, message).body
    if api is ApiFormat.ANTHROPIC:
        return b"event: error\ndata: " + json.dumps(rendered).encode() + b"\n\n"
    return b"data: " + json.dumps(rendered).encode() + b"\n\n"
