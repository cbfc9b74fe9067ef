"""Model catalogue and model-id resolution (base ids, geo-prefixed profile ids, ARNs).

Mirrors what Bedrock accepts so a gateway's id mapping is exercised for real: unknown ids and
on-demand calls of profile-only Claude models fail with Bedrock's own messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from .errors import MSG_INVALID_MODEL, on_demand_not_supported, validation
from .service_tiers import FLEX_AND_PRIORITY, STANDARD_ONLY

_CLAUDE_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2})(?!\d))?")
"""A Claude 4+ id's version: claude-opus-4-6-v1 is 4.6, claude-opus-4-20250514 is 4 (a date is no minor version)."""
GEO_PREFIXES = ("us-gov.", "global.", "apac.", "us.", "eu.", "jp.", "au.")


@dataclass(frozen=True)
class ModelInfo:
    """One foundation model the emulator can serve."""

    base_id: str
    family: str  # "claude" | "titan" | "nova" | "titan-embed" | "cohere-embed" | "titan-image" | "nova-canvas" |
    #            "stability-image" | "cohere-rerank"
    profile_only: bool = False  # on-demand use needs an inference profile
    service_tiers: tuple[str, ...] = STANDARD_ONLY  # tiers it offers besides Reserved (needs a reservation)

    @property
    def anthropic_name(self) -> str:
        """Anthropic API model name: strip ``anthropic.`` and the ``-v1:0``/``-v2:0``/``-v1`` suffix."""
        name = self.base_id.removeprefix("anthropic.")
        return re.sub(r"-v\d+(:\d+)?$", "", name)

    @property
    def supports_tools(self) -> bool:
        return self.family in ("claude", "nova")

    @property
    def supports_structured_output(self) -> bool:
        """Structured outputs came with Claude 4.5 (Haiku, Sonnet, Opus) and later, not to Titan or Nova."""
        return self.family == "claude" and re.search(r"claude-[a-z]+-4-[5-9]", self.base_id) is not None

    @property
    def supports_adaptive_thinking(self) -> bool:
        """``thinking: {"type": "adaptive"}`` came with Claude 4.6 (Opus, Sonnet); 4.5 and earlier think on a
        budget only, and Bedrock refuses the tag there (strands-agents/sdk-python#1856, Sonnet 4.5)."""
        version = _CLAUDE_VERSION.search(self.base_id) if self.family == "claude" else None
        return version is not None and (int(version.group(1)), int(version.group(2) or 0)) >= (4, 6)

    @property
    def supports_effort(self) -> bool:
        """``output_config.effort`` came with Opus 4.5 and Claude 4.6; Bedrock's Sonnet 4.5 answers it with a 400
        (anthropics/claude-code#30795)."""
        return self.supports_adaptive_thinking or (self.family == "claude" and "claude-opus-4-5" in self.base_id)

    @property
    def supports_prompt_caching(self) -> bool:
        """Claude from 3.5 Sonnet v2 and 3.5 Haiku on, and Nova; Bedrock refuses a cache point elsewhere."""
        if self.family == "nova":
            return True
        return self.family == "claude" and re.search(r"claude-3-(haiku|sonnet|opus)-|claude-3-5-sonnet-20240620",
                                                     self.base_id) is None

    @property
    def supports_count_tokens(self) -> bool:
        return self.family == "claude"

    @property
    def is_embedding(self) -> bool:
        """Embedding models answer InvokeModel only: no streaming, no Converse, no reply text."""
        return self.family in ("titan-embed", "cohere-embed")

    @property
    def is_image(self) -> bool:
        """Image models answer InvokeModel only, with PNGs (images.py, stability.py): no streaming, no Converse."""
        return self.family in ("titan-image", "nova-canvas", "stability-image")

    @property
    def is_rerank(self) -> bool:
        """Rerank models answer InvokeModel only, with relevance scores (see rerank.py): no streaming, no Converse."""
        return self.family == "cohere-rerank"


def _claude(base_id: str, profile_only: bool = False) -> ModelInfo:
    return ModelInfo(base_id, "claude", profile_only, FLEX_AND_PRIORITY)


def _nova(base_id: str) -> ModelInfo:
    return ModelInfo(base_id, "nova", service_tiers=FLEX_AND_PRIORITY)


