"""OpenAI `reasoning_effort` as Claude's thinking.

The internal request carries it the way Anthropic's current API does, `thinking: adaptive`
plus `output_config.effort` (the same words: low ... max), which Claude Opus 4.7 on Mantle takes as
it is. Converse's Claude models think on a token budget instead: `converse_thinking` turns the
effort into a share of max_tokens (what bedrock-access-gateway does).

Claude refuses three things with thinking on, so the mapping avoids them in the client's terms:
a temperature or top_p other than 1 (dropped, as OpenAI's reasoning models take neither), a
forced tool call (a 400 naming both fields), and continuing a tool loop whose assistant turn
lost its thinking block. Replies carry the blocks back to the client so it can return them:
`thinking_blocks` on Chat Completions messages (LiteLLM's field, kept by the OpenAI SDK's
`model_dump()`), `encrypted_content` on Responses reasoning items (opaque to the client; the
signature inside is Bedrock's, checked there). A request answering tool results thinks only
when the assistant turn that called the tools came back with its blocks.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from kong_plugins.formats import wire_json
from kong_plugins.formats.body import RequestError

EFFORTS = ("low", "medium", "high", "xhigh", "max")
_NO_THINKING = ("none", "minimal")
_BUDGET_SHARE = {"low": 0.25, "medium": 0.5, "high": 0.8, "xhigh": 0.9, "max": 0.95}
MIN_BUDGET = 1024
"""Claude's smallest thinking budget."""


def apply_effort(request: dict[str, Any], out: dict[str, Any]) -> None:
    """Add thinking to the internal request `out` for the OpenAI request's reasoning_effort."""
    effort = request.get("reasoning_effort")
    if effort is None or effort in _NO_THINKING:
        return
    if effort not in EFFORTS:
        raise RequestError(f"reasoning_effort: must be one of none, minimal, {', '.join(EFFORTS)}.",
                           "reasoning_effort")
    if (out.get("tool_choice") or {}).get("type") in ("any", "tool"):
        raise RequestError("reasoning_effort cannot be combined with a forced tool call (tool_choice 'required' "
                           "or a function, or response_format json_object): Claude does not think before one.",
                           "reasoning_effort")
    out.pop("temperature", None)
    out.pop("top_p", None)
    if _loop_without_thinking(request["messages"]):
        return
    out["thinking"] = {"type": "adaptive"}
    out["output_config"] = {**out.get("output_config", {}), "effort": effort}


def _loop_without_thinking(messages: list[Any]) -> bool:
    """The request answers tool results, and the assistant turn that called the tools has no thinking."""
    turn = [m for m in messages if isinstance(m, dict)]
    if not turn or turn[-1].get("role") not in ("tool", "function"):
        return False
    while turn and turn[-1].get("role") in ("tool", "function"):
        turn.pop()
    callers = []                               # the assistant turn, maybe split over several messages
    while turn and turn[-1].get("role") == "assistant":
        callers.append(turn.pop())
    return not any(m.get("thinking_blocks") for m in callers)


def thinking_blocks(value: Any, where: str) -> list[dict[str, Any]]:
    """Client-returned thinking blocks, checked for shape (Bedrock checks their signatures)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(_is_block(b) for b in value):
        raise RequestError(f"{where}.thinking_blocks: must be the thinking blocks the gateway returned.",
                           f"{where}.thinking_blocks")
    return returned_blocks(value)


def _is_block(block: Any) -> bool:
    kind = block.get("type") if isinstance(block, dict) else None
    if not isinstance(kind, str):   # an object or a list as `type` cannot be looked up
        return False
    fields = {"thinking": ("thinking", "signature"), "redacted_thinking": ("data",)}.get(kind)
    return fields is not None and all(isinstance(block.get(f), str) for f in fields)


def returned_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The thinking blocks of a reply, as the client should send them back."""
    return [{k: v for k, v in b.items() if k in ("type", "thinking", "signature", "data")} for b in blocks
            if b.get("type") in ("thinking", "redacted_thinking")]


def encode_blocks(blocks: list[dict[str, Any]]) -> str:
    """Thinking blocks as a Responses reasoning item's `encrypted_content` (opaque, not secret)."""
    return base64.urlsafe_b64encode(json.dumps(returned_blocks(blocks), separators=(",", ":")).encode()).decode()


def decode_blocks(text: Any) -> list[dict[str, Any]]:
    """The blocks of an `encrypted_content` the gateway returned; none for anyone else's (OpenAI's own,
    when a conversation moves between providers), whose turn then goes on without thinking."""
    try:
        value = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (AttributeError, ValueError, binascii.Error):
        return []
    return returned_blocks(value) if isinstance(value, list) and all(_is_block(b) for b in value) else []


