"""Which part of a prompt Bedrock will most likely read from its prompt cache, to reserve it as a cache read.

Why: a Claude Code call carries 20k-200k tokens of prompt, nearly all of it read from Bedrock's
prompt cache, written by the call before. Cache reads do not count against token windows (unless
`count_cache_read_tokens`) and cost a tenth of fresh input, but token-meter reserves before the
call, when Bedrock has not said what it read: a reservation counted the whole prompt as fresh
input, so a developer's few concurrent calls (Claude Code's subagents, its side calls) filled a
400,000-a-minute window for a moment and the next call got a 429 it need not have had.

How: Bedrock caches a prompt's prefix at each cache point (Anthropic `cache_control`, Converse
`cachePoint`), per model, for the point's TTL (5 minutes, or an hour), refreshed by each read;
a call reads the longest cached prefix that ends at one of its cache points or up to 20 blocks
before one (so a conversation's next turn reads what the turn before cached). The forecast
mirrors that: the prompt is hashed block by block in Bedrock's order (tools, system, messages),
the hashes at the cache points of each call whose usage shows Bedrock caching are remembered for
their TTL, and a later call's longest remembered prefix is forecast as read. A wrong forecast
(Bedrock evicted the entry early, a cross-region profile served the call from another region) is
put right when the call settles: at most one call's prompt more than the forecast.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from kong_plugins.formats import wire_json
from kong_plugins.metering.estimate import CHARS_PER_TOKEN, TOKENS_PER_IMAGE, text_and_images

LOOKBACK_BLOCKS = 20
"""How many blocks before a cache point Bedrock looks for a cached prefix."""
MIN_CACHED_TOKENS = 1024
"""The smallest prefix any Claude model caches (others need 2,048 or 4,096): a point before it caches nothing."""
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
TOOL, SYSTEM = b"tool ", b"system "
MAX_REMEMBERED = 20_000
"""Prefixes remembered per plugin server (about 4 MB); the least recently used go first."""


@dataclass(frozen=True)
class PromptPrefixes:
    """A prompt, block by block: each block's chained hash, the estimated tokens up to it, its cache points."""

    hashes: tuple[bytes, ...]
    tokens: tuple[int, ...]
    points: tuple[tuple[int, float], ...]   # (block index, TTL in seconds) of each cache point


@dataclass(frozen=True)
class Forecast:
    """What a call is expected to read from the cache (`read_tokens`, up to block `read_end`; -1: nothing)."""

    model: str
    prefixes: PromptPrefixes
    read_end: int = -1

    @property
    def read_tokens(self) -> int:
        return self.prefixes.tokens[self.read_end] if self.read_end >= 0 else 0


def prompt_prefixes(request: dict[str, Any], hashed: bool = True) -> PromptPrefixes | None:
    """The prefixes of an Anthropic-shaped or Converse request; None if it places no cache point worth one.
    `hashed=False`: sizes and cache points only (what a cache write may cost), every hash empty."""
    hashes: list[bytes] = []
    tokens: list[int] = []
    points: list[tuple[int, float]] = []
    running, chars, images = hashlib.sha256(), 0, 0
    for role, block in _blocks(request):
        point = _cache_point(block)
        if "cachePoint" in block and len(block) == 1:   # Converse: a block of its own, after the one it marks
            if point and hashes and tokens[-1] >= MIN_CACHED_TOKENS:
                points.append((len(hashes) - 1, point))
            continue
        content = {k: v for k, v in block.items() if k != "cache_control"} if "cache_control" in block else block
        if hashed:
            running.update(role)
            running.update(_key(content))
        c, i = (len(wire_json.dumps(content)), 0) if role == TOOL else text_and_images(content)   # as estimated
        chars, images = chars + c, images + i
        hashes.append(running.copy().digest() if hashed else b"")   # the hash of everything up to this block
        tokens.append(math.ceil(chars / CHARS_PER_TOKEN) + images * TOKENS_PER_IMAGE)
        if point and tokens[-1] >= MIN_CACHED_TOKENS:
            points.append((len(hashes) - 1, point))
    return PromptPrefixes(tuple(hashes), tuple(tokens), tuple(points)) if points else None


