"""A large prompt is scanned on a thread of its own, so the event loop relays other streams meanwhile.

Why: the plugin server is one gevent event loop: every plugin phase of every request, and the
relay's streams. A scan on the loop's thread holds all of them until it ends: 1 MB of prose
takes 13-16 ms, a Claude Code call of 300 KB a few, and 1 MB of random words and punctuation
never seen before 250-380 ms (RE2 builds its automata as it meets new text), which any key
holder can send. RE2 releases the GIL while it matches, so on a thread the scan costs the
loop only the Python around it (decoding the JSON, finding the user's turns).

A body under OFF_LOOP_BYTES is scanned where it is: it takes less than handing it to a
thread does (about 0.1 ms). At most SCANNERS scans run at once; the others queue, on the
greenlet of their request only. A document attached to a scanned body is read on the
scanner's thread (guardrails.document_text), so SCANNERS also bounds the documents read at once.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from gevent.threadpool import ThreadPool

from kong_plugins.guardrails import document_text
from kong_plugins.guardrails.scanner import Scanner, ScanResult

OFF_LOOP_BYTES = 32 * 1024
SCANNERS = 2

T = TypeVar("T")
_pool: ThreadPool | None = None


def scan(scanner: Scanner, raw: bytes | None, from_claude_code: bool = False) -> ScanResult:
    """`scanner.scan(raw, from_claude_code)`, on a scanner thread when `raw` is large."""
    return run(len(raw or b""), scanner.scan, raw, from_claude_code)


def run(size: int, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` (a scan of `size` bytes), on a scanner thread when it is large; raises what `work` raises."""
    global _pool
    if size < OFF_LOOP_BYTES:
        return work(*args)
    if _pool is None:
        _pool = ThreadPool(SCANNERS)
    return _pool.apply(_on_scanner_thread, (work, *args))


def _on_scanner_thread(work: Callable[..., T], *args: Any) -> T:
    document_text.ON_SCANNER_THREAD.set(True)   # this thread's own context: documents are read here
    return work(*args)
