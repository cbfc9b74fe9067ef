"""Responses items the gateway returned, kept and sent back as `item_reference` (the Vercel AI SDK's default
with `store`), without Kong: the format's resolution, the in-memory store, and bedrock-proxy's wiring."""

import json

import pytest

from kong_plugins import bedrock_proxy
from kong_plugins.context import Usage
from kong_plugins.formats import openai_chat, responses_render
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.openai_responses import chat_request
from kong_plugins.relay import item_store
from kong_plugins.relay.item_store import MemoryItemStore
from tests.unit.test_bedrock_proxy_decide import CONFIG, ctx_for

THOUGHT = {"type": "thinking", "thinking": "Look it up.", "signature": "c2ln"}
TOOL = {"type": "function", "name": "get_order", "parameters": {"type": "object"}}
REPLY = {"content": [THOUGHT, {"type": "text", "text": "Let me check."},
                     {"type": "tool_use", "id": "t1", "name": "get_order", "input": {"id": "4"}}],
         "stop_reason": "tool_use"}


def _output():
    return responses_render.response_from_message(REPLY, Usage(), model="sonnet", response_id="resp_1")["output"]


def _translate(kept, owner="alice", **fields):
    lookups = []

    def stored(ids):
        lookups.append(ids)
        return kept.load(owner, ids)
    body = json.dumps({"model": "sonnet", "tools": [TOOL], **fields}).encode()
    return chat_request(body, stored=stored), lookups


def _next_turn(output, reference=lambda item: {"type": "item_reference", "id": item["id"]}):
    """The AI SDK's second step: its earlier reasoning and text by reference, the tool call whole."""
    reasoning, text, call = output
    return [{"role": "user", "content": "Where is order 4?"}, reference(reasoning), reference(text),
            {"type": "function_call", "call_id": call["call_id"], "name": "get_order", "arguments": call["arguments"]},
            {"type": "function_call_output", "call_id": call["call_id"], "output": "shipped"}]


