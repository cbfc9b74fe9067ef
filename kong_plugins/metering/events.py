"""The one record every usage exporter receives when a request is over.

Exporters (CloudWatch, DogStatsD, ...) all read this shape, so the log phase
builds it once and fans it out. It is metadata only, by construction: there is
deliberately no field for prompts, request/response bodies or keys, so no
exporter can leak them by accident.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UsageEvent:
    model: str
    role: str
    consumer: str | None
    status: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    latency_ms: float
    ttft_ms: float | None
    error_type: str | None

    @property
    def is_error(self) -> bool:
        """One definition of "error" for every exporter, so their counts agree."""
        return self.error_type is not None or self.status >= 400
