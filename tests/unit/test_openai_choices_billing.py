"""OpenAI Chat's `n` when a choice fails: what Bedrock bills for the choices is still charged (relay.choices)."""

import json
from types import SimpleNamespace

from kong_plugins.context import Consumer, RequestContext, Usage
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.errors import ErrorKind
from kong_plugins.relay.attempts import READ_TIMEOUT, Failure
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.choices import billed_choices, charge_failed_choices, first_failure

THROTTLED = Failure(ErrorKind.RATE_LIMITED, "slow down", "ThrottlingException", "req-1")
REFUSED = Failure(ErrorKind.INVALID_REQUEST, "too long", "ValidationException", "req-2")
TIMED_OUT = Failure(ErrorKind.TIMEOUT, "Bedrock did not answer in time.", READ_TIMEOUT)


def _call(stream=False):
    return UpstreamCall(api=ApiFormat.OPENAI, operation="converse-stream" if stream else "converse",
                        model_name="sonnet", client_model="sonnet", model_id="anthropic.sonnet", region="us-east-1",
                        body=b"{}", stream=stream, choices=3)


class _Raw:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


def _answer(input_tokens, output_tokens, tier=None, **usage):
    body = {"output": {"message": {"role": "assistant", "content": [{"text": "A lighthouse keeper..."}]}},
            "stopReason": "max_tokens", "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens,
                                                 "totalTokens": input_tokens + output_tokens, **usage}}
    if tier:
        body["serviceTier"] = {"type": tier}
    return SimpleNamespace(status_code=200, headers={}, content=json.dumps(body).encode(), raw=_Raw())


def test_the_first_failure_fails_the_request():
    assert first_failure([_answer(1, 1), REFUSED, THROTTLED]) is REFUSED
    assert first_failure([_answer(1, 1), _answer(1, 1)]) is None


def test_a_timed_out_choice_fails_the_request_whatever_failed_before_it():
    """Its reply says x-should-retry: false: a retry of the request would run the timed-out choice again."""
    assert first_failure([THROTTLED, _answer(1, 1), TIMED_OUT, REFUSED]) is TIMED_OUT


def test_the_completed_choices_are_billed_what_bedrock_reports_and_a_refused_one_nothing():
    billed = billed_choices(_call(), [_answer(12, 2000), THROTTLED, _answer(12, 1990, cacheReadInputTokens=5)],
                            planned_input=15, planned_output=4000)
    assert billed.usage == Usage(input=24, output=3990, cache_read=5, calls=2)   # a refused call is not a call
    assert billed.estimated is False and billed.service_tier is None


def test_the_tier_bedrock_says_served_a_completed_choice_is_noted():
    assert billed_choices(_call(), [REFUSED, _answer(12, 20, tier="flex")], 15, 4000).service_tier == "flex"


def test_a_choice_the_gateway_stopped_waiting_for_is_charged_as_planned_beside_the_completed_ones():
    billed = billed_choices(_call(), [_answer(12, 2000), TIMED_OUT, REFUSED], planned_input=15, planned_output=4000)
    assert billed.usage == Usage(input=12 + 15, output=2000 + 4000, calls=2) and billed.estimated is True


def test_streams_that_opened_are_charged_their_prompt_and_nothing_streamed():
    opened = SimpleNamespace(status_code=200, headers={}, raw=_Raw())
    billed = billed_choices(_call(stream=True), [opened, REFUSED, opened], planned_input=15, planned_output=4000)
    assert billed.usage == Usage(input=30, output=0, calls=2) and billed.estimated is True


def test_an_unreadable_answer_is_charged_as_planned():
    garbled = SimpleNamespace(status_code=200, headers={}, content=b"not json", raw=_Raw())
    billed = billed_choices(_call(), [garbled, REFUSED], planned_input=15, planned_output=4000)
    assert billed.usage == Usage(input=15, output=4000) and billed.estimated is True


def test_when_bedrock_billed_no_choice_nothing_is_charged():
    assert billed_choices(_call(), [REFUSED, THROTTLED, REFUSED], 15, 4000) == (None, False, None)


def test_the_failed_request_is_charged_and_its_open_answers_closed():
    ctx = RequestContext(request_id="r", consumer=Consumer(id="c", username="u", tags=()), body=None)
    ctx.planned_input, ctx.planned_output, ctx.planned_calls = 15, 4000, 3
    answers = [_answer(12, 2000, tier="priority"), _answer(12, 2000)]
    charge_failed_choices(_call(), [answers[0], THROTTLED, answers[1]], ctx)
    assert ctx.usage == Usage(input=24, output=4000, calls=2) and ctx.usage_estimated is False
    assert ctx.service_tier == "priority" and all(answer.raw.closed for answer in answers)
