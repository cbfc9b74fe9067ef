"""A role's Amazon Bedrock Guardrail through the whole stack: every client format goes through it, its blocks
reach each client in that client's terms, and they are counted. The emulator's guardrail `gwdemoguard1` denies
the topic "Competitors" (a last user turn naming competitors or a rival) and, in answers only, "Supplier
margins"."""

import json
from decimal import Decimal

import anthropic
import boto3
import openai
import pytest
import requests
from botocore.config import Config

from kong_plugins.context import Usage
from kong_plugins.metering.pricing import DEFAULT_PRICES
from tests.e2e.clients import charged, last_sent, metric, metric_reaches, oa, shipped_roles
from tests.stack import GatewayStack

GUARD = {"identifier": "gwdemoguard1", "version": "1"}
BLOCKED = "Sorry, this request is not allowed by the shop's AI policy."
ASK_RIVAL = "What do our competitors charge for shipping?"


def _guarded(role):
    guard = {"ecommerce_ops": GUARD, "admin": {**GUARD, "trace": True}}.get(role["name"])
    return {**role, "bedrock_guardrail": guard} if guard else role


@pytest.fixture(scope="module")
def stack():
    with GatewayStack(config_overrides={"bedrock-proxy": {"roles": shipped_roles(_guarded)}}) as running:
        yield running


def series(role="ecommerce_ops", model="haiku"):
    return f'kong_bedrock_bedrock_guardrail_interventions_total{{model="{model}",role="{role}"}}'


def interventions(stack, **labels):
    return metric(stack, series(**labels))


def counted(stack, expected, **labels):
    return metric_reaches(stack, series(**labels), expected)


def test_an_allowed_question_is_answered_through_the_guardrail(stack):
    completion = oa(stack, "dev-ops-key").chat.completions.create(
        model="haiku", max_tokens=20, messages=[{"role": "user", "content": "Where is order 42?"}])
    assert completion.choices[0].finish_reason == "stop" and completion.choices[0].message.content.startswith(
        "Emulated reply")
    assert last_sent(stack)["body"]["guardrailConfig"] == {**{"guardrailIdentifier": "gwdemoguard1",
                                                              "guardrailVersion": "1"}, "trace": "enabled"}


def ops_chat(stack, question, stream):
    """An OpenAI chat of the guarded ecommerce_ops role: (text, finish reasons, usage, X-Token-Cost-USD or None)."""
    request = dict(model="haiku", max_tokens=20, messages=[{"role": "user", "content": question}])
    client = oa(stack, "dev-ops-key")
    if stream:
        chunks = list(client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **request))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        return text, finish, chunks[-1].usage, None
    raw = client.chat.completions.with_raw_response.create(**request)
    completion = raw.parse()
    return (completion.choices[0].message.content, [completion.choices[0].finish_reason], completion.usage,
            Decimal(raw.headers["X-Token-Cost-USD"]))


@pytest.mark.parametrize("stream", [False, True])
def test_a_blocked_openai_chat_ends_with_content_filter_and_is_counted(stack, stream):
    before = interventions(stack)
    text, finish, usage, _ = ops_chat(stack, ASK_RIVAL, stream)
    assert text == BLOCKED and finish == ["content_filter"] and usage.completion_tokens == 0
    assert counted(stack, before + 1)


def test_a_blocked_responses_call_is_incomplete_for_content_filter(stack):
    before = interventions(stack)
    response = oa(stack, "dev-ops-key").responses.create(model="haiku", max_output_tokens=20, input=ASK_RIVAL)
    assert response.status == "incomplete" and response.incomplete_details.reason == "content_filter"
    assert response.output_text == BLOCKED
    assert counted(stack, before + 1)


def ops_message(stack, question):
    """An Anthropic message of the guarded ecommerce_ops role: (the client, the raw response, its JSON body)."""
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-ops-key", max_retries=0)
    raw = client.messages.with_raw_response.create(model="haiku", max_tokens=20,
                                                   messages=[{"role": "user", "content": question}])
    return client, raw, raw.http_response.json()


def test_anthropic_clients_on_invoke_model_get_bedrocks_body_with_its_guardrail_action(stack):
    before = interventions(stack)
    client, _, body = ops_message(stack, ASK_RIVAL)
    assert body["content"][0]["text"] == BLOCKED and body["amazon-bedrock-guardrailAction"] == "INTERVENED"
    sent = last_sent(stack)
    assert sent["operation"] == "invoke" and {k.lower(): v for k, v in sent["headers"].items()}[
        "x-amzn-bedrock-guardrailidentifier"] == "gwdemoguard1"
    with client.messages.stream(model="haiku", max_tokens=20,
                                messages=[{"role": "user", "content": ASK_RIVAL}]) as stream:
        assert "".join(stream.text_stream) == BLOCKED
    assert counted(stack, before + 2)


