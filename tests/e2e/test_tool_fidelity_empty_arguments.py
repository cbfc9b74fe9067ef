"""A call to a tool without arguments, streamed: Bedrock's ConverseStream sends no input piece for it (or an
empty one, as Claude's own stream does), and the OpenAI SDK's stream accumulators must still end with `{}`, as the
unstreamed answer says, not "" (which every client that parses arguments fails on).

The events are what Bedrock sends, fed through the gateway's own translators (no stack: the emulator always
streams `{}` in pieces), and read back with the official SDK's accumulators."""

import json

import pydantic
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from kong_plugins.context import Usage
from kong_plugins.formats import openai_chat_stream, responses_render
from kong_plugins.formats.converse import ConverseStreamToAnthropic

NO_ARGUMENTS = {"type": "object", "properties": {}, "additionalProperties": False}
CHAT_TOOL = {"type": "function", "function": {"name": "list_orders", "parameters": NO_ARGUMENTS, "strict": True}}
RESPONSES_TOOL = {"type": "function", "name": "list_orders", "parameters": NO_ARGUMENTS, "strict": True}


def _bedrock_stream(input_pieces):
    """ConverseStream's events for a turn that is one call to list_orders, its input sent in `input_pieces`."""
    yield "messageStart", {"role": "assistant"}
    yield "contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tooluse_1",
                                                                              "name": "list_orders"}}}
    for piece in input_pieces:
        yield "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}}
    yield "contentBlockStop", {"contentBlockIndex": 0}
    yield "messageStop", {"stopReason": "tool_use"}
    yield "metadata", {"usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}, "metrics": {}}


def _internal_events(input_pieces):
    decoder = ConverseStreamToAnthropic(model="sonnet", message_id="m")
    for kind, payload in _bedrock_stream(input_pieces):
        for event, _ in decoder.feed(kind, json.dumps(payload).encode()):
            yield event


def _sse_data(frames):
    for frame in frames:
        for line in frame.decode().splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                yield json.loads(line[len("data: "):])


def _chat_arguments(input_pieces):
    renderer = openai_chat_stream.ChunkRenderer(model="sonnet", completion_id="chatcmpl-1", include_usage=False)
    state = ChatCompletionStreamState(input_tools=[CHAT_TOOL])
    for event in _internal_events(input_pieces):
        for data in _sse_data(renderer.render(event, Usage())):
            state.handle_chunk(ChatCompletionChunk.model_validate(data))
    call = state.get_final_completion().choices[0].message.tool_calls[0]
    return call.function.arguments, call.function.parsed_arguments


def _responses_arguments(input_pieces):
    renderer = responses_render.EventRenderer(model="sonnet", response_id="resp_1")
    state = ResponseStreamState(input_tools=[RESPONSES_TOOL], text_format=pydantic.BaseModel)
    events = pydantic.TypeAdapter(ResponseStreamEvent)
    streamed, final = "", None
    for event in _internal_events(input_pieces):
        for data in _sse_data(renderer.render(event, Usage())):
            for handled in state.handle_event(events.validate_python(data)):
                if handled.type == "response.function_call_arguments.delta":
                    streamed = handled.snapshot   # the arguments so far, as the SDK's accumulator has them
                elif handled.type == "response.completed":
                    final = next(item for item in handled.response.output if item.type == "function_call")
    return streamed, final.arguments, final.parsed_arguments


def test_chat_stream_of_a_call_without_arguments_ends_with_an_empty_object():
    for pieces in ([], [""]):
        assert _chat_arguments(pieces) == ("{}", {})


def test_chat_stream_of_a_call_with_arguments_is_unchanged():
    assert _chat_arguments(['{"since":', ' "May"}']) == ('{"since": "May"}', {"since": "May"})


def test_responses_stream_of_a_call_without_arguments_ends_with_an_empty_object():
    for pieces in ([], [""]):
        assert _responses_arguments(pieces) == ("{}", "{}", {})
