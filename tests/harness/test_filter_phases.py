"""pre-/post-function header_filter and body_filter, as Kong 3.6.1 runs them.

Kong.header_filter / Kong.body_filter (kong/init.lua) run the collected handlers for proxied responses and for
Kong's own (kong.response.exit, error pages); _handler.lua runs the phase's snippets; the PDK's phase checks are
kong/pdk/response.lua's; ngx.arg and ngx.header follow lua-nginx-module's README (body_filter_by_lua, ngx.arg).
"""
from __future__ import annotations

import socket
import threading
from typing import Iterator

import pytest
import requests

from tests.harness.conftest import build

HEADER_FILTER = '''
          return function()
            kong.response.set_header("x-seen", kong.response.get_source() .. ":" .. kong.response.get_status()
              .. ":" .. kong.request.get_path() .. ":" .. tostring(kong.response.get_header("content-type")))
            kong.response.clear_header("x-upstream")
            ngx.header.x_via_ngx = "yes"
          end'''

UPPER = '''
          return function()
            if ngx.arg[1] ~= "" then kong.ctx.shared.chunks = (kong.ctx.shared.chunks or 0) + 1 end
            ngx.arg[1] = ngx.arg[1]:upper()
          end'''

YAML = """
_format_version: "3.0"
services:
- name: echo
  url: {up}
  routes:
  - name: upper
    paths: [/upper]
    plugins:
    - name: post-function
      config:
        header_filter:
        - |{header_filter}
        - |
          ngx.header.content_length = nil
        body_filter:
        - |{upper}
  - name: auth
    paths: [/auth]
    plugins:
    - {{name: key-auth, config: {{key_names: [x-api-key]}}}}
    - name: post-function
      config:
        header_filter:
        - |{header_filter}
        - |
          if kong.response.get_source() == "exit" then ngx.header.content_length = nil end
        body_filter:
        - |
          if kong.response.get_source() ~= "exit" then return end
          local body = kong.response.get_raw_body()
          if body then kong.response.set_raw_body("wrapped:" .. body) end
  - name: truncate
    paths: [/truncate]
    plugins:
    - name: post-function
      config:
        header_filter: ["ngx.header.content_length = nil"]
        body_filter: ["ngx.arg[1] = 'first'; ngx.arg[2] = true"]
  - name: set-in-body-filter
    paths: [/set-in-body-filter]
    plugins:
    - name: post-function
      config:
        body_filter: ["kong.response.set_header('x-late', 'no')"]
  - name: arg-in-header-filter
    paths: [/arg-in-header-filter]
    plugins:
    - name: post-function
      config:
        header_filter: ["kong.response.set_header('x-arg', tostring(ngx.arg[1]))"]
  - name: late-ngx-header
    paths: [/late-ngx-header]
    plugins:
    - name: post-function
      config:
        body_filter: ["ngx.header.x_late = 'no'"]
- name: gated
  url: {gated}
  routes:
  - name: gated
    paths: [/gated]
    response_buffering: false
    plugins:
    - name: post-function
      config:
        body_filter:
        - |{upper}
plugins:
- name: post-function
  config:
    header_filter:
    - kong.response.set_header("x-global", kong.response.get_source() .. ":" .. kong.response.get_status())
consumers:
- username: alice
  keyauth_credentials: [{{key: secret-key}}]
"""


