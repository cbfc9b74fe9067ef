"""Earlier tool calls written as text, for a call that offers the model no tools.

OpenAI lets a conversation carry tool calls and results while the request offers no tools
(the OpenAI Agents SDK's handoff: the agent handed to has none of the first one's tools) or
`tool_choice: "none"`. Bedrock does not: Converse refuses toolUse and toolResult blocks
without a toolConfig, and has no "none" choice. Offering no tools and writing the history as
text keeps what was called and what came back in front of the model, and it cannot call a
tool the client does not expect.
"""

from __future__ import annotations

import json
from typing import Any

_TOOL_BLOCKS = ("tool_use", "tool_result")


def has_tool_blocks(messages: Any) -> bool:
    return isinstance(messages, list) and any(isinstance(block, dict) and block.get("type") in _TOOL_BLOCKS
                                              for message in messages for block in _blocks(message))


def as_text(messages: Any) -> Any:
    """Internal (Anthropic-shaped) messages with each tool_use and tool_result block as text blocks
    (malformed messages are left for the translation to refuse)."""
    if not has_tool_blocks(messages):
        return messages
    names: dict[str, str] = {}
    out = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            out.append(message)
            continue
        blocks = []
        for block in _blocks(message):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "tool_use":
                names[str(block.get("id"))] = str(block.get("name"))
                written = [_text(f"[Called the tool {block.get('name')} with input "
                                 f"{json.dumps(block.get('input'), ensure_ascii=False)}]")]
            elif kind == "tool_result":
                outcome = "failed" if block.get("is_error") else "returned"
                name = names.get(str(block.get("tool_use_id")), "tool")
                written = _result(f"[The tool {name} {outcome}:]", block.get("content"))
            else:
                blocks.append(block)
                continue
            blocks.extend(_keeping_cache_point(written, block))
        out.append({**message, "content": blocks})
    return out


def _keeping_cache_point(written: list[dict[str, Any]], block: dict[str, Any]) -> list[dict[str, Any]]:
    """The text a tool block became, with the block's cache_control on its last piece.

    Claude Code and the Agents SDK mark the newest tool result as the end of the cached
    prefix; dropping the mark with the block would make every later call pay for the
    whole conversation again.
    """
    if "cache_control" not in block:
        return written
    return [*written[:-1], {**written[-1], "cache_control": block["cache_control"]}]


def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else []


def _result(header: str, content: Any) -> list[dict[str, Any]]:
    """The header, then the result: its text, and its images as they are."""
    if isinstance(content, str) or content is None:
        return [_text(f"{header}\n{content or ''}")]
    return [_text(header), *[b for b in content if isinstance(b, dict)]]


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}
