"""relay.pump, the read-ahead of a kept-alive stream and of each choice of OpenAI's `n`: every stream's pieces in
the queue, then its end or its failure; and once the client's stream is over, its pumps and streams let go at
once, whatever a stream still does when it is stopped."""

import gevent
from gevent.queue import Queue

from kong_plugins.relay.pump import ENDED, Pump
from kong_plugins.relay.responses import END_OF_READ, per_read

STOPPED_WITHIN_S = 5


def _translated(name: str, reads: int, closed: set[str], wait_mid_read: bool = False):
    """A translator's output for one Bedrock stream: one piece per read (per_read). `wait_mid_read`: its last read
    waits on I/O between two of its events (a Responses stream keeps its finished Response there)."""
    def events():
        try:
            for index in range(reads):
                yield b"%s %d;" % (name.encode(), index)
                yield END_OF_READ
            if wait_mid_read:
                yield b"%s last;" % name.encode()
                gevent.sleep(30)
                yield END_OF_READ
        finally:
            closed.add(name)
    return per_read(events())


def _stop_within_bound(pump: Pump) -> bool:
    with gevent.Timeout(STOPPED_WITHIN_S, False):
        pump.stop()
        return True
    return False


def _drain(queue: Queue, ends: int) -> list[object]:
    taken: list[object] = []
    while taken.count(ENDED) < ends:
        taken.append(queue.get(timeout=STOPPED_WITHIN_S))
    return taken


def test_every_streams_pieces_come_in_its_order_then_its_end():
    closed: set[str] = set()
    queue: Queue = Queue(maxsize=2)   # smaller than any stream: the pumps wait on the reader, as for a slow client
    pump = Pump(queue)
    for name in ("a", "b", "c"):
        pump.start(_translated(name, 5, closed))
    taken = _drain(queue, 3)
    for name in ("a", "b", "c"):
        assert [p for p in taken if p is not ENDED and p.startswith(name.encode())] == \
            [b"%s %d;" % (name.encode(), i) for i in range(5)]
    assert closed == {"a", "b", "c"} and queue.empty()
    assert _stop_within_bound(pump)


def test_a_failing_stream_hands_on_its_failure_and_the_others_go_on():
    def broken():
        yield b"x 0;"
        raise ConnectionResetError("Bedrock's stream broke")

    queue: Queue = Queue()
    pump = Pump(queue)
    pump.start(iter(broken()))
    pump.start(_translated("ok", 2, set()))
    gevent.sleep(0.05)
    taken = [queue.get_nowait() for _ in range(queue.qsize())]
    assert b"x 0;" in taken and taken.count(ENDED) == 1
    failures = [p for p in taken if isinstance(p, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], ConnectionResetError)
    assert taken.index(b"x 0;") < taken.index(failures[0])
    assert _stop_within_bound(pump)


def test_a_hang_up_with_the_queue_full_and_a_translator_mid_read_lets_every_stream_go():
    """Each choice's stream has filled the shared queue and waits on I/O between two events of a read when the
    client (who stopped reading) hangs up: stopped there, per_read still hands on what that read brought. A
    put of it on the full queue nobody reads would wait for ever, and the stop with it: the relay's greenlet,
    Bedrock's connections and the request's context never let go (relay.choices' own pump did that)."""
    closed: set[str] = set()
    queue: Queue = Queue(maxsize=4)
    pump = Pump(queue)
    for name in ("a", "b", "c"):
        pump.start(_translated(name, 2, closed, wait_mid_read=True))
    gevent.sleep(0.05)   # the pumps fill the queue and each translator waits mid-read, or on the full queue
    assert queue.full()
    assert queue.get() == b"a 0;"   # the client read one piece, then no more
    gevent.sleep(0.05)
    assert queue.full()
    assert _stop_within_bound(pump), "stopping the pumps never came back (one waits on the full queue)"
    assert closed == {"a", "b", "c"}   # closed by the stop, not when the garbage collector reaches them
    assert queue.full()   # nothing was put after the stop, and nothing taken


def test_a_stream_that_ends_quietly_when_stopped_puts_no_end_on_a_full_queue():
    """A translator that swallows the stop and ends: its end is not put either (nobody reads the queue)."""
    def quiet():
        yield b"q 0;"
        try:
            gevent.sleep(30)
        except gevent.GreenletExit:
            return

    queue: Queue = Queue(maxsize=1)
    pump = Pump(queue)
    pump.start(quiet())
    gevent.sleep(0.05)
    assert queue.full()
    assert _stop_within_bound(pump), "stopping the pump never came back (it waits to put the end)"
    assert queue.get_nowait() == b"q 0;" and queue.empty()   # its piece, and no end after it
