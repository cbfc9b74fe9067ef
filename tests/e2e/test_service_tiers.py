"""Amazon Bedrock service tiers through the whole stack: each client format asks for one in its own terms,
the role decides what it may ask for and what it gets by default, Bedrock is told, and token-meter charges
the tier Bedrock says served the call. Shipped roles plus one override: the analyst role runs on Flex
unless its clients ask for Standard."""

import json
from decimal import Decimal

import anthropic
import openai
import pytest
from botocore.exceptions import ClientError

from kong_plugins.context import Usage
from kong_plugins.metering.pricing import DEFAULT_PRICES, DEFAULT_TIER_FACTORS
from tests.e2e.clients import bedrock_runtime, charged, last_sent, metric, metric_reaches, oa, shipped_roles
from tests.stack import GatewayStack

HAIKU_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
ASK = [{"role": "user", "content": "Where is order 42?"}]


def _analyst_on_flex(role):
    return {**role, "service_tiers": {"default": "flex", "allowed": ["default", "flex"]}} \
        if role["name"] == "analyst" else role


@pytest.fixture(scope="module")
def stack():
    with GatewayStack(config_overrides={"bedrock-proxy": {"roles": shipped_roles(_analyst_on_flex)}}) as running:
        yield running


@pytest.fixture(autouse=True)
def _served_as_asked(stack):
    yield
    stack.emulator_control("PUT", "/_emulator/settings", json={"served_tier": None})


def expected_cost(headers, model="haiku", tier="default"):
    """What the usage headers cost at the model's price on that tier, as X-Token-Cost-USD writes it."""
    usage = Usage(input=int(headers["X-Token-Usage-Input"]), output=int(headers["X-Token-Usage-Output"]),
                  cache_read=int(headers["X-Token-Usage-Cache-Read"]),
                  cache_write=int(headers["X-Token-Usage-Cache-Write"]))
    cost = DEFAULT_PRICES[model].cost_usd(usage) * DEFAULT_TIER_FACTORS[tier]
    return charged(cost)


def series(tier, role="developer", model="haiku"):
    return f'kong_bedrock_service_tier_requests_total{{model="{model}",role="{role}",service_tier="{tier}"}}'


def test_openai_flex_is_sent_reported_and_charged_at_half_price(stack):
    before = metric(stack, series("flex"))
    raw = oa(stack).chat.completions.with_raw_response.create(model="haiku", max_tokens=20, messages=ASK,
                                                              service_tier="flex")
    completion = raw.parse()
    assert completion.service_tier == "flex" and raw.headers["X-Bedrock-Service-Tier"] == "flex"
    assert last_sent(stack)["body"]["serviceTier"] == {"type": "flex"}
    assert Decimal(raw.headers["X-Token-Cost-USD"]) == expected_cost(raw.headers, tier="flex")
    assert expected_cost(raw.headers, tier="flex") < expected_cost(raw.headers)
    assert metric_reaches(stack, series("flex"), before + 1)


def test_an_openai_stream_on_flex_and_the_responses_api(stack):
    with oa(stack).chat.completions.with_streaming_response.create(
            model="haiku", max_tokens=20, messages=ASK, service_tier="flex", stream=True) as response:
        assert response.headers["X-Bedrock-Service-Tier"] == "flex"
        text = "".join(c.choices[0].delta.content or "" for c in response.parse() if c.choices)
    assert text.startswith("Emulated reply") and last_sent(stack)["body"]["serviceTier"] == {"type": "flex"}
    result = oa(stack).responses.create(model="haiku", input="Where is order 42?", service_tier="flex")
    assert result.service_tier == "flex" and last_sent(stack)["body"]["serviceTier"] == {"type": "flex"}


def test_without_an_ask_a_call_runs_on_standard_and_names_no_tier(stack):
    raw = oa(stack).chat.completions.with_raw_response.create(model="haiku", max_tokens=20, messages=ASK)
    assert raw.parse().service_tier == "default" and raw.headers["X-Bedrock-Service-Tier"] == "default"
    assert "serviceTier" not in last_sent(stack)["body"]
    assert Decimal(raw.headers["X-Token-Cost-USD"]) == expected_cost(raw.headers)


