"""Bedrock service tiers: which tier a call runs on (role policy, the client's ask, the model), where
bedrock-proxy puts it on the Bedrock call, and what token-meter charges for it. Without Kong."""

import json
from decimal import Decimal

import pytest

from kong_plugins import bedrock_proxy
from kong_plugins.context import Usage
from kong_plugins.formats.body import RequestError
from kong_plugins.metering.pricing import PriceTable
from kong_plugins.policy import service_tier
from kong_plugins.policy.catalogue import Catalogue
from kong_plugins.policy.service_tier import TierPolicy, TierRefusal
from tests.unit.test_bedrock_proxy_decide import CONFIG, PLUGIN, ctx_for

CHAT = {"model": "haiku", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
ALL = frozenset(service_tier.TIERS)
STANDARD_FLEX = frozenset({"default", "flex"})


def with_roles(**tiers):
    """The shipped config with some roles' `service_tiers` replaced."""
    roles = [{**r, "service_tiers": tiers[r["name"]]} if r["name"] in tiers else r for r in CONFIG["roles"]]
    return bedrock_proxy.Plugin({**CONFIG, "roles": roles})


def test_choose_takes_the_clients_tier_else_the_roles_default():
    policy = TierPolicy(default="flex", allowed=frozenset({"default", "flex", "priority"}))
    assert service_tier.choose(None, policy, ALL, "m") == "flex"
    assert service_tier.choose("priority", policy, ALL, "m") == "priority"
    assert service_tier.choose("default", policy, ALL, "m") == "default"


def test_a_tier_the_role_may_not_ask_for_is_a_permission_refusal_naming_what_it_may():
    refusal = service_tier.choose("priority", TierPolicy(), ALL, "haiku")
    assert refusal == TierRefusal("Your role may use these service tiers: default, flex.", True)


def test_a_tier_the_model_does_not_offer_refuses_an_ask_but_gives_way_to_standard_for_a_role_default():
    policy = TierPolicy(default="flex", allowed=frozenset({"default", "flex"}))
    refusal = service_tier.choose("flex", policy, frozenset({"default"}), "titan")
    assert refusal == TierRefusal("titan is not served on the flex tier; tiers it offers: default.", False)
    assert service_tier.choose(None, policy, frozenset({"default"}), "titan") == "default"


def test_a_role_default_is_always_allowed_even_when_not_listed():
    policy = TierPolicy.from_config({"default": "flex", "allowed": ["default"]})
    assert policy.allowed == STANDARD_FLEX and policy.default == "flex"
    assert TierPolicy.from_config(None) == TierPolicy(default="default", allowed=STANDARD_FLEX)


def test_fallbacks_keep_the_tier_or_fall_to_standard_only_when_the_role_chose_it():
    assert service_tier.fallback_tier(None, "flex", ALL) == "flex"
    assert service_tier.fallback_tier(None, "flex", frozenset({"default"})) == "default"
    assert service_tier.fallback_tier("flex", "flex", frozenset({"default"})) is None


@pytest.mark.parametrize("value, tier", [("auto", None), ("default", "default"), ("flex", "flex"),
                                         ("priority", "priority"), ("scale", "reserved"), (None, None)])
def test_openai_service_tier_names(value, tier):
    assert service_tier.openai_tier({"service_tier": value}) == tier


@pytest.mark.parametrize("value, tier", [("auto", None), ("standard_only", "default"), (None, None)])
def test_anthropic_service_tier_names(value, tier):
    assert service_tier.anthropic_tier({"service_tier": value}) == tier


@pytest.mark.parametrize("read", [service_tier.openai_tier, service_tier.anthropic_tier])
@pytest.mark.parametrize("value", ["turbo", 3, {"type": "flex"}])
def test_unknown_tiers_are_request_errors_naming_the_field(read, value):
    with pytest.raises(RequestError) as caught:
        read({"service_tier": value})
    assert caught.value.param == "service_tier" and "must be one of" in str(caught.value)


def test_native_clients_name_it_in_the_converse_body_or_the_invoke_header():
    assert service_tier.native_tier(None, {"serviceTier": {"type": "flex"}}, converse=True) == "flex"
    assert service_tier.native_tier("priority", {}, converse=False) == "priority"
    assert service_tier.native_tier("flex", {}, converse=True) is None        # Converse reads its body only
    assert service_tier.native_tier(None, {"serviceTier": {"type": "x"}}, converse=False) is None
    with pytest.raises(RequestError, match="serviceTier.type: must be one of default, flex, priority, reserved"):
        service_tier.native_tier(None, {"serviceTier": {"type": "x"}}, converse=True)
    with pytest.raises(RequestError, match="serviceTier: must be one of"):
        service_tier.native_tier("fast", {}, converse=False)
    with pytest.raises(RequestError, match="serviceTier: must be an object with a type"):
        service_tier.native_tier(None, {"serviceTier": "flex"}, converse=True)


def test_catalogue_entries_offer_tiers_by_kind_unless_the_config_says():
    catalogue = Catalogue.from_config(CONFIG)
    assert catalogue.resolve("sonnet").service_tiers == {"default", "flex", "priority"}
    assert catalogue.resolve("titan").service_tiers == {"default"}          # kong.yaml lists [default]
    assert catalogue.resolve("opus-4-7").service_tiers == {"default"}       # mantle
    assert catalogue.resolve("titan-embed").service_tiers == {"default"}
    custom = Catalogue.from_config({"models": [{"name": "m", "bedrock_id": "x", "kind": "claude",
                                                "service_tiers": ["reserved"]}], "roles": []})
    assert custom.resolve("m").service_tiers == {"default", "reserved"}


def test_converse_calls_name_the_tier_in_the_body_and_invoke_calls_in_a_header():
    ctx = ctx_for("developer", {**CHAT, "service_tier": "flex"})
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None
    assert json.loads(ctx.upstream.body)["serviceTier"] == {"type": "flex"} and ctx.upstream.headers == ()
    assert ctx.service_tier == ctx.upstream.service_tier == "flex"
    ctx = ctx_for("developer", {**CHAT, "service_tier": "auto"})
    assert PLUGIN.decide(ctx, "/v1/messages") is None and ctx.upstream.operation == "invoke"
    assert "X-Amzn-Bedrock-Service-Tier" not in dict(ctx.upstream.headers) and ctx.service_tier == "default"
    plugin = with_roles(developer={"default": "flex", "allowed": ["default", "flex"]})
    ctx = ctx_for("developer", CHAT)
    assert plugin.decide(ctx, "/v1/messages") is None
    assert dict(ctx.upstream.headers)["X-Amzn-Bedrock-Service-Tier"] == "flex"
    assert b"service" not in ctx.upstream.body


def test_standard_is_never_named_so_untiered_calls_are_unchanged():
    ctx = ctx_for("developer", {**CHAT, "service_tier": "default"})
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None
    assert "serviceTier" not in json.loads(ctx.upstream.body)


def test_the_responses_api_reads_service_tier_too():
    body = {"model": "haiku", "input": "hi", "service_tier": "flex"}
    ctx = ctx_for("developer", body)
    assert PLUGIN.decide(ctx, "/v1/responses") is None
    assert json.loads(ctx.upstream.body)["serviceTier"] == {"type": "flex"}


def test_refusals_come_in_the_callers_format_with_the_right_status():
    error = PLUGIN.decide(ctx_for("developer", {**CHAT, "service_tier": "priority"}), "/v1/chat/completions")
    assert error.status == 403 and error.body["error"]["param"] == "service_tier"
    assert "default, flex" in error.body["error"]["message"]
    error = PLUGIN.decide(ctx_for("analyst", {**CHAT, "model": "titan", "service_tier": "flex"}), "/v1/chat/completions")
    assert error.status == 400 and "titan is not served on the flex tier" in error.body["error"]["message"]
    error = PLUGIN.decide(ctx_for("developer", {**CHAT, "service_tier": "turbo"}), "/v1/messages")
    assert error.status == 400 and error.body["type"] == "error"
    assert error.body["error"]["type"] == "invalid_request_error"


def test_ecommerce_ops_may_ask_for_priority_as_shipped():
    ctx = ctx_for("ecommerce_ops", {**CHAT, "service_tier": "priority"})
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None and ctx.service_tier == "priority"


def test_fallbacks_share_the_tier_and_one_that_cannot_serve_an_asked_tier_is_left_out():
    models = [{**m, "service_tiers": ["default"]} if m["name"] == "haiku" else m for m in CONFIG["models"]]
    plugin = bedrock_proxy.Plugin({**CONFIG, "models": models})
    ctx = ctx_for("developer", {**CHAT, "model": "sonnet", "service_tier": "flex"})
    assert plugin.decide(ctx, "/v1/chat/completions") is None and ctx.fallbacks == []
    ctx = ctx_for("developer", {**CHAT, "model": "sonnet", "service_tier": "flex"})
    assert PLUGIN.decide(ctx, "/v1/chat/completions") is None
    assert [(c.model_name, c.service_tier) for c in ctx.fallbacks] == [("haiku", "flex")]
    assert json.loads(ctx.fallbacks[0].body)["serviceTier"] == {"type": "flex"}
    flexible = bedrock_proxy.Plugin({**CONFIG, "models": models, "roles": [
        {**r, "service_tiers": {"default": "flex", "allowed": ["default", "flex"]}} for r in CONFIG["roles"]]})
    ctx = ctx_for("developer", {**CHAT, "model": "sonnet"})
    assert flexible.decide(ctx, "/v1/chat/completions") is None
    assert [(c.model_name, c.service_tier) for c in [ctx.upstream, *ctx.fallbacks]] == [
        ("sonnet", "flex"), ("haiku", "default")]
    assert "serviceTier" not in json.loads(ctx.fallbacks[0].body)


def test_bedrock_native_invoke_forwards_the_clients_header_and_converse_keeps_its_body():
    ctx = ctx_for("ecommerce_ops", {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                                    "messages": [{"role": "user", "content": "hi"}]})
    ctx.tier_header, ctx.headers_loaded = "priority", True
    assert PLUGIN.decide(ctx, "/model/haiku/invoke") is None
    assert dict(ctx.upstream.headers)["X-Amzn-Bedrock-Service-Tier"] == "priority"
    body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}], "serviceTier": {"type": "flex"}}
    ctx = ctx_for("developer", body)
    assert PLUGIN.decide(ctx, "/model/haiku/converse") is None and ctx.service_tier == "flex"
    assert {k: v for k, v in json.loads(ctx.upstream.body).items() if k != "requestMetadata"} == body


