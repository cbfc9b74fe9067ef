"""`GET /v1/budget`: what the caller's key may still spend, without spending anything.

A developer refused with a 429 (or about to start a long Claude Code session)
wants the three windows token-meter enforces, how much of each is used and when
it reopens; the same figures as the X-RateLimit-* and X-Budget-* headers, which
only come back on a model call. token-meter answers it in access: no model call,
nothing metered. Pure: built from the limits, the store's totals and the clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kong_plugins.metering.budget import Totals, Windows
from kong_plugins.metering.limits import Limits
from kong_plugins.metering.pricing import usd_text

PATH = "/v1/budget"
CONSUMER_ARG = "consumer"
"""`?consumer=<username or id>`: another consumer's budget, for the roles in token-meter's budget_readers."""
OBJECT = "gateway.budget"


def render(limits: Limits, totals: Totals | None, windows: Windows, now: datetime, consumer: str | None,
           role: str) -> dict[str, Any]:
    """The caller's windows; an unlimited window is null (`totals` None: nothing is limited, nothing counted).

    `used` includes calls in flight at their reserved worst case, as the next reservation sees it.
    """
    started = int(now.timestamp())
    totals = totals or Totals(0, 0, 0)
    return {
        "object": OBJECT,
        "consumer": consumer,
        "role": role,
        "tokens_per_minute": _window(limits.tokens_per_minute, totals.minute_tokens,
                                     started + windows.seconds_to_minute, int),
        "tokens_per_day": _window(limits.tokens_per_day, totals.day_tokens, started + windows.seconds_to_day, int),
        "monthly_budget_usd": _window(limits.monthly_budget_micro_usd, totals.month_micro_usd,
                                      started + windows.seconds_to_month, usd_text),
    }


def _window(limit: int | None, used: int, resets_at: int, shown: Any) -> dict[str, Any] | None:
    if limit is None:
        return None
    return {"limit": shown(limit), "used": shown(max(0, used)), "remaining": shown(max(0, limit - used)),
            "resets_at": resets_at}
