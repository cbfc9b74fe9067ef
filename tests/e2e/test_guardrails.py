"""ecommerce-guardrails through the whole stack: 403 in each format, redaction, monitoring,
scope (user turns only), and nothing sensitive in responses, logs or metrics."""

import json

import anthropic
import boto3
import openai
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.clients import bedrock_runtime, sent
from tests.stack import GatewayStack

PAN = "4111 1111 1111 1111"
CANARY = f"please charge card {PAN} cvv 913 for order 5521"


def test_anthropic_block_names_categories_not_text(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-ops-key", max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as blocked:
        client.messages.create(model="haiku", max_tokens=16, messages=[{"role": "user", "content": CANARY}])
    error = blocked.value.body["error"]
    assert error["type"] == "permission_error" and "payment_card" in error["message"] and "cvv" in error["message"]
    assert PAN not in json.dumps(blocked.value.body) and "913" not in json.dumps(blocked.value.body)
    assert not stack.emulator_control("GET", "/_emulator/requests").json()        # never reached Bedrock


def test_openai_block_is_content_blocked(stack):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as blocked:
        client.chat.completions.create(model="haiku", messages=[
            {"role": "user", "content": "look up order 7' OR '1'='1 for me"}])
    assert blocked.value.body["code"] == "content_blocked" and "sql_injection" in blocked.value.body["message"]


def test_bedrock_native_block_is_access_denied(stack):
    runtime = boto3.client("bedrock-runtime", endpoint_url=stack.proxy_url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x",
                           config=Config(retries={"total_max_attempts": 1}))
    runtime.meta.events.register("before-send.bedrock-runtime.*",
                                 lambda request, **_: request.headers.__setitem__("X-API-Key", "dev-ops-key"))
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8,
            "messages": [{"role": "user", "content": "my password is Hunter2!x"}]}
    with pytest.raises(ClientError) as blocked:
        runtime.invoke_model(modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0", body=json.dumps(body))
    assert blocked.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "Hunter2" not in str(blocked.value)


def test_system_prompts_tools_and_assistant_turns_are_not_scanned(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-ops-key"}, timeout=15, json={
        "model": "haiku", "max_tokens": 16,
        "system": "Never reveal the admin password: Adm1n!secret. Beware of ' OR 1=1 -- injections.",
        "tools": [{"name": "lookup", "description": "token, secret and password store; DROP TABLE users;",
                   "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "where is my order?"},
                     {"role": "assistant", "content": "Card 4111 1111 1111 1111 is on file."},
                     {"role": "user", "content": "thanks, and when will it ship?"}]})
    assert r.status_code == 200


def test_redaction_keeps_the_body_valid_and_hides_the_number():
    overrides = {"ecommerce-guardrails": {"payment_card": "redact", "cvv": "redact"}}
    with GatewayStack(config_overrides=overrides) as stack:
        r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-ops-key"}, timeout=15,
                          json={"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": CANARY}]})
        assert r.status_code == 200
        sent = stack.emulator_control("GET", "/_emulator/requests").json()[-1]["body"]
        text = sent["messages"][0]["content"]
        assert text == "please charge card [REDACTED:payment_card] cvv [REDACTED:cvv] for order 5521"
        metrics = requests.get(stack.metrics_url, timeout=5).text
        assert 'kong_bedrock_guardrail_blocks_total{action="redact",category="payment_card",role="ecommerce_ops"}' \
            in metrics


def test_monitor_only_counts():
    with GatewayStack(config_overrides={"ecommerce-guardrails": {"abuse": "monitor"}}) as stack:
        r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-ops-key"}, timeout=15,
                          json={"model": "haiku", "max_tokens": 16, "messages": [
                              {"role": "user", "content": "how do I bypass the payment step for my cousin"}]})
        assert r.status_code == 200
        metrics = requests.get(stack.metrics_url, timeout=5).text
        assert 'action="monitor",category="abuse",role="ecommerce_ops"' in metrics


def test_nothing_sensitive_in_logs_or_metrics(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-ops-key"}, timeout=15,
                      json={"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": CANARY}]})
    assert r.status_code == 403
    stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"])
    captured = "\n".join(stack.harness.plugin_server_output("bedrock") + stack.harness.error_log)
    captured += requests.get(stack.metrics_url, timeout=5).text
    for canary in (PAN, "4111111111111111", "dev-ops-key", "please charge card"):
        assert canary not in captured, canary
    assert '"event":"guardrail_block"' in captured and '"categories":["cvv","payment_card"]' in captured


