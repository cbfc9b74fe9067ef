"""A refused call's body is drained (so its connection serves the retry) within DRAIN_WAIT in all, not per read: a
body that trickles in, a few bytes at a time inside each read's wait, held the retry up for as long as it trickled
(up to 64 KiB reads of half a second each) before its connection was given up."""

from __future__ import annotations

import socket
import threading

import pytest

from kong_plugins.bedrock.transport import drain
from tests.unit.test_transport import _read_request, _request, _transport, server


@pytest.mark.timeout(10)
def test_a_body_that_trickles_in_is_given_up_after_the_wait_and_its_connection_closed():
    stop = threading.Event()

    def trickle(conn: socket.socket, _: int) -> None:
        with conn:
            if _read_request(conn, bytearray()) is None:
                return
            conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 60000\r\n\r\n")
            while not stop.wait(0.1):   # 10 bytes a tenth of a second: 100 minutes for the whole body
                try:
                    conn.sendall(b"x" * 10)
                except OSError:
                    return

    try:
        with server(trickle) as state:
            transport = _transport(read_timeout=60.0)
            upstream = transport.send(_request(f"http://127.0.0.1:{state['port']}/model/m/invoke", stream=True))
            assert upstream.status_code == 503
            got = drain(upstream.raw, wait=0.5)
            assert got == b"x" * len(got)   # what came, and no more waited for
            assert transport._idle.get(("http", "127.0.0.1", state["port"]), []) == []   # never reused half-read
    finally:
        stop.set()
