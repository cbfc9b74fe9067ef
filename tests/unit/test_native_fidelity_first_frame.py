"""A stream's first frame that says something decides it (relay.first_frame), whatever the reads' sizes: events
without a payload are read past, and an error Bedrock models no status for is Bedrock's own for a native client."""

import pytest

from kong_plugins.bedrock.eventstream import exception_frame
from kong_plugins.emulator.eventstream import EMPTY_EVENT, error_frame
from kong_plugins.formats.api import ApiFormat
from kong_plugins.relay.first_frame import JUDGED_BYTES, Refusal, refusal
from kong_plugins.relay.responses import upstream_chunks
from tests.unit.test_first_frame import DELTA, START, THROTTLE, Reads, Response, _call, _split

UNKNOWN = error_frame("SomethingNewException", "Something Bedrock added.")


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_a_refusal_after_events_that_say_nothing_is_the_http_error_it_stands_for(size):
    raw = Reads(_split(EMPTY_EVENT * 3 + THROTTLE, size))
    assert refusal(_call(), Response(raw)) == Refusal(429, "ThrottlingException", "slow down")
    assert raw.closed


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_a_healthy_stream_after_events_that_say_nothing_is_handed_on_unchanged(size):
    reads = _split(EMPTY_EVENT + START + DELTA, size)
    upstream = Response(Reads(list(reads)))
    assert refusal(_call(), upstream) is None
    assert list(upstream_chunks(upstream)) == reads


def test_events_that_say_nothing_are_read_past_only_so_far():
    many = EMPTY_EVENT * (JUDGED_BYTES // len(EMPTY_EVENT) + 1)
    upstream = Response(Reads([many, THROTTLE]))
    assert refusal(_call(), upstream) is None   # handed on: the translator reports the throttle as it comes
    assert b"".join(upstream_chunks(upstream)) == many + THROTTLE


def test_an_error_bedrock_models_no_status_for_is_handed_on_to_a_native_client():
    upstream = Response(Reads([UNKNOWN + START]))
    assert refusal(_call(api=ApiFormat.BEDROCK), upstream) is None
    assert b"".join(upstream_chunks(upstream)) == UNKNOWN + START


@pytest.mark.parametrize("api", [ApiFormat.OPENAI, ApiFormat.ANTHROPIC])
def test_it_is_the_gateways_refusal_for_other_clients(api):
    raw = Reads([UNKNOWN])
    assert refusal(_call(api=api), Response(raw)) == Refusal(None, "SomethingNewException",
                                                             "Something Bedrock added.")
    assert raw.closed


def test_an_error_frame_naming_a_bedrock_error_is_that_error_for_every_client():
    frame = error_frame("ThrottlingException", "slow down")
    assert refusal(_call(), Response(Reads([frame]))) == refusal(_call(), Response(Reads([THROTTLE])))
    assert refusal(_call(), Response(Reads([exception_frame("modelStreamErrorException", {"message": "x"})]))) == \
        Refusal(424, "ModelStreamErrorException", "x")