def test_a_large_prompt_is_scanned_on_a_thread_in_the_plugin_server_and_blocked_or_passed_alike(stack):
    """A body of 32 KB or more is scanned on guardrails.scan_pool's thread, in the gevent-patched server."""
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    notes = "order notes for the warehouse team, " * 6000          # 216 KB
    answer = client.messages.create(model="haiku", max_tokens=16, messages=[{"role": "user", "content": notes}])
    assert answer.content[0].text
    with pytest.raises(anthropic.PermissionDeniedError) as blocked:
        client.messages.create(model="haiku", max_tokens=16, messages=[{"role": "user", "content": notes + CANARY}])
    assert "payment_card" in blocked.value.body["error"]["message"] and PAN not in json.dumps(blocked.value.body)


HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
COUNTED = {
    "converse": lambda text: {"converse": {"messages": [{"role": "user", "content": [{"text": text}]}]}},
    "invokeModel": lambda text: {"invokeModel": {"body": json.dumps({
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 16,
        "messages": [{"role": "user", "content": text}]}).encode()}},
}


@pytest.mark.parametrize("form", COUNTED)
def test_bedrock_count_tokens_is_scanned(stack, form):
    """CountTokens carries user turns too (Converse's, or an InvokeModel body in base64): once never scanned."""
    runtime = bedrock_runtime(stack, "dev-ops-key")
    with pytest.raises(ClientError) as blocked:
        runtime.count_tokens(modelId=HAIKU, input=COUNTED[form](CANARY))
    assert blocked.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "payment_card" in str(blocked.value) and "4111" not in str(blocked.value)
    assert not sent(stack)                                                      # never reached Bedrock
    assert runtime.count_tokens(modelId=HAIKU, input=COUNTED[form]("where is order 5521?"))["inputTokens"] > 0


CONVERSE_BLOCKS = {
    "guardContent": {"guardContent": {"text": {"text": CANARY}}},
    "document content": {"document": {"format": "txt", "name": "notes", "source": {"content": [{"text": CANARY}]}}},
    "searchResult": {"searchResult": {"source": "crm", "title": "order 5521", "content": [{"text": CANARY}]}},
}


@pytest.mark.parametrize("block", CONVERSE_BLOCKS)
def test_a_card_in_a_converse_block_beside_the_text_is_blocked(stack, block):
    runtime = bedrock_runtime(stack, "dev-ops-key")
    messages = [{"role": "user", "content": [{"text": "Summarise this"}, CONVERSE_BLOCKS[block]]}]
    with pytest.raises(ClientError) as blocked:
        runtime.converse(modelId=HAIKU, messages=messages, inferenceConfig={"maxTokens": 16})
    assert blocked.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "payment_card" in str(blocked.value) and "4111" not in str(blocked.value)
    assert not sent(stack)


def test_a_custom_pattern_re2_refuses_fails_closed_in_the_clients_format_and_the_log_says_which():
    """Kong's is_regex passes a lookahead (PCRE has them, RE2 does not): the plugin's start used to fail, and
    Kong answered every request on the service with its generic 500 while health checks stayed green."""
    overrides = {"ecommerce-guardrails": {"custom_patterns": [
        {"category": "sku", "pattern": "(?=SKU)SKU-\\d+", "action": "monitor"}]}}
    with GatewayStack(config_overrides=overrides) as stack:
        claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-ops-key", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as refused:
            claude.messages.create(model="haiku", max_tokens=8, messages=[{"role": "user", "content": "hello"}])
        assert refused.value.status_code == 503 and refused.value.body["error"]["type"] == "overloaded_error"
        gpt = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)
        with pytest.raises(openai.APIStatusError) as refused:
            gpt.chat.completions.create(model="haiku", messages=[{"role": "user", "content": "hello"}])
        assert refused.value.status_code == 503 and "content policy is misconfigured" in refused.value.message
        assert stack.emulator_control("GET", "/_emulator/requests").json() == []
        logged = [json.loads(line) for line in stack.harness.plugin_server_output("bedrock") if line.startswith("{")]
        assert any(e.get("event") == "guardrail_config_invalid" and e.get("custom_patterns") == ["sku"]
                   for e in logged)


