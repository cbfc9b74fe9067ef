"""One-line JSON events on stdout, metadata only.

Kong captures the plugin server's stdout into its error log (at INFO level,
prefixed `[<server>:<pid>]`), so stdout is the log channel. Callers pass only
metadata fields (ids, names, counts, durations); bodies, keys, prompts and
credentials are never handed to this module, and exception *messages* are not
logged either (they can quote input), only exception type names.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}
_threshold = _LEVELS["info"]


def set_level(level: str) -> None:
    """Lowest level written (`--log-level`); debug lines are off by default."""
    global _threshold
    _threshold = _LEVELS[level]


def log_event(event: str, level: str = "info", **fields: Any) -> None:
    if _LEVELS.get(level, 20) < _threshold:
        return
    record = {"ts": round(time.time(), 3), "level": level, "event": event}
    record.update({k: v for k, v in fields.items() if v is not None})
    try:
        sys.stdout.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # stdout closed (Kong gone): never let logging fail a request
