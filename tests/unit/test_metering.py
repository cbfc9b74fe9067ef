"""token-meter's pure parts: prices, limits, windows, reserve and settle."""

import uuid
from datetime import datetime, timezone
from dataclasses import replace
from decimal import Decimal

import pytest

from kong_plugins.context import Consumer, RequestContext, Usage
from kong_plugins.formats.api import ApiFormat
from kong_plugins import metrics
from kong_plugins.metering.budget import (BudgetStoreError, Charge, MemoryBudgetStore, Totals, Unsettled, Windows,
                                          first_exceeded)
from kong_plugins.metering.limits import Limits, LimitPolicy, TokenCounting
from kong_plugins.metering.meter import Meter, budget_headers
from kong_plugins.metering.pricing import Price, PriceTable


def test_cost_by_hand_sonnet_regional_with_cache():
    # 1,000 input x $3.30/M + 500 output x $16.50/M + 20,000 cache reads x $0.33/M + 2,000 writes x $4.125/M
    # = 0.0033 + 0.00825 + 0.0066 + 0.00825 = 0.0264
    usage = Usage(input=1000, output=500, cache_read=20000, cache_write=2000)
    sonnet = PriceTable.from_config(None).for_model("sonnet")
    assert sonnet.cost_usd(usage) == Decimal("0.0264")
    assert sonnet.cost_micro_usd(usage) == 26400


def test_cost_by_hand_haiku_and_rounding_to_micro_dollars():
    haiku = PriceTable.from_config(None).for_model("haiku")
    # 7 x 1.10 + 3 x 5.50 = 7.7 + 16.5 = 24.2 micro-dollars -> 24 (half up)
    assert haiku.cost_usd(Usage(input=7, output=3)) == Decimal("0.0000242")
    assert haiku.cost_micro_usd(Usage(input=7, output=3)) == 24
    assert haiku.cost_micro_usd(Usage(input=5, output=0)) == 6          # 5.5 -> 6


def test_price_overrides_defaults_and_unknown_models():
    table = PriceTable.from_config([{"model": "haiku", "input": 1, "output": 5},
                                    {"model": "default", "input": 10, "output": 50}])
    haiku = table.for_model("haiku")
    assert replace(haiku, guardrail_units={}) == Price.of(1, 5, "0.1", "1.25")     # cache prices derived from input
    assert haiku.guardrail_units["topic"] == Decimal("0.15")                      # guardrail units: shipped prices
    assert table.for_model("unknown-model").output == Decimal(50)
    assert PriceTable.from_config(None).for_model("unknown").output == Decimal("27.50")   # dearest known


def test_limits_per_role_and_per_consumer_override():
    policy = LimitPolicy.from_config({
        "limits": [{"role": "developer", "tokens_per_minute": 100, "tokens_per_day": 1000, "monthly_budget_usd": 10,
                    "reserve_output_cap": 50}],
        "consumer_overrides": [{"consumer": "dev-user-2", "monthly_budget_usd": 25}]})
    base = policy.limits_for("developer", ("dev-user-1", "id-1"))
    assert base == Limits(100, 1000, 10_000_000, 50)
    assert policy.limits_for("developer", ("dev-user-2", "id-2")) == Limits(100, 1000, 25_000_000, 50)
    assert policy.limits_for("admin", ()).unlimited


def test_token_counting_choice_for_cache_tokens():
    usage = Usage(input=10, output=5, cache_read=1000, cache_write=100)
    assert TokenCounting().counted(usage) == 115
    assert TokenCounting(cache_reads=True, cache_writes=False).counted(usage) == 1015


def test_windows_and_retry_after():
    w = Windows.at(datetime(2026, 2, 28, 23, 59, 30, tzinfo=timezone.utc))
    assert (w.minute, w.day, w.month) == ("202602282359", "20260228", "202602")
    assert w.retry_after("tokens_per_minute") == 30 and w.retry_after("tokens_per_day") == 30
    assert w.retry_after("monthly_budget") == 30


