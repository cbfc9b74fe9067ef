"""OpenAI Chat's `n`: which counts are answered, one completion from several, usage added up, reservations."""

import uuid

import pytest

from kong_plugins.context import Consumer, ImageCount, RequestContext, Usage
from kong_plugins.formats import openai_chat
from kong_plugins.formats.body import RequestError
from kong_plugins.metering.meter import Meter


@pytest.mark.parametrize("n,expected", [(None, 1), (1, 1), (3, 3), (8, 8)])
def test_n_from_one_to_eight(n, expected):
    assert openai_chat.choices({"n": n}) == expected


@pytest.mark.parametrize("request_", [{"n": 0}, {"n": 9}, {"n": True}, {"n": "2"}, {"n": 2.0}])
def test_other_counts_are_the_clients_400_naming_n(request_):
    with pytest.raises(RequestError) as refused:
        openai_chat.choices(request_)
    assert refused.value.param == "n"
    assert openai_chat.choices({"n": 3, "stream": True}) == 3


def _completion(text, prompt, output):
    message = {"content": [{"type": "text", "text": text}], "stop_reason": "end_turn"}
    return openai_chat.completion_from_message(message, Usage(input=prompt, output=output), model="haiku",
                                               completion_id="chatcmpl-1", created=7)


def test_one_completion_holds_each_choice_in_turn_with_every_calls_usage():
    merged = openai_chat.with_choices([_completion("red", 10, 1), _completion("blue", 10, 2)],
                                      Usage(input=20, output=3, cache_read=4))
    assert [(c["index"], c["message"]["content"]) for c in merged["choices"]] == [(0, "red"), (1, "blue")]
    assert (merged["id"], merged["created"], merged["model"]) == ("chatcmpl-1", 7, "haiku")
    assert merged["usage"]["prompt_tokens"] == 24 and merged["usage"]["completion_tokens"] == 3
    assert merged["usage"]["total_tokens"] == 27 and merged["usage"]["prompt_tokens_details"]["cached_tokens"] == 4


def test_usage_adds_up_every_kind():
    image = ImageCount("standard", 512, 512, 1)
    total = Usage(1, 2, 3, 4, 1, {"topic": 2}, (image,), 1).plus(Usage(10, 20, 30, 40, 5, {"topic": 1, "word": 3},
                                                                     (image,), 2))
    assert total == Usage(11, 22, 33, 44, 6, {"topic": 3, "word": 3}, (image, image), 3, calls=2)


def test_the_reservation_is_per_call_with_the_output_cap_per_call():
    meter = Meter({"limits": [{"role": "guest", "tokens_per_day": 10_000, "reserve_output_cap": 100}]})
    ctx = RequestContext(request_id="r", consumer=Consumer(id=f"id-{uuid.uuid4()}", username="u", tags=()), body=None)
    ctx.model, ctx.planned_input, ctx.planned_output, ctx.planned_calls = "haiku", 40, 4096, 3
    assert meter.reserve(ctx, "guest") is None
    assert ctx.reservation.charge.tokens == 3 * (40 + 100)
