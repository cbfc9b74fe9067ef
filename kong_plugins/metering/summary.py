"""Summarise a finished request from Kong's log serializer and our context.

`kong.log.serialize()` (one PDK call in the log phase) carries the request id,
the status the client saw, Kong's latencies and the consumer; our context adds
model, role and Bedrock usage. Only metadata leaves this module: the serializer
also holds request headers, which are never copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kong_plugins.context import RequestContext, Usage
from kong_plugins import metrics
from kong_plugins.eventlog import log_event


@dataclass(frozen=True)
class RequestSummary:
    request_id: str
    status: int
    consumer: str | None
    role: str
    model: str
    usage: Usage
    latency_ms: float
    error_type: str | None
    relay_overhead_ms: float | None = None

    @classmethod
    def build(cls, serialized: dict[str, Any], ctx: RequestContext | None, default_role: str) -> RequestSummary:
        request = serialized.get("request") or {}
        response = serialized.get("response") or {}
        latencies = serialized.get("latencies") or {}
        consumer = serialized.get("consumer") or {}
        return cls(
            request_id=str(request.get("id") or ""),
            status=int(response.get("status") or 0),
            consumer=(consumer.get("username") or consumer.get("id")) if isinstance(consumer, dict) else None,
            role=(ctx.role if ctx and ctx.role else default_role),
            model=(ctx.model if ctx and ctx.model else "none"),
            usage=(ctx.usage if ctx and ctx.usage else Usage()),
            latency_ms=float(latencies.get("request") or 0),
            error_type=ctx.error_type if ctx else None,
            relay_overhead_ms=ctx.relay_overhead_ms if ctx else None,
        )


def record(summary: RequestSummary) -> None:
    """Update the exporter's metrics and write the one log line per request."""
    labels = {"model": summary.model, "role": summary.role}
    metrics.requests_total.labels(status=str(summary.status), **labels).inc()
    metrics.tokens_input_total.labels(**labels).inc(summary.usage.input)
    metrics.tokens_output_total.labels(**labels).inc(summary.usage.output)
    metrics.request_duration_seconds.labels(**labels).observe(summary.latency_ms / 1000.0)
    if summary.relay_overhead_ms is not None:
        metrics.relay_overhead_seconds.labels(**labels).observe(summary.relay_overhead_ms / 1000.0)
    if summary.error_type or summary.status >= 400:
        metrics.errors_total.labels(error_type=summary.error_type or str(summary.status), **labels).inc()
    log_event("request", request_id=summary.request_id, consumer=summary.consumer, role=summary.role,
              model=summary.model, status=summary.status, input_tokens=summary.usage.input,
              output_tokens=summary.usage.output, cache_read_tokens=summary.usage.cache_read,
              cache_write_tokens=summary.usage.cache_write, latency_ms=round(summary.latency_ms, 1),
              error_type=summary.error_type,
              relay_overhead_ms=None if summary.relay_overhead_ms is None else round(summary.relay_overhead_ms, 3))
