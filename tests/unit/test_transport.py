"""The Bedrock transport against real sockets: keep-alive, stale connections, streams, failures, TLS, proxies.

Each test runs a small HTTP server in a thread and sends signed-shaped
requests through `Transport`, as the relay does.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import trustme
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError, SSLError

from kong_plugins.bedrock.transport import Transport

BODY = b'{"messages":[{"role":"user","content":"hi"}]}'


def _transport(**kwargs) -> Transport:
    options = {"connect_timeout": 2.0, "read_timeout": 2.0, "max_idle": 4}
    options.update(kwargs)
    return Transport(**options)


def _request(url: str, stream: bool = False):
    prepared = AWSRequest(method="POST", url=url, data=BODY,
                          headers={"Content-Type": "application/json", "X-Amz-Date": "20261122T000000Z"}).prepare()
    prepared.stream_output = stream
    return prepared


def _read_request(conn: socket.socket, buffer: bytearray) -> bytes | None:
    """One request (head + Content-Length body) from a kept-alive connection, None at EOF."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer.extend(chunk)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(rest) < length:
        rest += conn.recv(65536)
    buffer[:] = rest[length:]
    return head + b"\r\n\r\n" + rest[:length]


@contextmanager
def server(handle: Callable[[socket.socket, int], None], tls: ssl.SSLContext | None = None) -> Iterator[dict]:
    """A listener on 127.0.0.1 that hands each accepted connection (and its number) to `handle`."""
    listener = socket.create_server(("127.0.0.1", 0))
    state = {"port": listener.getsockname()[1], "connections": 0, "requests": []}

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            state["connections"] += 1
            if tls is not None:
                try:
                    conn = tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    continue
            threading.Thread(target=handle, args=(conn, state["connections"]), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield state
    finally:
        listener.close()


def answering(state_requests: list, body: bytes = b'{"ok":true}', close_after: int | None = None):
    """A handler that answers every request with `body`; closes the connection after `close_after` answers."""
    def handle(conn: socket.socket, _: int) -> None:
        buffer = bytearray()
        answered = 0
        with conn:
            while (request := _read_request(conn, buffer)) is not None:
                state_requests.append(request)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-amzn-RequestId: r1\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                answered += 1
                if close_after is not None and answered >= close_after:
                    return
    return handle


def test_calls_share_one_kept_alive_connection_and_arrive_intact():
    requests: list[bytes] = []
    with server(answering(requests)) as state:
        transport = _transport()
        url = f"http://127.0.0.1:{state['port']}/model/us.anthropic.claude%3Ax/invoke"
        answers = [transport.send(_request(url)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].content == b'{"ok":true}' and answers[0].headers["X-AMZN-REQUESTID"] == "r1"
    assert state["connections"] == 1
    head, _, body = requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /model/us.anthropic.claude%3Ax/invoke HTTP/1.1\r\n")
    assert b"\r\nX-Amz-Date: 20261122T000000Z" in head and body == BODY


def test_a_connection_bedrock_closed_while_idle_is_replaced_not_failed():
    requests: list[bytes] = []
    with server(answering(requests, close_after=1)) as state:
        transport = _transport()
        url = f"http://127.0.0.1:{state['port']}/model/m/invoke"
        first = transport.send(_request(url))
        time.sleep(0.2)                   # the server has closed its side by now
        second = transport.send(_request(url))
    assert (first.status_code, second.status_code) == (200, 200)
    assert state["connections"] == 2 and len(requests) == 2   # sent once each: no blind replay


def test_a_stream_arrives_piece_by_piece_and_a_cut_mid_chunk_is_a_botocore_error():
    release = threading.Event()

    def handle(conn: socket.socket, _: int) -> None:
        _read_request(conn, bytearray())
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        release.wait(5)
        conn.sendall(b"20\r\nonly part of it")   # promised 32 bytes, then the connection drops
        conn.close()

    with server(handle) as state:
        response = _transport().send(_request(f"http://127.0.0.1:{state['port']}/model/m/invoke-with-response-stream",
                                              stream=True))
        chunks = response.raw.stream(16384)
        assert next(chunks) == b"first"   # before the rest was even sent
        release.set()
        with pytest.raises(ConnectionClosedError):
            list(chunks)


def test_silence_past_the_read_timeout_and_a_refused_connection_raise_what_botocore_raises():
    def silent(conn: socket.socket, _: int) -> None:
        _read_request(conn, bytearray())
        time.sleep(2)
        conn.close()

    with server(silent) as state:
        with pytest.raises(ReadTimeoutError):
            _transport(read_timeout=0.3).send(_request(f"http://127.0.0.1:{state['port']}/model/m/invoke"))
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(EndpointConnectionError):
        _transport().send(_request(f"http://127.0.0.1:{port}/model/m/invoke"))


def test_tls_is_verified_against_the_configured_ca_bundle(tmp_path):
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    requests: list[bytes] = []
    with server(answering(requests), tls=server_context) as state:
        url = f"https://localhost:{state['port']}/model/m/invoke"
        answer = _transport(ca_bundle=str(ca_file)).send(_request(url))
        assert answer.status_code == 200 and answer.content == b'{"ok":true}'
        with pytest.raises(SSLError):     # botocore's own CA bundle does not know this CA
            _transport().send(_request(url))
        with pytest.raises(SSLError):     # the certificate names localhost, not 127.0.0.1
            _transport(ca_bundle=str(ca_file)).send(_request(f"https://127.0.0.1:{state['port']}/model/m/invoke"))


def test_a_configured_proxy_is_used_through_botocores_session(monkeypatch):
    requests: list[bytes] = []
    with server(answering(requests, body=b'{"via":"proxy"}')) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy['port']}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        answer = _transport().send(_request("http://bedrock-runtime.example.internal/model/m/invoke"))
    assert answer.status_code == 200 and answer.content == b'{"via":"proxy"}'
    assert requests[0].startswith(b"POST http://bedrock-runtime.example.internal/model/m/invoke HTTP/1.1")


def test_the_request_head_and_body_leave_in_one_send(monkeypatch):
    """One send, so Bedrock's side wakes once per request (a server cannot tell on loopback: counted here)."""
    from kong_plugins.bedrock import transport as module

    sends: list[bytes] = []
    real = module.send_all
    monkeypatch.setattr(module, "send_all", lambda sock, data: (sends.append(bytes(data)), real(sock, data)))
    requests: list[bytes] = []
    with server(answering(requests)) as state:
        answer = _transport().send(_request(f"http://127.0.0.1:{state['port']}/model/m/invoke"))
    assert answer.content == b'{"ok":true}'
    assert sends == requests   # the whole request, head and body, in one send


def test_socket_options_and_the_read_timeout_are_set_once_connected():
    requests: list[bytes] = []
    options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1), (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    with server(answering(requests)) as state:
        transport = _transport(read_timeout=7.0, socket_options=options)
        transport.send(_request(f"http://127.0.0.1:{state['port']}/model/m/invoke"))
        (conn,) = [c for idle in transport._idle.values() for c in idle]
        assert conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert conn.sock.gettimeout() == 7.0     # not the connect timeout
