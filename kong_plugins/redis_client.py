"""A Redis client from a plugin's `redis` record (schemas._REDIS), shared by token-meter's budgets and
bedrock-proxy's Responses item store, so both read the record the same way."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

T = TypeVar("T")
DOWN_SECONDS = 2.0
"""How long a failed Redis is left alone before the next call tries it again (the record's `down_ms`)."""


class FailFastRetry(Retry):
    """redis-py's Retry (one immediate retry, on a broken connection only) that, once a call has failed, fails
    every call at once for DOWN_SECONDS without touching the network.

    A hung Redis (a partition, a blocked server) would otherwise cost every request one `timeout_ms`, and every
    phase of it that reads or writes a budget or an item; now it costs one request one timeout, and the others
    go straight to their fallback (token-meter's on_store_error, the item store's 503). redis-py copies its
    Retry into every connection; this one is shared, so the whole client knows Redis is down.
    """

    def __init__(self, down_seconds: float = DOWN_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
        self.down_seconds = down_seconds
        self._clock = clock
        self._down_until = 0.0

    def __deepcopy__(self, memo: dict) -> FailFastRetry:
        return self

    def call_with_retry(self, do: Callable[[], T], fail: Callable[..., Any], *args: Any, **kwargs: Any) -> T:
        if self._clock() < self._down_until:
            raise redis.ConnectionError("Redis failed moments ago; not tried again yet")
        try:
            return super().call_with_retry(do, fail, *args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError):
            self._down_until = self._clock() + self.down_seconds
            raise


def from_record(config: Mapping[str, Any]) -> redis.Redis:
    """Timeouts short by default (200 ms): a slow Redis must not hold a request for long.

    One immediate retry, on a broken connection only: a pooled connection Redis dropped (a restart) is
    replaced at once. redis-py's own default (three retries with exponential backoff from one second)
    held every request some 3.5 s while Redis was down, and a timeout is not retried, so a hung Redis
    costs one `timeout_ms`, and then nothing for `down_ms` (FailFastRetry; DOWN_SECONDS by default).
    """
    timeout = (config.get("timeout_ms") or 200) / 1000.0
    down_ms = config.get("down_ms")
    down = DOWN_SECONDS if down_ms is None else int(down_ms) / 1000.0
    return redis.Redis(host=config.get("host") or "127.0.0.1", port=int(config.get("port") or 6379),
                       username=config.get("username") or None, password=config.get("password") or None,
                       db=int(config.get("database") or 0), ssl=bool(config.get("ssl")),
                       socket_timeout=timeout, socket_connect_timeout=timeout, retry=FailFastRetry(down))
