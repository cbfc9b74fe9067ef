"""Latency-optimized inference (``performanceConfig``): request, check, echo.

Converse/ConverseStream ask in the body (``performanceConfig: {"latency": ...}``), InvokeModel and its stream in
the ``X-Amzn-Bedrock-PerformanceConfig-Latency`` header; absent means ``standard``. Bedrock echoes the setting
that served (InvokeModel: the same header on its response; Converse: ``performanceConfig`` in the body or the
stream's ``metadata`` event). The emulator serves either setting for every model and echoes only one that was
asked for: Bedrock offers ``optimized`` for a few models in a few regions, and what it answers elsewhere is not
modelled here. CountTokens takes none.
"""

from __future__ import annotations

from typing import Any

from .errors import constraint, validation_errors
from .guardrails import Headers

LATENCIES = ("standard", "optimized")
LATENCY_HEADER = "X-Amzn-Bedrock-PerformanceConfig-Latency"


def _checked(value: Any, where: str) -> str:
    if value not in LATENCIES:
        raise validation_errors([constraint(value, where, f"Member must satisfy enum value set: "
                                                          f"[{', '.join(LATENCIES)}]")])
    return value


def from_header(headers: Headers | None) -> str | None:
    """The latency an InvokeModel header asks for (None: none asked)."""
    value = headers.get(LATENCY_HEADER) if headers is not None else None
    return None if value is None else _checked(value, "performanceConfigLatency")


def from_converse(body: Any) -> str | None:
    """The latency a Converse body asks for (None: none asked)."""
    config = body.get("performanceConfig") if isinstance(body, dict) else None
    if config is None:
        return None
    value = config.get("latency") if isinstance(config, dict) else None
    return None if value is None else _checked(value, "performanceConfig.latency")


def echo(latency: str | None) -> dict[str, Any]:
    """Converse's ``performanceConfig`` member, when one was asked for (its body and the stream's ``metadata``)."""
    return {"performanceConfig": {"latency": latency}} if latency else {}
