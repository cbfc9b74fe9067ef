"""glibc malloc set so that a request body's buffers go back to the system when the request ends.

Why: glibc serves an allocation above its mmap threshold with a mapping of its own, unmapped
when freed; but the threshold starts at 128 KiB and rises to the size of each such block
freed (up to 32 MiB), so after the first large prompt every later one is carved from the
heap, whose freed pages the process keeps. A burst of 40 concurrent 9 MB prompts left the
plugin server at about 0.9 GiB for good. mallopt(M_MMAP_THRESHOLD) fixes the threshold, which
also stops its rise; prompts of a few kilobytes are unaffected.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3   # glibc malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024   # glibc's own starting value


def return_large_buffers(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc (musl has no mallopt)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1
