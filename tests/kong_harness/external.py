"""Phase closures of external (plugin-server) plugins (plugin_servers/init.lua build_phases).

Why: every phase of an external plugin is ``server_rpc:handle_event(name,
conf, phase)``, except ``log``: Kong captures a snapshot (serialize_data,
``clone(ngx.ctx)``, ``kong.ctx.shared``, request/response headers, status,
start time) and runs the event in ``ngx.timer.at(0, ...)`` after the
response.  The timer runs with the cloned ctx as ``ngx.ctx`` and without
``ngx.var``/``ngx.req``.
"""
from __future__ import annotations

import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Iterator

from .bridge import handle_event
from .luatypes import CoroutineYield, LuaError, NgxExit
from .pdk_log import build_serialize
from .request_ctx import LogSnapshot, RequestContext

if TYPE_CHECKING:  # pragma: no cover
    from .plugins_iterator import PluginHandler


def make_runner(server_name: str):
    """The handler table entries Kong builds for one external plugin."""

    def run(handler: "PluginHandler", phase: str, rq: RequestContext, cfg: dict) -> None:
        if phase == "log":
            _schedule_log_timer(server_name, handler, rq, cfg)
            return
        handle_event(rq.worker, server_name, handler.name, cfg, phase, rq)

    return run


def _schedule_log_timer(server_name: str, handler: "PluginHandler", rq: RequestContext, cfg: dict) -> None:
    """native_timer_at(0, ..., saved) with the snapshot captured now (in the log phase)."""
    # kong.log.serialize() as it is now, built on demand: its own copy of ngx.ctx (and of the
    # serialize_values list), since the plugin may change the timer's ngx_ctx before it asks
    frozen_ctx, now = dict(rq.ctx), time.time()
    if isinstance(frozen_ctx.get("serialize_values"), list):
        frozen_ctx["serialize_values"] = list(frozen_ctx["serialize_values"])
    snapshot = LogSnapshot(
        plugin_name=handler.name,
        build_serialize_data=lambda: build_serialize(rq, frozen_ctx, now),
        ngx_ctx=dict(rq.ctx),
        ctx_shared=rq.shared,
        request_headers=rq.req_headers.to_lua(),
        response_headers=rq.resp_headers.to_lua(),
        response_status=rq.resp_status,
        req_start_time=round(rq.start_time, 3),
    )
    timer_rq = replace(rq, ctx=snapshot.ngx_ctx, in_timer=True, snapshot=snapshot,
                       current_plugin=handler.name)
    runtime = rq.runtime
    runtime.stats.timer_started(rq.request_id)

    def timer() -> None:
        try:
            handle_event(rq.worker, server_name, handler.name, cfg, "log", timer_rq)
        except (LuaError, CoroutineYield, NgxExit) as e:
            runtime.log_for(timer_rq, "error", "lua entry thread aborted: runtime error: %s" % e,
                            src="init.lua:0", plugin=handler.name)
        except Exception as e:  # pragma: no cover - harness bug guard
            runtime.log_for(timer_rq, "error", "harness: log timer crashed: %r" % e, plugin=handler.name)
        finally:
            runtime.stats.timer_done(rq.request_id)

    TIMERS.run(timer)


class TimerPool:
    """Light threads for ``ngx.timer.at`` callbacks: idle ones are reused, at most 4096 run at once.

    OpenResty runs each timer in a fresh light thread (cheap in nginx); an OS
    thread per timer costs ~0.1 ms here, so finished workers wait for the next
    one instead. kong/templates/nginx.lua sets ``lua_max_running_timers 4096``:
    beyond that, timers wait in the queue. Workers are daemons, as the
    per-timer threads were: a timer stuck on a frozen plugin server never
    holds the interpreter open.
    """

    def __init__(self, max_running: int = 4096) -> None:
        self.max_running = max_running
        self._queue: "queue.SimpleQueue" = queue.SimpleQueue()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._workers = 0
        self._idle = 0      # workers waiting for a timer
        self._queued = 0    # timers not picked up yet

    def run(self, fn) -> None:
        with self._lock:
            self._queued += 1
            start = self._queued > self._idle and self._workers < self.max_running
            if start:
                self._workers += 1
        self._queue.put(fn)
        if start:
            threading.Thread(target=self._work, name="log-timer", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            fn = self._queue.get()
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            self._running.wait()
            try:
                fn()
            except BaseException:  # noqa: BLE001 - a failed timer must not kill the worker
                pass   # nginx logs a timer's error and goes on; ours log their own errors first

    @contextmanager
    def held(self) -> Iterator[None]:
        """Tests: timers wait until the block ends, as they do in a busy worker.

        ``ngx.timer.at(0)`` runs when the worker's event loop gets to it, so a
        client can have its answer, and send its next request, before the log
        phase of the last one has run; this makes that order certain.
        """
        self._running.clear()
        try:
            yield
        finally:
            self._running.set()


TIMERS = TimerPool()
