"""Cache points for OpenAI clients on Claude: where they go, and where they do not."""

import json

from kong_plugins import bedrock_proxy
from kong_plugins.formats import converse
from kong_plugins.formats.prompt_cache import add_cache_points
from tests.unit.test_bedrock_proxy_decide import CONFIG, PLUGIN, ctx_for

MARK = {"type": "ephemeral"}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def test_first_turn_caches_the_system_prompt_only():
    request = {"system": "You are a shop assistant.", "messages": [{"role": "user", "content": "hi"}]}
    add_cache_points(request)
    assert request["system"] == [{"type": "text", "text": "You are a shop assistant.", "cache_control": MARK}]
    assert request["messages"] == [{"role": "user", "content": "hi"}]


def test_an_ongoing_conversation_also_caches_up_to_its_last_message():
    request = {"system": "S", "messages": [
        {"role": "user", "content": "order 42?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "shipped"}]}]}
    add_cache_points(request)
    assert request["messages"][-1]["content"][-1]["cache_control"] == MARK
    assert "cache_control" not in json.dumps(request["messages"][:2])


def test_no_system_prompt_caches_the_tools_and_existing_marks_are_left_alone():
    request = {"tools": [{"name": "a"}, {"name": "b"}], "messages": [{"role": "user", "content": "hi"}]}
    add_cache_points(request)
    assert request["tools"] == [{"name": "a"}, {"name": "b", "cache_control": MARK}]
    body = converse.request_from_anthropic({**request, "max_tokens": 10})
    assert body["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}
    marked = {"system": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
              "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
                           {"role": "user", "content": "more"}]}
    before = json.dumps(marked)
    add_cache_points(marked)
    assert json.dumps(marked) == before


def test_a_trailing_assistant_prefill_is_not_marked():
    request = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure"}]}
    add_cache_points(request)
    assert request["messages"][-1] == {"role": "assistant", "content": "Sure"}


def openai_body(model):
    return {"model": model, "tools": [TOOL], "messages": [
        {"role": "system", "content": "You are a shop assistant."}, {"role": "user", "content": "order 42?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "shipped"}]}


def test_decide_adds_cache_points_for_openai_clients_on_claude_only():
    ctx = ctx_for("analyst", openai_body("haiku"))
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None
    body = json.loads(ctx.upstream.body)
    assert body["system"][-1] == {"cachePoint": {"type": "default"}}
    assert body["messages"][-1]["content"][-1] == {"cachePoint": {"type": "default"}}
    ctx = ctx_for("analyst", {**openai_body("titan"), "tools": None, "messages": [{"role": "user", "content": "x"}]})
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None and b"cachePoint" not in ctx.upstream.body
    anthropic_client = ctx_for("analyst", {"model": "haiku", "max_tokens": 10, "system": "S",
                                           "messages": [{"role": "user", "content": "x"}]})
    assert PLUGIN.decide(anthropic_client, "/v1/messages") is None
    assert b"cache_control" not in anthropic_client.upstream.body


def test_the_option_switches_it_off():
    plugin = bedrock_proxy.Plugin({**CONFIG, "openai_prompt_caching": False})
    ctx = ctx_for("analyst", openai_body("haiku"))
    assert plugin.decide(ctx, "/v1/chat/completions") is None and b"cachePoint" not in ctx.upstream.body


def with_models(*extra, fallbacks=()):
    models = [{**m, "fallbacks": list(fallbacks)} if m["name"] == "haiku" else m for m in CONFIG["models"]]
    return bedrock_proxy.Plugin({**CONFIG, "models": models + list(extra)})


CLAUDE_3 = {"name": "haiku-3", "bedrock_id": "anthropic.claude-3-haiku-20240307-v1:0", "kind": "claude"}


def test_models_bedrock_would_refuse_a_cache_point_for_get_none():
    """Bedrock answers 400 to a cache point on Claude 3 and 3.5 Sonnet v1: caching must not break them."""
    plugin = with_models(CLAUDE_3)
    ctx = ctx_for("admin", {**openai_body("haiku-3")})
    assert plugin.decide(ctx, "/v1/chat/completions") is None and b"cachePoint" not in ctx.upstream.body


def test_a_fallback_without_caching_gets_none_and_the_model_asked_for_keeps_its_own():
    plugin = with_models(CLAUDE_3, fallbacks=["haiku-3"])
    ctx = ctx_for("admin", openai_body("haiku"))
    assert plugin.decide(ctx, "/v1/chat/completions") is None
    assert [c.model_name for c in ctx.fallbacks] == ["haiku-3"]
    assert b"cachePoint" in ctx.upstream.body and b"cachePoint" not in ctx.fallbacks[0].body
    body = {"model": "haiku", "max_tokens": 10, "system": [{"type": "text", "text": "S", "cache_control": MARK}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": MARK}]}]}
    ctx = ctx_for("admin", body)   # an Anthropic client's own cache_control (Claude Code's)
    assert plugin.decide(ctx, "/v1/messages") is None
    assert json.loads(ctx.upstream.body)["system"] == body["system"]
    sent = json.loads(ctx.fallbacks[0].body)
    assert "cache_control" not in json.dumps(sent) and sent["system"] == [{"type": "text", "text": "S"}]


def test_an_entry_can_say_so_where_its_id_cannot():
    profile = {"name": "app-profile", "kind": "claude", "prompt_caching": False,
               "bedrock_id": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"}
    ctx = ctx_for("admin", openai_body("app-profile"))
    assert with_models(profile).decide(ctx, "/v1/chat/completions") is None
    assert b"cachePoint" not in ctx.upstream.body
    nova = {"name": "nova", "kind": "converse", "prompt_caching": True, "bedrock_id": "amazon.nova-pro-v1:0"}
    ctx = ctx_for("admin", openai_body("nova"))
    assert with_models(nova).decide(ctx, "/v1/chat/completions") is None and b"cachePoint" in ctx.upstream.body


def test_an_anthropic_clients_cache_control_is_taken_out_only_where_bedrock_would_refuse_it():
    body = {"model": "haiku-3", "max_tokens": 10, "system": [{"type": "text", "text": "S", "cache_control": MARK}],
            "tools": [{"name": "t", "input_schema": {"type": "object"}, "cache_control": MARK}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": MARK}]}]}
    ctx = ctx_for("admin", body)
    assert with_models(CLAUDE_3).decide(ctx, "/v1/messages") is None
    sent = json.loads(ctx.upstream.body)
    assert "cache_control" not in json.dumps(sent) and sent["system"] == [{"type": "text", "text": "S"}]
    ctx = ctx_for("admin", {**body, "model": "haiku"})
    assert with_models(CLAUDE_3).decide(ctx, "/v1/messages") is None
    assert json.dumps(json.loads(ctx.upstream.body)).count("cache_control") == 3
