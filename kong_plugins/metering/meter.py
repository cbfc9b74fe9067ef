"""token-meter's decisions, without Kong: reserve in access, settle once the relay is done.

Budget stores are process-wide (every token-meter instance of the plugin
server shares one in-memory store, or one Redis store per Redis config), so a
consumer's budget is one budget across routes.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Mapping

from kong_plugins import metrics
from kong_plugins.context import Consumer, RequestContext, Usage
from kong_plugins.eventlog import log_event
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.errors import ErrorKind, Reply, render_error
from kong_plugins.metering.budget import (BudgetStore, BudgetStoreError, Charge, MemoryBudgetStore, Reservation,
                                          Totals, Unsettled, Windows, first_exceeded)
from kong_plugins.metering import budget_status
from kong_plugins.metering.cache_forecast import CacheMemory, PromptPrefixes, prompt_prefixes, worst_case_writes
from kong_plugins.metering.limits import Limits, LimitPolicy, TokenCounting
from kong_plugins.metering.pricing import PriceTable, usd_text

_MEMORY = MemoryBudgetStore()
_REDIS: dict[tuple, BudgetStore] = {}
_CACHE_MEMORY = CacheMemory()   # Bedrock's cache is the account's: one memory for every instance
_UNSETTLED = Unsettled()
_MESSAGES = {
    "tokens_per_minute": "Token rate limit reached for this minute.",
    "tokens_per_day": "Daily token limit reached.",
    "monthly_budget": "Monthly budget for this API key is spent.",
}

SHOULD_RETRY = "x-should-retry"
"""The OpenAI and Anthropic SDKs retry a 429 unless this says false: pointless when the window reopens later
than they would wait (they honour Retry-After up to SDK_RETRY_WAIT_LIMIT, else retry within seconds), as for a
spent month or, before the last minute of the day, a spent day."""
SDK_RETRY_WAIT_LIMIT = 60


def budget_store(config: Mapping[str, Any]) -> BudgetStore:
    if config.get("storage") != "redis":
        return _MEMORY
    redis_config = dict(config.get("redis") or {})
    key = tuple(sorted((k, str(v)) for k, v in redis_config.items()))
    if key not in _REDIS:
        from kong_plugins.metering.redis_budget import RedisBudgetStore
        _REDIS[key] = RedisBudgetStore.connect(redis_config)
    return _REDIS[key]


class Meter:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.policy = LimitPolicy.from_config(config)
        self.prices = PriceTable.from_config(config.get("prices"), config.get("service_tier_price_factors"),
                                             config.get("guardrail_text_unit_prices"))
        self.counting = TokenCounting(cache_reads=bool(config.get("count_cache_read_tokens")),
                                      cache_writes=config.get("count_cache_write_tokens") is not False)
        self.store = budget_store(config)
        self.fail_open = config.get("on_store_error") != "deny"
        self.cache_memory = _CACHE_MEMORY
        self.unsettled = _UNSETTLED

    def reserve(self, ctx: RequestContext, role: str, now: datetime | None = None) -> Reply | None:
        """Reserve the planned call's worst case; a Reply (429/503) when it may not go ahead."""
        ctx.price_table = self.prices
        limits = self.policy.limits_for(role, _names(ctx.consumer))
        output = ctx.planned_output if limits.reserve_output_cap is None else \
            min(ctx.planned_output, limits.reserve_output_cap)   # the cap is per call, as max_tokens
        if limits.unlimited:
            return None
        prefixes = self._prefixes(ctx, limits)
        read = self._forecast_read(ctx, prefixes) if limits.forecast_cache_reads else 0
        write, write_1h = worst_case_writes(prefixes, read) if prefixes is not None else (0, 0)
        write = min(write, ctx.planned_input - read)   # the prefix sizes are estimated as the whole prompt is
        apiece = ctx.upstream.billed_apiece if ctx.upstream is not None else Usage()
        calls = ctx.planned_calls
        estimate = replace(apiece, input=(ctx.planned_input - read - write) * calls, cache_read=read * calls,
                           cache_write=write * calls, cache_write_1h=min(write_1h, write) * calls,
                           output=output * calls, calls=calls)
        charge = Charge(self.counting.counted(estimate), ctx.price.cost_micro_usd(estimate))
        alone = first_exceeded(Totals(0, 0, 0), charge, limits)
        if alone is not None:    # no window, however empty, admits it: say so, and that retrying cannot help
            metrics.rejections_total.labels(reason="request_too_large", role=role).inc()
            kind = ErrorKind.BUDGET_EXCEEDED if alone == "monthly_budget" else ErrorKind.RATE_LIMITED
            message = _too_large(alone, charge, limits, ctx.planned_calls, output > 0,
                                 ctx.output_cap_field or _output_cap(ctx.path))
            reply = render_error(ctx.api or ApiFormat.OPENAI, kind, message)
            return Reply(reply.status, reply.body, {**reply.headers, SHOULD_RETRY: "false"})
        windows = Windows.at(now)
        subject = _subject(ctx.consumer)
        token = ctx.request_id or uuid.uuid4().hex
        try:
            verdict = self.store.reserve(subject, charge, limits, windows, token)
        except BudgetStoreError as exc:
            _store_error(ctx, "reserve", exc, fail_open=self.fail_open)
            if exc.maybe_applied:   # Redis may make it yet: take it back once Redis answers again
                self.unsettled.cancel(subject, windows, charge, token)
            return None if self.fail_open else _unavailable(ctx)
        ctx.budget_headers = budget_headers(limits, verdict.totals)
        _export_remaining(ctx, role, limits, verdict.totals)
        if not verdict.allowed:
            exceeded = verdict.exceeded or "tokens_per_minute"
            metrics.rejections_total.labels(reason=exceeded, role=role).inc()
            kind = ErrorKind.BUDGET_EXCEEDED if exceeded == "monthly_budget" else ErrorKind.RATE_LIMITED
            retry_after = windows.retry_after(exceeded)
            reply = render_error(ctx.api or ApiFormat.OPENAI, kind, _MESSAGES[exceeded], retry_after=retry_after)
            spent = {SHOULD_RETRY: "false"} if retry_after > SDK_RETRY_WAIT_LIMIT else {}
            return Reply(reply.status, reply.body, {**reply.headers, **ctx.budget_headers, **spent})
        ctx.reservation = Reservation(subject, windows, charge, role, limits, token)
        return None

    @staticmethod
    def _prefixes(ctx: RequestContext, limits: Limits) -> PromptPrefixes | None:
        """The planned prompt's cache points, where the reservation needs them: a cache read is forecast, or a
        cache write (1.25x or 2x the input price) must be priced as one against a dollar budget."""
        if not isinstance(ctx.prompt, dict) or not ctx.model:
            return None
        if limits.forecast_cache_reads:
            return prompt_prefixes(ctx.prompt)
        return prompt_prefixes(ctx.prompt, hashed=False) if limits.monthly_budget_micro_usd is not None else None

    def _forecast_read(self, ctx: RequestContext, prefixes: PromptPrefixes | None) -> int:
        """The input tokens of the planned call Bedrock will most likely read from its prompt cache."""
        if prefixes is None:
            return 0
        ctx.cache_forecast = self.cache_memory.forecast(ctx.model, prefixes)
        return min(ctx.cache_forecast.read_tokens, ctx.planned_input)

    def status(self, ctx: RequestContext, consumer: Consumer | None, role: str,
               now: datetime | None = None) -> Reply:
        """GET /v1/budget: `consumer`'s windows as its next reservation would see them (a 503 if unreadable)."""
        now = now or datetime.now(timezone.utc)
        limits = self.policy.limits_for(role, _names(consumer))
        windows = Windows.at(now)
        totals = None
        if not limits.unlimited:   # reserve() counts nothing for an unlimited caller
            try:
                totals = self.store.totals(_subject(consumer), windows)
            except BudgetStoreError as exc:
                _store_error(ctx, "status", exc)
                return _unavailable(ctx)
        body = budget_status.render(limits, totals, windows, now, consumer.name if consumer else None, role)
        return Reply(200, body, budget_headers(limits, totals) if totals is not None else {})

    def settle(self, ctx: RequestContext) -> None:
        """Replace the reservation by what Bedrock reported (a cancelled stream: what it produced)."""
        reservation, ctx.reservation = ctx.reservation, None   # taken before Redis yields: settled once
        if reservation is None:
            return
        usage = ctx.usage or Usage()
        actual = Charge(self.counting.counted(usage), ctx.price.cost_micro_usd(usage))
        if ctx.cache_forecast is not None and ctx.usage is not None and not ctx.usage_estimated and ctx.model:
            self.cache_memory.settled(ctx.cache_forecast, ctx.model, usage.cache_read, usage.cache_write)
        delta = actual.minus(reservation.charge)
        try:
            totals = self.store.adjust(reservation.subject, reservation.windows, delta, reservation.token)
        except BudgetStoreError as exc:
            _store_error(ctx, "settle", exc)
            if not exc.maybe_applied or reservation.token:   # never reached Redis, or Redis applies it once
                self.unsettled.add(reservation.subject, reservation.windows, delta, reservation.token)
            return
        if reservation.limits is not None:   # the gauges said what the reservation left; now what is left
            _export_remaining(ctx, reservation.role, reservation.limits, totals)
        self.unsettled.replay(self.store)


