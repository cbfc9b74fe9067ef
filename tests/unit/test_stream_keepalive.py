"""relay.keepalive's pump and watchdog end with the stream, whatever the translator does when stopped."""

import gc

import gevent

from kong_plugins.formats.api import ApiFormat
from kong_plugins.relay.keepalive import PIECES_AHEAD, kept_alive
from kong_plugins.relay.responses import END_OF_READ, per_read


def test_a_hang_up_while_the_translator_waits_on_io_with_pending_events_lets_the_stream_go():
    """A Responses stream keeps its finished Response (Redis I/O) before the last read's events go out: killed
    there, per_read still hands on what that read brought. With the queue full (a client that stopped reading,
    then hung up), putting it waited for ever and so did the relay's kill: its greenlet and Bedrock's socket
    were never let go."""
    state = {"closed": False}

    def events():
        try:
            yield b"event: response.created\n\n"
            yield END_OF_READ
            for index in range(1 + PIECES_AHEAD):
                yield b"event: delta %d\n\n" % index
                yield END_OF_READ
            yield b"event: response.output_text.done\n\n"
            gevent.sleep(30)   # the item store's write of the finished Response
            yield END_OF_READ
        finally:
            state["closed"] = True

    stream = kept_alive(per_read(events()), ApiFormat.OPENAI, 60)
    assert next(stream).startswith(b"event: response.created")
    assert next(stream) == b"event: delta 0\n\n"   # through the pump
    gevent.sleep(0.05)   # the client reads no more: the pump fills the queue, then waits on the I/O
    with gevent.Timeout(5, False):
        stream.close()
        state["let_go"] = True
    assert state.get("let_go"), "the stream's close never came back (its pump waits on a full queue)"
    assert state["closed"]


def test_pings_stop_and_the_translator_is_closed_when_the_client_hangs_up_in_a_gap():
    state = {"closed": False}

    def pieces():
        try:
            yield b"event: message_start\n\n"
            gevent.sleep(30)
            yield b"event: never\n\n"
        finally:
            state["closed"] = True

    earlier = set(_alive())
    stream = kept_alive(pieces(), ApiFormat.ANTHROPIC, 0.01)
    assert next(stream).startswith(b"event: message_start")
    assert next(stream) == b'event: ping\ndata: {"type": "ping"}\n\n'
    ours = set(_alive()) - earlier   # the pump and the watchdog
    assert len(ours) == 2
    with gevent.Timeout(5, False):
        stream.close()
        state["let_go"] = True
    assert state.get("let_go") and state["closed"]
    assert all(g.dead for g in ours)


def _alive():
    return [obj for obj in gc.get_objects() if isinstance(obj, gevent.Greenlet) and not obj.dead]