def worst_case_writes(prefixes: PromptPrefixes, read_tokens: int) -> tuple[int, int]:
    """(tokens, of them for an hour) Bedrock may write to its cache for this prompt beyond what it reads: the
    prefix up to the last cache point, the part up to the last one-hour point at the one-hour rate (Bedrock takes
    one-hour points only before five-minute ones)."""
    up_to_last = prefixes.tokens[prefixes.points[-1][0]]
    hour_points = [index for index, ttl in prefixes.points if ttl == TTL_SECONDS["1h"]]
    up_to_hour = prefixes.tokens[hour_points[-1]] if hour_points else 0
    return max(0, up_to_last - read_tokens), max(0, up_to_hour - read_tokens)


def _key(block: dict[str, Any]) -> bytes:
    """The block's bytes for the hash, length first (no two prompts hash as one): a text block's text as it is
    (most of a prompt, and quicker than JSON), anything else as JSON."""
    text = block.get("text")
    if isinstance(text, str) and len(block) <= 2 and block.get("type", "text") == "text":
        data, kind = text.encode("utf-8", "surrogatepass"), b"text"
    else:
        data, kind = wire_json.dumps(block), b"json"
    return b"%s %d:%s" % (kind, len(data), data)


def _cache_point(block: dict[str, Any]) -> float:
    """The TTL in seconds of a cache point on (or, Converse, as) this block; 0 when it is none."""
    marker = block.get("cache_control", block.get("cachePoint"))
    if not isinstance(marker, dict):
        return 0.0
    return TTL_SECONDS.get(marker.get("ttl") or "5m", TTL_SECONDS["5m"])


def _blocks(request: dict[str, Any]) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """(role, block) in the order Bedrock caches them: tools (role TOOL), system (SYSTEM), messages."""
    tool_config = request.get("toolConfig")
    tools = request.get("tools") or (tool_config.get("tools") if isinstance(tool_config, dict) else None)
    system = request.get("system")
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    for role, blocks in ((TOOL, tools), (SYSTEM, system)):
        if isinstance(blocks, list):
            yield from ((role, block) for block in blocks if isinstance(block, dict))
    messages = request.get("messages")
    for message in messages if isinstance(messages, list) else ():   # a native body is the client's, unchecked
        if not isinstance(message, dict):
            continue
        role = str(message.get("role")).encode() + b" "
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if isinstance(content, list):
            yield from ((role, block) for block in content if isinstance(block, dict))


class CacheMemory:
    """The prefixes Bedrock has most likely cached, per model, until their TTL runs out (bounded, per process).

    Keyed by model and prefix hash, not by consumer: Bedrock's cache belongs to the AWS account, so one
    developer's call reads the system prompt another's cached. Only the forecast uses it; that a smaller
    reservation shows a prefix was cached tells a caller no more than Bedrock's own usage in the answer does
    (cache_read_input_tokens). It holds hashes, never prompt text.
    """

    def __init__(self, max_entries: int = MAX_REMEMBERED, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[tuple[str, bytes], float] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def forecast(self, model: str, prefixes: PromptPrefixes) -> Forecast:
        """The longest remembered prefix ending at a cache point or up to LOOKBACK_BLOCKS before one."""
        now, read_end = self._clock(), -1
        for point, _ in prefixes.points:
            for j in range(point, max(read_end, point - LOOKBACK_BLOCKS - 1), -1):
                expiry = self._entries.get((model, prefixes.hashes[j]))
                if expiry is not None and expiry > now:
                    read_end = j
                    break
        return Forecast(model, prefixes, read_end)

    def settled(self, forecast: Forecast, model: str, cache_read: int, cache_write: int) -> None:
        """After the call: its cache points (and the prefix it read) are cached now, if Bedrock cached anything;
        if not, the prefix forecast as read is not."""
        if model != forecast.model:   # a fallback model answered: its cache is its own
            forecast = Forecast(model, forecast.prefixes)
        prefixes = forecast.prefixes
        if not (cache_read or cache_write):
            if forecast.read_end >= 0:
                self._entries.pop((model, prefixes.hashes[forecast.read_end]), None)
            return
        now = self._clock()
        ttls = {index: ttl for index, ttl in prefixes.points}
        if forecast.read_end >= 0:
            ttls.setdefault(forecast.read_end, TTL_SECONDS["5m"])
        for index, ttl in ttls.items():
            key = (model, prefixes.hashes[index])
            self._entries[key] = max(self._entries.get(key, 0.0), now + ttl)
            self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
