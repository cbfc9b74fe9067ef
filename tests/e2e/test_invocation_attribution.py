"""Every Bedrock call is signed by the gateway's one role, so Bedrock's model invocation logs cannot tell API keys
apart. Every call carries request metadata naming the Kong request, consumer and role (Converse in its body,
InvokeModel in a header), and every request's log line (and answer) carries the Bedrock request id, which keys
Bedrock's log entry too."""

import json
import re

import anthropic
import openai
import pytest
import requests
from botocore.exceptions import ClientError

from tests.e2e.clients import bedrock_runtime, last_sent, oa, request_line

HAIKU_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
ASK = [{"role": "user", "content": "Where is order 42?"}]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_converse_calls_name_the_kong_request_the_consumer_and_the_role(stack):
    raw = oa(stack).chat.completions.with_raw_response.create(model="haiku", max_tokens=20, messages=ASK)
    metadata = last_sent(stack)["body"]["requestMetadata"]
    assert metadata["gateway_request_id"] == raw.headers["X-Kong-Request-Id"]
    assert metadata["gateway_role"] == "developer" and UUID.fullmatch(metadata["gateway_consumer_id"])
    oa(stack).chat.completions.create(model="haiku", max_tokens=20, messages=ASK)
    assert last_sent(stack)["body"]["requestMetadata"]["gateway_consumer_id"] == metadata["gateway_consumer_id"]
    oa(stack, "dev-developer-2-key").chat.completions.create(model="haiku", max_tokens=20, messages=ASK)
    assert last_sent(stack)["body"]["requestMetadata"]["gateway_consumer_id"] != metadata["gateway_consumer_id"]


def invoke_pairs(stack):
    return json.loads(last_sent(stack)["headers"]["x-amzn-bedrock-request-metadata"])


def test_invoke_calls_carry_the_pairs_and_the_anthropic_end_user_in_bedrocks_header(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-developer-key"}, timeout=15,
                      json={"model": "haiku", "max_tokens": 16, "messages": ASK, "metadata": {"user_id": "u-42"}})
    assert r.status_code == 200 and last_sent(stack)["operation"] == "invoke"
    pairs = invoke_pairs(stack)
    assert pairs["gateway_request_id"] == r.headers["X-Kong-Request-Id"] and pairs["gateway_role"] == "developer"
    assert UUID.fullmatch(pairs["gateway_consumer_id"]) and pairs["client_end_user"] == "u-42"
    oa(stack).embeddings.create(model="titan-embed", input="order 42")
    assert invoke_pairs(stack)["gateway_role"] == "developer"


def test_a_native_invoke_client_keeps_its_header_pairs_but_cannot_pass_as_someone_else(stack):
    client, own = bedrock_runtime(stack), '{"team": "search", "gateway_role": "admin"}'
    client.meta.events.register("before-send.bedrock-runtime.InvokeModel", lambda request, **_: request.headers.
                                __setitem__("X-Amzn-Bedrock-Request-Metadata", own))
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16, "messages": ASK}
    assert json.loads(client.invoke_model(modelId=HAIKU_ID, body=json.dumps(body))["body"].read())["content"]
    pairs = invoke_pairs(stack)
    assert pairs["team"] == "search" and pairs["gateway_role"] == "developer"


def test_the_bedrock_request_id_is_on_the_answer_and_the_log_line_for_invoke_calls_too(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-developer-key"}, timeout=15,
                      json={"model": "haiku", "max_tokens": 16, "messages": ASK})
    assert r.status_code == 200 and last_sent(stack)["operation"] == "invoke"
    bedrock_id = r.headers["X-Bedrock-Request-Id"]
    assert UUID.fullmatch(bedrock_id)
    line = request_line(stack, r.headers["X-Kong-Request-Id"])
    assert line["bedrock_request_id"] == bedrock_id and line["consumer"] == "dev-user-1"


def test_a_failed_call_keeps_bedrocks_id_for_a_support_case(stack):
    assert stack.emulator_control("POST", "/_emulator/faults", json={"type": "validation", "count": 1,
                                                                      "model": "haiku"}).status_code == 200
    with pytest.raises(openai.BadRequestError) as caught:
        oa(stack).chat.completions.create(model="haiku", max_tokens=20, messages=ASK)
    headers = caught.value.response.headers
    bedrock_id = headers["X-Bedrock-Request-Id"]
    assert UUID.fullmatch(bedrock_id)
    assert request_line(stack, headers["X-Kong-Request-Id"])["bedrock_request_id"] == bedrock_id


def test_a_native_converse_client_keeps_its_pairs_but_cannot_pass_as_someone_else(stack):
    out = bedrock_runtime(stack).converse(
        modelId=HAIKU_ID, messages=[{"role": "user", "content": [{"text": "hi"}]}],
        requestMetadata={"team": "search", "gateway_role": "admin"})
    assert out["output"]["message"]["content"][0]["text"]
    sent = last_sent(stack)["body"]["requestMetadata"]
    assert sent["team"] == "search" and sent["gateway_role"] == "developer"


