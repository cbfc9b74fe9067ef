"""Validate a Bedrock Mantle request (first-party Anthropic Messages body) and map it to a Prompt.

Mantle takes the body a first-party Anthropic client sends (``model`` = a Bedrock model id such
as ``anthropic.claude-opus-4-7``, ``stream`` in the body, no ``anthropic_version``; betas and
version in the ``anthropic-beta`` / ``anthropic-version`` headers). After Mantle-specific checks
the body is translated to the InvokeModel shape and validated by ``anthropic_body``, so both
endpoints accept and count the same conversations.

Mantle serves Claude Opus 4.7 and later only; ids are bare (no geo prefix, no ``-v1:0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import jsonbody
from .anthropic_body import ALLOWED_KEYS, ANTHROPIC_VERSION, json_type, parse_anthropic_body
from .errors import BedrockError
from .jsonbody import Unreadable
from .mantle_errors import invalid_request, not_found
from .models import GEO_PREFIXES, resolve_model
from .prompt import Prompt

MESSAGES = "mantle-messages"
COUNT_TOKENS = "mantle-count-tokens"

API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # 2023-06-01 and newer dated versions
MAX_OUTPUT_TOKENS = 128_000
MIN_VERSION = (4, 7)
_VERSIONED_ID = re.compile(
    r"^anthropic\.claude-(?:opus|sonnet|haiku|fable)-(?P<major>\d{1,2})(?:-(?P<minor>\d{1,2}))?$")
EXTRA_MODELS = frozenset({"anthropic.claude-mythos-preview"})

_RUNTIME_KEYS = ALLOWED_KEYS - {"anthropic_version", "anthropic_beta"}
# Accepted but meaningless to the emulator: dropped before the InvokeModel-shape validation.
_PASSIVE_KEYS = frozenset({"model", "stream", "anthropic_version", "user_profile_id", "container",
                           "inference_geo"})
MESSAGE_KEYS = _RUNTIME_KEYS | _PASSIVE_KEYS
COUNT_KEYS = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking", "cache_control",
                        "output_config", "context_management", "anthropic_version", "user_profile_id"})
MSG_THINKING_ENABLED = ("thinking.type.enabled is not supported for this model. Use thinking.type.adaptive "
                        "and output_config.effort to control thinking behavior.")


@dataclass
class MantleRequest:
    """A validated Mantle request, ready to be answered."""

    operation: str  # MESSAGES | COUNT_TOKENS
    model: str
    prompt: Prompt
    stream: bool = False
    betas: list[str] = field(default_factory=list)


def is_mantle_model(model_id: str) -> bool:
    """Opus 4.7 and later (any Claude family at version >= 4.7), bare ids only."""
    if model_id in EXTRA_MODELS:
        return True
    match = _VERSIONED_ID.match(model_id)
    if match is None:
        return False
    return (int(match.group("major")), int(match.group("minor") or 0)) >= MIN_VERSION


def _served_by_runtime(model_id: str) -> bool:
    try:
        resolve_model(model_id, allow_on_demand=True)
    except BedrockError:
        return False
    return True


def check_model(model_id: str) -> None:
    """Raise Mantle's 404 for anything it does not serve (with a hint where one helps)."""
    if is_mantle_model(model_id):
        return
    for prefix in GEO_PREFIXES:
        if model_id.startswith(prefix) and is_mantle_model(model_id[len(prefix):]):
            raise not_found(f"model: {model_id} was not found. bedrock-mantle model ids take no "
                            f"inference-profile prefix: use {model_id[len(prefix):]}")
    if _served_by_runtime(model_id):
        raise not_found(f"model: {model_id} is not served by bedrock-mantle (Claude Opus 4.7 and later "
                        "only); this model is served through bedrock-runtime (InvokeModel / Converse).")
    raise not_found(f"model: {model_id}")


