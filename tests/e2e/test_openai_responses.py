"""The OpenAI Responses API through the whole stack, with the official SDK (its stream state checks the events)."""

import openai
import pydantic
import pytest

from tests.e2e.clients import last_sent, oa, sent

TOOLS = [{"type": "function", "name": "get_order_status", "description": "Status of an order",
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}]


class Order(pydantic.BaseModel):
    order_id: str
    items: int




def test_create_answers_with_a_response(stack):
    response = oa(stack).responses.create(model="sonnet", instructions="Be terse.", input="Hello there",
                                          max_output_tokens=50, metadata={"ticket": "T-42"}, temperature=0.2)
    assert response.status == "completed" and response.id.startswith("resp_")
    assert (response.instructions, response.max_output_tokens, response.metadata, response.temperature,
            response.store) == ("Be terse.", 50, {"ticket": "T-42"}, 0.2, True)    # the request's settings, repeated
    assert response.output_text.startswith("Emulated reply to: Hello there")
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens > 0
    sent = last_sent(stack)
    assert sent["operation"] == "converse" and sent["body"]["system"] == [{"text": "Be terse."},
                                                                 {"cachePoint": {"type": "default"}}]
    assert sent["body"]["inferenceConfig"]["maxTokens"] == 50


def test_stream_through_the_sdks_stream_state(stack):
    with oa(stack).responses.stream(model="haiku", input=[
            {"role": "user", "content": [{"type": "input_text", "text": "Stream to me"}]}]) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) > 1 and "".join(deltas) == final.output_text
    assert final.usage.output_tokens > 0


def test_a_kept_response_is_retrieved_as_it_was_answered_by_its_own_key_only(stack):
    client = oa(stack)
    events = list(client.responses.create(model="haiku", input="Stream, then be fetched", stream=True,
                                          tools=TOOLS, metadata={"run": "7"}))
    [streamed] = [event.response for event in events if event.type == "response.completed"]
    assert events[0].response.metadata == streamed.metadata == {"run": "7"}
    assert [t.name for t in streamed.tools] == ["get_order_status"]
    answered = client.responses.create(model="sonnet", input="Answer, then be fetched")
    for response in (streamed, answered):      # kong.yaml keeps no inputs: no prompt and no person is kept
        kept = client.responses.retrieve(response.id)
        assert kept.model_dump() == {**response.model_dump(), "metadata": {}, "instructions": None}
        assert kept.output_text.startswith("Emulated reply to:")
    with pytest.raises(openai.NotFoundError):           # another consumer's key
        oa(stack, "dev-developer-2-key").responses.retrieve(answered.id)
    with pytest.raises(openai.NotFoundError):           # made with store: false
        client.responses.retrieve(client.responses.create(model="haiku", input="x", store=False).id)
    with pytest.raises(openai.BadRequestError) as refused:   # replaying events is for background responses
        client.responses.retrieve(answered.id, stream=True)
    assert refused.value.body["param"] == "stream"


def test_function_calling_round_trip(stack):
    client = oa(stack)
    first = client.responses.create(model="sonnet", input="Where is order 42? call get_order_status", tools=TOOLS)
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_order_status" and "order_id" in call.arguments
    second = client.responses.create(model="sonnet", tools=TOOLS, input=[
        {"role": "user", "content": "Where is order 42? call get_order_status"},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "shipped"}])
    assert "tool result shipped" in second.output_text


def test_parse_with_a_text_format(stack):
    parsed = oa(stack).responses.parse(model="sonnet", input="Summarise order 42", text_format=Order)
    assert isinstance(parsed.output_parsed, Order)
    assert last_sent(stack)["body"]["outputConfig"]["textFormat"]["type"] == "json_schema"


def test_reasoning_streams_a_summary_before_the_answer(stack):
    with oa(stack).responses.stream(model="sonnet", input="Plan the launch", reasoning={"effort": "low"},
                                    max_output_tokens=3000) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text
    assert kinds.index("response.reasoning_summary_text.delta") < kinds.index("response.output_text.delta")


def test_stateless_requests_and_client_run_built_in_tools_are_clear_400s(stack):
    client = oa(stack)
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="sonnet", input="more", previous_response_id="resp_abc")
    assert exc.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="sonnet", input="ls", tools=[{"type": "local_shell"}])
    assert exc.value.body["param"] == "tools.0.type" and "built-in" in exc.value.message


