"""Render a Reply in Anthropic's shapes: the Message JSON and the streaming event sequence.

The event sequence matches what Claude emits (and Bedrock wraps in ``chunk`` frames), so a
gateway's SSE re-emission and usage metering see realistic traffic.
"""

from __future__ import annotations

import random
from typing import Any

from .cache import InputUsage
from .generator import Reply, ReplyBlock, base62
from .responses import Clock, StreamItem, invocation_metrics


def new_message_id() -> str:
    return "msg_bdrk_" + base62(random.SystemRandom(), 24)


def usage_json(usage: InputUsage, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": usage.cache_write_5m,
                           "ephemeral_1h_input_tokens": usage.cache_write_1h},
    }


def block_json(reply: Reply, block: ReplyBlock) -> dict[str, Any]:
    if block.kind == "thinking":
        return {"type": "thinking", "thinking": block.text, "signature": block.signature}
    if block.kind == "tool_use":
        return {"type": "tool_use", "id": reply.anthropic_tool_id(block), "name": block.tool_name,
                "input": block.tool_input}
    return {"type": "text", "text": block.text}


def message_json(reply: Reply, model: str, message_id: str,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``extra``: Bedrock's own top-level fields (``amazon-bedrock-guardrailAction``, ``-trace``)."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [block_json(reply, b) for b in reply.blocks],
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "usage": usage_json(reply.usage, reply.output_tokens),
        **(extra or {}),
    }


def usage_headers(reply: Reply, clock: Clock) -> dict[str, str]:
    """InvokeModel response headers carrying counts and latency."""
    headers = {
        "X-Amzn-Bedrock-Input-Token-Count": str(reply.usage.input_tokens),
        "X-Amzn-Bedrock-Output-Token-Count": str(reply.output_tokens),
        "X-Amzn-Bedrock-Invocation-Latency": str(clock.elapsed_ms()),
    }
    if reply.usage.cache_read or reply.usage.cache_write:
        headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] = str(reply.usage.cache_read)
        headers["X-Amzn-Bedrock-Cache-Write-Input-Token-Count"] = str(reply.usage.cache_write)
    return headers


def _start_block(reply: Reply, block: ReplyBlock) -> dict[str, Any]:
    if block.kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    if block.kind == "tool_use":
        return {"type": "tool_use", "id": reply.anthropic_tool_id(block), "name": block.tool_name, "input": {}}
    return {"type": "text", "text": ""}


def _deltas(block: ReplyBlock) -> list[dict[str, Any]]:
    if block.kind == "thinking":
        return [{"type": "thinking_delta", "thinking": p} for p in block.pieces] + [
            {"type": "signature_delta", "signature": block.signature}]
    if block.kind == "tool_use":
        return [{"type": "input_json_delta", "partial_json": p} for p in block.pieces]
    return [{"type": "text_delta", "text": p} for p in block.pieces]


def stream_events(reply: Reply, model: str, message_id: str, extra: dict[str, Any] | None = None,
                  start_output_tokens: int = 1) -> list[StreamItem]:
    """message_start .. message_stop; the last event carries the invocation metrics (and ``extra``).

    ``start_output_tokens``: what message_start reports (Claude says 1; a guardrail's answer, 0).
    """
    start_usage = usage_json(reply.usage, start_output_tokens)
    items = [StreamItem({"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
    for index, block in enumerate(reply.blocks):
        items.append(StreamItem({"type": "content_block_start", "index": index,
                                 "content_block": _start_block(reply, block)}))
        items.extend(StreamItem({"type": "content_block_delta", "index": index, "delta": delta}, True)
                     for delta in _deltas(block))
        items.append(StreamItem({"type": "content_block_stop", "index": index}))
    items.append(StreamItem({"type": "message_delta",
                             "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence},
                             "usage": {"output_tokens": reply.output_tokens}}))

    def final(clock: Clock) -> dict[str, Any]:
        return {"type": "message_stop",
                "amazon-bedrock-invocationMetrics": invocation_metrics(reply.usage, reply.output_tokens, clock),
                **(extra or {})}

    items.append(StreamItem(final))
    return items
