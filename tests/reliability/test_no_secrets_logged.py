"""Planted canaries (a prompt phrase, a card number, a password, API keys, the AWS secret) go
through every client format, uploaded forms included, success and refusal: none appears in any log line of the plugin
server, the relay or Kong, in the access log, or in any metric."""

import json
import warnings

import anthropic
import boto3
import openai
import requests
from botocore.config import Config

from kong_plugins.emulator.images import png
from tests.stack import EMULATOR_SECRET, GatewayStack

PHRASE = "canary-phrase-4e1d9b"
PAN = "5555 5555 5555 4444"
PASSWORD = "Canary!Pass-73x"
WRONG_KEY = "canary-wrong-key-8c2f"


def test_no_canary_anywhere(tmp_path):
    with GatewayStack() as stack:
        ant = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
        ant.messages.create(model="haiku", max_tokens=8, messages=[{"role": "user", "content": PHRASE}])
        with ant.messages.stream(model="haiku", max_tokens=8, messages=[{"role": "user", "content": PHRASE}]) as s:
            "".join(s.text_stream)
        oa = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-analyst-key", max_retries=0)
        oa.chat.completions.create(model="haiku", messages=[{"role": "user", "content": PHRASE}])
        with oa.responses.stream(model="haiku", input=PHRASE, instructions=PHRASE) as s:
            s.get_final_response()
        oa.embeddings.create(model="titan-embed", input=[PHRASE, PHRASE + " again"])
        ops = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)
        picture = ("mug.png", png(320, 320, bytes(range(48))), "image/png")
        ops.images.edit(image=picture, prompt=PHRASE, model="nova-canvas", extra_body={"mask_prompt": PHRASE})
        with warnings.catch_warnings():   # the SDK marks create_variation deprecated (OpenAI retired dall-e-2)
            warnings.simplefilter("ignore", DeprecationWarning)
            ops.images.create_variation(image=picture, model="nova-canvas", extra_body={"prompt": PHRASE})
        runtime = boto3.client("bedrock-runtime", endpoint_url=stack.proxy_url, region_name="us-east-1",
                               aws_access_key_id="x", aws_secret_access_key="x",
                               config=Config(retries={"total_max_attempts": 1}))
        runtime.meta.events.register("before-send.bedrock-runtime.*",
                                     lambda request, **_: request.headers.__setitem__("X-API-Key", "dev-ops-key"))
        runtime.converse(modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0",
                         messages=[{"role": "user", "content": [{"text": PHRASE}]}])
        refused = [
            requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-ops-key"}, timeout=10,
                          json={"model": "haiku", "max_tokens": 8,
                                "messages": [{"role": "user", "content": f"{PHRASE} card {PAN}"}]}),
            requests.post(stack.proxy_url + "/v1/chat/completions", headers={"Authorization": "Bearer dev-ops-key"},
                          timeout=10, json={"model": "haiku", "messages": [
                              {"role": "user", "content": f"{PHRASE} my password is {PASSWORD}"}]}),
            requests.post(stack.proxy_url + "/v1/responses", headers={"Authorization": "Bearer dev-ops-key"},
                          timeout=10, json={"model": "haiku", "input": [{"role": "user", "content": [
                              {"type": "input_text", "text": f"{PHRASE} card {PAN}"}]}]}),
            requests.post(stack.proxy_url + "/v1/embeddings", headers={"Authorization": "Bearer dev-ops-key"},
                          timeout=10, json={"model": "titan-embed", "input": ["ok", f"{PHRASE} card {PAN}"]}),
            requests.post(stack.proxy_url + "/v1/images/edits", headers={"Authorization": "Bearer dev-ops-key"},
                          timeout=10, files={"image": ("mug.png", png(320, 320, bytes(48)), "image/png")},
                          data={"model": "nova-canvas", "prompt": PHRASE, "mask_prompt": f"{PHRASE} card {PAN}"}),
            requests.post(stack.proxy_url + "/v1/images/variations", headers={"Authorization": "Bearer dev-ops-key",
                          "Content-Type": "multipart/form-data; boundary=x"}, timeout=10,
                          data=f"--x\r\nContent-Disposition: form-data; name=prompt\r\n\r\n{PHRASE}".encode()),
            requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": WRONG_KEY}, timeout=10,
                          json={"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": PHRASE}]}),
            requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-guest-key"}, timeout=10,
                          json={"model": "opus", "max_tokens": 8, "messages": [{"role": "user", "content": PHRASE}]}),
            requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-admin-key"}, timeout=10,
                          data=json.dumps({"messages": PHRASE})),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403, 403, 403, 400, 401, 403, 400]
        for r in refused:
            stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"])
        captured = {
            "plugin server": "\n".join(stack.harness.plugin_server_output("bedrock")),
            "kong error log": "\n".join(stack.harness.error_log),
            "access log": stack.access_log.read_text() if stack.access_log.exists() else "",
            "plugin-server metrics": requests.get(stack.metrics_url, timeout=5).text,
            "kong metrics": requests.get(f"http://127.0.0.1:{stack.status_port}/metrics", timeout=5).text,
            "error bodies": "\n".join(r.text for r in refused),
        }
    assert captured["access log"] and captured["plugin server"]
    canaries = [PHRASE, PAN, PAN.replace(" ", ""), PASSWORD, WRONG_KEY, EMULATOR_SECRET, "dev-developer-key",
                "dev-analyst-key", "dev-ops-key", "dev-guest-key", "dev-admin-key"]
    leaks = {(where, c) for where, text in captured.items() for c in canaries if c in text}
    assert leaks == set()
