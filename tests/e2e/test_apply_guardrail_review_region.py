"""ApplyGuardrail by ARN through the gateway with boto3: an ARN naming no Amazon Bedrock region of its partition is
the client's ValidationException, refused before any call (it was sent to `bedrock-runtime.<that region>`, a host
that does not exist: a DNS failure, retried, then a 502 that paged as Bedrock failing)."""

import pytest

from tests.e2e.clients import bedrock_runtime, sent
from tests.stack import GatewayStack

GUARD = "gwdemoguard1"


@pytest.fixture(scope="module")
def stack():
    with GatewayStack() as running:
        yield running


@pytest.mark.parametrize("region, partition", [("nowhere-1", "aws"), ("us-east-1", "aws-cn")])
def test_an_arn_in_no_bedrock_region_is_a_validation_exception_without_a_call(stack, region, partition):
    client, calls = bedrock_runtime(stack), len(sent(stack))
    with pytest.raises(client.exceptions.ValidationException) as refused:
        client.apply_guardrail(guardrailIdentifier=f"arn:{partition}:bedrock:{region}:123456789012:guardrail/{GUARD}",
                               guardrailVersion="1", source="INPUT", content=[{"text": {"text": "hi"}}])
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "guardrailIdentifier" in refused.value.response["Error"]["Message"]
    assert region not in refused.value.response["Error"]["Message"]
    assert len(sent(stack)) == calls


def test_an_arn_in_a_bedrock_region_is_applied(stack):
    answer = bedrock_runtime(stack).apply_guardrail(
        guardrailIdentifier=f"arn:aws:bedrock:eu-west-1:123456789012:guardrail/{GUARD}", guardrailVersion="1",
        source="INPUT", content=[{"text": {"text": "Where is order 42?"}}])
    assert answer["action"] == "NONE" and sent(stack)[-1]["status"] == 200