def test_reserve_is_all_or_nothing_and_settle_releases_the_unused_part():
    store, w = MemoryBudgetStore(), Windows.at()
    limits = Limits(tokens_per_minute=100, tokens_per_day=150, monthly_budget_micro_usd=1000)
    assert store.reserve("c", Charge(60, 100), limits, w).allowed
    refused = store.reserve("c", Charge(60, 100), limits, w)
    assert not refused.allowed and refused.exceeded == "tokens_per_minute"
    assert refused.totals == Totals(60, 60, 100)                   # nothing was reserved for the refusal
    store.adjust("c", w, Charge(20, 50).minus(Charge(60, 100)))     # used 20 tokens / 50 micro-dollars
    assert store.reserve("c", Charge(60, 100), limits, w).totals == Totals(80, 80, 150)
    assert first_exceeded(Totals(0, 100, 0), Charge(60, 0), limits) == "tokens_per_day"
    assert first_exceeded(Totals(0, 0, 950), Charge(1, 100), limits) == "monthly_budget"


def test_budget_headers():
    headers = budget_headers(Limits(100, 1000, 10_000_000), Totals(30, 300, 2_500_000))
    assert headers == {"X-RateLimit-Limit-Tokens-Minute": "100", "X-RateLimit-Remaining-Tokens-Minute": "70",
                       "X-RateLimit-Limit-Tokens-Day": "1000", "X-RateLimit-Remaining-Tokens-Day": "700",
                       "X-Budget-Limit-USD": "10.000000", "X-Budget-Remaining-USD": "7.500000"}


@pytest.fixture()
def meter():
    return Meter({"limits": [{"role": "guest", "tokens_per_minute": 500, "monthly_budget_usd": 1,
                              "reserve_output_cap": 100}]})


def ctx(planned_input, planned_output, api=ApiFormat.ANTHROPIC):
    c = RequestContext(request_id="r", consumer=Consumer(id=f"id-{planned_input}-{planned_output}", username="g",
                                                         tags=()), body=None)
    c.api, c.model, c.planned_input, c.planned_output = api, "haiku", planned_input, planned_output
    return c


def test_meter_reserves_capped_output_and_settles_actual_usage(meter):
    c = ctx(200, 4096)
    assert meter.reserve(c, "guest") is None
    assert c.reservation.charge.tokens == 300                      # 200 input + 100 (capped) output
    c.usage = Usage(input=180, output=40)
    meter.settle(c)
    again = ctx(100, 4096)
    again.consumer = c.consumer
    assert meter.reserve(again, "guest") is None                   # 500 - 220 used = 280 >= 100 + 100
    assert again.budget_headers["X-RateLimit-Remaining-Tokens-Minute"] == str(500 - 220 - 200)
    third = ctx(100, 4096)
    third.consumer = c.consumer
    assert meter.reserve(third, "guest").status == 429             # 80 left < 200


def _spent(meter_, first, then, now=None):
    """`then` reserved after `first` (one consumer of its own): the second reply."""
    first.consumer = Consumer(id=f"id-{uuid.uuid4()}", username="g", tags=())
    assert meter_.reserve(first, "guest", now=now) is None
    then.consumer = first.consumer
    return meter_.reserve(then, "guest", now=now)


def test_meter_refuses_in_the_callers_format_with_retry_after(meter):
    reply = _spent(meter, ctx(300, 10), ctx(250, 10, api=ApiFormat.OPENAI))     # 310 + 260 > 500
    assert reply.status == 429 and reply.body["error"]["code"] == "rate_limit_exceeded"
    assert int(reply.headers["Retry-After"]) <= 60 and reply.headers["X-RateLimit-Remaining-Tokens-Minute"] == "190"


