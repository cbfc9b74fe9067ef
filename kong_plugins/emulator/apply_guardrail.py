"""ApplyGuardrail (``POST /guardrail/{id}/version/{version}/apply``): a guardrail judges content, no model.

The verdict is the inference-time guardrails' (guardrails.py): text from ``source: INPUT`` is judged against
the topics a guardrail denies in prompts, ``OUTPUT`` against those it denies in answers, and a guardrail with a
sensitive-information policy anonymizes what it finds (``{EMAIL}``). A denied topic blocks: the action is
``GUARDRAIL_INTERVENED`` and ``outputs`` holds the guardrail's blocked message; a masking intervenes too, with
``outputs`` holding the masked texts; otherwise the action is ``NONE`` and ``outputs`` is empty (all the texts
with ``outputScope: FULL``). ``usage``, what Bedrock bills the call by, holds one text unit per started 1,000
characters of each text block for each policy the guardrail has. Images are validated, counted and not judged.
The guardrail is looked up after the request is validated; an unknown one is a ResourceNotFoundException.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .errors import BedrockError, validation
from .guardrails import (IDENTIFIER_PATTERN, MSG_NOT_FOUND, VERSION_PATTERN, Guardrail, _enum_error, _pattern_error,
                         _raise_if_any, billed_usage, find, invocation_metrics, text_units)
from .operations import _parse_json
from .responses import JsonResponse

OPERATION = "apply-guardrail"
PATH = re.compile(r"^/guardrail/(?P<identifier>[^/]+)/version/(?P<version>[^/]+)/apply$")
SOURCES = ("INPUT", "OUTPUT")
SCOPES = ("INTERVENTIONS", "FULL")
QUALIFIERS = ("grounding_source", "query", "guard_content")
IMAGE_FORMATS = ("png", "jpeg")
MSG_ONE_MEMBER = "Only one member of a content block can be set: text or image."   # the emulator's wording
MSG_NOT_OBJECT = "The request body must be a JSON object."   # the emulator's wording


@dataclass(frozen=True)
class ApplyRequest:
    """A validated ApplyGuardrail request."""

    guardrail: Guardrail
    source: str
    texts: tuple[str, ...]
    images: int
    full: bool   # outputScope FULL: every text in outputs, not only interventions


def route(path: str) -> tuple[str, str] | None:
    """(guardrail identifier, version) of an ApplyGuardrail path, percent-decoded; None for any other path."""
    match = PATH.match(path)
    return (unquote(match.group("identifier")), unquote(match.group("version"))) if match else None


def prepare(identifier: str, version: str, body: bytes) -> ApplyRequest:
    """Validate the path and body as Bedrock does, then find the guardrail; raises BedrockError."""
    errors = (_pattern_error("guardrailIdentifier", identifier, IDENTIFIER_PATTERN)
              + _pattern_error("guardrailVersion", version, VERSION_PATTERN))
    parsed = _parse_json(body, OPERATION)
    if not isinstance(parsed, dict):
        raise BedrockError(400, "SerializationException", MSG_NOT_OBJECT)
    source, content, scope = parsed.get("source"), parsed.get("content"), parsed.get("outputScope")
    if not all(isinstance(v, str) for v in (source, scope) if v is not None) or \
            (content is not None and not isinstance(content, list)):
        raise BedrockError(400, "SerializationException", "The request body's source, content or outputScope is "
                           "not of its type.")   # the emulator's wording
    errors += [_null(name) for name, value in (("source", source), ("content", content)) if value is None]
    errors += _enum_error("source", source, SOURCES) + _enum_error("outputScope", scope, SCOPES)
    texts, images = _content(content or [], errors)
    _raise_if_any(errors)
    guardrail = find(identifier, version)
    if guardrail is None:
        raise BedrockError(404, "ResourceNotFoundException", MSG_NOT_FOUND)
    assert source is not None
    return ApplyRequest(guardrail, source, tuple(texts), images, scope == "FULL")


def _null(where: str) -> str:
    return f"Value null at '{where}' failed to satisfy constraint: Member must not be null"


def _content(blocks: list[Any], errors: list[str]) -> tuple[list[str], int]:
    """The texts and the number of images of `content`, noting what Bedrock's validation finds in `errors`."""
    texts, images = [], 0
    for index, block in enumerate(blocks, start=1):
        where = f"content.{index}.member"
        if not isinstance(block, dict) or len(block) != 1 or not block.keys() <= {"text", "image"}:
            raise validation(MSG_ONE_MEMBER)
        if "text" in block:
            text = block["text"] if isinstance(block["text"], dict) else {}
            if not isinstance(text.get("text"), str):
                errors.append(_null(f"{where}.text.text"))
                continue
            qualifiers = text.get("qualifiers") or []
            for qualifier in qualifiers if isinstance(qualifiers, list) else [qualifiers]:
                errors += _enum_error(f"{where}.text.qualifiers", str(qualifier), QUALIFIERS)
            texts.append(text["text"])
        else:
            errors += _image_errors(where, block["image"])
            images += 1
    return texts, images


