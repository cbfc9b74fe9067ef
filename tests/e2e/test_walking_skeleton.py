"""Issue #2's walking skeleton, end to end: official SDK -> harness (Kong 3.6.1) ->
key-auth -> token-meter -> ecommerce-guardrails -> bedrock-proxy -> relay -> emulator."""

import re

import anthropic
import pytest
import requests

MSG = {"model": "sonnet", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello from the skeleton"}]}


def sdk(stack, key="dev-developer-key"):
    return anthropic.Anthropic(base_url=stack.proxy_url, api_key=key, max_retries=0)


def test_anthropic_sdk_gets_an_answer(stack):
    message = sdk(stack).messages.create(**MSG)
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    sent = [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if r["operation"] == "invoke"]
    assert sent and sent[-1]["model_id"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert sent[-1]["body"]["anthropic_version"] == "bedrock-2023-05-31"
    assert "model" not in sent[-1]["body"] and "stream" not in sent[-1]["body"]


def test_anthropic_sdk_streams(stack):
    with sdk(stack).messages.stream(**MSG) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.usage.output_tokens > 0


def test_beta_query_string_route(stack):
    message = sdk(stack).beta.messages.create(**MSG)  # POST /v1/messages?beta=true
    assert message.content[0].text


def test_no_key_is_401(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", json=MSG, timeout=10)
    assert r.status_code == 401 and r.json() == {   # key-auth's, in Anthropic's shape (kong.yaml's post-function)
        "type": "error", "error": {"type": "authentication_error", "message": "No API key found in request"}}


def test_wrong_key_is_401(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers={"X-API-Key": "nope"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["message"] == "Unauthorized"   # key-auth/handler.lua, 3.6.1
    with pytest.raises(anthropic.AuthenticationError):
        sdk(stack, key="also-wrong").messages.create(**MSG)


def test_request_straight_to_the_relay_is_refused(stack):
    r = requests.post(stack.relay_url + "/v1/messages", json=MSG, timeout=10)
    assert r.status_code == 403 and r.json()["type"] == "error"
    forged = requests.post(stack.relay_url + "/v1/messages", json=MSG, timeout=10,
                           headers={"X-Kong-Request-Id": "0123456789abcdef0123456789abcdef"})
    assert forged.status_code == 403
    assert not [x for x in stack.emulator_control("GET", "/_emulator/requests").json()]
    served = requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers={"X-API-Key": "dev-developer-key"},
                           timeout=10)
    replay = requests.post(stack.relay_url + "/v1/messages", json=MSG, timeout=10,
                           headers={"X-Kong-Request-Id": served.headers["X-Kong-Request-Id"]})
    assert served.status_code == 200 and replay.status_code == 403        # a context is served once


def test_role_policy_and_unknown_model_in_anthropic_format(stack):
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        sdk(stack, key="dev-guest-key").messages.create(**{**MSG, "model": "sonnet"})
    assert denied.value.status_code == 403 and "haiku" in denied.value.body["error"]["message"]
    with pytest.raises(anthropic.NotFoundError) as missing:
        sdk(stack).messages.create(**{**MSG, "model": "gpt-4o"})
    assert missing.value.body["error"]["type"] == "not_found_error"


def test_bad_body_is_400_naming_the_field(stack):
    r = requests.post(stack.proxy_url + "/v1/messages", data=b"{not json", timeout=10,
                      headers={"X-API-Key": "dev-developer-key", "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = requests.post(stack.proxy_url + "/v1/messages", json={"model": "sonnet", "messages": []}, timeout=10,
                      headers={"X-API-Key": "dev-developer-key"})
    assert r.status_code == 400 and "max_tokens" in r.json()["error"]["message"]


def _counter(metrics_text, name, **labels):
    total = 0.0
    for line in metrics_text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_token_meter_log_phase_records_usage(stack):
    before = requests.get(stack.metrics_url, timeout=5).text
    r = requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers={"X-API-Key": "dev-analyst-key"},
                      timeout=10)
    # analyst may not use sonnet: the role's default (haiku) is used when no model is given
    assert r.status_code == 403
    stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"])
    ok = requests.post(stack.proxy_url + "/v1/messages", json={k: v for k, v in MSG.items() if k != "model"},
                       headers={"X-API-Key": "dev-analyst-key"}, timeout=10)
    assert ok.status_code == 200
    stack.harness.wait_for_log(ok.headers["X-Kong-Request-Id"])
    after = requests.get(stack.metrics_url, timeout=5).text
    usage = ok.json()["usage"]
    labels = {"model": "haiku", "role": "analyst"}
    assert _counter(after, "kong_bedrock_tokens_input_total", **labels) - \
        _counter(before, "kong_bedrock_tokens_input_total", **labels) == usage["input_tokens"]
    assert _counter(after, "kong_bedrock_tokens_output_total", **labels) - \
        _counter(before, "kong_bedrock_tokens_output_total", **labels) == usage["output_tokens"]
    assert _counter(after, "kong_bedrock_requests_total", status="403", role="analyst") == \
        _counter(before, "kong_bedrock_requests_total", status="403", role="analyst") + 1


def test_log_phase_needs_kong_log_serialize_only_when_kong_answered_without_us(stack):
    """Our own answers (the relay's, or a plugin's exit) carry their status in the shared
    context; Kong's own (a 401 from key-auth) are read from kong.log.serialize."""
    before = requests.get(stack.metrics_url, timeout=5).text
    denied = requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers={"X-API-Key": "dev-analyst-key"},
                           timeout=10)        # bedrock-proxy's exit: analysts may not use sonnet
    unknown = requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers={"X-API-Key": "not-a-key"},
                            timeout=10)
    assert (denied.status_code, unknown.status_code) == (403, 401)
    log_methods = {}
    for r in (denied, unknown):
        request_id = r.headers["X-Kong-Request-Id"]
        stack.harness.wait_for_log(request_id)
        stats = stack.harness.request_stats(request_id)
        log_methods[r.status_code] = [t["pdk_method"] for t in stats["trace"][-stats["by_plugin"]["token-meter"]["log"]:]
                                      if t["pdk_method"]]
    assert log_methods == {403: ["kong.ctx.shared.get"], 401: ["kong.ctx.shared.get", "kong.log.serialize"]}
    after = requests.get(stack.metrics_url, timeout=5).text
    for status, consumer in (("403", "analyst-user"), ("401", "anonymous")):
        assert _counter(after, "kong_bedrock_requests_total", status=status, consumer=consumer) == \
            _counter(before, "kong_bedrock_requests_total", status=status, consumer=consumer) + 1


def test_pdk_round_trips_per_request(stack):
    headers = {"X-API-Key": "dev-developer-key"}
    requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers=headers, timeout=10)  # warm: StartInstance
    r = requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers=headers, timeout=10)
    assert r.status_code == 200
    request_id = r.headers["X-Kong-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    stack.harness.wait_for_log(request_id)
    stats = stack.harness.request_stats(request_id)
    by_plugin = stats["by_plugin"]
    # HandleEvent + one Step per PDK call: ecommerce-guardrails, first of ours, loads the
    # shared context (kong.ctx.shared.get: id, path, body and consumer from post-function);
    # the others only look it up (get_var).
    assert by_plugin["ecommerce-guardrails"]["access"] == 2
    assert by_plugin["bedrock-proxy"]["access"] == 2
    assert by_plugin["token-meter"]["access"] == 2
    assert by_plugin["token-meter"]["log"] == 2           # + kong.ctx.shared.get (the id), no kong.log.serialize
    assert stats["rpc_calls"] == 8
    trace = stats["trace"]
    assert [t["pdk_method"] for t in trace if t["pdk_method"]] == [
        "kong.ctx.shared.get", "kong.nginx.get_var", "kong.nginx.get_var", "kong.ctx.shared.get"]
    print(f"\nRPC round trips per request: {stats['rpc_calls']} ({by_plugin})")


def test_without_the_post_function_snapshot_the_plugins_ask_kong_for_each_value():
    """A kong.yaml whose post-function lacks the snapshot snippet still works, at 5 more round trips."""
    import yaml

    from kong_plugins.kong_request import SNAPSHOT_KEY
    from tests.stack import KONG_YAML, GatewayStack

    relay = next(s for s in yaml.safe_load(KONG_YAML.read_text())["services"] if s["name"] == "bedrock-relay")
    snippets = next(p for p in relay["plugins"] if p["name"] == "post-function")["config"]["access"]
    kept = [code for code in snippets if SNAPSHOT_KEY not in code] or ["return function() end"]
    assert len(snippets) == 1 and kept == ["return function() end"]
    headers = {"X-API-Key": "dev-developer-key"}
    with GatewayStack(config_overrides={"post-function": {"access": kept}}) as stack:
        requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers=headers, timeout=10)
        ok = requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers=headers, timeout=10)
        blocked = requests.post(stack.proxy_url + "/v1/chat/completions", headers=headers, timeout=10, json={
            "model": "haiku", "messages": [{"role": "user", "content": "my card is 4111 1111 1111 1111"}]})
        in_header = requests.post(   # InvokeModel's request metadata header, read by the first plugin that asks
            stack.proxy_url + "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke", timeout=10,
            headers={**headers, "X-Amzn-Bedrock-Request-Metadata": '{"ticket": "4111 1111 1111 1111"}'},
            json={"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8, "messages": MSG["messages"]})
        assert in_header.status_code == 403
        assert ok.status_code == 200 and ok.json()["content"][0]["text"]
        assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "content_blocked"  # OpenAI shape
        stack.harness.wait_for_log(ok.headers["X-Kong-Request-Id"])
        stats = stack.harness.request_stats(ok.headers["X-Kong-Request-Id"])
    # guardrails: HandleEvent, kong.ctx.shared.get (nil), get_var, get_consumer, get_raw_body, get_path
    assert stats["by_plugin"]["ecommerce-guardrails"]["access"] == 6
    # token-meter's log: HandleEvent, kong.ctx.shared.get (nil), kong.log.serialize
    assert stats["by_plugin"]["token-meter"]["log"] == 3
    assert stats["rpc_calls"] == 13


def test_only_health_itself_skips_the_api_key(stack):
    """Security testing: the /health route matched by prefix, so anonymous GETs on /healthz or /health/x
    reached the relay (refused there: unauthenticated load and log lines)."""
    assert requests.get(stack.proxy_url + "/health", timeout=5).status_code == 200
    for path in ("/healthz", "/health/x", "/health/"):
        r = requests.get(stack.proxy_url + path, timeout=5)
        assert r.status_code == 404 and r.json()["message"] == "no Route matched with those values", path
