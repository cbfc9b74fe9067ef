"""Text units read from Bedrock guardrail traces, and their price (bedrock.guardrail_usage, metering.pricing)."""

from decimal import Decimal

from kong_plugins.bedrock.guardrail_usage import added, units_in
from kong_plugins.context import Usage
from kong_plugins.formats.anthropic import InvokeStreamDecoder
from kong_plugins.formats.converse import ConverseStreamToAnthropic
from kong_plugins.metering.pricing import PriceTable


def usage(**units):
    members = {"topicPolicyUnits": 0, "contentPolicyUnits": 0, "wordPolicyUnits": 0,
               "sensitiveInformationPolicyUnits": 0, "sensitiveInformationPolicyFreeUnits": 0,
               "contextualGroundingPolicyUnits": 0}
    return {"invocationMetrics": {"guardrailProcessingLatency": 80, "usage": {**members, **units},
                                  "guardrailCoverage": {"textCharacters": {"guarded": 10, "total": 10}}}}


def test_converse_trace_input_and_every_output_assessment():
    trace = {"guardrail": {
        "inputAssessment": {"g1": {**usage(topicPolicyUnits=3, contentPolicyUnits=3),
                                   "topicPolicy": {"topics": []}}},
        "outputAssessments": {"g1": [usage(topicPolicyUnits=1, contentPolicyUnits=1),
                                     usage(topicPolicyUnits=2, contentPolicyUnits=2, contentPolicyImageUnits=1)]}}}
    assert units_in(trace) == {"topic": 6, "content": 6, "content_image": 1}


def test_invoke_model_trace_shape():
    trace = {"guardrail": {"input": {"g1": usage(sensitiveInformationPolicyUnits=2)},
                           "outputs": [{"g1": usage(sensitiveInformationPolicyUnits=1,
                                                    sensitiveInformationPolicyFreeUnits=1)}]}}
    assert units_in(trace) == {"sensitive_information": 3, "sensitive_information_free": 1}


def test_no_trace_or_odd_values_count_nothing():
    assert units_in(None) == {} and units_in({"guardrail": None}) == {} and units_in("x") == {}
    odd = {"guardrail": {"input": {"g1": usage(topicPolicyUnits=True, contentPolicyUnits=-4,
                                               wordPolicyUnits="7", contextualGroundingPolicyUnits=2)}}}
    assert units_in(odd) == {"contextual_grounding": 2}


def test_added():
    assert added({"topic": 1}, {"topic": 2, "content": 1}) == {"topic": 3, "content": 1}
    assert added({"topic": 1}, {}) == {"topic": 1}


def test_decoders_keep_the_units_on_their_usage():
    converse = ConverseStreamToAnthropic(model="m", message_id="id")
    body = b'{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"end_turn",' \
           b'"usage":{"inputTokens":5,"outputTokens":1},"trace":{"guardrail":{"inputAssessment":{"g":' \
           b'{"invocationMetrics":{"usage":{"topicPolicyUnits":2}}}}}}}'
    converse.message(body)
    assert converse.usage.input == 5 and converse.usage.guardrail_units == {"topic": 2}
    invoke = InvokeStreamDecoder()
    invoke.track({"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}})
    invoke.track({"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 5,
                                                                               "outputTokenCount": 9},
                  "amazon-bedrock-trace": {"guardrail": {"outputs": [{"g": usage(topicPolicyUnits=1)}]}}})
    assert invoke.usage.output == 9 and invoke.usage.guardrail_units == {"topic": 1}


def test_units_are_priced_per_thousand_and_not_by_service_tier():
    table = PriceTable.from_config(None, None, {"topic": 0.2})
    calls = Usage(input=1_000_000, guardrail_units={"topic": 5, "content": 2, "word": 9})
    standard = table.for_model("haiku").cost_usd(calls)
    assert standard == Decimal("1.10") + (5 * Decimal("0.2") + 2 * Decimal("0.15")) / 1000
    flex = table.for_model("haiku", "flex").cost_usd(calls)
    assert flex == Decimal("0.55") + (5 * Decimal("0.2") + 2 * Decimal("0.15")) / 1000
