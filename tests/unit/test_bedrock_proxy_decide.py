"""bedrock-proxy's decision, from the shipped kong.yaml config, without Kong."""

import json
from pathlib import Path

import pytest
import yaml

from kong_plugins import bedrock_proxy
from kong_plugins.context import Consumer, RequestContext

CONFIG = next(p["config"] for s in yaml.safe_load((Path(__file__).parents[2] / "kong/kong.yaml").read_text())
              ["services"] for p in s.get("plugins", []) if p["name"] == "bedrock-proxy")
POLICY = {"admin": {"haiku", "sonnet", "opus", "opus-4-7", "gemini-flash", "titan", "titan-embed", "cohere-embed",
                    "cohere-rerank", "nova-canvas", "stable-image-core"},
          "developer": {"sonnet", "haiku", "titan-embed", "cohere-embed", "cohere-rerank", "nova-canvas",
                        "stable-image-core"},
          "analyst": {"haiku", "titan", "titan-embed", "cohere-embed", "cohere-rerank"},
          "ecommerce_ops": {"haiku", "titan-embed", "cohere-embed", "cohere-rerank", "nova-canvas", "stable-image-core"},
          "guest": {"haiku"}}
"""Each role's models in kong/kong.yaml (the e2e tests check the same through the gateway)."""
PLUGIN = bedrock_proxy.Plugin({**CONFIG, "default_max_tokens": 4096})


def ctx_for(role, body):
    consumer = Consumer(id="c", username="u", tags=(f"role:{role}",)) if role else None
    return RequestContext(request_id="r", consumer=consumer, body=json.dumps(body).encode())


@pytest.mark.parametrize("role", sorted(POLICY))
@pytest.mark.parametrize("model", ["haiku", "sonnet", "opus", "titan"])
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions"])
def test_role_matrix(role, model, path):
    body = {"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    ctx = ctx_for(role, body)
    error = PLUGIN.decide(ctx, path)
    if model in POLICY[role]:
        assert error is None and ctx.upstream.model_name == model
    else:
        assert error.status == 403 and "may use these models" in json.dumps(error.body)


def test_anthropic_on_claude_uses_invoke_and_everything_else_converse():
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}
    ctx = ctx_for("admin", body)
    assert PLUGIN.decide(ctx, "/v1/messages") is None
    assert ctx.upstream.operation == "invoke-with-response-stream"
    assert ctx.upstream.model_id == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    ctx = ctx_for("admin", {**body, "model": "titan"})
    assert PLUGIN.decide(ctx, "/v1/messages") is None and ctx.upstream.operation == "converse-stream"
    ctx = ctx_for("admin", {**body, "stream": False})
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None and ctx.upstream.operation == "converse"


def test_missing_model_means_the_role_default_and_no_role_tag_means_exactly_the_other_tier():
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    ctx = ctx_for("analyst", body)
    assert PLUGIN.decide(ctx, "/v1/messages") is None and ctx.upstream.model_name == "haiku"
    ctx = ctx_for(None, body)
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None
    assert ctx.role == "other" and ctx.upstream.model_name == "gemini-flash"
    assert ctx.upstream.operation == "openai-chat" and ctx.upstream.api_key_env == "GEMINI_API_KEY"
    for model in ("haiku", "sonnet", "titan"):
        assert PLUGIN.decide(ctx_for(None, {**body, "model": model}), "/v1/chat/completions").status == 403
    anthropic_client = PLUGIN.decide(ctx_for(None, body), "/v1/messages")
    assert anthropic_client.status == 400 and "/v1/chat/completions" in anthropic_client.body["error"]["message"]


def test_unknown_model_is_404_in_each_format():
    body = {"model": "gpt-9", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    anthropic_error = PLUGIN.decide(ctx_for("admin", body), "/v1/messages")
    openai_error = PLUGIN.decide(ctx_for("admin", body), "/v1/chat/completions")
    assert anthropic_error.status == openai_error.status == 404
    assert anthropic_error.body["error"]["type"] == "not_found_error"
    assert openai_error.body["error"]["code"] == "model_not_found"


def test_models_list_is_filtered_by_role():
    for role, allowed in POLICY.items():
        reply = PLUGIN.decide(ctx_for(role, {}), "/v1/models")
        assert reply.status == 200 and {m["id"] for m in reply.body["data"]} == allowed


def test_count_tokens_uses_bedrock_for_claude_and_a_labelled_estimate_elsewhere():
    body = {"model": "sonnet", "messages": [{"role": "user", "content": "count me " * 40}]}
    ctx = ctx_for("admin", body)
    assert PLUGIN.decide(ctx, "/v1/messages/count_tokens") is None
    assert ctx.upstream.operation == "count-tokens"
    assert ctx.upstream.model_id == "anthropic.claude-sonnet-4-5-20250929-v1:0"   # CountTokens: no geo prefix
    reply = PLUGIN.decide(ctx_for("admin", {**body, "model": "titan"}), "/v1/messages/count_tokens")
    assert reply.status == 200 and reply.headers == {"X-Token-Count-Estimate": "true"}
    assert reply.body["input_tokens"] == 90   # 360 characters / 4


@pytest.mark.parametrize("model_segment", ["us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                                           "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0",
                                           "anthropic.claude-sonnet-4-5-20250929-v1%3A0"])
def test_bedrock_native_path_model_ids_encoded_or_not(model_segment):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}]}
    ctx = ctx_for("developer", body)
    assert PLUGIN.decide(ctx, f"/model/{model_segment}/invoke-with-response-stream") is None
    call = ctx.upstream
    assert call.operation == "invoke-with-response-stream" and call.stream
    assert call.model_id == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert call.body == ctx.body                      # passed through unchanged


