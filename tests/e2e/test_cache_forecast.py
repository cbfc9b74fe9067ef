"""Concurrent Claude Code calls on a cached prompt: reserved as cache reads, so a window holds them all."""

from concurrent.futures import ThreadPoolExecutor

import anthropic
import openai
import pytest
import requests

from tests.stack import GatewayStack

LIMIT = 40_000                     # tokens a day (no roll-over mid-test), for both roles
SYSTEM = "You are a coding agent working in this repository; follow its conventions. " * 640   # ~12k tokens
MAX_TOKENS = 1000
KEYS = {"forecast": "dev-developer-key", "whole": "dev-admin-key"}


def ask(question: str, stream: bool = False) -> dict:
    """What Claude Code sends: its system prompt and the last turn marked for caching."""
    return dict(model="haiku", max_tokens=MAX_TOKENS, stream=stream,
                system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": [{"type": "text", "text": question,
                                                         "cache_control": {"type": "ephemeral"}}]}])


def used_today(stack: GatewayStack, key: str) -> int:
    r = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": key}, timeout=15)
    return r.json()["tokens_per_day"]["used"]


def counted(usage) -> int:
    """What token windows count of a call: input, output and cache writes; cache reads are free."""
    return usage.input_tokens + usage.output_tokens + (usage.cache_creation_input_tokens or 0)


@pytest.fixture(scope="module")
def stack():
    limits = [{"role": "developer", "tokens_per_day": LIMIT, "forecast_cache_reads": True},
              {"role": "admin", "tokens_per_day": LIMIT}]
    with GatewayStack(config_overrides={"token-meter": {"limits": limits}}) as stack:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 20})
        yield stack


def open_streams(stack: GatewayStack, key: str, n: int) -> list:
    """n concurrent streams held open at the emulator; each a Stream, or the SDK's error."""
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key=key, max_retries=0)

    def open_one(i: int):
        try:
            return client.messages.create(**ask(f"question {i}: what does module {i} do?", stream=True))
        except anthropic.APIStatusError as refused:
            return refused
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(open_one, range(n)))


def final_usage(stream):
    usage = None
    for event in stream:
        if event.type == "message_start":
            usage = event.message.usage
        elif event.type == "message_delta":
            usage.output_tokens = event.usage.output_tokens
    return usage


def test_concurrent_calls_reading_a_cached_prompt_are_reserved_as_reads_and_settle_to_what_they_used(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key=KEYS["forecast"], max_retries=0)
    first = client.messages.create(**ask("list the files"))
    assert first.usage.cache_creation_input_tokens > 10_000           # the first call wrote the prompt to the cache
    before = used_today(stack, KEYS["forecast"])
    assert before == counted(first.usage)
    stack.emulator_control("POST", "/_emulator/hold")
    try:
        streams = open_streams(stack, KEYS["forecast"], 4)
        assert not [s for s in streams if isinstance(s, Exception)]
        reserved = used_today(stack, KEYS["forecast"]) - before
        # each reservation: the uncached question and max_tokens, not the ~12k tokens of cached prompt
        assert 4 * MAX_TOKENS < reserved < 4 * (MAX_TOKENS + 100)
    finally:
        stack.emulator_control("POST", "/_emulator/release")
    usages = [final_usage(s) for s in streams]
    assert all(u.cache_read_input_tokens > 10_000 for u in usages)   # the system prompt, as forecast
    assert used_today(stack, KEYS["forecast"]) == before + sum(counted(u) for u in usages)


def test_without_the_forecast_the_whole_prompt_is_reserved_and_the_window_holds_fewer_calls(stack):
    anthropic.Anthropic(base_url=stack.proxy_url, api_key=KEYS["whole"], max_retries=0).messages.create(
        **ask("list the files"))          # cached already, or now: the prompt is in the cache either way
    stack.emulator_control("POST", "/_emulator/hold")
    try:
        streams = open_streams(stack, KEYS["whole"], 4)
    finally:
        stack.emulator_control("POST", "/_emulator/release")
    refused = [s for s in streams if isinstance(s, anthropic.RateLimitError)]
    admitted = [s for s in streams if not isinstance(s, Exception)]
    assert len(admitted) + len(refused) == 4 and admitted and refused   # ~13k reserved each: 3 fit in 40k
    assert refused[0].body["error"]["message"] == "Daily token limit reached."
    for stream in admitted:
        final_usage(stream)


def test_openai_clients_prompts_get_the_gateways_cache_points_and_are_forecast_alike(stack):
    """An OpenAI client cannot ask for caching; the gateway places the cache points (formats.prompt_cache),
    and the forecast reads them as it reads an Anthropic client's."""
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=KEYS["forecast"], max_retries=0)
    system = "You answer questions about this shop's orders and parcels. " * 700      # ~10k tokens

    def ask_openai(question: str, stream: bool = False):
        return client.chat.completions.create(model="haiku", max_tokens=MAX_TOKENS, stream=stream, messages=[
            {"role": "system", "content": system}, {"role": "user", "content": question}])
    first = ask_openai("Where is order 42?")
    assert first.usage.prompt_tokens_details.cache_write_tokens > 8_000
    before = used_today(stack, KEYS["forecast"])
    stack.emulator_control("POST", "/_emulator/hold")
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            streams = list(pool.map(lambda i: ask_openai(f"Where is order {i}?", stream=True), range(3)))
        reserved = used_today(stack, KEYS["forecast"]) - before
        assert 3 * MAX_TOKENS < reserved < 3 * (MAX_TOKENS + 100)
    finally:
        stack.emulator_control("POST", "/_emulator/release")
    for stream in streams:
        for _ in stream:
            pass