def test_a_request_no_window_could_ever_admit_says_so_and_that_retrying_cannot_help(meter):
    """As OpenAI's own "Request too large" 429: no Retry-After (waiting changes nothing), x-should-retry false
    (the SDKs would retry it), and what to change."""
    minute = meter.reserve(ctx(600, 10, api=ApiFormat.OPENAI), "guest")            # 610 > 500 a minute
    assert minute.status == 429 and minute.body["error"]["code"] == "rate_limit_exceeded"
    assert minute.headers == {"x-should-retry": "false"}
    assert minute.body["error"]["message"] == ("This request needs up to 610 tokens (its prompt, estimated, and "
                                               "max_tokens), more than this API key's limit of 500 tokens a minute: "
                                               "shorten the prompt or lower max_tokens.")
    day = Meter({"limits": [{"role": "guest", "tokens_per_minute": 10_000, "tokens_per_day": 500}]})
    assert "500 tokens a day" in day.reserve(ctx(600, 10, api=ApiFormat.ANTHROPIC), "guest").body["error"]["message"]
    dollars = Meter({"limits": [{"role": "guest", "monthly_budget_usd": 0.001}]})
    reply = dollars.reserve(ctx(1000, 10, api=ApiFormat.BEDROCK), "guest")         # haiku: $0.001155 at most
    assert reply.status == 429 and reply.headers["x-amzn-ErrorType"] == "ThrottlingException"
    assert reply.body["message"] == (
        "This request could cost up to $0.001155, more than this API key's whole monthly budget of $0.001000: "
        "shorten the prompt or lower max_tokens.")
    assert meter.reserve(ctx(400, 100), "guest") is None                           # 500 exactly: admitted
    choices = ctx(200, 50, api=ApiFormat.OPENAI)
    choices.planned_calls = 3                                                       # OpenAI's n: 3 x 250
    assert meter.reserve(choices, "guest").body["error"]["message"] == (
        "This request needs up to 750 tokens (its prompt, estimated, and max_tokens, for each of its 3 choices), "
        "more than this API key's limit of 500 tokens a minute: shorten the prompt or ask for fewer choices or "
        "lower max_tokens.")


def test_sdks_are_told_not_to_retry_only_when_the_window_reopens_later_than_they_wait():
    """The OpenAI and Anthropic SDKs honour Retry-After up to 60 s; past that they retry within seconds."""
    day = Meter({"limits": [{"role": "guest", "tokens_per_minute": 10_000, "tokens_per_day": 500}]})
    minute = Meter({"limits": [{"role": "guest", "tokens_per_minute": 500}]})
    cases = [(day, datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc), "false"),      # twelve hours to wait
             (day, datetime(2026, 11, 23, 23, 59, 30, tzinfo=timezone.utc), None),    # the day ends in 30 s
             (minute, datetime(2026, 11, 23, 12, 0, 1, tzinfo=timezone.utc), None)]
    for meter_, now, should_retry in cases:
        reply = _spent(meter_, ctx(300, 10), ctx(250, 10, api=ApiFormat.OPENAI), now=now)
        assert reply.status == 429 and reply.headers.get("x-should-retry") == should_retry, now
        assert (int(reply.headers["Retry-After"]) > 60) == (should_retry == "false")


def test_outcome_comes_from_our_answer_or_else_from_kong():
    from kong_plugins.context import Consumer, ContextStore
    from kong_plugins.metering.summary import Outcome

    ctx = ContextStore().create("rid-9", consumer=Consumer.from_pdk({"id": "c-1", "username": "dev-user-1"}), body=b"")
    assert Outcome.from_context(ctx, ctx.created_at + 1.0) is None        # nobody on our side answered yet
    ctx.answered_status = 429
    assert Outcome.from_context(ctx, ctx.created_at + 0.25) == Outcome("rid-9", 429, 250.0, "dev-user-1")
    ctx.consumer = Consumer.from_pdk({"id": "c-2"})
    assert Outcome.from_context(ctx, ctx.created_at).consumer == "c-2"    # no username: the id
    serialized = {"request": {"id": "rid-7", "headers": {"x-api-key": "secret"}}, "response": {"status": 401},
                  "latencies": {"request": 3}, "consumer": None}
    assert Outcome.from_serialized(serialized) == Outcome("rid-7", 401, 3.0, None)
    assert Outcome.from_serialized({}) == Outcome("", 0, 0.0, None)
    assert Outcome.from_serialized({"consumer": {"id": "c-3", "username": "ops-user"}}).consumer == "ops-user"
    assert Outcome.from_serialized({"consumer": {"id": "c-4", "username": ""}}).consumer == "c-4"


