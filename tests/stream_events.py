"""The internal (Anthropic-shaped) stream events of a reply that is one tool call, for the renderers' tests and
bench/custom_tool_stream.py."""

from __future__ import annotations

from typing import Any, Iterable


def tool_call_stream(name: str, pieces: Iterable[str], call_id: str = "toolu_1") -> list[dict[str, Any]]:
    """message_start, the tool_use block streamed as `pieces` of its JSON input, then stop_reason tool_use."""
    return [{"type": "message_start", "message": {}},
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}}},
            *({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": p}}
              for p in pieces),
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
            {"type": "message_stop"}]
