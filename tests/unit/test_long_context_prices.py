"""Claude Sonnet 4.5's long-context rates: a call whose prompt passes 200k tokens is billed whole at them.

The expected rates are LiteLLM's price map for us.anthropic.claude-sonnet-4-5-20250929-v1:0 (USD per 1M
tokens: input 6.60, output 24.75, cache write 8.25, 1-hour write 13.20, cache read 0.66 past 200k; 3.30,
16.50, 4.125, 6.60 and 0.33 below), typed here rather than taken from the code under test.
"""

import uuid
from decimal import Decimal

from kong_plugins.context import Consumer, RequestContext, Usage
from kong_plugins.metering.meter import Meter
from kong_plugins.metering.pricing import PriceTable

SHIPPED = PriceTable.from_config(None)


def usd(*terms: tuple[int, str]) -> Decimal:
    return sum((count * Decimal(rate) for count, rate in terms), Decimal(0)) / Decimal(1_000_000)


def test_past_200k_tokens_of_prompt_the_whole_call_is_billed_at_the_long_context_rates():
    sonnet = SHIPPED.for_model("sonnet")
    at_threshold = Usage(input=1_000, cache_read=198_500, cache_write=500, cache_write_1h=100, output=2_000)
    assert at_threshold.prompt == 200_000
    assert sonnet.cost_usd(at_threshold) == usd((1_000, "3.30"), (198_500, "0.33"), (400, "4.125"), (100, "6.60"),
                                                (2_000, "16.50"))
    past = Usage(input=1_001, cache_read=198_500, cache_write=500, cache_write_1h=100, output=2_000)
    assert sonnet.cost_usd(past) == usd((1_001, "6.60"), (198_500, "0.66"), (400, "8.25"), (100, "13.20"),
                                        (2_000, "24.75"))
    assert SHIPPED.for_model("haiku").cost_usd(Usage(input=300_000)) == usd((300_000, "1.10"))   # no such rates


def test_openai_n_goes_by_one_calls_prompt_and_flex_halves_the_long_context_rates():
    sonnet = SHIPPED.for_model("sonnet")
    two_choices = Usage.of_calls([Usage(input=150_000, output=10), Usage(input=150_000, output=20)])
    assert (two_choices.calls, two_choices.prompt) == (2, 300_000)
    assert sonnet.cost_usd(two_choices) == usd((300_000, "3.30"), (30, "16.50"))     # 150k each: not long
    long_two = Usage.of_calls([Usage(input=250_000, output=10), None])               # one choice reported nothing
    assert long_two.calls == 2 and sonnet.cost_usd(long_two) == usd((250_000, "3.30"), (10, "16.50"))
    assert SHIPPED.for_model("sonnet", "flex").cost_usd(Usage(input=250_000, output=10)) == \
        usd((250_000, "3.30"), (10, "12.375"))                                        # (6.60, 24.75) / 2


def test_an_override_keeps_the_long_context_ratios_or_sets_its_own():
    table = PriceTable.from_config([
        {"model": "sonnet", "input": 3, "output": 15},                                  # the global profile's rates
        {"model": "my-sonnet-4", "input": 3, "output": 15,
         "long_context": {"above_prompt_tokens": 100_000, "input_factor": 2, "output_factor": None}},
        {"model": "haiku", "input": 1, "output": 5, "long_context": {"above_prompt_tokens": None}}])
    assert table.for_model("sonnet").cost_usd(Usage(input=200_001, output=1)) == usd((200_001, "6"), (1, "22.5"))
    assert table.for_model("my-sonnet-4").cost_usd(Usage(input=100_001, output=2)) == \
        usd((100_001, "6"), (2, "22.5"))                                                # output factor: 1.5 unset
    assert table.for_model("haiku").cost_usd(Usage(input=300_000)) == usd((300_000, "1"))


def test_the_reservation_of_a_long_prompt_is_priced_at_the_long_context_rates():
    meter = Meter({"limits": [{"role": "developer", "monthly_budget_usd": 10}]})

    def reserved(planned_input: int) -> int:
        ctx = RequestContext(request_id="r", consumer=Consumer(id=f"id-{uuid.uuid4()}", username=None, tags=()),
                             body=None)
        ctx.model, ctx.planned_input, ctx.planned_output = "sonnet", planned_input, 1_000
        assert meter.reserve(ctx, "developer") is None
        return ctx.reservation.charge.micro_usd

    assert reserved(200_000) == int(usd((200_000, "3.30"), (1_000, "16.50")) * 1_000_000)
    assert reserved(250_000) == int(usd((250_000, "6.60"), (1_000, "24.75")) * 1_000_000)
