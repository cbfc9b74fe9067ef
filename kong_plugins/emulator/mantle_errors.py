"""Bedrock Mantle errors in Anthropic's shape: ``{"type":"error","error":{"type","message"}}``.

Mantle speaks the Anthropic Messages API, so its errors (HTTP and mid-stream) use Anthropic's
error types rather than Bedrock's ``x-amzn-ErrorType`` names. Mapping used here:

- auth: missing / unknown credentials or API key -> 401 ``authentication_error``; a SigV4
  signature that does not verify (wrong secret, wrong service or region scope, tampering) ->
  403 ``permission_error``, keeping AWS's message text.
- injected faults: throttle / model_not_ready / quota -> 429 ``rate_limit_error``, internal ->
  500 ``api_error``, unavailable -> 529 ``overloaded_error``, access_denied -> 403
  ``permission_error``, validation -> 400 ``invalid_request_error``, model_timeout -> 504
  ``timeout_error``, model_error -> 500 ``api_error``.
"""

from __future__ import annotations

import json
import random
from typing import Any

from .errors import BedrockError
from .faults import HTTP_FAULTS, STREAM_EXCEPTIONS, FaultRule
from .generator import base62

INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
PERMISSION = "permission_error"
NOT_FOUND = "not_found_error"
RATE_LIMIT = "rate_limit_error"
API_ERROR = "api_error"
OVERLOADED = "overloaded_error"
TIMEOUT = "timeout_error"

_AUTH_401 = frozenset({"MissingAuthenticationTokenException", "UnrecognizedClientException"})

FAULT_ERRORS: dict[str, tuple[int, str]] = {
    "throttle": (429, RATE_LIMIT),
    "model_not_ready": (429, RATE_LIMIT),
    "quota": (429, RATE_LIMIT),
    "internal": (500, API_ERROR),
    "unavailable": (529, OVERLOADED),
    "access_denied": (403, PERMISSION),
    "validation": (400, INVALID_REQUEST),
    "model_timeout": (504, TIMEOUT),
    "model_error": (500, API_ERROR),
}
STREAM_ERROR_TYPES: dict[str, str] = {
    "throttlingException": RATE_LIMIT,
    "modelStreamErrorException": API_ERROR,
    "internalServerException": API_ERROR,
    "serviceUnavailableException": OVERLOADED,
    "validationException": INVALID_REQUEST,
    "modelTimeoutException": TIMEOUT,
}
OVERLOADED_MESSAGE = "Overloaded"


def new_request_id() -> str:
    return "req_bdrk_" + base62(random.SystemRandom(), 24)


class MantleError(BedrockError):
    """An Anthropic-format error response (status, ``error.type``, message) with a request id."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(status, error_type, message)
        self.request_id = new_request_id()

    def body(self) -> dict[str, Any]:
        return {"type": "error", "error": {"type": self.error_type, "message": self.message},
                "request_id": self.request_id}

    def response_headers(self) -> dict[str, str]:
        return {"request-id": self.request_id}


def invalid_request(message: str) -> MantleError:
    return MantleError(400, INVALID_REQUEST, message)


def not_found(message: str) -> MantleError:
    return MantleError(404, NOT_FOUND, message)


def internal_error() -> MantleError:
    return MantleError(500, API_ERROR, HTTP_FAULTS["internal"][2])


def from_auth_error(error: BedrockError) -> MantleError:
    """Re-shape an AWS auth failure raised by the SigV4 verifier."""
    if error.error_type in _AUTH_401:
        return MantleError(401, AUTHENTICATION, error.message)
    return MantleError(403, PERMISSION, error.message)


def from_fault(fault: FaultRule) -> MantleError:
    status, error_type = FAULT_ERRORS[fault.type]
    default = OVERLOADED_MESSAGE if error_type == OVERLOADED else HTTP_FAULTS[fault.type][2]
    return MantleError(status, error_type, fault.message or default)


def stream_error_frame(fault: FaultRule) -> bytes:
    """The ``event: error`` SSE event for an injected ``stream_exception`` fault."""
    error_type = STREAM_ERROR_TYPES.get(fault.exception, API_ERROR)
    default = OVERLOADED_MESSAGE if error_type == OVERLOADED else STREAM_EXCEPTIONS[fault.exception]
    payload = {"type": "error", "error": {"type": error_type, "message": fault.message or default}}
    return f"event: error\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode("utf-8")
