"""ApplyGuardrail's rules without Kong: which guardrail a role may apply, where the call goes, what a budget
reserves for it, and what it is billed (the e2e tests drive the same through boto3)."""

import json
from pathlib import Path

import pytest
import yaml

from kong_plugins import bedrock_proxy
from kong_plugins.bedrock.errors import config_rejected
from kong_plugins.context import Consumer, RequestContext
from kong_plugins.policy.catalogue import Guardrail, RolePolicy
from kong_plugins.policy.guardrail_access import refusal
from kong_plugins.relay import guardrail_apply

ID = "abc123xyz789"
ARN = f"arn:aws:bedrock:eu-west-1:123456789012:guardrail/{ID}"
CONFIG = next(p["config"] for s in yaml.safe_load((Path(__file__).parents[2] / "kong/kong.yaml").read_text())
              ["services"] for p in s.get("plugins", []) if p["name"] == "bedrock-proxy")
TEXT_POLICIES = {"content", "topic", "word", "sensitive_information", "sensitive_information_free",
                 "contextual_grounding", "automated_reasoning"}


def role(guardrail=None):
    return RolePolicy("ops", frozenset({"haiku"}), "haiku", guardrail=guardrail)


@pytest.mark.parametrize("configured, named, version, allowed", [
    (None, "anyguard1", "DRAFT", True),                       # no guardrail of its own: any, as on its model calls
    (Guardrail(ID, "3"), ID, "3", True),
    (Guardrail(ID, "3"), ARN, "3", True),                     # its ARN names it too
    (Guardrail(ARN, "3"), ID, "3", True),
    (Guardrail(ID, "3"), ID, "DRAFT", False),                 # another version judges by other rules
    (Guardrail(ID, "3"), "otherguard1", "3", False),
    (Guardrail(ARN, "3"), ARN.replace("123456789012", "210987654321"), "3", False),   # another account's
])
def test_a_role_applies_only_its_own_guardrail_when_it_has_one(configured, named, version, allowed):
    assert (refusal(role(configured), named, version) is None) is allowed


def plugin_with(guardrail=None):
    roles = [{**r, "bedrock_guardrail": guardrail} if r["name"] == "ecommerce_ops" else r for r in CONFIG["roles"]]
    return bedrock_proxy.Plugin({**CONFIG, "roles": roles})


def decide(plugin, path, body, role_name="ecommerce_ops"):
    ctx = RequestContext(request_id="r", consumer=Consumer("c", "u", (f"role:{role_name}",)),
                         body=json.dumps(body).encode())
    return plugin.decide(ctx, path), ctx


def test_an_arn_is_applied_in_its_own_region_and_reserves_every_policy_for_each_text_unit_and_image():
    body = {"source": "OUTPUT", "content": [{"text": {"text": "x" * 1001}}, {"text": {"text": "hi"}},
                                            {"image": {"format": "png", "source": {"bytes": "aGk="}}}]}
    reply, ctx = decide(plugin_with({"identifier": ARN, "version": "3"}),
                        f"/guardrail/{ARN.replace(':', '%3A').replace('/', '%2F')}/version/3/apply", body)
    assert reply is None and ctx.upstream.region == "eu-west-1" and ctx.upstream.body == json.dumps(body).encode()
    assert ctx.upstream.billed_apiece.guardrail_units == {**{p: 3 for p in TEXT_POLICIES}, "content_image": 1}
    assert (ctx.model, ctx.planned_input, ctx.planned_output) == ("apply-guardrail", 0, 0)


def test_a_refusal_comes_before_the_body_is_read_and_names_no_guardrail():
    reply, ctx = decide(plugin_with({"identifier": ID, "version": "3"}), "/guardrail/otherguard1/version/3/apply",
                        "not a request")
    assert (reply.status, reply.headers["x-amzn-ErrorType"]) == (403, "AccessDeniedException")
    assert "otherguard1" not in reply.body["message"] and ID not in reply.body["message"]
    assert ctx.upstream is None


def test_a_role_without_a_guardrail_may_apply_any_and_a_role_unknown_to_the_catalogue_none():
    body = {"source": "INPUT", "content": []}
    assert decide(plugin_with(), "/guardrail/anyguard1/version/DRAFT/apply", body)[0] is None
    reply, _ = decide(plugin_with(), "/guardrail/anyguard1/version/DRAFT/apply", body, role_name="nobody")
    assert reply.status == 403


def test_bedrock_not_finding_the_roles_own_guardrail_is_the_operators_and_the_clients_own_is_the_clients():
    assert config_rejected("ResourceNotFoundException", "does not exist", gateway_guardrail=True, names_model=False)
    assert not config_rejected("ResourceNotFoundException", "does not exist", names_model=False)
    assert not config_rejected("ValidationException", "The provided model identifier is invalid.", names_model=False)
    assert config_rejected("ResourceNotFoundException", None)   # a model call: the model id is the gateway's


def test_the_call_is_billed_the_units_of_its_usage_once_though_its_assessments_repeat_them():
    usage = {"topicPolicyUnits": 2, "contentPolicyUnits": 0, "wordPolicyUnits": 0,
             "sensitiveInformationPolicyUnits": 1, "sensitiveInformationPolicyFreeUnits": 0,
             "contextualGroundingPolicyUnits": 0}
    answer = json.dumps({"usage": usage, "action": "GUARDRAIL_INTERVENED", "outputs": [],
                         "assessments": [{"invocationMetrics": {"usage": usage}}]}).encode()
    ctx = RequestContext(request_id="r", consumer=None, body=None)
    assert guardrail_apply.noted(answer, ctx) == answer
    assert ctx.usage.guardrail_units == {"topic": 2, "sensitive_information": 1} and ctx.guardrail_intervened
