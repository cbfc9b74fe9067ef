"""Streams read ahead of the client into one bounded gevent queue, each on a greenlet of its own.

A stream with keep-alive pings (relay.keepalive) reads Bedrock's stream while the watchdog may put a ping in the
same queue; OpenAI's `n` (relay.choices) reads one Bedrock stream per choice and interleaves their pieces. Both
stop their pumps when the client's stream is over (its end, its failure, the client's hang-up) and nobody reads
the queue any more, so a pump must then put nothing: a put on a full, unread queue waits for ever, and the kill
waiting on it with it (the relay's greenlet, Bedrock's connection and the request's context never let go).
"""

from __future__ import annotations

from typing import Iterator

import gevent
from gevent import GreenletExit
from gevent.queue import Queue

ENDED = object()
"""Put by a pump after its stream's last piece."""


class Pump:
    """Puts the pieces of each stream `start`ed into `queue`, then ENDED for it, or how it failed (the exception,
    then nothing more); `stop` ends them all and closes the streams."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self._over = False   # the client's stream is over: whatever a stream still gives is not put
        self._streams: list[Iterator[bytes]] = []
        self._greenlets: list[gevent.Greenlet] = []

    def start(self, pieces: Iterator[bytes]) -> None:
        """Read `pieces` into the queue from now on, on a greenlet of its own."""
        self._streams.append(pieces)
        self._greenlets.append(gevent.spawn(self._run, pieces))

    def stop(self) -> None:
        """Stop every pump and close every stream: the translators note what was streamed (their `finally`) now,
        also when a pump stopped mid-put, not when the garbage collector reaches them. Idempotent."""
        self._over = True
        gevent.killall(self._greenlets)   # blocks until they stopped: never two greenlets in one stream
        for pieces in self._streams:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    def _run(self, pieces: Iterator[bytes]) -> None:
        """Killed inside `pieces`, a stream may still hand on a piece (relay.responses.per_read passes on what a
        read brought before it re-raises; a translator may end quietly): once over, that is dropped, not put."""
        try:
            for piece in pieces:
                if self._over:
                    return
                self.queue.put(piece)
        except GreenletExit:
            return
        except Exception as exc:  # noqa: BLE001 - STREAM_FAILURES, or a fault of ours: either ends the stream
            self._put(exc)
            return
        self._put(ENDED)

    def _put(self, item: object) -> None:
        if not self._over:
            self.queue.put(item)
