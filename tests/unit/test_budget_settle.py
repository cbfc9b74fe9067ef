"""What a settle leaves: the remaining-budget gauges as the store holds the windows (other calls in flight
included), counters never below nothing, and a cache write reserved at its price."""

from __future__ import annotations

import uuid

import pytest

from kong_plugins import metrics
from kong_plugins.context import Consumer, RequestContext, Usage
from kong_plugins.formats.api import ApiFormat
from kong_plugins.metering.budget import Charge, MemoryBudgetStore, Totals, Windows
from kong_plugins.metering.estimate import estimate_input_tokens
from kong_plugins.metering.limits import Limits
from kong_plugins.metering.meter import Meter, _subject


def _ctx(consumer: Consumer, planned_input: int, planned_output: int, prompt: dict | None = None) -> RequestContext:
    c = RequestContext(request_id=str(uuid.uuid4()), consumer=consumer, body=None)
    c.api, c.model, c.planned_input, c.planned_output, c.prompt = ApiFormat.ANTHROPIC, "haiku", planned_input, \
        planned_output, prompt
    return c


def test_the_gauges_after_a_settle_count_the_calls_still_in_flight_as_reserved_and_the_others_as_used():
    """They were the settling call's reservation-time windows plus its difference: an overlapping call's worst
    case stayed in them after it settled, until the consumer's next call."""
    meter = Meter({"limits": [{"role": "guest", "tokens_per_day": 100_000}]})
    consumer = Consumer(id=str(uuid.uuid4()), username=f"gauge-{uuid.uuid4()}", tags=())
    calls = [_ctx(consumer, 5, 5000) for _ in range(3)]
    for call in calls:
        assert meter.reserve(call, "guest") is None
    day = metrics.tokens_remaining.labels(consumer=metrics.consumer_label(consumer.username), role="guest",
                                          window="day")
    in_flight = 3
    for call in calls:
        call.usage = Usage(input=5, output=13)
        meter.settle(call)
        in_flight -= 1
        assert day._value.get() == 100_000 - 18 * (3 - in_flight) - 5005 * in_flight


def test_the_memory_store_never_takes_a_counter_below_nothing():
    store, windows = MemoryBudgetStore(), Windows.at()
    store.reserve("s", Charge(100, 50), Limits(), windows)
    assert store.adjust("s", windows, Charge(-300, -70)) == Totals(0, 0, 0)


HOUR = {"type": "ephemeral", "ttl": "1h"}


def _cached_prompt(i: int, ttl: dict) -> dict:
    """~8,000 tokens of system prompt with a cache point (its own text: no call reads another's cache)."""
    return {"system": [{"type": "text", "text": f"{i} " + "policy " * 4600, "cache_control": ttl}],
            "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("ttl, rate", [(HOUR, 2), ({"type": "ephemeral"}, 1.25)])
def test_concurrent_cache_writes_spend_no_more_than_the_budget_and_one_call(ttl, rate):
    """A cache write costs 1.25x input (2x for an hour): reserved as plain input, twelve concurrent calls each
    writing ~8,000 tokens an hour were admitted against a $0.05 budget as if each cost half of what it did."""
    meter = Meter({"limits": [{"role": "guest", "monthly_budget_usd": 0.05}]})
    consumer = Consumer(id=str(uuid.uuid4()), username="writer", tags=())
    admitted = []
    for i in range(12):
        prompt = _cached_prompt(i, ttl)
        call = _ctx(consumer, estimate_input_tokens(prompt), 10, prompt)
        if meter.reserve(call, "guest") is None:
            admitted.append(call)
    one_call = admitted[0].reservation.charge.micro_usd
    written = estimate_input_tokens(_cached_prompt(0, ttl)) - 3
    assert one_call >= admitted[0].price.cost_micro_usd(Usage(input=3, output=10, cache_write=written,
                                                               cache_write_1h=written if rate == 2 else 0))
    for call in admitted:             # each wrote what its reservation said it might
        call.usage = Usage(input=3, output=10, cache_write=written, cache_write_1h=written if rate == 2 else 0)
        meter.settle(call)
    spent = meter.store.totals(_subject(consumer), Windows.at()).month_micro_usd
    assert spent <= 50_000 + one_call


def test_the_cost_header_the_request_summary_and_the_budget_charge_are_one_figure():
    """haiku, 55 in and 12 out: $0.0001265 exactly. The budget is charged whole micro-dollars rounded half up
    (127); the header and the log said 0.000126 (Python's half-even), so a day of headers did not add up to
    what GET /v1/budget showed."""
    from decimal import Decimal
    from kong_plugins.metering.pricing import DEFAULT_PRICES, PriceTable
    from kong_plugins.metering.summary import Outcome, RequestSummary
    from kong_plugins.relay.app import usage_headers
    call = _ctx(Consumer(id="c", username="c", tags=()), 55, 12)
    call.price_table, call.usage = PriceTable(DEFAULT_PRICES), Usage(input=55, output=12)
    assert DEFAULT_PRICES["haiku"].cost_usd(call.usage) == Decimal("0.0001265")
    assert call.price.cost_micro_usd(call.usage) == 127
    assert dict(usage_headers(call))["X-Token-Cost-USD"] == "0.000127"
    summary = RequestSummary.build(Outcome(call.request_id, 200, 1.0, "c"), call, "other")
    assert summary.cost_usd == Decimal("0.000127") and summary.event().cost_usd == 0.000127