def test_a_stream_cut_before_its_usage_is_charged_its_prompt_estimate_and_what_it_streamed():
    from kong_plugins.metering.estimate import StreamedOutput
    streamed = StreamedOutput()
    for piece in ({"type": "text_delta", "text": "abcdefghi"}, {"type": "input_json_delta", "partial_json": '{"a":'},
                  {"type": "thinking_delta", "thinking": "hmm"}):
        streamed.note({"type": "content_block_delta", "delta": piece})
    assert not streamed.finished and streamed.chars == 17
    assert streamed.at_least(Usage(), planned_input=120) == Usage(input=120, output=5)          # ceil(17 / 4)
    assert streamed.at_least(Usage(input=80, output=9), 120) == Usage(input=80, output=9)       # Bedrock's word
    assert streamed.at_least(Usage(cache_read=50, output=2), 120) == Usage(cache_read=50, output=5)
    streamed.note({"type": "message_stop"})
    assert streamed.finished


def test_a_provider_stream_counts_its_text_until_its_usage_chunk():
    from kong_plugins.formats.openai_passthrough import ChunkPassthrough
    chunks = ChunkPassthrough(client_wants_usage=False)
    text = (b'data: {"choices":[{"index":0,"delta":{"content":"abcdefgh",'
            b'"tool_calls":[{"function":{"arguments":"{}"}}]}}]}\n\n')
    assert list(chunks.feed(text)) == [text] and chunks.streamed.chars == 10 and not chunks.streamed.finished
    usage = b'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\n'
    assert list(chunks.feed(usage)) == [] and chunks.streamed.finished and chunks.usage == Usage(input=7, output=3)


def test_a_call_the_gateway_stopped_waiting_for_is_charged_as_planned():
    from kong_plugins.metering.estimate import as_planned
    assert as_planned(120, 300) == Usage(input=120, output=300)
    assert as_planned(120, 300, calls=3) == Usage(input=360, output=900, calls=3)   # OpenAI's n: a call per choice


def test_the_remaining_gauges_say_what_a_call_left_once_it_settles_not_its_worst_case(meter):
    """They used to be set only at reservation: the in-flight worst case stayed in them until the next call."""
    c = ctx(200, 4096)
    c.consumer = Consumer(id=f"id-{uuid.uuid4()}", username="gauged", tags=())    # the memory store is the process's
    assert meter.reserve(c, "guest") is None
    labels = {"consumer": metrics.consumer_label("gauged"), "role": "guest"}
    minute = metrics.tokens_remaining.labels(window="minute", **labels)
    assert minute._value.get() == 500 - 300                         # reserved: 200 input + 100 capped output
    c.usage = Usage(input=180, output=40)
    meter.settle(c)
    assert minute._value.get() == 500 - 220
    dollars = metrics.budget_remaining_dollars.labels(**labels)._value.get()
    assert dollars == pytest.approx(1 - c.price.cost_micro_usd(c.usage) / 1_000_000)


def test_consumers_past_the_label_limit_set_no_remaining_gauge(meter, monkeypatch):
    """They share the label `other`, where a gauge would hold whichever of them settled last (operations pass)."""
    monkeypatch.setattr(metrics, "_seen_consumers", {"first"})
    monkeypatch.setattr(metrics, "_CONSUMER_LIMIT", [1])
    c = ctx(200, 4096)
    c.consumer = Consumer(id=f"id-{uuid.uuid4()}", username="second", tags=())
    before = metrics.tokens_remaining.labels(consumer="other", role="guest", window="minute")._value.get()
    assert meter.reserve(c, "guest") is None
    c.usage = Usage(input=180, output=40)
    meter.settle(c)
    assert metrics.tokens_remaining.labels(consumer="other", role="guest", window="minute")._value.get() == before