def _output_cap(path: str | None) -> str:
    """The field that caps a call's output, in the words of the caller's API (a Bedrock-native body's is
    ctx.output_cap_field, by its model family)."""
    return "max_output_tokens" if path and path.startswith("/v1/responses") else "max_tokens"


def _too_large(window: str, charge: Charge, limits: Limits, calls: int = 1, writes: bool = True,
               cap: str = "max_tokens") -> str:
    """Why a request no window can admit is refused, and what the caller can change (no user input in it). A call
    that writes no tokens (embeddings, images, rerank) has no output cap to lower: its input, or what it asks for."""
    lower = f" or lower {cap}" if writes else ""
    if window == "monthly_budget":
        change = f"shorten the prompt or lower {cap}" if writes else \
            ("shorten the input" if charge.tokens else "ask for less in one request")
        return (f"This request could cost up to ${usd_text(charge.micro_usd)}, more than this API key's whole "
                f"monthly budget of ${usd_text(limits.monthly_budget_micro_usd or 0)}: {change}.")
    limit, per = (limits.tokens_per_minute, "minute") if window == "tokens_per_minute" else \
        (limits.tokens_per_day, "day")
    what = (f"its prompt, estimated, and {cap}" if writes else "its input, estimated") + \
        (f", for each of its {calls} choices" if calls > 1 else "")
    fewer = " or ask for fewer choices" if calls > 1 else ""
    return (f"This request needs up to {charge.tokens} tokens ({what}), more than this API key's limit of {limit} "
            f"tokens a {per}: shorten the {'prompt' if writes else 'input'}{fewer}{lower}.")


