"""Bedrock's ApplyGuardrail through the gateway with boto3 (bedrock-runtime's apply_guardrail, endpoint_url = the
gateway): a guardrail the role may apply, re-signed by the gateway, Bedrock's answer unchanged, its text units
priced and settled against the caller's budget; refusals and Bedrock's errors as the classes boto3 models.

The emulator's `gwdemoguard1` denies the topic "Competitors" in prompts and "Supplier margins" in answers (topic
units, $0.15 per 1,000); `gwpiimask1` anonymizes e-mail addresses (sensitive-information units, $0.10 per 1,000).
"""

from decimal import Decimal

import pytest
import requests
import yaml

from tests.e2e.clients import bedrock_runtime, charged, metric, metric_reaches, request_line, sent, shipped_roles
from tests.stack import KONG_YAML, GatewayStack

GUARD = "gwdemoguard1"
MASK = "gwpiimask1"
BLOCKED = "Sorry, this request is not allowed by the shop's AI policy."
ASK_RIVAL = "What do our competitors charge for shipping?"
TOPIC_UNIT = Decimal("0.15") / 1000
PII_UNIT = Decimal("0.10") / 1000
ANALYST_BUDGET = "0.001"
"""analyst's monthly dollars here: one text unit's worst case ($0.00067, every priced policy) fits, two do not."""


def _limits():
    """token-meter's shipped limits, with analyst's month cut to ANALYST_BUDGET."""
    meter = next(p["config"] for s in yaml.safe_load(KONG_YAML.read_text())["services"]
                 for p in s.get("plugins", []) if p["name"] == "token-meter")
    return [{**limit, "monthly_budget_usd": float(ANALYST_BUDGET)} if limit["role"] == "analyst" else limit
            for limit in meter["limits"]]


@pytest.fixture(scope="module")
def stack():
    guarded = shipped_roles(lambda r: {**r, "bedrock_guardrail": {"identifier": GUARD, "version": "1"}}
                            if r["name"] == "ecommerce_ops" else r)
    with GatewayStack(config_overrides={"bedrock-proxy": {"roles": guarded},
                                        "token-meter": {"limits": _limits()}}) as running:
        yield running


def apply(client, text, *, guardrail=GUARD, version="1", source="INPUT", **extra):
    return client.apply_guardrail(guardrailIdentifier=guardrail, guardrailVersion=version, source=source,
                                  content=[{"text": {"text": text}}], **extra)


def headers(answer):
    return answer["ResponseMetadata"]["HTTPHeaders"]


def test_a_roles_own_guardrail_intervenes_and_the_call_is_logged_metered_and_counted(stack):
    series = 'kong_bedrock_bedrock_guardrail_interventions_total{model="apply-guardrail",role="ecommerce_ops"}'
    before = metric(stack, series)
    answer = apply(bedrock_runtime(stack, "dev-ops-key"), ASK_RIVAL)
    assert answer["action"] == "GUARDRAIL_INTERVENED" and answer["outputs"] == [{"text": BLOCKED}]
    assert answer["assessments"][0]["topicPolicy"]["topics"][0]["name"] == "Competitors"
    call = sent(stack)[-1]
    assert call["operation"] == "apply-guardrail" and call["status"] == 200     # the emulator checked the SigV4
    assert call["body"] == {"source": "INPUT", "content": [{"text": {"text": ASK_RIVAL}}]}
    assert Decimal(headers(answer)["x-token-cost-usd"]) == charged(TOPIC_UNIT)
    line = request_line(stack, headers(answer)["x-kong-request-id"])
    assert (line["model"], line["status"], line["bedrock_guardrail"], line["bedrock_guardrail_text_units"]) == \
        ("apply-guardrail", 200, "intervened", 1)
    assert ASK_RIVAL not in str(line)
    assert metric_reaches(stack, series, before + 1)


def test_text_the_guardrail_lets_pass_is_answered_none_and_billed_its_units(stack):
    text = "Your parcel left our warehouse this morning. " * 30          # 1,380 characters: 2 text units
    answer = apply(bedrock_runtime(stack), text, version="DRAFT", source="OUTPUT")
    assert answer["action"] == "NONE" and answer["outputs"] == []
    assert answer["usage"]["topicPolicyUnits"] == 2
    assert Decimal(headers(answer)["x-token-cost-usd"]) == charged(2 * TOPIC_UNIT)
    assert headers(answer)["x-token-usage-total"] == "0"


