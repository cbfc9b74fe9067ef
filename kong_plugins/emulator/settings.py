"""Emulator configuration: fixed start-up settings plus knobs that can change at runtime.

The runtime knobs (timing, and the service-tier overrides ``flex_latency_ms`` / ``served_tier``)
live in their own lock-protected object because the control API changes them while request
threads are reading them.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

from .service_tiers import TIERS

DEFAULT_ACCESS_KEY_ID = "AKIDEMULATOR00000000"
DEFAULT_SECRET_ACCESS_KEY = "emulator-secret-access-key"

ENV_ACCESS_KEY_ID = "BEDROCK_EMULATOR_ACCESS_KEY_ID"
ENV_SECRET_ACCESS_KEY = "BEDROCK_EMULATOR_SECRET_ACCESS_KEY"
ENV_SESSION_TOKEN = "BEDROCK_EMULATOR_SESSION_TOKEN"
ENV_BEARER_TOKEN = "BEDROCK_EMULATOR_BEARER_TOKEN"


@dataclass
class TimingValues:
    """Plain snapshot of the runtime knobs (what GET /_emulator/settings returns)."""

    latency_ms: float = 0
    ttft_ms: float = 0
    tokens_per_second: float = 0
    output_tokens: int = 12
    flex_latency_ms: float = 0  # added to latency_ms when the flex tier serves
    served_tier: str | None = None  # serve (and echo) every valid tiered request as this tier


TIMING_KEYS = tuple(f.name for f in fields(TimingValues))


def _check_timing(key: str, value: Any) -> Any:
    """Validate one runtime value; raises ValueError with a client-facing message."""
    if key == "served_tier":
        if value is not None and value not in TIERS:
            raise ValueError(f"served_tier must be null or one of: {', '.join(TIERS)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key} must be a number")
    if key == "output_tokens":
        if int(value) != value or value < 1:
            raise ValueError("output_tokens must be an integer >= 1")
        return int(value)
    if value < 0:
        raise ValueError(f"{key} must be >= 0")
    return value


class Timing:
    """Thread-safe holder of the runtime knobs; read a consistent snapshot per request."""

    def __init__(self, initial: TimingValues) -> None:
        self._lock = threading.Lock()
        self._values = TimingValues(**asdict(initial))
        self._initial = TimingValues(**asdict(initial))

    def snapshot(self) -> TimingValues:
        with self._lock:
            return TimingValues(**asdict(self._values))

    def update(self, changes: dict[str, Any]) -> TimingValues:
        """Apply a partial update atomically (all keys validated before any is applied)."""
        unknown = sorted(set(changes) - set(TIMING_KEYS))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        checked = {k: _check_timing(k, v) for k, v in changes.items()}
        with self._lock:
            for key, value in checked.items():
                setattr(self._values, key, value)
            return TimingValues(**asdict(self._values))

    def reset(self) -> TimingValues:
        with self._lock:
            self._values = TimingValues(**asdict(self._initial))
            return TimingValues(**asdict(self._values))


@dataclass
class EmulatorSettings:
    """Start-up configuration of one emulator instance.

    Credentials are obviously fake defaults; the emulator verifies SigV4 against them.
    ``region=None`` accepts any region in the credential scope.
    """

    host: str = "127.0.0.1"
    port: int = 0
    access_key_id: str = DEFAULT_ACCESS_KEY_ID
    secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY
    session_token: str | None = None
    bearer_token: str | None = None
    region: str | None = None
    latency_ms: float = 0
    ttft_ms: float = 0
    tokens_per_second: float = 0
    output_tokens: int = 12
    flex_latency_ms: float = 0
    served_tier: str | None = None
    cache_min_tokens: int = 0
    request_log_size: int = 200
    hold_timeout_s: float = 300.0
    log_requests: bool = False

    def timing(self) -> TimingValues:
        values = {k: getattr(self, k) for k in TIMING_KEYS}
        return TimingValues(**{k: _check_timing(k, v) for k, v in values.items()})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> "EmulatorSettings":
        """Credentials from BEDROCK_EMULATOR_* variables (fake defaults otherwise)."""
        env = os.environ if environ is None else environ
        base: dict[str, Any] = {
            "access_key_id": env.get(ENV_ACCESS_KEY_ID) or DEFAULT_ACCESS_KEY_ID,
            "secret_access_key": env.get(ENV_SECRET_ACCESS_KEY) or DEFAULT_SECRET_ACCESS_KEY,
            "session_token": env.get(ENV_SESSION_TOKEN) or None,
            "bearer_token": env.get(ENV_BEARER_TOKEN) or None,
        }
        base.update(overrides)
        return cls(**base)
