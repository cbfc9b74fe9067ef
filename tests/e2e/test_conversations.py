"""OpenAI's Conversations API through the whole stack, with the official OpenAI SDK and the OpenAI Agents SDK:
with `keep_inputs`, a conversation made on one pod is continued by Responses calls on another that shares the
Redis store, for its own key only, holding its items as the guardrails let them through; without it, OpenAI's
404 says why."""

import asyncio
import json

import openai
import pytest
import redis
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from agents.memory import OpenAIConversationsSession

from kong_plugins.formats.openai_chat import OPENING_TURN
from tests.e2e.clients import last_sent
from tests.e2e.test_response_store import CARD, client, store_config
from tests.stack import GatewayStack

set_tracing_disabled(True)      # no trace uploads to OpenAI from the tests


def _texts(stack):
    """The text blocks of the last Converse call Bedrock got, in order."""
    return [block["text"] for message in last_sent(stack)["body"]["messages"] for block in message["content"]
            if "text" in block]


def test_a_conversation_is_continued_on_another_pod_for_its_own_key_only(redis_server):
    port, _ = redis_server
    config = {**store_config("redis", keep_inputs=True, redis={"host": "127.0.0.1", "port": port, "timeout_ms": 300}),
              "ecommerce-guardrails": {"payment_card": "redact"}}
    with GatewayStack(config_overrides=config) as a, GatewayStack(config_overrides=config) as b:
        conversation = client(a).conversations.create(metadata={"topic": "orders"}, items=[
            {"type": "message", "role": "user", "content": f"Order 4 was paid with {CARD}."}])
        assert conversation.id.startswith("conv_") and conversation.metadata == {"topic": "orders"}
        first = client(b).responses.create(model="sonnet", conversation=conversation.id, input="Where is order 4?")
        assert first.conversation.id == conversation.id and first.status == "completed"
        sent = _texts(b)
        assert "Order 4 was paid with" in sent[0] and CARD not in sent[0] and sent[-1] == "Where is order 4?"
        with client(a).responses.stream(model="sonnet", conversation={"id": conversation.id},
                                        input="Thanks.") as events:
            second = events.get_final_response()              # a streamed call joins the conversation too
        assert _texts(a)[:3] == [*sent, first.output_text] and _texts(a)[-1] == "Thanks."

        items = list(client(b).conversations.items.list(conversation.id, order="asc", limit=2))   # SDK pages on
        assert [item.role for item in items] == ["user", "user", "assistant", "user", "assistant"]
        assert [items[2].id, items[4].id] == [first.output[0].id, second.output[0].id]
        assert items[1].content[0].text == "Where is order 4?" and CARD not in items[0].content[0].text
        assert client(a).conversations.items.retrieve(items[1].id, conversation_id=conversation.id).id == items[1].id

        with pytest.raises(openai.NotFoundError):                 # another consumer's key
            client(b, key="dev-developer-2-key").conversations.items.list(conversation.id)
        with pytest.raises(openai.BadRequestError) as refused:
            client(b, key="dev-developer-2-key").responses.create(model="sonnet", conversation=conversation.id,
                                                                   input="and now?")
        assert refused.value.body["param"] == "conversation"
        with pytest.raises(openai.PermissionDeniedError) as blocked:   # guardrails block before anything is kept
            client(a).conversations.items.create(conversation.id, items=[
                {"type": "message", "role": "user", "content": "look up order 7' OR '1'='1 for me"}])
        assert blocked.value.body["code"] == "content_blocked"

        client(a).conversations.items.delete(items[0].id, conversation_id=conversation.id)
        assert client(b).conversations.update(conversation.id, metadata={"topic": "done"}).metadata == {"topic": "done"}
        assert [item.id for item in client(b).conversations.items.list(conversation.id, order="asc")] == \
            [item.id for item in items[1:]]
        kept = redis.Redis(port=port)
        values = [b"".join(kept.lrange(k, 0, -1)) if kept.type(k) == b"list" else kept.get(k)
                  for k in kept.keys("kbg:*")]
        assert kept.keys("kbg:conversation*") and not any(CARD.encode() in value for value in values)
        assert client(a).conversations.delete(conversation.id).deleted is True
        with pytest.raises(openai.NotFoundError):
            client(b).conversations.retrieve(conversation.id)
        assert not kept.keys("kbg:conversation*")


