"""Control API under ``/_emulator/`` (no auth, JSON): settings, faults, hold, request log, stats, open streams.

Tests and ``make dev`` drive the emulator through these routes; in-process tests can use the
same operations through ``EmulatorServer`` methods.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable

from . import jsonbody
from .state import EmulatorState

PREFIX = "/_emulator/"
ControlResult = tuple[int, Any]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json_body(body: bytes) -> Any:
    try:
        return jsonbody.loads(body.decode("utf-8")) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise ControlError(400, "request body must be JSON") from None


def _put_settings(state: EmulatorState, body: bytes) -> ControlResult:
    changes = _json_body(body)
    if not isinstance(changes, dict):
        raise ControlError(400, "settings must be a JSON object")
    try:
        return 200, asdict(state.timing.update(changes))
    except ValueError as exc:
        raise ControlError(400, str(exc)) from None


def _add_fault(state: EmulatorState, body: bytes) -> ControlResult:
    try:
        rule = state.faults.add(_json_body(body))
    except ValueError as exc:
        raise ControlError(400, str(exc)) from None
    return 200, {"id": rule.id}


def _release(state: EmulatorState) -> ControlResult:
    waiting = state.hold.waiting
    state.hold.release()
    return 200, {"held": False, "released": waiting}


def _then(action: Callable[[], object], payload: dict[str, Any]) -> Callable[[], ControlResult]:
    """Route that performs ``action`` and answers 200 with a fixed payload."""
    def run() -> ControlResult:
        action()
        return 200, payload
    return run


def _routes(state: EmulatorState, body: bytes) -> dict[tuple[str, str], Callable[[], ControlResult]]:
    return {
        ("GET", "health"): lambda: (200, {"status": "ok"}),
        ("GET", "settings"): lambda: (200, asdict(state.timing.snapshot())),
        ("PUT", "settings"): lambda: _put_settings(state, body),
        ("GET", "faults"): lambda: (200, state.faults.list()),
        ("POST", "faults"): lambda: _add_fault(state, body),
        ("DELETE", "faults"): _then(state.faults.clear, {"cleared": True}),
        ("GET", "hold"): lambda: (200, {"held": state.hold.held, "waiting": state.hold.waiting}),
        ("POST", "hold"): _then(state.hold.hold, {"held": True}),
        ("POST", "release"): lambda: _release(state),
        ("GET", "requests"): lambda: (200, state.requests.list()),
        ("DELETE", "requests"): _then(state.requests.clear, {"cleared": True}),
        ("GET", "stats"): lambda: (200, state.stats.snapshot()),
        ("GET", "streams"): lambda: (200, {"open": state.streams.open}),
        ("GET", "connections"): lambda: (200, {"opened": state.connections.opened}),
        ("DELETE", "stats"): _then(state.stats.clear, {"cleared": True}),
        ("DELETE", "cache"): _then(state.cache.clear, {"cleared": True}),
        ("POST", "reset"): _then(state.reset, {"reset": True}),
    }


def handle_control(state: EmulatorState, method: str, path: str, body: bytes) -> ControlResult:
    """Dispatch one control request; returns (status, JSON-able payload)."""
    name = path[len(PREFIX):].strip("/")
    routes = _routes(state, body)
    action = routes.get((method, name))
    if action is None:
        if any(route_name == name for _, route_name in routes):
            return 405, {"error": f"method {method} not allowed on {path}"}
        return 404, {"error": f"unknown control route {path}"}
    try:
        return action()
    except ControlError as exc:
        return exc.status, {"error": str(exc)}
