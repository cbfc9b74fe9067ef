"""Map Bedrock failures to the gateway's neutral error kinds.

Statuses per ARCHITECTURE.md: validation 400, access denied 403 (model access
must be enabled in the Bedrock console), not found 404, throttling 429 with
Retry-After, model timeout 504, unavailable 503, anything else 502. An id from
the gateway's own configuration that Bedrock refuses is a 502 too (config_rejected).
"""

from __future__ import annotations

import re

from kong_plugins.formats.errors import ErrorKind

_BY_TYPE: dict[str, ErrorKind] = {
    "ValidationException": ErrorKind.INVALID_REQUEST,
    "SerializationException": ErrorKind.INVALID_REQUEST,   # a body Bedrock cannot read (JSON nested past 500 levels)
    "AccessDeniedException": ErrorKind.PERMISSION,
    "ResourceNotFoundException": ErrorKind.MODEL_NOT_FOUND,
    "ThrottlingException": ErrorKind.RATE_LIMITED,
    "ServiceQuotaExceededException": ErrorKind.RATE_LIMITED,
    "ModelNotReadyException": ErrorKind.UNAVAILABLE,
    "ModelTimeoutException": ErrorKind.TIMEOUT,
    "ServiceUnavailableException": ErrorKind.UNAVAILABLE,
}

_MESSAGES: dict[ErrorKind, str] = {
    ErrorKind.PERMISSION: "Bedrock denied access to this model; model access must be enabled for it "
                          "in the Amazon Bedrock console (or the gateway's IAM role lacks permission).",
    ErrorKind.RATE_LIMITED: "Bedrock is throttling requests for this model; retry after a short wait.",
    ErrorKind.TIMEOUT: "The model did not answer in time.",
    ErrorKind.UNAVAILABLE: "Bedrock is temporarily unavailable.",
    ErrorKind.UPSTREAM_ERROR: "Bedrock returned an unexpected error.",
}

_GUARDRAIL_MESSAGES: dict[ErrorKind, str] = {
    ErrorKind.PERMISSION: "Bedrock denied the gateway access to this guardrail (its IAM role needs "
                          "bedrock:ApplyGuardrail on it).",
    ErrorKind.RATE_LIMITED: "Bedrock is throttling ApplyGuardrail requests; retry after a short wait.",
}


_MANTLE_TYPES = {
    "invalid_request_error": "ValidationException", "request_too_large": "ValidationException",
    "authentication_error": "AccessDeniedException", "permission_error": "AccessDeniedException",
    "not_found_error": "ResourceNotFoundException", "rate_limit_error": "ThrottlingException",
    "overloaded_error": "ServiceUnavailableException", "timeout_error": "ModelTimeoutException",
    "api_error": "InternalServerException",
}


NATIVE_STATUS: dict[str, int] = {
    "ValidationException": 400, "SerializationException": 400, "ServiceQuotaExceededException": 400,
    "AccessDeniedException": 403, "ModelTimeoutException": 408, "ModelErrorException": 424, "ThrottlingException": 429,
    "ModelNotReadyException": 429, "InternalServerException": 500, "ServiceUnavailableException": 503,
}
"""Bedrock Runtime's own status for the errors it models (botocore's service model). A Bedrock-native client
gets Bedrock's error type with it, so its SDK raises the class it would against Bedrock and retries (or not)
as it would: botocore retries a 502 or 504, not ModelErrorException's 424 or ModelTimeoutException's 408."""


def mantle_error_type(anthropic_type: str | None) -> str:
    """Bedrock Mantle answers errors in Anthropic's format; name them as Bedrock would."""
    return _MANTLE_TYPES.get(anthropic_type or "", "InternalServerException")


def error_type(header_value: str | None) -> str:
    """botocore's rule: the part before the first ':' and after the last '#'."""
    if not header_value:
        return ""
    return header_value.split(":", 1)[0].rsplit("#", 1)[-1]


def kind_for(bedrock_error_type: str, status: int) -> ErrorKind:
    kind = _BY_TYPE.get(bedrock_error_type)
    if kind is not None:
        return kind
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in (408, 504):
        return ErrorKind.TIMEOUT
    if status == 503:
        return ErrorKind.UNAVAILABLE
    return ErrorKind.UPSTREAM_ERROR


CREDENTIAL_ERRORS = frozenset({"UnrecognizedClientException", "InvalidSignatureException",
                               "ExpiredTokenException", "MissingAuthenticationTokenException"})
"""Bedrock refused the gateway's own AWS credentials: an operator problem, not the client's."""


_CONFIG_REJECTED = re.compile(
    r"the provided model identifier is invalid\.?|the provided model doesn.t support on-demand throughput\.?"
    r"|invocation of model id [^\s\[\]]+ with on-demand throughput isn.t supported\. retry your request with the id"
    r" or arn of an inference profile that contains this model\.?")
"""Bedrock's whole sentences for a model id it does not take (a typo, a base id where a profile is needed, a
deleted profile; an earlier wording of the second, reported from ConverseStream in 2024). The gateway sends only
model ids from its own configuration, so these are the operators'. Compared with runs of white space as one space.
Whole sentences, not words found anywhere: Bedrock's refusals of a body quote the client's keys and values
("Malformed input request: #: extraneous key [...]"), and a client that wrote "inference profile" there set off
the operators' alert, a call to the fallback model and a 502, and had its text (a card number) logged."""
_GUARDRAIL_REJECTED = re.compile(r"the guardrail identifier or version provided in the request does not exist\.?")
"""The same for a guardrail: the operators' only when the role's guardrail rode on the call. A Bedrock-native
client of a role without one may name its own, and a wrong one is that client's 400 (it used to be a 502, a
critical alert and a call to the fallback model, which any developer could set off)."""


def config_rejected(upstream_type: str, upstream_message: str | None, gateway_guardrail: bool = False, *,
                    names_model: bool = True) -> bool:
    """Bedrock refused an id the gateway's configuration chose, not anything the client sent. `names_model`:
    the call names a model from the configuration (ApplyGuardrail names only a guardrail, the client's unless
    `gateway_guardrail`)."""
    if upstream_type == "ResourceNotFoundException":
        return names_model or gateway_guardrail
    text = " ".join((upstream_message or "").split()).lower()
    return upstream_type == "ValidationException" and ((names_model and _CONFIG_REJECTED.fullmatch(text) is not None)
                                                       or (gateway_guardrail and _GUARDRAIL_REJECTED.fullmatch(text)
                                                           is not None))


def client_message(kind: ErrorKind, upstream_message: str | None, upstream_type: str = "", *,
                   names_model: bool = True) -> str:
    """What the client is told. Validation messages are Bedrock's own wording
    (clients such as Claude Code match on it); the others are ours (`names_model`: about a model's call, else
    about ApplyGuardrail's)."""
    if upstream_type in CREDENTIAL_ERRORS:
        return "Bedrock rejected the gateway's AWS credentials (check the gateway's IAM role or keys)."
    if kind in (ErrorKind.INVALID_REQUEST, ErrorKind.MODEL_NOT_FOUND) and upstream_message:
        return upstream_message[:1000]
    if not names_model and kind in _GUARDRAIL_MESSAGES:
        return _GUARDRAIL_MESSAGES[kind]
    return _MESSAGES.get(kind, "Bedrock returned an unexpected error.")
