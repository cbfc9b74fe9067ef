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


def _exchange(request: bytes, until: bytes | None, app=_app) -> bytes:
    """What the relay answers `request`: up to `until`, or everything until it closes the connection."""
    server = wsgi.serve("127.0.0.1", 0, app)
    try:
        client = gsocket.create_connection(("127.0.0.1", server.server_port))
        client.sendall(request)
        received = b""
        with gevent.Timeout(5):
            while until is None or until not in received:
                chunk = client.recv(65536)
                if not chunk:
                    break
                received += chunk
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


def _environ_of(request: bytes) -> tuple[bytes, dict]:
    seen: dict = {}

    def app(environ, start_response):
        seen.update({k: v for k, v in environ.items() if k.startswith(("HTTP_", "CONTENT_"))})
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    return _exchange(request, None, app), seen   # until it closes (Connection: close, or a 400)


def test_request_headers_reach_the_app_as_pywsgi_gives_them():
    received, environ = _environ_of(
        b"POST /model/x/invoke HTTP/1.1\r\nHost: relay\r\nX-Kong-Request-Id:  abc123 \r\n"
        b"Content-Type: application/json\r\nAnthropic-Beta: a, b\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody")
    assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"\r\n\r\nbody")
    assert environ["HTTP_X_KONG_REQUEST_ID"] == "abc123" and environ["HTTP_ANTHROPIC_BETA"] == "a, b"
    assert environ["CONTENT_TYPE"] == "application/json" and environ["CONTENT_LENGTH"] == "4"


def test_malformed_header_blocks_get_400_not_a_call():
    folded = b"GET /health HTTP/1.1\r\nHost: relay\r\nX-A: one\r\n two\r\n\r\n"
    no_colon = b"GET /health HTTP/1.1\r\nHost relay\r\n\r\n"
    space_before_colon = b"GET /health HTTP/1.1\r\nHost : relay\r\n\r\n"
    too_many = b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    too_long = b"GET /health HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n"
    for request in (folded, no_colon, space_before_colon, too_many, too_long):
        received, environ = _environ_of(request)
        assert received.startswith(b"HTTP/1.1 400 "), request[:40]
        assert environ == {}
