"""kong-pdk's Unix-socket listener, without the per-message work Kong never sees.

`kong_pdk.listener.Server.handle` is the loop every one of Kong's RPC round
trips goes through (9 per request here). Before dispatching, it formats the
message's arguments and its result into two debug strings that the logger then
discards at our log level; a PDK answer carrying the request body (get_raw_body)
is thus copied into a string twice per request, which is both CPU spent for
nothing and a body rendered as text where the project promises never to. It
also runs a regex to turn `plugin.HandleEvent` into `handle_event` on every
message. This loop keeps the same wire protocol, dispatch and error replies,
caches the method names, reuses one packer per connection, keeps its buffers
small (see QuietUnixStreamServer) and logs failures by exception type only.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import msgpack
from kong_pdk.exception import PDKException, PluginServerException
from kong_pdk.listener import UnixStreamServer

from kong_plugins.eventlog import log_event
from kong_plugins.socket_send import send_all

_CAMEL = re.compile("([a-z])([A-Z])")
_method_names: dict[str, str | None] = {}


def handler_name(method: str) -> str | None:
    """`plugin.StepMultiMap` -> `step_multi_map` (kong-pdk's mapping); None outside the plugin namespace."""
    name = _method_names.get(method)
    if name is None and method not in _method_names:
        namespace, _, command = method.partition(".")
        if namespace == "plugin" and command:
            name = command[0].lower() + _CAMEL.sub(lambda m: f"{m.group(1)}_{m.group(2).lower()}", command[1:])
        if len(_method_names) < 256:
            _method_names[method] = name
    return name


READ_SIZE = 16 * 1024
"""Bytes per recv and the codec buffers' starting size (msgpack's own defaults: 1 MiB and 256 KiB)."""
BIG_MESSAGE = 64 * 1024
"""After a message this large (a request body, say), the connection's codec buffers start over."""


class QuietUnixStreamServer(UnixStreamServer):
    """Drop-in for kong_pdk.listener.UnixStreamServer (gevent mode).

    Memory: Kong keeps up to `lua_socket_pool_size` (256) idle connections per
    worker, and kong-pdk gives each one an Unpacker with a 1 MiB buffer. The
    unpacker writes each message after the previous one and moves back to the
    start only when the tail is full, so over time every page of the buffer gets
    touched, and a buffer grown for a large body never shrinks: RSS grew by about
    1 MiB per pooled connection under load (issue #7's memory run: +40 MiB; a
    Claude Code body is 100-300 KiB). Here each connection starts with 16 KiB
    buffers and gets new ones after any message over 64 KiB.
    """

    def handle(self, fd: Any, address: Any, *_: Any) -> None:
        codec = _Codec()
        while True:
            data = fd.recv(READ_SIZE)
            if not data:
                return
            for _kind, msgid, method, args in codec.feed(data):
                send_all(fd, codec.pack(self._dispatch(msgid, method, args)))
            codec.shrink_if_idle()

    def _dispatch(self, msgid: int, method: str, args: list) -> list:
        name = handler_name(method)
        if name is None:
            return [1, msgid, "RPC for %s is not supported" % method.split(".")[0], None]
        try:
            return [1, msgid, None, getattr(self.ps, name)(*args)]
        except (PluginServerException, PDKException) as exc:
            return [1, msgid, str(exc), None]
        except Exception as exc:  # noqa: BLE001 - kong-pdk answers every failure with its text
            log_event("rpc_error", level="error", method=method, error=type(exc).__name__)
            return [1, msgid, str(exc), None]


class _Codec:
    """One connection's msgpack unpacker and packer, with buffers kept small."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Lua strings are bytes: Kong sends a client's non-UTF-8 header bytes inside msgpack str
        # values (kong.log.serialize, get_headers). Strict decoding (kong-pdk's) killed the
        # connection and, with it, that request's log phase; surrogateescape keeps the bytes.
        self.unpacker = msgpack.Unpacker(strict_map_key=False, read_size=READ_SIZE,
                                         unicode_errors="surrogateescape")
        self.packer = msgpack.Packer(buf_size=READ_SIZE, unicode_errors="surrogateescape")
        self.fed = 0            # bytes fed since the last reset
        self.big = False        # a message over BIG_MESSAGE went through

    def feed(self, data: bytes) -> Iterator[list]:
        """The complete messages `data` finishes, in order."""
        self.unpacker.feed(data)
        self.fed += len(data)
        start = self.unpacker.tell()
        for message in self.unpacker:
            end = self.unpacker.tell()
            self.big = self.big or end - start > BIG_MESSAGE
            start = end
            yield message

    def pack(self, reply: list) -> bytes:
        out = self.packer.pack(reply)
        if len(out) > BIG_MESSAGE:
            self.big = True
        return out

    def shrink_if_idle(self) -> None:
        """New buffers once a big message is done and no partial one is waiting."""
        if self.big and self.unpacker.tell() == self.fed:
            self._reset()
