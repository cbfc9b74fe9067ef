"""`previous_response_id`: a Responses call continues a kept turn (bedrock-proxy's
`openai_response_store.keep_inputs`), without Kong: the turns the store keeps, what Bedrock is sent,
and the refusals."""

import base64
import json

import pytest

from kong_plugins import bedrock_proxy
from kong_plugins.context import Usage
from kong_plugins.formats import responses_render
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.openai_responses import chat_request
from kong_plugins.relay import item_store
from kong_plugins.relay.item_store import MemoryItemStore
from tests.unit.test_bedrock_proxy_decide import CONFIG, ctx_for

TOOL = {"type": "function", "name": "get_order", "parameters": {"type": "object"}}


def _reply(*blocks, response_id):
    message = {"content": list(blocks), "stop_reason": "end_turn"}
    return responses_render.response_from_message(message, Usage(), model="sonnet", response_id=response_id)


def _turn(kept, owner, response_id, reply_blocks, **fields):
    """One call as bedrock-proxy makes it: translated against the kept turns, then kept with its answer."""
    body = json.dumps({"model": "sonnet", "tools": [TOOL], **fields}).encode()
    translated = chat_request(body, stored=item_store.lookup(kept, owner),
                              conversation=item_store.conversation(kept, owner))
    response = _reply(*reply_blocks, response_id=response_id)
    if translated.store:
        item_store.keep(kept, owner, translated.turn, response)
    return translated.chat["messages"]


def _text(text):
    return {"type": "text", "text": text}


def test_each_turn_is_sent_with_every_kept_turn_before_it_and_without_their_instructions():
    store = MemoryItemStore(1 << 20, 600)
    _turn(store, "alice", "resp_1", [{"type": "thinking", "thinking": "Look it up.", "signature": "c2ln"},
                                     {"type": "tool_use", "id": "t1", "name": "get_order", "input": {"id": "4"}}],
          input="Where is order 4?", instructions="Be brief.")
    second = _turn(store, "alice", "resp_2", [_text("It shipped.")], previous_response_id="resp_1",
                   input=[{"type": "function_call_output", "call_id": "t1", "output": "shipped"}])
    assert [m["role"] for m in second] == ["user", "assistant", "tool"]      # no system: not carried over
    assert second[0]["content"] == "Where is order 4?"
    assert second[1]["tool_calls"][0]["function"] == {"name": "get_order", "arguments": '{"id": "4"}'}
    assert second[1]["thinking_blocks"][0]["signature"] == "c2ln"           # Claude's signed thinking kept
    third = _turn(store, "alice", "resp_3", [_text("Yes.")], previous_response_id="resp_2",
                  input="Is that final?", instructions="Answer yes or no.")
    assert [m["role"] for m in third] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert third[0]["content"] == "Answer yes or no." and third[4]["content"] == [_text("It shipped.")]
    assert store.load("alice", ["resp_3"], item_store.TURN)["resp_3"]["chain"] == ["resp_1", "resp_2"]
    # a branch from the first turn sees that turn only
    branch = _turn(store, "alice", "resp_4", [_text("Fine.")], previous_response_id="resp_1",
                   input=[{"type": "function_call_output", "call_id": "t1", "output": "lost"}])
    assert [m["role"] for m in branch] == ["user", "assistant", "tool"] and branch[2]["content"] == "lost"


@pytest.mark.parametrize("owner, previous", [("bob", "resp_1"), ("alice", "resp_unknown"), ("alice", "resp_2")])
def test_another_keys_unknown_and_unkept_responses_are_a_400_that_does_not_echo_the_id(owner, previous):
    store = MemoryItemStore(1 << 20, 600)
    _turn(store, "alice", "resp_1", [_text("Hello.")], input="hi")
    _turn(store, "alice", "resp_2", [_text("Hello.")], input="hi", store=False)      # store: false keeps nothing
    with pytest.raises(RequestError) as refused:
        _turn(store, owner, "resp_9", [_text("x")], input="more", previous_response_id=previous)
    assert refused.value.param == "previous_response_id" and previous not in str(refused.value)
    assert "whole conversation" in str(refused.value)


@pytest.mark.parametrize("previous", ["", 5, ["resp_1"]])
def test_a_previous_response_id_that_is_not_an_id_is_a_400(previous):
    with pytest.raises(RequestError) as refused:
        _turn(MemoryItemStore(1 << 20, 600), "alice", "resp_1", [], input="hi", previous_response_id=previous)
    assert refused.value.param == "previous_response_id"


