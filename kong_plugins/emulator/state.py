"""Shared per-emulator state: request log, stats, hold gate, faults, cache and timing.

Everything here is touched by concurrent request threads and the control API, so each
piece guards itself with a lock.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Iterable

from . import jsonbody
from .cache import PromptCache
from .faults import FaultBook
from .service_tiers import requested as requested_tier
from .settings import EmulatorSettings, Timing

REDACTED_HEADERS = frozenset({"authorization", "x-amz-security-token", "x-api-key"})


class HoldGate:
    """While held, streams pause before their last content delta until released."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held = False
        self._waiting = 0

    def hold(self) -> None:
        with self._cond:
            self._held = True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    @property
    def held(self) -> bool:
        return self._held

    @property
    def waiting(self) -> int:
        return self._waiting

    def wait_if_held(self, timeout_s: float) -> None:
        with self._cond:
            if not self._held:
                return
            self._waiting += 1
            try:
                self._cond.wait_for(lambda: not self._held, timeout=timeout_s)
            finally:
                self._waiting -= 1


class OpenStreams:
    """Streams being written now: one that ends (its last frame, a fault, or its reader gone) leaves the count.
    A gateway that stops reading a stream without closing it keeps it here (Bedrock would keep generating)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0

    @property
    def open(self) -> int:
        return self._open

    def add(self, change: int) -> None:
        with self._lock:
            self._open += change


class ModelConnections:
    """Connections that carried a model request (the control API's are not counted): a gateway that keeps its
    connections alive opens one per concurrent call, not one per call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._opened = 0

    @property
    def opened(self) -> int:
        return self._opened

    def note(self) -> None:
        with self._lock:
            self._opened += 1

    def clear(self) -> None:
        with self._lock:
            self._opened = 0


def redact_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in items:
        lname = name.lower()
        value = "<redacted>" if lname in REDACTED_HEADERS else value
        out[lname] = f"{out[lname]},{value}" if lname in out else value
    return out


def parse_json_or_none(body: bytes) -> Any:
    try:
        return jsonbody.loads(body, allow_surrogates=True) if body else None
    except (ValueError, UnicodeDecodeError):
        return None


class RequestLog:
    """The last N model requests as they reached the emulator (what gateway tests assert on).

    ``service_tier``: the tier the request named (Converse: ``serviceTier.type`` in the body;
    InvokeModel: the ``X-Amzn-Bedrock-Service-Tier`` header), unvalidated; None when it named none.
    """

    def __init__(self, size: int) -> None:
        self._items: collections.deque[dict[str, Any]] = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, operation: str | None, model_id: str | None, path: str,
               headers: Iterable[tuple[str, str]], body: bytes) -> dict[str, Any]:
        logged_headers, parsed = redact_headers(headers), parse_json_or_none(body)
        entry = {"operation": operation, "model_id": model_id, "path": path, "headers": logged_headers,
                 "body": parsed, "service_tier": requested_tier(operation, logged_headers, parsed), "status": None}
        with self._lock:
            self._items.append(entry)
        return entry

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Stats:
    """Counts of model requests per operation and HTTP status."""

    def __init__(self) -> None:
        self._counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self._lock = threading.Lock()

    def count(self, operation: str | None, status: int | str) -> None:
        with self._lock:
            self._counts[operation or "unknown"][str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            per_op = {op: dict(c) for op, c in sorted(self._counts.items())}
        return {"total": sum(sum(c.values()) for c in per_op.values()), "operations": per_op}

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class EmulatorState:
    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.timing = Timing(settings.timing())
        self.faults = FaultBook()
        self.cache = PromptCache(settings.cache_min_tokens)
        self.hold = HoldGate()
        self.requests = RequestLog(settings.request_log_size)
        self.stats = Stats()
        self.streams = OpenStreams()
        self.connections = ModelConnections()

    def reset(self) -> None:
        """Back to a fresh emulator (keeps credentials and address)."""
        self.timing.reset()
        self.faults.clear()
        self.cache.clear()
        self.hold.release()
        self.requests.clear()
        self.stats.clear()
        self.connections.clear()
