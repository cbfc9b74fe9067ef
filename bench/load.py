"""Load generation: one repeated HTTP call, sequential or from N threads, timed on the client.

Every path (direct to the emulator, this gateway, LiteLLM) uses the same
keep-alive `http.client` code, so the client's own cost is the same in each and
cancels out of "added" latency. Bounded: a fixed number of requests, then stop.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from botocore.eventstream import EventStreamBuffer

Detector = Callable[[bytes], bool]
_OPENAI_TEXT_DELTA = re.compile(rb'"delta":\{[^}]*"content":"[^"]')


def openai_sse_delta() -> Detector:
    """True once an OpenAI chat stream has carried its first non-empty text delta."""
    seen = bytearray()

    def check(piece: bytes) -> bool:
        seen.extend(piece)
        return _OPENAI_TEXT_DELTA.search(seen) is not None
    return check


def eventstream_delta() -> Detector:
    """True once a Bedrock event stream (InvokeModel or Converse) has carried its first text delta."""
    frames = EventStreamBuffer()

    def check(piece: bytes) -> bool:
        frames.add_data(piece)
        for frame in frames:
            kind = frame.headers.get(":event-type")
            if kind == "contentBlockDelta":
                return True
            if kind == "chunk" and b"content_block_delta" in base64.b64decode(json.loads(frame.payload)["bytes"]):
                return True
        return False
    return check


@dataclass(frozen=True)
class Call:
    """One HTTP request the benchmark repeats."""

    url: str
    path: str
    body: bytes
    headers: dict[str, str]
    first_token: Callable[[], Detector] | None = None   # set for streaming calls

    def connect(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def send(conn: http.client.HTTPConnection, call: Call) -> tuple[int, float, float | None]:
    """(status, total ms, first-token ms or None) of one request on a keep-alive connection."""
    started = time.perf_counter()
    conn.request("POST", call.path, body=call.body, headers=call.headers)
    response = conn.getresponse()
    detector = call.first_token() if call.first_token else None
    first = None
    while True:
        piece = response.read1(65536)
        if not piece:
            break
        if detector is not None and first is None and detector(piece):
            first = (time.perf_counter() - started) * 1000.0
    response.read()   # read1 leaves a Content-Length response open at its end; this closes it for reuse
    return response.status, (time.perf_counter() - started) * 1000.0, first


def sequential(call: Call, n: int, warmup: int = 20) -> list[float]:
    """Latencies (or times to first token, for streaming calls) of n requests one after another."""
    conn = call.connect()
    samples: list[float] = []
    for i in range(warmup + n):
        status, total, first = send(conn, call)
        if status != 200 or (call.first_token and first is None):
            raise RuntimeError(f"{call.url}{call.path}: HTTP {status}")
        if i >= warmup:
            samples.append(first if call.first_token else total)
    conn.close()
    return samples


def interleaved(calls: dict[str, Call], n: int, rounds: int = 10, warmup: int = 20) -> dict[str, list[float]]:
    """n sequential samples per call (latency, or time to first token), in `rounds` alternating slices.

    On a shared machine speed drifts by 20% or more over minutes; measuring one
    path after the other would put that drift into the comparison. Here every
    path sees the same minutes. Each keeps its own keep-alive connection; one
    an idle server closed in between is reopened and the call retried.
    """
    conns = {name: call.connect() for name, call in calls.items()}
    samples: dict[str, list[float]] = {name: [] for name in calls}

    def one(name: str) -> float:
        call = calls[name]
        try:
            status, total, first = send(conns[name], call)
        except (OSError, http.client.HTTPException):
            conns[name].close()
            conns[name] = call.connect()
            status, total, first = send(conns[name], call)
        if status != 200 or (call.first_token and first is None):
            raise RuntimeError(f"{name}: {call.url}{call.path}: HTTP {status}")
        return first if call.first_token else total

    for name in calls:
        for _ in range(warmup):
            one(name)
    per_round = -(-n // rounds)
    for _ in range(rounds):
        for name in calls:
            for _ in range(min(per_round, n - len(samples[name]))):
                samples[name].append(one(name))
    for conn in conns.values():
        conn.close()
    return samples


@dataclass
class LoadRun:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    elapsed_s: float = 0.0
    errors: int = 0

    @property
    def throughput(self) -> float:
        return sum(self.statuses.values()) / self.elapsed_s if self.elapsed_s else 0.0


def concurrent(calls: Sequence[Call], n: int, concurrency: int) -> LoadRun:
    """n requests from `concurrency` threads; request i uses calls[i % len(calls)]."""
    run = LoadRun()
    lock = threading.Lock()
    counter = iter(range(n))

    def worker() -> None:
        conn = None
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            call = calls[i % len(calls)]
            try:
                conn = conn or call.connect()
                status, total, _ = send(conn, call)
            except (OSError, http.client.HTTPException):
                conn = None
                with lock:
                    run.errors += 1
                continue
            with lock:
                run.statuses[status] += 1
                run.latencies.append(total)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.elapsed_s = time.perf_counter() - started
    return run


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def summary(values: list[float]) -> dict[str, float]:
    return {name: round(percentile(values, q), 3) for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}