def test_references_become_the_items_they_name_with_claudes_signed_thinking():
    store = MemoryItemStore(1 << 20, 3600)
    output = _output()
    store.save("alice", "resp_1", output)
    translated, lookups = _translate(store, input=_next_turn(output), reasoning={"effort": "low"},
                                     max_output_tokens=4000)
    assert len(lookups) == 1 and sorted(lookups[0]) == sorted([output[0]["id"], output[1]["id"]])   # one lookup
    internal = openai_chat.to_anthropic(translated.chat, 4000)
    assistant = internal["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == THOUGHT            # the signature Bedrock checks on a tool-use turn
    assert assistant["content"][1] == {"type": "text", "text": "Let me check."}
    assert assistant["content"][2]["type"] == "tool_use" and assistant["content"][2]["input"] == {"id": "4"}
    whole, _ = _translate(store, input=_next_turn(output, reference=lambda item: item),
                          reasoning={"effort": "low"}, max_output_tokens=4000)
    assert openai_chat.to_anthropic(whole.chat, 4000) == internal   # the same as sending the items whole


def test_the_short_form_an_item_with_only_an_id_is_a_reference_too():
    store = MemoryItemStore(1 << 20, 3600)
    output = _output()
    store.save("alice", "resp_1", output)
    translated, _ = _translate(store, input=_next_turn(output, reference=lambda item: {"id": item["id"]}))
    assert translated.chat["messages"][1]["content"] == [{"type": "text", "text": "Let me check."}]


def test_another_keys_items_and_unknown_ids_are_a_400_naming_the_reference():
    store = MemoryItemStore(1 << 20, 3600)
    output = _output()
    store.save("alice", "resp_1", output)
    for owner, items in (("bob", _next_turn(output)),
                         ("alice", [{"role": "user", "content": "hi"}, {"type": "item_reference", "id": "msg_nope"}])):
        with pytest.raises(RequestError) as exc:
            _translate(store, owner=owner, input=items)
        assert exc.value.param == "input.1.id" and "store: false" in str(exc.value)
        assert "msg_" not in str(exc.value)   # the client's id is not echoed


@pytest.mark.parametrize("reference, param", [({"type": "item_reference"}, "input.0.id"),
                                              ({"type": "item_reference", "id": ["x"]}, "input.0.id"),
                                              ({"id": ""}, "input.0.id")])
def test_a_reference_without_a_usable_id_is_a_400(reference, param):
    with pytest.raises(RequestError) as exc:
        _translate(MemoryItemStore(1 << 20, 3600), input=[reference])
    assert exc.value.param == param


def test_with_the_store_off_a_reference_is_a_400_that_says_how_to_send_items_whole():
    with pytest.raises(RequestError) as exc:
        chat_request(json.dumps({"input": [{"type": "item_reference", "id": "msg_1"}]}).encode(), stored=None)
    assert exc.value.param == "input.0" and "providerOptions.openai.store = false" in str(exc.value)


def test_a_request_without_references_never_looks_anything_up():
    translated, lookups = _translate(MemoryItemStore(1 << 20, 3600), input="hi")
    assert lookups == [] and translated.store is True
    assert _translate(MemoryItemStore(1 << 20, 3600), input="hi", store=False)[0].store is False


def test_the_memory_store_drops_the_oldest_items_past_its_budget_and_after_their_ttl(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(item_store.time, "monotonic", lambda: clock[0])
    items = [{"id": f"msg_{i}", "type": "message", "content": [{"type": "output_text", "text": "x" * 100}]}
             for i in range(5)]
    size = len(json.dumps(items[0], separators=(",", ":"))) + item_store.ENTRY_OVERHEAD
    index = len(json.dumps({"id": "resp_0", "items": ["msg_0"], "response": None}, separators=(",", ":"))) \
        + item_store.ENTRY_OVERHEAD
    store = MemoryItemStore(max_bytes=3 * (size + index), ttl_seconds=60)

    def save(i):   # one response per item: the item and the response's index of it
        store.save("a", f"resp_{i}", items[i:i + 1])
    save(0), save(1)
    clock[0] += 30
    save(2), save(3), save(4)
    assert sorted(store.load("a", [i["id"] for i in items])) == ["msg_2", "msg_3", "msg_4"]   # budget: 3 of each
    assert store.size == 3 * (size + index)
    save(2)                          # saved again: its TTL starts over, and it is newest
    clock[0] += 45                   # 75 s after the first save, 45 after the others
    assert sorted(store.load("a", ["msg_2", "msg_3", "msg_4"])) == ["msg_2", "msg_3", "msg_4"]
    clock[0] += 20
    assert store.load("a", ["msg_2", "msg_3", "msg_4"]) == {}
    store.save("a", "resp_big", [{"id": "big", "text": "y" * (4 * size)}])   # larger than the whole budget: not kept
    assert store.load("a", ["big"]) == {} and store.size == index   # only the index ("resp_big", ["big"]): same size


def test_memory_stores_with_the_same_settings_are_one_across_plugin_instances():
    config = {"storage": "memory", "ttl_seconds": 600, "memory_mb": 3}
    assert item_store.from_config(config) is item_store.from_config(dict(config))
    assert item_store.from_config({"storage": "off"}) is None


def _plugin(**store):
    return bedrock_proxy.Plugin({**CONFIG, "default_max_tokens": 4096, "openai_response_store": store})


def test_bedrock_proxy_keeps_items_of_store_calls_only():
    plugin = _plugin(storage="memory", ttl_seconds=120, memory_mb=1)
    ctx = ctx_for("developer", {"model": "sonnet", "input": "hi"})
    assert plugin.decide(ctx, "/v1/responses") is None and ctx.keep_items is not None
    kept = _output()
    ctx.keep_items({"id": "resp_1", "object": "response", "output": kept})
    assert set(plugin.item_store.load("c", [i["id"] for i in kept])) == {i["id"] for i in kept}
    for body, path in (({"model": "sonnet", "input": "hi", "store": False}, "/v1/responses"),
                       ({"model": "sonnet", "messages": [{"role": "user", "content": "hi"}]}, "/v1/chat/completions")):
        ctx = ctx_for("developer", body)
        assert plugin.decide(ctx, path) is None and ctx.keep_items is None
    off = _plugin(storage="off")
    ctx = ctx_for("developer", {"model": "sonnet", "input": "hi"})
    assert off.decide(ctx, "/v1/responses") is None and ctx.keep_items is None


def test_an_unreachable_redis_store_is_a_503_in_openai_format_and_a_counted_save_failure():
    from tests.stack import free_port
    plugin = _plugin(storage="redis", ttl_seconds=120, redis={"host": "127.0.0.1", "port": free_port(),
                                                               "timeout_ms": 200})
    ctx = ctx_for("developer", {"model": "sonnet", "input": [{"role": "user", "content": "hi"},
                                                             {"type": "item_reference", "id": "msg_1"}]})
    reply = plugin.decide(ctx, "/v1/responses")
    assert reply.status == 503 and reply.body["error"]["code"] == "service_unavailable"
    ctx = ctx_for("developer", {"model": "sonnet", "input": "hi"})
    assert plugin.decide(ctx, "/v1/responses") is None
    before = item_store.metrics.response_store_errors_total.labels(operation="save")._value.get()
    ctx.keep_items({"id": "resp_1", "output": _output()})      # the response still goes out; the failure is counted
    assert item_store.metrics.response_store_errors_total.labels(operation="save")._value.get() == before + 1


def test_the_redis_package_is_loaded_only_for_a_redis_store():
    """It adds some 15 MiB to the plugin server (with asyncio and OpenTelemetry), which a memory store never needs."""
    import subprocess
    import sys
    probe = ("import sys, yaml, kong_plugins.server, kong_plugins.token_meter, kong_plugins.ecommerce_guardrails\n"
             "from kong_plugins import bedrock_proxy\n"
             "from tests.unit.test_bedrock_proxy_decide import CONFIG\n"
             "bedrock_proxy.Plugin({**CONFIG, 'openai_response_store': {'storage': sys.argv[1]}})\n"
             "print('redis' in sys.modules)")
    loaded = {storage: subprocess.run([sys.executable, "-c", probe, storage], capture_output=True, text=True,
                                      check=True).stdout.strip() for storage in ("memory", "redis")}
    assert loaded == {"memory": "False", "redis": "True"}