def _image_errors(where: str, image: Any) -> list[str]:
    """What Bedrock's validation finds in an image block: its format and its base64 bytes."""
    image = image if isinstance(image, dict) else {}
    source = image.get("source") if isinstance(image.get("source"), dict) else {}
    image_format, data = image.get("format"), source.get("bytes")
    found = [_null(f"{where}.image.format")] if image_format is None else \
        _enum_error(f"{where}.image.format", str(image_format), IMAGE_FORMATS)
    if not isinstance(data, str) or not data:
        return found + [_null(f"{where}.image.source.bytes")]
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        found.append(f"Value at '{where}.image.source.bytes' failed to satisfy constraint: Member must be base64")
    return found


def execute(request: ApplyRequest) -> JsonResponse:
    """The guardrail's verdict on the texts, as ApplyGuardrail answers it."""
    guardrail = request.guardrail
    topics = guardrail.topics if request.source == "INPUT" else guardrail.output_topics
    blocked = [t for t in topics if any(t.matches(text) for text in request.texts)]
    masked, found = _masked(guardrail, request.texts)
    chars, units = sum(map(len, request.texts)), text_units(*map(len, request.texts))
    assessment: dict[str, Any] = {"invocationMetrics": invocation_metrics(guardrail, chars, units)}
    if blocked:
        assessment["topicPolicy"] = {"topics": [{"name": t.name, "type": "DENY", "action": "BLOCKED",
                                                 "detected": True} for t in blocked]}
    if found:
        assessment["sensitiveInformationPolicy"] = {"piiEntities": found, "regexes": []}
    message = guardrail.blocked_input_message if request.source == "INPUT" else guardrail.blocked_outputs_message
    outputs = [message] if blocked else masked if found or request.full else []
    coverage: dict[str, Any] = {"textCharacters": {"guarded": chars, "total": chars}}
    if request.images:
        coverage["images"] = {"guarded": 0, "total": request.images}
    intervened = bool(blocked or found)
    return JsonResponse({"usage": billed_usage(guardrail, units),
                         "action": "GUARDRAIL_INTERVENED" if intervened else "NONE",
                         "actionReason": "Guardrail blocked." if intervened else "No action.",
                         "outputs": [{"text": text} for text in outputs], "assessments": [assessment],
                         "guardrailCoverage": coverage})


def _masked(guardrail: Guardrail, texts: tuple[str, ...]) -> tuple[list[str], list[dict[str, Any]]]:
    """The texts with each entity the guardrail anonymizes replaced by ``{TYPE}``, and what it found."""
    found: list[dict[str, Any]] = []
    masked = list(texts)
    for entity in guardrail.masked:
        pattern = re.compile(entity.pattern)
        found += [{"match": m.group(0), "type": entity.type, "action": "ANONYMIZED", "detected": True}
                  for text in texts for m in pattern.finditer(text)]
        masked = [pattern.sub("{" + entity.type + "}", text) for text in masked]
    return masked, found