def converse_thinking(request: dict[str, Any]) -> dict[str, Any] | None:
    """The `thinking` field for Claude on Converse: an effort becomes a budget within max_tokens."""
    thinking = request.get("thinking")
    effort = _effort(request)
    if not _adaptive(thinking) or effort not in _BUDGET_SHARE:
        return thinking
    max_tokens = int(request["max_tokens"])
    if max_tokens <= MIN_BUDGET:
        raise RequestError(f"max_tokens: thinking (reasoning_effort) needs more than {MIN_BUDGET} tokens, "
                           "its smallest budget, plus room for the answer.", "max_tokens")
    return _budget(max_tokens, effort)


def budgeted(request: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic request for a Claude that thinks on a budget only (4.5 and earlier; Bedrock answers
    `thinking: adaptive` there with a 400, and Claude Code sends it for the newer Claude it names).

    Adaptive thinking becomes thinking on the effort's share of max_tokens, as on Converse (Claude's default
    effort, high, when none is named); none at all when max_tokens leaves no room for the smallest budget
    (adaptive thinking may think not), or when tool_choice forces a tool (adaptive thinking takes one, a budget
    does not). A request without max_tokens (count_tokens) gets the smallest budget. `output_config.effort` goes
    (it became the budget, and Bedrock's Sonnet 4.5 answers an effort with a 400). Any other request is returned
    as it is.
    """
    if not _adaptive(request.get("thinking")):
        return request
    effort = _effort(request)
    request = _without_effort(request)
    max_tokens, choice = request.get("max_tokens"), request.get("tool_choice")
    counted = isinstance(max_tokens, int) and not isinstance(max_tokens, bool)
    if counted and max_tokens <= MIN_BUDGET or isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        return {k: v for k, v in request.items() if k != "thinking"}
    if not counted:
        return {**request, "thinking": {"type": "enabled", "budget_tokens": MIN_BUDGET}}
    return {**request, "thinking": _budget(max_tokens, effort if effort in _BUDGET_SHARE else "high")}


def _without_effort(request: dict[str, Any]) -> dict[str, Any]:
    """`request` without `output_config.effort` (and without an `output_config` left empty by that)."""
    config = request.get("output_config")
    if not isinstance(config, dict) or "effort" not in config:
        return request
    rest = {k: v for k, v in config.items() if k != "effort"}
    return {k: v for k, v in {**request, "output_config": rest}.items() if k != "output_config" or rest}


def budgeted_body(body: bytes) -> bytes:
    """A Bedrock-native InvokeModel body `budgeted`; the same bytes when it asks for no adaptive thinking."""
    if b'"adaptive"' not in body:
        return body
    request = wire_json.loads(body)
    if not isinstance(request, dict) or not _adaptive(request.get("thinking")):
        return body
    return wire_json.dumps(budgeted(request))


def budgeted_count_body(body: bytes) -> bytes:
    """A Bedrock-native CountTokens body whose InvokeModel body (`input.invokeModel.body`, base64) is
    `budgeted_body`'s; the same bytes when it holds none asking for adaptive thinking (or none Bedrock could read)."""
    if b"invokeModel" not in body:
        return body
    request = wire_json.loads(body)
    invoke = request.get("input") if isinstance(request, dict) else None
    invoke = invoke.get("invokeModel") if isinstance(invoke, dict) else None
    encoded = invoke.get("body") if isinstance(invoke, dict) else None
    try:
        inner = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else None
        rewritten = budgeted_body(inner) if inner is not None else None
    except (ValueError, RecursionError):   # not base64, not JSON: Bedrock's 400 says so
        return body
    if rewritten is None or rewritten is inner:
        return body
    return wire_json.dumps({**request, "input": {**request["input"], "invokeModel": {
        **invoke, "body": base64.b64encode(rewritten).decode()}}})


def _adaptive(thinking: Any) -> bool:
    return isinstance(thinking, dict) and thinking.get("type") == "adaptive"


def _effort(request: dict[str, Any]) -> str | None:
    """The request's effort word; None for none, or for a value no word (a list cannot be looked up)."""
    config = request.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    return effort if isinstance(effort, str) else None


def _budget(max_tokens: int, effort: str) -> dict[str, Any]:
    """Thinking on the effort's share of max_tokens, at least the smallest budget and under max_tokens."""
    budget = max(MIN_BUDGET, int(max_tokens * _BUDGET_SHARE[effort]))
    return {"type": "enabled", "budget_tokens": min(budget, max_tokens - 1)}