def test_a_guardrail_call_names_no_service_tier_it_has_none(stack):
    """No model runs, so no tier: no X-Bedrock-Service-Tier, no tier in its log line or the tier metrics."""
    answer = apply(bedrock_runtime(stack), "Where is my parcel?")
    assert "x-bedrock-service-tier" not in headers(answer) and headers(answer)["x-bedrock-model"] == "apply-guardrail"
    line = request_line(stack, headers(answer)["x-kong-request-id"])   # written after the call's metrics
    assert line["status"] == 200 and "service_tier" not in line
    assert metric(stack, 'kong_bedrock_service_tier_requests_total{model="apply-guardrail"') == 0


def test_a_masking_guardrail_answers_the_masked_text_priced_as_sensitive_information(stack):
    answer = apply(bedrock_runtime(stack), "Write to jane.doe@example.com about order 42.", guardrail=MASK)
    assert answer["action"] == "GUARDRAIL_INTERVENED"
    assert answer["outputs"] == [{"text": "Write to {EMAIL} about order 42."}]
    assert Decimal(headers(answer)["x-token-cost-usd"]) == charged(PII_UNIT)


@pytest.mark.parametrize("guardrail, version", [(MASK, "1"), (GUARD, "DRAFT")])
def test_a_role_with_its_own_guardrail_may_apply_no_other(stack, guardrail, version):
    client = bedrock_runtime(stack, "dev-ops-key")
    with pytest.raises(client.exceptions.AccessDeniedException) as refused:
        apply(client, "hi", guardrail=guardrail, version=version)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert guardrail not in refused.value.response["Error"]["Message"]
    assert sent(stack) == []


def test_the_roles_guardrail_may_be_named_by_its_arn(stack):
    arn = f"arn:aws:bedrock:us-east-1:123456789012:guardrail/{GUARD}"
    assert apply(bedrock_runtime(stack, "dev-ops-key"), "Where is order 42?", guardrail=arn)["action"] == "NONE"
    assert sent(stack)[-1]["path"] == f"/guardrail/{arn.replace(':', '%3A').replace('/', '%2F')}/version/1/apply"


def test_an_unknown_guardrail_is_the_clients_resource_not_found_not_the_operators_misconfiguration(stack):
    before = metric(stack, 'kong_bedrock_model_misconfigured_total{model="apply-guardrail"}')
    client = bedrock_runtime(stack)
    with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
        apply(client, "hi", guardrail="nosuchguard1")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "does not exist" in missing.value.response["Error"]["Message"]
    assert len(sent(stack)) == 1
    assert metric(stack, 'kong_bedrock_model_misconfigured_total{model="apply-guardrail"}') == before


@pytest.mark.timeout(60)
def test_a_throttled_call_is_retried_then_answered_and_a_lasting_throttle_is_bedrocks_429(stack):
    stack.emulator_control("POST", "/_emulator/faults", {"type": "throttle", "operation": "apply-guardrail",
                                                         "count": 2})
    client = bedrock_runtime(stack)
    assert apply(client, "Where is order 42?")["action"] == "NONE"
    assert [c["status"] for c in sent(stack)] == [429, 429, 200]
    stack.emulator_control("POST", "/_emulator/faults", {"type": "throttle", "operation": "apply-guardrail",
                                                         "count": -1})
    with pytest.raises(client.exceptions.ThrottlingException) as throttled:
        apply(client, "Where is order 42?")
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert headers(throttled.value.response)["retry-after"] == "1"
    assert "ApplyGuardrail" in throttled.value.response["Error"]["Message"]


def test_a_service_quota_refusal_is_bedrocks_own_exception(stack):
    stack.emulator_control("POST", "/_emulator/faults", {"type": "quota", "operation": "apply-guardrail"})
    client = bedrock_runtime(stack)
    with pytest.raises(client.exceptions.ServiceQuotaExceededException) as refused:
        apply(client, "hi")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_body_bedrock_refuses_is_its_validation_exception(stack):
    client = bedrock_runtime(stack)
    with pytest.raises(client.exceptions.ValidationException) as refused:    # boto3 does not check enums
        client.apply_guardrail(guardrailIdentifier=GUARD, guardrailVersion="1", source="INPUT",
                               content=[{"text": {"text": "hi", "qualifiers": ["sideways"]}}])
    assert "qualifiers" in refused.value.response["Error"]["Message"]
    assert len(sent(stack)) == 1


