"""The OpenAI Agents SDK (`openai-agents`), unmodified, on Bedrock through the gateway: a tool loop, a
handoff, typed output and a second turn, on its Responses model and its Chat Completions model.

A handoff sends the agent handed to the conversation so far, the handoff's own tool call included,
with that agent's tools, often none. OpenAI accepts tool calls in a conversation that offers no tools;
Bedrock's Converse does not, and before the gateway wrote such history as text every handoff was a 400.
"""

import asyncio
import json

import openai
import pytest
from agents import (Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, Runner, function_tool,
                    set_tracing_disabled)
from pydantic import BaseModel

from tests.e2e.clients import last_sent
from tests.stack import GatewayStack

set_tracing_disabled(True)      # no trace uploads to OpenAI from the tests
KEEP_INPUTS = {"bedrock-proxy": {"openai_response_store": {"storage": "memory", "ttl_seconds": 600, "memory_mb": 8,
                                                            "keep_inputs": True}}}


@pytest.fixture(scope="module")
def stack():
    """A gateway that keeps Responses turns, so runs can also go on with previous_response_id."""
    with GatewayStack(config_overrides=KEEP_INPUTS) as running:
        yield running


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return json.dumps({"city": city, "celsius": 21})


class Product(BaseModel):
    name: str
    n: int


@pytest.fixture(params=["responses", "chat"])
def model(request, stack):
    client = openai.AsyncOpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    kind = OpenAIResponsesModel if request.param == "responses" else OpenAIChatCompletionsModel
    return kind("sonnet", client)


def run(agent, prompt):
    """Runner.run in a fresh event loop, as the SDK's `run_sync` does (a test's client serves one loop)."""
    return asyncio.run(Runner.run(agent, prompt))


def test_a_tool_loop_and_a_second_turn_with_the_items_sent_back(model):
    agent = Agent(name="helper", instructions="Be brief.", tools=[weather], model=model)

    async def two_turns():
        first = await Runner.run(agent, "call weather")
        return first, await Runner.run(agent, first.to_input_list() + [
            {"role": "user", "content": "thanks, call weather again"}])
    first, second = asyncio.run(two_turns())
    assert [item.type for item in first.new_items] == ["message_output_item", "tool_call_item",
                                                       "tool_call_output_item", "message_output_item"]
    assert '"celsius": 21' in first.final_output
    assert '"celsius": 21' in second.final_output


def test_a_handoff_reaches_the_agent_handed_to_with_the_history_as_text(model, stack):
    expert = Agent(name="expert", instructions="You know the weather.", model=model,
                   handoff_description="weather expert")
    triage = Agent(name="triage", instructions="Route the question.", handoffs=[expert], model=model)
    result = run(triage, "call transfer_to_expert")
    assert result.last_agent.name == "expert"
    assert result.final_output.startswith("Emulated reply")
    sent = last_sent(stack)["body"]
    assert "toolConfig" not in sent                          # the expert has no tools
    texts = [b.get("text", "") for m in sent["messages"] for b in m["content"]]
    assert any(t.startswith("[Called the tool transfer_to_expert") for t in texts)
    assert any(t.startswith("[The tool transfer_to_expert returned:]") for t in texts)


def test_typed_output_comes_back_as_the_pydantic_model(model):
    agent = Agent(name="typed", instructions="Answer.", output_type=Product, model=model)
    product = run(agent, "name a product").final_output
    assert isinstance(product, Product) and product.name and isinstance(product.n, int)



def test_runs_chained_by_previous_response_id_send_only_new_items_and_bedrock_gets_them_all(stack):
    client = openai.AsyncOpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    agent = Agent(name="helper", instructions="Be brief.", tools=[weather],
                  model=OpenAIResponsesModel("sonnet", client))

    async def two_runs():
        first = await Runner.run(agent, "call weather", auto_previous_response_id=True)
        return first, await Runner.run(agent, "thanks, call weather again",
                                       previous_response_id=first.last_response_id)
    first, second = asyncio.run(two_runs())
    assert '"celsius": 21' in first.final_output and '"celsius": 21' in second.final_output
    assert second.to_input_list()[0] == {"content": "thanks, call weather again", "role": "user"}   # new items only
    sent = [m for m in last_sent(stack)["body"]["messages"]]
    texts = [b.get("text") for m in sent for b in m["content"] if "text" in b]
    assert texts[0] == "call weather" and "thanks, call weather again" in texts
    assert sum("toolResult" in b for m in sent for b in m["content"]) == 2     # both runs' tool results


@pytest.mark.parametrize("chained", [False, True], ids=["items-sent-back", "previous-response-id"])
def test_claudes_signed_thinking_goes_back_to_bedrock_in_a_reasoning_tool_loop(stack, chained):
    """Claude refuses a tool loop with thinking on unless the turn that called the tool starts with its signed
    thinking: the SDK's reasoning item has to carry it back, whole or through the kept turn."""
    from agents import ModelSettings
    from openai.types.shared import Reasoning
    client = openai.AsyncOpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    agent = Agent(name="thinker", instructions="Be brief.", tools=[weather],
                  model=OpenAIResponsesModel("sonnet", client),
                  model_settings=ModelSettings(reasoning=Reasoning(effort="low")))
    result = asyncio.run(Runner.run(agent, "call weather", auto_previous_response_id=chained))
    assert '"celsius": 21' in result.final_output
    kinds = [item.type for item in result.new_items]
    assert kinds[0] == "reasoning_item" and "tool_call_item" in kinds
    sent = last_sent(stack)["body"]
    assert "thinking" in json.dumps(sent.get("additionalModelRequestFields", {}))
    turn = next(m for m in sent["messages"] if m["role"] == "assistant")
    assert turn["content"][0]["reasoningContent"]["reasoningText"]["signature"]