class _FlakyStore(MemoryBudgetStore):
    """A store that refuses its next `fails` adjustments (Redis down, or a timeout when `maybe_applied`)."""

    def __init__(self, fails: int, maybe_applied: bool = False) -> None:
        super().__init__()
        self.fails, self.maybe_applied = fails, maybe_applied

    def adjust(self, subject, windows, delta, token=None):
        if self.fails:
            self.fails -= 1
            raise BudgetStoreError("ConnectionError", maybe_applied=self.maybe_applied)
        return super().adjust(subject, windows, delta, token)


def test_a_settle_the_store_refused_is_replayed_by_the_next_one_that_goes_through():
    windows = Windows.at()
    store, waiting = _FlakyStore(fails=3), Unsettled()
    store.reserve("s", Charge(1000, 0), Limits(), windows)
    for tokens in (-100, -200):
        waiting.add("s", windows, Charge(tokens, 0))
    assert waiting.replay(store) == 0 and len(waiting) == 2           # refused: both wait, in order
    store.fails = 0
    assert waiting.replay(store) == 2 and len(waiting) == 0
    assert store.totals("s", windows).day_tokens == 700


def test_a_settle_that_timed_out_is_not_replayed_since_the_store_may_have_applied_it():
    windows, waiting = Windows.at(), Unsettled()
    waiting.add("s", windows, Charge(-100, 0))
    waiting.add("s", windows, Charge(-5, 0))
    store = _FlakyStore(fails=1, maybe_applied=True)
    store.reserve("s", Charge(1000, 0), Limits(), windows)
    assert waiting.replay(store) == 0 and len(waiting) == 1           # the first is dropped, the second waits
    assert waiting.replay(store) == 1 and store.totals("s", windows).day_tokens == 995


def test_what_waits_is_bounded():
    waiting = Unsettled(limit=2)
    for tokens in range(3):
        waiting.add("s", Windows.at(), Charge(tokens, 0))
    assert len(waiting) == 2


def test_the_memory_store_drops_past_windows_counters_at_most_once_a_minute():
    """Past 10,000 counters it prunes; it used to scan every counter on every reservation while they stayed
    live (some 3,300 consumers active in a month)."""
    store, limits = MemoryBudgetStore(), Limits(tokens_per_minute=10**9)
    now = datetime(2026, 11, 24, 10, 0, 5, tzinfo=timezone.utc)

    def fill_past_windows():
        store._counts.update({f"kbg:old-{i}:m:202611230900": 1 for i in range(10_000)})
    fill_past_windows()
    store.reserve("s", Charge(1, 1), limits, Windows.at(now))
    assert len(store._counts) == 3                                   # only this minute's, day's, month's
    fill_past_windows()
    store.reserve("s", Charge(1, 1), limits, Windows.at(now.replace(second=50)))
    assert len(store._counts) == 10_003                              # the same minute: not scanned again
    store.reserve("s", Charge(1, 1), limits, Windows.at(now.replace(minute=1)))
    assert len(store._counts) == 3


def test_a_call_the_day_refuses_too_is_told_the_day_not_the_minute():
    """The SDKs honour Retry-After: answered with the minute window, they waited up to a minute and were refused
    again by the day (the Anthropic SDK's default retries: 60 s mid-session)."""
    meter_ = Meter({"limits": [{"role": "guest", "tokens_per_minute": 500, "tokens_per_day": 600,
                                "monthly_budget_usd": 1}]})
    now = datetime(2026, 11, 24, 10, 0, 5, tzinfo=timezone.utc)
    reply = _spent(meter_, ctx(300, 10), ctx(350, 10, api=ApiFormat.OPENAI), now=now)   # 310 + 360: both windows
    assert reply.status == 429 and reply.body["error"]["message"] == "Daily token limit reached."
    assert int(reply.headers["Retry-After"]) == 86400 - 36005 and reply.headers["x-should-retry"] == "false"
    assert first_exceeded(Totals(400, 500, 999_999), Charge(200, 2), Limits(500, 600, 1_000_000)) == "monthly_budget"
    assert first_exceeded(Totals(400, 100, 0), Charge(200, 2), Limits(500, 600, 1_000_000)) == "tokens_per_minute"
