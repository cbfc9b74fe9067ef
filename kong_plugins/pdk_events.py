"""kong-pdk's plugin events on plain greenlet switches.

A phase handler talks to Kong in reverse: each PDK call it makes is the reply
to Kong's last RPC (HandleEvent or a Step), and Kong's next Step carries the
answer. kong-pdk runs every event in a spawned gevent Greenlet and passes each
call and answer through a gevent Channel, with a lock around HandleEvent: 10.7 us
per round trip in isolation, 9 round trips per request. Here the handler runs in
a bare greenlet that switches straight to whichever connection is serving its
event and back: the same replies on the wire, 5.0 us. The greenlets are reused:
a fresh one costs about 9 us more, most of it the 16 KiB frame stack Python
3.11 maps for each new greenlet's first call and unmaps when it ends (4 mmap
and munmap pairs per request, seen with strace).

Same protocol as kong_pdk.server.PluginServer: HandleEvent answers with the
handler's first PDK call (or "ret"), each Step with the next; kong.response.exit
and kong.response.error end the event, since Kong never answers them. Handlers
still block cooperatively on gevent I/O (Redis, say): the hub resumes them and
they switch back to the connection that is waiting for them.
"""

from __future__ import annotations

from typing import Any

import greenlet
from gevent import GreenletExit
from kong_pdk.exception import PluginServerException
from kong_pdk.pdk import Kong
from kong_pdk.server import MSG_RET, PluginServer, terminal_methods


class PhaseHandlerCount:
    """Phase handlers started and not finished (`kong_bedrock_phase_handlers`).

    A handler stuck for good (a PDK answer that never comes) never finishes, so
    the count stays above 0 on an idle gateway: the leak made visible.
    """

    def __init__(self) -> None:
        self.running = 0


phase_handlers = PhaseHandlerCount()


class _Channel:
    """What kong_pdk.pdk.rpc_of needs: `put` a PDK call, `get` Kong's (data, error) answer."""

    __slots__ = ("answer",)

    def __init__(self) -> None:
        self.answer: Any = None

    def put(self, call: dict) -> None:
        """Hand the call to the connection serving this event; resume with Kong's answer."""
        self.answer = greenlet.getcurrent().parent.switch(call)

    def get(self) -> Any:
        return self.answer


class GreenletPluginServer(PluginServer):
    """kong_pdk's PluginServer (gevent mode) with events run as bare greenlets."""

    def handle_event(self, event: dict) -> dict:
        iid = event["InstanceId"]
        instance = self.instances.get(iid)
        if instance is None:
            raise PluginServerException("no plugin instance #%s" % iid)   # Kong matches this prefix
        instance.reset_expire_ts()
        phase_method = getattr(instance.cls, event["EventName"])
        eid = self.event_id
        self.event_id = eid + 1
        handler = _idle.pop() if _idle else greenlet.greenlet(_serve_phases)
        return self._resume(eid, handler, (phase_method, self.lua_style))

    def _step(self, data: dict, is_error: bool) -> dict:
        eid = data["EventId"]
        handler = self.events.get(eid)
        if handler is None:
            raise PluginServerException("event id %s not found" % eid)
        answer = data.get("Data")
        return self._resume(eid, handler, (None, answer) if is_error else (answer, None))

    def _resume(self, eid: int, handler: greenlet.greenlet, *args: Any) -> dict:
        """Run the handler until its next PDK call or its end; its next switch comes back here."""
        handler.parent = greenlet.getcurrent()
        try:
            reply = handler.switch(*args)
        except BaseException:
            self.events.pop(eid, None)
            raise
        if reply == MSG_RET:
            self.events.pop(eid, None)
            _keep(handler)
        elif isinstance(reply, dict) and reply.get("Method") in terminal_methods:
            self.events.pop(eid, None)
            # Kong ends the request and never answers: end the handler here. Only one that then
            # reports done is reused; one that swallowed the exit and called Kong again stays out.
            if handler.throw(GreenletExit) == MSG_RET:
                _keep(handler)
        else:
            self.events[eid] = handler
        return {"Data": reply, "EventId": eid}


MAX_IDLE_HANDLERS = 64
"""Handler greenlets kept for reuse; a burst beyond that makes new ones, which then end."""
_idle: list[greenlet.greenlet] = []


def _keep(handler: greenlet.greenlet) -> None:
    """Pool a handler that has reported done (it waits in _serve_phases for its next job)."""
    if len(_idle) < MAX_IDLE_HANDLERS:
        _idle.append(handler)


def _serve_phases(job: tuple[Any, bool]) -> None:
    """A handler greenlet's life: run a phase, hand MSG_RET to the connection serving it, wait for the next.

    A handler's exception ends the greenlet and reaches that connection, as it
    would from a greenlet made for one event.
    """
    while True:
        phase_method, lua_style = job
        phase_handlers.running += 1
        channel = _Channel()
        try:
            phase_method(Kong(channel, lua_style).kong)
        except GreenletExit:
            pass     # thrown in after kong.response.exit (see _resume)
        finally:
            phase_handlers.running -= 1
            # kong-pdk's Kong object is a reference cycle (its rpc_of closures call back into it), freed only by
            # the garbage collector: the channel's last answer (a request's body, in the post-function snapshot)
            # lived on with it, and a burst of large prompts held hundreds of MiB until the next collection
            channel.answer = None
        job = greenlet.getcurrent().parent.switch(MSG_RET)
