"""Write a planned event stream: chunked framing, TTFT / pacing, hold mode, stream faults.

Each event-stream message goes out as its own HTTP chunk the moment it is due, so a gateway
that buffers instead of streaming is caught by timing and hold/release tests.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Protocol

from .eventstream import EMPTY_EVENT
from .faults import FaultRule
from .responses import Clock, StreamResponse
from .settings import TimingValues
from .state import HoldGate


class ChunkSink(Protocol):
    """The parts of the HTTP handler the stream writer needs."""

    def start_stream(self, headers: dict[str, str]) -> None: ...

    def write_chunk(self, data: bytes) -> None: ...

    def end_chunks(self) -> None: ...

    def abort_connection(self) -> None: ...


class StreamWriter:
    def __init__(self, sink: ChunkSink, timing: TimingValues, hold: HoldGate, hold_timeout_s: float,
                 clock: Clock, fault: FaultRule | None) -> None:
        self._sink = sink
        self._timing = timing
        self._hold = hold
        self._hold_timeout_s = hold_timeout_s
        self._clock = clock
        self._fault = fault if fault is not None and fault.stream_only else None
        self._next_delta_at = 0.0

    def _before_delta(self, is_first: bool, is_last: bool) -> None:
        now = time.monotonic()
        if is_first:
            if self._timing.ttft_ms > 0:
                time.sleep(self._timing.ttft_ms / 1000)
            self._clock.first_delta = time.monotonic()
            self._next_delta_at = self._clock.first_delta
        elif self._timing.tokens_per_second > 0:
            self._next_delta_at += 1 / self._timing.tokens_per_second
            if self._next_delta_at > now:
                time.sleep(self._next_delta_at - now)
        if is_last:
            self._hold.wait_if_held(self._hold_timeout_s)

    def _inject(self, plan: StreamResponse, index: int) -> bool:
        """Apply the stream fault once ``after_events`` events went out; True ends the stream."""
        fault = self._fault
        assert fault is not None
        if fault.type == "stream_exception":
            self._sink.write_chunk(plan.error_framer(fault) if plan.error_framer is not None else fault.stream_error())
            self._sink.end_chunks()
            return True
        if fault.type == "stream_reset":
            if fault.mid_frame and index < len(plan.items):
                frame = plan.framer(plan.items[index].resolve(self._clock), False)
                self._sink.write_chunk(frame[:len(frame) // 2])
                time.sleep(0.1)   # read before the RST: a reset discards what the peer has not read yet
            self._sink.abort_connection()
            return True
        if index < len(plan.items):  # malformed_frame: the next event goes out with a bad CRC
            self._sink.write_chunk(plan.framer(plan.items[index].resolve(self._clock), True))
        self._sink.end_chunks()
        return True

    def run(self, plan: StreamResponse) -> None:
        headers = {"Content-Type": "application/vnd.amazon.eventstream", **plan.headers}
        self._sink.start_stream(headers)
        if self._fault is not None and plan.error_framer is None:   # an event stream (Mantle's SSE has none)
            for _ in range(self._fault.empty_frames):
                self._sink.write_chunk(EMPTY_EVENT)
        deltas = [i for i, item in enumerate(plan.items) if item.content_delta]
        first, last = (deltas[0], deltas[-1]) if deltas else (-1, -1)
        for index, item in enumerate(plan.items):
            if self._fault is not None and self._fault.type == "stall":
                if index == self._fault.after_events:
                    time.sleep(self._fault.delay_s)   # silent, then on: a long thinking gap
            elif self._fault is not None and index >= self._fault.after_events:
                self._inject(plan, index)
                return
            if item.content_delta:
                self._before_delta(index == first, index == last)
            self._sink.write_chunk(plan.framer(item.resolve(self._clock), False))
        if self._fault is not None and self._fault.type != "stall":
            self._inject(plan, len(plan.items))
            return
        self._sink.end_chunks()


def hard_close(sock: socket.socket) -> None:
    """Drop a TCP connection without an HTTP response (RST where the OS allows)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
