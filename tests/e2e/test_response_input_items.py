"""`responses.input_items.list` through the whole stack with the official OpenAI SDK: with `keep_inputs`, a
kept turn's input (as the guardrails let it through) is listed page by page on any pod that shares the Redis
store, to its own key only; without it, OpenAI's 404 says why."""

import openai
import pytest

from tests.e2e.test_response_store import CARD, TOOLS, client, store_config
from tests.stack import GatewayStack


def test_a_kept_turns_input_is_listed_page_by_page_on_another_pod_for_its_own_key(redis_server):
    port, _ = redis_server
    config = {**store_config("redis", keep_inputs=True, redis={"host": "127.0.0.1", "port": port, "timeout_ms": 300}),
              "ecommerce-guardrails": {"payment_card": "redact"}}
    with GatewayStack(config_overrides=config) as a, GatewayStack(config_overrides=config) as b:
        first = client(a).responses.create(model="sonnet", tools=TOOLS, instructions="Be brief.", input=[
            {"role": "user", "content": "Hello."},
            {"role": "assistant", "content": "Hi, how can I help?"},
            {"role": "user", "content": f"call weather for Oslo; my card is {CARD}"}])
        call = first.output[-1]
        second = client(a).responses.create(model="sonnet", tools=TOOLS, previous_response_id=first.id, input=[
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"celsius": 21}'}])

        listed = client(b).responses.input_items.list(first.id, order="asc", limit=2)
        assert [item.role for item in listed.data] == ["user", "assistant"] and listed.has_more is True
        everything = list(client(b).responses.input_items.list(first.id, order="asc", limit=2))  # SDK pages on
        assert [item.type for item in everything] == ["message"] * 3
        assert [item.content[0].text for item in everything[:2]] == ["Hello.", "Hi, how can I help?"]
        assert everything[2].content[0].type == "input_text" and "call weather" in everything[2].content[0].text
        assert CARD not in everything[2].content[0].text            # kept as the guardrails redacted it
        assert [item.id for item in client(a).responses.input_items.list(first.id)] == \
            [item.id for item in everything][::-1]                  # newest first by default, the same ids
        [output] = client(b).responses.input_items.list(second.id).data   # its own input, not the turns before
        assert output.type == "function_call_output" and output.call_id == call.call_id
        with pytest.raises(openai.NotFoundError):                   # another consumer's key
            client(b, key="dev-developer-2-key").responses.input_items.list(first.id)
        with pytest.raises(openai.BadRequestError) as refused:
            client(a).responses.input_items.list(first.id, limit=500)
        assert refused.value.body["param"] == "limit"
        client(a).responses.delete(first.id)
        with pytest.raises(openai.NotFoundError):                   # erased with its turn
            client(b).responses.input_items.list(first.id)


def test_without_keep_inputs_input_items_is_openais_404_saying_why(stack):
    answered = client(stack).responses.create(model="haiku", input="List my input, please")
    with pytest.raises(openai.NotFoundError) as refused:
        client(stack).responses.input_items.list(answered.id)
    assert "keep_inputs" in refused.value.body["message"]
    assert client(stack).responses.retrieve(answered.id).id == answered.id   # the response itself is kept
