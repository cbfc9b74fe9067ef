"""An answer with more than one thinking block (Claude's thinking beside a redacted one, as Bedrock Mantle streams
them) read with the official OpenAI SDK's stream accumulators, as a client does: the final object must equal the
unstreamed answer for the same message, and the blocks must go back to Claude as they came.

Before: Chat's second `thinking_blocks` delta made ChatCompletionStreamState raise ("Expected list delta entry to
have an `index` key"); Responses sent a redacted block's end as a function call's (arguments "{}", then a KeyError
that ended the stream with response.failed). The emulator streams one plain thinking block only, so the events
here are Mantle's SSE bytes, through the gateway's own decoder and renderers."""

import json

import pydantic
import pytest
from openai import omit
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from kong_plugins.context import Usage
from kong_plugins.formats import openai_chat, openai_chat_stream, responses_render
from kong_plugins.formats.sse import AnthropicSseDecoder

THOUGHT = {"type": "thinking", "thinking": "Check the order.", "signature": "RXFRQg=="}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}
TEXT = {"type": "text", "text": "Order 4 shipped."}
CALL = {"type": "tool_use", "id": "toolu_1", "name": "get_order", "input": {"id": 4}}


def _message(blocks, stop_reason):
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-4-7", "content": blocks,
            "stop_reason": stop_reason, "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 30}}


def _block_events(index, block):
    """A block's stream events as Claude sends them: started empty, filled by deltas, stopped."""
    if block["type"] == "thinking":
        yield {"type": "content_block_start", "index": index,
               "content_block": {"type": "thinking", "thinking": "", "signature": ""}}
        yield {"type": "content_block_delta", "index": index,
               "delta": {"type": "thinking_delta", "thinking": block["thinking"]}}
        yield {"type": "content_block_delta", "index": index,
               "delta": {"type": "signature_delta", "signature": block["signature"]}}
    elif block["type"] == "text":
        yield {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
        yield {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": block["text"]}}
    elif block["type"] == "tool_use":
        yield {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}}
        yield {"type": "content_block_delta", "index": index,
               "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}}
    else:
        yield {"type": "content_block_start", "index": index, "content_block": block}
    yield {"type": "content_block_stop", "index": index}


def _mantle_sse(message):
    """The message as Mantle's Anthropic SSE bytes."""
    events = [{"type": "message_start", "message": {**message, "content": [], "stop_reason": None}}]
    for index, block in enumerate(message["content"]):
        events.extend(_block_events(index, block))
    events += [{"type": "message_delta", "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": 30}}, {"type": "message_stop"}]
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _rendered(message, renderer):
    """What the gateway streams to the client for `message`, as (SSE data) dicts."""
    decoder = AnthropicSseDecoder()
    for event, _ in decoder.feed_bytes(_mantle_sse(message)):
        for frame in renderer.render(event, decoder.usage):
            for line in frame.decode().splitlines():
                if line.startswith("data: {"):
                    yield json.loads(line[len("data: "):])


def _unstreamed(message):
    decoder = AnthropicSseDecoder()
    return decoder.message(json.dumps(message).encode()), decoder.usage


ANSWERS = {"thought and redacted, then text": ([THOUGHT, REDACTED, TEXT], "end_turn"),
           "redacted first, then a call": ([REDACTED, THOUGHT, CALL], "tool_use"),
           "redacted only, then text": ([REDACTED, TEXT], "end_turn")}
CHAT_ANSWERS = {**ANSWERS, "thought only, cut short": ([THOUGHT], "max_tokens")}


@pytest.mark.parametrize("blocks, stop_reason", CHAT_ANSWERS.values(), ids=CHAT_ANSWERS.keys())
def test_chat_stream_accumulates_every_thinking_block_as_the_unstreamed_answer_has_them(blocks, stop_reason):
    message = _message(blocks, stop_reason)
    state = ChatCompletionStreamState()
    renderer = openai_chat_stream.ChunkRenderer(model="opus", completion_id="chatcmpl-1", include_usage=True, created=1)
    for data in _rendered(message, renderer):
        state.handle_chunk(ChatCompletionChunk.model_validate(data))
    streamed = state.current_completion_snapshot.choices[0].message.model_dump()   # the final one refuses `length`
    whole = openai_chat.completion_from_message(*_unstreamed(message), model="opus", completion_id="chatcmpl-1")
    expected = whole["choices"][0]["message"]
    for call in streamed.get("tool_calls") or []:
        call.pop("index")
        call["function"].pop("parsed_arguments")
        call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    for call in expected.get("tool_calls") or []:
        call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    assert [{k: v for k, v in b.items() if k != "index"} for b in streamed.pop("thinking_blocks")] \
        == expected.pop("thinking_blocks") == [b for b in blocks if "thinking" in b["type"]]
    assert {k: v for k, v in streamed.items() if v is not None or k in expected} == expected


def test_chat_thinking_blocks_accumulated_from_a_stream_go_back_to_claude_as_they_came():
    message = _message([THOUGHT, REDACTED, CALL], "tool_use")
    state = ChatCompletionStreamState()
    renderer = openai_chat_stream.ChunkRenderer(model="opus", completion_id="chatcmpl-1", include_usage=False)
    for data in _rendered(message, renderer):
        state.handle_chunk(ChatCompletionChunk.model_validate(data))
    reply = state.get_final_completion().choices[0].message.model_dump(exclude_none=True)
    turn = [{"role": "user", "content": "Where is order 4?"}, reply,
            {"role": "tool", "tool_call_id": "toolu_1", "content": "shipped"}]
    internal = openai_chat.to_anthropic({"messages": turn, "reasoning_effort": "low"}, 4000)
    assert internal["messages"][1]["content"][:2] == [THOUGHT, REDACTED]


def _responses_final(message):
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    events = pydantic.TypeAdapter(ResponseStreamEvent)
    renderer = responses_render.EventRenderer(model="opus", response_id="resp_1")
    kinds, final = [], None
    for data in _rendered(message, renderer):
        for handled in state.handle_event(events.validate_python(data)):
            kinds.append(handled.type)
            if handled.type == "response.completed":
                final = handled.response
    return kinds, final


@pytest.mark.parametrize("blocks, stop_reason", ANSWERS.values(), ids=ANSWERS.keys())
def test_responses_stream_completes_with_the_unstreamed_answers_reasoning_items(blocks, stop_reason):
    message = _message(blocks, stop_reason)
    kinds, final = _responses_final(message)
    assert kinds[-1] == "response.completed" and "response.failed" not in kinds
    assert kinds.count("response.function_call_arguments.done") == len([b for b in blocks if b["type"] == "tool_use"])
    whole = responses_render.response_from_message(*_unstreamed(message), model="opus", response_id="resp_1")

    def items(output):
        return [{k: v for k, v in item.items() if k not in ("id", "parsed_arguments")} for item in output]

    assert items(final.model_dump(exclude_none=True)["output"]) == items(whole["output"])
    assert [item["type"] for item in whole["output"]] == [
        {"text": "message", "tool_use": "function_call"}.get(b["type"], "reasoning") for b in blocks]