def test_without_kept_inputs_previous_response_id_is_a_400_and_no_turn_is_kept():
    store = MemoryItemStore(1 << 20, 600)
    body = json.dumps({"model": "sonnet", "input": "hi", "previous_response_id": "resp_1"}).encode()
    with pytest.raises(RequestError) as refused:
        chat_request(body, stored=item_store.lookup(store, "alice"))
    assert "does not keep prompts" in str(refused.value)
    plugin = bedrock_proxy.Plugin({**CONFIG, "openai_response_store": {"storage": "memory", "memory_mb": 2}})
    ctx = ctx_for("developer", {"model": "sonnet", "input": "a prompt"})
    assert plugin.decide(ctx, "/v1/responses") is None
    ctx.keep_items(_reply(_text("Hello."), response_id="resp_1"))
    assert plugin.item_store.load("c", ["resp_1"], item_store.TURN) == {}
    reply = plugin.decide(ctx_for("developer", {"model": "sonnet", "input": "more", "previous_response_id": "resp_1"}),
                          "/v1/responses")
    assert reply.status == 400 and reply.body["error"]["param"] == "previous_response_id"


def _plugin_with_a_kept_turn():
    """bedrock-proxy keeping inputs, after one call ("Order 4?" -> "It shipped.", kept as resp_a)."""
    plugin = bedrock_proxy.Plugin({**CONFIG, "openai_response_store": {"storage": "memory", "memory_mb": 3,
                                                                        "ttl_seconds": 600, "keep_inputs": True}})
    ctx = ctx_for("developer", {"model": "sonnet", "input": "Order 4?"})
    assert plugin.decide(ctx, "/v1/responses") is None
    ctx.keep_items(_reply(_text("It shipped."), response_id="resp_a"))
    return plugin


def test_bedrock_proxy_continues_a_kept_turn_for_the_same_consumer():
    plugin = _plugin_with_a_kept_turn()
    ctx = ctx_for("developer", {"model": "sonnet", "input": "When?", "previous_response_id": "resp_a"})
    assert plugin.decide(ctx, "/v1/responses") is None
    sent = json.loads(ctx.upstream.body)["messages"]
    assert [[block["text"] for block in m["content"] if "text" in block] for m in sent] == [["Order 4?"], ["It shipped."], ["When?"]]


def test_earlier_turns_stay_as_long_as_the_last_one_and_a_missing_one_breaks_the_chain(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(item_store.time, "monotonic", lambda: clock[0])
    store = MemoryItemStore(1 << 20, 60)
    _turn(store, "alice", "resp_1", [_text("One.")], input="1")
    for n in range(2, 5):            # a turn every 40 s: each keeps the ones before it alive
        clock[0] += 40
        _turn(store, "alice", f"resp_{n}", [_text("More.")], input=str(n), previous_response_id=f"resp_{n - 1}")
    assert len(_turn(store, "alice", "resp_5", [], input="5", previous_response_id="resp_4")) == 9
    store._drop(("alice", item_store.TURN, "resp_2"))     # evicted (budget) or deleted
    with pytest.raises(RequestError):
        _turn(store, "alice", "resp_6", [], input="6", previous_response_id="resp_4")
    clock[0] += 61
    with pytest.raises(RequestError):
        _turn(store, "alice", "resp_7", [], input="7", previous_response_id="resp_1")


def test_an_unreachable_redis_store_makes_previous_response_id_a_counted_503():
    from tests.stack import free_port
    plugin = bedrock_proxy.Plugin({**CONFIG, "openai_response_store": {
        "storage": "redis", "keep_inputs": True, "redis": {"host": "127.0.0.1", "port": free_port(), "timeout_ms": 200}}})
    failures = item_store.metrics.response_store_errors_total.labels(operation="load")
    before = failures._value.get()
    reply = plugin.decide(ctx_for("developer", {"model": "sonnet", "input": "more", "previous_response_id": "resp_1"}),
                          "/v1/responses")
    assert reply.status == 503 and "previous_response_id" in reply.body["error"]["message"]
    assert failures._value.get() == before + 1


def test_input_tokens_counts_a_continued_conversation_with_its_kept_turns():
    """`responses.input_tokens.count(previous_response_id=...)` counts what the call would send Bedrock."""
    plugin = _plugin_with_a_kept_turn()
    ctx = ctx_for("developer", {"model": "sonnet", "input": "When?", "previous_response_id": "resp_a"})
    ctx.method = "POST"
    assert plugin.decide(ctx, "/v1/responses/input_tokens") is None
    assert ctx.upstream.operation == "count-tokens" and ctx.upstream.api.value == "openai"
    invoke = json.loads(base64.b64decode(json.loads(ctx.upstream.body)["input"]["invokeModel"]["body"]))
    assert [m["content"][0]["text"] for m in invoke["messages"]] == ["Order 4?", "It shipped.", "When?"]
    assert ctx.keep_items is None                      # a count keeps nothing
