"""Where ApplyGuardrail goes when the client names its guardrail by ARN: the gateway signs and sends the client's
text only to a real Amazon Bedrock region of its own partition. An ARN naming anything else is the client's 400
(it was a DNS failure, retried, then a 502 that counted as Bedrock failing), or goes to the gateway's own region."""

import pytest

from kong_plugins.formats.body import RequestError
from kong_plugins.relay import guardrail_apply

ID = "abc123xyz789"


def path(identifier: str) -> str:
    return f"/guardrail/{identifier.replace(':', '%3A').replace('/', '%2F')}/version/1/apply"


@pytest.mark.parametrize("arn", [
    f"arn:aws:bedrock:nowhere-1:123456789012:guardrail/{ID}",          # no such region
    f"arn:aws:bedrock:us-nowhere-9:123456789012:guardrail/{ID}",       # shaped like one, still none
    f"arn:aws-cn:bedrock:us-east-1:123456789012:guardrail/{ID}",       # a region of another partition
    f"arn:aws-us-gov:bedrock:eu-west-1:123456789012:guardrail/{ID}",
    f"arn:aws-cn:bedrock:cn-north-1:123456789012:guardrail/{ID}",      # no Bedrock there
])
def test_an_arn_naming_no_bedrock_region_of_its_partition_is_the_clients_error(arn):
    with pytest.raises(RequestError) as refused:
        guardrail_apply.target(path(arn))
    assert "guardrailIdentifier" in str(refused.value)
    assert arn.split(":")[3] not in str(refused.value) and arn.split(":")[1] not in str(refused.value).split()


@pytest.mark.parametrize("arn, gateway, called", [
    (f"arn:aws:bedrock:eu-west-1:123456789012:guardrail/{ID}", "us-east-1", "eu-west-1"),
    (f"arn:aws:bedrock:us-west-2:123456789012:guardrail/{ID}", "us-west-2", "us-west-2"),
    (ID, "eu-central-1", "eu-central-1"),
    # the gateway's commercial credentials do not sign for GovCloud: its own region's Bedrock answers
    (f"arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:guardrail/{ID}", "us-east-1", "us-east-1"),
    (f"arn:aws:bedrock:eu-west-1:123456789012:guardrail/{ID}", "us-gov-west-1", "us-gov-west-1"),
])
def test_the_call_goes_to_a_region_of_the_gateways_partition(arn, gateway, called):
    found = guardrail_apply.target(path(arn))
    assert found is not None
    call = guardrail_apply.plan(found, b"{}", region=gateway, reserved=(), gateway_guardrail=False)
    assert call.region == called
