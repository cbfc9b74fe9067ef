"""Resolve a client's model name to a Bedrock model, and check the role may use it.

Built once per plugin instance from its config; lookups are dictionary hits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

from kong_plugins.policy.service_tier import DEFAULT as STANDARD_TIER
from kong_plugins.policy.service_tier import OFFERED_BY_DEFAULT, TIERED_KINDS, TierPolicy

ALL_MODELS = "*"
_UNCACHEABLE_CLAUDE = re.compile(r"claude-(v2|instant|3-(haiku|sonnet|opus)-|3-5-sonnet-20240620)")
_CLAUDE_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2})(?!\d))?")
"""A Claude 4+ id's version (claude-opus-4-6-v1: 4.6; claude-opus-4-20250514: 4, a date is no minor version)."""
_OLDER_CLAUDE = re.compile(r"claude-(?:v\d|instant|\d-)")
"""Claude 3.x and earlier ids (claude-3-7-sonnet, claude-v2, claude-instant-v1)."""
_MODEL_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:(?:foundation-model|inference-profile)/(.+)$")
_CLAUDE_FAMILY = re.compile(r"^(?:[a-z0-9_-]+/)?(?:[a-z0-9-]+\.)*claude-(?:\d+-(?:\d+-)?)?(opus|sonnet|haiku)"
                            r"(?:[-_.:@\[][a-z0-9_.:@\[\]-]*)?$")
"""A Claude model name or id of a family (with a LiteLLM-style `bedrock/` prefix, a `_thinking` suffix): the whole
string, so that nothing else a client writes resolves."""


@dataclass(frozen=True)
class CatalogueEntry:
    """One model the gateway can serve."""

    name: str                 # the catalogue name clients may use (e.g. "sonnet")
    bedrock_id: str           # model id or inference-profile id sent to Bedrock
    kind: str                 # "claude" (InvokeModel, Anthropic body) or "converse"
    region: str | None        # None: the plugin's default region
    fallbacks: tuple[str, ...] = ()
    base_url: str | None = None       # kind openai-compatible: the provider's OpenAI base URL
    api_key_env: str | None = None    # kind openai-compatible: env var with the provider's key
    prompt_caching: bool | None = None   # None: decided by the model id (caches_prompts)
    service_tiers: frozenset[str] = frozenset({STANDARD_TIER})   # the Bedrock tiers this model is served on
    aliases: tuple[str, ...] = ()     # other names that resolve to it
    display_name: str | None = None   # the label model lists show (None: derived, see policy.model_list)
    profile_arn: str | None = None    # the caller's role's application inference profile for it (Catalogue.for_role)

    @property
    def invocation_id(self) -> str:
        """What the Bedrock call names in its path: the role's application inference profile, else the model."""
        return self.profile_arn or self.bedrock_id

    @property
    def invocation_region(self) -> str | None:
        """Where that call goes: a profile's own region (the only one that knows it), else the model's."""
        return self.profile_arn.split(":")[3] if self.profile_arn else self.region

    @property
    def caches_prompts(self) -> bool:
        """Whether Bedrock takes a cache point for this model: Claude from 3.5 Sonnet v2 and 3.5 Haiku on
        (it refuses one on Claude 3 and 3.5 Sonnet v1). An entry's `prompt_caching` decides for ids the rule
        cannot read, such as application inference profile ARNs."""
        if self.prompt_caching is not None:
            return self.prompt_caching
        return self.kind in ("claude", "mantle") and _UNCACHEABLE_CLAUDE.search(self.bedrock_id) is None

    @property
    def adaptive_thinking(self) -> bool:
        """Whether Bedrock takes `thinking: {"type": "adaptive"}` for this model: Claude from 4.6 on (Opus 4.7 and
        later, on Mantle, take nothing else). Claude 4.5 and earlier think on a budget only, and answer the tag
        with a 400; Claude Code sends it for the newer Claude it names (claude-opus-4-8, claude-sonnet-5), which
        the family rule serves with the catalogue's model (reasoning.budgeted). An id the rule cannot read (an
        application inference profile ARN) takes the client's thinking as sent."""
        version = _CLAUDE_VERSION.search(self.bedrock_id)
        if version is not None:
            return (int(version.group(1)), int(version.group(2) or 0)) >= (4, 6)
        return _OLDER_CLAUDE.search(self.bedrock_id) is None


