"""Who may spend how much: limits per role, overridden per consumer.

Tokens that count against the token windows: input + output, plus cache
writes (fresh input the model processes) and, only if configured, cache reads
(served from cache at a tenth of the price; Claude Code's calls are mostly
cache reads, so counting them would exhaust token windows without real cost).
Every token type always counts in dollars.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Mapping

from kong_plugins.context import Usage
from kong_plugins.metering.pricing import MICRO


@dataclass(frozen=True)
class Limits:
    tokens_per_minute: int | None = None
    tokens_per_day: int | None = None
    monthly_budget_micro_usd: int | None = None
    reserve_output_cap: int | None = None    # cap on the output tokens reserved up front (None: max_tokens)
    forecast_cache_reads: bool = False       # reserve a prompt's likely cache read as one (metering.cache_forecast)

    @property
    def unlimited(self) -> bool:
        return self.tokens_per_minute is None and self.tokens_per_day is None and \
            self.monthly_budget_micro_usd is None


@dataclass(frozen=True)
class TokenCounting:
    cache_reads: bool = False
    cache_writes: bool = True

    def counted(self, usage: Usage) -> int:
        return usage.input + usage.output + (usage.cache_read if self.cache_reads else 0) + \
            (usage.cache_write if self.cache_writes else 0)


class LimitPolicy:
    def __init__(self, by_role: Mapping[str, Limits], by_consumer: Mapping[str, dict[str, Any]],
                 conflicts: list[str] | None = None) -> None:
        self.by_role = dict(by_role)
        self.by_consumer = dict(by_consumer)
        self.conflicts = conflicts or []
        """Roles and consumers given limits twice (logged at start): the first entry is used, as a file reads."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LimitPolicy:
        by_role: dict[str, Limits] = {}
        by_consumer: dict[str, dict[str, Any]] = {}
        conflicts: list[str] = []
        for entry in config.get("limits") or []:
            _first_claim(by_role, "role", entry["role"], _limits(entry, Limits()), conflicts)
        for entry in config.get("consumer_overrides") or []:
            _first_claim(by_consumer, "consumer", entry["consumer"], dict(entry), conflicts)
        return cls(by_role, by_consumer, conflicts)

    def limits_for(self, role: str | None, consumer_names: tuple[str, ...]) -> Limits:
        """The role's limits, with any field a consumer override sets (by username or id) replaced."""
        limits = self.by_role.get(role or "", Limits())
        for name in consumer_names:
            if name in self.by_consumer:
                return _limits(self.by_consumer[name], limits)
        return limits


def _first_claim(table: dict[str, Any], what: str, name: str, value: Any, conflicts: list[str]) -> None:
    """The first entry for a name keeps it (a file reads top down); a different later one is a conflict, noted."""
    if table.setdefault(name, value) != value:
        conflicts.append(f"{what} {name!r} has limits twice: the first entry is used")


def _limits(entry: Mapping[str, Any], base: Limits) -> Limits:
    changes: dict[str, Any] = {}
    for key in ("tokens_per_minute", "tokens_per_day", "reserve_output_cap"):
        if key in entry and entry[key] is not None:
            changes[key] = int(entry[key])
    if entry.get("forecast_cache_reads") is not None:
        changes["forecast_cache_reads"] = bool(entry["forecast_cache_reads"])
    if entry.get("monthly_budget_usd") is not None:
        changes["monthly_budget_micro_usd"] = int(Decimal(str(entry["monthly_budget_usd"])) * MICRO)
    return replace(base, **changes)
