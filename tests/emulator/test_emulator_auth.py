"""SigV4 verification, proven with boto3/botocore as the signer."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from emulator_helpers import ACCESS_KEY, HAIKU_3, SECRET_KEY, SONNET_45, claude_body, make_client

from kong_plugins.emulator import EmulatorServer, EmulatorSettings


def _error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _signed(url: str, body: bytes, secret: str = SECRET_KEY, token: str | None = None,
            service: str = "bedrock") -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/json", "Accept": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY, secret, token), service, "us-east-1").add_auth(request)
    return dict(request.headers)


def test_boto3_with_right_credentials_passes(client) -> None:
    response = client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body()))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_wrong_secret_is_invalid_signature(emulator) -> None:
    bad = make_client(emulator.url, secret_key="not-the-secret")
    with pytest.raises(ClientError) as exc:
        bad.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body()))
    assert _error_code(exc) == "InvalidSignatureException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "does not match the signature you provided" in exc.value.response["Error"]["Message"]


def test_unknown_access_key_is_unrecognized_client(emulator) -> None:
    bad = make_client(emulator.url, access_key="AKIDUNKNOWN000000000")
    with pytest.raises(ClientError) as exc:
        bad.converse(modelId=SONNET_45, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert _error_code(exc) == "UnrecognizedClientException"
    assert exc.value.response["Error"]["Message"] == "The security token included in the request is invalid."


def test_missing_authorization(emulator) -> None:
    response = requests.post(f"{emulator.url}/model/{HAIKU_3}/invoke", json=claude_body(), timeout=5)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException:")
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["Date"]


def test_tampered_body_fails(emulator) -> None:
    url = f"{emulator.url}/model/{quote(HAIKU_3, safe='')}/invoke"
    body = json.dumps(claude_body()).encode()
    headers = _signed(url, body)
    response = requests.post(url, data=body.replace(b"hello", b"HELLO"), headers=headers, timeout=5)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"].startswith("InvalidSignatureException")


def test_wrong_service_name_rejected(emulator) -> None:
    url = f"{emulator.url}/model/{quote(HAIKU_3, safe='')}/invoke"
    body = json.dumps(claude_body()).encode()
    response = requests.post(url, data=body, headers=_signed(url, body, service="bedrock-runtime"), timeout=5)
    assert response.status_code == 403
    assert "correct service" in response.json()["message"]


@pytest.mark.parametrize("path_id", [
    quote(SONNET_45, safe=":"),  # Anthropic SDK style: ':' left literal
    quote(SONNET_45, safe=""),  # botocore style: ':' as %3A
    quote(f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{SONNET_45}", safe=""),
])
def test_raw_signed_paths_verify_and_decode_once(emulator, path_id: str) -> None:
    url = f"{emulator.url}/model/{path_id}/invoke"
    body = json.dumps(claude_body()).encode()
    response = requests.post(url, data=body, headers=_signed(url, body), timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "claude-sonnet-4-5-20250929"
    assert emulator.requests()[-1]["model_id"].endswith(SONNET_45)


def test_session_token_is_required_when_configured() -> None:
    settings = EmulatorSettings(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, session_token="tok-123")
    with EmulatorServer(settings) as emu:
        good = make_client(emu.url, session_token="tok-123")
        good.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body()))
        for token in (None, "tok-999"):
            with pytest.raises(ClientError) as exc:
                make_client(emu.url, session_token=token).invoke_model(
                    modelId=SONNET_45, body=json.dumps(claude_body()))
            assert _error_code(exc) == "UnrecognizedClientException"
        logged = emu.requests()[0]["headers"]
        assert logged["authorization"] == "<redacted>"
        assert logged["x-amz-security-token"] == "<redacted>"


def test_bearer_token_when_configured() -> None:
    settings = EmulatorSettings(bearer_token="bedrock-api-key-emulator")
    with EmulatorServer(settings) as emu:
        url = f"{emu.url}/model/{HAIKU_3}/invoke"
        ok = requests.post(url, json=claude_body(), timeout=5,
                           headers={"Authorization": "Bearer bedrock-api-key-emulator"})
        assert ok.status_code == 200
        bad = requests.post(url, json=claude_body(), timeout=5, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 403


def test_settings_from_env_defaults_and_overrides() -> None:
    defaults = EmulatorSettings.from_env({})
    assert (defaults.access_key_id, defaults.secret_access_key) == (ACCESS_KEY, SECRET_KEY)
    custom = EmulatorSettings.from_env({"BEDROCK_EMULATOR_ACCESS_KEY_ID": "AKIDX",
                                        "BEDROCK_EMULATOR_SECRET_ACCESS_KEY": "s",
                                        "BEDROCK_EMULATOR_SESSION_TOKEN": "t"}, port=9)
    assert (custom.access_key_id, custom.secret_access_key, custom.session_token, custom.port) == \
        ("AKIDX", "s", "t", 9)