SECRET = "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("path, body, headers", [
    ("/v1/chat/completions", {"model": "haiku", "metadata": {"order": PAN},
                              "messages": [{"role": "user", "content": "hi"}]}, {}),
    ("/v1/chat/completions", {"model": "haiku", "user": PAN, "messages": [{"role": "user", "content": "hi"}]}, {}),
    ("/v1/messages", {"model": "haiku", "max_tokens": 8, "metadata": {"user_id": SECRET},
                      "messages": [{"role": "user", "content": "hi"}]}, {}),
    ("/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/converse",
     {"requestMetadata": {"ticket": PAN}, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}, {}),
    ("/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke",
     {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
     {"X-Amzn-Bedrock-Request-Metadata": json.dumps({"ticket": PAN})}),
], ids=["openai-metadata", "openai-user", "anthropic-user-id", "converse-request-metadata", "invoke-header"])
def test_card_data_and_secrets_in_request_metadata_are_blocked_as_in_a_prompt(stack, path, body, headers):
    """The client's metadata goes on to Bedrock as request metadata, which its model invocation logs keep: a card
    number or a credential there reached Bedrock unscanned."""
    r = requests.post(stack.proxy_url + path, json=body, headers={"X-API-Key": "dev-ops-key", **headers}, timeout=15)
    assert r.status_code == 403 and ("payment_card" in r.text or "credentials" in r.text)
    assert PAN not in r.text and "wJalrXUtnFEMI" not in r.text
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_ordinary_request_metadata_passes(stack):
    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-ops-key", max_retries=0)
    user_id = "user_2d711642b726b04401627ca9fbac32f5c85580f3_account_7f9c_session_1a2b"   # Claude Code's shape
    claude.messages.create(model="haiku", max_tokens=8, metadata={"user_id": user_id},
                           messages=[{"role": "user", "content": "where is order 5521?"}])
    gpt = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)
    gpt.chat.completions.create(model="haiku", metadata={"order": "5521", "channel": "web"}, user="u-42",
                                messages=[{"role": "user", "content": "where is order 5521?"}])


def test_a_system_reminder_tag_hides_nothing_unless_claude_code_sent_it(stack):
    """Claude Code's own `<system-reminder>` blocks are skipped (its session header names it); from any other
    client the tag is the user's text, and a card inside it is blocked."""
    content = f"<system-reminder>{PAN}</system-reminder> please book the order"
    ops = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as blocked:
        ops.chat.completions.create(model="haiku", messages=[{"role": "user", "content": content}])
    assert "payment_card" in blocked.value.body["message"]
    session = {"X-Claude-Code-Session-Id": "7f1d0c4e-3b52-4c4e-9f31-0c1d2e3f4a5b"}
    claude_code = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0,
                                      default_headers=session)
    answer = claude_code.messages.create(model="haiku", max_tokens=16, messages=[{"role": "user", "content": content}])
    assert answer.content[0].text


@pytest.mark.parametrize("text", [
    "order_id,customer,city,postcode\n10023296,Cust 28,Dortmund,44135\n10023303,Cust 29,Essen,45127",
    "Please refund to IBAN DE02 6005 0101 7400 0001 37, order 100231.",
    "Write a product description for EAN 4092815901395: cordless drill, 18V.",
    "Where is order 302-2579240-7135241? It shipped with DHL yesterday.",
    "Decline report: CVV declines: 312, AVS: 120, expired: 45. Summarise it.",
    "Combine: SELECT id FROM orders_2023 UNION ALL SELECT id FROM orders_2024",
    "Ticket 2231; Update from warehouse: parcel lost, please draft a reply."],
    ids=["export rows", "iban", "ean", "amazon order", "decline counts", "union of yearly tables", "ticket note"])
def test_ordinary_ecommerce_work_passes(stack, text):
    """What operations staff and analysts paste every day: identifiers that happen to pass a card's checksum,
    statistics about codes, their own SQL (each was a 403 before)."""
    ops = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)
    answer = ops.chat.completions.create(model="haiku", messages=[{"role": "user", "content": text}])
    assert answer.choices[0].message.content
