"""Kong's own refusals (key-auth, rate-limiting, nginx's body limit, the router) as each SDK's own exception.

kong.yaml's post-function header_filter/body_filter turns Kong's {"message": ...} into the caller's format: the
OpenAI SDK's AuthenticationError/RateLimitError with its error object, the Anthropic SDK's (Claude Code's) with
{"type": "error", ...}, boto3's ClientError named by x-amzn-ErrorType. Kong's message text and status stay.
"""
from __future__ import annotations

import anthropic
import boto3
import openai
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.clients import bedrock_runtime
from tests.stack import GatewayStack

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Hi"}]}]
TOO_LARGE = "x" * (10 * 1024 * 1024 + 1)   # kong.conf's nginx_http_client_max_body_size = 10m


@pytest.fixture(scope="module")
def stack():
    """kong.yaml's per-consumer request limits on (guest-user: 1 a second); ports in this suite's own range."""
    with GatewayStack(rate_limits=True, proxy_port=25040, status_port=25140, relay_port=25788, metrics_port=25940,
                      emulator_port=25041) as running:
        yield running


def _oa(stack, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=key, max_retries=0)


def _claude(stack, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.proxy_url, api_key=key, max_retries=0)


def _boto(stack, key: str | None):
    if key is not None:
        return bedrock_runtime(stack, key)
    return boto3.client("bedrock-runtime", endpoint_url=stack.proxy_url, region_name="us-east-1",   # SigV4 only
                        aws_access_key_id="client-side", aws_secret_access_key="client-side",
                        config=Config(retries={"total_max_attempts": 1}))


def _until_refused(call, refused: type[Exception], attempts: int = 5):
    """Calls until Kong's rate limit (1 a second for guest-user) refuses one; earlier answers are ignored."""
    for _ in range(attempts):
        try:
            call()
        except refused as e:
            return e
        except Exception:   # noqa: BLE001 - a call the limit let through (answered or refused by our plugins)
            continue
    raise AssertionError("the rate limit never refused a call")


def test_openai_sdk_gets_authentication_errors_in_its_format(stack):
    for key, message in ((None, "No API key found in request"), ("not-a-key", "Unauthorized")):
        no_key = {"Authorization": openai.Omit()} if key is None else None   # the SDK sends none at all
        with pytest.raises(openai.AuthenticationError) as refused:
            _oa(stack, key or "unused").chat.completions.create(
                model="haiku", messages=[{"role": "user", "content": "hi"}], extra_headers=no_key)
        error = refused.value
        assert error.status_code == 401 and error.body["message"] == message
        assert (error.type, error.code, error.body["param"]) == ("invalid_request_error", "invalid_api_key", None)
        assert key is None or key not in error.response.text


def test_anthropic_sdk_gets_authentication_errors_in_its_format(stack):
    for key, message in ((None, "No API key found in request"), ("not-a-key", "Unauthorized")):
        no_key = {"X-Api-Key": anthropic.Omit(), "Authorization": anthropic.Omit()} if key is None else None
        with pytest.raises(anthropic.AuthenticationError) as refused:
            _claude(stack, key or "unused").messages.create(model="claude-haiku-4-5", max_tokens=8,
                                                            messages=[{"role": "user", "content": "hi"}],
                                                            extra_headers=no_key)
        assert refused.value.status_code == 401
        assert refused.value.body == {"type": "error", "error": {"type": "authentication_error", "message": message}}


def test_boto3_gets_aws_error_codes_for_a_missing_or_unknown_key(stack):
    for key, code, message in ((None, "MissingAuthenticationTokenException", "No API key found in request"),
                               ("not-a-key", "UnrecognizedClientException", "Unauthorized")):
        with pytest.raises(ClientError) as refused:
            _boto(stack, key).converse(modelId=HAIKU, messages=MESSAGES)
        response = refused.value.response
        assert response["Error"] == {"Code": code, "Message": message}
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 401


def test_acl_refusal_is_the_openai_sdks_permission_error(stack):
    with pytest.raises(openai.PermissionDeniedError) as refused:   # /v1/chat/opus: the acl plugin, admins only
        _oa(stack, "dev-developer-key").post("/chat/opus", cast_to=object,
                                             body={"messages": [{"role": "user", "content": "hi"}]})
    assert refused.value.status_code == 403 and refused.value.code == "permission_denied"
    assert refused.value.body["message"] == "You cannot consume this service"


