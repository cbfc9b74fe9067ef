"""OpenAI's Conversations API and Responses calls on a conversation, without Kong: the request checks, the store
(memory here; Redis in the e2e tests) and bedrock-proxy's answers."""

import json
from dataclasses import replace

import pytest

from kong_plugins.formats import openai_conversations, openai_responses
from kong_plugins.formats.body import RequestError
from kong_plugins.guardrails.segments import user_segments
from kong_plugins.relay import conversation_store
from kong_plugins.relay.item_store import MemoryItemStore, TooLarge
from tests.unit.test_bedrock_proxy_decide import ctx_for
from tests.unit.test_response_chaining import _reply, _text
from tests.unit.test_response_delete import _plugin

ITEMS = [{"type": "message", "role": "user", "content": "Where is order 4?"},
         {"role": "assistant", "content": "Checking."},
         {"type": "function_call", "id": "fc_kept", "call_id": "t1", "name": "get_order", "arguments": "{}"},
         {"type": "function_call_output", "call_id": "t1", "output": "shipped"}]


def _body(**fields):
    return json.dumps(fields).encode()


def test_create_takes_metadata_and_first_items_and_gives_each_item_an_id():
    metadata, items = openai_conversations.create_request(_body(metadata={"topic": "orders"}, items=ITEMS))
    assert metadata == {"topic": "orders"}
    assert [item["type"] for item in items] == ["message", "message", "function_call", "function_call_output"]
    assert items[0]["content"] == [{"type": "input_text", "text": "Where is order 4?"}]
    assert items[1]["content"] == [{"type": "output_text", "text": "Checking.", "annotations": []}]
    assert items[2]["id"] == "fc_kept" and items[0]["id"].startswith("msg_") and items[3]["id"].startswith("fco_")
    assert len({item["id"] for item in items}) == 4
    assert openai_conversations.create_request(b"{}") == ({}, [])
    assert openai_conversations.create_request(b"") == ({}, [])      # the SDK may send no body at all


