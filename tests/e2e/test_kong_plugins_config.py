"""Kong's bundled plugins as kong.yaml configures them: per-role request limits, the
admin-only route, request size, correlation id, Kong's prometheus metrics, access log."""

import requests

from tests.stack import GatewayStack

ASK = {"model": "haiku", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]}


def test_per_role_request_rate_limits_and_admin_only_route():
    with GatewayStack(rate_limits=True) as stack:
        statuses = [requests.post(stack.proxy_url + "/v1/messages", json=ASK, timeout=10,
                                  headers={"X-API-Key": "dev-guest-key"}) for _ in range(3)]
        limited = [r for r in statuses if r.status_code == 429]
        assert limited, [r.status_code for r in statuses]                 # guest: 1 request per second
        assert limited[0].json()["error"] == {"type": "rate_limit_error",   # Kong's own rate limit, Anthropic's shape
                                              "message": "API rate limit exceeded"}
        assert limited[0].headers["X-RateLimit-Limit-Second"] == "1"
        admin = [requests.post(stack.proxy_url + "/v1/messages", json=ASK, timeout=10,
                               headers={"X-API-Key": "dev-admin-key"}).status_code for _ in range(5)]
        assert admin == [200] * 5                                          # admin: no request limit

        opus = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
        denied = requests.post(stack.proxy_url + "/v1/chat/opus", json=opus, timeout=10,
                               headers={"X-API-Key": "dev-developer-key"})
        assert denied.status_code == 403   # Kong's acl, in the OpenAI shape (post-function's body_filter)
        assert denied.json()["error"]["message"] == "You cannot consume this service"
        allowed = requests.post(stack.proxy_url + "/v1/chat/opus", json=opus, timeout=10,
                                headers={"X-API-Key": "dev-admin-key"})
        assert allowed.status_code == 200 and allowed.headers["X-Bedrock-Model"] == "opus"


def test_size_limit_correlation_id_and_kong_metrics(stack):
    big = requests.post(stack.proxy_url + "/v1/messages", data=b"x" * (11 * 1024 * 1024), timeout=30,
                        headers={"X-API-Key": "dev-admin-key", "Content-Type": "application/json"})
    assert big.status_code == 413
    r = requests.post(stack.proxy_url + "/v1/messages", json=ASK, timeout=10, headers={"X-API-Key": "dev-admin-key"})
    assert r.status_code == 200 and len(r.headers["X-Correlation-ID"]) == 36
    metrics = requests.get(f"http://127.0.0.1:{stack.status_port}/metrics", timeout=5).text
    assert 'kong_http_requests_total{service="bedrock-relay",route="anthropic-messages",code="200"' in metrics


def test_authorization_never_reaches_the_relay(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", json=ASK, timeout=10,
                      headers={"X-API-Key": "dev-admin-key", "Authorization": "Bearer some-other-secret"})
    assert r.status_code == 200
    sent = stack.emulator_control("GET", "/_emulator/requests").json()[-1]["headers"]
    assert "some-other-secret" not in str(sent)
