"""A ConverseStream answer holding a redacted thinking block, read by the Anthropic SDK's stream accumulator as a
client does: the final message must equal the unstreamed answer, the redacted block's data whole.

Before: the block's `redactedContent` delta opened an empty `thinking` block and its data was lost, so a client
sending the turn back (as Claude Code does with thinking on) returned a thinking block with no signature."""

import pydantic
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent

from kong_plugins.formats.converse import ConverseStreamToAnthropic, message_from_converse

REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
CONTENT = [{"reasoningContent": {"reasoningText": {"text": "Check the order.", "signature": "RXFRQg=="}}},
           {"reasoningContent": {"redactedContent": REDACTED}},
           {"text": "Order 4 shipped."}]
USAGE = {"inputTokens": 12, "outputTokens": 30, "totalTokens": 42}
STREAM = [
    ("messageStart", {"role": "assistant"}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Check the order."}}}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "RXFRQg=="}}}),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"reasoningContent": {"redactedContent": REDACTED}}}),
    ("contentBlockStop", {"contentBlockIndex": 1}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"text": "Order 4 shipped."}}),
    ("contentBlockStop", {"contentBlockIndex": 2}),
    ("messageStop", {"stopReason": "end_turn"}),
    ("metadata", {"usage": USAGE, "metrics": {"latencyMs": 40}}),
]
EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)


def _streamed() -> dict:
    decoder = ConverseStreamToAnthropic(model="claude-opus-4-7", message_id="msg_1")
    snapshot = None
    for event_type, payload in STREAM:
        for event in decoder.events(event_type, payload):
            snapshot = accumulate_event(event=EVENT.validate_python(event), current_snapshot=snapshot, json_bufs={})
    return snapshot.model_dump(exclude_none=True)


def test_a_streamed_redacted_thinking_block_keeps_its_data():
    content = _streamed()["content"]
    assert [block["type"] for block in content] == ["thinking", "redacted_thinking", "text"]
    assert content[1]["data"] == REDACTED


def test_the_stream_accumulates_to_the_unstreamed_message():
    unstreamed = message_from_converse({"output": {"message": {"role": "assistant", "content": CONTENT}},
                                        "stopReason": "end_turn", "usage": USAGE},
                                       model="claude-opus-4-7", message_id="msg_1")
    streamed = _streamed()
    assert streamed["content"] == unstreamed["content"]
    assert streamed["stop_reason"] == unstreamed["stop_reason"]
