"""Claude Sonnet 4.5 past 200k tokens of prompt (the 1M-context beta, Claude Code's `sonnet[1m]`) through the
whole stack: the cost header and the monthly budget charge the whole call at the long-context rates; a call
under the threshold at the standard ones.

Rates typed from LiteLLM's price map for us.anthropic.claude-sonnet-4-5-20250929-v1:0 (USD per 1M tokens),
not taken from the code under test.
"""

from decimal import Decimal

import anthropic
import pytest
import requests

from tests.e2e.clients import charged
from tests.stack import GatewayStack

STANDARD = {"input": "3.30", "output": "16.50", "cache_read": "0.33", "cache_write": "4.125"}
LONG = {"input": "6.60", "output": "24.75", "cache_read": "0.66", "cache_write": "8.25"}
LINE = "Order 1042 left the Reno warehouse on Tuesday and reached the customer on Friday.\n"   # 84 bytes


@pytest.fixture(scope="module")
def stack():
    with GatewayStack() as running:   # budgets of its own: the month's spend starts at zero
        yield running


def _month_used(stack) -> Decimal:
    r = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": "dev-developer-key"}, timeout=15)
    assert r.status_code == 200
    return Decimal(r.json()["monthly_budget_usd"]["used"])


def _call(stack, tokens: int):
    """A non-streamed Sonnet call with about `tokens` tokens of prompt (the emulator counts 4 bytes a token)."""
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0, timeout=60)
    text = LINE * (tokens * 4 // len(LINE)) + "In one sentence, when did order 1042 arrive?"
    return client.beta.messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=40,
                                                         betas=["context-1m-2025-08-07"],
                                                         messages=[{"role": "user", "content": text}])


def _priced(headers, rates: dict[str, str]) -> Decimal:
    counts = {kind: int(headers[f"X-Token-Usage-{name}"]) for kind, name in
              (("input", "Input"), ("output", "Output"), ("cache_read", "Cache-Read"), ("cache_write", "Cache-Write"))}
    cost = sum((count * Decimal(rates[kind]) for kind, count in counts.items()), Decimal(0)) / Decimal(1_000_000)
    return charged(cost)


@pytest.mark.parametrize("tokens, rates, long", [(100_000, STANDARD, False), (215_000, LONG, True)])
def test_the_cost_and_the_budget_use_the_long_context_rates_past_200k_tokens_of_prompt(stack, tokens, rates, long):
    before = _month_used(stack)
    raw = _call(stack, tokens)
    message = raw.parse()
    assert raw.status_code == 200 and message.content[0].text
    prompt = message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0) + \
        (message.usage.cache_creation_input_tokens or 0)
    assert (prompt > 200_000) is long
    cost = Decimal(raw.headers["X-Token-Cost-USD"])
    assert cost == _priced(raw.headers, rates)
    assert _month_used(stack) - before == cost
