"""glibc malloc set so that a large prompt's buffers go back to the system when the request ends.

Why: glibc serves an allocation above its mmap threshold with a mapping of its own, unmapped
when freed; but the threshold starts at 128 KiB and rises to the size of each such block
freed (up to 32 MiB), so after the first large prompt every later one is carved from the
heap, whose freed pages the process keeps. A burst of 40 concurrent 9 MB prompts left the
plugin server at about 0.9 GiB for good.

Fixing the thresholds stops their rise. 1 MiB keeps a Claude Code-size body (100-300 KB) on the
heap: at glibc's own 128 KiB each of its buffers became a fresh mapping, +0.9 ms on a 300 KB call
(bench.prompt_size's request, A/B on 2026-11-24). A fixed mmap threshold also stops the trim
threshold's rise, and glibc then gave the heap's top back after every large call: 32 MiB keeps it.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # glibc malloc.h
MMAP_THRESHOLD_BYTES = 1024 * 1024
TRIM_THRESHOLD_BYTES = 32 * 1024 * 1024


def return_large_buffers() -> bool:
    """Fix glibc's mmap and trim thresholds; False where the C library is not glibc (musl has no mallopt)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