def test_a_bad_value_is_named_as_the_responses_request_has_it(stack):
    client = oa(stack)
    for kwargs, param in (({"max_output_tokens": 0}, "max_output_tokens"),
                          ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
                          ({"instructions": "Be brief.", "input": [{"role": "user", "content": "a"}, {
                              "role": "user", "content": [{"type": "input_image", "image_url": "https://x/a.png"}]}]},
                           "input.1.content.0")):
        with pytest.raises(openai.BadRequestError) as exc:
            client.responses.create(model="sonnet", **{"input": "hi", **kwargs})
        assert exc.value.body["param"] == param and exc.value.body["message"].startswith(param)
        assert "messages." not in exc.value.body["message"]


@pytest.mark.parametrize("kwargs, param", [
    ({"truncation": "sometimes-4111"}, "truncation"),
    ({"include": ["reasoning.encrypted_content", 4111]}, "include.1"),
    ({"text": {"format": {"type": "json_schema", "name": "order-4111"}}}, "text.format.schema"),
    ({"tool_choice": "required"}, "tool_choice"),
], ids=["truncation", "include", "json_schema", "required"])
def test_settings_openai_refuses_are_a_400_naming_them_before_bedrock(stack, kwargs, param):
    """Each was taken and answered (the Response repeating it as if it applied) where OpenAI answers a 400."""
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack).responses.create(model="sonnet", input="hi", **kwargs)
    assert exc.value.body["param"] == param and exc.value.body["type"] == "invalid_request_error"
    assert "4111" not in exc.value.body["message"] and sent(stack) == []


AGENTS = {"type": "namespace", "name": "multi_agent_v1", "description": "Tools for managing sub-agents.",
          "tools": [{"type": "function", "name": "close_agent", "description": "Close an agent.", "parameters": {
              "type": "object", "properties": {"target": {"type": "string"}}, "required": ["target"]}}]}


def test_namespaced_tools_round_trip_and_hosted_tools_are_named_as_left_out(stack):
    """Codex's shape: a namespace of tools and web_search beside them."""
    client = oa(stack)
    raw = client.responses.with_raw_response.create(
        model="sonnet", input="close agent a1", tools=[AGENTS, {"type": "web_search", "external_web_access": False}],
        tool_choice={"type": "function", "name": "close_agent"})
    assert raw.headers["X-Bedrock-Omitted-Tools"] == "web_search"
    [call] = [item for item in raw.parse().output if item.type == "function_call"]
    assert (call.name, call.namespace) == ("close_agent", "multi_agent_v1")
    [spec] = [tool["toolSpec"] for tool in last_sent(stack)["body"]["toolConfig"]["tools"] if "toolSpec" in tool]
    assert spec["name"] == "multi_agent_v1__close_agent" and spec["description"].startswith("multi_agent_v1: ")
    second = client.responses.create(model="sonnet", tools=[AGENTS], input=[
        {"role": "user", "content": "close agent a1"}, call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "closed"}])
    assert "tool result closed" in second.output_text
    assert last_sent(stack)["body"]["messages"][1]["content"][-1]["toolUse"]["name"] == "multi_agent_v1__close_agent"


@pytest.mark.parametrize("item", [
    "my card is 4111 1111 1111 1111",
    [{"role": "user", "content": [{"type": "input_text", "text": "card 4111 1111 1111 1111 please"}]}],
])
def test_guardrails_scan_the_input(stack, item):
    with pytest.raises(openai.PermissionDeniedError) as exc:
        oa(stack).responses.create(model="sonnet", input=item)
    assert "payment_card" in exc.value.message and "4111" not in exc.value.message
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_an_openai_compatible_model_points_to_chat_completions(stack):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-partner-key").responses.create(model="gemini-flash", input="hi")
    assert "/v1/chat/completions" in exc.value.message


def test_a_reasoning_tool_loop_thinks_on_with_the_output_sent_back(stack):
    """`input += response.output`: the reasoning item's encrypted_content brings Claude's thinking block back."""
    client = oa(stack)
    items = [{"role": "user", "content": "Where is order 42? call get_order_status"}]
    first = client.responses.create(model="sonnet", input=items, tools=TOOLS, reasoning={"effort": "low"},
                                    max_output_tokens=3000)
    assert [item.type for item in first.output] == ["reasoning", "message", "function_call"]
    call = first.output[-1]
    items += [item.model_dump(exclude_none=True) for item in first.output]
    items.append({"type": "function_call_output", "call_id": call.call_id, "output": "shipped"})
    final = client.responses.create(model="sonnet", input=items, tools=TOOLS, reasoning={"effort": "low"},
                                    max_output_tokens=3000)
    assert final.output[0].type == "reasoning" and "tool result shipped" in final.output_text
    sent = last_sent(stack)["body"]
    assert "thinking" in sent["additionalModelRequestFields"]
    assert "reasoningContent" in sent["messages"][1]["content"][0]
