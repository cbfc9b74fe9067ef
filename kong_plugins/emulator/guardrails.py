"""Amazon Bedrock Guardrails applied at inference time: a registry, request validation, assessment.

Converse/ConverseStream name the guardrail in the body (``guardrailConfig``); InvokeModel and its
stream in ``X-Amzn-Bedrock-Guardrail*`` headers. A guardrail that blocks the input stops the
request before the model runs (no reply, no prompt-cache traffic) and answers with its
blocked-input message, so a gateway's guardrail plumbing is exercised without an AWS account.
Only the last user turn's text is assessed (not tool results, not the system prompt): that is
what the gateway's tests drive. The model's text answer is assessed against the topics a
guardrail denies on output (Bedrock's denied topics can be enabled for input, output or both):
one found there replaces the answer with the guardrail's blocked-output message, while the
output tokens the model generated are still reported, as Bedrock bills them.

With trace on, every assessment carries ``invocationMetrics``: the text units each policy
processed (``usage``, Bedrock's GuardrailUsage; a text unit is up to 1,000 characters), the
characters guarded, and the processing latency. That is the only place Bedrock reports the
units it bills a guardrail by.

Two guardrails exist: ``gwdemoguard1`` denies topics, ``gwpiimask1`` anonymizes e-mail addresses (which only
ApplyGuardrail models: see apply_guardrail.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from .cache import InputUsage
from .errors import constraint, validation, validation_errors
from .generator import Reply, ReplyBlock

IDENTIFIER_PATTERN = r"^(([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))$"
VERSION_PATTERN = r"^(([1-9][0-9]{0,7})|(DRAFT))$"
CONVERSE_TRACE = ("enabled", "disabled", "enabled_full")
INVOKE_TRACE = ("ENABLED", "DISABLED", "ENABLED_FULL")
STREAM_MODES = ("sync", "async")
IDENTIFIER_HEADER = "X-Amzn-Bedrock-GuardrailIdentifier"
VERSION_HEADER = "X-Amzn-Bedrock-GuardrailVersion"
TRACE_HEADER = "X-Amzn-Bedrock-Trace"
MSG_NOT_FOUND = "The guardrail identifier or version provided in the request does not exist."
TEXT_UNIT_CHARS = 1000
USAGE_FIELDS = ("topicPolicyUnits", "contentPolicyUnits", "wordPolicyUnits", "sensitiveInformationPolicyUnits",
                "sensitiveInformationPolicyFreeUnits", "contextualGroundingPolicyUnits")
"""GuardrailUsage's required members (botocore's service model)."""
MSG_HEADER_PAIR = ("Both the guardrail identifier and the guardrail version must be provided "
                   f"({IDENTIFIER_HEADER} and {VERSION_HEADER}).")  # the emulator's wording


@dataclass(frozen=True)
class DeniedTopic:
    """A denied topic, detected by whole words (case-insensitive) in the assessed text."""

    name: str
    words: tuple[str, ...]

    def matches(self, text: str) -> bool:
        return re.search(rf"\b({'|'.join(map(re.escape, self.words))})\b", text, re.IGNORECASE) is not None


@dataclass(frozen=True)
class MaskedEntity:
    """A PII entity type a sensitive-information policy anonymizes: found by `pattern`, replaced by `{TYPE}`."""

    type: str
    pattern: str


@dataclass(frozen=True)
class Guardrail:
    identifier: str
    versions: frozenset[str]
    blocked_input_message: str
    topics: tuple[DeniedTopic, ...] = ()
    billed: tuple[str, ...] = ("topicPolicyUnits",)
    """The usage members its policies bill (a denied-topic policy: topic units)."""
    output_topics: tuple[DeniedTopic, ...] = ()
    """Topics denied in the model's answer only (input disabled, output enabled)."""
    blocked_outputs_message: str = "Sorry, the model cannot answer this."
    masked: tuple[MaskedEntity, ...] = ()
    """Sensitive information its policy anonymizes (modelled on ApplyGuardrail only: apply_guardrail.py)."""


