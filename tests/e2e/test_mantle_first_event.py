"""A Bedrock Mantle stream (Anthropic SSE) is judged by its first event that says something, as an AWS event
stream is: an `event: error` after pings (and SSE comment lines) has reached no client yet, so it is retried and
fallen back like an error in the first event (it reached Anthropic clients mid-stream, unretried). Pings are read
past only so far (relay.first_frame.JUDGED_BYTES): past that the stream is handed on as it comes."""

import anthropic
import pytest

from tests.e2e.clients import sent

ASK = [{"role": "user", "content": "Hello Mantle"}]
MANTLE_MODEL = "opus-4-7"


def _refused(exception: str, pings: int, count: int = 1) -> dict:
    return {"type": "stream_exception", "after_events": 0, "empty_frames": pings, "exception": exception,
            "operation": "mantle-messages", "count": count}


def _client(stack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)


def _mantle_calls(stack) -> int:
    return len([r for r in sent(stack) if r["operation"] == "mantle-messages"])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("exception", ["throttlingException", "serviceUnavailableException"])
def test_an_error_after_pings_is_retried_before_the_client_sees_anything(stack, exception):
    stack.emulator_control("POST", "/_emulator/faults", json=_refused(exception, pings=3))
    with _client(stack).messages.stream(model=MANTLE_MODEL, max_tokens=32, messages=ASK) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
        fell_back = stream.response.headers.get("X-Bedrock-Fallback-From")
    assert text.startswith("Emulated") and final.usage.output_tokens > 0 and fell_back is None
    assert _mantle_calls(stack) == 2


@pytest.mark.timeout(60)
def test_an_error_after_pings_every_time_falls_back_to_the_next_model(stack):
    stack.emulator_control("POST", "/_emulator/faults", json=_refused("throttlingException", pings=2, count=-1))
    with _client(stack).messages.stream(model=MANTLE_MODEL, max_tokens=32, messages=ASK) as stream:
        text = "".join(stream.text_stream)
        fell_back = stream.response.headers.get("X-Bedrock-Fallback-From")
    assert text.startswith("Emulated") and fell_back == MANTLE_MODEL
    assert _mantle_calls(stack) > 1


@pytest.mark.timeout(60)
def test_pings_are_read_past_only_so_far(stack):
    stack.emulator_control("POST", "/_emulator/faults", json=_refused("throttlingException", pings=10_000))
    with pytest.raises(anthropic.APIStatusError) as raised:
        with _client(stack).messages.stream(model=MANTLE_MODEL, max_tokens=32, messages=ASK) as stream:
            assert stream.response.status_code == 200
            "".join(stream.text_stream)
    assert raised.value.body["error"]["type"] == "rate_limit_error"
    assert _mantle_calls(stack) == 1