def test_bedrock_native_errors_are_bedrock_shaped():
    body = {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    denied = PLUGIN.decide(ctx_for("guest", body), "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke")
    assert denied.status == 403 and denied.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "message" in denied.body
    unknown_op = PLUGIN.decide(ctx_for("admin", body), "/model/x/delete")
    assert unknown_op.status == 404


def test_inference_profiles_filtered_by_role():
    reply = PLUGIN.decide(ctx_for("developer", {}), "/inference-profiles")
    ids = {p["inferenceProfileId"] for p in reply.body["inferenceProfileSummaries"]}
    assert ids == {"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0"}
    models = PLUGIN.decide(ctx_for("analyst", {}), "/foundation-models").body["modelSummaries"]
    assert {m["modelName"] for m in models} == {"haiku", "titan", "titan-embed", "cohere-embed", "cohere-rerank"}
    embed = next(m for m in models if m["modelName"] == "titan-embed")
    assert embed["outputModalities"] == ["EMBEDDING"] and embed["modelId"] == "amazon.titan-embed-text-v2:0"
    ranker = next(m for m in models if m["modelName"] == "cohere-rerank")
    assert ranker["modelArn"] == "arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0"
    assert ranker["responseStreamingSupported"] is False


def test_fallback_chain_keeps_only_models_the_role_may_use():
    body = {"model": "opus", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    ctx = ctx_for("admin", body)
    assert PLUGIN.decide(ctx, "/v1/messages") is None
    assert [c.model_name for c in ctx.fallbacks] == ["sonnet"]
    ctx = ctx_for("developer", {**body, "model": "sonnet"})
    assert PLUGIN.decide(ctx, "/v1/messages") is None
    assert [c.model_name for c in ctx.fallbacks] == ["haiku"]
    ctx = ctx_for("ecommerce_ops", {**body, "model": "haiku"})
    assert PLUGIN.decide(ctx, "/v1/messages") is None and ctx.fallbacks == []


def test_a_fallback_answers_under_the_id_the_client_was_given():
    """A background Response is kept as running under the first candidate's id before any model answers: a
    fallback that answered under an id of its own left it `in_progress` forever (tester's finding)."""
    for path, body in [("/v1/responses", {"model": "sonnet", "input": "hi", "background": True}),
                       ("/v1/chat/completions", {"model": "sonnet", "messages": [{"role": "user", "content": "hi"}]})]:
        ctx = ctx_for("developer", body)
        assert PLUGIN.decide(ctx, path) is None and [c.model_name for c in ctx.fallbacks] == ["haiku"]
        assert {c.response_id for c in ctx.fallbacks} == {ctx.upstream.response_id}


def test_a_fallback_that_cannot_take_the_request_is_left_out_and_the_model_asked_for_still_serves_it():
    """Claude Code's web search is a tool Anthropic's API defines: Claude on InvokeModel gets it as sent,
    a Converse model cannot take it (a 400 when asked for directly, left out of a chain as a fallback)."""
    models = [{**m, "fallbacks": ["titan"]} if m["name"] == "haiku" else m for m in CONFIG["models"]]
    plugin = bedrock_proxy.Plugin({**CONFIG, "models": models})
    body = {"model": "haiku", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]}
    ctx = ctx_for("analyst", {k: v for k, v in body.items() if k != "tools"})
    assert plugin.decide(ctx, "/v1/messages") is None and [c.model_name for c in ctx.fallbacks] == ["titan"]
    ctx = ctx_for("analyst", body)
    assert plugin.decide(ctx, "/v1/messages") is None
    assert ctx.upstream.model_name == "haiku" and ctx.fallbacks == []
    assert json.loads(ctx.upstream.body)["tools"] == body["tools"]
    refused = plugin.decide(ctx_for("analyst", {**body, "model": "titan"}), "/v1/messages")
    assert refused.status == 400 and refused.body["error"]["message"].startswith(
        "tools.0.type: 'web_search_20250305' is a tool Anthropic's API defines")


PROFILE_ARN = "arn:aws:bedrock:us-east-1:1:inference-profile"


@pytest.mark.parametrize("name,served", [("claude-opus-4-8", "opus"), ("claude-sonnet-5", "sonnet"),
                                         ("anthropic.claude-haiku-5-5", "haiku"), ("claude-3-7-sonnet-latest", "sonnet"),
                                         ("us.anthropic.claude-opus-5-v1:0", "opus"),
                                         (f"{PROFILE_ARN}/us.anthropic.claude-opus-4-8-v1:0", "opus"),
                                         ("bedrock/us.anthropic.claude-sonnet-4-6", "sonnet"),
                                         ("claude-3-7-sonnet_thinking", "sonnet")])
def test_unknown_claude_names_resolve_by_family(name, served):
    body = {"model": name, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    ctx = ctx_for("admin", body)
    assert PLUGIN.decide(ctx, "/v1/messages") is None and ctx.upstream.model_name == served


def test_family_rule_can_be_switched_off_and_never_matches_other_vendors():
    strict = bedrock_proxy.Plugin({**CONFIG, "resolve_unknown_claude_names": False})
    body = {"model": "claude-opus-4-8", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    assert strict.decide(ctx_for("admin", body), "/v1/messages").status == 404
    assert PLUGIN.decide(ctx_for("admin", {**body, "model": "gpt-opus"}), "/v1/messages").status == 404


def test_substitute_default_per_role():
    roles = [{**r, "substitute_default": r["name"] == "guest"} for r in CONFIG["roles"]]
    plugin = bedrock_proxy.Plugin({**CONFIG, "roles": roles})
    body = {"model": "opus", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    ctx = ctx_for("guest", body)
    assert plugin.decide(ctx, "/v1/chat/completions") is None
    assert ctx.upstream.model_name == "haiku" and ctx.substituted_from == "opus"
    assert plugin.decide(ctx_for("analyst", body), "/v1/chat/completions").status == 403


def test_chat_alias_routes_fix_the_model_or_use_the_role_default():
    body = {"model": "opus", "messages": [{"role": "user", "content": "hi"}]}
    ctx = ctx_for("developer", body)
    assert PLUGIN.decide(ctx, "/v1/chat/haiku") is None and ctx.upstream.model_name == "haiku"   # body ignored
    ctx = ctx_for("developer", body)
    assert PLUGIN.decide(ctx, "/v1/chat") is None and ctx.upstream.model_name == "sonnet"        # role default
    assert PLUGIN.decide(ctx_for("developer", body), "/v1/chat/opus").status == 403


@pytest.mark.parametrize("path, model, fallback", [
    ("/v1/messages", "opus", "sonnet"),            # InvokeModel for both
    ("/v1/chat/completions", "opus", "sonnet"),    # Converse for both
    ("/v1/messages", "opus-4-7", "opus"),          # Mantle, then InvokeModel: two bodies
])
def test_a_fallback_sends_what_asking_for_it_directly_sends_and_a_shared_body_is_built_once(path, model, fallback):
    context = "context " * 1000
    if path == "/v1/messages":
        body = {"model": model, "max_tokens": 10, "system": context, "messages": [{"role": "user", "content": "hi"}]}
    else:
        body = {"model": model, "max_tokens": 10,
                "messages": [{"role": "system", "content": context}, {"role": "user", "content": "hi"}]}
    primary, direct = ctx_for("admin", body), ctx_for("admin", {**body, "model": fallback})
    assert PLUGIN.decide(primary, path) is None and PLUGIN.decide(direct, path) is None
    (planned,) = primary.fallbacks
    assert planned.model_name == fallback
    assert (planned.operation, json.loads(planned.body)) == (direct.upstream.operation, json.loads(direct.upstream.body))
    same_kind = PLUGIN.catalogue.resolve(model).kind == PLUGIN.catalogue.resolve(fallback).kind
    assert (planned.body is primary.upstream.body) is same_kind


@pytest.mark.parametrize("model, role, route", [("titan-embed", "analyst", "/v1/embeddings"),
                                                ("nova-canvas", "developer", "/v1/images/generations"),
                                                ("cohere-rerank", "analyst", "/v1/rerank or /v2/rerank")])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
def test_a_model_of_a_kind_no_chat_api_serves_is_a_400_naming_its_route(model, role, route, path):
    body = {"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "input": "hi"}
    reply = PLUGIN.decide(ctx_for(role, body), path)
    assert reply.status == 400 and route in reply.body["error"]["message"]


@pytest.mark.parametrize("name", ["claude-opus zzq 4111 1111 1111 1111", "x.claude-opus<script>", "claude-opus\nX-A: b",
                                  "claude-sonnet-4-5 and more", "my claude-haiku"])
def test_the_family_rule_takes_whole_model_names_only(name):
    """The family match was unanchored: any string containing `claude-opus` resolved, and with substitute_default
    the client's string went back in a response header (and into Kong's access log)."""
    body = {"model": name, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    assert PLUGIN.decide(ctx_for("admin", body), "/v1/messages").status == 404


def test_a_substitution_names_the_catalogue_model_never_the_clients_string():
    roles = [{**r, "substitute_default": r["name"] == "guest"} for r in CONFIG["roles"]]
    plugin = bedrock_proxy.Plugin({**CONFIG, "roles": roles})
    for asked in ("claude-opus-4-8", "us.anthropic.claude-opus-5-v1:0", "OPUS"):
        ctx = ctx_for("guest", {"model": asked, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
        assert plugin.decide(ctx, "/v1/chat/completions") is None and ctx.substituted_from == "opus"