class GatedUpstream:
    """Answers every request with a chunked body whose second chunk waits for `release` (streaming, no clock)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.release = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"6\r\nfirst\n\r\n")
            self.release.wait(10)
            conn.sendall(b"7\r\nsecond\n\r\n0\r\n\r\n")


@pytest.fixture(scope="module")
def gated() -> Iterator[GatedUpstream]:
    up = GatedUpstream()
    yield up
    up.sock.close()


@pytest.fixture(scope="module")
def kong(upstream, gated, tmp_path_factory):
    text = YAML.format(up=upstream.url, gated=gated.url, header_filter=HEADER_FILTER, upper=UPPER)
    h = build(tmp_path_factory.mktemp("filters"), text,
              env={"KONG_PLUGINS": "bundled,py_probe,py_second", "KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE": "1k"})
    yield h
    h.stop()




def test_header_filter_sees_a_proxied_response_and_edits_its_headers(kong):
    r = requests.get(kong.proxy_url + "/upper/x", timeout=5)
    assert r.status_code == 200
    assert r.headers["x-seen"] == "service:200:/upper/x:application/json"
    assert "X-Upstream" not in r.headers and r.headers["X-Via-Ngx"] == "yes"


def test_body_filter_rewrites_each_chunk_and_a_cleared_content_length_makes_it_chunked(kong):
    r = requests.get(kong.proxy_url + "/upper/x", timeout=5)
    assert r.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in r.headers
    assert r.json()["PATH"] == "/X"   # strip_path: the upstream saw /x


def test_a_streamed_response_still_streams_through_body_filter(kong, gated):
    """The first chunk, already filtered, reaches the client while the upstream holds back the second."""
    with requests.get(kong.proxy_url + "/gated", stream=True, timeout=10) as r:
        chunks = r.iter_content(chunk_size=None)
        assert next(chunks) == b"FIRST\n"
        gated.release.set()
        assert b"".join(chunks) == b"SECOND\n"


def test_kongs_own_exit_goes_through_header_filter_and_body_filter(kong):
    r = requests.get(kong.proxy_url + "/auth", timeout=5)
    assert r.status_code == 401
    assert r.headers["x-seen"] == "exit:401:/auth:application/json; charset=utf-8"
    assert r.text.startswith('wrapped:{\n  "message":"No API key found in request",\n  "request_id":')
    assert r.headers.get("Transfer-Encoding") == "chunked"


def test_kong_response_get_raw_body_reads_the_response_not_the_request(kong):
    """A chunked upload over client_max_body_size that key-auth refuses unread stays unread (no nginx 413)."""
    r = requests.post(kong.proxy_url + "/auth", data=iter([b"x" * 4096]), timeout=5)
    assert r.status_code == 401 and r.text.startswith('wrapped:{\n  "message":"No API key found in request"')


def test_a_proxied_response_is_left_whole_by_a_filter_that_returns(kong):
    r = requests.get(kong.proxy_url + "/auth", headers={"x-api-key": "secret-key"}, timeout=5)
    assert r.status_code == 200 and r.json()["path"] == "/"
    assert r.headers["x-seen"].startswith("service:200:/auth:")


def test_no_route_and_nginx_413_run_the_global_filters(kong):
    """Without a route ctx.plugins is unset: get_collected_iterator falls back to the global plugins
    (plugins_iterator.lua); nginx's 413 goes through Kong.handle_error, source "error" (response.lua get_source)."""
    r = requests.get(kong.proxy_url + "/nowhere", timeout=5)
    assert r.status_code == 404 and r.headers["x-global"] == "exit:404"
    big = requests.post(kong.proxy_url + "/upper", data=b"x" * 4096, timeout=5)
    assert big.status_code == 413 and big.headers["x-global"] == "error:413"


def test_ngx_arg_2_ends_the_body(kong):
    r = requests.get(kong.proxy_url + "/truncate", timeout=5)
    assert r.status_code == 200 and r.text == "first"


def _errors(kong, text: str) -> list[str]:
    return [line for line in kong.error_log if text in line]


def test_set_header_in_body_filter_is_kongs_phase_error_and_aborts_the_response(kong):
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(kong.proxy_url + "/set-in-body-filter", timeout=5).content
    assert _errors(kong, "function cannot be called in body_filter phase (only in: rewrite, access, response, "
                         "header_filter, error, admin_api)")


def test_ngx_arg_outside_body_filter_is_disabled(kong):
    requests.get(kong.proxy_url + "/arg-in-header-filter", timeout=5)
    assert _errors(kong, "API disabled in the context of header_filter_by_lua*")


def test_ngx_header_written_after_the_headers_went_out_is_logged_and_ignored(kong):
    r = requests.get(kong.proxy_url + "/late-ngx-header", timeout=5)
    assert r.status_code == 200 and "x-late" not in r.headers and r.json()["path"] == "/"
    assert _errors(kong, "attempt to set ngx.header.HEADER after sending out response headers")
