"""`GET` and `DELETE /v1/responses/{id}`: what the store gives back and erases, and what bedrock-proxy answers,
without Kong."""

import json
from dataclasses import replace

from kong_plugins import bedrock_proxy
from kong_plugins.relay import item_store
from kong_plugins.relay.item_store import MemoryItemStore
from tests.unit.test_bedrock_proxy_decide import CONFIG, ctx_for
from tests.unit.test_response_chaining import _reply, _text, _turn


def test_the_memory_store_erases_one_responses_items_and_turn_and_nothing_else():
    store = MemoryItemStore(1 << 20, 600)
    _turn(store, "alice", "resp_1", [_text("One.")], input="first prompt")
    empty = store.size
    _turn(store, "alice", "resp_2", [_text("Two.")], input="second prompt")
    first_items = [i["id"] for i in store.load("alice", ["resp_1"], item_store.TURN)["resp_1"]["items"] if "id" in i]
    assert first_items and store.load("alice", first_items)
    assert store.delete("bob", "resp_1") is False                 # another owner's: untouched
    assert store.delete("alice", "resp_1") is True
    assert store.load("alice", first_items) == {}
    assert store.load("alice", ["resp_1"], item_store.TURN) == {}
    assert store.load("alice", ["resp_1"], item_store.RESPONSE) == {}
    assert store.load("alice", ["resp_2"], item_store.TURN)       # the other response stays whole
    assert store.delete("alice", "resp_1") is False and store.delete("alice", "resp_unknown") is False
    store.delete("alice", "resp_2")
    assert store.size == 0 < empty                                 # every byte of both accounted for


def _plugin(**store):
    return bedrock_proxy.Plugin({**CONFIG, "openai_response_store": {"storage": "memory", "memory_mb": 4,
                                                                        "ttl_seconds": 600, **store}})


def _request(plugin, path, method="DELETE", role="developer", consumer="c", query=""):
    ctx = ctx_for(role, {})
    ctx.body, ctx.method, ctx.query = b"", method, query
    ctx.consumer = replace(ctx.consumer, id=consumer)
    return plugin.decide(ctx, path)


def test_bedrock_proxy_deletes_the_callers_response_in_openais_shape():
    plugin = _plugin(keep_inputs=True)
    ctx = ctx_for("developer", {"model": "sonnet", "input": "Order 4?"})
    assert plugin.decide(ctx, "/v1/responses") is None
    answered = _reply(_text("It shipped."), response_id="resp_a")
    ctx.keep_items(answered)
    kept = _request(plugin, "/v1/responses/resp_a", method="GET")
    assert (kept.status, kept.body) == (200, answered)                            # as it was answered
    assert _request(plugin, "/v1/responses/resp_a", method="GET", consumer="another").status == 404
    streamed = _request(plugin, "/v1/responses/resp_a", method="GET", query="stream=true&starting_after=3")
    assert streamed.status == 400 and streamed.body["error"]["param"] == "stream"
    reply = _request(plugin, "/v1/responses/resp_a")
    assert (reply.status, reply.body) == (200, {"id": "resp_a", "object": "response.deleted", "deleted": True})
    assert plugin.item_store.load("c", ["resp_a"], item_store.TURN) == {}
    again = _request(plugin, "/v1/responses/resp_a")
    assert again.status == 404 and again.body["error"]["type"] == "invalid_request_error"
    assert "resp_a" not in json.dumps(again.body)                  # the id is not echoed
    assert _request(plugin, "/v1/responses/resp_a", method="GET").status == 404


def test_with_the_store_off_or_a_path_below_an_id_nothing_is_found():
    assert _request(bedrock_proxy.Plugin({**CONFIG, "openai_response_store": {"storage": "off"}}),
                    "/v1/responses/resp_a").status == 404
    reply = _request(_plugin(), "/v1/responses/resp_a/cancel", method="POST")   # nothing kept to cancel
    assert reply.status == 404 and reply.body["error"]["code"] == "not_found"
    below = _request(_plugin(), "/v1/responses/resp_a/cancel/more", method="POST")
    assert below.status == 404 and "Only retrieving, deleting and cancelling" in below.body["error"]["message"]


def test_an_unreachable_redis_store_makes_a_delete_a_counted_503():
    from tests.stack import free_port
    plugin = bedrock_proxy.Plugin({**CONFIG, "openai_response_store": {
        "storage": "redis", "redis": {"host": "127.0.0.1", "port": free_port(), "timeout_ms": 200}}})
    failures = item_store.metrics.response_store_errors_total.labels(operation="delete")
    before = failures._value.get()
    reply = _request(plugin, "/v1/responses/resp_a")
    assert reply.status == 503 and reply.body["error"]["type"] == "server_error"
    assert failures._value.get() == before + 1


def test_an_expired_response_is_not_found_though_not_yet_evicted(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(item_store.time, "monotonic", lambda: clock[0])
    store = MemoryItemStore(1 << 20, 60)
    _turn(store, "alice", "resp_1", [_text("One.")], input="first prompt")
    clock[0] += 61                                                 # expired; nothing saved since, so still held
    assert store.size > 0 and store.delete("alice", "resp_1") is False
    assert store.size == 0                                         # and its bytes are freed all the same


def test_a_response_missing_an_evicted_item_is_not_given_back_in_part():
    """The oldest entries go first past the budget: a response's first items before its index."""
    answered = [_reply(_text("One."), _text("Two."), response_id=f"resp_{n}") for n in (1, 2)]
    probe = MemoryItemStore(1 << 20, 600)
    item_store.keep(probe, "alice", None, answered[0])
    whole = probe.size
    assert item_store.retrieve(probe, "alice", "resp_1") == answered[0]
    assert item_store.retrieve(probe, "bob", "resp_1") is None
    tight = MemoryItemStore(2 * whole - 1, 600)        # both responses but one byte
    for response in answered:
        item_store.keep(tight, "alice", None, response)
    assert tight.load("alice", ["resp_1"], item_store.RESPONSE)          # its index is still there...
    assert item_store.retrieve(tight, "alice", "resp_1") is None          # ...but not all of its output
    assert item_store.retrieve(tight, "alice", "resp_2") == answered[1]


def test_without_kept_inputs_a_response_is_kept_without_its_prompt_or_person():
    from kong_plugins.formats.openai_responses import Turn
    answered = {**_reply(_text("Done."), response_id="resp_9"), "instructions": "You serve ACME.",
                "metadata": {"customer": "jane@example.com"}, "safety_identifier": "user-7", "temperature": 0.2}
    store = MemoryItemStore(1 << 20, 600)
    item_store.keep(store, "alice", None, answered)
    kept = item_store.retrieve(store, "alice", "resp_9")
    assert kept == {**answered, "instructions": None, "metadata": {}, "safety_identifier": None}
    assert b"ACME" not in b"".join(v for _, v in store._items.values())
    item_store.keep(store, "alice", Turn((), [{"role": "user", "content": "hi"}]), answered)   # keep_inputs on
    assert item_store.retrieve(store, "alice", "resp_9") == answered
