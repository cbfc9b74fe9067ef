"""How the harness's Rpc reads a reply off the socket, as mp_rpc.lua's unpacker over receiveany does.

The peer here is a bare Unix socket that answers with chosen bytes, to put the reply's framing under test:
one read holding the whole reply, a reply split over reads, a serverPid notification before it (in the same
read or its own), and a peer that hangs up mid-reply.
"""
from __future__ import annotations

import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import msgpack
import pytest

from tests.kong_harness.luatypes import LuaError
from tests.kong_harness.rpc import CallInfo, Rpc
from tests.kong_harness.stats import RequestStats, SocketCapture


class _Peer:
    """Accepts one connection per call and answers each request with the pieces given, one send each."""

    def __init__(self, path: Path) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(4)
        self.pieces: list[bytes] = []

    def serve_once(self) -> threading.Thread:
        def run() -> None:
            conn, _ = self.listener.accept()
            with conn:
                conn.recv(65536)
                for piece in self.pieces:
                    conn.sendall(piece)
                    threading.Event().wait(0.02)   # separate reads on the harness's side
                if self.pieces and self.pieces[-1] == b"":
                    return
                conn.recv(1)                       # hold the connection until the harness closes or pools it
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread


@pytest.fixture
def rpc(tmp_path):
    peer = _Peer(tmp_path / "ps.sock")
    dropped: list[Rpc] = []
    runtime = SimpleNamespace(rpc_timeout=2.0, stats=RequestStats(), capture=SocketCapture(), socket_pool_size=0,
                              log_for=lambda *a, **k: None)
    worker = SimpleNamespace(drop_instances_of_rpc=dropped.append)
    client = Rpc(runtime, worker, "ps", str(tmp_path / "ps.sock"))
    client.peer, client.dropped = peer, dropped
    yield client
    peer.listener.close()


INFO = CallInfo(None, "p", "access")
REPLY = msgpack.packb([1, 1, None, {"Data": "ret", "EventId": 7}])
NOTICE = msgpack.packb([2, "serverPid", 4242])


@pytest.mark.parametrize("pieces", [
    [REPLY],                                   # the usual case: the whole reply in one read
    [REPLY[:5], REPLY[5:]],                    # split over two reads
    [NOTICE + REPLY],                          # a notification and the reply in one read
    [NOTICE, REPLY],                           # each in its own read
    [NOTICE, REPLY[:3], REPLY[3:]],            # a notification, then a split reply
], ids=["whole", "split", "notice-with-reply", "notice-then-reply", "notice-then-split"])
def test_reply_is_read_once_whatever_its_framing(rpc, pieces):
    rpc.peer.pieces = pieces
    thread = rpc.peer.serve_once()
    assert rpc.call(INFO, "plugin.HandleEvent", {"EventName": "access"}) == ({"Data": "ret", "EventId": 7}, None)
    assert rpc.pluginserver_pid == (4242 if NOTICE in b"".join(pieces) else None)
    assert rpc.dropped == []                   # one notification seen once: no restart is assumed
    thread.join(5)


def test_second_server_pid_drops_the_instances_of_the_old_one(rpc):
    rpc.peer.pieces = [NOTICE, REPLY]
    rpc.peer.serve_once()
    rpc.call(INFO, "plugin.HandleEvent", {"EventName": "access"})
    rpc.peer.pieces = [msgpack.packb([2, "serverPid", 5151]) + msgpack.packb([1, 2, None, "ret"])]
    rpc.peer.serve_once()
    assert rpc.call(INFO, "plugin.HandleEvent", {"EventName": "access"}) == ("ret", None)
    assert rpc.pluginserver_pid == 5151 and rpc.dropped == [rpc]


def test_hang_up_mid_reply_is_missing_bytes(rpc):
    rpc.peer.pieces = [REPLY[:4], b""]
    rpc.peer.serve_once()
    with pytest.raises(LuaError, match="missing bytes"):
        rpc.call(INFO, "plugin.HandleEvent", {"EventName": "access"})


def test_no_reply_before_the_timeout_is_no_data(rpc):
    rpc.runtime.rpc_timeout = 0.3
    rpc.peer.pieces = []
    rpc.peer.serve_once()
    assert rpc.call(INFO, "plugin.HandleEvent", {"EventName": "access"}) == (None, "no data")
