"""Bedrock service tiers (priority / default / flex / reserved) through boto3's real client and signed HTTP.

Asked in Converse's ``serviceTier`` body member or InvokeModel's ``X-Amzn-Bedrock-Service-Tier`` header,
echoed where Bedrock reports the tier that served; the ``served_tier`` setting overrides the echo.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from emulator_helpers import ACCESS_KEY, NOVA, SECRET_KEY, SONNET_45, TITAN, claude_body

from kong_plugins.emulator.models import CATALOGUE
from kong_plugins.emulator.service_tiers import MSG_RESERVATION_NOT_FOUND, MSG_TIER_NOT_SUPPORTED, TIER_HEADER

EMBED = "amazon.titan-embed-text-v2:0"
OFFERED = ["default", "flex", "priority"]
ENUM = "Member must satisfy enum value set: [reserved, priority, default, flex]"
NULL_TYPE = ("1 validation error detected: Value null at 'serviceTier.type' failed to satisfy constraint: "
             "Member must not be null")
NOT_SUPPORTED = "The provided service tier is not supported for this model."
BODIES = {SONNET_45: claude_body(), NOVA: {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
          TITAN: {"inputText": "hi"}, EMBED: {"inputText": "hi"}}


def _user(text: str = "Hello tiers") -> list[dict]:
    return [{"role": "user", "content": [{"text": text}]}]


def _tier(tier: str | None) -> dict[str, Any]:
    """boto3 keyword arguments asking for ``tier`` (none at all for None)."""
    return {} if tier is None else {"serviceTier": {"type": tier}}


def _invoke_tier(tier: str | None) -> dict[str, Any]:
    return {} if tier is None else {"serviceTier": tier}


def _error(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    response = exc.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return response["Error"]


def _signed_post(url: str, path: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    """A SigV4-signed POST with a body botocore's client-side validation would refuse to send."""
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=url + path, data=data,
                         headers={"Content-Type": "application/json", **(headers or {})})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock", "us-east-1").add_auth(request)
    return requests.post(url + path, data=data, headers=dict(request.headers), timeout=10)


def _stream_tier(client, model: str, **kwargs: Any) -> dict[str, Any]:
    events = list(client.converse_stream(modelId=model, messages=_user(), **kwargs)["stream"])
    assert next(iter(events[-1])) == "metadata"
    return events[-1]["metadata"]


# -- The model table ----------------------------------------------------------------------------

def test_model_table_lists_offered_tiers() -> None:
    for info in CATALOGUE.values():
        expected = OFFERED if info.family in ("claude", "nova") else ["default"]
        assert sorted(info.service_tiers) == expected, info.base_id
    assert MSG_TIER_NOT_SUPPORTED == NOT_SUPPORTED and MSG_RESERVATION_NOT_FOUND == "Reservation not found."


# -- Echo of the tier that served ---------------------------------------------------------------

@pytest.mark.parametrize("model", [SONNET_45, NOVA])
@pytest.mark.parametrize("tier", OFFERED)
def test_converse_echoes_the_tier(client, model: str, tier: str) -> None:
    response = client.converse(modelId=model, messages=_user(), **_tier(tier))
    assert response["serviceTier"] == {"type": tier}
    assert response["output"]["message"]["content"][0]["text"].startswith("Emulated reply to:")


@pytest.mark.parametrize("model", [SONNET_45, NOVA, TITAN])
def test_converse_without_a_tier_echoes_default(client, model: str) -> None:
    assert client.converse(modelId=model, messages=_user())["serviceTier"] == {"type": "default"}
    assert _stream_tier(client, model)["serviceTier"] == {"type": "default"}


@pytest.mark.parametrize("model", [SONNET_45, NOVA])
@pytest.mark.parametrize("tier", OFFERED)
def test_converse_stream_metadata_carries_the_tier(client, model: str, tier: str) -> None:
    metadata = _stream_tier(client, model, **_tier(tier))
    assert metadata["serviceTier"] == {"type": tier}
    assert metadata["usage"]["outputTokens"] > 0 and metadata["metrics"]["latencyMs"] >= 0


def test_converse_raw_body_echo(emulator) -> None:
    """On the wire, next to usage and metrics (not only as botocore parses it)."""
    response = _signed_post(emulator.url, f"/model/{NOVA}/converse",
                            {"messages": _user(), "serviceTier": {"type": "flex"}})
    assert response.status_code == 200 and response.json()["serviceTier"] == {"type": "flex"}


