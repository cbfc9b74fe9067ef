"""The plugin server's own Prometheus registry.

Kong's prometheus plugin cannot carry custom metrics, so the plugin server
exports these on its own port (`--metrics-listen`). Label values are
metadata only (model, role, status, error type); consumers get a label only
through token-meter's cardinality-capped path (issue #4).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

registry = CollectorRegistry(auto_describe=True)

requests_total = Counter(
    "kong_bedrock_requests", "LLM requests seen by token-meter's log phase.",
    ["model", "role", "status"], registry=registry)
errors_total = Counter(
    "kong_bedrock_errors", "LLM requests that ended in an error, by error type.",
    ["model", "role", "error_type"], registry=registry)
tokens_input_total = Counter(
    "kong_bedrock_tokens_input", "Uncached input tokens reported by Bedrock.",
    ["model", "role"], registry=registry)
tokens_output_total = Counter(
    "kong_bedrock_tokens_output", "Output tokens reported by Bedrock.",
    ["model", "role"], registry=registry)
request_duration_seconds = Histogram(
    "kong_bedrock_request_duration_seconds", "Whole-request latency as Kong measured it.",
    ["model", "role"], registry=registry,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300))
relay_overhead_seconds = Histogram(
    "kong_bedrock_relay_overhead_seconds",
    "Time the relay itself adds (translation, signing, framing), without waiting on Bedrock or Kong.",
    ["model", "role"], registry=registry,
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1))