def test_a_tier_the_role_may_not_use_is_refused_in_each_format_before_any_call(stack):
    with pytest.raises(openai.PermissionDeniedError) as caught:
        oa(stack).chat.completions.create(model="haiku", max_tokens=20, messages=ASK, service_tier="priority")
    assert caught.value.body["param"] == "service_tier"
    assert caught.value.body["message"] == "Your role may use these service tiers: default, flex."
    with pytest.raises(ClientError) as native_refusal:
        bedrock_runtime(stack).invoke_model(modelId=HAIKU_ID, serviceTier="priority", body=json.dumps(
            {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": ASK}))
    assert native_refusal.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_a_tier_the_model_is_not_served_on_is_a_400_naming_those_it_is(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        oa(stack, "dev-analyst-key").chat.completions.create(model="titan", max_tokens=20, messages=ASK,
                                                             service_tier="flex")
    assert caught.value.body["message"] == "titan is not served on the flex tier; tiers it offers: default."
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_an_anthropic_client_gets_its_roles_default_and_standard_only_opts_out(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-analyst-key", max_retries=0)
    raw = client.messages.with_raw_response.create(model="haiku", max_tokens=20, messages=ASK)
    assert raw.parse().content[0].text.startswith("Emulated reply")
    assert raw.headers["X-Bedrock-Service-Tier"] == "flex" and last_sent(stack)["service_tier"] == "flex"
    assert Decimal(raw.headers["X-Token-Cost-USD"]) == expected_cost(raw.headers, tier="flex")
    raw = client.messages.with_raw_response.create(model="haiku", max_tokens=20, messages=ASK,
                                                   service_tier="standard_only")
    assert raw.headers["X-Bedrock-Service-Tier"] == "default" and last_sent(stack)["service_tier"] is None
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="haiku", max_tokens=20, messages=ASK, service_tier="priority")
    assert caught.value.body["error"]["message"] == "service_tier: must be one of auto, standard_only."


def test_a_roles_flex_default_gives_way_to_standard_on_a_model_without_it(stack):
    raw = oa(stack, "dev-analyst-key").chat.completions.with_raw_response.create(
        model="titan", max_tokens=20, messages=ASK)
    assert raw.parse().service_tier == "default" and "serviceTier" not in last_sent(stack)["body"]


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_native_invoke_forwards_the_tier_claude_code_asks_for(stack, stream):
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": ASK})
    client = bedrock_runtime(stack, "dev-ops-key")
    if stream:
        out = client.invoke_model_with_response_stream(modelId=HAIKU_ID, serviceTier="priority", body=body)
        assert [e for e in out["body"]]
    else:
        out = client.invoke_model(modelId=HAIKU_ID, serviceTier="priority", body=body)
        assert json.loads(out["body"].read())["type"] == "message"
    headers = out["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-service-tier"] == "priority" and headers["x-bedrock-service-tier"] == "priority"
    assert last_sent(stack)["service_tier"] == "priority"


def test_bedrock_native_converse_keeps_its_body_tier(stack):
    out = bedrock_runtime(stack).converse(modelId=HAIKU_ID, serviceTier={"type": "flex"},
                                 messages=[{"role": "user", "content": [{"text": "Where is order 42?"}]}])
    assert out["serviceTier"] == {"type": "flex"} and last_sent(stack)["body"]["serviceTier"] == {"type": "flex"}


def test_the_tier_bedrock_reports_is_the_one_charged(stack):
    """A priority call Bedrock served on Standard (as a reservation overflows) costs the Standard rate."""
    assert stack.emulator_control("PUT", "/_emulator/settings", json={"served_tier": "default"}).status_code == 200
    raw = oa(stack, "dev-ops-key").chat.completions.with_raw_response.create(
        model="haiku", max_tokens=20, messages=ASK, service_tier="priority")
    assert last_sent(stack)["body"]["serviceTier"] == {"type": "priority"}
    assert raw.parse().service_tier == "default" and raw.headers["X-Bedrock-Service-Tier"] == "default"
    assert Decimal(raw.headers["X-Token-Cost-USD"]) == expected_cost(raw.headers)
    out = bedrock_runtime(stack, "dev-ops-key").invoke_model(modelId=HAIKU_ID, serviceTier="priority", body=json.dumps(
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": ASK}))
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-bedrock-service-tier"] == "default"


def test_a_fallback_is_charged_at_its_own_price(stack):
    """sonnet stays throttled, haiku answers: the cost is haiku's, not the price of the model asked for."""
    assert stack.emulator_control("POST", "/_emulator/faults", json={"type": "throttle", "count": -1,
                                                                      "model": "sonnet"}).status_code == 200
    raw = oa(stack).chat.completions.with_raw_response.create(model="sonnet", max_tokens=20, messages=ASK,
                                                              service_tier="flex")
    assert raw.headers["X-Bedrock-Model"] == "haiku" and raw.headers["X-Bedrock-Fallback-From"] == "sonnet"
    assert Decimal(raw.headers["X-Token-Cost-USD"]) == expected_cost(raw.headers, "haiku", "flex")
    assert expected_cost(raw.headers, "haiku", "flex") != expected_cost(raw.headers, "sonnet", "flex")
