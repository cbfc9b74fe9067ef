"""Structured outputs and JSON mode through the whole stack, with the official SDKs' own parsers."""

import json
from typing import Literal

import anthropic
import openai
import pydantic
import pytest

from tests.e2e.clients import last_sent, oa


class Customer(pydantic.BaseModel):
    name: str
    email: str


class OrderSummary(pydantic.BaseModel):
    order_id: str
    status: Literal["shipped", "pending", "cancelled"]
    items: int
    customer: Customer




def test_openai_parse_gets_the_schema_it_sent(stack):
    completion = oa(stack).chat.completions.parse(
        model="sonnet", max_tokens=200, response_format=OrderSummary,
        messages=[{"role": "user", "content": "Summarise order 42"}])
    choice = completion.choices[0]
    assert isinstance(choice.message.parsed, OrderSummary) and choice.finish_reason == "stop"
    sent = last_sent(stack)["body"]
    assert sent["outputConfig"]["textFormat"]["type"] == "json_schema"
    assert json.loads(sent["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"])["$defs"]["Customer"]
    assert "toolConfig" not in sent


def test_openai_stream_with_a_schema(stack):
    with oa(stack).chat.completions.stream(
            model="haiku", max_tokens=200, response_format=OrderSummary,
            messages=[{"role": "user", "content": "Summarise order 7"}]) as stream:
        pieces = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert len(pieces) > 1
    assert isinstance(final.choices[0].message.parsed, OrderSummary)


