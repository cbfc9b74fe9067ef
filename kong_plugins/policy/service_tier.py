"""Amazon Bedrock service tiers: which tier a call runs on, by role policy and the client's ask.

Bedrock serves a call on the Standard tier (`default`), or on `priority` (faster, at a
premium), `flex` (slower, at a discount) or `reserved` (capacity bought ahead) when the
request says so: a Converse body's `serviceTier.type`, an InvokeModel header. A role says
which tiers its keys may ask for and which one its calls run on when they ask for none;
the client asks in its own format (OpenAI `service_tier`, Anthropic `service_tier`,
Bedrock's own header or body member). Pure: no Kong, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from kong_plugins.formats.body import RequestError

DEFAULT = "default"
TIERS = ("default", "flex", "priority", "reserved")
"""Bedrock's ServiceTier.type values (`default` is the Standard tier)."""
HEADER = "X-Amzn-Bedrock-Service-Tier"
"""InvokeModel's request header, and Bedrock's echo of the tier that served the call on its response."""
TIERED_KINDS = frozenset({"claude", "converse"})
"""Catalogue kinds whose Bedrock calls can name a tier (InvokeModel header, Converse body)."""
OFFERED_BY_DEFAULT = frozenset({"default", "flex", "priority"})
"""What a tiered entry is taken to offer when the catalogue does not say (Bedrock rejects the rest)."""
_OPENAI = {"auto": None, "default": "default", "flex": "flex", "priority": "priority", "scale": "reserved"}
_ANTHROPIC = {"auto": None, "standard_only": "default"}
_OPENAI_NAMES = {tier: name for name, tier in _OPENAI.items() if tier is not None}


@dataclass(frozen=True)
class TierPolicy:
    """A role's tiers: the one its calls run on unless the client asks, and those it may ask for."""

    default: str = DEFAULT
    allowed: frozenset[str] = frozenset({"default", "flex"})

    @classmethod
    def from_config(cls, config: Any) -> TierPolicy:
        if not isinstance(config, Mapping):
            return cls()
        default = str(config.get("default") or DEFAULT)
        allowed = config.get("allowed")
        tiers = frozenset(allowed) if isinstance(allowed, list) else cls.allowed
        return cls(default=default, allowed=tiers | {default})


@dataclass(frozen=True)
class TierRefusal:
    """Why a call cannot run on the tier asked for: `permission` (403) or not offered (400)."""

    message: str
    permission: bool


def openai_tier(request: Mapping[str, Any]) -> str | None:
    """OpenAI's `service_tier` (Chat and Responses) as a Bedrock tier; `auto` and absent ask for none.
    OpenAI's `scale` (capacity bought ahead) is Bedrock's `reserved`."""
    return _named(request.get("service_tier"), _OPENAI, "service_tier")


def openai_name(tier: str | None) -> str | None:
    """The tier as OpenAI objects name the one that served them (`service_tier`): Reserved is OpenAI's `scale`."""
    return _OPENAI_NAMES.get(tier, tier)


def anthropic_tier(request: Mapping[str, Any]) -> str | None:
    """Anthropic's `service_tier`: `standard_only` is Bedrock's Standard tier; `auto` asks for none."""
    return _named(request.get("service_tier"), _ANTHROPIC, "service_tier")


def native_tier(header: Any, body: Mapping[str, Any], converse: bool) -> str | None:
    """What a Bedrock-native client asked for: Converse's `serviceTier.type`, InvokeModel's header."""
    if converse:
        member = body.get("serviceTier")
        if member is not None and not isinstance(member, Mapping):
            raise RequestError("serviceTier: must be an object with a type.", "serviceTier")
        value, where = (member or {}).get("type"), "serviceTier.type"
    else:
        value, where = (header or None), "serviceTier"
    return _named(value, {tier: tier for tier in TIERS}, where)


def _named(value: Any, names: Mapping[str, str | None], where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in names:
        raise RequestError(f"{where}: must be one of {', '.join(names)}.", where.split(".")[0])
    return names[value]


def choose(asked: str | None, policy: TierPolicy, offered: frozenset[str], model: str) -> str | TierRefusal:
    """The tier a call to `model` runs on: the client's, else the role's default.

    A tier the role may not ask for is refused (403); one the model does not offer is refused
    when the client asked for it (400), and gives way to Standard when it is the role's default.
    """
    if asked is not None and asked not in policy.allowed:
        return TierRefusal(f"Your role may use these service tiers: {', '.join(_ordered(policy.allowed))}.", True)
    tier = asked or policy.default
    if tier in offered:
        return tier
    if asked is not None:
        return TierRefusal(f"{model} is not served on the {tier} tier; tiers it offers: "
                           f"{', '.join(_ordered(offered))}.", False)
    return DEFAULT


def fallback_tier(asked: str | None, tier: str, offered: frozenset[str]) -> str | None:
    """A fallback's tier: the first model's, else Standard when the role chose it; None (skip the
    fallback) when the client asked for a tier it does not offer: it would cost what they did not ask."""
    if tier in offered:
        return tier
    return None if asked is not None else DEFAULT


def _ordered(tiers: frozenset[str]) -> list[str]:
    return [tier for tier in TIERS if tier in tiers]
