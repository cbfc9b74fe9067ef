"""Fault injection rules: Bedrock's error responses, slow answers, resets, broken and stalled streams.

Rules are checked in insertion order; the first matching rule is consumed (``count`` times,
-1 = until cleared). Stream-only faults never match non-streaming operations.
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import asdict, dataclass
from typing import Any

from kong_plugins.bedrock.eventstream import exception_frame
from .errors import MSG_INPUT_TOO_LONG, BedrockError
from .eventstream import error_frame

OPERATIONS = ("invoke", "invoke-with-response-stream", "converse", "converse-stream", "count-tokens",
              "mantle-messages", "mantle-count-tokens", "apply-guardrail")
STREAM_OPERATIONS = frozenset({"invoke-with-response-stream", "converse-stream"})
# Operations that stream or not depending on the request body (Mantle's ``"stream": true``).
STREAM_CAPABLE_OPERATIONS = STREAM_OPERATIONS | {"mantle-messages"}

HTTP_FAULTS: dict[str, tuple[int, str, str]] = {
    "throttle": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "internal": (500, "InternalServerException",
                 "The system encountered an unexpected error during processing. Try your request again."),
    "unavailable": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    "model_timeout": (408, "ModelTimeoutException",
                      "Model has timed out in processing the request. Try your request again."),
    "model_not_ready": (429, "ModelNotReadyException",
                        "Model is not ready to serve inference requests. Try your request again."),
    "access_denied": (403, "AccessDeniedException",
                      "You don't have access to the model with the specified model ID."),
    "validation": (400, "ValidationException", MSG_INPUT_TOO_LONG),
    "quota": (400, "ServiceQuotaExceededException", "Too many tokens, please wait before trying again."),
    "model_error": (424, "ModelErrorException", "The model returned an error. Try your request again."),
}
STREAM_FAULTS = frozenset({"stream_exception", "stream_reset", "malformed_frame", "stall"})
"""`stall`: after `after_events` events the stream is silent for `delay_s` seconds, then goes on (extended
thinking's long gaps, which the relay fills with keep-alive pings). On an event stream, any stream fault may open
it with `empty_frames` events that say nothing, and `stream_exception` may be a generic error frame (`error_code`,
with `message` as its `:error-message`) in place of an exception frame. On Mantle's SSE, `empty_frames` comes just
before a `stream_exception`'s `event: error` as a comment line and that many `ping` events (emulator.mantle)."""
OTHER_FAULTS = frozenset({"slow", "reset"})
FAULT_TYPES = frozenset(HTTP_FAULTS) | STREAM_FAULTS | OTHER_FAULTS
MAX_EMPTY_FRAMES = 10_000

STREAM_EXCEPTIONS: dict[str, str] = {
    "throttlingException": "Too many requests, please wait before trying again.",
    "modelStreamErrorException": "The model stream encountered an error. Try your request again.",
    "internalServerException":
        "The system encountered an unexpected error during processing. Try your request again.",
    "serviceUnavailableException": "Bedrock is unable to process your request.",
    "validationException": MSG_INPUT_TOO_LONG,
    "modelTimeoutException": "Model has timed out in processing the request. Try your request again.",
}


@dataclass
class FaultRule:
    id: int
    type: str
    count: int = 1
    model: str | None = None
    operation: str | None = None
    delay_s: float = 0.0
    after_events: int = 1
    exception: str = "throttlingException"
    message: str | None = None
    mid_frame: bool = False   # stream_reset: half of the next frame goes out before the connection drops
    error_code: str | None = None   # stream_exception: an `:error-code` error frame, not an exception frame
    empty_frames: int = 0           # events that say nothing, before the stream's first
    hits: int = 0

    @property
    def stream_only(self) -> bool:
        return self.type in STREAM_FAULTS

    def matches(self, operation: str, model_id: str, streaming: bool | None = None) -> bool:
        if self.operation and self.operation != operation:
            return False
        is_stream = operation in STREAM_OPERATIONS if streaming is None else streaming
        if self.stream_only and not is_stream:
            return False
        return not self.model or self.model in model_id

    def http_error(self) -> BedrockError:
        status, error_type, message = HTTP_FAULTS[self.type]
        return BedrockError(status, error_type, self.message or message)

    def stream_error(self) -> bytes:
        """The event-stream frame of a `stream_exception`: Bedrock's exception frame, or the generic error frame
        `error_code` names."""
        if self.error_code is not None:
            return error_frame(self.error_code, self.message or "The stream failed.")
        return exception_frame(self.exception, self.exception_payload())

    def exception_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"message": self.message or STREAM_EXCEPTIONS[self.exception]}
        if self.exception == "modelStreamErrorException":
            payload.update(originalStatusCode=500, originalMessage=payload["message"])
        return payload

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _number(spec: dict[str, Any], key: str, default: float, *, integer: bool = False) -> Any:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (integer and int(value) != value):
        raise ValueError(f"{key} must be {'an integer' if integer else 'a number'}")
    return int(value) if integer else float(value)


