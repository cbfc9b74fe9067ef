"""The plugin server's own Prometheus registry.

Kong's prometheus plugin cannot carry custom metrics, so the plugin server
exports these on its own port (`--metrics-listen`). Names follow the seeds
(`kong_bedrock_*`); the seeds' "cost estimate gauge" is a counter here
(`kong_bedrock_cost_estimate_dollars_total`), because a running cost only grows
and Prometheus' rate()/increase() need a counter. Label values are metadata
only; the consumer label is capped (`consumer_label`) so a large consumer base
cannot blow up the series count.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry(auto_describe=True)
_CONSUMER_LIMIT = [100]
_seen_consumers: set[str] = set()


def set_consumer_label_limit(limit: int) -> None:
    _CONSUMER_LIMIT[0] = limit


OTHER_CONSUMERS = "other"


def consumer_label(consumer: str | None) -> str:
    """The consumer's name for the first N distinct consumers, `other` after that."""
    if not consumer:
        return "anonymous"
    if consumer in _seen_consumers:
        return consumer
    if len(_seen_consumers) < _CONSUMER_LIMIT[0]:
        _seen_consumers.add(consumer)
        return consumer
    return OTHER_CONSUMERS


requests_total = Counter(
    "kong_bedrock_requests", "LLM requests seen by token-meter's log phase.",
    ["model", "role", "consumer", "status"], registry=registry)
errors_total = Counter(
    "kong_bedrock_errors", "LLM requests that ended in an error, by error type.",
    ["model", "role", "error_type"], registry=registry)
tokens_input_total = Counter(
    "kong_bedrock_tokens_input", "Uncached input tokens reported by Bedrock.",
    ["model", "role", "consumer"], registry=registry)
tokens_output_total = Counter(
    "kong_bedrock_tokens_output", "Output tokens reported by Bedrock.",
    ["model", "role", "consumer"], registry=registry)
tokens_cache_total = Counter(
    "kong_bedrock_tokens_cache",
    "Prompt-cache tokens reported by Bedrock, by kind (read, write for 5 minutes, write_1h).",
    ["model", "role", "kind"], registry=registry)
usage_estimated_total = Counter(
    "kong_bedrock_usage_estimated", "Calls charged by the gateway's estimate because Bedrock never reported their "
    "usage: a stream cut short, a read timeout (metering.estimate).", ["model", "role", "error_type"],
    registry=registry)
cost_dollars_total = Counter(
    "kong_bedrock_cost_estimate_dollars", "Estimated cost in USD from the price table.",
    ["model", "role", "consumer"], registry=registry)
request_duration_seconds = Histogram(
    "kong_bedrock_request_duration_seconds", "Whole-request latency, from the first of our plugins to the log "
    "phase (Kong's own measure for requests Kong answered without us).",
    ["model", "role"], registry=registry,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300))
time_to_first_token_seconds = Histogram(
    "kong_bedrock_time_to_first_token_seconds", "Streams: from the gateway's first sight of the request to "
    "the first content delta.", ["model", "role"], registry=registry,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
relay_overhead_seconds = Histogram(
    "kong_bedrock_relay_overhead_seconds",
    "Time the relay itself adds (translation, signing, framing), without waiting on Bedrock or Kong.",
    ["model", "role"], registry=registry,
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1))
rejections_total = Counter(
    "kong_bedrock_rejections", "Requests refused before the call, by reason (token windows, budget, guardrail).",
    ["reason", "role"], registry=registry)
budget_store_errors_total = Counter(
    "kong_bedrock_budget_store_errors", "Budget store (Redis) failures, by operation.",
    ["operation"], registry=registry)
response_store_errors_total = Counter(
    "kong_bedrock_response_store_errors", "Responses item store (Redis) failures, by operation (save, load).",
    ["operation"], registry=registry)
budget_remaining_dollars = Gauge(
    "kong_bedrock_budget_remaining_dollars", "Monthly budget left per consumer, as of its last reservation or settle.",
    ["consumer", "role"], registry=registry)
tokens_remaining = Gauge(
    "kong_bedrock_tokens_remaining",
    "Tokens left in the consumer's window (minute, day) as of its last reservation or settle.",
    ["consumer", "role", "window"], registry=registry)
guardrail_blocks_total = Counter(
    "kong_bedrock_guardrail_blocks", "Guardrail findings in user prompts, by category and the action taken.",
    ["category", "role", "action"], registry=registry)
bedrock_guardrail_interventions_total = Counter(
    "kong_bedrock_bedrock_guardrail_interventions", "Calls a role's Amazon Bedrock Guardrail blocked.",
    ["model", "role"], registry=registry)
bedrock_guardrail_text_units_total = Counter(
    "kong_bedrock_bedrock_guardrail_text_units",
    "Text units a role's Amazon Bedrock Guardrail processed, by policy, as Bedrock's trace reports them.",
    ["policy", "role"], registry=registry)
model_misconfigured_total = Counter(
    "kong_bedrock_model_misconfigured", "Calls on which Bedrock refused an id from the gateway's configuration "
    "(model, inference profile or guardrail), fallbacks included: the operators' to fix.",
    ["model"], registry=registry)


def declare_models(names: list[str]) -> None:
    """Every catalogue model's misconfiguration series, at 0 from the start: `increase()` counts nothing on a
    series until its second sample, so the alert on it missed the first refusals of a model Bedrock had never
    refused before (found by an operations pass)."""
    for name in names:
        model_misconfigured_total.labels(model=name)


images_total = Counter(
    "kong_bedrock_images", "Images an image model generated (billed apiece by quality and size).",
    ["model", "role", "quality"], registry=registry)
search_units_total = Counter(
    "kong_bedrock_rerank_search_units", "Search units a reranker billed (a query over up to 100 documents).",
    ["model", "role"], registry=registry)
service_tier_requests_total = Counter(
    "kong_bedrock_service_tier_requests", "Calls Bedrock served, by the service tier it reports serving them on.",
    ["model", "role", "service_tier"], registry=registry)
service_tier_cost_estimate_dollars_total = Counter(
    "kong_bedrock_service_tier_cost_estimate_dollars",
    "Estimated USD of the calls Bedrock served, by the service tier it reports serving them on.",
    ["model", "role", "service_tier"], registry=registry)
live_request_contexts = Gauge(
    "kong_bedrock_live_request_contexts",
    "Request contexts held between access and log; back to 0 when the gateway is idle (else a leak).",
    registry=registry)
pending_pdk_events = Gauge(
    "kong_bedrock_pending_pdk_events",
    "Plugin phase events waiting on Kong's next PDK reply; back to 0 when the gateway is idle.",
    registry=registry)
plugin_instances = Gauge(
    "kong_bedrock_plugin_instances",
    "Plugin instances Kong started in this server (one per plugin configuration); steady unless config changes.",
    registry=registry)
phase_handlers = Gauge(
    "kong_bedrock_phase_handlers",
    "Plugin phase handlers running in the plugin server; back to 0 when the gateway is idle.",
    registry=registry)