WITHHELD = "Sorry, this answer was withheld by the shop's AI policy."
ASK_MARGINS = "What margin do we make on sneakers?"   # the emulator's answer repeats it; the guardrail denies
                                                       # the topic "Supplier margins" in answers only


def withheld_units():
    """The question's topic units and the withheld answer's (20 tokens at most: under 1,000 characters)."""
    return text_units(ASK_MARGINS) + 1


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_the_guardrail_withholds_is_a_content_filter_and_its_tokens_are_still_billed(stack, stream):
    before = interventions(stack)
    text, finish, usage, cost = ops_chat(stack, ASK_MARGINS, stream)
    assert text == WITHHELD and finish == ["content_filter"]
    assert usage.completion_tokens > 0      # the model wrote an answer, which Bedrock bills, before it was withheld
    if cost is not None:
        assert cost == priced(Usage(input=usage.prompt_tokens, output=usage.completion_tokens), withheld_units())
    assert counted(stack, before + 1)


def test_an_anthropic_client_gets_bedrocks_withheld_answer_without_the_trace_its_role_does_not_show(stack):
    before = interventions(stack)
    _, raw, body = ops_message(stack, ASK_MARGINS)
    assert body["content"] == [{"type": "text", "text": WITHHELD}]
    assert body["amazon-bedrock-guardrailAction"] == "INTERVENED" and body["usage"]["output_tokens"] > 0
    assert "amazon-bedrock-trace" not in body
    assert {k.lower(): v for k, v in last_sent(stack)["headers"].items()}["x-amzn-bedrock-trace"] == "ENABLED"
    assert Decimal(raw.headers["X-Token-Cost-USD"]) == priced(
        Usage(input=body["usage"]["input_tokens"], output=body["usage"]["output_tokens"]), withheld_units())
    assert counted(stack, before + 1)
    http = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-ops-key"}, timeout=15,
                         json={"model": "haiku", "max_tokens": 20, "stream": True,
                               "messages": [{"role": "user", "content": ASK_MARGINS}]})
    assert http.status_code == 200 and WITHHELD in http.text and "amazon-bedrock-guardrailAction" in http.text
    assert "amazon-bedrock-trace" not in http.text and "topicPolicy" not in http.text


def test_models_that_cannot_carry_the_guardrail_are_refused(stack):
    with pytest.raises(openai.PermissionDeniedError) as exc:
        oa(stack, "dev-admin-key").chat.completions.create(
            model="opus-4-7", max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    assert "cannot apply" in exc.value.message
    assert not stack.emulator_control("GET", "/_emulator/requests").json()


def native(stack, key):
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=stack.proxy_url,
                          aws_access_key_id="x", aws_secret_access_key="y", config=Config(retries={"max_attempts": 1}))
    client.meta.events.register("before-send.bedrock-runtime.*",
                                lambda request, **_: request.headers.__setitem__("X-API-Key", key))
    return client


def test_a_native_client_cannot_swap_the_roles_guardrail_for_its_own(stack):
    before = interventions(stack)
    response = native(stack, "dev-ops-key").converse(
        modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        messages=[{"role": "user", "content": [{"text": ASK_RIVAL}]}],
        guardrailConfig={"guardrailIdentifier": "someotherguard", "guardrailVersion": "DRAFT"})
    assert response["stopReason"] == "guardrail_intervened"
    assert last_sent(stack)["body"]["guardrailConfig"]["guardrailIdentifier"] == "gwdemoguard1"
    assert counted(stack, before + 1)


