"""Amazon Bedrock service tiers (Priority, Standard = ``default``, Flex, Reserved): request, checks, echo.

Converse/ConverseStream ask in the body (``serviceTier: {"type": ...}``), InvokeModel and its stream in
the ``X-Amzn-Bedrock-Service-Tier`` header; absent means ``default``. Bedrock reports the tier that
actually served the request (Converse: ``serviceTier`` in the body or the stream's ``metadata`` event;
InvokeModel: the same header on the response), which a gateway bills by. The ``served_tier`` runtime
setting overrides that echo to stand for Bedrock serving another tier than the one asked for.
"""

from __future__ import annotations

from typing import Any

from .errors import constraint, validation, validation_errors
from .guardrails import Headers
from .responses import OperationResult, with_headers

TIERS = ("reserved", "priority", "default", "flex")  # in the order Bedrock's enum message lists them
DEFAULT_TIER = "default"
TIER_HEADER = "X-Amzn-Bedrock-Service-Tier"
STANDARD_ONLY = (DEFAULT_TIER,)
FLEX_AND_PRIORITY = (DEFAULT_TIER, "flex", "priority")
INVOKE_OPERATIONS = ("invoke", "invoke-with-response-stream")
CONVERSE_OPERATIONS = ("converse", "converse-stream")
MSG_TIER_NOT_SUPPORTED = "The provided service tier is not supported for this model."  # Bedrock's text is undocumented
MSG_RESERVATION_NOT_FOUND = "Reservation not found."  # observed Bedrock wording


def _enum_error(value: Any, where: str) -> Exception:
    return validation_errors([constraint(value, where, f"Member must satisfy enum value set: [{', '.join(TIERS)}]")])


def _offered(tier: str, offered: tuple[str, ...]) -> str:
    """Reserved needs a reservation, and the emulator has none; any other tier must be one the model offers."""
    if tier == "reserved":
        raise validation(MSG_RESERVATION_NOT_FOUND)
    if tier not in offered:
        raise validation(MSG_TIER_NOT_SUPPORTED)
    return tier


def from_converse(body: Any, offered: tuple[str, ...]) -> str:
    """The tier a Converse body asks for (``default`` when absent), validated against the model's tiers."""
    config = body.get("serviceTier") if isinstance(body, dict) else None
    if config is None:
        return DEFAULT_TIER
    tier = config.get("type") if isinstance(config, dict) else None
    if tier is None:
        raise validation_errors(["Value null at 'serviceTier.type' failed to satisfy constraint: "
                                 "Member must not be null"])
    if tier not in TIERS:
        raise _enum_error(tier, "serviceTier.type")
    return _offered(tier, offered)


def from_header(headers: Headers | None, offered: tuple[str, ...]) -> str:
    """The tier an InvokeModel header asks for (``default`` when absent), validated like ``from_converse``."""
    tier = headers.get(TIER_HEADER) if headers is not None else None
    if tier is None:
        return DEFAULT_TIER
    if tier not in TIERS:
        raise _enum_error(tier, "serviceTier")
    return _offered(tier, offered)


def requested(operation: str | None, headers: dict[str, str], body: Any) -> Any:
    """What a request named as its tier, unvalidated, for the request log (None: it named none)."""
    if operation in INVOKE_OPERATIONS:
        return headers.get(TIER_HEADER.lower())
    if operation in CONVERSE_OPERATIONS and isinstance(body, dict) and isinstance(body.get("serviceTier"), dict):
        return body["serviceTier"].get("type")
    return None


def served(requested_tier: str | None, override: str | None) -> str | None:
    """The tier that serves (and is echoed for) a validated request: the ``served_tier`` setting wins."""
    if requested_tier is None:  # an operation without tiers (CountTokens)
        return None
    return override or requested_tier


def extra_latency_ms(served_tier: str | None, flex_latency_ms: float) -> float:
    """Flex trades latency for price: its requests wait ``flex_latency_ms`` more."""
    return flex_latency_ms if served_tier == "flex" else 0


def echo(tier: str) -> dict[str, str]:
    """Converse's ``serviceTier`` member (response body and the stream's ``metadata`` event)."""
    return {"type": tier}


def with_header(result: OperationResult, tier: str) -> OperationResult:
    """InvokeModel (and its stream) answer with the served tier in ``X-Amzn-Bedrock-Service-Tier``."""
    return with_headers(result, {TIER_HEADER: tier})
