"""The relay's WSGI serving: a non-streamed answer leaves in one write, streams keep their framing."""

from __future__ import annotations

import gevent
from gevent import socket as gsocket

from kong_plugins.relay import wsgi

REQUEST = b"POST /v1/chat/completions HTTP/1.1\r\nHost: relay\r\nContent-Length: 2\r\n\r\n{}"


def _app(environ, start_response):
    while environ["wsgi.input"].read(65536):
        pass
    if environ["PATH_INFO"] == "/stream":
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return iter([b"data: one\n\n", b"data: two\n\n"])
    body = b'{"id":"chatcmpl-1"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _exchange(request: bytes, until: bytes) -> bytes:
    server = wsgi.serve("127.0.0.1", 0, _app)
    try:
        client = gsocket.create_connection(("127.0.0.1", server.server_port))
        client.sendall(request)
        received = b""
        with gevent.Timeout(5):
            while until not in received:
                received += client.recv(65536)
        client.close()
        return received
    finally:
        server.stop()


def test_status_headers_and_body_leave_in_one_write(monkeypatch):
    writes: list[bytes] = []
    real = wsgi.send_all
    monkeypatch.setattr(wsgi, "send_all", lambda sock, data: (writes.append(bytes(data)), real(sock, data)))
    received = _exchange(REQUEST, b'"chatcmpl-1"}')
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b'\r\n\r\n{"id":"chatcmpl-1"}')
    assert received == writes[0]


def test_a_stream_is_chunked_with_its_first_event_in_the_header_write(monkeypatch):
    writes: list[bytes] = []
    real = wsgi.send_all
    monkeypatch.setattr(wsgi, "send_all", lambda sock, data: (writes.append(bytes(data)), real(sock, data)))
    received = _exchange(REQUEST.replace(b"/v1/chat/completions", b"/stream"), b"0\r\n\r\n")
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"b\r\ndata: one\n\n\r\nb\r\ndata: two\n\n\r\n0\r\n\r\n"
    assert writes[0].endswith(b"\r\n\r\nb\r\ndata: one\n\n\r\n")   # the first event did not wait for a second write
