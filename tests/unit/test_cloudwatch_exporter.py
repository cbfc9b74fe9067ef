"""CloudWatchExporter: aggregation read back through moto, batching, outages, drops."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from kong_plugins.metering import cloudwatch
from kong_plugins.metering.cloudwatch import CloudWatchExporter
from kong_plugins.metering.events import UsageEvent

NS = "Test/Bedrock"
REGION = "us-east-1"
HOUR = 3600  # background flusher effectively off: tests flush explicitly


def _event(model: str = "m1", role: str = "dev", **kw) -> UsageEvent:
    base = dict(model=model, role=role, consumer="c", status=200, input_tokens=10, output_tokens=5,
                cache_read_tokens=2, cache_write_tokens=1, cost_usd=0.5, latency_ms=100.0,
                ttft_ms=20.0, error_type=None)
    base.update(kw)
    return UsageEvent(**base)


@pytest.fixture
def aws(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


@pytest.fixture
def logged(monkeypatch):
    events: list[tuple[str, dict]] = []
    monkeypatch.setattr(cloudwatch, "log_event", lambda event, **kw: events.append((event, kw)))
    return events


def _stats(client, metric: str, model: str, role: str) -> dict:
    now = datetime.now(timezone.utc)
    points = client.get_metric_statistics(
        Namespace=NS, MetricName=metric, StartTime=now - timedelta(hours=1), EndTime=now + timedelta(hours=1),
        Period=7200, Statistics=["Sum", "SampleCount", "Minimum", "Maximum"],
        Dimensions=[{"Name": "Model", "Value": model}, {"Name": "Role", "Value": role}])["Datapoints"]
    assert len(points) == 1, (metric, model, role, points)
    return points[0]


def test_sums_per_dimension_read_back_from_cloudwatch(aws):
    exporter = CloudWatchExporter(NS, REGION, flush_interval_s=HOUR)
    exporter.record(_event("m1", "dev", latency_ms=100.0))
    exporter.record(_event("m1", "dev", latency_ms=300.0, input_tokens=30, status=500, error_type="upstream"))
    exporter.record(_event("m2", "ops", output_tokens=7, cost_usd=0.25))
    assert exporter.flush() == 16  # 8 metrics x 2 (model, role) pairs
    exporter.close()
    assert (exporter.sent, exporter.errors, exporter.dropped) == (16, 0, 0)

    listed = aws.list_metrics(Namespace=NS)["Metrics"]
    assert {m["MetricName"] for m in listed} == {
        "InputTokens", "OutputTokens", "CacheReadTokens", "CacheWriteTokens",
        "CostUSD", "Requests", "Errors", "Latency"}
    assert {tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in listed} == {
        (("Model", "m1"), ("Role", "dev")), (("Model", "m2"), ("Role", "ops"))}

    expected = {
        ("m1", "dev"): {"InputTokens": 40, "OutputTokens": 10, "CacheReadTokens": 4, "CacheWriteTokens": 2,
                        "CostUSD": 1.0, "Requests": 2, "Errors": 1, "Latency": 400.0},
        ("m2", "ops"): {"InputTokens": 10, "OutputTokens": 7, "CacheReadTokens": 2, "CacheWriteTokens": 1,
                        "CostUSD": 0.25, "Requests": 1, "Errors": 0, "Latency": 100.0},
    }
    for (model, role), sums in expected.items():
        for metric, total in sums.items():
            assert _stats(aws, metric, model, role)["Sum"] == pytest.approx(total), (model, role, metric)
    latency = _stats(aws, "Latency", "m1", "dev")
    assert (latency["SampleCount"], latency["Minimum"], latency["Maximum"]) == (2, 100.0, 300.0)
    assert latency["Unit"] == "Milliseconds"


class CountingClient:
    """Wraps a real (moto) client to count and size PutMetricData calls."""

    def __init__(self, inner) -> None:
        self.inner, self.batches = inner, []

    def put_metric_data(self, **kw):
        self.batches.append(len(kw["MetricData"]))
        return self.inner.put_metric_data(**kw)


def test_more_than_max_batch_datums_are_split_across_calls(aws):
    wrapped = CountingClient(aws)
    exporter = CloudWatchExporter(NS, REGION, flush_interval_s=HOUR, max_batch=10,
                                  client_factory=lambda: wrapped)
    for model in ("a", "b", "c"):
        exporter.record(_event(model))
    assert exporter.flush() == 24
    exporter.close()
    assert wrapped.batches == [10, 10, 4]
    for model in ("a", "b", "c"):
        assert _stats(aws, "Requests", model, "dev")["Sum"] == 1


class FlakyClient:
    """Stands in for CloudWatch: broken (slow, then raising) until told otherwise."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.broken, self.delay_s = True, delay_s
        self.release = threading.Event()
        self.calls = 0
        self.received: list[dict] = []

    def put_metric_data(self, Namespace, MetricData):
        self.calls += 1
        if self.broken:
            self.release.wait(self.delay_s)
            raise ConnectionError("endpoint unreachable: secret-looking detail")
        self.received.extend(MetricData)

    def total(self, metric: str) -> float:
        return sum(d["StatisticValues"]["Sum"] for d in self.received if d["MetricName"] == metric)


