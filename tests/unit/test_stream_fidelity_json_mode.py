"""JSON mode's answer `{}` streamed: Bedrock's ConverseStream sends no input piece for a call without input (or an
empty one), and the Responses stream must still end with the text `{}` the unstreamed Response has, which the
OpenAI SDK's `responses.stream(text_format=...)` parses. Before, its text was "" (parsing it raised), while Chat
Completions already said `{}`. The events are Bedrock's, through the gateway's own decoder and renderers."""

import json

import pydantic
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from kong_plugins.context import Usage
from kong_plugins.formats import openai_chat, openai_chat_stream, responses_render
from kong_plugins.formats.converse import ConverseStreamToAnthropic
from kong_plugins.formats.response_format import ANSWER_TOOL
from kong_plugins.formats.tool_kinds import ToolKinds

JSON_MODE = ToolKinds(answer=ANSWER_TOOL)
UNSTREAMED = {"content": [{"type": "tool_use", "id": "tooluse_1", "name": ANSWER_TOOL, "input": {}}],
              "stop_reason": "tool_use"}


class Filters(pydantic.BaseModel):
    colour: str | None = None
    size: int | None = None


def _events(input_pieces):
    """ConverseStream's turn that answers JSON mode with `{}`, its input sent in `input_pieces`, as internal events."""
    decoder = ConverseStreamToAnthropic(model="sonnet", message_id="m")
    stream = [("messageStart", {"role": "assistant"}),
              ("contentBlockStart", {"contentBlockIndex": 0,
                                     "start": {"toolUse": {"toolUseId": "tooluse_1", "name": ANSWER_TOOL}}}),
              *[("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}})
                for piece in input_pieces],
              ("contentBlockStop", {"contentBlockIndex": 0}), ("messageStop", {"stopReason": "tool_use"}),
              ("metadata", {"usage": {"inputTokens": 10, "outputTokens": 2, "totalTokens": 12}})]
    for kind, payload in stream:
        for event, _ in decoder.feed(kind, json.dumps(payload).encode()):
            yield event


def _data(frames):
    for frame in frames:
        for line in frame.decode().splitlines():
            if line.startswith("data: {"):
                yield json.loads(line[len("data: "):])


@pytest.mark.parametrize("pieces", [[], [""], ["{", "}"]], ids=["no piece", "an empty piece", "in pieces"])
def test_responses_stream_of_an_empty_json_answer_ends_with_the_unstreamed_text(pieces):
    renderer = responses_render.EventRenderer(model="sonnet", response_id="resp_1", tools=JSON_MODE)
    state = ResponseStreamState(input_tools=[], text_format=Filters)
    adapter = pydantic.TypeAdapter(ResponseStreamEvent)
    final = None
    for event in _events(pieces):
        for data in _data(renderer.render(event, Usage())):
            for handled in state.handle_event(adapter.validate_python(data)):
                final = handled.response if handled.type == "response.completed" else final
    whole = responses_render.response_from_message(UNSTREAMED, Usage(), model="sonnet", response_id="resp_1",
                                                   tools=JSON_MODE)
    assert final.output_text == whole["output"][0]["content"][0]["text"] == "{}"
    assert final.output_parsed == Filters()


@pytest.mark.parametrize("pieces", [[], [""]], ids=["no piece", "an empty piece"])
def test_chat_stream_of_an_empty_json_answer_ends_with_the_unstreamed_content(pieces):
    renderer = openai_chat_stream.ChunkRenderer(model="sonnet", completion_id="chatcmpl-1", include_usage=False,
                                         tools=JSON_MODE)
    state = ChatCompletionStreamState()
    for event in _events(pieces):
        for data in _data(renderer.render(event, Usage())):
            state.handle_chunk(ChatCompletionChunk.model_validate(data))
    whole = openai_chat.completion_from_message(UNSTREAMED, Usage(), model="sonnet", completion_id="chatcmpl-1",
                                                tools=JSON_MODE)
    message = state.get_final_completion().choices[0].message
    assert message.content == whole["choices"][0]["message"]["content"] == "{}" and message.tool_calls is None
