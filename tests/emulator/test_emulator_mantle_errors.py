"""Bedrock Mantle errors: SigV4 scoped to bedrock-mantle, validation, 404s, injected faults."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests
from emulator_helpers import (HAIKU_3, MANTLE_COUNT, MANTLE_MESSAGES, OPUS_47, SONNET_45, claude_body,
                              mantle_body, mantle_post, parse_sse)

from kong_plugins.emulator import EmulatorServer, EmulatorSettings


def _error(response: requests.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["type"] == "error" and payload["error"]["type"] == error_type
    assert payload["request_id"] == response.headers["request-id"]
    return payload["error"]["message"]


# -- authentication ------------------------------------------------------------------------
def test_signature_for_service_bedrock_is_rejected(emulator) -> None:
    message = _error(mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(), service="bedrock"),
                     403, "permission_error")
    assert "correct service: 'bedrock-mantle'" in message
    assert emulator.requests()[-1]["status"] == 403


def test_bedrock_mantle_signature_is_rejected_by_bedrock_runtime(emulator) -> None:
    path = f"/model/{quote(HAIKU_3, safe='')}/invoke"
    response = mantle_post(emulator.url, path, claude_body())
    assert response.status_code == 403 and "correct service: 'bedrock'" in response.json()["message"]


def test_wrong_secret_tampered_body_unknown_key_and_missing_auth(emulator) -> None:
    wrong = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(), secret="not-the-secret")
    assert "does not match the signature" in _error(wrong, 403, "permission_error")
    unknown = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(), access_key="AKIDUNKNOWN000000000")
    _error(unknown, 401, "authentication_error")
    missing = requests.post(emulator.url + MANTLE_MESSAGES, json=mantle_body(), timeout=5)
    assert _error(missing, 401, "authentication_error") == "Missing Authentication Token"


def test_api_key_as_bearer_or_x_api_key() -> None:
    with EmulatorServer(EmulatorSettings(bearer_token="bedrock-api-key-emulator")) as emu:
        url = emu.url + MANTLE_MESSAGES
        for headers in ({"Authorization": "Bearer bedrock-api-key-emulator"},
                        {"x-api-key": "bedrock-api-key-emulator"}):
            assert requests.post(url, json=mantle_body(), headers=headers, timeout=5).status_code == 200
        bad = requests.post(url, json=mantle_body(), headers={"x-api-key": "nope"}, timeout=5)
        _error(bad, 401, "authentication_error")
        assert emu.requests()[-1]["headers"]["x-api-key"] == "<redacted>"


# -- validation and routing ----------------------------------------------------------------
@pytest.mark.parametrize("change, fragment", [
    ({"max_tokens": None}, "max_tokens: Field required"),
    ({"max_tokens": "many"}, "max_tokens: Input should be a valid integer"),
    ({"max_tokens": 500_000}, "maximum allowed number of output tokens"),
    ({"model": None}, "model: Field required"),
    ({"anthropic_beta": ["x"]}, "anthropic_beta: Extra inputs are not permitted"),
    ({"anthropic_version": "bedrock-2023-05-31"}, "anthropic_version"),
    ({"stream": "yes"}, "stream: Input should be a valid boolean"),
    ({"messages": []}, "at least one message"),
    ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
    ({"temperature": 3}, "temperature"),
    ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, "thinking.type.enabled is not supported"),
])
def test_invalid_requests(emulator, change: dict, fragment: str) -> None:
    body = mantle_body()
    for key, value in change.items():
        body.pop(key) if value is None else body.__setitem__(key, value)
    assert fragment in _error(mantle_post(emulator.url, MANTLE_MESSAGES, body), 400, "invalid_request_error")


def test_invalid_json(emulator) -> None:
    response = mantle_post(emulator.url, MANTLE_MESSAGES, None, raw=b"{not json")
    assert "not valid JSON" in _error(response, 400, "invalid_request_error")


@pytest.mark.parametrize("model, fragment", [
    ("anthropic.claude-sonnet-4-6", "served through bedrock-runtime"),
    ("anthropic.claude-opus-4-6-v1", "served through bedrock-runtime"),
    (SONNET_45, "served through bedrock-runtime"),
    (f"us.{OPUS_47}", f"use {OPUS_47}"),
    ("anthropic.claude-nonexistent-9", "model: anthropic.claude-nonexistent-9"),
])
def test_models_not_served_by_mantle(emulator, model: str, fragment: str) -> None:
    response = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(model=model))
    assert fragment in _error(response, 404, "not_found_error")
    assert emulator.requests()[-1]["model_id"] == model


def test_unknown_route_and_method(emulator) -> None:
    _error(mantle_post(emulator.url, "/anthropic/v1/complete", mantle_body()), 404, "not_found_error")
    assert _error(mantle_post(emulator.url, MANTLE_MESSAGES, None, raw=b"", method="GET"),
                  405, "invalid_request_error") == f"Method GET is not allowed on {MANTLE_MESSAGES}"
    unsigned = requests.get(emulator.url + "/anthropic/v1/complete", timeout=5)
    _error(unsigned, 401, "authentication_error")  # auth is checked first, as on every route


# -- injected faults -----------------------------------------------------------------------
@pytest.mark.parametrize("fault, status, error_type", [
    ("throttle", 429, "rate_limit_error"),
    ("internal", 500, "api_error"),
    ("unavailable", 529, "overloaded_error"),
    ("access_denied", 403, "permission_error"),
    ("validation", 400, "invalid_request_error"),
    ("model_timeout", 504, "timeout_error"),
])
def test_http_faults(emulator, fault: str, status: int, error_type: str) -> None:
    emulator.add_fault(fault, operation="mantle-messages")
    _error(mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body()), status, error_type)
    assert mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body()).status_code == 200
    assert emulator.stats()["operations"]["mantle-messages"] == {str(status): 1, "200": 1}


def test_fault_operation_filter(emulator, client) -> None:
    emulator.add_fault("throttle", operation="invoke", count=-1)
    assert mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body()).status_code == 200
    emulator.clear_faults()
    emulator.add_fault("throttle", operation="mantle-messages", count=-1)
    client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body()))
    assert mantle_post(emulator.url, MANTLE_COUNT, {"model": OPUS_47, "messages": [
        {"role": "user", "content": "hi"}]}).status_code == 200
    _error(mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(stream=True)), 429, "rate_limit_error")
    emulator.clear_faults()
    emulator.add_fault("internal", operation="mantle-count-tokens", message="boom")
    counted = mantle_post(emulator.url, MANTLE_COUNT, {"model": OPUS_47, "messages": [
        {"role": "user", "content": "hi"}]})
    assert _error(counted, 500, "api_error") == "boom"


@pytest.mark.parametrize("exception, error_type", [
    ("serviceUnavailableException", "overloaded_error"),
    ("throttlingException", "rate_limit_error"),
    ("internalServerException", "api_error"),
])
def test_stream_exception_is_an_sse_error_event(emulator, exception: str, error_type: str) -> None:
    emulator.add_fault("stream_exception", operation="mantle-messages", exception=exception, after_events=4)
    response = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(stream=True))
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert [n for n, _ in events] == ["message_start", "content_block_start", "ping", "content_block_delta",
                                      "error"]
    assert events[-1][1]["type"] == "error" and events[-1][1]["error"]["type"] == error_type


def test_stream_faults_skip_non_streaming_requests(emulator) -> None:
    emulator.add_fault("stream_exception", operation="mantle-messages")
    assert mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body()).status_code == 200
    events = parse_sse(mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(stream=True)).text)
    assert [n for n, _ in events] == ["message_start", "error"]


def test_stream_reset_and_malformed_event(emulator) -> None:
    emulator.add_fault("malformed_frame", operation="mantle-messages", after_events=2)
    text = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(stream=True)).text
    with pytest.raises(ValueError):
        parse_sse(text)
    assert text.count("event: ") == 3
    emulator.add_fault("stream_reset", after_events=3)
    response = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(stream=True), stream=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        list(response.iter_content(None))


def test_fault_rule_validation_knows_mantle_operations(emulator) -> None:
    base = f"{emulator.url}/_emulator/faults"
    assert requests.post(base, json={"type": "stream_exception", "operation": "mantle-messages"},
                         timeout=5).status_code == 200
    assert requests.post(base, json={"type": "stream_reset", "operation": "mantle-count-tokens"},
                         timeout=5).status_code == 400
