"""The cache forecast mirrors Bedrock's prompt cache: prefixes at cache points, 20 blocks of lookback, TTLs."""

import pytest

from kong_plugins.metering.cache_forecast import CacheMemory, prompt_prefixes
from kong_plugins.metering.estimate import estimate_input_tokens

EPHEMERAL = {"type": "ephemeral"}
SYSTEM = "You are Claude Code, a coding agent. " * 200          # ~7,400 characters: ~1,850 tokens
TOOLS = [{"name": f"tool_{i}", "description": "does a thing " * 40,
          "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}} for i in range(3)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claude_code(turns: list[tuple[str, str]], question: str, system: str = SYSTEM, ttl: str | None = None) -> dict:
    """A Claude Code-shaped request: tools, a cached system prompt, the conversation, its last turn cached."""
    messages = []
    for asked, answered in turns:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
    messages.append({"role": "user", "content": [{"type": "text", "text": question, "cache_control": EPHEMERAL}]})
    point = {**EPHEMERAL, "ttl": ttl} if ttl else EPHEMERAL
    return {"model": "claude", "max_tokens": 100, "tools": TOOLS,
            "system": [{"type": "text", "text": system, "cache_control": point}], "messages": messages}


def written(memory: CacheMemory, request: dict, model: str = "sonnet") -> None:
    """The call went to Bedrock, which wrote its cache points."""
    memory.settled(memory.forecast(model, prompt_prefixes(request)), model, cache_read=0, cache_write=1)


def read_tokens(memory: CacheMemory, request: dict, model: str = "sonnet") -> int:
    return memory.forecast(model, prompt_prefixes(request)).read_tokens


def test_nothing_is_forecast_before_a_call_cached_the_prefix_and_the_prefix_after():
    memory, request = CacheMemory(clock=Clock()), claude_code([], "list the files")
    assert read_tokens(memory, request) == 0
    written(memory, request)
    again = read_tokens(memory, request)
    assert again == prompt_prefixes(request).tokens[-1]                  # everything up to the last point
    assert estimate_input_tokens(request) - 20 < again <= estimate_input_tokens(request) + 20


def test_the_next_turn_reads_what_the_turn_before_cached_and_only_that():
    memory = CacheMemory(clock=Clock())
    first = claude_code([], "list the files " * 300)
    written(memory, first)
    second = claude_code([("list the files " * 300, "here they are " * 300)], "now read main.py")
    prefixes = prompt_prefixes(second)
    # the first turn's question was a cache point there; here it is a block before the last point: lookback finds it
    assert read_tokens(memory, second) == prompt_prefixes(first).tokens[-1] < prefixes.tokens[-1]


def test_a_changed_system_prompt_reads_only_the_tools_if_they_were_cached_else_nothing():
    memory = CacheMemory(clock=Clock())
    written(memory, claude_code([], "hi"))
    assert read_tokens(memory, claude_code([], "hi", system=SYSTEM + "Today is Tuesday.")) == 0


def test_bedrock_looks_back_20_blocks_before_a_cache_point_and_no_further():
    memory = CacheMemory(clock=Clock())
    base = {"model": "m", "max_tokens": 10, "system": [{"type": "text", "text": SYSTEM, "cache_control": EPHEMERAL}]}
    words = [{"type": "text", "text": f"note {i} " * 30} for i in range(25)]
    written(memory, {**base, "messages": [{"role": "user", "content": [{**words[0], "cache_control": EPHEMERAL}]}]})
    system_only = prompt_prefixes({**base, "messages": [{"role": "user", "content": "x"}]}).tokens[0]

    def asking(n: int) -> dict:
        blocks = words[:n] + [{"type": "text", "text": "?", "cache_control": EPHEMERAL}]
        return {**base, "messages": [{"role": "user", "content": blocks}]}
    reached = prompt_prefixes(asking(1)).tokens[1]                          # system + words[0]
    assert read_tokens(memory, asking(20)) == reached      # words[0] is 20 blocks before the point
    assert read_tokens(memory, asking(21)) == system_only  # 21 blocks: only the system prompt's own point


def test_an_entry_lives_for_its_ttl_and_a_read_refreshes_it():
    clock = Clock()
    memory, request = CacheMemory(clock=clock), claude_code([], "hi")
    written(memory, request)
    clock.now += 299
    assert read_tokens(memory, request) > 0
    memory.settled(memory.forecast("sonnet", prompt_prefixes(request)), "sonnet", cache_read=5, cache_write=0)
    clock.now += 299                                        # 598 s after the write, 299 after the read
    assert read_tokens(memory, request) > 0
    clock.now += 2
    assert read_tokens(memory, request) == 0


def test_an_hours_cache_point_is_remembered_for_an_hour():
    clock = Clock()
    memory, request = CacheMemory(clock=clock), claude_code([], "hi", ttl="1h")
    written(memory, request)
    clock.now += 3000
    system_point = prompt_prefixes(request).points[0][0]
    assert read_tokens(memory, request) == prompt_prefixes(request).tokens[system_point]   # the 5m one is gone


def test_each_model_has_its_own_cache():
    memory, request = CacheMemory(clock=Clock()), claude_code([], "hi")
    written(memory, request, model="sonnet")
    assert read_tokens(memory, request, model="haiku") == 0


def test_a_fallback_model_that_answered_caches_for_itself():
    memory, request = CacheMemory(clock=Clock()), claude_code([], "hi")
    memory.settled(memory.forecast("sonnet", prompt_prefixes(request)), "sonnet-fallback", cache_read=0,
                   cache_write=9)
    assert read_tokens(memory, request, model="sonnet") == 0
    assert read_tokens(memory, request, model="sonnet-fallback") > 0


def test_a_call_that_cached_nothing_forgets_the_prefix_it_was_expected_to_read():
    memory, request = CacheMemory(clock=Clock()), claude_code([], "hi " * 400)
    written(memory, request)
    forecast = memory.forecast("sonnet", prompt_prefixes(request))
    assert forecast.read_tokens > 0
    memory.settled(forecast, "sonnet", cache_read=0, cache_write=0)   # Bedrock had evicted it, cached nothing
    assert 0 < read_tokens(memory, request) < forecast.read_tokens     # the system prompt's entry is another


def test_a_prompt_without_a_cache_point_or_too_short_to_cache_has_no_prefixes():
    assert prompt_prefixes({"messages": [{"role": "user", "content": SYSTEM}]}) is None
    short = {"system": [{"type": "text", "text": "be brief", "cache_control": EPHEMERAL}],
             "messages": [{"role": "user", "content": "hi"}]}
    assert prompt_prefixes(short) is None


def test_converse_cache_points_mark_the_block_before_them():
    converse = {"system": [{"text": SYSTEM}, {"cachePoint": {"type": "default", "ttl": "1h"}}],
                "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                "toolConfig": {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {}}}}]}}
    prefixes = prompt_prefixes(converse)
    assert prefixes.points == ((1, 3600.0),)                 # the tool is block 0, the system prompt block 1
    memory = CacheMemory(clock=Clock())
    written(memory, converse)
    assert read_tokens(memory, converse) == prefixes.tokens[1]


def test_the_memory_is_bounded_least_recently_used_first():
    memory = CacheMemory(max_entries=2, clock=Clock())
    requests = [claude_code([], "hi", system=SYSTEM + str(i)) for i in range(2)]
    for request in requests:
        written(memory, request)                             # two points each
    assert len(memory) == 2
    assert read_tokens(memory, requests[0]) == 0 and read_tokens(memory, requests[1]) > 0


@pytest.mark.parametrize("content", ["hi", [{"type": "text", "text": "hi"}]])
def test_a_message_as_a_string_or_as_a_text_block_is_the_same_prefix(content):
    as_blocks = claude_code([("hi", "hello")], "go on")
    as_given = claude_code([], "go on")
    as_given["messages"][:0] = [{"role": "user", "content": content}, {"role": "assistant", "content": "hello"}]
    assert prompt_prefixes(as_given).hashes == prompt_prefixes(as_blocks).hashes


def test_a_read_refreshes_the_entry_it_read_though_it_is_no_cache_point_of_the_call_that_read_it():
    clock, question = Clock(), "list the files " * 300
    memory, first = CacheMemory(clock=clock), claude_code([], question)
    written(memory, first)
    clock.now += 299
    second = claude_code([(question, "here they are")], "now read main.py")
    forecast = memory.forecast("sonnet", prompt_prefixes(second))
    assert forecast.read_tokens == prompt_prefixes(first).tokens[-1]
    memory.settled(forecast, "sonnet", cache_read=forecast.read_tokens, cache_write=10)
    clock.now += 299                                        # 598 s after the first call wrote it
    third = claude_code([(question, "something else")], "and the tests?")
    assert read_tokens(memory, third) == prompt_prefixes(first).tokens[-1]


@pytest.mark.parametrize("junk", [{"messages": 5}, {"messages": "hi"}, {"system": 5, "tools": "x", "messages": [5]},
                                  {"toolConfig": 5, "messages": [{"role": "user", "content": 5}]},
                                  {"system": [5, {"text": SYSTEM}, {"cachePoint": 5}], "messages": None}])
def test_a_native_body_of_any_shape_has_no_prefixes_and_raises_nothing(junk):
    """Bedrock-native bodies reach token-meter as the client sent them; Bedrock answers their 400."""
    assert prompt_prefixes(junk) is None