@pytest.mark.parametrize("fields, param", [
    ({"items": "hello"}, "items"),
    ({"items": [{"role": "user", "content": "hi"}] * 21}, "items"),
    ({"items": ["hello"]}, "items.0"),
    ({"items": [{"type": "item_reference", "id": "msg_1"}]}, "items.0.type"),
    ({"items": [{"type": "message", "role": "robot", "content": "hi"}]}, "items.0.role"),
    ({"items": [ITEMS[0], {"role": "user", "content": 4}]}, "items.1.content"),
    ({"items": [{"type": "function_call_output", "output": "x"}]}, "items.0.call_id"),
    ({"items": [{"role": "user", "content": "hi", "id": 7}]}, "items.0.id"),
    ({"metadata": {"k": 1}}, "metadata"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ({"metadata": {"k": "v" * 513}}, "metadata"),
])
def test_what_openai_refuses_is_a_400_naming_the_field(fields, param):
    with pytest.raises(RequestError) as exc:
        openai_conversations.create_request(_body(**fields))
    assert exc.value.param == param


def test_adding_items_takes_one_to_twenty_and_an_update_needs_metadata():
    assert len(openai_conversations.items_request(_body(items=ITEMS))) == 4
    for body, param in ((_body(items=[]), "items"), (_body(), "items"), (b"[]", None)):
        with pytest.raises(RequestError) as exc:
            openai_conversations.items_request(body)
        assert exc.value.param == param
    assert openai_conversations.update_request(_body(metadata={"a": "b"})) == {"a": "b"}
    with pytest.raises(RequestError) as exc:
        openai_conversations.update_request(_body(items=ITEMS))
    assert exc.value.param == "metadata"


def test_the_store_keeps_a_conversation_for_its_owner_until_it_is_deleted():
    store = MemoryItemStore(1 << 20, 600)
    _, items = openai_conversations.create_request(_body(items=ITEMS[:2]))
    record = conversation_store.create(store, "alice", {"topic": "orders"}, items)
    assert record["id"].startswith("conv_") and record["metadata"] == {"topic": "orders"}
    assert conversation_store.get(store, "alice", record["id"]) == record
    assert conversation_store.get(store, "bob", record["id"]) is None           # another key's
    assert conversation_store.items(store, "bob", record["id"]) is None
    more = openai_conversations.stamped(ITEMS[2:])
    assert conversation_store.append(store, "alice", record["id"], more) is True
    assert conversation_store.append(store, "bob", record["id"], more) is False
    assert conversation_store.items(store, "alice", record["id"]) == [*items, *more]
    assert conversation_store.update(store, "alice", record["id"], {})["metadata"] == {}
    assert conversation_store.remove_item(store, "alice", record["id"], "fc_kept") == (
        {**record, "metadata": {}}, True)
    assert "fc_kept" not in [i["id"] for i in conversation_store.items(store, "alice", record["id"])]
    assert conversation_store.remove_item(store, "alice", record["id"], "fc_kept") == (
        {**record, "metadata": {}}, False)                                                    # gone already
    assert conversation_store.remove_item(store, "bob", record["id"], "msg_x") == (None, False)
    assert conversation_store.delete(store, "alice", record["id"]) is True
    assert conversation_store.items(store, "alice", record["id"]) is None
    assert conversation_store.delete(store, "alice", record["id"]) is False
    empty = conversation_store.create(store, "alice", {}, [])
    assert conversation_store.items(store, "alice", empty["id"]) == []


def test_a_conversation_larger_than_the_memory_store_is_refused_not_half_kept():
    store = MemoryItemStore(4096, 600)
    record = conversation_store.create(store, "alice", {}, [])
    with pytest.raises(TooLarge):
        conversation_store.append(store, "alice", record["id"], [{"role": "user", "content": "x" * 5000}])
    assert conversation_store.items(store, "alice", record["id"]) == []


def test_memory_pressure_drops_a_whole_conversation_never_its_history_alone():
    store = MemoryItemStore(2048, 600)
    items = openai_conversations.stamped(ITEMS[:2])
    record = conversation_store.create(store, "alice", {}, items)
    conversation_store.update(store, "alice", record["id"], {"topic": "orders"})    # the record written last
    for n in range(20):                       # the owner's own later items push her oldest entries out
        store.put("alice", "item", {"id": f"filler_{n}", "text": "x" * 200})
        assert conversation_store.items(store, "alice", record["id"]) in (None, items), n
    assert conversation_store.items(store, "alice", record["id"]) is None


def _translated(body, items_of=None):
    return openai_responses.chat_request(_body(**body), stored=lambda ids: {}, conversation=lambda rid: None,
                                         conversation_items=items_of)


def test_a_responses_call_on_a_conversation_sends_its_items_first_and_says_which_it_joins():
    kept = openai_conversations.stamped(ITEMS)
    translated = _translated({"model": "haiku", "conversation": {"id": "conv_1"}, "input": "And order 5?",
                              "instructions": "Be brief."}, {"conv_1": kept}.get)
    roles = [m["role"] for m in translated.chat["messages"]]
    assert roles == ["system", "user", "assistant", "assistant", "tool", "user"]
    assert translated.origins[1:5] == ("conversation",) * 4 and translated.origins[-1] == "input.0"
    assert translated.conversation == openai_responses.ConversationTurn("conv_1", [
        {"role": "user", "content": "And order 5?"}])
    assert translated.echo["conversation"] == {"id": "conv_1"}
    assert _translated({"conversation": "conv_1", "input": "hi", "store": False}, {"conv_1": kept}.get).conversation


@pytest.mark.parametrize("body, items_of, says", [
    ({"conversation": "conv_1", "previous_response_id": "resp_1", "input": "hi"}, {}.get, "not both"),
    ({"conversation": "conv_unknown", "input": "hi"}, {}.get, "keeps no conversation"),
    ({"conversation": {"name": "x"}, "input": "hi"}, {}.get, "conversation id"),
    ({"conversation": "conv_1", "input": "hi"}, None, "does not keep prompts"),
])
def test_a_conversation_that_cannot_be_continued_is_a_400_naming_it(body, items_of, says):
    with pytest.raises(RequestError) as exc:
        _translated(body, items_of)
    assert exc.value.param == "conversation" and says in str(exc.value) and "conv_unknown" not in str(exc.value)


def test_the_guardrails_read_the_user_text_of_items_added_to_a_conversation():
    body = {"items": [ITEMS[0], ITEMS[1], {"type": "function_call_output", "call_id": "t1", "output": "card"}]}
    assert [(s.path, s.text) for s in user_segments(body)] == [(("items", 0, "content"), "Where is order 4?")]
    assert [s.path for s in user_segments(body, tool_results=True)][-1] == ("items", 2, "output")


def _call(plugin, path, method, body=None, consumer="c", query=""):
    ctx = ctx_for("developer", {})
    ctx.body, ctx.method, ctx.query = (json.dumps(body).encode() if body is not None else b""), method, query
    ctx.consumer = replace(ctx.consumer, id=consumer)
    return plugin.decide(ctx, path)


def test_bedrock_proxy_serves_the_conversations_api_for_the_callers_own_conversations():
    plugin = _plugin(keep_inputs=True)
    made = _call(plugin, "/v1/conversations", "POST", {"items": ITEMS[:1], "metadata": {"topic": "orders"}})
    assert made.status == 200 and made.body["object"] == "conversation"
    conv = made.body["id"]
    assert _call(plugin, f"/v1/conversations/{conv}", "GET").body == made.body
    assert _call(plugin, f"/v1/conversations/{conv}", "GET", consumer="other").status == 404
    added = _call(plugin, f"/v1/conversations/{conv}/items", "POST", {"items": ITEMS[1:3]})
    assert added.status == 200 and [i["type"] for i in added.body["data"]] == ["message", "function_call"]
    listed = _call(plugin, f"/v1/conversations/{conv}/items", "GET", query="order=asc&limit=2")
    assert [i["content"][0]["text"] for i in listed.body["data"]] == ["Where is order 4?", "Checking."]
    assert listed.body["has_more"] is True
    one = _call(plugin, f"/v1/conversations/{conv}/items/fc_kept", "GET")
    assert one.status == 200 and one.body["call_id"] == "t1"
    assert _call(plugin, f"/v1/conversations/{conv}/items/fc_kept", "DELETE").body["id"] == conv
    assert _call(plugin, f"/v1/conversations/{conv}/items/fc_kept", "GET").status == 404
    updated = _call(plugin, f"/v1/conversations/{conv}", "POST", {"metadata": {"topic": "returns"}})
    assert updated.body["metadata"] == {"topic": "returns"}
    bad = _call(plugin, f"/v1/conversations/{conv}/items", "POST", {"items": [{"role": "robot", "content": "x"}]})
    assert bad.status == 400 and bad.body["error"]["param"] == "items.0.role"
    assert _call(plugin, f"/v1/conversations/{conv}", "DELETE").body == {
        "id": conv, "object": "conversation.deleted", "deleted": True}
    for path, method in ((f"/v1/conversations/{conv}", "GET"), (f"/v1/conversations/{conv}/items", "GET"),
                         (f"/v1/conversations/{conv}", "DELETE"), (f"/v1/conversations/{conv}/other", "GET"),
                         ("/v1/conversations", "GET")):
        assert _call(plugin, path, method).status == 404, (path, method)


def test_without_keep_inputs_the_conversations_api_is_a_404_saying_why():
    reply = _call(_plugin(), "/v1/conversations", "POST", {})
    assert reply.status == 404 and "keep_inputs" in reply.body["error"]["message"]


def test_an_answered_call_adds_its_input_and_output_to_the_conversation():
    plugin = _plugin(keep_inputs=True)
    conv = _call(plugin, "/v1/conversations", "POST", {"items": ITEMS[:2]}).body["id"]
    for store in (True, False):
        ctx = ctx_for("developer", {"model": "sonnet", "conversation": conv, "input": "And order 5?",
                                    "store": store})
        assert plugin.decide(ctx, "/v1/responses") is None
        ctx.keep_items(_reply(_text("It shipped too."), response_id=f"resp_conv_{store}"))
    items = _call(plugin, f"/v1/conversations/{conv}/items", "GET", query="order=asc").body["data"]
    assert [i["content"][0]["text"] for i in items] == ["Where is order 4?", "Checking.", "And order 5?",
                                                      "It shipped too.", "And order 5?", "It shipped too."]
    assert len({i["id"] for i in items}) == 6
    other = ctx_for("developer", {"model": "sonnet", "conversation": conv, "input": "hi"})
    other.consumer = replace(other.consumer, id="other")
    refused = plugin.decide(other, "/v1/responses")
    assert refused.status == 400 and refused.body["error"]["param"] == "conversation"


def test_an_unreachable_redis_store_makes_conversation_calls_counted_503s():
    from kong_plugins import metrics
    from kong_plugins.bedrock_proxy import Plugin
    from tests.stack import free_port
    from tests.unit.test_response_delete import CONFIG
    plugin = Plugin({**CONFIG, "openai_response_store": {"storage": "redis", "keep_inputs": True, "redis": {
        "host": "127.0.0.1", "port": free_port(), "timeout_ms": 200}}})
    saves, loads = (metrics.response_store_errors_total.labels(operation=op) for op in ("save", "load"))
    before = saves._value.get(), loads._value.get()
    made = _call(plugin, "/v1/conversations", "POST", {"items": ITEMS[:1]})
    listed = _call(plugin, "/v1/conversations/conv_1/items", "GET")
    assert made.status == listed.status == 503 and made.body["error"]["type"] == "server_error"
    ctx = ctx_for("developer", {"model": "sonnet", "conversation": "conv_1", "input": "hi"})
    assert plugin.decide(ctx, "/v1/responses").status == 503
    assert (saves._value.get(), loads._value.get()) == (before[0] + 1, before[1] + 2)


def test_items_that_would_outgrow_the_memory_store_are_a_413_not_a_503():
    plugin = _plugin(keep_inputs=True, memory_mb=1, ttl_seconds=601)    # a store of its own: 1 MiB
    conv = _call(plugin, "/v1/conversations", "POST", {}).body["id"]
    big = [{"role": "user", "content": "x" * 60_000}] * 20
    reply = _call(plugin, f"/v1/conversations/{conv}/items", "POST", {"items": big})
    assert reply.status == 413 and "memory_mb" in reply.body["error"]["message"]
    assert _call(plugin, f"/v1/conversations/{conv}/items", "GET").body["data"] == []
