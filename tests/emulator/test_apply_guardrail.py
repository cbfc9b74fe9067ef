"""ApplyGuardrail on the emulator, through boto3's real client: verdicts, masked outputs, usage, validation,
SigV4 and faults, as Bedrock answers them."""

from __future__ import annotations

import pytest
from emulator_helpers import SECRET_KEY, make_client, mantle_post

GUARD = "gwdemoguard1"
MASK = "gwpiimask1"
ARN = f"arn:aws:bedrock:us-east-1:123456789012:guardrail/{GUARD}"
BLOCKED = "Sorry, this request is not allowed by the shop's AI policy."
WITHHELD = "Sorry, this answer was withheld by the shop's AI policy."
ZERO = {"topicPolicyUnits": 0, "contentPolicyUnits": 0, "wordPolicyUnits": 0, "sensitiveInformationPolicyUnits": 0,
        "sensitiveInformationPolicyFreeUnits": 0, "contextualGroundingPolicyUnits": 0}


def signed_post(url, path, body):
    """A SigV4-signed POST of a body boto3's own validation would not send."""
    return mantle_post(url, path, body, service="bedrock")


def apply(client, text, source="INPUT", guardrail=GUARD, version="1", **extra):
    return client.apply_guardrail(guardrailIdentifier=guardrail, guardrailVersion=version, source=source,
                                  content=[{"text": {"text": text}}], **extra)


def test_a_denied_topic_in_input_intervenes_with_the_blocked_message_and_topic_units(client):
    answer = apply(client, "Are our competitors cheaper? " * 40)   # 1,160 characters: 2 text units
    assert answer["action"] == "GUARDRAIL_INTERVENED"
    assert answer["outputs"] == [{"text": BLOCKED}]
    assert answer["usage"] == {**ZERO, "topicPolicyUnits": 2}
    topics = answer["assessments"][0]["topicPolicy"]["topics"]
    assert topics == [{"name": "Competitors", "type": "DENY", "action": "BLOCKED", "detected": True}]
    assert answer["assessments"][0]["invocationMetrics"]["usage"] == answer["usage"]


def test_clean_text_passes_with_no_outputs_and_still_bills_its_units(client):
    answer = client.apply_guardrail(guardrailIdentifier=ARN, guardrailVersion="DRAFT", source="INPUT",
                                    content=[{"text": {"text": "Where is order 42?"}}, {"text": {"text": "x" * 1001}}])
    assert answer["action"] == "NONE" and answer["outputs"] == []
    assert answer["usage"]["topicPolicyUnits"] == 3        # one unit per started 1,000 characters of each block


def test_output_is_judged_against_the_topics_denied_in_answers(client):
    assert apply(client, "Our margin on sneakers is 40%.", source="OUTPUT")["outputs"] == [{"text": WITHHELD}]
    assert apply(client, "Our margin on sneakers is 40%.", source="INPUT")["action"] == "NONE"
    assert apply(client, "A rival sells them too.", source="OUTPUT")["action"] == "NONE"


def test_a_masking_guardrail_answers_the_masked_text_and_bills_sensitive_information_units(client):
    answer = apply(client, "Mail jane.doe@example.com about order 42.", guardrail=MASK)
    assert answer["action"] == "GUARDRAIL_INTERVENED"
    assert answer["outputs"] == [{"text": "Mail {EMAIL} about order 42."}]
    assert answer["usage"] == {**ZERO, "sensitiveInformationPolicyUnits": 1}
    assert answer["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"][0]["action"] == "ANONYMIZED"
    full = apply(client, "Nothing personal here.", guardrail=MASK, outputScope="FULL")
    assert full["action"] == "NONE" and full["outputs"] == [{"text": "Nothing personal here."}]


def test_an_unknown_guardrail_is_a_resource_not_found(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException) as exc:
        apply(client, "hi", guardrail="nosuchguard1")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        apply(client, "hi", version="7")


@pytest.mark.parametrize("body, where", [
    ({"source": "SIDEWAYS", "content": [{"text": {"text": "hi"}}]}, "'source'"),
    ({"content": [{"text": {"text": "hi"}}]}, "Value null at 'source'"),
    ({"source": "INPUT", "content": [{"text": {"qualifiers": ["query"]}}]}, "content.1.member.text.text"),
    ({"source": "INPUT", "content": [{"text": {"text": "hi"}, "image": {}}]}, "Only one member"),
    ({"source": "INPUT", "content": [{"image": {"format": "gif", "source": {"bytes": "aGk="}}}]}, "image.format"),
    ({"source": "INPUT", "content": [{"text": {"text": "hi"}}], "outputScope": "ALL"}, "outputScope"),
])
def test_a_bad_request_is_a_validation_exception(emulator, body, where):
    response = signed_post(emulator.url, f"/guardrail/{GUARD}/version/1/apply", body)
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"].startswith("ValidationException")
    assert where in response.json()["message"]


def test_a_bad_identifier_is_refused_before_the_guardrail_is_looked_up(emulator):
    response = signed_post(emulator.url, "/guardrail/NOT_AN_ID/version/1/apply",
                            {"source": "INPUT", "content": [{"text": {"text": "hi"}}]})
    assert response.status_code == 400 and "guardrailIdentifier" in response.json()["message"]


def test_a_wrong_signature_is_refused(emulator):
    bad = make_client(emulator.url, secret_key=SECRET_KEY + "x")
    with pytest.raises(bad.exceptions.ClientError) as exc:
        apply(bad, "hi")
    assert exc.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_faults_apply_to_it_by_operation(emulator, client):
    emulator.add_fault("throttle", operation="apply-guardrail")
    with pytest.raises(client.exceptions.ThrottlingException):
        apply(client, "hi")
    assert apply(client, "hi")["action"] == "NONE"
    assert [r["operation"] for r in emulator.requests()] == ["apply-guardrail", "apply-guardrail"]
