"""OpenAI `reasoning_effort` as Claude's thinking.

The internal request carries it the way Anthropic's current API does, `thinking: adaptive`
plus `output_config.effort` (the same words: low ... max), which Claude Opus 4.7 on Mantle takes as
it is. Converse's Claude models think on a token budget instead: `converse_thinking` turns the
effort into a share of max_tokens (what bedrock-access-gateway does).

Claude refuses three things with thinking on, so the mapping avoids them in the client's terms:
a temperature or top_p other than 1 (dropped, as OpenAI's reasoning models take neither), a
forced tool call (a 400 naming both fields), and continuing a tool loop whose earlier assistant
turn has no thinking block (OpenAI clients cannot send thinking blocks back, so a request that
answers tool results does not think).
"""

from __future__ import annotations

from typing import Any

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
    if _answers_tool_results(request["messages"]):
        return
    out["thinking"] = {"type": "adaptive"}
    out["output_config"] = {**out.get("output_config", {}), "effort": effort}


def _answers_tool_results(messages: list[Any]) -> bool:
    last = messages[-1] if messages else None
    return isinstance(last, dict) and last.get("role") in ("tool", "function")


def converse_thinking(request: dict[str, Any]) -> dict[str, Any] | None:
    """The `thinking` field for Claude on Converse: an effort becomes a budget within max_tokens."""
    thinking = request.get("thinking")
    config = request.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    if not isinstance(thinking, dict) or thinking.get("type") != "adaptive" or effort not in _BUDGET_SHARE:
        return thinking
    max_tokens = int(request["max_tokens"])
    if max_tokens <= MIN_BUDGET:
        raise RequestError(f"max_tokens: thinking (reasoning_effort) needs more than {MIN_BUDGET} tokens, "
                           "its smallest budget, plus room for the answer.", "max_tokens")
    budget = max(MIN_BUDGET, int(max_tokens * _BUDGET_SHARE[effort]))
    return {"type": "enabled", "budget_tokens": min(budget, max_tokens - 1)}