def test_a_rate_limited_consumer_gets_each_sdks_rate_limit_error_with_kongs_headers(stack):
    openai_refusal = _until_refused(lambda: _oa(stack, "dev-guest-key").models.list(), openai.RateLimitError)
    assert openai_refusal.body["message"] == "API rate limit exceeded" and openai_refusal.type == "rate_limit_error"
    headers = openai_refusal.response.headers
    assert int(headers["Retry-After"]) >= 0 and headers["RateLimit-Limit"] == "1"
    claude = _claude(stack, "dev-guest-key")
    claude_refusal = _until_refused(
        lambda: claude.messages.count_tokens(model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}]),
        anthropic.RateLimitError)
    assert claude_refusal.body == {"type": "error",
                                   "error": {"type": "rate_limit_error", "message": "API rate limit exceeded"}}
    assert "Retry-After" in claude_refusal.response.headers
    boto = _boto(stack, "dev-guest-key")
    throttled = _until_refused(lambda: boto.converse(modelId=SONNET, messages=MESSAGES), ClientError)
    while throttled.response["Error"]["Code"] == "AccessDeniedException":   # our plugin's: guests may not use sonnet
        throttled = _until_refused(lambda: boto.converse(modelId=SONNET, messages=MESSAGES), ClientError)
    assert throttled.response["Error"] == {"Code": "ThrottlingException", "Message": "API rate limit exceeded"}
    assert throttled.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_a_body_over_the_limit_is_each_sdks_413(stack):
    with pytest.raises(openai.APIStatusError) as too_large:
        _oa(stack, "dev-developer-key").chat.completions.create(
            model="haiku", messages=[{"role": "user", "content": TOO_LARGE}])
    assert too_large.value.status_code == 413 and too_large.value.body["message"] == "Payload too large"
    assert too_large.value.code == "request_too_large" and TOO_LARGE[:100] not in too_large.value.response.text
    with pytest.raises(anthropic.APIStatusError) as claude_too_large:
        _claude(stack, "dev-developer-key").messages.create(
            model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": TOO_LARGE}])
    assert claude_too_large.value.status_code == 413
    assert claude_too_large.value.body == {"type": "error", "error": {"type": "request_too_large",
                                                                      "message": "Payload too large"}}
    with pytest.raises(ClientError) as boto_too_large:
        _boto(stack, "dev-developer-key").converse(modelId=HAIKU, messages=[{"role": "user",
                                                                             "content": [{"text": TOO_LARGE}]}])
    assert boto_too_large.value.response["Error"] == {"Code": "ValidationException", "Message": "Payload too large"}


def test_our_plugins_refusals_and_proxied_answers_are_left_as_they_were(stack):
    with pytest.raises(ClientError) as denied:   # bedrock-proxy's own: developers may use sonnet, guests not
        _boto(stack, "dev-ops-key").converse(modelId=SONNET, messages=MESSAGES)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "rate limit" not in denied.value.response["Error"]["Message"]
    blocked = requests.post(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": "dev-developer-key"},
                            json={"model": "haiku", "messages": [{"role": "user", "content": "4111 1111 1111 1111"}]},
                            timeout=10)
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "content_blocked"
    assert blocked.headers.get("Content-Length") == str(len(blocked.content))   # untouched: not re-framed


def test_kongs_html_error_page_becomes_the_same_json(stack):
    """kong.response.error picks its template by Accept (kong/tools/http.lua): the message is read from the HTML."""
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"Accept": "text/html"}, json={}, timeout=10)
    assert r.status_code == 401 and r.headers["Content-Type"] == "application/json"
    assert r.json() == {"type": "error",
                        "error": {"type": "authentication_error", "message": "No API key found in request"}}


def test_no_route_is_each_apis_not_found(stack):
    r = requests.get(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": "dev-developer-key"}, timeout=10)
    assert r.status_code == 404
    assert r.json() == {"error": {"message": "no Route matched with those values", "type": "invalid_request_error",
                                  "param": None, "code": "not_found"}}
    native = requests.get(stack.proxy_url + "/model/x/invoke", timeout=10)
    assert native.status_code == 404 and native.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert native.json() == {"message": "no Route matched with those values"}
    other = requests.get(stack.proxy_url + "/elsewhere", timeout=10)
    assert other.json()["message"] == "no Route matched with those values" and "request_id" in other.json()


def test_a_normal_chat_request_costs_the_same_pdk_round_trips(stack):
    """post-function is bundled Lua: its header_filter/body_filter add no RPC to the plugin server."""
    headers = {"X-API-Key": "dev-developer-key"}
    body = {"model": "haiku", "messages": [{"role": "user", "content": "hi"}]}
    requests.post(stack.proxy_url + "/v1/chat/completions", json=body, headers=headers, timeout=10)
    r = requests.post(stack.proxy_url + "/v1/chat/completions", json=body, headers=headers, timeout=10)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
    request_id = r.headers["X-Kong-Request-Id"]
    stack.harness.wait_for_log(request_id)
    assert stack.harness.request_stats(request_id)["rpc_calls"] == 8   # as test_walking_skeleton's /v1/messages
