"""Parallel tool calls as each client library accumulates them: OpenAI Chat (stream helper and raw chunks),
Responses, the Anthropic SDK and boto3's Converse, and `parallel_tool_calls: false` honoured on Converse."""

import json

import anthropic
import botocore.exceptions
import pytest

from tests.e2e.clients import bedrock_runtime, last_sent, oa

pytestmark = pytest.mark.timeout(60)

ASK_BOTH = "call get_weather and call get_time"
SCHEMAS = {"get_weather": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
           "get_time": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}
CHAT_TOOLS = [{"type": "function", "function": {"name": name, "parameters": schema}}
              for name, schema in SCHEMAS.items()]
RESPONSES_TOOLS = [{"type": "function", "name": name, "parameters": schema} for name, schema in SCHEMAS.items()]
ANTHROPIC_TOOLS = [{"name": name, "input_schema": schema} for name, schema in SCHEMAS.items()]
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def _calls(message):
    return [(call.id, call.function.name, json.loads(call.function.arguments)) for call in message.tool_calls]


def test_chat_stream_chunks_and_the_stream_helper_match_the_unstreamed_calls(stack):
    ask = {"model": "sonnet", "max_tokens": 200, "tools": CHAT_TOOLS,
           "messages": [{"role": "user", "content": ASK_BOTH}]}
    whole = oa(stack).chat.completions.create(**ask)
    chunks = list(oa(stack).chat.completions.create(**ask, stream=True, stream_options={"include_usage": True}))
    pieces = [call.model_dump(exclude_none=True) for c in chunks if c.choices for call in c.choices[0].delta.tool_calls
              or []]
    firsts = [p for p in pieces if "id" in p]
    assert [(p["index"], p["type"], p["function"]) for p in firsts] == [
        (0, "function", {"name": "get_weather", "arguments": ""}),
        (1, "function", {"name": "get_time", "arguments": ""})]
    assert all(set(p) == {"index", "function"} and set(p["function"]) == {"arguments"} for p in pieces if "id" not in p)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    with oa(stack).chat.completions.stream(**ask) as stream:
        final = stream.get_final_completion()
    assert _calls(final.choices[0].message) == _calls(whole.choices[0].message)
    assert [name for _, name, _ in _calls(whole.choices[0].message)] == ["get_weather", "get_time"]
    assert final.choices[0].finish_reason == whole.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("choice", ["auto", "required", {"type": "function", "function": {"name": "get_time"}}])
def test_parallel_tool_calls_false_gets_one_call(stack, choice):
    answer = oa(stack).chat.completions.create(
        model="sonnet", max_tokens=200, tools=CHAT_TOOLS, tool_choice=choice, parallel_tool_calls=False,
        messages=[{"role": "user", "content": ASK_BOTH}])
    assert len(answer.choices[0].message.tool_calls) == 1 and answer.choices[0].finish_reason == "tool_calls"
    assert last_sent(stack)["body"]["additionalModelRequestFields"]["tool_choice"]["disable_parallel_tool_use"]


def test_a_tool_loop_answers_both_calls_with_each_result_part_kept_apart(stack):
    first = oa(stack).chat.completions.create(model="sonnet", max_tokens=200, tools=CHAT_TOOLS,
                                              messages=[{"role": "user", "content": ASK_BOTH}])
    weather, time = first.choices[0].message.tool_calls
    answer = oa(stack).chat.completions.create(model="sonnet", max_tokens=200, tools=CHAT_TOOLS, messages=[
        {"role": "user", "content": ASK_BOTH},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": weather.id, "content": [{"type": "text", "text": "sunny"},
                                                                 {"type": "text", "text": "25C"}]},
        {"role": "tool", "tool_call_id": time.id, "content": "noon"}])
    assert answer.choices[0].message.content.startswith("Emulated reply to: tool result sunny 25C noon")
    results = last_sent(stack)["body"]["messages"][-1]["content"]
    assert [r["toolResult"]["content"] for r in results if "toolResult" in r] == [
        [{"text": "sunny"}, {"text": "25C"}], [{"text": "noon"}]]


def test_responses_stream_gives_each_call_its_own_output_item(stack):
    with oa(stack).responses.stream(model="sonnet", max_output_tokens=200, tools=RESPONSES_TOOLS,
                                    input=ASK_BOTH) as stream:
        events = [(e.type.removeprefix("response."), getattr(e, "output_index", None)) for e in stream
                  if e.type.startswith(("response.output_item", "response.function_call"))]
        final = stream.get_final_response()
    order = [event for i, event in enumerate(events) if i == 0 or event != events[i - 1]]   # deltas as one
    call = ["output_item.added", "function_call_arguments.delta", "function_call_arguments.done", "output_item.done"]
    assert order == [("output_item.added", 0), ("output_item.done", 0), *[(kind, 1) for kind in call],
                     *[(kind, 2) for kind in call]]
    calls = [item for item in final.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"] and len({c.call_id for c in calls}) == 2
    one = oa(stack).responses.create(model="sonnet", max_output_tokens=200, tools=RESPONSES_TOOLS, input=ASK_BOTH,
                                     parallel_tool_calls=False)
    assert [item.name for item in one.output if item.type == "function_call"] == ["get_weather"]
    assert one.parallel_tool_calls is False


def test_anthropic_stream_helper_equals_the_message_and_honours_disable_parallel(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    ask = {"model": "sonnet", "max_tokens": 200, "tools": ANTHROPIC_TOOLS,
           "messages": [{"role": "user", "content": ASK_BOTH}]}
    whole = client.messages.create(**ask)
    with client.messages.stream(**ask) as stream:
        final = stream.get_final_message()
    assert final.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})
    assert [b.name for b in whole.content if b.type == "tool_use"] == ["get_weather", "get_time"]
    one = client.messages.create(**ask, tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    assert [b.name for b in one.content if b.type == "tool_use"] == ["get_weather"]


def test_boto3_converse_turns_parallel_use_off_as_bedrock_takes_it(stack):
    runtime = bedrock_runtime(stack)
    ask = {"modelId": SONNET, "messages": [{"role": "user", "content": [{"text": ASK_BOTH}]}],
           "toolConfig": {"tools": [{"toolSpec": {"name": t["name"], "inputSchema": {"json": t["input_schema"]}}}
                                    for t in ANTHROPIC_TOOLS]}}
    both = runtime.converse(**ask)["output"]["message"]["content"]
    assert [b["toolUse"]["name"] for b in both if "toolUse" in b] == ["get_weather", "get_time"]
    off = {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}
    one = runtime.converse(**ask, additionalModelRequestFields=off)["output"]["message"]["content"]
    assert [b["toolUse"]["name"] for b in one if "toolUse" in b] == ["get_weather"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        runtime.converse(**{**ask, "toolConfig": {**ask["toolConfig"], "toolChoice": {"any": {}}}},
                         additionalModelRequestFields=off)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "conflicts with the existing field toolConfig.toolChoice.any" in refused.value.response["Error"]["Message"]
