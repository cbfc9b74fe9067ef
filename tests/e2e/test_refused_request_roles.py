"""A request refused before token-meter's access ran (Kong's acl, the guardrails) is counted under the
consumer's own role, not the default one: dashboards and alerts per role saw developers' refusals as `other`'s."""

import requests

from tests.e2e.clients import metric, metric_reaches


def series(role, status, consumer):
    return f'kong_bedrock_requests_total{{consumer="{consumer}",model="none",role="{role}",status="{status}"}}'


def test_an_acl_refusal_counts_under_the_consumers_role(stack):
    developer = series("developer", "403", "dev-user-1")
    before = metric(stack, developer)
    r = requests.post(stack.proxy_url + "/v1/chat/opus", headers={"X-API-Key": "dev-developer-key"}, timeout=15,
                      json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 403                                # Kong's acl: the route is the admin group's
    assert metric_reaches(stack, developer, before + 1)
    assert metric(stack, series("other", "403", "dev-user-1")) == 0


def test_a_guardrail_block_counts_under_the_consumers_role(stack):
    ops = series("ecommerce_ops", "403", "ops-user")
    before = metric(stack, ops)
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-ops-key"}, timeout=15,
                      json={"model": "haiku", "max_tokens": 16,
                            "messages": [{"role": "user", "content": "refund to card 4111 1111 1111 1111"}]})
    assert r.status_code == 403
    assert metric_reaches(stack, ops, before + 1)
