"""One-hour prompt-cache writes: read from every Bedrock answer shape, kept on the way to Converse, priced at 2x."""

import base64
import json
from decimal import Decimal

import pytest

from kong_plugins.context import Usage
from kong_plugins.formats import anthropic, converse
from kong_plugins.formats.body import RequestError
from kong_plugins.metering.pricing import DEFAULT_PRICES, PriceTable

SPLIT = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 3000,
         "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000}}


def test_an_invoke_body_gives_the_hour_written():
    usage = anthropic.usage_from_message({"usage": SPLIT})
    assert (usage.cache_write, usage.cache_write_1h) == (3000, 2000)
    assert anthropic.usage_from_message({"usage": {**SPLIT, "cache_creation": None}}).cache_write_1h == 0


def _chunk(event: dict) -> bytes:
    return json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode()}).encode()


def test_a_stream_keeps_the_hour_from_message_start_under_bedrocks_final_count():
    decoder = anthropic.InvokeStreamDecoder()
    events = [{"type": "message_start", "message": {"usage": {**SPLIT, "output_tokens": 1}}},
              {"type": "message_stop", "amazon-bedrock-invocationMetrics": {
                  "inputTokenCount": 10, "outputTokenCount": 5, "cacheReadInputTokenCount": 0,
                  "cacheWriteInputTokenCount": 3000}}]
    for event in events:
        list(decoder.feed("chunk", _chunk(event)))
    assert decoder.usage == Usage(input=10, output=5, cache_write=3000, cache_write_1h=2000)


def test_converse_cache_details_give_the_hour_and_anthropic_clients_see_the_split():
    usage = converse.usage_from_converse({"inputTokens": 10, "outputTokens": 5, "cacheWriteInputTokens": 3000,
                                          "cacheDetails": [{"ttl": "5m", "inputTokens": 1000},
                                                           {"ttl": "1h", "inputTokens": 2000}]})
    assert usage.cache_write_1h == 2000
    assert converse.anthropic_usage(usage)["cache_creation"] == SPLIT["cache_creation"]


def test_an_hour_asked_of_a_converse_model_is_a_cache_point_with_that_ttl():
    request = {"max_tokens": 10, "system": [{"type": "text", "text": "policy", "cache_control": {
        "type": "ephemeral", "ttl": "1h"}}], "messages": [{"role": "user", "content": [
            {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "ttl": "5m"}}]}]}
    body = converse.request_from_anthropic(request)
    assert body["system"][-1] == {"cachePoint": {"type": "default", "ttl": "1h"}}
    assert body["messages"][0]["content"][-1] == {"cachePoint": {"type": "default"}}


def test_an_unknown_ttl_is_a_request_error():
    request = {"max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "ttl": "2h"}}]}]}
    with pytest.raises(RequestError) as exc:
        converse.request_from_anthropic(request)
    assert exc.value.param == "messages.0.content.0.cache_control"


def test_an_hour_costs_twice_the_input_price_and_five_minutes_one_and_a_quarter():
    sonnet = DEFAULT_PRICES["sonnet"]
    usage = Usage(cache_write=3000, cache_write_1h=2000)
    assert sonnet.cost_usd(usage) == (1000 * Decimal("3.30") * Decimal("1.25")
                                      + 2000 * Decimal("3.30") * 2) / 1_000_000
    assert sonnet.cost_usd(usage) > sonnet.cost_usd(Usage(cache_write=3000))


def test_a_configured_price_and_a_tier_scale_the_hour_too():
    table = PriceTable.from_config([{"model": "m", "input": 1, "output": 2, "cache_write": 1.5},
                                    {"model": "n", "input": 1, "output": 2, "cache_write_1h": 3}])
    hour = Usage(cache_write=1_000_000, cache_write_1h=1_000_000)
    assert table.for_model("m").cost_usd(hour) == Decimal("2.4")      # 1.6 x the configured 5-minute write
    assert table.for_model("n").cost_usd(hour) == Decimal("3")
    assert table.for_model("n", "flex").cost_usd(hour) == Decimal("1.5")
