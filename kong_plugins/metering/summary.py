"""Summarise a finished request: how it ended (`Outcome`) and what our context knows.

The outcome (status, whole-request latency, consumer) comes from our own
context when our side answered the request: the relay's response or a plugin's
exit. Only when Kong answered without us (a 401, its own rate limit, a relay it
could not reach) does token-meter ask for `kong.log.serialize()`, which also
carries every request header, the API key included; nothing but the fields
below is read from it. Our context adds model, role, Bedrock usage and price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from kong_plugins import metrics
from kong_plugins.context import Consumer, RequestContext, Usage
from kong_plugins.eventlog import log_event
from kong_plugins.metering.events import UsageEvent


@dataclass(frozen=True)
class Outcome:
    """How a request ended, as the client saw it."""

    request_id: str
    status: int
    latency_ms: float       # whole request: Kong's measure, or ours from the first plugin's access
    consumer: str | None
    role: str | None = None   # the consumer's role tag: a request refused before token-meter ran has it too

    @classmethod
    def from_context(cls, ctx: RequestContext, now: float, role_tag_prefix: str = "role:") -> Outcome | None:
        """None unless our side answered (`now`: time.monotonic(), ctx.created_at's clock)."""
        if ctx.answered_status is None:
            return None
        consumer = ctx.consumer.name if ctx.consumer else None
        role = ctx.consumer.role(role_tag_prefix) if ctx.consumer else None
        return cls(ctx.request_id, ctx.answered_status, max(0.0, (now - ctx.created_at) * 1000.0), consumer, role)

    @classmethod
    def from_serialized(cls, serialized: dict[str, Any], role_tag_prefix: str = "role:") -> Outcome:
        request = serialized.get("request") or {}
        response = serialized.get("response") or {}
        latencies = serialized.get("latencies") or {}
        consumer = Consumer.from_pdk(serialized.get("consumer"))   # the entity get_consumer returns
        return cls(request_id=str(request.get("id") or ""), status=int(response.get("status") or 0),
                   latency_ms=float(latencies.get("request") or 0), consumer=consumer.name if consumer else None,
                   role=consumer.role(role_tag_prefix) if consumer else None)


@dataclass(frozen=True)
class RequestSummary:
    request_id: str
    status: int
    consumer: str | None
    role: str
    model: str
    usage: Usage
    cost_usd: Decimal
    latency_ms: float
    ttft_ms: float | None
    error_type: str | None
    relay_overhead_ms: float | None = None
    guardrail_intervened: bool = False
    service_tier: str | None = None   # the tier Bedrock served the call on (None: no Bedrock answer)
    bedrock_request_id: str | None = None   # joins this line to Bedrock's model invocation log and CloudTrail
    client_session: str | None = None   # Claude Code's session id: a session's cost is the sum of its lines
    client_agent: str | None = None     # a Claude Code subagent's id
    usage_estimated: bool = False       # the stream ended before Bedrock reported usage: what it produced, estimated
    background: str | None = None       # a background response's end (completed, failed, cancelled): the 200 was
    #                                     answered before the call

    @classmethod
    def build(cls, outcome: Outcome, ctx: RequestContext | None, default_role: str) -> RequestSummary:
        usage = ctx.usage if ctx and ctx.usage else Usage()
        ttft = None
        if ctx and ctx.first_token_at is not None:
            ttft = max(0.0, (ctx.first_token_at - ctx.created_at) * 1000.0)
        return cls(
            request_id=outcome.request_id,
            status=outcome.status,
            consumer=outcome.consumer,
            role=(ctx.role if ctx and ctx.role else None) or outcome.role or default_role,
            model=(ctx.model if ctx and ctx.model else "none"),
            usage=usage,
            cost_usd=ctx.price.charged_usd(usage) if ctx and ctx.price else Decimal(0),
            latency_ms=outcome.latency_ms,
            ttft_ms=ttft,
            error_type=ctx.error_type if ctx else None,
            relay_overhead_ms=ctx.relay_overhead_ms if ctx else None,
            guardrail_intervened=bool(ctx and ctx.guardrail_intervened),
            service_tier=ctx.service_tier if ctx and ctx.upstream_status == 200 else None,
            bedrock_request_id=ctx.bedrock_request_id if ctx else None,
            client_session=ctx.client_session if ctx else None,
            client_agent=ctx.client_agent if ctx else None,
            usage_estimated=bool(ctx and ctx.usage_estimated),
            background=ctx.background_status if ctx else None,
        )

    def event(self) -> UsageEvent:
        return UsageEvent(model=self.model, role=self.role, consumer=self.consumer, status=self.status,
                          input_tokens=self.usage.input, output_tokens=self.usage.output,
                          cache_read_tokens=self.usage.cache_read, cache_write_tokens=self.usage.cache_write,
                          cost_usd=float(self.cost_usd), latency_ms=self.latency_ms, ttft_ms=self.ttft_ms,
                          error_type=self.error_type)


def record(summary: RequestSummary, exporters: Iterable[Any] = ()) -> None:
    """Update the exporter's metrics, the external exporters, and write the one log line per request."""
    labels = {"model": summary.model, "role": summary.role}
    consumer = metrics.consumer_label(summary.consumer)
    metrics.requests_total.labels(status=str(summary.status), consumer=consumer, **labels).inc()
    metrics.tokens_input_total.labels(consumer=consumer, **labels).inc(summary.usage.input)
    metrics.tokens_output_total.labels(consumer=consumer, **labels).inc(summary.usage.output)
    metrics.tokens_cache_total.labels(kind="read", **labels).inc(summary.usage.cache_read)
    metrics.tokens_cache_total.labels(kind="write", **labels).inc(summary.usage.cache_write_minutes)
    metrics.tokens_cache_total.labels(kind="write_1h", **labels).inc(summary.usage.cache_write_hour)
    metrics.cost_dollars_total.labels(consumer=consumer, **labels).inc(float(summary.cost_usd))
    metrics.request_duration_seconds.labels(**labels).observe(summary.latency_ms / 1000.0)
    if summary.ttft_ms is not None:
        metrics.time_to_first_token_seconds.labels(**labels).observe(summary.ttft_ms / 1000.0)
    if summary.relay_overhead_ms is not None:
        metrics.relay_overhead_seconds.labels(**labels).observe(summary.relay_overhead_ms / 1000.0)
    if summary.guardrail_intervened:
        metrics.bedrock_guardrail_interventions_total.labels(**labels).inc()
    for image in summary.usage.images:
        metrics.images_total.labels(quality=image.quality, **labels).inc(image.count)
    if summary.usage.search_units:
        metrics.search_units_total.labels(**labels).inc(summary.usage.search_units)
    for policy, units in summary.usage.guardrail_units.items():
        metrics.bedrock_guardrail_text_units_total.labels(policy=policy, role=summary.role).inc(units)
    if summary.service_tier is not None:
        tier_labels = {**labels, "service_tier": summary.service_tier}
        metrics.service_tier_requests_total.labels(**tier_labels).inc()
        metrics.service_tier_cost_estimate_dollars_total.labels(**tier_labels).inc(float(summary.cost_usd))
    if summary.usage_estimated:
        metrics.usage_estimated_total.labels(error_type=summary.error_type or "unfinished", **labels).inc()
    if summary.error_type or summary.status >= 400:
        metrics.errors_total.labels(error_type=summary.error_type or str(summary.status), **labels).inc()
    event = summary.event()
    for exporter in exporters:
        exporter.record(event)
    log_event("request", request_id=summary.request_id, consumer=summary.consumer, role=summary.role,
              model=summary.model, status=summary.status, input_tokens=summary.usage.input,
              output_tokens=summary.usage.output, cache_read_tokens=summary.usage.cache_read,
              cache_write_tokens=summary.usage.cache_write, cost_usd=f"{summary.cost_usd:.6f}",
              latency_ms=round(summary.latency_ms, 1),
              ttft_ms=None if summary.ttft_ms is None else round(summary.ttft_ms, 1),
              error_type=summary.error_type, service_tier=summary.service_tier,
              bedrock_request_id=summary.bedrock_request_id, client_session=summary.client_session,
              client_agent=summary.client_agent, usage_estimated=summary.usage_estimated or None,
              bedrock_guardrail="intervened" if summary.guardrail_intervened else None,
              bedrock_guardrail_text_units=sum(summary.usage.guardrail_units.values()) or None,
              images=sum(image.count for image in summary.usage.images) or None,
              search_units=summary.usage.search_units or None, background=summary.background,
              relay_overhead_ms=None if summary.relay_overhead_ms is None else round(summary.relay_overhead_ms, 3))
