"""Converse's requestMetadata: who is calling, for Bedrock's model invocation logs. Without Kong."""

import json

import pytest

from kong_plugins.kong_request import client_id
from kong_plugins import bedrock_proxy
from kong_plugins.bedrock import request_metadata
from kong_plugins.formats.body import RequestError
from tests.unit.test_bedrock_proxy_decide import CONFIG, PLUGIN, ctx_for

CHAT = {"model": "haiku", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
OURS = {"gateway_request_id": "r", "gateway_consumer_id": "c", "gateway_role": "developer"}


def test_the_gateways_pairs_fit_bedrocks_character_set_and_length():
    pairs = request_metadata.gateway_pairs("a" * 300, None, "ops team!")
    assert pairs == {"gateway_request_id": "a" * 256, "gateway_consumer_id": "anonymous",
                     "gateway_role": "ops team_"}


def test_a_clients_pairs_are_kept_and_ours_win():
    assert request_metadata.merged(None, OURS) == OURS
    assert request_metadata.merged({"team": "x", "gateway_role": "admin"}, OURS) == {"team": "x", **OURS}


@pytest.mark.parametrize("client, message", [
    ({f"k{i}": "v" for i in range(14)}, "at most 13 pairs; the gateway adds gateway_request_id"),
    ({"k": 1}, "must be an object of string values"), (["k"], "must be an object of string values")])
def test_pairs_the_gateway_cannot_add_to_are_request_errors(client, message):
    with pytest.raises(RequestError, match=message):
        request_metadata.merged(client, OURS)


def invoke_pairs(call):
    return json.loads(dict(call.headers)["X-Amzn-Bedrock-Request-Metadata"])


def test_converse_calls_carry_them_in_the_body_invoke_calls_in_a_header():
    ctx = ctx_for("developer", CHAT)
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None
    assert json.loads(ctx.upstream.body)["requestMetadata"] == OURS
    ctx = ctx_for("developer", {**CHAT, "metadata": {"user_id": "u-7"}})
    assert PLUGIN.decide(ctx, "/v1/messages") is None and ctx.upstream.operation == "invoke"
    assert b"gateway_" not in ctx.upstream.body and invoke_pairs(ctx.upstream) == {**OURS, "client_end_user": "u-7"}
    ctx = ctx_for("developer", {"model": "titan-embed", "input": "hi"})
    assert PLUGIN.decide(ctx, "/v1/embeddings") is None and invoke_pairs(ctx.upstream) == OURS


def test_a_native_invoke_clients_header_pairs_are_kept_but_ours_win():
    native = {"anthropic_version": "bedrock-2023-05-31", **CHAT}
    ctx = ctx_for("developer", native)
    ctx.metadata_header, ctx.headers_loaded = '{"team": "search", "gateway_role": "admin"}', True
    assert PLUGIN.decide(ctx, "/model/haiku/invoke-with-response-stream") is None
    assert invoke_pairs(ctx.upstream) == {"team": "search", **OURS}
    for header, message in (("team=search", "must be a JSON object"), ('["team"]', "must be an object"),
                            (json.dumps({f"k{i}": "v" for i in range(14)}), "at most 13 pairs")):
        ctx = ctx_for("developer", native)
        ctx.metadata_header, ctx.headers_loaded = header, True
        error = PLUGIN.decide(ctx, "/model/haiku/invoke")
        assert error.status == 400 and error.body["message"].startswith("X-Amzn-Bedrock-Request-Metadata: ")
        assert message in error.body["message"]


def test_switched_off_no_call_carries_them():
    plugin = bedrock_proxy.Plugin({**CONFIG, "bedrock_request_metadata": False})
    ctx = ctx_for("developer", CHAT)
    assert plugin.decide(ctx, "/v1/chat/completions") is None
    assert "requestMetadata" not in json.loads(ctx.upstream.body)
    native = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    ctx = ctx_for("developer", native)
    assert plugin.decide(ctx, "/model/haiku/converse") is None and ctx.upstream.body == ctx.body


def test_a_native_client_with_no_room_left_gets_a_bedrock_format_400():
    body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "requestMetadata": {f"k{i}": "v" for i in range(14)}}
    error = PLUGIN.decide(ctx_for("developer", body), "/model/haiku/converse")
    assert error.status == 400 and error.body["message"].startswith("requestMetadata: at most 13 pairs")


