"""Usage metrics to a Datadog agent over DogStatsD (UDP).

UDP is fire-and-forget, so sending from the log phase costs a few non-blocking
`sendto` calls and an absent or overloaded agent costs nothing but the lost
datagrams. The agent does the aggregation, which is why this exporter, unlike
the CloudWatch one, keeps no buffer or thread of its own.

Metric types: tokens and `cost_usd` are counts, so the agent sums them per
flush interval and dashboards get exact totals (spend per model/role/consumer);
a distribution would add percentile series we do not need for money.
Latency and time-to-first-token are histograms (agent-side percentiles).
An error event tags all its metrics with `error_type:<t>`, so latency and
tokens can be split by error type as well as the `errors` count.
"""

from __future__ import annotations

from datadog.dogstatsd.base import DogStatsd

from kong_plugins import metrics
from kong_plugins.metering.events import UsageEvent


class DogStatsdExporter:
    """Sends one request's usage as DogStatsD metrics; never raises."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8125, prefix: str = "kong.bedrock",
                 tags: list[str] | None = None) -> None:
        self.prefix = prefix.rstrip(".")
        self.failures = 0
        self._statsd = DogStatsd(
            host=host, port=port, constant_tags=list(tags or []),
            disable_telemetry=True,          # no client self-metrics mixed into ours
            origin_detection_enabled=False,  # no /proc reads; container tags come from the agent
            disable_buffering=True,          # one datagram per metric, sent now: no flush thread
            disable_background_sender=True,
            socket_timeout=0,                # never wait on a full socket buffer
        )

    def _tags(self, event: UsageEvent) -> list[str]:
        tags = [f"model:{event.model}", f"role:{event.role}", f"status:{event.status}"]
        if event.consumer:   # token-meter's consumer_label_limit bounds Datadog's tag values as Prometheus's labels
            tags.append(f"consumer:{metrics.consumer_label(event.consumer)}")
        if event.is_error and event.error_type:
            tags.append(f"error_type:{event.error_type}")
        return tags

    def record(self, event: UsageEvent) -> None:
        """Emit the event's metrics. Send errors are swallowed by the library; this wraps anyway."""
        try:
            s, p, tags = self._statsd, self.prefix, self._tags(event)
            s.increment(f"{p}.requests", 1, tags=tags)
            s.increment(f"{p}.tokens.input", int(event.input_tokens), tags=tags)
            s.increment(f"{p}.tokens.output", int(event.output_tokens), tags=tags)
            s.increment(f"{p}.tokens.cache_read", int(event.cache_read_tokens), tags=tags)
            s.increment(f"{p}.tokens.cache_write", int(event.cache_write_tokens), tags=tags)
            s.increment(f"{p}.cost_usd", float(event.cost_usd), tags=tags)
            s.histogram(f"{p}.latency_ms", float(event.latency_ms), tags=tags)
            if event.ttft_ms is not None:
                s.histogram(f"{p}.ttft_ms", float(event.ttft_ms), tags=tags)
            if event.is_error:
                s.increment(f"{p}.errors", 1, tags=tags)
        except Exception:
            self.failures += 1  # metrics are best effort: never fail the request for them

    def close(self) -> None:
        """Release the UDP socket."""
        try:
            self._statsd.close_socket()
        except Exception:
            pass
