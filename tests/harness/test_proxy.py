"""Proxying: upstream headers, streaming vs buffering, response phase, errors."""
from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from tests.harness.conftest import build, plugin_env

YAML = """
_format_version: "3.0"
services:
- name: echo
  url: {up}/base
  routes:
  - {{name: strip, paths: [/strip]}}
  - {{name: keep, paths: [/keep], strip_path: false, preserve_host: true}}
  - {{name: stream, paths: [/stream], strip_path: false, response_buffering: false, request_buffering: false}}
  - {{name: buffered, paths: [/stream-buffered], strip_path: false}}
  - name: resp
    paths: [/resp]
    strip_path: false
    plugins: [{{name: py_resp}}]
  - name: resp-exit
    paths: [/resp-exit]
    strip_path: false
    plugins: [{{name: py_resp, config: {{replace: true}}}}]
- name: raw
  url: {up}
  routes:
  - {{name: raw-stream, paths: [/rs], strip_path: true, response_buffering: false}}
  - {{name: raw-buffered, paths: [/rb], strip_path: true}}
- name: dead
  url: http://127.0.0.1:{dead_port}
  retries: 0
  routes: [{{name: dead, paths: [/dead]}}]
- name: slow
  url: {up}
  read_timeout: 300
  retries: 0
  routes: [{{name: slow, paths: [/slowroute]}}]
"""


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def kong(upstream, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("proxy")
    env = plugin_env(str(tmp), plugins="bundled,py_probe,py_second,py_resp",
                     KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE="64k")
    h = build(tmp, YAML.format(up=upstream.url, dead_port=_free_port()), env=env)
    yield h
    h.stop()


def test_upstream_request_headers_and_strip_path(kong, upstream):
    r = requests.get(kong.proxy_url + "/strip/a/b?x=1", headers={"X-Forwarded-For": "10.0.0.1",
                                                                  "Connection": "keep-alive, X-Hop", "X-Hop": "1"})
    assert r.status_code == 200
    echoed = json.loads(r.text)
    assert echoed["path"] == "/base/a/b?x=1"
    names = [k for k, _ in echoed["headers"]]
    headers = dict(echoed["headers"])
    assert names[:2] == ["Host", "Connection"]
    assert headers["Host"] == "127.0.0.1:%d" % upstream.port and headers["Connection"] == "keep-alive"
    assert headers["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1" and headers["X-Forwarded-Prefix"] == "/strip"
    assert headers["X-Forwarded-Path"] == "/strip/a/b" and headers["X-Real-IP"] == "127.0.0.1"
    assert headers["X-Kong-Request-Id"] == r.headers["X-Kong-Request-Id"] and "X-Hop" not in headers
    assert r.headers["Via"] == "kong/3.6.1" and "X-Kong-Upstream-Latency" in r.headers
    assert "X-Kong-Proxy-Latency" in r.headers and "X-Kong-Response-Latency" not in r.headers


def test_preserve_host_and_no_strip(kong):
    r = requests.get(kong.proxy_url + "/keep/z", headers={"Host": "api.example.test"})
    echoed = json.loads(r.text)
    assert echoed["path"] == "/base/keep/z" and dict(echoed["headers"])["Host"] == "api.example.test"
    assert "X-Forwarded-Prefix" not in dict(echoed["headers"])


def test_no_route(kong):
    r = requests.get(kong.proxy_url + "/nowhere")
    assert r.status_code == 404 and r.json()["message"] == "no Route matched with those values"


def _first_chunk_timing(url: str):
    t0 = time.monotonic()
    with requests.get(url, stream=True) as r:
        chunks = []
        for chunk in r.iter_content(chunk_size=None):
            chunks.append((time.monotonic() - t0, chunk))
    return r, chunks


def test_streaming_when_response_buffering_false(kong):
    r, chunks = _first_chunk_timing(kong.proxy_url + "/rs/stream?n=3&delay=0.3")
    assert r.status_code == 200 and r.headers.get("Transfer-Encoding") == "chunked"
    assert len(chunks) == 3
    assert chunks[0][0] < 0.25 and chunks[-1][0] > 0.5  # first chunk arrived before the upstream finished


def test_buffered_when_response_buffering_true(kong):
    r, chunks = _first_chunk_timing(kong.proxy_url + "/rb/stream?n=3&delay=0.2")
    assert r.status_code == 200
    assert chunks[0][0] > 0.45  # nothing reached the client before the upstream was done
    assert b"".join(c for _, c in chunks).count(b"chunk-") == 3


def test_request_streaming_chunked_body(kong):
    def gen():
        yield b"part1-"
        yield b"part2"
    r = requests.post(kong.proxy_url + "/stream/echo", data=gen())
    echoed = json.loads(r.text)
    assert echoed["body"] == "part1-part2" and dict(echoed["headers"]).get("Transfer-Encoding") == "chunked"


def test_response_phase_buffers_and_sees_body(kong):
    r = requests.get(kong.proxy_url + "/resp/x")
    assert r.status_code == 200
    assert r.headers["X-Resp-Body-Type"] == "bytes" and int(r.headers["X-Resp-Body-Len"]) == len(r.content)
    assert r.headers["X-Resp-Upstream-Status"] == "200" and json.loads(r.text)["path"] == "/base/resp/x"
    r = requests.get(kong.proxy_url + "/resp-exit")
    assert r.status_code == 201 and r.text == "replaced" and r.headers["Content-Type"] == "text/plain"


def test_502_and_504(kong):
    r = requests.get(kong.proxy_url + "/dead")
    assert r.status_code == 502
    assert r.json()["message"] == "An invalid response was received from the upstream server"
    assert any("connect() failed" in line for line in kong.error_log)
    r = requests.get(kong.proxy_url + "/slowroute/slow?delay=1")
    assert r.status_code == 504 and r.json()["message"] == "The upstream server is timing out"
    r = requests.get(kong.proxy_url + "/dead", headers={"Accept": "text/plain"})
    assert r.text.startswith("An invalid response was received from the upstream server\nrequest_id: ")


def test_client_max_body_size(kong):
    r = requests.post(kong.proxy_url + "/strip", data=b"x" * (70 * 1024))
    assert r.status_code == 413 and r.json()["message"] == "Payload too large"


def test_concurrent_streams(kong):
    import concurrent.futures

    def one(_):
        with requests.get(kong.proxy_url + "/rs/stream?n=2&delay=0.05", stream=True) as r:
            return r.status_code, sum(1 for _ in r.iter_content(chunk_size=None))

    with concurrent.futures.ThreadPoolExecutor(50) as ex:
        results = list(ex.map(one, range(100)))
    assert all(status == 200 for status, _ in results)