def parse_betas(headers: Mapping[str, str] | Any) -> list[str]:
    """``anthropic-beta`` header(s) as a list (open set: Mantle forwards what it does not know)."""
    values = headers.get_all("anthropic-beta") if hasattr(headers, "get_all") else [headers.get("anthropic-beta")]
    return [b.strip() for value in values or [] if value for b in value.split(",") if b.strip()]


def check_version_header(headers: Mapping[str, str] | Any) -> None:
    version = headers.get("anthropic-version")
    if version is not None and not API_VERSION.match(version.strip()):
        raise invalid_request(f"anthropic-version: {version!r} is not a valid version. Use 2023-06-01.")


def _parse_json(raw: bytes) -> Any:
    try:
        return jsonbody.loads(raw.decode("utf-8"))
    except Unreadable as error:
        raise invalid_request(f"There was an issue with the formatting of your request: {error}.") from None
    except (ValueError, UnicodeDecodeError):
        raise invalid_request("There was an issue with the formatting of your request: the body is not "
                              "valid JSON.") from None


def _integer(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if key not in body:
        raise invalid_request(f"{key}: Field required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"{key}: Input should be a valid integer")
    if value < 1:
        raise invalid_request(f"{key}: Input should be greater than or equal to 1")
    return value


def _check_shape(body: Any, count: bool) -> tuple[str, bool]:
    """Top-level checks with Anthropic's wording; returns (model, stream)."""
    if not isinstance(body, dict):
        raise invalid_request(f"Input should be a valid dictionary (got {json_type(body)})")
    allowed = COUNT_KEYS if count else MESSAGE_KEYS
    for key in body:
        if key not in allowed:
            raise invalid_request(f"{key}: Extra inputs are not permitted")
    model = body.get("model")
    if "model" not in body:
        raise invalid_request("model: Field required")
    if not isinstance(model, str) or not model:
        raise invalid_request("model: Input should be a valid string")
    if "messages" not in body:
        raise invalid_request("messages: Field required")
    if not isinstance(body["messages"], list):
        raise invalid_request("messages: Input should be a valid list")
    version = body.get("anthropic_version")
    if version is not None and not (isinstance(version, str) and API_VERSION.match(version)):
        raise invalid_request(f"anthropic_version: {version!r} is not a valid version. Use the "
                              "anthropic-version header (2023-06-01).")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise invalid_request("stream: Input should be a valid boolean")
    if not count:
        _integer(body, "max_tokens")
    return model, stream


def _strip_bedrock_wording(message: str) -> str:
    prefix, suffix = "Malformed input request: ", ", please reformat your input and try again."
    return message.removeprefix(prefix).removesuffix(suffix)


def prepare_mantle(operation: str, raw: bytes, headers: Mapping[str, str] | Any) -> MantleRequest:
    """Validate headers and body; raises MantleError (400 / 404) like Mantle would."""
    check_version_header(headers)
    betas = parse_betas(headers)
    body = _parse_json(raw)
    count = operation == COUNT_TOKENS
    model, stream = _check_shape(body, count)
    check_model(model)
    max_tokens = MAX_OUTPUT_TOKENS if count else body["max_tokens"]
    if max_tokens > MAX_OUTPUT_TOKENS:
        raise invalid_request(f"max_tokens: {max_tokens} > {MAX_OUTPUT_TOKENS}, which is the maximum allowed "
                              f"number of output tokens for {model}")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        raise invalid_request(MSG_THINKING_ENABLED)
    translated = {k: v for k, v in body.items() if k in _RUNTIME_KEYS}
    translated.update(anthropic_version=ANTHROPIC_VERSION, max_tokens=max_tokens)
    try:
        prompt = parse_anthropic_body(translated)
    except BedrockError as error:
        raise invalid_request(_strip_bedrock_wording(error.message)) from None
    return MantleRequest(operation, model, prompt, stream and not count, betas)


def logged_model(raw: bytes) -> str | None:
    """Best-effort ``model`` of a request body, for the request log (before validation)."""
    try:
        body = jsonbody.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None
