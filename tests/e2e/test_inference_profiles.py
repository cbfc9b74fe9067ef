"""Application inference profiles per role through the whole stack: a role's calls of a model name that role's
profile ARN in Bedrock's path (so AWS bills them to the profile's cost allocation tags), from every client
format, for fallbacks and embeddings too; token counting keeps the model id, other roles keep the model, and
token-meter prices the call as the catalogue model. The emulator knows the profiles `kbgdevelop01` (copied from
Sonnet 4.5's US profile), `kbgecomops01` (Haiku 4.5's) and `kbgembedding` (Titan Text Embeddings V2)."""

import json
from decimal import Decimal

import anthropic
import botocore.exceptions
import pytest

from kong_plugins.context import Usage
from kong_plugins.metering.pricing import DEFAULT_PRICES
from tests.e2e.clients import bedrock_control_plane, bedrock_runtime, charged, last_sent, oa, sent, shipped_roles
from tests.stack import GatewayStack

ACCOUNT_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/"
SONNET_PROFILE, HAIKU_PROFILE, EMBED_PROFILE = (ACCOUNT_ARN + p for p in ("kbgdevelop01", "kbgecomops01",
                                                                          "kbgembedding"))
PROFILES = {"developer": [{"model": "sonnet", "arn": SONNET_PROFILE}, {"model": "haiku", "arn": HAIKU_PROFILE},
                          {"model": "titan-embed", "arn": EMBED_PROFILE}]}
SONNET_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def _with_profiles(role):
    return {**role, "inference_profiles": PROFILES.get(role["name"], [])}


@pytest.fixture(scope="module")
def stack():
    with GatewayStack(config_overrides={"bedrock-proxy": {"roles": shipped_roles(_with_profiles)}}) as running:
        yield running


def test_an_openai_chat_goes_through_the_roles_profile_and_is_priced_as_the_model(stack):
    raw = oa(stack).chat.completions.with_raw_response.create(
        model="sonnet", max_tokens=20, messages=[{"role": "user", "content": "Where is order 42?"}])
    completion = raw.parse()
    assert completion.choices[0].message.content.startswith("Emulated reply")
    assert raw.headers["X-Bedrock-Model"] == "sonnet"
    assert (last_sent(stack)["operation"], last_sent(stack)["model_id"]) == ("converse", SONNET_PROFILE)
    usage = Usage(input=completion.usage.prompt_tokens, output=completion.usage.completion_tokens)
    assert Decimal(raw.headers["X-Token-Cost-USD"]) == charged(DEFAULT_PRICES["sonnet"].cost_usd(usage))


def test_an_anthropic_stream_and_a_native_call_go_through_it_too(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=20,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        assert stream.get_final_message().content[0].text.startswith("Emulated reply")
    assert (last_sent(stack)["operation"], last_sent(stack)["model_id"]) == ("invoke-with-response-stream",
                                                                            SONNET_PROFILE)
    answer = bedrock_runtime(stack).converse(modelId=SONNET_ID, messages=[{"role": "user", "content": [
        {"text": "hi"}]}], inferenceConfig={"maxTokens": 20})
    assert answer["stopReason"] == "end_turn"
    assert (last_sent(stack)["operation"], last_sent(stack)["model_id"]) == ("converse", SONNET_PROFILE)


def test_token_counting_names_the_model_not_the_profile(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    count = client.messages.count_tokens(model="sonnet", messages=[{"role": "user", "content": "hi"}])
    assert count.input_tokens > 0
    assert (last_sent(stack)["operation"], last_sent(stack)["model_id"]) == (
        "count-tokens", "anthropic.claude-sonnet-4-5-20250929-v1:0")


def test_another_role_calls_the_model_itself(stack):
    oa(stack, "dev-ops-key").chat.completions.create(model="haiku", max_tokens=20,
                                                     messages=[{"role": "user", "content": "hi"}])
    assert last_sent(stack)["model_id"] == "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_a_fallback_goes_through_the_roles_profile_for_the_fallback(stack):
    assert stack.emulator_control("POST", "/_emulator/faults", json={"type": "throttle", "count": -1,
                                                                     "model": "kbgdevelop01"}).status_code == 200
    raw = oa(stack).chat.completions.with_raw_response.create(
        model="sonnet", max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["X-Bedrock-Model"] == "haiku" and raw.headers["X-Bedrock-Fallback-From"] == "sonnet"
    tried = [r["model_id"] for r in sent(stack)]
    assert tried[-1] == HAIKU_PROFILE and SONNET_PROFILE in tried and SONNET_ID not in tried


def test_embeddings_go_through_it_and_come_back_as_vectors(stack):
    result = oa(stack).embeddings.create(model="titan-embed", input=["blue running shoes", "a red kettle"])
    assert [len(item.embedding) for item in result.data] == [1024, 1024]
    calls = [r for r in sent(stack) if r["operation"] == "invoke"]
    assert [r["model_id"] for r in calls[-2:]] == [EMBED_PROFILE, EMBED_PROFILE]


def test_the_profile_arn_is_not_shown_to_clients(stack):
    raw = oa(stack).chat.completions.with_raw_response.create(
        model="sonnet", max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    assert "kbgdevelop01" not in raw.text and "kbgdevelop01" not in json.dumps(dict(raw.headers))


def test_a_bedrock_client_may_name_its_roles_profile_arn_and_no_other_roles(stack):
    """As Claude Code's Bedrock mode does when ANTHROPIC_MODEL is the profile ARN AWS gave the team."""
    answer = bedrock_runtime(stack).converse(modelId=SONNET_PROFILE, messages=[{"role": "user", "content": [
        {"text": "hi"}]}], inferenceConfig={"maxTokens": 20})
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-bedrock-model"] == "sonnet"
    assert last_sent(stack)["model_id"] == SONNET_PROFILE
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        bedrock_runtime(stack, "dev-ops-key").converse(modelId=HAIKU_PROFILE, messages=[
            {"role": "user", "content": [{"text": "hi"}]}])
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "kbgecomops01" not in json.dumps(refused.value.response["Error"])


def test_boto3_finds_the_model_behind_the_roles_profile(stack):
    profile = bedrock_control_plane(stack).get_inference_profile(inferenceProfileIdentifier=SONNET_PROFILE)
    assert profile["type"] == "APPLICATION" and profile["inferenceProfileId"] == "kbgdevelop01"
    assert [m["modelArn"].rsplit("/", 1)[1] for m in profile["models"]] == ["anthropic.claude-sonnet-4-5-20250929-v1:0"]
    listed = bedrock_control_plane(stack).list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert sorted(p["inferenceProfileArn"] for p in listed) == sorted([SONNET_PROFILE, HAIKU_PROFILE, EMBED_PROFILE])
    assert bedrock_control_plane(stack, "dev-ops-key").list_inference_profiles(typeEquals="APPLICATION")[
        "inferenceProfileSummaries"] == []
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        bedrock_control_plane(stack, "dev-ops-key").get_inference_profile(inferenceProfileIdentifier=SONNET_PROFILE)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
