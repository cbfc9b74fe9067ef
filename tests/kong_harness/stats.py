"""Per-request RPC accounting and raw socket capture.

Why: tests and benchmarks ask "how many RPC round-trips did this request
cost, for which plugin and phase, with which payloads" (``request_stats``), and
byte-level tests compare the exact bytes Kong would put on the unix socket
(``rpc_socket_bytes``).  Calls are attributed to the request that caused them,
including StartInstance/CloseInstance and the log-phase timer events.
"""
from __future__ import annotations

import collections
import copy
import threading
from typing import Any

import msgpack


class _Entry:
    def __init__(self) -> None:
        self.rpc_calls = 0
        self.by_plugin: dict[str, dict[str, int]] = {}
        self.trace: list[dict] = []
        self.pending = 0
        self.finished = False
        self.cond = threading.Condition()


class RequestStats:
    """``h.request_stats(request_id)`` storage (bounded to the last N requests)."""

    def __init__(self, keep: int = 5000) -> None:
        self._lock = threading.Lock()
        self._entries: "collections.OrderedDict[str, _Entry]" = collections.OrderedDict()
        self._keep = keep

    def _entry(self, rid: str) -> _Entry:
        with self._lock:
            e = self._entries.get(rid)
            if e is None:
                e = _Entry()
                self._entries[rid] = e
                while len(self._entries) > self._keep:
                    self._entries.popitem(last=False)
            return e

    def record(self, rid: str | None, plugin: str | None, phase: str | None, item: dict) -> None:
        if rid is None:
            return
        e = self._entry(rid)
        with e.cond:
            e.rpc_calls += 1
            if plugin is not None:
                by_phase = e.by_plugin.setdefault(plugin, {})
                key = phase or "?"
                by_phase[key] = by_phase.get(key, 0) + 1
            e.trace.append(item)

    def timer_started(self, rid: str) -> None:
        e = self._entry(rid)
        with e.cond:
            e.pending += 1

    def timer_done(self, rid: str) -> None:
        e = self._entry(rid)
        with e.cond:
            e.pending -= 1
            e.cond.notify_all()

    def request_finished(self, rid: str) -> None:
        e = self._entry(rid)
        with e.cond:
            e.finished = True
            e.cond.notify_all()

    def wait(self, rid: str, timeout: float) -> bool:
        e = self._entry(rid)
        with e.cond:
            return e.cond.wait_for(lambda: e.finished and e.pending <= 0, timeout)

    def get(self, rid: str) -> dict[str, Any]:
        e = self._entry(rid)
        with e.cond:
            rpc_calls = e.rpc_calls
            trace = copy.deepcopy(e.trace)
            by_plugin = copy.deepcopy(e.by_plugin)
        for item in trace:
            payload = item.pop("payload", None)
            if payload is not None:
                item["params"] = msgpack.unpackb(payload, raw=False, strict_map_key=False,
                                                 unicode_errors="surrogateescape")[3]
        return {"rpc_calls": rpc_calls, "by_plugin": by_plugin, "trace": trace}


class SocketCapture:
    """The raw bytes of the last N RPC calls (request sent, reply received)."""

    def __init__(self, keep: int = 200) -> None:
        self._calls: "collections.deque[dict]" = collections.deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self, method: str, sent: bytes, received: bytes, request_id: str | None) -> None:
        with self._lock:
            self._calls.append({"method": method, "sent": sent, "received": received,
                                "request_id": request_id})

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self._calls)
