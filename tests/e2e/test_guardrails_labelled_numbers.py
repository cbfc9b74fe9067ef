"""ecommerce-guardrails' precision review through the whole stack: an order number that passes a card's checks and
a staff bug report reach the model unchanged; a card beside a card's words is still refused in the client's format,
without the number in the reply (tests/guardrails/test_labelled_numbers.py, test_staff_bug_reports.py)."""

import json

import anthropic
import openai
import pytest
import requests
from botocore.exceptions import ClientError

from tests.e2e.clients import bedrock_runtime, sent

ORDER = "Order #4539 1488 0343 6467 was shipped late, please draft an apology to the customer."
CARD = "Order #4539 1488 0343 6467 was paid with her Visa, exp 09/28: retry the charge."
BUG = "If you put quantity=-1 in the cart the total goes negative. Draft a Jira ticket."


def _blocks(stack, category):
    metrics = requests.get(stack.metrics_url, timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("kong_bedrock_guardrail_blocks_total{") and f'category="{category}"' in line)


def test_an_order_number_that_passes_a_cards_checks_reaches_the_model(stack):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)
    before = _blocks(stack, "payment_card")
    reply = client.chat.completions.create(model="haiku", messages=[{"role": "user", "content": ORDER}])
    assert reply.choices[0].message.content
    assert ORDER in json.dumps(sent(stack)[-1]["body"])
    assert _blocks(stack, "payment_card") == before


def test_the_same_number_beside_a_cards_words_is_refused_without_echoing_it(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-ops-key", max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as blocked:
        client.messages.create(model="haiku", max_tokens=16, messages=[{"role": "user", "content": CARD}])
    body = json.dumps(blocked.value.body)
    assert blocked.value.body["error"]["type"] == "permission_error" and "payment_card" in body
    assert "4539" not in body and "6467" not in body
    assert not sent(stack)


def test_a_published_test_card_labelled_as_an_invoice_is_refused_in_bedrocks_format(stack):
    runtime = bedrock_runtime(stack, key="dev-ops-key")
    with pytest.raises(ClientError) as blocked:
        runtime.converse(modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0", messages=[
            {"role": "user", "content": [{"text": "invoice 4111 1111 1111 1111 is overdue"}]}])
    assert blocked.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "4111" not in str(blocked.value.response)


def test_a_staff_bug_report_about_a_negative_total_reaches_the_model(stack):
    runtime = bedrock_runtime(stack, key="dev-ops-key")
    reply = runtime.converse(modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0",
                             messages=[{"role": "user", "content": [{"text": BUG}]}])
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert BUG in json.dumps(sent(stack)[-1]["body"])