def budget_headers(limits: Limits, totals: Totals) -> dict[str, str]:
    """What is left in each limited window, for 429s and successful answers alike."""
    headers: dict[str, str] = {}
    for label, limit, used in (("Minute", limits.tokens_per_minute, totals.minute_tokens),
                               ("Day", limits.tokens_per_day, totals.day_tokens)):
        if limit is not None:
            headers[f"X-RateLimit-Limit-Tokens-{label}"] = str(limit)
            headers[f"X-RateLimit-Remaining-Tokens-{label}"] = str(max(0, limit - used))
    if limits.monthly_budget_micro_usd is not None:
        left = max(0, limits.monthly_budget_micro_usd - totals.month_micro_usd)
        headers["X-Budget-Limit-USD"] = usd_text(limits.monthly_budget_micro_usd)
        headers["X-Budget-Remaining-USD"] = usd_text(left)
    return headers


def _export_remaining(ctx: RequestContext, role: str, limits: Limits, totals: Totals) -> None:
    """The remaining-budget gauges of a consumer with a label of its own. Past consumer_label_limit consumers
    share `other`, where a gauge would hold whichever of them settled last (counters add up; gauges do not)."""
    consumer = metrics.consumer_label(ctx.consumer.name if ctx.consumer else None)
    if consumer == metrics.OTHER_CONSUMERS:
        return
    if limits.monthly_budget_micro_usd is not None:
        left = max(0, limits.monthly_budget_micro_usd - totals.month_micro_usd)
        metrics.budget_remaining_dollars.labels(consumer=consumer, role=role).set(left / 1_000_000)
    for window, limit, used in (("minute", limits.tokens_per_minute, totals.minute_tokens),
                                ("day", limits.tokens_per_day, totals.day_tokens)):
        if limit is not None:
            metrics.tokens_remaining.labels(consumer=consumer, role=role, window=window).set(max(0, limit - used))


def _store_error(ctx: RequestContext, operation: str, exc: BudgetStoreError, **fields: Any) -> None:
    metrics.budget_store_errors_total.labels(operation=operation).inc()
    log_event("budget_store_error", level="error", operation=operation, error=str(exc), request_id=ctx.request_id,
              **fields)


def _unavailable(ctx: RequestContext) -> Reply:
    return render_error(ctx.api or ApiFormat.OPENAI, ErrorKind.UNAVAILABLE,
                        "Budgets cannot be checked right now; try again shortly.", retry_after=5)


def _subject(consumer: Consumer | None) -> str:
    return consumer.id if consumer else "anonymous"


def _names(consumer: Consumer | None) -> tuple[str, ...]:
    """What a consumer override may name it by: its username or its id."""
    return tuple(n for n in (consumer.username, consumer.id) if n) if consumer else ()
