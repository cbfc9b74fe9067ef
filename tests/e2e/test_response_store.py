"""Responses items kept for `item_reference`s across Kong pods: two gateways (harness + plugin server each)
sharing a real redis-server, or each with its own memory store. The official OpenAI SDK is the client."""

import openai
import pytest
import redis

from tests.stack import GatewayStack

TOOLS = [{"type": "function", "name": "weather", "description": "The weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
CANARY = "canary-prompt-7f3a91"
CARD = "4111 1111 1111 1111"


def client(stack, key="dev-developer-key"):
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=key, max_retries=0)


def first_step(stack, **extra):
    response = client(stack).responses.create(model="sonnet", input=f"call weather ({CANARY})", tools=TOOLS,
                                              **extra)
    message, call = response.output
    assert message.type == "message" and call.type == "function_call"
    return message.id, call


def second_step(stack, message_id, call, key="dev-developer-key"):
    return client(stack, key).responses.create(model="sonnet", tools=TOOLS, input=[
        {"role": "user", "content": f"call weather ({CANARY})"},
        {"type": "item_reference", "id": message_id},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": '{"celsius": 21}'}])


def store_config(storage, **extra):
    return {"bedrock-proxy": {"openai_response_store": {"storage": storage, "ttl_seconds": 600, "memory_mb": 8,
                                                        **extra}}}


def test_with_redis_a_pod_resolves_what_another_pod_returned_for_the_same_key_only(redis_server):
    port, _ = redis_server
    config = store_config("redis", redis={"host": "127.0.0.1", "port": port, "timeout_ms": 300})
    with GatewayStack(config_overrides=config) as a, GatewayStack(config_overrides=config) as b:
        message_id, call = first_step(a)
        answer = second_step(b, message_id, call)
        assert answer.status == "completed" and "celsius" in answer.output_text
        assistant = next(m for m in b.emulator_control("GET", "/_emulator/requests").json()[-1]["body"]["messages"]
                         if m["role"] == "assistant")
        assert assistant["content"][0] == {"text": "I'll use the weather tool."}
        with pytest.raises(openai.BadRequestError) as refused:    # another consumer's key: not its items
            second_step(b, message_id, call, key="dev-developer-2-key")
        assert refused.value.body["param"] == "input.1.id"
        owner_key = redis.Redis(port=port).keys(f"kbg:item:*:{message_id}")[0]
        redis.Redis(port=port).set(owner_key.replace(message_id.encode(), b"msg_foreign"), b"{not json", ex=600)
        with pytest.raises(openai.BadRequestError) as refused:    # not an item the gateway kept: missing
            second_step(b, "msg_foreign", call)
        assert refused.value.body["param"] == "input.1.id"
    kept = redis.Redis(port=port)
    keys = kept.keys("kbg:item:*")
    assert len(keys) == 4        # the first step's message and call, the second's answer, the foreign value
    assert all(0 < kept.ttl(k) <= 600 for k in keys)
    assert not any(CANARY.encode() in kept.get(k) for k in keys)      # model output only, never the prompt


def test_with_memory_stores_only_the_pod_that_answered_can_resolve_and_store_false_keeps_nothing():
    config = store_config("memory")
    with GatewayStack(config_overrides=config) as a, GatewayStack(config_overrides=config) as b:
        message_id, call = first_step(a)
        with pytest.raises(openai.BadRequestError) as refused:
            second_step(b, message_id, call)
        assert refused.value.body["param"] == "input.1.id"
        assert "store: false" in refused.value.body["message"]
        assert second_step(a, message_id, call).status == "completed"
        message_id, call = first_step(a, store=False)
        with pytest.raises(openai.BadRequestError):
            second_step(a, message_id, call)


def test_previous_response_id_continues_a_turn_on_another_pod_for_the_same_key_only(redis_server):
    port, _ = redis_server
    config = {**store_config("redis", keep_inputs=True, redis={"host": "127.0.0.1", "port": port, "timeout_ms": 300}),
              "ecommerce-guardrails": {"payment_card": "redact"}}
    with GatewayStack(config_overrides=config) as a, GatewayStack(config_overrides=config) as b:
        first = client(a).responses.create(model="sonnet", input=f"call weather ({CANARY})", tools=TOOLS,
                                           instructions="Be brief.")
        call = first.output[1]
        with client(b).responses.stream(model="sonnet", tools=TOOLS, previous_response_id=first.id, input=[
                {"type": "function_call_output", "call_id": call.call_id, "output": '{"celsius": 21}'}]) as events:
            second = events.get_final_response()         # a streamed turn is kept too
        third = client(a).responses.create(model="sonnet", tools=TOOLS, previous_response_id=second.id,
                                           input=f"thanks, my card is {CARD}")
        assert second.status == third.status == "completed" and "celsius" in second.output_text
        sent = a.emulator_control("GET", "/_emulator/requests").json()[-1]["body"]
        assert "system" not in sent          # instructions are not carried over, as OpenAI does
        assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user", "assistant", "user"]
        assert CANARY in sent["messages"][0]["content"][0]["text"]
        assert sent["messages"][1]["content"][1]["toolUse"]["toolUseId"] == call.call_id
        assert sent["messages"][2]["content"][0]["toolResult"]["toolUseId"] == call.call_id
        with pytest.raises(openai.BadRequestError) as refused:    # another consumer's key: not its turns
            client(b, key="dev-developer-2-key").responses.create(model="sonnet", previous_response_id=second.id,
                                                                   input="and now?")
        assert refused.value.body["param"] == "previous_response_id" and second.id not in str(refused.value.body)
    kept = redis.Redis(port=port)
    turns = kept.keys("kbg:turn:*")
    assert len(turns) == 3 and all(0 < kept.ttl(k) <= 600 for k in turns)
    assert not any(CANARY.encode() in kept.get(k) for k in kept.keys("kbg:item:*"))   # items: model output only
    assert any(CANARY.encode() in kept.get(k) for k in turns)        # turns: the prompts too...
    assert not any(CARD.encode() in kept.get(k) for k in kept.keys("kbg:*"))   # ...as the guardrails redacted them


def test_without_keep_inputs_previous_response_id_is_a_400_and_no_prompt_is_kept(redis_server):
    port, _ = redis_server
    config = store_config("redis", redis={"host": "127.0.0.1", "port": port, "timeout_ms": 300})
    with GatewayStack(config_overrides=config) as a:
        first = client(a).responses.create(model="sonnet", input=f"call weather ({CANARY})", tools=TOOLS,
                                           instructions=f"Serve {CANARY}.", metadata={"customer": CANARY},
                                           safety_identifier=CANARY)
        assert (first.instructions, first.metadata) == (f"Serve {CANARY}.", {"customer": CANARY})   # repeated...
        kept = client(a).responses.retrieve(first.id)          # ...but not kept
        assert (kept.instructions, kept.metadata, kept.safety_identifier) == (None, {}, None)
        assert kept.output == first.output and [t.name for t in kept.tools] == ["weather"]
        with pytest.raises(openai.BadRequestError) as refused:
            client(a).responses.create(model="sonnet", previous_response_id=first.id, input="more")
        assert refused.value.body["param"] == "previous_response_id"
        assert "does not keep prompts" in refused.value.body["message"]
    kept = redis.Redis(port=port)
    assert not kept.keys("kbg:turn:*")
    assert kept.keys("kbg:*") and not any(CANARY.encode() in kept.get(k) for k in kept.keys("kbg:*"))


def test_delete_erases_a_kept_response_on_every_pod_for_its_key_only(redis_server):
    """`responses.delete` (GDPR erasure): the response's output items and its turn go, from every pod; a
    conversation that went through it can no longer be continued, rather than silently losing a turn."""
    port, _ = redis_server
    config = store_config("redis", keep_inputs=True, redis={"host": "127.0.0.1", "port": port, "timeout_ms": 300})
    kept = redis.Redis(port=port)
    with GatewayStack(config_overrides=config) as a, GatewayStack(config_overrides=config) as b:
        first = client(a).responses.create(model="sonnet", input=f"call weather ({CANARY})", tools=TOOLS)
        message, call = first.output
        second = client(a).responses.create(model="sonnet", tools=TOOLS, previous_response_id=first.id, input=[
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"celsius": 21}'}])
        assert any(CANARY.encode() in kept.get(k) for k in kept.keys("kbg:*"))
        with pytest.raises(openai.NotFoundError) as refused:     # another consumer's key: not its response
            client(b, key="dev-developer-2-key").responses.delete(first.id)
        assert first.id not in str(refused.value.body)
        assert client(b).responses.delete(first.id) is None       # the SDK's answer to a 200
        assert not any(CANARY.encode() in kept.get(k) for k in kept.keys("kbg:*"))   # the prompt is gone
        assert not any(first.id.encode() in k or message.id.encode() in k or call.id.encode() in k
                       for k in kept.keys("kbg:*"))
        assert [k for k in kept.keys("kbg:turn:*") if k.endswith(second.id.encode())]   # the later turn stays
        with pytest.raises(openai.BadRequestError) as refused:    # the conversation went through it
            client(a).responses.create(model="sonnet", previous_response_id=second.id, input="and now?")
        assert refused.value.body["param"] == "previous_response_id"
        with pytest.raises(openai.BadRequestError) as refused:    # its items are no longer there to reference
            second_step(a, message.id, call)
        assert refused.value.body["param"] == "input.1.id"
        with pytest.raises(openai.NotFoundError):                 # deleted already
            client(a).responses.delete(first.id)
        assert client(b).responses.retrieve(second.id).model_dump() == second.model_dump()   # as answered
        with pytest.raises(openai.NotFoundError):
            client(b, key="dev-developer-2-key").responses.retrieve(second.id)
        assert client(a).responses.delete(second.id) is None
        with pytest.raises(openai.NotFoundError):
            client(b).responses.retrieve(second.id)
    assert not kept.keys("kbg:*")
