"""Render a Reply in Converse shapes (response JSON and ConverseStream events).

Nova's InvokeModel API uses the same message/event shapes, so it is rendered here too
(``nova_*`` helpers) with its own usage key names and the invocation metrics on the last chunk.
"""

from __future__ import annotations

from typing import Any

from .eventstream import padding
from .generator import Reply, ReplyBlock
from .responses import Clock, StreamItem, invocation_metrics


def usage_json(reply: Reply) -> dict[str, Any]:
    usage = reply.usage
    out: dict[str, Any] = {
        "inputTokens": usage.input_tokens,
        "outputTokens": reply.output_tokens,
        "totalTokens": usage.total + reply.output_tokens,
        "cacheReadInputTokens": usage.cache_read,
        "cacheWriteInputTokens": usage.cache_write,
    }
    if usage.cache_write:   # cache writes split by TTL
        out["cacheDetails"] = [{"ttl": ttl, "inputTokens": tokens} for ttl, tokens in
                               (("5m", usage.cache_write_5m), ("1h", usage.cache_write_1h)) if tokens]
    return out


def block_json(reply: Reply, block: ReplyBlock) -> dict[str, Any]:
    if block.kind == "thinking":
        return {"reasoningContent": {"reasoningText": {"text": block.text, "signature": block.signature}}}
    if block.kind == "tool_use":
        return {"toolUse": {"toolUseId": reply.converse_tool_id(block), "name": block.tool_name,
                            "input": block.tool_input}}
    return {"text": block.text}


def response_json(reply: Reply, clock: Clock, trace: dict[str, Any] | None = None,
                  service_tier: dict[str, str] | None = None, echoed: dict[str, Any] | None = None) -> dict[str, Any]:
    """``trace``: the guardrail trace, when the request asked for one and there is something to show.

    ``service_tier``: the ``serviceTier`` member naming the tier that served the request; ``echoed``: other
    settings echoed as members (``performanceConfig``).
    """
    body = {
        "output": {"message": {"role": "assistant", "content": [block_json(reply, b) for b in reply.blocks]}},
        "stopReason": reply.stop_reason,
        "usage": usage_json(reply),
        "metrics": {"latencyMs": clock.elapsed_ms()},
        **({"trace": trace} if trace else {}),
        **(echoed or {}),
    }
    return {**body, "serviceTier": service_tier} if service_tier else body


def _block_events(reply: Reply, index: int, block: ReplyBlock) -> list[StreamItem]:
    items: list[StreamItem] = []
    if block.kind == "tool_use":
        items.append(StreamItem({"contentBlockStart": {"contentBlockIndex": index, "start": {
            "toolUse": {"toolUseId": reply.converse_tool_id(block), "name": block.tool_name}}}}))
        deltas: list[dict[str, Any]] = [{"toolUse": {"input": p}} for p in block.pieces]
    elif block.kind == "thinking":
        deltas = [{"reasoningContent": {"text": p}} for p in block.pieces]
        deltas.append({"reasoningContent": {"signature": block.signature}})
    else:
        deltas = [{"text": p} for p in block.pieces] or [{"text": ""}]
    items.extend(StreamItem({"contentBlockDelta": {"contentBlockIndex": index, "delta": d}}, True)
                 for d in deltas)
    items.append(StreamItem({"contentBlockStop": {"contentBlockIndex": index}}))
    return items


def _events(reply: Reply) -> list[StreamItem]:
    items = [StreamItem({"messageStart": {"role": "assistant"}})]
    for index, block in enumerate(reply.blocks):
        items.extend(_block_events(reply, index, block))
    items.append(StreamItem({"messageStop": {"stopReason": reply.stop_reason}}))
    return items


def stream_events(reply: Reply, trace: dict[str, Any] | None = None,
                  service_tier: dict[str, str] | None = None, echoed: dict[str, Any] | None = None) -> list[StreamItem]:
    """ConverseStream events; ``metadata`` (usage + latency, the guardrail ``trace``, ``echoed`` settings, the
    tier) comes last."""
    items = _events(reply)
    extra: dict[str, Any] = {**({"trace": trace} if trace else {}), **(echoed or {})}
    if service_tier:
        extra["serviceTier"] = service_tier
    items.append(StreamItem(lambda clock: {"metadata": {
        "usage": usage_json(reply), "metrics": {"latencyMs": clock.elapsed_ms()}, **extra}}))
    return items


def converse_framer_payload(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split ``{eventType: body}`` into the ``:event-type`` header and a padded payload."""
    event_type, body = next(iter(event.items()))
    return event_type, {**body, "p": padding()}


def nova_usage(reply: Reply) -> dict[str, int]:
    return {
        "inputTokens": reply.usage.input_tokens,
        "outputTokens": reply.output_tokens,
        "totalTokens": reply.usage.total + reply.output_tokens,
        "cacheReadInputTokenCount": reply.usage.cache_read,
        "cacheWriteInputTokenCount": reply.usage.cache_write,
    }


def nova_response_json(reply: Reply) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [block_json(reply, b) for b in reply.blocks]}},
        "stopReason": reply.stop_reason,
        "usage": nova_usage(reply),
    }


def nova_stream_events(reply: Reply) -> list[StreamItem]:
    """Nova InvokeModelWithResponseStream chunk payloads (same events, metrics on the last one)."""
    items = _events(reply)
    items.append(StreamItem(lambda clock: {
        "metadata": {"usage": nova_usage(reply), "metrics": {}, "trace": {}},
        "amazon-bedrock-invocationMetrics": invocation_metrics(reply.usage, reply.output_tokens, clock)}))
    return items
