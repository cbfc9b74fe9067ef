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
    outcome = _pool.apply(_on_scanner_thread, (work, *args))
    if isinstance(outcome, _Raised):
        raise outcome.error
    return outcome


class _Raised:
    """What `work` raised on a scanner thread, handed back as a value and raised again on the loop: gevent's
    thread pool prints an exception raised on its thread to stderr, so a client's 400 (a RequestError from a
    large body) became a traceback in Kong's error log."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _on_scanner_thread(work: Callable[..., T], *args: Any) -> T | _Raised:
    document_text.ON_SCANNER_THREAD.set(True)   # this thread's own context: documents are read here
    try:
        return work(*args)
    except Exception as exc:    # noqa: BLE001 - raised again by run(), on the loop
        return _Raised(exc)
