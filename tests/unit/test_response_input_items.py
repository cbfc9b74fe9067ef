"""`GET /v1/responses/{id}/input_items`: a kept turn's input, as OpenAI lists it a page at a time, without Kong."""

import pytest

from kong_plugins.formats.body import RequestError
from kong_plugins.formats.responses_input_items import Page, listed, page_of
from kong_plugins.relay import item_store
from kong_plugins.relay.item_store import MemoryItemStore
from tests.unit.test_response_chaining import _reply, _text, _turn
from tests.unit.test_response_delete import _plugin, _request

INPUT = [{"role": "system", "content": "Be brief."},
         {"role": "user", "content": [{"type": "input_text", "text": "Where is order 4?"}]},
         {"role": "assistant", "content": "Checking."},
         {"type": "function_call", "id": "fc_1", "call_id": "t1", "name": "get_order", "arguments": "{}"},
         {"type": "function_call_output", "call_id": "t1", "output": "shipped"}]


def test_items_are_listed_in_openais_shape_with_ids_that_stay_the_same():
    page = listed("resp_1", INPUT, Page(order="asc"))
    system, user, assistant, call, output = page["data"]
    assert system == {"role": "system", "type": "message", "status": "completed", "id": system["id"],
                      "content": [{"type": "input_text", "text": "Be brief."}]}
    assert user["content"] == INPUT[1]["content"] and user["type"] == "message"
    assert assistant["content"] == [{"type": "output_text", "text": "Checking.", "annotations": []}]
    assert call == INPUT[3]                                     # an id the client sent is kept
    assert output["id"].startswith("fco_") and system["id"].startswith("msg_")
    assert len({item["id"] for item in page["data"]}) == 5
    assert listed("resp_1", INPUT, Page(order="asc")) == page   # the same ids every time
    assert listed("resp_2", INPUT, Page(order="asc"))["data"][0]["id"] != system["id"]
    assert (page["object"], page["first_id"], page["last_id"], page["has_more"]) == (
        "list", system["id"], output["id"], False)


def test_pages_follow_openais_order_limit_and_after():
    everything = listed("resp_1", INPUT, Page(order="asc"))["data"]
    newest_first = listed("resp_1", INPUT, Page(limit=2))
    assert newest_first["data"] == everything[::-1][:2] and newest_first["has_more"] is True
    following = listed("resp_1", INPUT, Page(limit=2, after=newest_first["last_id"]))
    assert following["data"] == everything[::-1][2:4] and following["has_more"] is True
    last = listed("resp_1", INPUT, Page(limit=2, after=following["last_id"]))
    assert last["data"] == everything[:1] and last["has_more"] is False
    assert listed("resp_1", INPUT, Page(order="asc", limit=5))["has_more"] is False
    empty = listed("resp_1", [], Page())
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    with pytest.raises(RequestError) as exc:
        listed("resp_1", INPUT, Page(after="msg_unknown"))
    assert exc.value.param == "after" and "msg_unknown" not in str(exc.value)


@pytest.mark.parametrize("query, page", [("", Page()), ("order=asc&limit=100", Page("asc", 100)),
                                         ("limit=1&after=fc_1&include[]=x", Page("desc", 1, "fc_1"))])
def test_the_query_string_is_the_page(query, page):
    assert page_of(query) == page


@pytest.mark.parametrize("query, param", [("order=newest", "order"), ("limit=0", "limit"), ("limit=101", "limit"),
                                          ("limit=-1", "limit"), ("limit=ten", "limit"), ("limit=%C2%B2", "limit")])
def test_a_bad_page_is_a_400_naming_the_parameter(query, param):
    with pytest.raises(RequestError) as exc:
        page_of(query)
    assert exc.value.param == param


def test_the_store_gives_a_turns_input_without_its_output():
    store = MemoryItemStore(1 << 20, 600)
    _turn(store, "alice", "resp_1", [_text("One."), _text("More.")], input="Where is order 4?")
    _turn(store, "alice", "resp_2", [_text("Two.")], previous_response_id="resp_1",
          input=[{"type": "function_call_output", "call_id": "t1", "output": "shipped"}])
    assert item_store.input_of(store, "alice", "resp_1") == [{"role": "user", "content": "Where is order 4?"}]
    assert item_store.input_of(store, "alice", "resp_2") == [   # its own input only, not the turns before it
        {"type": "function_call_output", "call_id": "t1", "output": "shipped"}]
    assert item_store.input_of(store, "bob", "resp_1") is None
    item_store.keep(store, "alice", None, {"id": "resp_3", "output": []})   # kept without its turn
    assert item_store.input_of(store, "alice", "resp_3") is None and item_store.input_of(None, "a", "r") is None


def test_bedrock_proxy_lists_the_callers_input_items_with_keep_inputs_only():
    plugin = _plugin(keep_inputs=True)
    _turn(plugin.item_store, "c", "resp_listed", [_text("It shipped.")], input="Order 4?")
    reply = _request(plugin, "/v1/responses/resp_listed/input_items", method="GET", query="limit=5")
    assert reply.status == 200 and [i["content"] for i in reply.body["data"]] == [
        [{"type": "input_text", "text": "Order 4?"}]]
    assert _request(plugin, "/v1/responses/resp_listed/input_items", method="GET", consumer="d").status == 404
    bad = _request(plugin, "/v1/responses/resp_listed/input_items", method="GET", query="order=sideways")
    assert bad.status == 400 and bad.body["error"]["param"] == "order"
    plain = _plugin()          # keep_inputs off: bedrock-proxy keeps the response without its turn
    item_store.keep(plain.item_store, "c", None, _reply(_text("It shipped."), response_id="resp_unlisted"))
    assert _request(plain, "/v1/responses/resp_unlisted", method="GET").status == 200
    reply = _request(plain, "/v1/responses/resp_unlisted/input_items", method="GET")
    assert reply.status == 404 and "keep_inputs" in reply.body["error"]["message"]
    cancel = _request(plugin, "/v1/responses/resp_listed/cancel", method="POST")   # kept, not in the background
    assert cancel.status == 400 and "background: true" in cancel.body["error"]["message"]
    for path, method in (("/v1/responses/resp_listed/input_items", "DELETE"),
                         ("/v1/responses/resp_listed/b/input_items", "GET")):
        assert _request(plugin, path, method=method).status == 404, path
