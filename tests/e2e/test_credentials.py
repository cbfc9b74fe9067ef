"""The relay signs with whatever botocore's credential chain finds, as Kong passes the
environment on (nginx_main_env): a shared credentials file, ECS container credentials."""

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from tests.stack import EMULATOR_KEY_ID, EMULATOR_SECRET, GatewayStack

ASK = {"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


def ask(stack):
    return requests.post(stack.proxy_url + "/v1/messages", json=ASK, headers={"X-API-Key": "dev-admin-key"},
                         timeout=15)


def signer_key_ids(stack):
    return {r["headers"]["authorization"] for r in stack.emulator_control("GET", "/_emulator/requests").json()}


def test_shared_credentials_file(tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[default]\naws_access_key_id = {EMULATOR_KEY_ID}\n"
                           f"aws_secret_access_key = {EMULATOR_SECRET}\n")
    with GatewayStack(aws_env={"AWS_SHARED_CREDENTIALS_FILE": str(credentials)}) as stack:
        assert ask(stack).status_code == 200


def test_no_credentials_is_a_clear_503(tmp_path):
    with GatewayStack(aws_env={"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}) as stack:
        r = ask(stack)
        assert r.status_code == 503 and "no AWS credentials" in r.json()["error"]["message"]


def test_rejected_gateway_credentials_are_explained(tmp_path):
    with GatewayStack(aws_env={"AWS_ACCESS_KEY_ID": "AKIDUNKNOWN000000000",
                               "AWS_SECRET_ACCESS_KEY": "wrong"}) as stack:
        r = ask(stack)
        assert r.status_code == 502 and "rejected the gateway's AWS credentials" in r.json()["error"]["message"]
        assert "wrong" not in r.text and "AKIDUNKNOWN" not in r.text


def test_ecs_container_credentials(tmp_path):
    served = []

    class Credentials(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            served.append(self.headers.get("Authorization"))
            body = json.dumps({"AccessKeyId": EMULATOR_KEY_ID, "SecretAccessKey": EMULATOR_SECRET,
                               "Token": "ecs-session-token",
                               "Expiration": (datetime.now(timezone.utc) + timedelta(hours=1))
                               .strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Credentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{server.server_port}/creds",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "task-token"}
        with GatewayStack(aws_env=env, emulator_session_token="ecs-session-token") as stack:
            assert ask(stack).status_code == 200
            sent = stack.emulator_control("GET", "/_emulator/requests").json()[-1]["headers"]
            assert "x-amz-security-token" in sent          # temporary credentials carry their session token
        assert served and served[0] == "task-token"
    finally:
        server.shutdown()


BEDROCK_API_KEY = "ABSKQmVkcm9ja0FQSUtleS1jYW5hcnktNzc0Mg=="   # a Bedrock API key's shape; a canary here


def test_a_bedrock_api_key_replaces_sigv4_for_bedrock_and_mantle():
    """AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key), as botocore's clients use it: it wins over the credential
    chain, goes to Bedrock Runtime and to Mantle as `Authorization: Bearer`, and is never echoed or logged."""
    with GatewayStack(aws_env={"AWS_BEARER_TOKEN_BEDROCK": BEDROCK_API_KEY}, emulator_api_key=BEDROCK_API_KEY) as stack:
        r = ask(stack)
        assert r.status_code == 200 and r.json()["type"] == "message"
        mantle = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-admin-key"}, timeout=15,
                               json={**ASK, "model": "opus-4-7"})
        assert mantle.status_code == 200 and mantle.headers["X-Bedrock-Model"] == "opus-4-7"
        # No SigV4 credentials exist here (a 503 otherwise): the emulator took the key on both endpoints.
        stack.harness.wait_for_log(mantle.headers["X-Kong-Request-Id"])
        assert BEDROCK_API_KEY not in "\n".join(stack.harness.plugin_server_output("bedrock") + stack.harness.error_log)


def test_the_api_key_wins_over_good_keys_and_a_rejected_one_is_explained_without_echoing_it():
    env = {"AWS_ACCESS_KEY_ID": EMULATOR_KEY_ID, "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET,
           "AWS_BEARER_TOKEN_BEDROCK": BEDROCK_API_KEY + "x"}
    with GatewayStack(aws_env=env, emulator_api_key=BEDROCK_API_KEY) as stack:
        r = ask(stack)
        assert r.status_code == 502 and "rejected the gateway's AWS credentials" in r.json()["error"]["message"]
        assert BEDROCK_API_KEY not in r.text