CATALOGUE: dict[str, ModelInfo] = {
    m.base_id: m
    for m in (
        _claude("anthropic.claude-3-haiku-20240307-v1:0"),
        _claude("anthropic.claude-3-5-sonnet-20240620-v1:0"),
        _claude("anthropic.claude-3-5-sonnet-20241022-v2:0"),
        _claude("anthropic.claude-3-5-haiku-20241022-v1:0"),
        _claude("anthropic.claude-3-7-sonnet-20250219-v1:0"),
        _claude("anthropic.claude-sonnet-4-20250514-v1:0"),
        _claude("anthropic.claude-opus-4-20250514-v1:0"),
        _claude("anthropic.claude-opus-4-1-20250805-v1:0"),
        _claude("anthropic.claude-sonnet-4-5-20250929-v1:0", profile_only=True),
        _claude("anthropic.claude-haiku-4-5-20251001-v1:0", profile_only=True),
        _claude("anthropic.claude-opus-4-5-20251101-v1:0", profile_only=True),
        _claude("anthropic.claude-sonnet-4-6", profile_only=True),
        _claude("anthropic.claude-opus-4-6-v1", profile_only=True),
        _claude("anthropic.claude-opus-4-6-v1:0", profile_only=True),
        _claude("anthropic.claude-opus-4-7", profile_only=True),
        ModelInfo("amazon.titan-text-express-v1", "titan"),
        ModelInfo("amazon.titan-text-lite-v1", "titan"),
        ModelInfo("amazon.titan-text-premier-v1:0", "titan"),
        ModelInfo("amazon.titan-embed-text-v2:0", "titan-embed"),
        ModelInfo("cohere.embed-english-v3", "cohere-embed"),
        ModelInfo("cohere.embed-multilingual-v3", "cohere-embed"),
        ModelInfo("cohere.embed-v4:0", "cohere-embed"),
        ModelInfo("amazon.titan-image-generator-v2:0", "titan-image"),
        ModelInfo("amazon.nova-canvas-v1:0", "nova-canvas"),
        ModelInfo("stability.sd3-5-large-v1:0", "stability-image"),
        ModelInfo("stability.stable-image-ultra-v1:1", "stability-image"),
        ModelInfo("stability.stable-image-core-v1:1", "stability-image"),
        ModelInfo("cohere.rerank-v3-5:0", "cohere-rerank"),
        _nova("amazon.nova-micro-v1:0"),
        _nova("amazon.nova-lite-v1:0"),
        _nova("amazon.nova-pro-v1:0"),
    )
}

_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:(?P<kind>[a-z-]+)/(?P<rest>.+)$")

APPLICATION_PROFILES: dict[str, str] = {
    "kbgdevelop01": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "kbgecomops01": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "kbgembedding": "amazon.titan-embed-text-v2:0",
}
"""Application inference profiles this emulator knows, by id, with the model or system profile each was copied
from (Bedrock's CreateInferenceProfile `copyFrom`): an account's profiles for cost allocation tags. Any account
and region in the ARN is accepted; an unknown id is an invalid model identifier."""


@dataclass(frozen=True)
class ModelRef:
    """A resolved model id from the request path."""

    requested: str  # decoded path segment, as the client sent it
    info: ModelInfo
    profile: str | None  # geo prefix without the dot, e.g. "us"; None for base ids


def decode_model_segment(segment: str) -> str:
    """The model id is ONE URL-encoded path segment: decode it exactly once."""
    return unquote(segment)


def _split_profile(model_id: str) -> tuple[str | None, str]:
    for prefix in GEO_PREFIXES:
        if model_id.startswith(prefix):
            return prefix[:-1], model_id[len(prefix):]
    return None, model_id


def resolve_model(model_id: str, *, allow_on_demand: bool = False) -> ModelRef:
    """Map a decoded model id to the catalogue or raise Bedrock's ValidationException.

    ``allow_on_demand`` skips the inference-profile requirement (CountTokens takes base ids).
    """
    target = model_id
    arn = _ARN.match(model_id)
    if arn:
        kind, target = arn.group("kind"), arn.group("rest")
        if kind == "foundation-model" and _split_profile(target)[0] is not None:
            raise validation(MSG_INVALID_MODEL)
        if kind == "inference-profile" and _split_profile(target)[0] is None:
            raise validation(MSG_INVALID_MODEL)
        if kind == "application-inference-profile":
            target = APPLICATION_PROFILES.get(target, "")
        elif kind not in ("foundation-model", "inference-profile"):
            raise validation(MSG_INVALID_MODEL)
    elif model_id.startswith("arn:"):
        raise validation(MSG_INVALID_MODEL)
    profile, base_id = _split_profile(target)
    info = CATALOGUE.get(base_id)
    if info is None:
        raise validation(MSG_INVALID_MODEL)
    if info.profile_only and profile is None and not allow_on_demand:
        raise on_demand_not_supported(model_id)
    return ModelRef(requested=model_id, info=info, profile=profile)