def _wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_record_never_touches_the_client():
    made: list[FlakyClient] = []
    exporter = CloudWatchExporter(NS, REGION, flush_interval_s=HOUR,
                                  client_factory=lambda: made.append(FlakyClient()) or made[-1])
    for _ in range(1000):
        exporter.record(_event())
    assert made == [] and exporter.pending == 8
    exporter._stop.set()


def test_outage_is_counted_kept_and_sent_once_the_client_recovers(logged):
    client = FlakyClient(delay_s=2.0)
    exporter = CloudWatchExporter(NS, REGION, flush_interval_s=0.05, client_factory=lambda: client)
    exporter.record(_event())
    _wait_for(lambda: client.calls >= 1)  # background flush now stuck in a 2 s call

    started = time.perf_counter()
    for _ in range(1000):
        exporter.record(_event())
    assert time.perf_counter() - started < 0.5

    client.release.set()  # the slow call now fails fast
    _wait_for(lambda: exporter.errors >= 1)
    assert exporter.sent == 0
    assert logged[0] == ("cloudwatch_flush_failed", {"level": "warn", "error": "ConnectionError"})

    client.broken = False
    exporter.close()
    assert client.total("Requests") == 1001
    assert client.total("InputTokens") == 10 * 1001
    assert exporter.dropped == 0 and exporter.pending == 0


def test_failing_client_factory_is_an_error_not_an_exception(logged):
    def factory():
        raise RuntimeError("no credentials")

    exporter = CloudWatchExporter(NS, REGION, flush_interval_s=HOUR, client_factory=factory)
    exporter.record(_event())
    assert exporter.flush() == 0
    exporter.close()
    assert exporter.errors == 2 and exporter.pending == 8
    assert {kw["error"] for _, kw in logged} == {"RuntimeError"}


def test_new_data_is_dropped_beyond_max_queue():
    client = FlakyClient()
    client.broken = False
    exporter = CloudWatchExporter(NS, REGION, flush_interval_s=HOUR, max_queue=16,
                                  client_factory=lambda: client)
    exporter.record(_event("a"))
    exporter.record(_event("b"))
    exporter.record(_event("c"))  # would need 8 more datapoints: refused whole
    exporter.record(_event("a"))  # existing datapoints still aggregate
    assert exporter.dropped == 8 and exporter.pending == 16
    exporter.close()
    assert exporter.sent == 16 and client.total("Requests") == 3


def test_requeue_after_failure_respects_max_queue(logged):
    class RecordsDuringFlush(FlakyClient):
        def put_metric_data(self, Namespace, MetricData):
            exporter.record(_event("late"))  # arrives while the failing call is in flight
            super().put_metric_data(Namespace, MetricData)

    client = RecordsDuringFlush()
    exporter = CloudWatchExporter(NS, REGION, flush_interval_s=HOUR, max_queue=16,
                                  client_factory=lambda: client)
    exporter.record(_event("a"))
    exporter.record(_event("b"))
    assert exporter.flush() == 0
    assert exporter.errors == 1 and exporter.pending == 16 and exporter.dropped == 8
    exporter._stop.set()