@dataclass(frozen=True)
class Guardrail:
    """An Amazon Bedrock Guardrail every call of a role goes through (Bedrock runs it, on input and output)."""

    identifier: str           # id or ARN
    version: str              # a number or DRAFT
    trace: bool = False       # clients see Bedrock's assessment (the gateway asks for it anyway: see plan_call)

    @classmethod
    def from_config(cls, config: Any) -> Guardrail | None:
        if not isinstance(config, Mapping) or not config.get("identifier"):
            return None
        return cls(str(config["identifier"]), str(config.get("version") or "DRAFT"), bool(config.get("trace")))


PROFILE_KINDS = frozenset({"claude", "converse", "embedding", "image"})
"""Catalogue kinds whose calls can go through an application inference profile: those that name a Bedrock model
id in the path (Mantle names its model in the body, and openai-compatible is not Bedrock)."""
GUARDED_KINDS = frozenset({"claude", "converse"})
"""Catalogue kinds whose Bedrock calls can carry a guardrail (InvokeModel headers, Converse guardrailConfig)."""
UNJUDGED_KINDS = frozenset({"embedding", "rerank"})
"""Catalogue kinds whose answers (vectors, relevance scores) are no content for a guardrail to judge: a role whose
calls go through a Bedrock guardrail may still use them."""


@dataclass(frozen=True)
class RolePolicy:
    name: str
    allowed: frozenset[str]   # catalogue names, or {"*"}
    default_model: str
    substitute_default: bool = False   # serve the default model instead of answering 403
    guardrail: Guardrail | None = None  # the role's Bedrock guardrail: its text calls go through it
    tiers: TierPolicy = TierPolicy()    # the role's Bedrock service tiers
    profiles: tuple[tuple[str, str], ...] = ()   # (catalogue name, application inference profile ARN)

    def allows(self, entry: CatalogueEntry) -> bool:
        return ALL_MODELS in self.allowed or entry.name in self.allowed

    def profile_for(self, name: str) -> str | None:
        return next((arn for model, arn in self.profiles if model == name), None)

    def model_for(self, profile_arn: str) -> str | None:
        """The catalogue name the role's application inference profile serves."""
        return next((model for model, arn in self.profiles if arn == profile_arn), None)


