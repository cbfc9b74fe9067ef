"""kong-pdk's Unix-socket listener, without the per-message work Kong never sees.

`kong_pdk.listener.Server.handle` is the loop every one of Kong's RPC round
trips goes through (11 per request here). Before dispatching, it formats the
message's arguments and its result into two debug strings that the logger then
discards at our log level; a PDK answer carrying the request body (get_raw_body)
is thus copied into a string twice per request, which is both CPU spent for
nothing and a body rendered as text where the project promises never to. It
also runs a regex to turn `plugin.HandleEvent` into `handle_event` on every
message. This loop keeps the same wire protocol, dispatch and error replies,
caches the method names, reuses one packer per connection, and logs failures
by exception type only.
"""

from __future__ import annotations

import re
from typing import Any

import msgpack
from kong_pdk.exception import PDKException, PluginServerException
from kong_pdk.listener import UnixStreamServer, WrapSocket

from kong_plugins.eventlog import log_event

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


class QuietUnixStreamServer(UnixStreamServer):
    """Drop-in for kong_pdk.listener.UnixStreamServer (gevent mode)."""

    def handle(self, fd: Any, address: Any, *_: Any) -> None:
        packer = msgpack.Packer()
        for _kind, msgid, method, args in msgpack.Unpacker(WrapSocket(fd), strict_map_key=False):
            name = handler_name(method)
            if name is None:
                fd.sendall(packer.pack([1, msgid, "RPC for %s is not supported" % method.split(".")[0], None]))
                continue
            try:
                reply = [1, msgid, None, getattr(self.ps, name)(*args)]
            except (PluginServerException, PDKException) as exc:
                reply = [1, msgid, str(exc), None]
            except Exception as exc:  # noqa: BLE001 - kong-pdk answers every failure with its text
                log_event("rpc_error", level="error", method=method, error=type(exc).__name__)
                reply = [1, msgid, str(exc), None]
            fd.sendall(packer.pack(reply))


class PhaseHandlerCount:
    """How many plugin phase handlers kong-pdk is running (each in its own greenlet).

    kong-pdk spawns `kong_pdk.server._handler_event_func` per event; it runs
    the phase method, then hands "ret" over a channel. A handler stuck for good
    (a PDK reply that never comes, a "ret" nobody collects after
    `kong.response.exit`) never gets back here, so the count stays above 0 on
    an idle gateway: the leak made visible (`kong_bedrock_phase_handlers`).
    """

    def __init__(self) -> None:
        self.running = 0

    def install(self) -> None:
        import kong_pdk.server

        original = kong_pdk.server._handler_event_func

        def counted(cls_phase: Any, ch: Any, lua_style: bool) -> None:
            self.running += 1
            try:
                original(cls_phase, ch, lua_style)
            finally:
                self.running -= 1

        kong_pdk.server._handler_event_func = counted


phase_handlers = PhaseHandlerCount()
