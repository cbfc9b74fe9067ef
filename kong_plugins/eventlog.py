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


def log_event(event: str, level: str = "info", **fields: Any) -> None:
    record = {"ts": round(time.time(), 3), "level": level, "event": event}
    record.update({k: v for k, v in fields.items() if v is not None})
    try:
        sys.stdout.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # stdout closed (Kong gone): never let logging fail a request