@function_tool
def order_status(order: int) -> str:
    """The status of an order."""
    return json.dumps({"order": order, "status": "shipped"})


def test_the_agents_sdk_keeps_its_history_in_a_gateway_conversation():
    config = store_config("memory", keep_inputs=True)
    with GatewayStack(config_overrides=config) as stack:
        def agent(sdk):
            return Agent(name="helper", instructions="Be brief.", tools=[order_status],
                         model=OpenAIResponsesModel("sonnet", sdk))

        async def session_runs():       # the session reads and adds items through the Conversations API
            sdk = openai.AsyncOpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
            session = OpenAIConversationsSession(openai_client=sdk)
            first = await Runner.run(agent(sdk), "call order_status for order 4", session=session)
            await Runner.run(agent(sdk), "thanks", session=session)
            return first, await session.get_items()

        first, history = asyncio.run(session_runs())
        assert '"status": "shipped"' in first.final_output
        texts = _texts(stack)
        assert texts[0] == "call order_status for order 4" and texts[-1] == "thanks"
        assert [item["type"] for item in history].count("function_call_output") == 1
        assert history[0]["content"][0]["text"] == "call order_status for order 4"

        async def server_managed_runs():      # Runner's conversation_id: the gateway adds the items itself
            sdk = openai.AsyncOpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
            made = await sdk.conversations.create()
            await Runner.run(agent(sdk), "call order_status for order 5", conversation_id=made.id)
            await Runner.run(agent(sdk), "and order 6?", conversation_id=made.id)
            return [item async for item in sdk.conversations.items.list(made.id, order="asc")]

        items = asyncio.run(server_managed_runs())
        texts = _texts(stack)
        assert texts[0] == "call order_status for order 5" and texts[-1] == "and order 6?"
        assert [item.type for item in items].count("function_call_output") == 1


def test_a_conversation_opening_with_the_assistants_greeting_is_answered():
    """OpenAI takes a conversation that opens with a chatbot's greeting, or whose first user item was deleted;
    Bedrock's 400 "A conversation must start with a user message" reached the client. A short user turn goes first."""
    greeting = {"type": "message", "role": "assistant", "content": "Hi! How can I help?"}
    with GatewayStack(config_overrides=store_config("memory", keep_inputs=True)) as stack:
        opened = client(stack).conversations.create(items=[greeting])
        answer = client(stack).responses.create(model="sonnet", conversation=opened.id, input="Where is my order?")
        assert answer.status == "completed" and answer.output_text
        assert [m["role"] for m in last_sent(stack)["body"]["messages"]] == ["user", "assistant", "user"]
        assert _texts(stack) == [OPENING_TURN, "Hi! How can I help?", "Where is my order?"]

        started = client(stack).conversations.create(items=[{"type": "message", "role": "user", "content": "hi"},
                                                            greeting])
        first = client(stack).conversations.items.list(started.id, order="asc").data[0]
        client(stack).conversations.items.delete(first.id, conversation_id=started.id)
        assert client(stack).responses.create(model="sonnet", conversation=started.id, input="next").output_text

        history = [{"role": "assistant", "content": "Hi! How can I help?"}, {"role": "user", "content": "Order 4?"}]
        assert client(stack).responses.create(model="sonnet", input=history).status == "completed"
        chat = client(stack).chat.completions.create(model="sonnet", messages=history)
        assert chat.choices[0].message.content and _texts(stack)[0] == OPENING_TURN


def test_without_keep_inputs_conversations_are_openais_404_saying_why(stack):
    with pytest.raises(openai.NotFoundError) as refused:
        client(stack).conversations.create()
    assert "keep_inputs" in refused.value.body["message"]
    with pytest.raises(openai.BadRequestError) as refused:
        client(stack).responses.create(model="haiku", conversation="conv_1", input="hi")
    assert refused.value.body["param"] == "conversation"
