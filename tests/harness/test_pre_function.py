"""pre-function and post-function: the configured Lua runs (LuaJIT via lupa) against the harness PDK."""
from __future__ import annotations

import socket

import pytest
import requests

from tests.harness.conftest import build
from tests.kong_harness import http_server
from tests.kong_harness.harness import HarnessStartError

BEARER_TO_KEY = '''
          return function()
            local auth = kong.request.get_header("authorization")
            if not auth or kong.request.get_header("x-api-key") then return end
            local key = auth:match("^%s*[Bb]earer%s+(%S+)%s*$")
            if key then
              kong.service.request.set_header("x-api-key", key)
              kong.service.request.clear_header("authorization")
            end
          end
'''

YAML = """
_format_version: "3.0"
services:
- name: echo
  url: {up}
  routes:
  - name: bearer
    paths: [/bearer]
    plugins:
    - name: pre-function
      config:
        access:
        - |{bearer}
    - {{name: key-auth, config: {{key_names: [x-api-key], hide_credentials: true}}}}
  - name: gate
    paths: [/gate]
    plugins:
    - name: pre-function
      config:
        access:
        - |
          if kong.request.get_header("x-block") then
            return kong.response.exit(418, {{message = "teapot", n = #kong.request.get_path()}})
          end
          kong.service.request.set_header("x-seen", "chunk-style")
  - name: snapshot
    paths: [/snapshot]
    plugins:
    - name: pre-function
      config:
        access:
        - |
          kong.ctx.shared.snap = {{id = ngx.var.kong_request_id, body = kong.request.get_raw_body()}}
          local snap = kong.ctx.shared.snap
          kong.service.request.set_header("x-snap", snap.id .. ":" .. #snap.body .. ":" .. snap.body:byte(1))
  - name: after-auth
    paths: [/after-auth]
    plugins:
    - {{name: key-auth, config: {{key_names: [x-api-key], hide_credentials: true}}}}
    - name: post-function
      config:
        access:
        - |
          local consumer = kong.client.get_consumer()
          kong.service.request.set_header("x-post-saw", consumer and consumer.username or "nobody")
    - name: pre-function
      config:
        access:
        - |
          local consumer = kong.client.get_consumer()
          kong.service.request.set_header("x-pre-saw", consumer and consumer.username or "nobody")
  - name: broken
    paths: [/broken]
    plugins:
    - name: pre-function
      config:
        access: ["local t = nil; return t.field"]
consumers:
- username: alice
  keyauth_credentials: [{{key: secret-key}}]
"""


@pytest.fixture(scope="module")
def kong(upstream, tmp_path_factory):
    h = build(tmp_path_factory.mktemp("pre"), YAML.format(up=upstream.url, bearer=BEARER_TO_KEY),
              env={"KONG_PLUGINS": "bundled,py_probe,py_second"})
    yield h
    h.stop()


def upstream_headers(response) -> dict:
    return {k.lower(): v for k, v in response.json()["headers"]}


def test_bearer_is_moved_to_the_key_header_before_key_auth(kong):
    r = requests.get(kong.proxy_url + "/bearer", headers={"Authorization": "Bearer secret-key"}, timeout=5)
    assert r.status_code == 200
    headers = upstream_headers(r)
    assert headers["x-consumer-username"] == "alice"
    assert "authorization" not in headers and "x-api-key" not in headers   # cleared, then hidden
    wrong = requests.get(kong.proxy_url + "/bearer", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["message"] == "Unauthorized"
    basic = requests.get(kong.proxy_url + "/bearer", headers={"Authorization": "Basic eDp5"}, timeout=5)
    assert basic.status_code == 401 and basic.json()["message"] == "No API key found in request"


def test_chunk_style_code_and_exit_with_a_table_body(kong):
    ok = requests.get(kong.proxy_url + "/gate", timeout=5)
    assert ok.status_code == 200 and upstream_headers(ok)["x-seen"] == "chunk-style"
    blocked = requests.get(kong.proxy_url + "/gate", headers={"x-block": "1"}, timeout=5)
    assert blocked.status_code == 418 and blocked.json() == {"message": "teapot", "n": 5}


def test_runtime_lua_error_is_kongs_500(kong):
    r = requests.get(kong.proxy_url + "/broken", timeout=5)
    assert r.status_code == 500 and r.json()["message"] == "An unexpected error occurred"


def test_syntax_error_refuses_the_config(upstream, tmp_path):
    bad = YAML.format(up=upstream.url, bearer=BEARER_TO_KEY).replace("return t.field", "return ((")
    with pytest.raises(HarnessStartError, match="error parsing pre-function"):
        build(tmp_path, bad, env={"KONG_PLUGINS": "bundled,py_probe,py_second"})


def test_post_function_runs_after_key_auth_and_pre_function_before_it(kong):
    """post-function is pre-function's handler at priority -1000 (kong/plugins/post-function/handler.lua)."""
    r = requests.get(kong.proxy_url + "/after-auth", headers={"x-api-key": "secret-key"}, timeout=5)
    assert r.status_code == 200
    headers = upstream_headers(r)
    assert (headers["x-pre-saw"], headers["x-post-saw"]) == ("nobody", "alice")


def test_a_post_function_syntax_error_names_post_function(upstream, tmp_path):
    bad = YAML.format(up=upstream.url, bearer=BEARER_TO_KEY).replace('"nobody")\n    - name: pre-function',
                                                                    '"nobody"\n    - name: pre-function')
    assert bad.count('"nobody")') == 1
    with pytest.raises(HarnessStartError, match="error parsing post-function"):
        build(tmp_path, bad, env={"KONG_PLUGINS": "bundled,py_probe,py_second"})


def test_ngx_var_and_kong_ctx_shared_carry_bytes_that_are_not_utf8(kong):
    r = requests.post(kong.proxy_url + "/snapshot", data=b"\xff\xfe\xfd", timeout=5)
    assert r.status_code == 200
    assert upstream_headers(r)["x-snap"] == r.headers["X-Kong-Request-Id"] + ":3:255"


def _stalled_upload(kong, path: str) -> socket.socket:
    """A client that announces 100 bytes of body and sends 10."""
    host, port = kong.proxy_url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)))
    client.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode() + b"0123456789")
    return client


def test_a_client_slow_to_send_its_body_holds_no_other_request(kong):
    """ngx.req.read_body() waits for a slow client without holding other requests: the harness reads the body
    before the Lua state's lock (it once read it under the lock, and one such client stopped every request)."""
    stalled = _stalled_upload(kong, "/snapshot")
    try:
        r = requests.post(kong.proxy_url + "/snapshot", data=b"hello", timeout=5)
        assert r.status_code == 200 and upstream_headers(r)["x-snap"].endswith(":5:104")
    finally:
        stalled.close()


def test_a_client_that_stops_sending_is_dropped_after_nginx_client_body_timeout(kong, monkeypatch):
    """nginx's client_body_timeout (60 s; Kong keeps the default): the connection is closed, no response sent."""
    monkeypatch.setattr(http_server, "CLIENT_TIMEOUT_S", 0.5)
    stalled = _stalled_upload(kong, "/snapshot")
    try:
        stalled.settimeout(10)
        assert stalled.recv(1024) == b""
    finally:
        stalled.close()


def test_a_pre_function_that_reads_no_body_does_not_wait_for_it(kong):
    """key-auth refuses a keyless request at once, its announced body unsent (Kong answers before reading it)."""
    stalled = _stalled_upload(kong, "/after-auth")
    try:
        stalled.settimeout(5)
        assert stalled.recv(1024).startswith(b"HTTP/1.1 401")
    finally:
        stalled.close()
