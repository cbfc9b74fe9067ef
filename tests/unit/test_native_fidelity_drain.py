"""A refused call's small body is read to its end so its kept-alive connection serves the next call (a new TCP/TLS
connection per refusal under throttling otherwise), bounded in bytes and in waiting (bedrock.transport.drain)."""

from __future__ import annotations

import socket
import threading

import pytest

from kong_plugins.bedrock.transport import drain
from tests.unit.test_transport import _read_request, _request, _transport, server

THROTTLED = b'{"message":"Too many requests, please wait before trying again."}'
EXCEPTION_FRAME = b"\x00\x00\x00\x10\x00\x00\x00\x00" + b"x" * 8   # stands for the frame that refused the stream


def _answering(head: bytes, *parts: bytes, hold: threading.Event | None = None):
    """A handler answering every request on its connection with `head` then `parts` (then waiting on `hold`)."""
    def handle(conn: socket.socket, _: int) -> None:
        buffer = bytearray()
        with conn:
            while _read_request(conn, buffer) is not None:
                conn.sendall(head)
                for part in parts:
                    conn.sendall(part)
                if hold is not None:
                    hold.wait(10)
                    return
    return handle


def _url(state: dict) -> str:
    return f"http://127.0.0.1:{state['port']}/model/m/invoke-with-response-stream"


def test_a_streamed_calls_error_body_is_read_and_its_connection_kept():
    head = b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" \
        % len(THROTTLED)
    with server(_answering(head, THROTTLED)) as state:
        transport = _transport(read_timeout=7.0)
        bodies = [drain(transport.send(_request(_url(state), stream=True)).raw) for _ in range(3)]
        (conn,) = [c for idle in transport._idle.values() for c in idle]
        assert conn.sock.gettimeout() == 7.0   # the short wait for the body is not kept for the next call
    assert bodies == [THROTTLED] * 3 and state["connections"] == 1


def test_a_stream_refused_in_its_first_frame_keeps_its_connection_once_its_end_is_read():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\nTransfer-Encoding: chunked\r\n\r\n"
    frame = b"%x\r\n%s\r\n" % (len(EXCEPTION_FRAME), EXCEPTION_FRAME)
    with server(_answering(head, frame, b"0\r\n\r\n")) as state:
        transport = _transport()
        for _ in range(3):
            raw = transport.send(_request(_url(state), stream=True)).raw
            assert next(raw.stream(16384)) == EXCEPTION_FRAME
            assert drain(raw) == b""
    assert state["connections"] == 1


def test_a_body_longer_than_the_limit_is_not_read_and_its_connection_is_closed():
    big = b"x" * 100
    head = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n" % len(big)
    with server(_answering(head, big)) as state:
        transport = _transport()
        assert drain(transport.send(_request(_url(state), stream=True)).raw, limit=10) == big[:10]
        assert drain(transport.send(_request(_url(state), stream=True)).raw) == big
    assert state["connections"] == 2


@pytest.mark.timeout(30)
def test_a_body_that_does_not_end_is_not_waited_for_and_its_connection_is_closed():
    hold = threading.Event()
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    frame = b"%x\r\n%s\r\n" % (len(EXCEPTION_FRAME), EXCEPTION_FRAME)
    try:
        with server(_answering(head, frame, hold=hold)) as state:
            transport = _transport(read_timeout=60.0)
            raw = transport.send(_request(_url(state), stream=True)).raw
            assert next(raw.stream(16384)) == EXCEPTION_FRAME
            assert drain(raw, wait=0.2) == b""   # its end never came: given up after the wait, not the read timeout
            assert transport._idle.get(("http", "127.0.0.1", state["port"]), []) == []
    finally:
        hold.set()
