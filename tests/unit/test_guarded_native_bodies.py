"""A role's Bedrock guardrail judges a native client's whole prompt. With a Converse `guardContent` block Bedrock
judges only the blocks so marked, and InvokeModel's `amazon-bedrock-guardrailConfig` (tagSuffix) only the text
between its tags: a key holder could have the role's mandatory guardrail judge "hello" and nothing else."""

import json

from kong_plugins.policy.catalogue import CatalogueEntry, Guardrail
from kong_plugins.relay.call import plan_passthrough

HAIKU = CatalogueEntry(name="haiku", bedrock_id="us.anthropic.claude-haiku-4-5-20251001-v1:0", kind="claude",
                       region=None)
GUARD = Guardrail("gr-1", "1")
CONVERSE = {"system": [{"text": "be brief"}, {"guardContent": {"text": {"text": "system part"}}}],
            "messages": [{"role": "user", "content": [
                {"guardContent": {"text": {"text": "hello", "qualifiers": ["guard_content"]}}},
                {"text": "the real question"},
                {"guardContent": {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}}]}]}


def _sent(operation, body, guardrail):
    return json.loads(plan_passthrough(operation, json.dumps(body).encode(), HAIKU, region="us-east-1",
                                       guardrail=guardrail).body)


def test_a_guarded_roles_converse_body_has_no_guard_content_left():
    sent = _sent("converse", CONVERSE, GUARD)
    assert sent["system"] == [{"text": "be brief"}, {"text": "system part"}]
    assert sent["messages"][0]["content"] == [{"text": "hello"}, {"text": "the real question"},
                                              {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}]
    assert sent["guardrailConfig"]["guardrailIdentifier"] == "gr-1"


def test_a_guarded_roles_invoke_body_loses_its_own_guardrail_setting():
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}],
            "amazon-bedrock-guardrailConfig": {"tagSuffix": "xyz"}}
    sent = _sent("invoke", body, GUARD)
    assert "amazon-bedrock-guardrailConfig" not in sent and sent["messages"] == body["messages"]


def test_a_role_without_a_guardrail_sends_the_body_as_it_came():
    body = {**CONVERSE, "amazon-bedrock-guardrailConfig": {"tagSuffix": "xyz"}}
    assert _sent("converse-stream", CONVERSE, None) == CONVERSE
    assert _sent("invoke", body, None) == body
