"""Usage metrics to CloudWatch, aggregated in memory and sent off the request path.

The log phase calls `record()` once per request, so it must cost a dict update
and nothing more: no client, no network, no waiting on a flush in progress.
Events are folded per (interval, model, role, metric) into StatisticSets, which
CloudWatch merges server-side, so one datum stands for any number of requests.
A background thread (a greenlet once gevent has monkey-patched `threading`)
sends them with PutMetricData. When CloudWatch is down, slow or refusing, the
failed datapoints go back into the buffer for the next flush, and the buffer's
bound (`max_queue` datapoints) turns a long outage into counted drops instead
of unbounded memory. Delivery is at-least-once: a call that times out after
CloudWatch accepted it is sent again.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from kong_plugins.eventlog import log_event
from kong_plugins.metering.events import UsageEvent

_API_MAX_BATCH = 1000              # PutMetricData's own limit per call
_MAX_AGE_S = 14 * 24 * 3600 - 3600  # CloudWatch refuses datapoints older than two weeks

# Metric name, CloudWatch unit, value one event contributes.
_METRICS: tuple[tuple[str, str, Callable[[UsageEvent], float]], ...] = (
    ("InputTokens", "Count", lambda e: e.input_tokens),
    ("OutputTokens", "Count", lambda e: e.output_tokens),
    ("CacheReadTokens", "Count", lambda e: e.cache_read_tokens),
    ("CacheWriteTokens", "Count", lambda e: e.cache_write_tokens),
    ("CostUSD", "None", lambda e: e.cost_usd),
    ("Requests", "Count", lambda e: 1),
    ("Errors", "Count", lambda e: 1 if e.is_error else 0),
    ("Latency", "Milliseconds", lambda e: e.latency_ms),
)
_UNITS = {name: unit for name, unit, _ in _METRICS}

# (interval start in epoch seconds, model, role, metric name)
_Key = tuple[float, str, str, str]


def _finite(value: Any) -> float:
    """CloudWatch rejects a whole call over one NaN/inf, so such values count as 0."""
    number = float(value)
    return number if math.isfinite(number) else 0.0


class _Stat:
    """A CloudWatch StatisticSet under construction."""

    __slots__ = ("count", "total", "low", "high")

    def __init__(self, value: float) -> None:
        self.count, self.total, self.low, self.high = 1, value, value, value

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    def merge(self, other: _Stat) -> None:
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)


def _datum(key: _Key, stat: _Stat) -> dict[str, Any]:
    ts, model, role, name = key
    return {
        "MetricName": name,
        "Dimensions": [{"Name": "Model", "Value": model}, {"Name": "Role", "Value": role}],
        "Timestamp": datetime.fromtimestamp(ts, tz=timezone.utc),
        "StatisticValues": {"SampleCount": float(stat.count), "Sum": stat.total,
                            "Minimum": stat.low, "Maximum": stat.high},
        "Unit": _UNITS[name],
    }


class CloudWatchExporter:
    """Buffers usage per (model, role) and ships it to CloudWatch in the background.

    Counters (datapoints, not events): `sent` accepted by PutMetricData,
    `dropped` lost to the buffer bound (all of an event's datapoints when the
    event is refused), `errors` failed flush attempts.
    """

    def __init__(self, namespace: str, region: str, flush_interval_s: float = 60,
                 max_batch: int = 1000, max_queue: int = 10000,
                 client_factory: Callable[[], Any] | None = None) -> None:
        self.namespace = namespace
        self.region = region
        if flush_interval_s <= 0:
            raise ValueError("flush_interval_s must be positive")
        self._interval = float(flush_interval_s)
        self._max_batch = max(1, min(int(max_batch), _API_MAX_BATCH))
        self._max_queue = int(max_queue)
        self._factory = client_factory or self._default_client
        self._client: Any = None
        self._pending: dict[_Key, _Stat] = {}
        self._lock = threading.Lock()        # guards _pending and counters; never held over I/O
        self._flush_lock = threading.Lock()  # one flush at a time; record() never takes it
        self._stop = threading.Event()
        self.sent = 0
        self.dropped = 0
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name="cloudwatch-exporter", daemon=True)
        self._thread.start()

    def _default_client(self) -> Any:
        """Short timeouts and few retries: a stalled endpoint must not stall flushes for minutes."""
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})
        return boto3.client("cloudwatch", region_name=self.region, config=config)

    @property
    def pending(self) -> int:
        """Datapoints waiting for the next flush."""
        return len(self._pending)

    def record(self, event: UsageEvent) -> None:
        """Fold one request into the buffer. Never blocks on I/O and never raises."""
        try:
            bucket = math.floor(time.time() / self._interval) * self._interval
            updates = [((bucket, event.model, event.role, name), _finite(value(event)))
                       for name, _, value in _METRICS]
            with self._lock:
                new = sum(1 for key, _ in updates if key not in self._pending)
                if new and len(self._pending) + new > self._max_queue:
                    self.dropped += len(updates)  # all or nothing: no half-counted request
                    return
                for key, value in updates:
                    stat = self._pending.get(key)
                    if stat is None:
                        self._pending[key] = _Stat(value)
                    else:
                        stat.add(value)
        except Exception:
            self.dropped += len(_METRICS)  # a malformed event is lost, not the request

    def flush(self) -> int:
        """Send everything pending now; returns datapoints sent. Never raises."""
        with self._flush_lock:
            with self._lock:
                items, self._pending = list(self._pending.items()), {}
            if not items:
                return 0
            sent = 0
            failed: list[tuple[_Key, _Stat]] = []
            for start in range(0, len(items), self._max_batch):
                batch = items[start:start + self._max_batch]
                if failed:  # endpoint just failed: keep the rest rather than wait on it again
                    failed.extend(batch)
                    continue
                try:
                    if self._client is None:
                        self._client = self._factory()
                    self._client.put_metric_data(Namespace=self.namespace,
                                                 MetricData=[_datum(k, s) for k, s in batch])
                    sent += len(batch)
                except Exception as exc:
                    failed.extend(batch)
                    with self._lock:
                        self.errors += 1
                    log_event("cloudwatch_flush_failed", level="warn", error=type(exc).__name__)
            with self._lock:
                self.sent += sent
                if failed:
                    self._requeue(failed)
            return sent

    def _requeue(self, failed: list[tuple[_Key, _Stat]]) -> None:
        """Put unsent datapoints back, merging with newer data; caller holds `_lock`."""
        too_old = time.time() - _MAX_AGE_S
        for key, stat in failed:
            current = self._pending.get(key)
            if current is not None:
                current.merge(stat)
            elif key[0] >= too_old and len(self._pending) < self._max_queue:
                self._pending[key] = stat
            else:
                self.dropped += 1

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # flush() does not raise; the thread must outlive any surprise
                pass

    def close(self, timeout: float = 10.0) -> None:
        """Stop the background flusher, then send what is left (shutdown, tests)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.flush()
