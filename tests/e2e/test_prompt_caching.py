"""OpenAI clients on Claude get Bedrock's prompt caching without asking: cheaper repeated prefixes."""

import json
import time
from decimal import Decimal

import anthropic
import pytest

from tests.e2e.clients import last_sent, metric, metric_reaches, oa

POLICY = "You are the support assistant of an online shop. " + " ".join(
    f"Rule {i}: parcels to zone {i % 7} ship within {i % 5 + 1} days." for i in range(600))
TOOL = {"type": "function", "function": {"name": "get_order_status", "parameters": {
    "type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}


def written_of(usage):
    """Tokens written to the cache (Bedrock's cacheWriteInputTokens), beside OpenAI's `cached_tokens`."""
    return usage.prompt_tokens_details.cache_write_tokens


def ask(client, question):
    raw = client.chat.completions.with_raw_response.create(
        model="haiku", max_tokens=20, messages=[{"role": "system", "content": POLICY},
                                                {"role": "user", "content": question}])
    return raw.parse().usage, float(raw.headers["X-Token-Cost-USD"])


def test_a_repeated_system_prompt_is_read_from_the_cache_and_costs_less(stack):
    client = oa(stack)
    first, first_cost = ask(client, "Where is order 42?")
    second, second_cost = ask(client, "Where is order 43?")
    written = written_of(first)
    assert first.prompt_tokens_details.cached_tokens == 0 and written > len(POLICY) // 5
    assert second.prompt_tokens_details.cached_tokens == written
    assert second.prompt_tokens == first.prompt_tokens and second_cost < first_cost / 3
    assert last_sent(stack)["body"]["system"][-1] == {"cachePoint": {"type": "default"}}


def test_a_tool_loop_reads_the_conversation_so_far_from_the_cache(stack):
    client = oa(stack)
    messages = [{"role": "system", "content": POLICY}, {"role": "user", "content": "Where is order 42? call get_order_status"}]
    turn = client.chat.completions.create(model="haiku", max_tokens=50, tools=[TOOL], messages=messages)
    call = turn.choices[0].message.tool_calls[0]
    messages += [turn.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "shipped " + "and tracked " * 300}]
    second = client.chat.completions.create(model="haiku", max_tokens=50, tools=[TOOL], messages=messages)
    messages += [second.choices[0].message.model_dump(exclude_none=True),
                 {"role": "user", "content": "And order 43?"}]
    third = client.chat.completions.create(model="haiku", max_tokens=50, tools=[TOOL], messages=messages)
    sent = last_sent(stack)["body"]
    assert sent["messages"][-1]["content"][-1] == {"cachePoint": {"type": "default"}}
    # The third turn reads everything the second wrote (system, tools, the first exchange and the tool result).
    assert third.usage.prompt_tokens_details.cached_tokens == \
        second.usage.prompt_tokens_details.cached_tokens + written_of(second.usage)
    assert third.usage.prompt_tokens_details.cached_tokens > second.usage.prompt_tokens_details.cached_tokens


@pytest.mark.parametrize("stream", [False, True])
def test_responses_api_reports_the_tokens_written_to_and_read_from_the_cache(stack, stream):
    """Responses' usage said what was read and not what was written (a write is billed at 1.25x the input), which
    Chat's cache_write_tokens and the X-Token-Usage-Cache-Write header said."""
    client = oa(stack)
    details = []
    for question in ("Where is order 42?", "Where is order 43?"):
        request = dict(model="haiku", max_output_tokens=20, input=question,
                       instructions=f"Streamed: {stream}. {POLICY}")   # a prefix of its own: written, then read
        if stream:
            with client.responses.stream(**request) as events:
                response = events.get_final_response()
        else:
            response = client.responses.create(**request)
        details.append(response.usage.input_tokens_details)
    written = details[0].cache_write_tokens
    assert written > len(POLICY) // 5 and details[0].cached_tokens == 0
    assert (details[1].cached_tokens, details[1].cache_write_tokens) == (written, 0)


@pytest.fixture(scope="module")
def sonnet_on_claude_3():
    """A stack whose `sonnet` is Claude 3 Haiku, which Bedrock caches nothing for; `opus` still falls back to it."""
    from tests.stack import GatewayStack
    claude_3 = {"bedrock_id": "anthropic.claude-3-haiku-20240307-v1:0", "fallbacks": []}
    with GatewayStack(model_overrides={"sonnet": claude_3}) as stack:
        yield stack


def test_a_claude_3_entry_gets_no_cache_point_and_still_answers(sonnet_on_claude_3):
    """Bedrock refuses a cache point on Claude 3 (the emulator too): such an entry is served without one."""
    stack = sonnet_on_claude_3
    completion = oa(stack).chat.completions.create(
        model="sonnet", max_tokens=20, messages=[{"role": "system", "content": POLICY},
                                                 {"role": "user", "content": "Where is order 42?"}])
    assert completion.choices[0].finish_reason == "stop"
    assert last_sent(stack)["body"]["system"] == [{"text": POLICY}]
    # Claude Code's cache_control is taken out rather than refused by Bedrock.
    claude_code_like = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    message = claude_code_like.messages.create(
        model="sonnet", max_tokens=20, messages=[{"role": "user", "content": "hi"}],
        system=[{"type": "text", "text": POLICY, "cache_control": {"type": "ephemeral"}}])
    assert message.stop_reason == "end_turn" and "cache_control" not in json.dumps(last_sent(stack)["body"])


def test_a_fallback_without_caching_costs_the_model_asked_for_none_of_its_caching(sonnet_on_claude_3):
    """opus caches and falls back to a Claude 3 `sonnet`: opus's calls keep Claude Code's cache points (its
    cache is read), and only the fallback's call goes without them."""
    stack = sonnet_on_claude_3
    claude_code_like = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)
    system = [{"type": "text", "text": POLICY, "cache_control": {"type": "ephemeral"}}]
    for question in ("Where is order 42?", "Where is order 43?"):
        message = claude_code_like.messages.create(model="opus", max_tokens=20, system=system,
                                                   messages=[{"role": "user", "content": question}])
    assert message.usage.cache_read_input_tokens > len(POLICY) // 5
    assert last_sent(stack)["body"]["system"] == system
    assert stack.emulator_control("POST", "/_emulator/faults", json={"type": "access_denied", "count": -1,
                                                                      "model": "opus"}).status_code == 200
    raw = claude_code_like.messages.with_raw_response.create(model="opus", max_tokens=20, system=system,
                                                             messages=[{"role": "user", "content": "Order 44?"}])
    assert raw.headers["X-Bedrock-Model"] == "sonnet" and raw.parse().stop_reason == "end_turn"
    opus_call, fallback_call = stack.emulator_control("GET", "/_emulator/requests").json()[-2:]
    assert "opus" in opus_call["model_id"] and opus_call["body"]["system"] == system
    assert "claude-3-haiku" in fallback_call["model_id"] and "cache_control" not in json.dumps(fallback_call["body"])

HOUR_SYSTEM = [{"type": "text", "text": "Kept for an hour. " + POLICY, "cache_control": {"type": "ephemeral",
                                                                                          "ttl": "1h"}}]
HAIKU = {"input": Decimal("1.10"), "output": Decimal("5.50"), "5m": Decimal("1.375"), "1h": Decimal("2.20")}


def hour_priced(usage) -> Decimal:
    """haiku's shipped prices: a 1-hour cache write at 2x input, a 5-minute one at 1.25x."""
    split = usage.cache_creation
    micro = (usage.input_tokens * HAIKU["input"] + usage.output_tokens * HAIKU["output"]
             + split.ephemeral_5m_input_tokens * HAIKU["5m"] + split.ephemeral_1h_input_tokens * HAIKU["1h"]
             + usage.cache_read_input_tokens * HAIKU["input"] / 10)
    return (micro / 1_000_000).quantize(Decimal("0.000001"))


def test_claude_codes_hour_long_cache_is_priced_at_twice_the_input(stack):
    """ENABLE_PROMPT_CACHING_1H: Claude Code asks for `ttl: "1h"`, which Bedrock bills at 2x input, not 1.25x."""
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    raw = client.messages.with_raw_response.create(model="haiku", max_tokens=20, system=HOUR_SYSTEM,
                                                   messages=[{"role": "user", "content": "Where is order 42?"}])
    usage = raw.parse().usage
    assert usage.cache_creation.ephemeral_1h_input_tokens == usage.cache_creation_input_tokens > len(POLICY) // 5
    assert Decimal(raw.headers["X-Token-Cost-USD"]) == hour_priced(usage)
    assert last_sent(stack)["body"]["system"] == HOUR_SYSTEM


def test_a_streamed_hour_long_write_is_priced_from_message_start(stack):
    """A stream's last chunk counts cache writes without their TTL; message_start said which were an hour's."""
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    series = 'kong_bedrock_cost_estimate_dollars_total{consumer="dev-user-1",model="haiku",role="developer"}'
    before = Decimal(str(metric(stack, series)))
    question = {"type": "text", "text": "Where is order 43? " * 200, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    with client.messages.stream(model="haiku", max_tokens=20, system=HOUR_SYSTEM,
                                messages=[{"role": "user", "content": [question]}]) as stream:
        usage = stream.get_final_message().usage
    expected = hour_priced(usage)
    assert usage.cache_creation.ephemeral_1h_input_tokens > 200
    deadline = time.monotonic() + 5
    while Decimal(str(metric(stack, series))) - before < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert abs(Decimal(str(metric(stack, series))) - before - expected) < Decimal("0.000002")


def test_prometheus_counts_cache_writes_by_how_long_they_are_kept(stack):
    """Dashboards split the writes billed at 2x input (an hour) from those at 1.25x (five minutes)."""
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    series = {kind: f'kong_bedrock_tokens_cache_total{{kind="{kind}",model="haiku",role="developer"}}'
              for kind in ("write", "write_1h")}
    before = {kind: metric(stack, name) for kind, name in series.items()}
    system = [{"type": "text", "text": "Kept for an hour, counted apart. " + POLICY,
               "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    question = {"type": "text", "text": "Which parcels to zone 3 are late? " * 150, "cache_control": {"type": "ephemeral"}}
    usage = client.messages.create(model="haiku", max_tokens=20, system=system,
                                   messages=[{"role": "user", "content": [question]}]).usage
    hour, five = usage.cache_creation.ephemeral_1h_input_tokens, usage.cache_creation.ephemeral_5m_input_tokens
    assert hour > len(POLICY) // 5 and five > 150
    assert metric_reaches(stack, series["write_1h"], before["write_1h"] + hour)
    assert metric_reaches(stack, series["write"], before["write"] + five)