GUARDRAILS: dict[str, Guardrail] = {g.identifier: g for g in (
    Guardrail("gwdemoguard1", frozenset({"1", "DRAFT"}), "Sorry, this request is not allowed by the shop's AI policy.",
              (DeniedTopic("Competitors", ("competitor", "competitors", "rival")),),
              output_topics=(DeniedTopic("Supplier margins", ("margin", "margins", "markup")),),
              blocked_outputs_message="Sorry, this answer was withheld by the shop's AI policy."),
    Guardrail("gwpiimask1", frozenset({"1", "DRAFT"}), "Sorry, this request holds personal data.",
              billed=("sensitiveInformationPolicyUnits",),
              masked=(MaskedEntity("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),)),
)}


class Headers(Protocol):
    """What the handler's request headers offer (case-insensitive lookup)."""

    def get(self, name: str, default: None = None, /) -> str | None: ...


@dataclass(frozen=True)
class GuardrailCheck:
    """The guardrail a request named, its trace setting, and what it found in the input."""

    guardrail: Guardrail
    trace: bool = False
    blocked_topics: tuple[DeniedTopic, ...] = field(default=())
    assessed_chars: int = 0
    blocked_output_topics: tuple[DeniedTopic, ...] = field(default=())

    @property
    def intervened(self) -> bool:
        """It blocked the input: the model never ran."""
        return bool(self.blocked_topics)

    @property
    def action(self) -> str:
        """``amazon-bedrock-guardrailAction`` of an InvokeModel answer."""
        return "INTERVENED" if self.blocked_topics or self.blocked_output_topics else "NONE"

    def assess(self, last_user_text: str) -> "GuardrailCheck":
        topics = tuple(t for t in self.guardrail.topics if t.matches(last_user_text))
        return GuardrailCheck(self.guardrail, self.trace, topics, len(last_user_text))

    def assess_output(self, answer: str) -> "GuardrailCheck":
        return replace(self, blocked_output_topics=tuple(t for t in self.guardrail.output_topics if t.matches(answer)))

    def blocked_reply(self, stop_reason: str) -> Reply:
        """The guardrail's answer in place of the model's: its message, zero tokens in and out."""
        block = ReplyBlock("text", [self.guardrail.blocked_input_message], tokens=0)
        return Reply([block], stop_reason, None, InputUsage(0))

    def blocked_output_reply(self, reply: Reply, stop_reason: str) -> Reply:
        """Its message in place of the model's answer; the tokens the model read and generated are still billed."""
        block = ReplyBlock("text", [self.guardrail.blocked_outputs_message], tokens=reply.output_tokens)
        return Reply([block], stop_reason, None, reply.usage)

    def _metrics(self, chars: int) -> dict[str, Any]:
        return invocation_metrics(self.guardrail, chars, text_units(chars))

    def _assessment(self, chars: int, blocked: tuple[DeniedTopic, ...]) -> dict[str, Any]:
        assessment: dict[str, Any] = {"invocationMetrics": self._metrics(chars)}
        if blocked:
            assessment["topicPolicy"] = {"topics": [{"name": t.name, "type": "DENY", "action": "BLOCKED",
                                                     "detected": True} for t in blocked]}
        return assessment

    def _input_assessment(self) -> dict[str, Any]:
        return {self.guardrail.identifier: self._assessment(self.assessed_chars, self.blocked_topics)}

    def _output_assessment(self, output_text: str) -> dict[str, Any]:
        return self._assessment(len(output_text), self.blocked_output_topics)

    def converse_trace(self, output_text: str | None) -> dict[str, Any] | None:
        """Converse's ``trace`` member (keyed by the guardrail's id, also when it was named by ARN);
        ``output_text``: the model's answer (None when the input was blocked: no model ran)."""
        if not self.trace:
            return None
        trace: dict[str, Any] = {"inputAssessment": self._input_assessment()}
        if output_text is not None:
            trace["outputAssessments"] = {self.guardrail.identifier: [self._output_assessment(output_text)]}
        return {"guardrail": trace}

    def invoke_fields(self, output_text: str | None) -> dict[str, Any]:
        """The ``amazon-bedrock-*`` fields a Claude InvokeModel body (or last stream chunk) carries."""
        fields: dict[str, Any] = {"amazon-bedrock-guardrailAction": self.action}
        if self.trace:
            trace: dict[str, Any] = {"input": self._input_assessment()}
            if output_text is not None:
                trace["outputs"] = [{self.guardrail.identifier: self._output_assessment(output_text)}]
            fields["amazon-bedrock-trace"] = {"guardrail": trace}
        return fields


def text_units(*chars: int) -> int:
    """Text units of texts of these lengths: a unit is up to 1,000 characters of one text."""
    return sum(-(-count // TEXT_UNIT_CHARS) for count in chars)


def invocation_metrics(guardrail: Guardrail, chars: int, units: int) -> dict[str, Any]:
    """An assessment's ``invocationMetrics``: `units` text units billed to each policy the guardrail has."""
    return {"guardrailProcessingLatency": 1,
            "usage": billed_usage(guardrail, units),
            "guardrailCoverage": {"textCharacters": {"guarded": chars, "total": chars}}}


def billed_usage(guardrail: Guardrail, units: int) -> dict[str, int]:
    """GuardrailUsage: `units` for each policy the guardrail has, 0 for the others."""
    return {name: units if name in guardrail.billed else 0 for name in USAGE_FIELDS}


def _pattern_error(where: str, value: str | None, pattern: str) -> list[str]:
    if value is None or re.fullmatch(pattern, value):
        return []
    return [constraint(value, where, f"Member must satisfy regular expression pattern: {pattern}")]


def _enum_error(where: str, value: str | None, allowed: tuple[str, ...]) -> list[str]:
    if value is None or value in allowed:
        return []
    return [constraint(value, where, f"Member must satisfy enum value set: [{', '.join(allowed)}]")]


def _raise_if_any(errors: list[str]) -> None:
    if errors:
        raise validation_errors(errors)


def find(identifier: str, version: str) -> Guardrail | None:
    """The guardrail an id or ARN names, at a version it has."""
    guardrail = GUARDRAILS.get(identifier.rpartition(":guardrail/")[2] if identifier.startswith("arn:") else identifier)
    return guardrail if guardrail is not None and version in guardrail.versions else None


def _lookup(identifier: str, version: str, trace: bool) -> GuardrailCheck:
    guardrail = find(identifier, version)
    if guardrail is None:
        raise validation(MSG_NOT_FOUND)
    return GuardrailCheck(guardrail, trace)


def from_converse(body: Any, streaming: bool) -> GuardrailCheck | None:
    """Validate ``guardrailConfig`` of a Converse (``streaming``: ConverseStream) body."""
    config = body.get("guardrailConfig") if isinstance(body, dict) else None
    if config is None:
        return None
    if not isinstance(config, dict) or not all(isinstance(v, str) for v in config.values()):
        raise validation("guardrailConfig must be an object of string members.")   # the emulator's wording
    identifier, version, trace = config.get("guardrailIdentifier"), config.get("guardrailVersion"), config.get("trace")
    errors = [f"Value null at 'guardrailConfig.{name}' failed to satisfy constraint: Member must not be null"
              for name in ("guardrailIdentifier", "guardrailVersion") if config.get(name) is None]
    errors += _pattern_error("guardrailConfig.guardrailIdentifier", identifier, IDENTIFIER_PATTERN)
    errors += _pattern_error("guardrailConfig.guardrailVersion", version, VERSION_PATTERN)
    errors += _enum_error("guardrailConfig.trace", trace, CONVERSE_TRACE)
    if streaming:
        errors += _enum_error("guardrailConfig.streamProcessingMode", config.get("streamProcessingMode"), STREAM_MODES)
    _raise_if_any(errors)
    assert identifier is not None and version is not None
    return _lookup(identifier, version, trace in ("enabled", "enabled_full"))


def from_headers(headers: Headers | None) -> GuardrailCheck | None:
    """Validate the InvokeModel guardrail headers; None when the request names no guardrail."""
    if headers is None:
        return None
    identifier, version, trace = (headers.get(IDENTIFIER_HEADER), headers.get(VERSION_HEADER),
                                  headers.get(TRACE_HEADER))
    _raise_if_any(_pattern_error("guardrailIdentifier", identifier, IDENTIFIER_PATTERN)
                  + _pattern_error("guardrailVersion", version, VERSION_PATTERN)
                  + _enum_error("trace", trace, INVOKE_TRACE))
    if identifier is None and version is None:
        return None
    if identifier is None or version is None:
        raise validation(MSG_HEADER_PAIR)
    return _lookup(identifier, version, trace in ("ENABLED", "ENABLED_FULL"))
