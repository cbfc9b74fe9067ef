"""The Redis client token-meter's budgets and bedrock-proxy's item store share: how often it tries a Redis that
is down or hung. Counted on a real listener, not timed: with redis-py's default retries (three, backing off from
one second) every request waited some 3.5 s while Redis was down."""

import socket
import threading
import time

import pytest
import redis

from kong_plugins import redis_client


class _Listener:
    """A TCP port that counts connections and either closes each at once (`drop`) or leaves it unanswered."""

    def __init__(self, drop: bool) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.drop = drop
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)
            if self.drop:
                conn.close()

    def close(self) -> None:
        self.server.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture(params=[True, False], ids=["connections-dropped", "hung"])
def listener(request):
    running = _Listener(drop=request.param)
    yield running
    running.close()


def test_a_dropped_connection_is_retried_once_at_once_and_a_hung_redis_is_not(listener):
    client = redis_client.from_record({"host": "127.0.0.1", "port": listener.port, "timeout_ms": 100})
    with pytest.raises(redis.ConnectionError if listener.drop else redis.TimeoutError):
        client.get("budget")
    expected = 2 if listener.drop else 1
    for _ in range(200):            # the listener's thread may not have taken the last connection yet
        if len(listener.accepted) >= expected:
            break
        time.sleep(0.01)
    assert len(listener.accepted) == expected


def test_after_a_failure_redis_is_left_alone_for_a_moment_then_tried_again(listener, monkeypatch):
    now = [100.0]
    made = redis_client.FailFastRetry
    monkeypatch.setattr(redis_client, "FailFastRetry", lambda down: made(down_seconds=down, clock=lambda: now[0]))
    client = redis_client.from_record({"host": "127.0.0.1", "port": listener.port, "timeout_ms": 100,
                                       "down_ms": 2000})
    with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
        client.get("budget")
    tried = _settled(listener, 2 if listener.drop else 1)
    for command in (lambda: client.get("budget"), lambda: client.pipeline().set("a", 1).get("a").execute()):
        with pytest.raises(redis.ConnectionError, match="not tried again yet"):
            command()
    now[0] += 1.9
    with pytest.raises(redis.ConnectionError, match="not tried again yet"):
        client.get("budget")
    assert len(listener.accepted) == tried               # nothing reached the network meanwhile
    now[0] += 0.2
    with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
        client.get("budget")
    assert _settled(listener, tried + 1) > tried          # tried again once the moment passed


def _settled(listener, expected: int) -> int:
    for _ in range(200):            # the listener's thread may not have taken the last connection yet
        if len(listener.accepted) >= expected:
            break
        time.sleep(0.01)
    return len(listener.accepted)


def test_a_pause_of_zero_tries_redis_every_time(listener):
    client = redis_client.from_record({"host": "127.0.0.1", "port": listener.port, "timeout_ms": 100, "down_ms": 0})
    for _ in range(2):
        with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
            client.get("budget")
    assert _settled(listener, 4 if listener.drop else 2) == (4 if listener.drop else 2)


def test_the_pause_defaults_to_two_seconds():
    assert redis_client.from_record({}).connection_pool.connection_kwargs["retry"].down_seconds == 2.0