@pytest.mark.parametrize("model", [SONNET_45, NOVA])
@pytest.mark.parametrize("tier", [*OFFERED, None])
@pytest.mark.parametrize("stream", [False, True])
def test_invoke_echoes_the_tier_header(client, model: str, tier: str | None, stream: bool) -> None:
    call = client.invoke_model_with_response_stream if stream else client.invoke_model
    response = call(modelId=model, body=json.dumps(BODIES[model]), **_invoke_tier(tier))
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-service-tier"] == (tier or "default")
    assert response["serviceTier"] == (tier or "default")  # botocore reads the header into the result
    if stream:
        assert list(response["body"])  # the stream itself still arrives whole


@pytest.mark.parametrize("model", [TITAN, EMBED])
def test_standard_only_models_echo_default(client, model: str) -> None:
    for kwargs in ({}, {"serviceTier": "default"}):
        response = client.invoke_model(modelId=model, body=json.dumps(BODIES[model]), **kwargs)
        assert response["serviceTier"] == "default"


# -- Validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("value", ["turbo", "Priority", "standard", ""])
def test_converse_unknown_tier(client, stream: bool, value: str) -> None:
    call = client.converse_stream if stream else client.converse
    error = _error(call, modelId=SONNET_45, messages=_user(), **_tier(value))
    assert error == {"Code": "ValidationException", "Message": (
        f"1 validation error detected: Value '{value}' at 'serviceTier.type' failed to satisfy constraint: {ENUM}")}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("value", ["turbo", "FLEX"])
def test_invoke_unknown_tier_header(client, stream: bool, value: str) -> None:
    call = client.invoke_model_with_response_stream if stream else client.invoke_model
    error = _error(call, modelId=SONNET_45, body=json.dumps(claude_body()), serviceTier=value)
    assert error == {"Code": "ValidationException", "Message": (
        f"1 validation error detected: Value '{value}' at 'serviceTier' failed to satisfy constraint: {ENUM}")}


@pytest.mark.parametrize("service_tier", ["flex", {}, {"type": None}, {"kind": "flex"}, ["flex"]])
def test_converse_tier_without_a_type(emulator, service_tier: Any) -> None:
    response = _signed_post(emulator.url, f"/model/{SONNET_45}/converse",
                            {"messages": _user(), "serviceTier": service_tier})
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"].startswith("ValidationException:")
    assert response.json() == {"message": NULL_TYPE}


def test_converse_null_tier_is_absent(emulator) -> None:
    response = _signed_post(emulator.url, f"/model/{SONNET_45}/converse", {"messages": _user(), "serviceTier": None})
    assert response.status_code == 200 and response.json()["serviceTier"] == {"type": "default"}


@pytest.mark.parametrize("tier", ["flex", "priority"])
def test_tier_the_model_does_not_offer(client, tier: str) -> None:
    expected = {"Code": "ValidationException", "Message": NOT_SUPPORTED}
    assert _error(client.converse, modelId=TITAN, messages=_user(), **_tier(tier)) == expected
    assert _error(client.converse_stream, modelId=TITAN, messages=_user(), **_tier(tier)) == expected
    for model in (TITAN, EMBED):
        assert _error(client.invoke_model, modelId=model, body=json.dumps(BODIES[model]), serviceTier=tier) == expected
    assert _error(client.invoke_model_with_response_stream, modelId=TITAN, body=json.dumps(BODIES[TITAN]),
                  serviceTier=tier) == expected


@pytest.mark.parametrize("model", [SONNET_45, NOVA, TITAN])
def test_reserved_without_a_reservation(client, model: str) -> None:
    expected = {"Code": "ValidationException", "Message": "Reservation not found."}
    assert _error(client.converse, modelId=model, messages=_user(), **_tier("reserved")) == expected
    assert _error(client.converse_stream, modelId=model, messages=_user(), **_tier("reserved")) == expected
    for call in (client.invoke_model, client.invoke_model_with_response_stream):
        assert _error(call, modelId=model, body=json.dumps(BODIES[model]), serviceTier="reserved") == expected


def test_invalid_tier_is_refused_before_faults(emulator, client) -> None:
    emulator.add_fault("throttle", operation="converse")
    assert _error(client.converse, modelId=TITAN, messages=_user(), **_tier("flex"))["Message"] == NOT_SUPPORTED
    with pytest.raises(ClientError) as exc:  # the fault is still there for the next valid request
        client.converse(modelId=TITAN, messages=_user())
    assert exc.value.response["Error"]["Code"] == "ThrottlingException"
    assert emulator.stats()["operations"] == {"converse": {"400": 1, "429": 1}}


# -- served_tier: what Bedrock reports serving -------------------------------------------------