@pytest.mark.parametrize("path, body, says", [
    (f"/guardrail/{GUARD}/version/1/apply", {"source": "SIDEWAYS", "content": []}, "source"),
    (f"/guardrail/{GUARD}/version/1/apply", {"source": "INPUT", "content": [{"text": "hi"}]}, "content"),
    (f"/guardrail/{GUARD}/version/1/apply", [1, 2], "JSON object"),
    ("/guardrail/Not%20An%20Id/version/1/apply", {"source": "INPUT", "content": []}, "guardrailIdentifier"),
    (f"/guardrail/{GUARD}/version/v1/apply", {"source": "INPUT", "content": []}, "guardrailVersion"),
])
def test_a_bad_request_is_refused_by_the_gateway_in_bedrocks_shape_without_a_call(stack, path, body, says):
    r = requests.post(stack.proxy_url + path, json=body, headers={"X-API-Key": "dev-developer-key"}, timeout=15)
    assert (r.status_code, r.headers["x-amzn-ErrorType"]) == (400, "ValidationException")
    assert says in r.json()["message"] and "SIDEWAYS" not in r.text
    assert sent(stack) == []


def test_kong_and_the_gateway_refuse_other_paths_and_missing_keys_in_bedrocks_shape(stack):
    unknown = requests.post(stack.proxy_url + f"/guardrail/{GUARD}/apply", json={}, timeout=15,
                            headers={"X-API-Key": "dev-developer-key"})
    assert unknown.status_code == 404 and "x-amzn-ErrorType" in unknown.headers and "message" in unknown.json()
    keyless = requests.post(stack.proxy_url + f"/guardrail/{GUARD}/version/1/apply", timeout=15,
                            json={"source": "INPUT", "content": [{"text": {"text": "hi"}}]})
    assert keyless.status_code == 401
    assert keyless.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert sent(stack) == []


def test_the_budget_reserves_the_worst_case_and_settles_to_what_bedrock_billed(stack):
    client = bedrock_runtime(stack, "dev-analyst-key")
    answer = apply(client, "Where is order 42?")                   # reserves $0.00067, billed one topic unit
    cost = Decimal(headers(answer)["x-token-cost-usd"])
    assert cost == charged(TOPIC_UNIT)
    stack.harness.wait_for_log(headers(answer)["x-kong-request-id"])
    month = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": "dev-analyst-key"},
                         timeout=15).json()["monthly_budget_usd"]
    assert Decimal(month["used"]) == cost and Decimal(month["limit"]) == Decimal(ANALYST_BUDGET)
    with pytest.raises(client.exceptions.ThrottlingException) as refused:   # two units' worst case: $0.00134
        apply(client, "x" * 1001)
    assert "0.001340" in refused.value.response["Error"]["Message"]
    assert headers(refused.value.response)["x-should-retry"] == "false"
    assert len(sent(stack)) == 1


def test_a_card_in_prompt_text_is_refused_before_it_leaves_and_model_text_is_not_scanned(stack):
    """ecommerce-guardrails reads an INPUT call's text blocks as a user turn (PCI: no card data leaves for AWS);
    OUTPUT text is the model's, which assistant turns show is not scanned."""
    card = "Please check this: card 4111 1111 1111 1111, exp 12/29"
    calls, client = len(sent(stack)), bedrock_runtime(stack, "dev-ops-key")
    with pytest.raises(client.exceptions.AccessDeniedException) as blocked:
        apply(client, card)
    assert "payment_card" in str(blocked.value) and "4111" not in str(blocked.value)
    assert len(sent(stack)) == calls
    answer = apply(client, card, source="OUTPUT")
    assert answer["action"] == "NONE" and sent(stack)[-1]["body"]["content"][0]["text"]["text"] == card


def test_a_raw_body_the_guardrails_refuse_is_refused_in_bedrocks_shape(stack):
    """A body that is no JSON is scanned whole; its refusal names itself as Bedrock does, so boto3 can read it."""
    r = requests.post(f"{stack.proxy_url}/guardrail/{GUARD}/version/1/apply", timeout=15,
                      headers={"X-API-Key": "dev-ops-key", "Content-Type": "text/plain"},
                      data=b"card 4111 1111 1111 1111 exp 12/29")
    assert r.status_code == 403 and r.headers["x-amzn-ErrorType"].startswith("AccessDeniedException")
    assert "4111" not in r.text and set(r.json()) == {"message"}