@pytest.mark.parametrize("stream", [False, True])
def test_openai_json_mode_answers_with_a_json_object(stack, stream):
    request = dict(model="sonnet", max_tokens=200, response_format={"type": "json_object"},
                   messages=[{"role": "user", "content": "Reply in JSON: where is order 42?"}])
    if stream:
        chunks = list(oa(stack).chat.completions.create(stream=True, **request))
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert not any(c.choices[0].delta.tool_calls for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    else:
        completion = oa(stack).chat.completions.create(**request)
        content, finish = completion.choices[0].message.content, [completion.choices[0].finish_reason]
        assert completion.choices[0].message.tool_calls is None
    assert isinstance(json.loads(content), dict)
    assert finish == ["stop"]


def test_openai_json_mode_beside_tools_still_calls_tools(stack):
    tool = {"type": "function", "function": {"name": "get_order_status", "parameters": {
        "type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}
    completion = oa(stack).chat.completions.create(
        model="sonnet", max_tokens=200, response_format={"type": "json_object"}, tools=[tool],
        messages=[{"role": "user", "content": "Where is order 42? call get_order_status"}])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.name == "get_order_status"
    assert last_sent(stack)["body"]["toolConfig"]["toolChoice"] == {"any": {}}


def test_a_model_without_structured_outputs_answers_400_in_openai_format(stack):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-analyst-key").chat.completions.parse(
            model="titan", max_tokens=100, response_format=OrderSummary,
            messages=[{"role": "user", "content": "Summarise order 42"}])
    assert exc.value.status_code == 400
    assert "structured outputs" in exc.value.message and "Traceback" not in exc.value.message


def test_a_malformed_response_format_is_a_clear_400(stack):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack).chat.completions.create(model="sonnet", max_tokens=10, response_format={"type": "yaml"},
                                          messages=[{"role": "user", "content": "hi"}])
    assert exc.value.body["param"] == "response_format"


def test_anthropic_parse_reaches_invoke_model_with_its_schema(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    message = client.messages.parse(model="sonnet", max_tokens=200, output_format=OrderSummary,
                                    messages=[{"role": "user", "content": "Summarise order 42"}])
    assert isinstance(message.parsed_output, OrderSummary)
    sent = last_sent(stack)
    assert sent["operation"] == "invoke" and sent["body"]["output_config"]["format"]["type"] == "json_schema"


def test_anthropic_schema_on_a_model_without_structured_outputs_is_a_400(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-analyst-key", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as exc:
        client.messages.parse(model="titan", max_tokens=100, output_format=OrderSummary,
                              messages=[{"role": "user", "content": "Summarise order 42"}])
    assert exc.value.body["type"] == "error" and "structured outputs" in exc.value.body["error"]["message"]


# reasoning_effort: Claude's thinking for OpenAI clients.

ORDER_TOOL = {"type": "function", "function": {"name": "get_order_status", "parameters": {
    "type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}


def test_reasoning_effort_thinks_and_shows_its_reasoning(stack):
    completion = oa(stack).chat.completions.create(
        model="sonnet", max_completion_tokens=4000, reasoning_effort="high", temperature=0.2,
        messages=[{"role": "user", "content": "Which of my orders shipped?"}])
    message = completion.choices[0].message
    assert message.content and message.model_extra["reasoning_content"]
    sent = last_sent(stack)["body"]
    assert sent["additionalModelRequestFields"]["thinking"] == {"type": "enabled", "budget_tokens": 3200}
    assert "temperature" not in sent["inferenceConfig"]


def test_reasoning_effort_streams_reasoning_before_the_answer(stack):
    chunks = list(oa(stack).chat.completions.create(
        model="haiku", max_completion_tokens=3000, reasoning_effort="low", stream=True,
        messages=[{"role": "user", "content": "Which of my orders shipped?"}]))
    kinds = [("reasoning" if (c.choices[0].delta.model_extra or {}).get("reasoning_content") else
              "content" if c.choices[0].delta.content else None) for c in chunks if c.choices]
    kinds = [k for k in kinds if k]
    assert kinds[0] == "reasoning" and kinds[-1] == "content"
    assert kinds.index("content") > kinds.count("reasoning") - 1


def test_a_tool_loop_with_reasoning_effort_completes(stack):
    """OpenAI clients cannot send thinking blocks back; Claude refuses a thinking turn after tool use without
    them, so the request answering tool results does not think (the emulator refuses as Claude does)."""
    client = oa(stack)
    messages = [{"role": "user", "content": "Where is order 42? call get_order_status"}]
    first = client.chat.completions.create(model="sonnet", max_completion_tokens=3000, reasoning_effort="medium",
                                           tools=[ORDER_TOOL], messages=messages)
    call = first.choices[0].message.tool_calls[0]
    messages += [{"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                 {"role": "tool", "tool_call_id": call.id, "content": "shipped"}]
    final = client.chat.completions.create(model="sonnet", max_completion_tokens=3000, reasoning_effort="medium",
                                           tools=[ORDER_TOOL], messages=messages)
    assert final.choices[0].finish_reason == "stop" and "tool result" in final.choices[0].message.content


def test_reasoning_effort_on_mantle_is_adaptive_thinking_with_that_effort(stack):
    completion = oa(stack, "dev-admin-key").chat.completions.create(
        model="opus-4-7", max_completion_tokens=2000, reasoning_effort="xhigh",
        messages=[{"role": "user", "content": "Plan the launch"}])
    assert completion.choices[0].message.model_extra["reasoning_content"]
    sent = last_sent(stack)["body"]
    assert sent["thinking"] == {"type": "adaptive"} and sent["output_config"] == {"effort": "xhigh"}


def test_reasoning_effort_with_a_forced_tool_is_a_clear_400(stack):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack).chat.completions.create(model="sonnet", max_completion_tokens=3000, reasoning_effort="high",
                                          tools=[ORDER_TOOL], tool_choice="required",
                                          messages=[{"role": "user", "content": "Where is order 42?"}])
    assert exc.value.body["param"] == "reasoning_effort"


def test_a_tool_loop_keeps_thinking_when_the_client_sends_the_message_back(stack):
    """The OpenAI SDK's message.model_dump() keeps thinking_blocks; with them Claude thinks on in the loop
    (the emulator refuses, as Claude does, a thinking turn after a tool call that lost its block)."""
    client = oa(stack)
    messages = [{"role": "user", "content": "Where is order 42? call get_order_status"}]
    first = client.chat.completions.create(model="sonnet", max_completion_tokens=3000, reasoning_effort="medium",
                                           tools=[ORDER_TOOL], messages=messages)
    message = first.choices[0].message
    assert message.model_extra["thinking_blocks"][0]["signature"]
    messages += [message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "shipped"}]
    final = client.chat.completions.create(model="sonnet", max_completion_tokens=3000, reasoning_effort="medium",
                                           tools=[ORDER_TOOL], messages=messages)
    assert final.choices[0].message.model_extra["reasoning_content"]
    sent = last_sent(stack)["body"]
    assert sent["additionalModelRequestFields"]["thinking"]["type"] == "enabled"
    assert "reasoningContent" in sent["messages"][1]["content"][0]


# Strict tools: the SDK's pydantic_function_tool sets strict, which Bedrock's strict tool use honours.

class GetOrderStatus(pydantic.BaseModel):
    order_id: str
    include_items: bool


def test_openai_strict_tool_arguments_parse_into_the_callers_type(stack):
    completion = oa(stack).chat.completions.parse(
        model="haiku", max_tokens=200, tools=[openai.pydantic_function_tool(GetOrderStatus)],
        messages=[{"role": "user", "content": "Where is order 42? call GetOrderStatus"}])
    call = completion.choices[0].message.tool_calls[0]
    assert isinstance(call.function.parsed_arguments, GetOrderStatus)
    spec = last_sent(stack)["body"]["toolConfig"]["tools"][0]["toolSpec"]
    assert spec["strict"] is True and spec["inputSchema"]["json"]["additionalProperties"] is False


def test_a_tool_not_marked_strict_is_not_sent_strict(stack):
    oa(stack).chat.completions.create(model="haiku", max_tokens=200, tools=[ORDER_TOOL],
                                      messages=[{"role": "user", "content": "call get_order_status"}])
    assert "strict" not in last_sent(stack)["body"]["toolConfig"]["tools"][0]["toolSpec"]


def test_strict_of_the_wrong_type_is_a_clear_400(stack):
    tool = {"type": "function", "function": {**ORDER_TOOL["function"], "strict": "yes"}}
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack).chat.completions.create(model="haiku", max_tokens=10, tools=[tool],
                                          messages=[{"role": "user", "content": "hi"}])
    assert exc.value.body["param"] == "tools.0" and "strict" in exc.value.message


def test_responses_strict_function_tool_parses(stack):
    response = oa(stack).responses.parse(
        model="haiku", max_output_tokens=200, tools=[openai.pydantic_function_tool(GetOrderStatus)],
        input="Where is order 42? call GetOrderStatus")
    call = next(item for item in response.output if item.type == "function_call")
    assert isinstance(call.parsed_arguments, GetOrderStatus)
    assert last_sent(stack)["body"]["toolConfig"]["tools"][0]["toolSpec"]["strict"] is True


def test_anthropic_strict_tool_reaches_invoke_model(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    tool = {"name": "get_order_status", "input_schema": {**ORDER_TOOL["function"]["parameters"],
                                                          "additionalProperties": False}, "strict": True}
    message = client.messages.create(model="sonnet", max_tokens=200, tools=[tool], tool_choice={"type": "any"},
                                     messages=[{"role": "user", "content": "Where is order 42?"}])
    assert message.content[-1].type == "tool_use" and set(message.content[-1].input) == {"order_id"}
    sent = last_sent(stack)
    assert sent["operation"] == "invoke" and sent["body"]["tools"][0]["strict"] is True
