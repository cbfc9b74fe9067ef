"""A role's Amazon Bedrock Guardrail on every call it makes: where bedrock-proxy puts it, what it refuses."""

import json

import pytest

from kong_plugins import bedrock_proxy
from kong_plugins.formats import converse, responses_render
from kong_plugins.context import Usage
from tests.unit.test_bedrock_proxy_decide import CONFIG, ctx_for

GUARD = {"identifier": "gwdemoguard1", "version": "1", "trace": True}


def plugin(guardrail=GUARD):
    roles = [{**r, "bedrock_guardrail": guardrail} if r["name"] in ("ecommerce_ops", "admin") else r
             for r in CONFIG["roles"]]
    return bedrock_proxy.Plugin({**CONFIG, "roles": roles})


CHAT = {"model": "haiku", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def test_converse_calls_carry_it_in_the_body_invoke_calls_in_headers():
    ctx = ctx_for("ecommerce_ops", CHAT)
    assert plugin().decide(ctx, "/v1/chat/completions") is None
    assert json.loads(ctx.upstream.body)["guardrailConfig"] == {
        "guardrailIdentifier": "gwdemoguard1", "guardrailVersion": "1", "trace": "enabled"}
    assert ctx.upstream.headers == ()
    ctx = ctx_for("ecommerce_ops", {**CHAT, "stream": True})
    assert plugin().decide(ctx, "/v1/messages") is None and ctx.upstream.operation == "invoke-with-response-stream"
    assert {k: v for k, v in ctx.upstream.headers if "Metadata" not in k} == {
        "X-Amzn-Bedrock-GuardrailIdentifier": "gwdemoguard1", "X-Amzn-Bedrock-GuardrailVersion": "1",
        "X-Amzn-Bedrock-Trace": "ENABLED"}
    assert b"guardrail" not in ctx.upstream.body


def test_its_trace_is_always_asked_for_and_shown_to_anthropic_clients_only_when_the_role_says_so():
    """The trace is where Bedrock reports the text units it bills the guardrail by."""
    quiet = plugin({**GUARD, "trace": False})
    ctx = ctx_for("ecommerce_ops", CHAT)
    assert quiet.decide(ctx, "/v1/chat/completions") is None and not ctx.upstream.hidden_trace
    assert json.loads(ctx.upstream.body)["guardrailConfig"]["trace"] == "enabled"
    ctx = ctx_for("ecommerce_ops", CHAT)
    assert quiet.decide(ctx, "/v1/messages") is None and ctx.upstream.hidden_trace
    assert dict(ctx.upstream.headers)["X-Amzn-Bedrock-Trace"] == "ENABLED"
    ctx = ctx_for("ecommerce_ops", CHAT)
    assert plugin().decide(ctx, "/v1/messages") is None and not ctx.upstream.hidden_trace


def test_roles_without_one_send_none():
    ctx = ctx_for("analyst", CHAT)
    assert plugin().decide(ctx, "/v1/chat/completions") is None
    assert "guardrailConfig" not in json.loads(ctx.upstream.body) and ctx.upstream.headers == ()


def test_native_calls_get_the_roles_guardrail_replacing_the_clients():
    body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "guardrailConfig": {"guardrailIdentifier": "mine", "guardrailVersion": "DRAFT"}}
    ctx = ctx_for("ecommerce_ops", body)
    assert plugin({**GUARD, "trace": False}).decide(
        ctx, "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/converse") is None
    assert json.loads(ctx.upstream.body)["guardrailConfig"] == {
        "guardrailIdentifier": "gwdemoguard1", "guardrailVersion": "1", "trace": "disabled"}
    ctx = ctx_for("ecommerce_ops", {"anthropic_version": "bedrock-2023-05-31", **CHAT})
    assert plugin().decide(ctx, "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke") is None
    assert dict(ctx.upstream.headers)["X-Amzn-Bedrock-GuardrailIdentifier"] == "gwdemoguard1"


def test_models_that_cannot_carry_it_are_refused_and_left_out_of_fallbacks():
    reply = plugin().decide(ctx_for("admin", {**CHAT, "model": "opus-4-7"}), "/v1/chat/completions")
    assert reply.status == 403 and "cannot apply" in reply.body["error"]["message"]
    assert "opus-4-7" not in reply.body["error"]["message"].split("models that can:")[1]
    ctx = ctx_for("admin", {**CHAT, "model": "opus"})
    assert plugin().decide(ctx, "/v1/chat/completions") is None
    assert all(json.loads(c.body)["guardrailConfig"]["guardrailIdentifier"] == "gwdemoguard1" for c in ctx.fallbacks)


@pytest.mark.parametrize("stream", [False, True])
def test_a_converse_block_is_marked_and_a_response_is_incomplete_for_content_filter(stream):
    if stream:
        decoder = converse.ConverseStreamToAnthropic(model="haiku", message_id="m")
        list(decoder.events("messageStop", {"stopReason": "guardrail_intervened"}))
        events = list(decoder.events("metadata", {"usage": {"inputTokens": 0, "outputTokens": 0}}))
        marked = events[-2]
        assert marked["type"] == "message_delta" and marked["delta"]["stop_reason"] == "refusal"
    else:
        marked = converse.message_from_converse({"output": {"message": {"content": [{"text": "Sorry"}]}},
                                                 "stopReason": "guardrail_intervened"}, model="haiku", message_id="m")
        assert marked["stop_reason"] == "refusal"
    assert marked["amazon-bedrock-guardrailAction"] == "INTERVENED"
    response = responses_render.response_object("r", "haiku", 0, [], "refusal", Usage())
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "content_filter"}
    plain = converse.message_from_converse({"output": {"message": {"content": []}}, "stopReason": "end_turn"},
                                           model="haiku", message_id="m")
    assert "amazon-bedrock-guardrailAction" not in plain
