"""GET /v1/budget's pure parts: the windows rendered from limits, totals and the clock; Meter.status."""

import uuid
from datetime import datetime, timezone

from kong_plugins import metrics
from kong_plugins.context import Consumer, RequestContext, Usage
from kong_plugins.metering import budget_status
from kong_plugins.metering.budget import BudgetStoreError, MemoryBudgetStore, Totals, Windows
from kong_plugins.metering.limits import Limits
from kong_plugins.metering.meter import Meter

LEAP_EVE = datetime(2028, 2, 29, 23, 59, 30, 700000, tzinfo=timezone.utc)
MIDNIGHT = int(datetime(2028, 3, 1, tzinfo=timezone.utc).timestamp())


def test_every_window_reopens_at_its_utc_boundary():
    body = budget_status.render(Limits(100, 1000, 5_000_000), Totals(30, 300, 1_250_000), Windows.at(LEAP_EVE),
                                LEAP_EVE, "dev-user-1", "developer")
    assert body == {
        "object": "gateway.budget", "consumer": "dev-user-1", "role": "developer",
        "tokens_per_minute": {"limit": 100, "used": 30, "remaining": 70, "resets_at": MIDNIGHT},
        "tokens_per_day": {"limit": 1000, "used": 300, "remaining": 700, "resets_at": MIDNIGHT},
        "monthly_budget_usd": {"limit": "5.000000", "used": "1.250000", "remaining": "3.750000",
                               "resets_at": MIDNIGHT},
    }
    noon = datetime(2026, 11, 24, 12, 0, 5, tzinfo=timezone.utc)
    later = budget_status.render(Limits(100, 1000, 1), Totals(0, 0, 0), Windows.at(noon), noon, None, "other")
    assert later["tokens_per_minute"]["resets_at"] == int(datetime(2026, 11, 24, 12, 1, tzinfo=timezone.utc)
                                                          .timestamp())
    assert later["tokens_per_day"]["resets_at"] == int(datetime(2026, 11, 25, tzinfo=timezone.utc).timestamp())
    assert later["monthly_budget_usd"]["resets_at"] == int(datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp())


def test_an_unlimited_window_is_null_and_an_overspent_one_has_nothing_left():
    """Output above the reserved cap is charged at settle, so `used` can pass the limit; `remaining` stops at 0."""
    body = budget_status.render(Limits(tokens_per_minute=100, monthly_budget_micro_usd=7), Totals(130, 130, 9),
                                Windows.at(LEAP_EVE), LEAP_EVE, None, "other")
    assert body["tokens_per_day"] is None and body["consumer"] is None
    assert body["tokens_per_minute"] | {"resets_at": 0} == {"limit": 100, "used": 130, "remaining": 0,
                                                           "resets_at": 0}
    assert body["monthly_budget_usd"]["used"] == "0.000009" and body["monthly_budget_usd"]["remaining"] == "0.000000"


def _ctx() -> RequestContext:
    c = RequestContext(request_id="r", consumer=Consumer(id=f"id-{uuid.uuid4()}", username="ops", tags=()), body=None)
    c.model, c.planned_input, c.planned_output = "haiku", 40, 60
    return c


def test_status_counts_a_call_in_flight_at_its_reservation_then_at_what_it_used():
    meter = Meter({"limits": [{"role": "guest", "tokens_per_day": 1000, "monthly_budget_usd": 1}]})
    caller = _ctx()
    before = meter.status(caller, caller.consumer, "guest")
    assert before.status == 200 and before.body["tokens_per_day"]["used"] == 0
    assert meter.reserve(caller, "guest") is None                  # 40 + 60 reserved while the call runs
    during = meter.status(caller, caller.consumer, "guest")
    assert during.body["tokens_per_day"] | {"resets_at": 0} == {"limit": 1000, "used": 100, "remaining": 900,
                                                               "resets_at": 0}
    assert during.headers["X-RateLimit-Remaining-Tokens-Day"] == "900"    # the headers a model call carries
    caller.usage = Usage(input=40, output=5)
    meter.settle(caller)
    after = meter.status(caller, caller.consumer, "guest")
    assert after.body["tokens_per_day"]["used"] == 45
    assert after.body["monthly_budget_usd"]["used"] == "0.000072"   # haiku: 40 x $1.10/M + 5 x $5.50/M, half up
    other = _ctx()
    assert meter.status(other, other.consumer, "guest").body["tokens_per_day"]["used"] == 0   # each has its own


def test_status_of_an_unlimited_caller_reads_no_store_and_an_unreadable_store_is_a_503():
    class DownStore(MemoryBudgetStore):
        def totals(self, subject, windows):
            raise BudgetStoreError("ConnectionError")

    meter = Meter({"limits": [{"role": "guest", "tokens_per_minute": 10}]})
    meter.store = DownStore()
    admin = meter.status(_ctx(), None, "admin")                          # no limits for the role: nothing counted
    assert admin.status == 200 and admin.headers == {}
    assert [admin.body[k] for k in ("tokens_per_minute", "tokens_per_day", "monthly_budget_usd")] == [None] * 3
    errors = metrics.budget_store_errors_total.labels(operation="status")
    seen = errors._value.get()
    down = meter.status(_ctx(), None, "guest")
    assert down.status == 503 and down.body["error"]["type"] == "server_error" and down.headers["Retry-After"] == "5"
    assert errors._value.get() == seen + 1


def test_an_empty_budget_readers_list_lets_nobody_read_another_consumers_budget():
    from kong_plugins.token_meter import Plugin
    assert Plugin({"budget_readers": []}).budget_readers == frozenset()
    assert Plugin({"budget_readers": ["ops"]}).budget_readers == {"ops"}
    assert Plugin({}).budget_readers == {"admin"}
