"""A body holding a lone surrogate (the JSON escape \\ud800 without its pair, or its UTF-8 bytes) is no Unicode
text: Bedrock refuses it, so the gateway answers 400 in the caller's format at once, not a 502 after retries."""

import json

import pytest

from kong_plugins.context import RequestContext
from kong_plugins.formats import wire_json
from kong_plugins.formats.body import RequestError, load_json_object
from tests.unit.test_bedrock_proxy_decide import PLUGIN, ctx_for

LONE = b'{"model":"haiku","max_tokens":5,"messages":[{"role":"user","content":"a\\ud800b"}]}'
UNICODE = "invalid Unicode"


def decided(raw, path):
    return PLUGIN.decide(RequestContext(request_id="r", consumer=ctx_for("developer", {}).consumer, body=raw), path)


@pytest.mark.parametrize("raw", [
    b'"a\\ud800b"', b'"\\udfff"', b'{"\\udc00": 1}', b'[[{"a": ["x", "\\ud83d"]}]]',
    b'"\xed\xa0\x80"',                       # the surrogate's UTF-8 bytes, which json reads with surrogatepass
    b'{"a": NaN, "b": "\\ud800"}',            # a fallback body for NaN is searched too
])
def test_loads_text_refuses_a_lone_surrogate(raw):
    with pytest.raises(wire_json.LoneSurrogate):
        wire_json.loads_text(raw)
    with pytest.raises(RequestError, match=UNICODE):
        load_json_object(b'{"x": ' + raw + b'}')


@pytest.mark.parametrize("raw, expected", [
    (b'"\\ud83d\\ude00"', "\U0001F600"), (b'{"a": NaN}', {"a": float("nan")}), (b'[1e400]', [float("inf")]),
    ('"é"'.encode(), "é"),
])
def test_loads_text_reads_what_loads_reads(raw, expected):
    got = wire_json.loads_text(raw)
    assert repr(got) == repr(expected) == repr(wire_json.loads(raw))


@pytest.mark.parametrize("path, in_format", [
    ("/v1/chat/completions", lambda body: body["error"]["message"]),
    ("/v1/chat/haiku", lambda body: body["error"]["message"]),
    ("/v1/responses", lambda body: body["error"]["message"]),
    ("/v1/messages", lambda body: body["type"] == "error" and body["error"]["message"]),
    ("/v1/messages/count_tokens", lambda body: body["type"] == "error" and body["error"]["message"]),
    ("/v1/embeddings", lambda body: body["error"]["message"]),
])
def test_every_chat_route_answers_400_in_its_format(path, in_format):
    raw = LONE.replace(b'"messages"', b'"input":"a\\udc00","messages"')
    reply = decided(raw, path)
    assert reply.status == 400 and UNICODE in in_format(reply.body) and "lone surrogate" in in_format(reply.body)


@pytest.mark.parametrize("operation", ["converse", "converse-stream", "invoke", "count-tokens"])
def test_bedrock_native_routes_answer_a_validation_exception(operation):
    reply = decided(LONE, f"/model/haiku/{operation}")
    assert reply.status == 400 and reply.headers["x-amzn-ErrorType"] == "ValidationException"
    assert UNICODE in reply.body["message"]


def test_a_lone_surrogate_inside_tool_call_arguments_is_named():
    body = {"model": "haiku", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": "\\ud800"}'}}]}]}
    reply = decided(json.dumps(body).encode(), "/v1/chat/completions")
    assert reply.status == 400 and reply.body["error"]["param"] == "messages.1.tool_calls.0.function.arguments"
    assert "lone surrogate" in reply.body["error"]["message"]


def test_a_surrogate_pair_is_text():
    assert decided(LONE.replace(b"\\ud800", b"\\ud83d\\ude00"), "/v1/chat/completions") is None
