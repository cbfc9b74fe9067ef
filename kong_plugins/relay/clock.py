"""How much time the relay itself adds to a request.

Relay wall time minus the time spent blocked on Bedrock (sending, waiting,
reading) and minus the time spent blocked writing to Kong: what is left is the
relay's own work (token check, translation, signing, framing). It is logged per
request and exported as a histogram, and `make bench` reports its percentiles.
"""

from __future__ import annotations

import time
from typing import Iterable, Iterator


class RelayClock:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.waiting = 0.0   # blocked on Bedrock or on the client side

    def upstream(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Iterate `chunks`, counting the time spent waiting for each as waiting time."""
        iterator = iter(chunks)
        while True:
            began = time.perf_counter()
            try:
                chunk = next(iterator)
            except StopIteration:
                self.waiting += time.perf_counter() - began
                return
            self.waiting += time.perf_counter() - began
            yield chunk

    def downstream(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """Yield `pieces` to the WSGI server, counting the time it takes to send each.

        Closed early (the client hung up), it closes `pieces` too: their cleanup (the Bedrock connection, a stream's
        pump and keep-alive greenlets) must not wait for the garbage collector to find them."""
        try:
            for piece in pieces:
                began = time.perf_counter()
                yield piece
                self.waiting += time.perf_counter() - began
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    def add_waiting(self, seconds: float) -> None:
        self.waiting += seconds

    def overhead_ms(self) -> float:
        return max(0.0, (time.perf_counter() - self.started - self.waiting) * 1000.0)