def test_served_tier_overrides_the_echo_until_reset(emulator, client) -> None:
    url = f"{emulator.url}/_emulator/settings"
    assert requests.get(url, timeout=5).json()["served_tier"] is None
    updated = requests.put(url, json={"served_tier": "default"}, timeout=5)
    assert updated.status_code == 200 and updated.json()["served_tier"] == "default"
    assert requests.get(url, timeout=5).json()["served_tier"] == "default"
    assert client.converse(modelId=SONNET_45, messages=_user(), **_tier("priority"))["serviceTier"] == \
        {"type": "default"}
    assert _stream_tier(client, SONNET_45, **_tier("flex"))["serviceTier"] == {"type": "default"}
    body = json.dumps(claude_body())
    assert client.invoke_model(modelId=SONNET_45, body=body, serviceTier="priority")["serviceTier"] == "default"
    assert client.invoke_model_with_response_stream(modelId=SONNET_45, body=body,
                                                    serviceTier="flex")["serviceTier"] == "default"
    assert requests.post(f"{emulator.url}/_emulator/reset", timeout=5).status_code == 200
    assert requests.get(url, timeout=5).json()["served_tier"] is None
    assert client.converse(modelId=SONNET_45, messages=_user(), **_tier("priority"))["serviceTier"] == \
        {"type": "priority"}


def test_served_tier_set_back_to_null_and_in_process(emulator, client) -> None:
    assert emulator.update_settings(served_tier="flex")["served_tier"] == "flex"
    assert client.converse(modelId=NOVA, messages=_user())["serviceTier"] == {"type": "flex"}
    response = requests.put(f"{emulator.url}/_emulator/settings", json={"served_tier": None}, timeout=5)
    assert response.json()["served_tier"] is None
    assert client.converse(modelId=NOVA, messages=_user())["serviceTier"] == {"type": "default"}


def test_served_tier_does_not_rescue_an_invalid_request(emulator, client) -> None:
    emulator.update_settings(served_tier="default")
    assert _error(client.converse, modelId=TITAN, messages=_user(), **_tier("flex"))["Message"] == NOT_SUPPORTED
    assert _error(client.invoke_model, modelId=SONNET_45, body=json.dumps(claude_body()),
                  serviceTier="reserved")["Message"] == "Reservation not found."


SERVED_TIER_ERROR = "served_tier must be null or one of: reserved, priority, default, flex"


@pytest.mark.parametrize("bad, message", [
    ({"served_tier": "turbo"}, SERVED_TIER_ERROR), ({"served_tier": "Flex"}, SERVED_TIER_ERROR),
    ({"served_tier": 1}, SERVED_TIER_ERROR), ({"flex_latency_ms": -1}, "flex_latency_ms must be >= 0"),
    ({"flex_latency_ms": "slow"}, "flex_latency_ms must be a number"),
])
def test_invalid_tier_settings_are_refused(emulator, bad: dict, message: str) -> None:
    url = f"{emulator.url}/_emulator/settings"
    response = requests.put(url, json={"output_tokens": 3, **bad}, timeout=5)
    assert response.status_code == 400 and response.json() == {"error": message}
    settings = requests.get(url, timeout=5).json()  # nothing of a refused update is applied
    assert settings["served_tier"] is None and settings["flex_latency_ms"] == 0 and settings["output_tokens"] == 12


# -- Flex latency -------------------------------------------------------------------------------

def test_flex_latency_applies_to_flex_only(emulator, client) -> None:
    emulator.update_settings(flex_latency_ms=300)
    body = json.dumps(claude_body())

    def latency(**kwargs: Any) -> int:
        response = client.invoke_model(modelId=SONNET_45, body=body, **kwargs)
        return int(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-invocation-latency"])

    started = time.monotonic()
    assert latency(serviceTier="flex") >= 300
    assert time.monotonic() - started >= 0.3
    assert latency(serviceTier="priority") < 300 and latency() < 300
    emulator.update_settings(served_tier="flex")  # served as Flex: waits like Flex
    assert latency(serviceTier="priority") >= 300


# -- Request log --------------------------------------------------------------------------------

def test_request_log_records_the_requested_tier(emulator, client) -> None:
    client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body()), serviceTier="priority")
    client.converse(modelId=SONNET_45, messages=_user(), **_tier("flex"))
    client.converse_stream(modelId=NOVA, messages=_user())
    _error(client.invoke_model, modelId=SONNET_45, body=json.dumps(claude_body()), serviceTier="turbo")
    _error(client.converse, modelId=SONNET_45, messages=_user(), **_tier("reserved"))
    log = emulator.requests()
    assert [(e["operation"], e["service_tier"], e["status"]) for e in log] == [
        ("invoke", "priority", 200), ("converse", "flex", 200), ("converse-stream", None, 200),
        ("invoke", "turbo", 400), ("converse", "reserved", 400)]
    assert log[0]["headers"][TIER_HEADER.lower()] == "priority"
    over_http = requests.get(f"{emulator.url}/_emulator/requests", timeout=5).json()
    assert [e["service_tier"] for e in over_http] == ["priority", "flex", None, "turbo", "reserved"]