def test_a_role_without_one_keeps_the_guardrail_its_native_client_asked_for(stack):
    response = native(stack, "dev-developer-key").invoke_model(
        modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0", guardrailIdentifier="gwdemoguard1",
        guardrailVersion="DRAFT", body=json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20,
                                                    "messages": [{"role": "user", "content": ASK_RIVAL}]}))
    assert json.loads(response["body"].read())["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert counted(stack, 1, role="developer")


def test_a_native_clients_own_unknown_guardrail_is_its_400_not_the_operators_misconfiguration(stack):
    """Security testing: it was a 502 'the gateway's operators have been told', a critical alert
    (kong_bedrock_model_misconfigured_total) and a call to the fallback model, which any developer could set off."""
    before = metric(stack, 'kong_bedrock_model_misconfigured_total{model="haiku"}')
    stack.emulator_control("DELETE", "/_emulator/requests")
    with pytest.raises(native(stack, "dev-developer-key").exceptions.ValidationException) as refused:
        native(stack, "dev-developer-key").converse(
            modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0",
            messages=[{"role": "user", "content": [{"text": "hi"}]}],
            guardrailConfig={"guardrailIdentifier": "abc123notreal", "guardrailVersion": "1"})
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "guardrail identifier or version" in refused.value.response["Error"]["Message"]
    assert len(stack.emulator_control("GET", "/_emulator/requests").json()) == 1      # no fallback call
    assert metric(stack, 'kong_bedrock_model_misconfigured_total{model="haiku"}') == before


# -- text units (admin's guardrail traces; the demo guardrail's denied-topic policy bills topic units) -----------

QUESTION = "Where is order 42? " * 130          # 2,470 characters: 3 text units
TOPIC_PRICE_PER_UNIT = Decimal("0.15") / 1000    # token-meter's shipped price, USD per topic unit


def priced(usage, units):
    """What token-meter charges a haiku call: its tokens and the guardrail's topic units."""
    return charged(DEFAULT_PRICES["haiku"].cost_usd(usage) + units * TOPIC_PRICE_PER_UNIT)


def units_series(role="admin"):
    return f'kong_bedrock_bedrock_guardrail_text_units_total{{policy="topic",role="{role}"}}'


def text_units(*texts):
    return sum(-(-len(text) // 1000) for text in texts)


def traced_units(trace_guardrail):
    """Topic units over every assessment of a trace, as the client received it."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "invocationMetrics" in node:
                found.append(node["invocationMetrics"]["usage"]["topicPolicyUnits"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(trace_guardrail)
    return sum(found)


def test_anthropic_client_pays_the_text_units_bedrock_reports(stack):
    before = metric(stack, units_series())
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)
    raw = client.messages.with_raw_response.create(model="haiku", max_tokens=40,
                                                   messages=[{"role": "user", "content": QUESTION}])
    body = json.loads(raw.http_response.text)
    units = traced_units(body["amazon-bedrock-trace"]["guardrail"])
    assert units == text_units(QUESTION, body["content"][0]["text"]) >= 4
    u = body["usage"]
    assert Decimal(raw.headers["X-Token-Cost-USD"]) == priced(
        Usage(input=u["input_tokens"], output=u["output_tokens"], cache_read=u["cache_read_input_tokens"],
              cache_write=u["cache_creation_input_tokens"]), units)
    assert metric_reaches(stack, units_series(), before + units)


def test_native_converse_pays_the_text_units_bedrock_reports(stack):
    before = metric(stack, units_series())
    response = native(stack, "dev-admin-key").converse(
        modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0", inferenceConfig={"maxTokens": 40},
        messages=[{"role": "user", "content": [{"text": QUESTION}]}])
    units = traced_units(response["trace"]["guardrail"])
    assert units == text_units(QUESTION, response["output"]["message"]["content"][0]["text"])
    u = response["usage"]
    cost = response["ResponseMetadata"]["HTTPHeaders"]["x-token-cost-usd"]
    assert Decimal(cost) == priced(Usage(input=u["inputTokens"], output=u["outputTokens"],
                                         cache_read=u.get("cacheReadInputTokens", 0),
                                         cache_write=u.get("cacheWriteInputTokens", 0)), units)
    assert metric_reaches(stack, units_series(), before + units)


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_streamed_calls_count_the_units_of_the_trace_in_their_last_event(stack, api):
    before = metric(stack, units_series())
    messages = [{"role": "user", "content": QUESTION}]
    if api == "openai":    # ConverseStream: the trace rides on the metadata event, which OpenAI clients never see
        chunks = list(oa(stack, "dev-admin-key").chat.completions.create(model="haiku", max_tokens=40,
                                                                          messages=messages, stream=True))
        answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:                  # InvokeModelWithResponseStream: on the last chunk, message_stop
        client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)
        with client.messages.stream(model="haiku", max_tokens=40, messages=messages) as events:
            answer = "".join(events.text_stream)
    assert answer.startswith("Emulated reply")
    assert metric_reaches(stack, units_series(), before + text_units(QUESTION, answer))


def test_a_blocked_call_pays_for_its_input_only(stack):
    before = metric(stack, units_series())
    completion = oa(stack, "dev-admin-key").chat.completions.create(
        model="haiku", max_tokens=20, messages=[{"role": "user", "content": ASK_RIVAL}])
    assert completion.choices[0].finish_reason == "content_filter"
    assert metric_reaches(stack, units_series(), before + text_units(ASK_RIVAL))


def test_a_role_that_does_not_show_the_trace_still_pays_its_units(stack):
    before = metric(stack, units_series("ecommerce_ops"))
    answer = oa(stack, "dev-ops-key").chat.completions.create(
        model="haiku", max_tokens=40, messages=[{"role": "user", "content": QUESTION}]).choices[0].message.content
    assert answer.startswith("Emulated reply")
    assert metric_reaches(stack, units_series("ecommerce_ops"), before + text_units(QUESTION, answer))
