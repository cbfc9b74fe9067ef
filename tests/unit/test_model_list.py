"""GET /v1/models and /v1/models/{id} in each SDK's format, from the shipped catalogue (bedrock-proxy's decide)."""

import json

import pytest

from kong_plugins.formats.api import ApiFormat
from kong_plugins.policy.catalogue import CatalogueEntry
from kong_plugins.policy.model_list import ListedModel
from tests.unit.test_bedrock_proxy_decide import PLUGIN, ctx_for


def models(role, path="/v1/models", api=ApiFormat.ANTHROPIC, query=""):
    ctx = ctx_for(role, {})
    ctx.api, ctx.query = api, query
    return PLUGIN.decide(ctx, path)


def test_anthropic_clients_get_anthropic_shapes_with_claude_style_ids_newest_first():
    reply = models("admin")
    assert reply.status == 200
    assert [(m["id"], m["display_name"], m["created_at"]) for m in reply.body["data"]] == [
        ("claude-opus-4-5", "Claude Opus 4.5", "2025-11-01T00:00:00Z"),
        ("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
        ("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
        ("claude-opus-4-7", "Claude Opus 4.7", "1970-01-01T00:00:00Z"),   # no date in its Bedrock id
        ("titan", "titan", "1970-01-01T00:00:00Z")]   # Converse serves it; embeddings and Gemini are not Messages
    assert {m["type"] for m in reply.body["data"]} == {"model"}
    assert (reply.body["has_more"], reply.body["first_id"], reply.body["last_id"]) == (
        False, "claude-opus-4-5", "titan")


def test_openai_clients_keep_catalogue_names_with_release_times():
    data = models("developer", api=ApiFormat.OPENAI).body["data"]
    assert {m["id"]: m["created"] for m in data} == {"cohere-embed": 0, "haiku": 1759276800, "sonnet": 1759104000,
                                                     "titan-embed": 0, "cohere-rerank": 0, "nova-canvas": 0,
                                                     "stable-image-core": 0}
    assert {m["object"] for m in data} == {"model"}


@pytest.mark.parametrize("role, ids", [("developer", ["claude-haiku-4-5", "claude-sonnet-4-5"]),
                                       ("guest", ["claude-haiku-4-5"]), ("other", [])])
def test_anthropic_list_is_filtered_by_role(role, ids):
    assert [m["id"] for m in models(role).body["data"]] == ids


def test_anthropic_pagination_walks_forward_and_back():
    first = models("admin", query="limit=2").body
    assert [m["id"] for m in first["data"]] == ["claude-opus-4-5", "claude-haiku-4-5"] and first["has_more"]
    second = models("admin", query="limit=2&after_id=claude-haiku-4-5").body
    assert [m["id"] for m in second["data"]] == ["claude-sonnet-4-5", "claude-opus-4-7"] and second["has_more"]
    last = models("admin", query="limit=2&after_id=claude-opus-4-7").body
    assert [m["id"] for m in last["data"]] == ["titan"] and not last["has_more"]
    back = models("admin", query="limit=2&before_id=claude-opus-4-7").body
    assert [m["id"] for m in back["data"]] == ["claude-haiku-4-5", "claude-sonnet-4-5"] and back["has_more"]
    assert models("admin", query="limit=1000").body["has_more"] is False   # what Claude Code's discovery asks


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "limit=1&limit=2", "after_id=gpt-4o",
                                   "after_id=titan&before_id=titan", "limit=-1", "limit=%C2%B2"])
def test_bad_pagination_is_a_400_in_anthropic_format_without_echoing(query):
    reply = models("admin", query=query)
    assert reply.status == 400 and reply.body["error"]["type"] == "invalid_request_error"
    assert "gpt-4o" not in json.dumps(reply.body) and "int()" not in reply.body["error"]["message"]


@pytest.mark.parametrize("asked", ["claude-sonnet-4-5", "sonnet", "claude-sonnet-4-5-20250929",
                                   "anthropic.claude-sonnet-4-5-20250929-v1%3A0"])
def test_retrieve_resolves_any_catalogue_name(asked):
    anthropic_reply = models("developer", path=f"/v1/models/{asked}")
    assert anthropic_reply.status == 200 and anthropic_reply.body["id"] == "claude-sonnet-4-5"
    openai_reply = models("developer", path=f"/v1/models/{asked}", api=ApiFormat.OPENAI)
    assert openai_reply.status == 200 and openai_reply.body["id"] == "sonnet"


@pytest.mark.parametrize("api, asked", [(ApiFormat.ANTHROPIC, "claude-opus-4-5"), (ApiFormat.OPENAI, "opus"),
                                        (ApiFormat.ANTHROPIC, "gpt-4o"), (ApiFormat.OPENAI, "gpt-4o"),
                                        (ApiFormat.ANTHROPIC, "titan-embed")])
def test_retrieve_of_a_model_the_role_may_not_use_or_unknown_is_a_404_in_the_callers_format(api, asked):
    reply = models("developer", path=f"/v1/models/{asked}", api=api)
    assert reply.status == 404 and asked not in json.dumps(reply.body)
    if api is ApiFormat.ANTHROPIC:
        assert reply.body["type"] == "error" and reply.body["error"]["type"] == "not_found_error"
    else:
        assert reply.body["error"]["code"] == "model_not_found"


def test_a_configured_display_name_wins_and_names_without_a_claude_alias_stay_as_they_are():
    labelled = CatalogueEntry(name="sonnet", bedrock_id="x", kind="claude", region=None,
                              aliases=("claude-sonnet-4-5",), display_name="Sonnet (team budget)")
    assert ListedModel(labelled).display_name == "Sonnet (team budget)"
    bare = CatalogueEntry(name="nova-pro", bedrock_id="us.amazon.nova-pro-v1:0", kind="converse", region=None)
    assert (ListedModel(bare).anthropic_id, ListedModel(bare).display_name) == ("nova-pro", "nova-pro")
    bedrock_only = CatalogueEntry(name="h", bedrock_id="b", kind="claude", region=None,
                                  aliases=("anthropic.claude-3-haiku-20240307-v1:0",))
    assert ListedModel(bedrock_only).anthropic_id == "anthropic.claude-3-haiku-20240307-v1:0"
    assert ListedModel(bedrock_only).display_name == "h"
