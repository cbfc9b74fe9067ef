"""Application inference profiles per role (bedrock-proxy's `roles[].inference_profiles`), without Kong: which
calls name a profile ARN, which keep the model id, and which configurations are refused or reported."""

import json
from urllib.parse import quote

import pytest

from kong_plugins import bedrock_proxy
from kong_plugins.formats.embedding_models import Cohere
from kong_plugins.schemas import BEDROCK_PROXY_SCHEMA
from tests.kong_harness.schema import normalize_field, validate_field
from tests.unit.test_bedrock_proxy_decide import CONFIG, ctx_for

ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/"
PROFILES = [{"model": "sonnet", "arn": ARN + "devsonnet001"}, {"model": "haiku", "arn": ARN + "devhaiku0001"},
            {"model": "cohere-embed", "arn": ARN + "devcohere001"}, {"model": "opus-4-7", "arn": ARN + "devmantle001"},
            {"model": "nosuchmodel", "arn": ARN + "devunknown01"}]
ROLES = [{**r, "inference_profiles": PROFILES} if r["name"] in ("developer", "admin") else r for r in CONFIG["roles"]]
PLUGIN = bedrock_proxy.Plugin({**CONFIG, "roles": ROLES, "default_max_tokens": 4096})
CHAT = {"model": "sonnet", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def decided(role, body, path):
    ctx = ctx_for(role, body)
    assert PLUGIN.decide(ctx, path) is None
    return ctx


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions", "/v1/responses"])
def test_the_roles_calls_name_its_profile_and_the_fallbacks_theirs(path):
    body = CHAT if path != "/v1/responses" else {"model": "sonnet", "input": "hi"}
    ctx = decided("developer", body, path)
    assert (ctx.upstream.model_name, ctx.upstream.model_id) == ("sonnet", ARN + "devsonnet001")
    assert [(f.model_name, f.model_id) for f in ctx.fallbacks] == [("haiku", ARN + "devhaiku0001")]
    assert ctx.model == "sonnet"   # metered and priced as the catalogue model


def test_a_call_goes_to_the_profiles_region():
    roles = [{**r, "inference_profiles": [{"model": "sonnet", "arn": ARN.replace("us-east-1", "eu-west-1") + "eu1"}]}
             if r["name"] == "developer" else r for r in CONFIG["roles"]]
    plugin = bedrock_proxy.Plugin({**CONFIG, "roles": roles})
    ctx = ctx_for("developer", CHAT)
    assert plugin.decide(ctx, "/v1/chat/completions") is None
    assert (ctx.upstream.region, ctx.fallbacks[0].region) == ("eu-west-1", "us-east-1")
    count = ctx_for("developer", {"model": "sonnet", "messages": CHAT["messages"]})
    assert plugin.decide(count, "/v1/messages/count_tokens") is None and count.upstream.region == "us-east-1"
    listed = plugin.decide(ctx_for("developer", {}), "/inference-profiles").body["inferenceProfileSummaries"]
    assert {(p["type"], p["models"][0]["modelArn"].split(":")[3]) for p in listed if p["inferenceProfileName"] ==
            "sonnet"} == {("SYSTEM_DEFINED", "us-east-1"), ("APPLICATION", "eu-west-1")}


def test_a_role_without_profiles_calls_the_model():
    ctx = decided("analyst", {**CHAT, "model": "haiku"}, "/v1/chat/completions")
    assert ctx.upstream.model_id == "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_a_native_call_names_the_profile_and_counting_the_foundation_model():
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    native = decided("developer", body, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke")
    assert native.upstream.model_id == ARN + "devsonnet001" and native.upstream.body == native.body
    count = decided("developer", body, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens")
    assert count.upstream.model_id == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    counted = decided("developer", {"model": "sonnet", "messages": CHAT["messages"]}, "/v1/messages/count_tokens")
    assert counted.upstream.model_id == "anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_embeddings_name_the_profile_and_still_read_the_models_answers():
    ctx = decided("developer", {"model": "cohere-embed", "input": ["a", "b"]}, "/v1/embeddings")
    assert ctx.upstream.model_id == ARN + "devcohere001"
    assert isinstance(ctx.upstream.embedding.model, Cohere)   # not guessed from the ARN (which reads as Titan)
    assert json.loads(ctx.upstream.body)["texts"] == ["a", "b"]


def test_mantle_keeps_its_model_and_unusable_profiles_are_reported(capsys):
    ctx = decided("admin", {**CHAT, "model": "opus-4-7"}, "/v1/messages")
    assert ctx.upstream.is_mantle and ctx.upstream.model_id == "anthropic.claude-opus-4-7"
    bedrock_proxy.Plugin({**CONFIG, "roles": ROLES})
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    reported = sorted((e["role"], e["model"]) for e in events if e["event"] == "inference_profile_unused")
    assert reported == [("admin", "nosuchmodel"), ("admin", "opus-4-7"),
                        ("developer", "nosuchmodel"), ("developer", "opus-4-7")]
    assert all(e["level"] == "error" for e in events) and "devmantle001" not in json.dumps(events)


ROLE_FIELD = normalize_field("roles", next(f["roles"] for f in BEDROCK_PROXY_SCHEMA if "roles" in f))


@pytest.mark.parametrize("arn, valid", [
    (ARN + "devsonnet001", True),
    ("arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:application-inference-profile/a1b2c3d4e5f6", True),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0", False),
    ("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0", False),
    (ARN + "*", False),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", False),
])
def test_kong_refuses_anything_but_an_application_profile_arn(arn, valid):
    role = {"name": "r", "allowed_models": ["sonnet"], "default_model": "sonnet", "substitute_default": False,
            "inference_profiles": [{"model": "sonnet", "arn": arn}]}
    assert (validate_field(ROLE_FIELD, [role]) is None) is valid


NATIVE = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}


def test_a_native_client_naming_its_roles_profile_arn_is_served_as_that_model():
    ctx = decided("developer", NATIVE, f"/model/{quote(ARN + 'devhaiku0001', safe=':')}/invoke")
    assert (ctx.upstream.model_name, ctx.upstream.model_id) == ("haiku", ARN + "devhaiku0001")
    reply = PLUGIN.decide(ctx_for("analyst", NATIVE), f"/model/{quote(ARN + 'devhaiku0001', safe='')}/invoke")
    assert reply.status == 404 and "devhaiku0001" not in json.dumps(reply.body)   # another role's profile


@pytest.mark.parametrize("arn", ["arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
                                 "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                                 "us.anthropic.claude-haiku-4-5-20251001-v1:0"])
def test_model_and_system_profile_arns_resolve_to_the_catalogue(arn):
    model = "titan" if "titan" in arn else "haiku"
    body = {"messages": [{"role": "user", "content": [{"text": "x"}]}]}
    ctx = decided("analyst", body, f"/model/{quote(arn, safe='')}/converse")
    assert ctx.upstream.model_name == model


def listing(role, path, query=""):
    ctx = ctx_for(role, {})
    ctx.query = query
    return PLUGIN.decide(ctx, path)


def test_list_inference_profiles_shows_the_roles_application_profiles_by_type():
    def kinds(query):
        return sorted((p["type"], p["inferenceProfileId"])
                      for p in listing("developer", "/inference-profiles", query).body["inferenceProfileSummaries"])
    application = [("APPLICATION", "devcohere001"), ("APPLICATION", "devhaiku0001"), ("APPLICATION", "devsonnet001")]
    system = [("SYSTEM_DEFINED", "us.anthropic.claude-haiku-4-5-20251001-v1:0"),
              ("SYSTEM_DEFINED", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")]
    assert kinds("type=APPLICATION") == application and kinds("type=SYSTEM_DEFINED") == system
    assert kinds("") == sorted(application + system)
    assert [p["type"] for p in listing("analyst", "/inference-profiles").body["inferenceProfileSummaries"]] == \
        ["SYSTEM_DEFINED"]
    bad = listing("developer", "/inference-profiles", "type=PROVISIONED")
    assert bad.status == 400 and "PROVISIONED" not in json.dumps(bad.body)


@pytest.mark.parametrize("identifier", [ARN + "devsonnet001", "devsonnet001"])
def test_get_inference_profile_names_the_model_an_application_profile_serves(identifier):
    reply = listing("developer", f"/inference-profiles/{quote(identifier, safe='')}")
    assert reply.status == 200 and reply.body["type"] == "APPLICATION"
    assert reply.body["inferenceProfileArn"] == ARN + "devsonnet001"
    assert reply.body["models"] == [
        {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"}]


def test_get_inference_profile_of_another_role_or_none_is_a_404_without_echo():
    for role, identifier in (("analyst", ARN + "devsonnet001"), ("developer", "nosuchprofile")):
        reply = listing(role, f"/inference-profiles/{quote(identifier, safe='')}")
        assert reply.status == 404 and identifier not in json.dumps(reply.body)
    system = listing("analyst", "/inference-profiles/us.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert system.status == 200 and system.body["type"] == "SYSTEM_DEFINED"
