"""Kong's error log (nginx ``error_log`` at ``log_level``).

Why: tests assert on what an operator would see in Kong's error.log
("no plugin instance" warnings, fail-open errors, plugin-server output at INFO).
Lines below the configured ``log_level`` are dropped, as nginx does.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from .conf import LOG_LEVELS


class ErrorLog:
    """Thread-safe collector of nginx-style error log lines."""

    def __init__(self, log_level: str = "notice", echo: TextIO | None = None) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._threshold = LOG_LEVELS.index(log_level)
        self._echo = echo
        self._pid = os.getpid()

    def set_level(self, log_level: str) -> None:
        self._threshold = LOG_LEVELS.index(log_level)

    def enabled(self, level: str) -> bool:
        return LOG_LEVELS.index(level) >= self._threshold

    def log(self, level: str, msg: str, worker: int | None = None, raw: bool = False) -> None:
        """Append one line; ``raw`` mirrors ngx.errlog.raw_log (no ``[kong]`` prefix)."""
        if level == "err":
            level = "error"
        if not self.enabled(level):
            return
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        wid = "%d#%d" % (self._pid, worker if worker is not None else 0)
        body = msg if raw else "[kong] " + msg
        line = "%s [%s] %s: %s" % (stamp, level, wid, body)
        with self._lock:
            self._lines.append(line)
        if self._echo is not None:
            try:
                print(line, file=self._echo, flush=True)
            except (OSError, ValueError):
                pass

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)


def echo_stream() -> TextIO:
    return sys.stderr
