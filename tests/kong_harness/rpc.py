"""MsgPack-RPC client, one per (worker, plugin server) (kong/runloop/plugin_servers/mp_rpc.lua).

Why: Kong talks to the Python server with ``[0, msgid, method, {...}]``
requests on a fresh-or-pooled unix-socket connection per call (cosocket
``connect`` + ``setkeepalive``), asserts the reply id, dispatches ``[2, label,
args]`` notifications (``serverPid``) and turns ``[1, id, err, nil]`` into
``nil, err``.  The bytes are produced by the lua-MessagePack emulation.
"""
from __future__ import annotations

import select
import socket
import struct
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import cjson
from .lua_msgpack import INCOMPLETE, Unpacker, pack, unpack_one
from .luatypes import LuaError, from_msgpack

if TYPE_CHECKING:  # pragma: no cover
    from .request_ctx import RequestContext
    from .runtime import Runtime, Worker


@dataclass
class CallInfo:
    """Who caused an RPC call (for request_stats and log namespaces)."""

    rq: "RequestContext | None"
    plugin: str | None
    phase: str | None
    pdk_method: str | None = None


def _errno_text(e: OSError) -> str:
    """cosocket error strings ("connection refused", "no such file or directory", "timeout")."""
    if isinstance(e, (socket.timeout, BlockingIOError)):    # BlockingIOError: SO_SNDTIMEO/SO_RCVTIMEO ran out
        return "timeout"
    return (e.strerror or str(e)).lower()


def _set_timeout(s: socket.socket, seconds: float) -> None:
    """The cosocket's timeout, kept by the kernel (SO_RCVTIMEO, SO_SNDTIMEO) on a blocking socket.

    Python's own socket timeout makes the socket non-blocking and polls before every send and receive: 2 of
    the 4 system calls of each round trip, which nginx does not make (its cosockets send and read first)."""
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


class Rpc:
    """``Rpc.new(socket_path, notifications)`` for one nginx worker."""

    def __init__(self, runtime: "Runtime", worker: "Worker", server_name: str, socket_path: str) -> None:
        self.runtime = runtime
        self.worker = worker
        self.server_name = server_name
        self.socket_path = socket_path
        self.msg_id = 0
        self.pluginserver_pid: int | None = None
        self._lock = threading.Lock()
        self._pool: list[socket.socket] = []

    # -- connection pool (lua_socket_pool_size) ------------------------
    def _get_conn(self) -> socket.socket:
        with self._lock:
            while self._pool:
                s = self._pool.pop()
                if not self._is_dead(s):
                    return s
                s.close()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        _set_timeout(s, self.runtime.rpc_timeout)
        try:
            s.connect(self.socket_path)
        except OSError:
            s.close()
            raise
        return s

    @staticmethod
    def _is_dead(s: socket.socket) -> bool:
        """A pooled connection the plugin server closed (OpenResty's pool drops those as they close).

        An idle connection is readable only when closed (or sent something unasked):
        one select() for the usual case, the peek only then.
        """
        try:
            if not select.select([s], [], [], 0)[0]:
                return False
        except (OSError, ValueError):
            return True
        try:
            return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _keepalive(self, s: socket.socket) -> None:
        with self._lock:
            if len(self._pool) < self.runtime.socket_pool_size:
                self._pool.append(s)
                return
        s.close()

    def close_pool(self) -> None:
        with self._lock:
            for s in self._pool:
                s.close()
            self._pool.clear()

    # -- Rpc:call --------------------------------------------------------
    def call(self, info: CallInfo, method: str, *args: Any) -> tuple[Any, Any]:
        with self._lock:
            self.msg_id += 1
            msg_id = self.msg_id
        params = list(args)
        record = {"method": method, "params": params, "result": None, "error": None,
                  "pdk_method": info.pdk_method}
        rid = info.rq.request_id if info.rq is not None else None
        self.runtime.stats.record(rid, info.plugin, info.phase, record)
        try:
            conn = self._get_conn()
        except OSError as e:
            err = _errno_text(e)
            self.runtime.log_for(info.rq, "error", "trying to connect: " + err, src="mp_rpc.lua:206",
                                 plugin=info.plugin)
            record["error"] = err
            return None, err
        try:
            payload = pack([0, msg_id, method, params])
        except LuaError:
            conn.close()  # connected, then mp_pack raised: the cosocket is abandoned
            raise
        # the trace shows params as the plugin server decodes them (bin -> bytes, hooks resolved),
        # decoded from these bytes when someone reads it (RequestStats.get)
        del record["params"]
        record["payload"] = payload
        received = bytearray()
        try:
            conn.sendall(payload)
        except OSError as e:
            conn.close()
            record["error"] = _errno_text(e)
            return None, record["error"]
        unpacker: Unpacker | None = None
        try:
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    conn.close()
                    self.runtime.capture.add(method, payload, bytes(received), rid)
                    if received:
                        raise LuaError("missing bytes")
                    record["error"] = "no data"
                    return None, "no data"
                received += chunk
                # a read that is one whole message is decoded as is (bytes read before it were whole messages too)
                whole = unpack_one(chunk) if unpacker is None else INCOMPLETE
                if whole is not INCOMPLETE:
                    messages: Any = (whole,)
                else:
                    if unpacker is None:
                        unpacker = Unpacker()
                    unpacker.feed(chunk)
                    messages = unpacker.objects()
                for data in messages:
                    if isinstance(data, (list, tuple)) and data and data[0] == 2:
                        self.notification(data[1] if len(data) > 1 else None, data[2] if len(data) > 2 else None)
                        continue
                    self.runtime.capture.add(method, payload, bytes(received), rid)
                    if not (isinstance(data, (list, tuple)) and data and data[0] == 1):
                        conn.close()
                        raise LuaError("RPC response expected from Go plugin server")
                    if len(data) < 2 or data[1] != msg_id:
                        conn.close()
                        raise LuaError("unexpected RPC response ID from Go plugin server")
                    self._keepalive(conn)
                    err = data[2] if len(data) > 2 else None
                    if err is not None:
                        record["error"] = err
                        return None, err
                    result = from_msgpack(data[3] if len(data) > 3 else None)
                    record["result"] = result
                    return result, None
        except LuaError:
            raise

    # -- notifications ---------------------------------------------------
    def notification(self, label: Any, args: Any) -> None:
        """plugin_servers/init.lua rpc_notifications.serverPid."""
        if label != "serverPid":
            return
        try:
            n = int(args)
        except (TypeError, ValueError):
            n = None
        if self.pluginserver_pid is not None and n != self.pluginserver_pid:
            self.worker.drop_instances_of_rpc(self)
        self.pluginserver_pid = n

    # -- helpers ---------------------------------------------------------
    def call_start_instance(self, info: CallInfo, plugin_name: str, conf: dict) -> tuple[dict | None, Any]:
        """mp_rpc.lua Rpc:call_start_instance: ``{Name, Config = cjson.encode(conf)}``."""
        status, err = self.call(info, "plugin.StartInstance",
                                {"Name": plugin_name, "Config": cjson.encode(conf)})
        if status is None:
            return None, err
        return {
            "id": status.get("Id") if isinstance(status, dict) else None,
            "conf": conf,
            "seq": conf.get("__seq__"),
            "Config": status.get("Config") if isinstance(status, dict) else None,
            "rpc": self,
        }, None

    def call_close_instance(self, info: CallInfo, instance_id: Any) -> tuple[Any, Any]:
        return self.call(info, "plugin.CloseInstance", instance_id)