class Catalogue:
    """Model names (and aliases) to catalogue entries, plus role policies."""

    def __init__(self, entries: list[CatalogueEntry], roles: list[RolePolicy], resolve_by_family: bool = True) -> None:
        self.resolve_by_family = resolve_by_family
        self.conflicts: list[str] = []
        """Names the configuration gives twice, and which one is used (logged at start; see _claim)."""
        self._entries: dict[str, CatalogueEntry] = {}
        for entry in entries:
            self._claim(self._entries, entry.name, entry, "model")
        self._lookup: dict[str, CatalogueEntry] = {}
        for entry in self._entries.values():   # names and Bedrock ids before any alias: an alias never hides one
            self._claim(self._lookup, entry.name.lower(), entry, "model name")
            self._claim(self._lookup, entry.bedrock_id.lower(), entry, "Bedrock id")
        for entry in self._entries.values():
            for alias in entry.aliases:
                self._claim(self._lookup, alias.lower(), entry, "alias")
        self.roles: dict[str, RolePolicy] = {}
        for role in roles:
            self._claim(self.roles, role.name, role, "role")
        self.unusable_profiles = [(role.name, model) for role in self.roles.values() for model, _ in role.profiles
                                  if model not in self._entries or self._entries[model].kind not in PROFILE_KINDS]
        """(role, model) of profiles no call can use: unknown models and kinds outside PROFILE_KINDS."""

    @property
    def model_names(self) -> list[str]:
        return list(self._entries)

    def _claim(self, names: dict[str, Any], name: str, value: Any, what: str) -> None:
        """The first to claim a name keeps it (a file reads top down); a later claim is a conflict, noted."""
        held = names.setdefault(name, value)
        if held is value or held == value:   # the same entry, or an exact repeat: nothing is ambiguous
            return
        if held.name == value.name:
            self.conflicts.append(f"{what} {name!r} is defined twice: the first definition is used")
        else:
            self.conflicts.append(f"{what} {name!r} of {value.name!r} already names {held.name!r}, which keeps it")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Catalogue:
        entries: list[CatalogueEntry] = []
        for model in config.get("models") or []:
            entry = CatalogueEntry(name=model["name"], bedrock_id=model["bedrock_id"],
                                   kind=model.get("kind") or "claude", region=model.get("region") or None,
                                   fallbacks=tuple(model.get("fallbacks") or ()),
                                   base_url=model.get("base_url") or None, api_key_env=model.get("api_key_env") or None,
                                   prompt_caching=model.get("prompt_caching"),
                                   service_tiers=_offered_tiers(model),
                                   aliases=tuple(model.get("aliases") or ()),
                                   display_name=model.get("display_name") or None)
            entries.append(entry)
        roles = [RolePolicy(name=r["name"], allowed=frozenset(r.get("allowed_models") or []),
                            default_model=r["default_model"], substitute_default=bool(r.get("substitute_default")),
                            guardrail=Guardrail.from_config(r.get("bedrock_guardrail")),
                            tiers=TierPolicy.from_config(r.get("service_tiers")),
                            profiles=tuple((p["model"], p["arn"]) for p in r.get("inference_profiles") or ()))
                 for r in config.get("roles") or []]
        family = config.get("resolve_unknown_claude_names")
        return cls(entries, roles, resolve_by_family=True if family is None else bool(family))

    def resolve(self, model: str, role: RolePolicy | None = None) -> CatalogueEntry | None:
        """The entry for a client model name, alias, Bedrock id or its ARN (case-insensitive), or `role`'s
        application inference profile ARN (Bedrock-native clients such as Claude Code name what AWS gave them).

        Documented rule for names the catalogue does not know (a newer Claude
        such as `claude-opus-4-8`, which Claude Code may send by default): the
        entry named after its family (`opus`, `sonnet`, `haiku`) serves it,
        when `resolve_unknown_claude_names` is on (default). The response's
        X-Bedrock-Model header says which model answered.
        """
        key = model.strip().lower()
        arn = _MODEL_ARN.match(key)
        entry = self._lookup.get(arn.group(1) if arn else key)
        if entry is None and role is not None:
            entry = self._entries.get(role.model_for(model.strip()) or "")
        if entry is None and self.resolve_by_family:
            match = _CLAUDE_FAMILY.search(arn.group(1) if arn else key)   # an ARN: the id it names
            entry = self._entries.get(match.group(1)) if match else None
        return entry

    def for_role(self, entry: CatalogueEntry, role: RolePolicy) -> CatalogueEntry:
        """The entry as `role` calls it: through the role's application inference profile for it, if any, so
        Bedrock bills the call to the profile's cost allocation tags."""
        arn = role.profile_for(entry.name) if entry.kind in PROFILE_KINDS else None
        return replace(entry, profile_arn=arn) if arn else entry

    def fallbacks_for(self, entry: CatalogueEntry, role: RolePolicy) -> list[CatalogueEntry]:
        """The entry's fallback chain, keeping only models the role may use (and that can apply its guardrail),
        each as the role calls it."""
        chain = (self._entries.get(name) for name in entry.fallbacks)
        return [self.for_role(e, role) for e in chain if e is not None and e.name != entry.name and role.allows(e)
                and (role.guardrail is None or e.kind in GUARDED_KINDS)]

    def allowed_entries(self, role: RolePolicy | None) -> list[CatalogueEntry]:
        return [self._entries[name] for name in self.allowed_names(role)] if role else []

    def allowed_names(self, role: RolePolicy) -> list[str]:
        if ALL_MODELS in role.allowed:
            return sorted(self._entries)
        return sorted(n for n in role.allowed if n in self._entries)


def _offered_tiers(model: Mapping[str, Any]) -> frozenset[str]:
    """The entry's `service_tiers`, else what Bedrock offers its kind: Converse and InvokeModel calls
    name a tier; Mantle, OpenAI-compatible and embedding calls run on Standard only here."""
    if (model.get("kind") or "claude") not in TIERED_KINDS:
        return frozenset({STANDARD_TIER})
    configured = model.get("service_tiers")
    return frozenset(configured) | {STANDARD_TIER} if isinstance(configured, list) else OFFERED_BY_DEFAULT
