"""A Redis client from a plugin's `redis` record (schemas._REDIS), shared by token-meter's budgets and
bedrock-proxy's Responses item store, so both read the record the same way."""

from __future__ import annotations

from typing import Any, Mapping

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def from_record(config: Mapping[str, Any]) -> redis.Redis:
    """Timeouts short by default (200 ms): a slow Redis must not hold a request for long.

    One immediate retry, on a broken connection only: a pooled connection Redis dropped (a restart) is
    replaced at once. redis-py's own default (three retries with exponential backoff from one second)
    held every request some 3.5 s while Redis was down, and a timeout is not retried, so a hung Redis
    costs one `timeout_ms`.
    """
    timeout = (config.get("timeout_ms") or 200) / 1000.0
    return redis.Redis(host=config.get("host") or "127.0.0.1", port=int(config.get("port") or 6379),
                       username=config.get("username") or None, password=config.get("password") or None,
                       db=int(config.get("database") or 0), ssl=bool(config.get("ssl")),
                       socket_timeout=timeout, socket_connect_timeout=timeout,
                       retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))
