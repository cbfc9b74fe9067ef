"""Keep-alive pings on a client's stream while Bedrock is silent (extended thinking can think for minutes).

Clients and what stands between them and the gateway drop a stream on which nothing came for a while: Claude
Code's byte watchdog (CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS, 10 s at the least), a load balancer's or proxy's idle
timeout (60 s is common). Anthropic's API fills such gaps with `ping` events; the relay sends the client format's
own: Anthropic's ping event, an SSE comment for OpenAI clients (SSE parsers skip comments: the OpenAI SDK's
SSEDecoder, eventsource-parser), nothing on a Bedrock-native stream, whose client parses AWS event-stream frames.

Pings start after the stream's first bytes (the 200 goes out with them, and an Anthropic stream must open with
message_start) and stop with its last piece, its failure (Bedrock's read timeout still ends a silent stream) or
the client's hang-up. Bedrock's side is read by a pump greenlet (relay.pump) into a small queue and a watchdog
greenlet puts a ping there when nothing went to the client for `interval` seconds: per piece, the only added work
is the queue's hand-over and noting the time, never a timer or a thread.
"""

from __future__ import annotations

import time
from typing import Iterator

import gevent
from gevent.queue import Queue

from kong_plugins.formats.api import ApiFormat
from kong_plugins.relay.pump import ENDED, Pump

ANTHROPIC_PING = b'event: ping\ndata: {"type": "ping"}\n\n'
"""Anthropic's own keep-alive event, byte for byte."""
SSE_COMMENT = b": keep-alive\n\n"
"""An SSE comment: OpenAI's streams have no ping event, and every SSE parser skips comments."""
PIECES_AHEAD = 4
"""Pieces (each from one Bedrock read of at most 16 KB) the pump may read ahead of a slow client; past them
Bedrock's stream waits, as it does when the relay reads it only as the client takes it."""


def ping_for(api: ApiFormat | None) -> bytes | None:
    """The keep-alive a client of `api` reads past; None: its stream takes nothing that is not Bedrock's."""
    if api is ApiFormat.ANTHROPIC:
        return ANTHROPIC_PING
    return SSE_COMMENT if api is ApiFormat.OPENAI else None


def kept_alive(pieces: Iterator[bytes], api: ApiFormat | None, interval: float) -> Iterator[bytes]:
    """`pieces` with the format's ping after every `interval` seconds in which none went out (0: none)."""
    ping = ping_for(api)
    if ping is None or interval <= 0:
        return pieces
    return _with_pings(pieces, ping, interval)


class Watchdog:
    """Puts `ping` in `queue` when nothing went to the client (`sent`) for `interval` seconds and nothing waits
    in the queue to go (a client slow to read is being written to, not idle)."""

    def __init__(self, queue: Queue, ping: bytes, interval: float) -> None:
        self.queue, self.ping, self.interval = queue, ping, interval
        self.sent_at = time.monotonic()
        self._greenlet: gevent.Greenlet | None = None

    @property
    def started(self) -> bool:
        return self._greenlet is not None

    def start(self) -> None:
        self.sent_at = time.monotonic()
        self._greenlet = gevent.spawn(self._watch)

    def sent(self) -> None:
        """Something went to the client just now."""
        self.sent_at = time.monotonic()

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill()

    def _watch(self) -> None:
        while True:
            due = self.sent_at + self.interval - time.monotonic()
            if due > 0:
                gevent.sleep(due)
                continue
            if self.queue.empty():
                self.queue.put_nowait(self.ping)
            self.sent_at = time.monotonic()   # the next one an interval on, unless a piece goes out first


def _with_pings(pieces: Iterator[bytes], ping: bytes, interval: float) -> Iterator[bytes]:
    for piece in pieces:   # up to the first bytes, as they come: no ping before them
        yield piece
        if piece:
            break
    else:
        return
    queue: Queue = Queue(maxsize=PIECES_AHEAD)
    watchdog = Watchdog(queue, ping, interval)
    pump = Pump(queue)
    pump.start(pieces)
    watchdog.start()
    try:
        while True:
            piece = queue.get()
            if piece is ENDED:
                return
            if isinstance(piece, BaseException):   # the relay ends the stream (app._failing_as_bedrock_would)
                raise piece
            yield piece
            watchdog.sent()
    finally:
        watchdog.stop()
        pump.stop()   # puts nothing more, and closes `pieces` (relay.pump)
