"""Bedrock prompt caching for OpenAI clients, which have no way to ask for it.

OpenAI caches a long prompt's prefix by itself; Bedrock caches only up to the cache points a
request places, and OpenAI's formats have no field for one. So an OpenAI-format request
(Chat Completions or Responses) to Claude gets the cache points an Anthropic client would
place (Claude Code does the same):

- after the system prompt, the prefix every call of an application repeats (the tools come
  before it in the cached order; with no system prompt, after the last tool);
- in a conversation that goes on (it has an assistant turn: a chat or a tool loop), after its
  last message, so that the next turn reads everything up to there from the cache.

Bedrock ignores a cache point before the model's minimum prefix (1,024 to 4,096 tokens), at no
cost. Tokens written to the cache cost 1.25x the input price, tokens read from it 0.1x: a
prefix used twice within the cache's 5 minutes costs less than sent twice uncached.
A request that already carries cache_control is left as it is. On a model Bedrock caches nothing
for (Claude 3, Claude 3.5 Sonnet v1), a cache point is a 400, so an Anthropic client's own
cache_control (Claude Code always sends it) is taken out for that model's call only
(`without_cache_points`): when such a model is a fallback, the model asked for still caches.
"""

from __future__ import annotations

from typing import Any, Iterator

EPHEMERAL = {"type": "ephemeral"}


def add_cache_points(request: dict[str, Any]) -> None:
    """Mark the internal (Anthropic-shaped) request's system prompt and ongoing conversation for caching."""
    if _has_cache_control(request):
        return
    system = request.get("system")
    if isinstance(system, str) and system:
        request["system"] = [{"type": "text", "text": system, "cache_control": dict(EPHEMERAL)}]
    elif not system and request.get("tools"):
        request["tools"][-1] = {**request["tools"][-1], "cache_control": dict(EPHEMERAL)}
    messages = request["messages"]
    last = messages[-1]
    if last["role"] == "user" and any(m["role"] == "assistant" for m in messages):
        content = last["content"]
        if isinstance(content, str):
            last["content"] = [{"type": "text", "text": content, "cache_control": dict(EPHEMERAL)}]
        elif content:
            last["content"] = [*content[:-1], {**content[-1], "cache_control": dict(EPHEMERAL)}]


def _has_cache_control(request: dict[str, Any]) -> bool:
    return any("cache_control" in block for block in _blocks(request))


def without_cache_points(request: dict[str, Any]) -> dict[str, Any]:
    """A copy of the internal request with no cache_control on its system, tool or message blocks.

    The blocks are copied, what they hold is shared: the request the asked model gets keeps its cache points.
    """
    copy = {**request, "messages": [{**m, "content": _uncached(m.get("content"))} for m in request["messages"]]}
    for name in ("system", "tools"):
        if name in request:
            copy[name] = _uncached(request[name])
    return copy


def _uncached(blocks: Any) -> Any:
    if not isinstance(blocks, list):
        return blocks
    return [{k: v for k, v in b.items() if k != "cache_control"} if isinstance(b, dict) else b for b in blocks]


def _blocks(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The blocks a cache_control may sit on: system and tool entries, message content blocks."""
    lists = [request.get("system"), request.get("tools"), *(m.get("content") for m in request["messages"])]
    return (block for blocks in lists if isinstance(blocks, list) for block in blocks if isinstance(block, dict))