def test_a_native_client_leaving_no_room_for_the_gateways_pairs_gets_a_400_before_any_call(stack):
    with pytest.raises(ClientError) as caught:
        bedrock_runtime(stack).converse(modelId=HAIKU_ID, messages=[{"role": "user", "content": [{"text": "hi"}]}],
                                        requestMetadata={f"k{i}": "v" for i in range(14)})
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "at most 13 pairs" in caught.value.response["Error"]["Message"]
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_the_end_user_an_openai_client_names_reaches_bedrocks_log(stack):
    client = oa(stack, "dev-analyst-key")
    client.chat.completions.create(model="haiku", max_tokens=20, messages=ASK, user="shop-user-17",
                                   safety_identifier="hashed-4f2a")
    assert last_sent(stack)["body"]["requestMetadata"]["client_end_user"] == "hashed-4f2a"   # the newer field wins
    client.chat.completions.create(model="haiku", max_tokens=20, messages=ASK, user="jané.doe@example.com!")
    assert last_sent(stack)["body"]["requestMetadata"]["client_end_user"] == "jan_.doe@example.com_"
    client.responses.create(model="haiku", max_output_tokens=20, input="Where is order 42?", safety_identifier="u-9")
    assert last_sent(stack)["body"]["requestMetadata"]["client_end_user"] == "u-9"
    client.chat.completions.create(model="haiku", max_tokens=20, messages=ASK)
    assert "client_end_user" not in last_sent(stack)["body"]["requestMetadata"]


def test_an_anthropic_clients_metadata_user_id_names_the_end_user_on_converse_models(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-analyst-key"}, timeout=15,
                      json={"model": "titan", "max_tokens": 16, "messages": ASK, "metadata": {"user_id": "u-123"}})
    assert r.status_code == 200 and last_sent(stack)["operation"] == "converse"
    assert last_sent(stack)["body"]["requestMetadata"]["client_end_user"] == "u-123"


def test_a_non_string_end_user_is_a_400_in_openai_terms(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        oa(stack).chat.completions.create(model="haiku", max_tokens=20, messages=ASK, extra_body={"user": 42})
    assert caught.value.body["param"] == "user" and "must be a string" in caught.value.body["message"]
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_an_openai_clients_metadata_tags_its_calls_in_bedrocks_log(stack):
    client = oa(stack)
    client.chat.completions.create(model="haiku", max_tokens=20, messages=ASK,
                                   metadata={"team": "checkout", "ticket": "SHOP-42", "gateway_role": "admin",
                                             "cost centre!": "Zürich"})
    sent = last_sent(stack)["body"]["requestMetadata"]   # the emulator checks Bedrock's character set, as Bedrock does
    assert sent["team"] == "checkout" and sent["ticket"] == "SHOP-42" and sent["gateway_role"] == "developer"
    assert sent["cost centre_"] == "Z_rich"
    client.responses.create(model="haiku", max_output_tokens=20, input="Where is order 42?",
                            metadata={"team": "returns"})
    assert last_sent(stack)["body"]["requestMetadata"]["team"] == "returns"


def test_openai_metadata_leaving_no_room_for_the_gateways_pairs_is_a_400_before_any_call(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        oa(stack).chat.completions.create(model="haiku", max_tokens=20, messages=ASK,
                                          metadata={f"k{i}": "v" for i in range(16)})
    assert caught.value.body["param"] == "metadata" and "at most 13 pairs" in caught.value.body["message"]
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_the_end_user_and_metadata_never_reach_the_gateways_own_log(stack):
    canary, tag = "enduser-canary-5521", "metadata-canary-7730"
    raw = oa(stack).chat.completions.with_raw_response.create(model="haiku", max_tokens=20, messages=ASK,
                                                              user=canary, metadata={"team": tag})
    sent = last_sent(stack)["body"]["requestMetadata"]
    assert sent["client_end_user"] == canary and sent["team"] == tag
    request_line(stack, raw.headers["X-Kong-Request-Id"])
    assert not [line for line in stack.harness.plugin_server_output("bedrock") if canary in line or tag in line]


def test_claude_codes_session_and_subagent_ids_tag_the_log_line_and_bedrocks_log(stack):
    """Claude Code sends X-Claude-Code-Session-Id on every call (and a subagent's id on its calls): a session's
    cost is the sum of its request lines, and Bedrock's invocation log groups its calls the same way."""
    session = "5f0c2a7e-3b1d-4c8e-9a61-2d7f4b9e0c13"
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0,
                                 default_headers={"X-Claude-Code-Session-Id": session,
                                                  "X-Claude-Code-Agent-Id": "agent-7"})
    raw = client.messages.with_raw_response.create(model="haiku", max_tokens=16, messages=ASK)
    pairs = invoke_pairs(stack)
    assert (pairs["client_session"], pairs["client_agent"]) == (session, "agent-7")
    line = request_line(stack, raw.headers["X-Kong-Request-Id"])
    assert (line["client_session"], line["client_agent"]) == (session, "agent-7") and float(line["cost_usd"]) > 0
    odd = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0,
                              default_headers={"X-Claude-Code-Session-Id": "x" * 65 + " card 4111111111111111"})
    raw = odd.messages.with_raw_response.create(model="haiku", max_tokens=16, messages=ASK)
    assert "client_session" not in invoke_pairs(stack)              # not a session id: neither logged nor sent
    assert "client_session" not in request_line(stack, raw.headers["X-Kong-Request-Id"])
    oa(stack).chat.completions.create(model="haiku", max_tokens=20, messages=ASK)
    assert "client_session" not in last_sent(stack)["body"]["requestMetadata"]
