"""Model prices and the cost of a call, in exact decimal arithmetic.

Prices are USD per 1M tokens, so a price is also micro-dollars per token:
costs are computed exactly and budgets are kept as integer micro-dollars
(no float drift across millions of requests). Bedrock's input count excludes
cache reads and writes, so: cost = input*p_in + output*p_out +
cache_read*p_cache_read + cache_write_5m*p_cache_write + cache_write_1h*p_cache_write_1h.

Shipped defaults (shared/reference/models-and-pricing.md, USD per 1M tokens,
on-demand): the catalogue's Claude entries use `us.` cross-region inference
profiles, priced at the regional rate (+10% over global for Claude 4.5 models,
per LiteLLM's price map); cache writes 1.25x input for 5 minutes and 2x for an hour
(1.6x the 5-minute write price when only that one is configured), cache reads 0.1x input.
Opus 4.7 on Mantle at Anthropic's list price. Titan Text Express, Titan Text Embeddings V2
($0.02 per 1M input tokens) and Gemini 1.5 Flash (<=128k prompt) per LiteLLM's map; Cohere Embed
v3 at $0.10 per 1M input tokens (AWS's price page; the reference table has no Cohere row).
Re-check against the AWS and Google price pages before billing anyone; override in token-meter's
`prices`.

Service tiers scale a model's Standard prices: Flex at half (AWS: "50% discount"), Priority
at 1.75x (AWS publishes "a premium"; 1.75x is the premium on the models priced at launch),
Reserved at the Standard rate (a reservation is billed monthly per tokens-per-minute, not
per token; pricing its calls keeps budgets meaningful). Override in `service_tier_price_factors`.

A Bedrock guardrail is billed apart from tokens, per 1,000 text units (up to 1,000 characters
each) per policy: content filters and denied topics $0.15, sensitive-information (PII) filters and
contextual grounding $0.10, word filters and regex sensitive-information filters free, Automated
Reasoning $0.17, image content filters $0.00075 per image ($0.75 per 1,000). Bedrock reports the
units only in the guardrail trace, so only traced calls carry them. Override in
`guardrail_text_unit_prices`; re-check against AWS's price page.

Image models are billed per image by quality and size (AWS's price page, on-demand): Nova Canvas
standard $0.04 up to 1024x1024 and $0.06 up to 2048x2048, premium $0.06 and $0.08; Titan Image
Generator v2 standard $0.008 up to 512x512 and $0.01 up to 1024x1024, premium $0.01 and $0.012.
Stability AI's models cost one price per image whatever its size: Stable Image Core $0.04, Stable
Diffusion 3.5 Large $0.08, Stable Image Ultra $0.14 (list prices as commonly quoted, not re-read for
this table: re-check against AWS's price page). An image larger than a model's largest tier costs
that tier. Override in a price entry's `images`.

Rerankers are billed per search unit, a query over up to 100 documents (more documents count as
more units): Cohere Rerank 3.5 $2.00 per 1,000 (AWS's price page). Override in `search_unit`.

Claude Sonnet 4 and 4.5 take up to 1M tokens of context (the `context-1m-2025-08-07` beta, Claude
Code's `sonnet[1m]`), and a call whose prompt (input, cache reads and writes) passes 200,000 tokens
is billed whole at the long-context rates: input and cache prices 2x, output 1.5x (for the shipped
`sonnet`, us. profile: $6.60 / $24.75 per 1M, cache write $8.25, read $0.66, per LiteLLM's map, which
has the same ratios for every region). Override in a price entry's `long_context`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from kong_plugins.context import ImageCount, Usage

MICRO = Decimal(1_000_000)
THOUSAND = Decimal(1000)
ONE_HOUR = Decimal("1.6")
"""A 1-hour cache write over a 5-minute one: 2x input against 1.25x."""

GUARDRAIL_UNIT_PRICES: dict[str, str] = {
    "content": "0.15", "content_image": "0.75", "topic": "0.15", "word": "0", "sensitive_information": "0.10",
    "sensitive_information_free": "0", "contextual_grounding": "0.10", "automated_reasoning": "0.17"}
"""USD per 1,000 guardrail text units by policy (the policies of bedrock.guardrail_usage)."""


def usd_text(micro: int) -> str:
    """Micro-dollars as dollars with six places, exact: what the X-Budget-* headers and GET /v1/budget say."""
    return f"{Decimal(micro) / MICRO:.6f}"


@dataclass(frozen=True)
class ImageTier:
    """USD per image of `quality` up to `max_pixels` (width x height)."""

    quality: str
    max_pixels: int
    usd: Decimal


def image_tiers(*rows: tuple[str, int, str]) -> tuple[ImageTier, ...]:
    return tuple(sorted((ImageTier(q, pixels, Decimal(usd)) for q, pixels, usd in rows), key=lambda t: t.max_pixels))


def flat_image_price(usd: str) -> tuple[ImageTier, ...]:
    """One price per image of any size or quality (Stability's models, which have no quality knob)."""
    return image_tiers(*((quality, 2 ** 31, usd) for quality in ("standard", "premium")))


@dataclass(frozen=True)
class LongContext:
    """Past `above_prompt_tokens` of one call's prompt, the whole call is billed at input (and cache) prices
    times `input_factor` and output prices times `output_factor`."""

    above_prompt_tokens: int
    input_factor: Decimal = Decimal(2)
    output_factor: Decimal = Decimal("1.5")


SONNET_LONG_CONTEXT = LongContext(200_000)


@dataclass(frozen=True)
class Price:
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    guardrail_units: Mapping[str, Decimal] = field(default_factory=dict)
    """USD per 1,000 guardrail text units by policy: the same for every model and tier."""
    images: tuple[ImageTier, ...] = ()
    """An image model's prices per image, smallest size first."""
    search_unit: Decimal = Decimal(0)
    """A reranker's USD per search unit."""
    long_context: LongContext | None = None
    """Long-context rates (Claude Sonnet 4 and 4.5 past 200k tokens of prompt)."""

    @classmethod
    def of(cls, input: Any, output: Any, cache_read: Any = None, cache_write: Any = None,
           cache_write_1h: Any = None, images: tuple[ImageTier, ...] = (), search_unit: Any = 0,
           long_context: LongContext | None = None) -> Price:
        p_in = Decimal(str(input))
        p_write = Decimal(str(cache_write)) if cache_write is not None else p_in * Decimal("1.25")
        return cls(input=p_in, output=Decimal(str(output)),
                   cache_read=Decimal(str(cache_read)) if cache_read is not None else p_in / 10,
                   cache_write=p_write,
                   cache_write_1h=Decimal(str(cache_write_1h)) if cache_write_1h is not None else p_write * ONE_HOUR,
                   images=images, search_unit=Decimal(str(search_unit)), long_context=long_context)

    def per_image(self, image: ImageCount) -> Decimal:
        """The first tier of the image's quality that holds its pixels, else that quality's largest (0: none)."""
        tiers = [t for t in self.images if t.quality == image.quality]
        fitting = next((t for t in tiers if image.pixels <= t.max_pixels), tiers[-1] if tiers else None)
        return fitting.usd if fitting is not None else Decimal(0)

    def cost_usd(self, usage: Usage) -> Decimal:
        prompt = (usage.input * self.input + usage.cache_read * self.cache_read
                  + usage.cache_write_minutes * self.cache_write + usage.cache_write_hour * self.cache_write_1h)
        output = usage.output * self.output
        long = self.long_context
        if long is not None and usage.prompt_per_call > long.above_prompt_tokens:
            prompt, output = prompt * long.input_factor, output * long.output_factor
        tokens = (prompt + output) / MICRO
        if usage.images:
            tokens += sum((image.count * self.per_image(image) for image in usage.images), Decimal(0))
        if usage.search_units:
            tokens += usage.search_units * self.search_unit
        if not usage.guardrail_units:
            return tokens
        return tokens + sum((count * self.guardrail_units.get(policy, Decimal(0))
                             for policy, count in usage.guardrail_units.items()), Decimal(0)) / THOUSAND

    def scaled(self, factor: Decimal) -> Price:
        """A service tier's price: tokens scaled, guardrail units not (they are not billed by tier)."""
        return Price(self.input * factor, self.output * factor, self.cache_read * factor, self.cache_write * factor,
                     self.cache_write_1h * factor, self.guardrail_units,
                     tuple(replace(t, usd=t.usd * factor) for t in self.images), self.search_unit * factor,
                     self.long_context)

    def cost_micro_usd(self, usage: Usage) -> int:
        """Integer micro-dollars, rounded half up (what budgets are charged)."""
        return int((self.cost_usd(usage) * MICRO).to_integral_value(rounding=ROUND_HALF_UP))

    def charged_usd(self, usage: Usage) -> Decimal:
        """The dollars a budget is charged (whole micro-dollars): what the cost header, the request log and the
        metrics say, so that they add up to what GET /v1/budget shows."""
        return Decimal(self.cost_micro_usd(usage)) / MICRO


DEFAULT_PRICES: dict[str, Price] = {
    "haiku": Price.of("1.10", "5.50", "0.11", "1.375"),
    "sonnet": Price.of("3.30", "16.50", "0.33", "4.125", long_context=SONNET_LONG_CONTEXT),
    "opus": Price.of("5.50", "27.50", "0.55", "6.875"),
    "opus-4-7": Price.of("5.00", "25.00", "0.50", "6.25"),
    "titan": Price.of("0.20", "0.60", "0", "0"),
    "titan-embed": Price.of("0.02", "0", "0", "0"),
    "cohere-embed": Price.of("0.10", "0", "0", "0"),
    "gemini-flash": Price.of("0.075", "0.30", "0.01875", "0"),
    "nova-canvas": Price.of(0, 0, images=image_tiers(
        ("standard", 1024 * 1024, "0.04"), ("standard", 2048 * 2048, "0.06"),
        ("premium", 1024 * 1024, "0.06"), ("premium", 2048 * 2048, "0.08"))),
    "titan-image": Price.of(0, 0, images=image_tiers(
        ("standard", 512 * 512, "0.008"), ("standard", 1024 * 1024, "0.01"),
        ("premium", 512 * 512, "0.01"), ("premium", 1024 * 1024, "0.012"))),
    "stable-image-core": Price.of(0, 0, images=flat_image_price("0.04")),
    "sd3-5-large": Price.of(0, 0, images=flat_image_price("0.08")),
    "stable-image-ultra": Price.of(0, 0, images=flat_image_price("0.14")),
    "cohere-rerank": Price.of(0, 0, search_unit="0.002"),
}


DEFAULT_TIER_FACTORS: dict[str, Decimal] = {"default": Decimal(1), "flex": Decimal("0.5"),
                                             "priority": Decimal("1.75"), "reserved": Decimal(1)}


class PriceTable:
    """Prices by catalogue name and service tier; a model with no price costs its `default` (else the
    dearest known), a tier with no factor the Standard rate."""

    def __init__(self, prices: Mapping[str, Price], default: Price | None = None,
                 tier_factors: Mapping[str, Decimal] | None = None) -> None:
        self.prices = dict(prices)
        self.default = default or max(self.prices.values(), key=lambda p: p.output, default=Price.of(0, 0))
        if not self.default.images:   # an image model without a price costs the dearest known images
            dearest = max(self.prices.values(), key=lambda p: max((t.usd for t in p.images), default=0),
                          default=self.default)
            self.default = replace(self.default, images=dearest.images)
        if not self.default.search_unit:   # a reranker without a price, the dearest known search unit
            self.default = replace(self.default, search_unit=max((p.search_unit for p in self.prices.values()),
                                                                 default=Decimal(0)))
        self.tier_factors = dict(DEFAULT_TIER_FACTORS if tier_factors is None else tier_factors)
        self._tiered: dict[tuple[str | None, str], Price] = {}

    @classmethod
    def from_config(cls, entries: list[Mapping[str, Any]] | None, tier_factors: Mapping[str, Any] | None = None,
                    guardrail_units: Mapping[str, Any] | None = None) -> PriceTable:
        prices = dict(DEFAULT_PRICES)
        for entry in entries or []:
            tiers = image_tiers(*((t["quality"], t["max_pixels"], str(t["usd"])) for t in entry.get("images") or ()))
            shipped = prices.get(entry["model"], Price.of(0, 0))
            unit = entry.get("search_unit")
            prices[entry["model"]] = Price.of(entry["input"], entry["output"], entry.get("cache_read"),
                                              entry.get("cache_write"), entry.get("cache_write_1h"),
                                              tiers or shipped.images, shipped.search_unit if unit is None else unit,
                                              _long_context(entry.get("long_context"), shipped.long_context))
        unit_prices = {policy: Decimal(str(value)) for policy, value in
                       {**GUARDRAIL_UNIT_PRICES, **(guardrail_units or {})}.items() if value is not None}
        prices = {name: replace(price, guardrail_units=unit_prices) for name, price in prices.items()}
        factors = dict(DEFAULT_TIER_FACTORS)
        factors.update({tier: Decimal(str(value)) for tier, value in (tier_factors or {}).items()
                        if value is not None})
        return cls(prices, prices.get("default"), factors)

    def for_model(self, model: str | None, tier: str = "default") -> Price:
        price = self.prices.get(model or "", self.default)
        factor = self.tier_factors.get(tier, Decimal(1))
        if factor == 1:
            return price
        key = (model, tier)
        if key not in self._tiered:
            self._tiered[key] = price.scaled(factor)
        return self._tiered[key]


def _long_context(entry: Mapping[str, Any] | None, shipped: LongContext | None) -> LongContext | None:
    """A price entry's `long_context` (unset: the shipped model's, whose ratios hold whatever its base price)."""
    if not entry or entry.get("above_prompt_tokens") is None:
        return shipped
    return LongContext(int(entry["above_prompt_tokens"]),
                       Decimal(str(entry.get("input_factor") or 2)), Decimal(str(entry.get("output_factor") or "1.5")))
