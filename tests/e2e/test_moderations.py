"""OpenAI's moderations.create through the stack, answered by ecommerce-guardrails: text a chat call would have
blocked is reported, not blocked, and goes nowhere (no model call, no log, no budget)."""

import openai
import pytest
import requests

CARD = "4111 1111 1111 1111"


def guardrail_findings(stack):
    text = requests.get(stack.metrics_url, timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("kong_bedrock_guardrail_blocks_total{"))


def test_the_sdks_moderation_reports_what_the_guardrails_would_block_without_blocking_it(stack):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):                    # the same text, sent to a model
        client.chat.completions.create(model="haiku", max_tokens=8, messages=[{"role": "user", "content": CARD}])
    before = guardrail_findings(stack)
    assert before >= 1
    review = f"Great mug! My card {CARD} was charged twice."
    raw = client.moderations.with_raw_response.create(input=[review, "Arrived on time, thanks."])
    answer = raw.parse()
    assert raw.http_response.status_code == 200 and answer.model == "ecommerce-guardrails"
    flagged, fine = answer.results
    assert flagged.flagged and flagged.categories.model_extra["payment_card"] is True
    assert not fine.flagged and not any(fine.categories.model_extra.values())
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []       # no model call
    stack.harness.wait_for_log(raw.headers["X-Kong-Request-Id"])
    captured = "\n".join(stack.harness.plugin_server_output("bedrock") + stack.harness.error_log)
    assert CARD not in captured and "charged twice" not in captured and CARD not in raw.http_response.text
    assert guardrail_findings(stack) == before                                     # a question, not a block


def test_bad_moderation_input_is_a_400_in_openais_format(stack):
    r = requests.post(stack.proxy_url + "/v1/moderations", headers={"X-API-Key": "dev-ops-key"}, timeout=15,
                      json={"input": 42})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"


@pytest.mark.parametrize("path, body", [
    ("/v1/moderations", {"input": "a review " * 5000, "model": 5}),
    ("/v1/images/generations", {"model": "nova-canvas", "prompt": "a cat " * 8000, "size": "9x9"}),
])
def test_a_large_bodys_400_leaves_no_traceback_in_the_log(stack, path, body):
    """A body past scan_pool.OFF_LOOP_BYTES is read on a scanner thread; its refusal is the client's 400 and
    nothing more (gevent's thread pool printed each one as a traceback into Kong's error log)."""
    r = requests.post(stack.proxy_url + path, headers={"X-API-Key": "dev-ops-key"}, timeout=15, json=body)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"])
    captured = "\n".join(stack.harness.plugin_server_output("bedrock") + stack.harness.error_log)
    assert "Traceback" not in captured and "RequestError" not in captured
