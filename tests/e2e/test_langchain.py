"""LangChain's OpenAI integration (langchain-openai) as analysts use it against the gateway: chat, streaming
with usage, tool calling round trips, structured output, the Responses API and embeddings. Real client,
unchanged; the gateway's key goes where LangChain puts an OpenAI key."""

import pydantic
import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

from tests.e2e.clients import last_sent


def chat(stack, model="sonnet", key="dev-developer-key", **options):
    return ChatOpenAI(base_url=stack.proxy_url + "/v1", api_key=key, model=model, max_retries=0, **options)


@tool
def get_order_status(order_id: str) -> str:
    """Status of an order."""
    return f"order {order_id} shipped"


class Order(pydantic.BaseModel):
    order_id: str
    items: int


def test_invoke_reports_usage_and_the_model(stack):
    answer = chat(stack, max_tokens=50).invoke("Hello from LangChain")
    assert answer.content.startswith("Emulated reply to: Hello from LangChain")
    usage = answer.usage_metadata
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert answer.response_metadata["model_name"] == "sonnet"
    assert last_sent(stack)["body"]["inferenceConfig"]["maxTokens"] == 50


def test_stream_carries_usage_in_its_last_chunk(stack):
    chunks = list(chat(stack, model="haiku", stream_usage=True).stream("Stream this"))
    assert len(chunks) > 2
    whole = sum(chunks[1:], chunks[0])
    assert whole.content.startswith("Emulated reply to: Stream this")
    assert whole.usage_metadata["output_tokens"] > 0


def test_a_tool_calling_round_trip(stack):
    model = chat(stack).bind_tools([get_order_status])
    asked = [HumanMessage("Where is order 42? call get_order_status")]
    first = model.invoke(asked)
    [call] = first.tool_calls
    assert call["name"] == "get_order_status" and "order_id" in call["args"]
    result = get_order_status.invoke(call["args"])
    final = model.invoke([*asked, first, ToolMessage(result, tool_call_id=call["id"])])
    assert not final.tool_calls and "shipped" in final.content
    sent = last_sent(stack)["body"]["messages"]
    assert sent[-1]["content"][0]["toolResult"]["toolUseId"] == call["id"]


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_output(stack, method):
    order = chat(stack).with_structured_output(Order, method=method).invoke("Summarise order 42")
    assert isinstance(order, Order)


def test_the_responses_api(stack):
    answer = chat(stack, use_responses_api=True).invoke("Hello through Responses")
    assert answer.text.startswith("Emulated reply to: Hello through Responses")
    assert answer.usage_metadata["output_tokens"] > 0 and last_sent(stack)["operation"] == "converse"


def test_embeddings(stack):
    embeddings = OpenAIEmbeddings(base_url=stack.proxy_url + "/v1", api_key="dev-analyst-key", model="titan-embed",
                                  check_embedding_ctx_length=False, dimensions=256, max_retries=0)
    vectors = embeddings.embed_documents(["blue running shoes", "red wool scarf"])
    assert len(vectors) == 2 and all(len(v) == 256 for v in vectors) and vectors[0] != vectors[1]
    assert len(embeddings.embed_query("shoes")) == 256