def build_rule(rule_id: int, spec: Any) -> FaultRule:
    """Validate a POST /_emulator/faults body; ValueError carries the client-facing reason."""
    if not isinstance(spec, dict):
        raise ValueError("fault must be a JSON object")
    known = {"type", "count", "model", "operation", "delay_s", "after_events", "exception", "message", "mid_frame",
             "error_code", "empty_frames"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in FAULT_TYPES:
        raise ValueError(f"type must be one of: {', '.join(sorted(FAULT_TYPES))}")
    count = _number(spec, "count", 1, integer=True)
    if count == 0 or count < -1:
        raise ValueError("count must be >= 1, or -1 for until cleared")
    operation = spec.get("operation")
    if operation is not None and operation not in OPERATIONS:
        raise ValueError(f"operation must be one of: {', '.join(OPERATIONS)}")
    if kind in STREAM_FAULTS and operation is not None and operation not in STREAM_CAPABLE_OPERATIONS:
        raise ValueError(f"{kind} only applies to streaming operations")
    exception = spec.get("exception", "throttlingException")
    if not isinstance(exception, str) or exception not in STREAM_EXCEPTIONS:
        raise ValueError(f"exception must be one of: {', '.join(sorted(STREAM_EXCEPTIONS))}")
    for key in ("model", "message", "error_code"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise ValueError(f"{key} must be a string")
    if not isinstance(spec.get("mid_frame", False), bool):
        raise ValueError("mid_frame must be a boolean")
    delay = _number(spec, "delay_s", 0.0)
    after = _number(spec, "after_events", 1, integer=True)
    empty = _number(spec, "empty_frames", 0, integer=True)
    if delay < 0 or after < 0 or not 0 <= empty <= MAX_EMPTY_FRAMES:
        raise ValueError(f"delay_s and after_events must be >= 0, empty_frames 0 to {MAX_EMPTY_FRAMES}")
    return FaultRule(rule_id, kind, count, spec.get("model"), operation, delay, after, exception,
                     spec.get("message"), bool(spec.get("mid_frame")), spec.get("error_code"), empty)


class FaultBook:
    """Thread-safe ordered list of fault rules."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: Any) -> FaultRule:
        with self._lock:
            rule = build_rule(next(self._ids), spec)
            self._rules.append(rule)
            return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in self._rules]

    def take(self, operation: str, model_id: str, streaming: bool | None = None) -> FaultRule | None:
        """The first matching rule, with one use consumed (exhausted rules are dropped).

        ``streaming`` overrides the operation's own kind (Mantle streams per request body).
        """
        with self._lock:
            for rule in self._rules:
                if rule.matches(operation, model_id, streaming):
                    rule.hits += 1
                    if rule.count > 0 and rule.hits >= rule.count:
                        self._rules.remove(rule)
                    return rule
        return None