def test_an_end_user_is_a_pair_of_its_own_cleaned_and_cut_to_bedrocks_limits():
    pairs = request_metadata.gateway_pairs("r1", "c1", "analyst", "x" * 300 + "!")
    assert pairs["client_end_user"] == "x" * 256 and len(pairs) == 4
    assert request_metadata.gateway_pairs("r1", "c1", "analyst", "ä@b.c")["client_end_user"] == "_@b.c"
    assert "client_end_user" not in request_metadata.gateway_pairs("r1", "c1", "analyst", "")


def test_an_openai_clients_metadata_is_cleaned_to_bedrocks_rules():
    assert request_metadata.from_openai(None) is None
    pairs = request_metadata.from_openai({"team": "search", "ticket": "ä" + "x" * 400, "cost centre!": "42"})
    assert pairs == {"team": "search", "ticket": "_" + "x" * 255, "cost centre_": "42"}


@pytest.mark.parametrize("metadata, message", [
    ({f"k{i}": "v" for i in range(17)}, "metadata: at most 16 pairs"),
    ({"k" * 65: "v"}, "keys must be 1 to 64 characters"), ({"": "v"}, "keys must be 1 to 64 characters"),
    ({"k": "v" * 513}, "metadata: a value is longer than 512 characters"),
    ({"k": 1}, "must be an object of string values"), ("team=search", "must be an object of string values")])
def test_metadata_openai_itself_would_refuse_is_a_request_error(metadata, message):
    with pytest.raises(RequestError, match=message) as caught:
        request_metadata.from_openai(metadata)
    assert caught.value.param == "metadata"


def test_openai_metadata_joins_the_gateways_pairs_on_the_converse_call_and_ours_win():
    ctx = ctx_for("developer", {**CHAT, "metadata": {"team": "search", "gateway_role": "admin"}})
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None
    assert json.loads(ctx.upstream.body)["requestMetadata"] == {"team": "search", **OURS}
    crowded = {**CHAT, "metadata": {f"k{i}": "v" for i in range(16)}}
    error = PLUGIN.decide(ctx_for("developer", crowded), "/v1/chat/completions")
    assert error.status == 400 and error.body["error"]["param"] == "metadata"
    assert error.body["error"]["message"].startswith("metadata: at most 13 pairs")


def test_the_relay_passes_a_native_clients_own_header_on_only_when_the_gateway_adds_none():
    from kong_plugins.relay.app import _with_client_headers
    native, own = {"anthropic_version": "bedrock-2023-05-31", **CHAT}, '{"team": "search"}'
    environ = {"HTTP_X_AMZN_BEDROCK_REQUEST_METADATA": own}
    plugin = bedrock_proxy.Plugin({**CONFIG, "bedrock_request_metadata": False})
    ctx = ctx_for("developer", native)
    ctx.metadata_header, ctx.headers_loaded = own, True
    assert plugin.decide(ctx, "/model/haiku/invoke") is None
    assert dict(_with_client_headers(ctx.upstream, environ).headers)["X-Amzn-Bedrock-Request-Metadata"] == own
    ctx = ctx_for("developer", native)
    ctx.metadata_header, ctx.headers_loaded = own, True
    assert PLUGIN.decide(ctx, "/model/haiku/invoke") is None
    sent = [v for k, v in _with_client_headers(ctx.upstream, environ).headers if k == "X-Amzn-Bedrock-Request-Metadata"]
    assert [json.loads(v) for v in sent] == [{"team": "search", **OURS}]


@pytest.mark.parametrize("header, kept", [
    ("5f0c2a7e-3b1d-4c8e-9a61-2d7f4b9e0c13", "5f0c2a7e-3b1d-4c8e-9a61-2d7f4b9e0c13"), ("agent_7.a:b", "agent_7.a:b"),
    ("x" * 65, None), ("a b", None), ("line\nbreak", None), ("", None), (False, None), (["a", "b"], None)])
def test_a_client_session_id_is_kept_only_when_it_looks_like_one(header, kept):
    assert client_id(header) == kept


def test_claude_codes_session_and_agent_join_the_gateways_pairs_when_present():
    pairs = request_metadata.gateway_pairs("r1", "c1", "developer", None, "s-1", "agent-2")
    assert (pairs["client_session"], pairs["client_agent"]) == ("s-1", "agent-2")
    assert "client_session" not in request_metadata.gateway_pairs("r1", "c1", "developer")