def test_bedrock_native_refusals_and_the_roles_default_applied_to_a_native_body():
    ctx = ctx_for("developer", {"messages": [], "serviceTier": {"type": "priority"}})
    error = PLUGIN.decide(ctx, "/model/haiku/converse")
    assert error.status == 403 and error.body["message"].startswith("Your role may use these service tiers")
    plugin = with_roles(analyst={"default": "flex", "allowed": ["default", "flex"]})
    body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    ctx = ctx_for("analyst", body)
    assert plugin.decide(ctx, "/model/haiku/converse") is None
    sent = json.loads(ctx.upstream.body)
    assert sent == {**body, "serviceTier": {"type": "flex"}, "requestMetadata": sent["requestMetadata"]}
    ctx = ctx_for("analyst", body)
    assert plugin.decide(ctx, "/model/haiku/count-tokens") is None and ctx.upstream.body == ctx.body


def test_prices_scale_by_the_tier_and_the_factors_are_configurable():
    table = PriceTable.from_config(None)
    usage = Usage(input=1_000_000, output=1_000_000, cache_read=1_000_000, cache_write=1_000_000)
    standard = table.for_model("haiku").cost_usd(usage)
    assert standard == Decimal("1.10") + Decimal("5.50") + Decimal("0.11") + Decimal("1.375")
    assert table.for_model("haiku", "flex").cost_usd(usage) == standard / 2
    assert table.for_model("haiku", "priority").cost_usd(usage) == standard * Decimal("1.75")
    assert table.for_model("haiku", "reserved").cost_usd(usage) == standard
    custom = PriceTable.from_config(None, {"flex": 0.4, "priority": None})
    assert custom.for_model("haiku", "flex").cost_usd(usage) == standard * Decimal("0.4")
    assert custom.for_model("haiku", "priority").cost_usd(usage) == standard * Decimal("1.75")


def test_the_context_prices_the_model_and_tier_that_served_the_call():
    ctx = ctx_for("developer", CHAT)
    ctx.price_table, ctx.model = PriceTable.from_config(None), "sonnet"
    usage = Usage(input=100_000)                         # under sonnet's 200k long-context threshold
    assert ctx.price.cost_usd(usage) == Decimal("0.33")
    ctx.model, ctx.service_tier = "haiku", "flex"          # the relay: a fallback served, on flex
    assert ctx.price.cost_usd(usage) == Decimal("0.055")
