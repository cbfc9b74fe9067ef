"""In-memory prompt cache with Anthropic semantics (simplified, per emulator instance).

Entries are written at cache breakpoints; a lookup checks each breakpoint and up to 20
segments before it, so a growing conversation reads the prefix cached by the previous turn.
Usage follows Bedrock: input tokens exclude cache reads and writes.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from .prompt import Segment, prefix_tokens, total_input_tokens

LOOKBACK_SEGMENTS = 20


@dataclass(frozen=True)
class InputUsage:
    input_tokens: int  # uncached part only
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0  # of cache_write, what breakpoints with ttl 1h wrote

    @property
    def cache_write_5m(self) -> int:
        return self.cache_write - self.cache_write_1h

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_read + self.cache_write


def _chained_hashes(namespace: str, segments: list[Segment]) -> list[bytes]:
    hashes: list[bytes] = []
    previous = namespace.encode("utf-8")
    for segment in segments:
        previous = hashlib.sha256(previous + b"\x00" + segment.key()).digest()
        hashes.append(previous)
    return hashes


class PromptCache:
    def __init__(self, min_tokens: int = 0) -> None:
        self._min_tokens = min_tokens
        self._entries: set[bytes] = set()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def account(self, namespace: str, segments: list[Segment], *, commit: bool = True) -> InputUsage:
        """Split the input into uncached / cache-read / cache-write tokens; remember new prefixes."""
        total = total_input_tokens(segments)
        breakpoints = [i for i, s in enumerate(segments) if s.breakpoint]
        cumulative = prefix_tokens(segments)
        breakpoints = [i for i in breakpoints if cumulative[i] >= max(self._min_tokens, 1)]
        if not breakpoints:
            return InputUsage(total)
        hashes = _chained_hashes(namespace, segments)
        with self._lock:
            read_end = -1
            for bp in breakpoints:
                for j in range(bp, max(-1, bp - LOOKBACK_SEGMENTS - 1), -1):
                    if hashes[j] in self._entries:
                        read_end = max(read_end, j)
                        break
            if commit:
                self._entries.update(hashes[bp] for bp in breakpoints)
        last = breakpoints[-1]
        read = cumulative[read_end] if read_end >= 0 else 0
        write = cumulative[last] - read if read_end < last else 0
        return InputUsage(max(0, total - read - write), read, write, _hour_writes(segments, breakpoints, read_end,
                                                                                  cumulative))


def _hour_writes(segments: list[Segment], breakpoints: list[int], read_end: int, cumulative: list[int]) -> int:
    """The written tokens billed for an hour: each new entry's span, up to its breakpoint, takes that one's TTL."""
    hour, start = 0, cumulative[read_end] if read_end >= 0 else 0
    for bp in breakpoints:
        if bp > read_end and cumulative[bp] > start:
            hour += cumulative[bp] - start if segments[bp].ttl == "1h" else 0
            start = cumulative[bp]
    return hour
