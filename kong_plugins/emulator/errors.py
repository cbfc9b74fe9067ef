"""Bedrock error shapes: one exception type carrying what the wire needs (status, type, message).

Raised anywhere in request handling; the HTTP handler turns it into the JSON error body and
``x-amzn-ErrorType`` header that botocore parses into ``ClientError``.
"""

from __future__ import annotations

from typing import Any

ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

MSG_INVALID_MODEL = "The provided model identifier is invalid."
MSG_BAD_TOKEN = "The security token included in the request is invalid."
MSG_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
MSG_MISSING_AUTH = "Missing Authentication Token"
MSG_TOOLCONFIG_REQUIRED = (
    "The toolConfig field must be defined when using toolUse and toolResult content blocks."
)
MSG_NO_TOOL_USE = "This model doesn't support tool use."
MSG_NO_COUNT_TOKENS = "The provided model doesn't support counting tokens."
MSG_INPUT_TOO_LONG = "Input is too long for requested model."


class BedrockError(Exception):
    """An error response as Bedrock sends it: HTTP status, error type name, message (+ extra fields)."""

    def __init__(self, status: int, error_type: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}

    def header_value(self) -> str:
        return f"{self.error_type}{ERROR_TYPE_SUFFIX}"

    def response_headers(self) -> dict[str, str]:
        """Error-specific response headers (subclasses for other wire formats override this)."""
        return {"x-amzn-ErrorType": self.header_value()}


def validation(message: str) -> BedrockError:
    return BedrockError(400, "ValidationException", message)


def constraint(value: Any, where: str, rule: str) -> str:
    """One of Bedrock's "failed to satisfy constraint" findings (see `validation_errors`)."""
    return f"Value '{value}' at '{where}' failed to satisfy constraint: {rule}"


def validation_errors(findings: list[str]) -> BedrockError:
    """Bedrock's "N validation error(s) detected: ..." for its members' constraint findings."""
    count = f"{len(findings)} validation error{'s' if len(findings) > 1 else ''} detected: "
    return validation(count + "; ".join(findings))


def malformed(detail: str) -> BedrockError:
    """Bedrock's wording for schema violations of an InvokeModel body."""
    return validation(f"Malformed input request: {detail}, please reformat your input and try again.")


def on_demand_not_supported(model_id: str) -> BedrockError:
    return validation(
        f"Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your "
        "request with the ID or ARN of an inference profile that contains this model."
    )


def unrecognized_client() -> BedrockError:
    return BedrockError(403, "UnrecognizedClientException", MSG_BAD_TOKEN)


def invalid_signature(message: str = MSG_BAD_SIGNATURE) -> BedrockError:
    return BedrockError(403, "InvalidSignatureException", message)


def incomplete_signature(message: str) -> BedrockError:
    return BedrockError(403, "IncompleteSignatureException", message)


def missing_auth() -> BedrockError:
    return BedrockError(403, "MissingAuthenticationTokenException", MSG_MISSING_AUTH)


def unknown_operation() -> BedrockError:
    return BedrockError(404, "UnknownOperationException", "Unknown operation")
