"""DogStatsdExporter against a real UDP socket, parsing the DogStatsD line protocol."""

from __future__ import annotations

import socket

import pytest

from kong_plugins.metering.dogstatsd import DogStatsdExporter
from kong_plugins.metering.events import UsageEvent

# The datadog client adds tags/targets from these; the test must not depend on the runner's env.
_DD_ENV = ("DD_ENV", "DD_SERVICE", "DD_VERSION", "DD_ENTITY_ID", "DATADOG_TAGS", "DD_TAGS",
           "DD_DOGSTATSD_URL", "DD_AGENT_HOST", "DD_DOGSTATSD_PORT", "DD_DOGSTATSD_DISABLE",
           "DD_EXTERNAL_ENV")


def _event(**kw) -> UsageEvent:
    base = dict(model="anthropic.claude-3-haiku", role="developer", consumer="alice", status=200,
                input_tokens=120, output_tokens=45, cache_read_tokens=30, cache_write_tokens=0,
                cost_usd=0.0125, latency_ms=812.5, ttft_ms=140.0, error_type=None)
    base.update(kw)
    return UsageEvent(**base)


@pytest.fixture
def receiver(monkeypatch):
    for name in _DD_ENV:
        monkeypatch.delenv(name, raising=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    yield sock
    sock.close()


def _receive(sock: socket.socket, count: int) -> dict[str, tuple[str, str, set[str]]]:
    """Read `count` metric lines; returns name -> (value, type, tags)."""
    metrics: dict[str, tuple[str, str, set[str]]] = {}
    lines = 0
    while lines < count:
        data, _ = sock.recvfrom(65535)
        for line in data.decode().splitlines():
            name, rest = line.split(":", 1)
            fields = rest.split("|")
            value, mtype = fields[0], fields[1]
            tags: set[str] = set()
            for field in fields[2:]:
                assert not field.startswith("@"), "no sampling expected"
                if field.startswith("#"):
                    tags = set(field[1:].split(","))
            assert name not in metrics, f"{name} sent twice"
            metrics[name] = (value, mtype, tags)
            lines += 1
    sock.settimeout(0.2)
    with pytest.raises(socket.timeout):  # nothing beyond what we expected (no telemetry)
        sock.recvfrom(65535)
    return metrics


def test_success_event_names_values_types_and_tags(receiver):
    port = receiver.getsockname()[1]
    exporter = DogStatsdExporter(port=port, tags=["env:test", "region:us-east-1"])
    exporter.record(_event())
    got = _receive(receiver, 8)
    exporter.close()

    assert {n: (v, t) for n, (v, t, _) in got.items()} == {
        "kong.bedrock.requests": ("1", "c"),
        "kong.bedrock.tokens.input": ("120", "c"),
        "kong.bedrock.tokens.output": ("45", "c"),
        "kong.bedrock.tokens.cache_read": ("30", "c"),
        "kong.bedrock.tokens.cache_write": ("0", "c"),
        "kong.bedrock.cost_usd": ("0.0125", "c"),
        "kong.bedrock.latency_ms": ("812.5", "h"),
        "kong.bedrock.ttft_ms": ("140.0", "h"),
    }
    expected_tags = {"model:anthropic.claude-3-haiku", "role:developer", "status:200",
                     "consumer:alice", "env:test", "region:us-east-1"}
    for name, (_, _, tags) in got.items():
        assert tags == expected_tags, name


def test_error_event_without_consumer_or_ttft(receiver):
    port = receiver.getsockname()[1]
    exporter = DogStatsdExporter(port=port, prefix="gw.")
    exporter.record(_event(consumer=None, status=429, ttft_ms=None, error_type="throttled",
                           input_tokens=0, output_tokens=0, cache_read_tokens=0, cost_usd=0.0))
    got = _receive(receiver, 8)  # 7 always-sent metrics minus ttft, plus errors
    exporter.close()

    assert "gw.ttft_ms" not in got
    assert got["gw.errors"][:2] == ("1", "c")
    assert got["gw.cost_usd"][:2] == ("0.0", "c")
    for name, (_, _, tags) in got.items():
        assert tags == {"model:anthropic.claude-3-haiku", "role:developer", "status:429",
                        "error_type:throttled"}, name
        assert not any(t.startswith("consumer:") for t in tags)


def test_http_error_status_counts_as_error_without_error_type_tag(receiver):
    port = receiver.getsockname()[1]
    exporter = DogStatsdExporter(port=port)
    exporter.record(_event(status=502))
    got = _receive(receiver, 9)
    exporter.close()
    value, mtype, tags = got["kong.bedrock.errors"]
    assert (value, mtype) == ("1", "c")
    assert "status:502" in tags and not any(t.startswith("error_type:") for t in tags)


def test_never_raises_without_an_agent_or_on_bad_input():
    # Port 9 (discard) on loopback: nothing listens, ICMP refusals must not surface.
    exporter = DogStatsdExporter(port=9)
    for _ in range(3):
        exporter.record(_event())
    exporter.record(_event(latency_ms="not a number"))  # type: ignore[arg-type]
    assert exporter.failures == 1
    exporter.close()


def test_the_consumer_tag_is_bounded_by_the_consumer_label_limit_as_prometheus_labels_are(receiver, monkeypatch):
    """Each distinct tag value is a Datadog custom-metric context (billed): past token-meter's
    consumer_label_limit, consumers are `other`, the value Prometheus gives them."""
    from kong_plugins import metrics
    monkeypatch.setattr(metrics, "_seen_consumers", set())
    monkeypatch.setattr(metrics, "_CONSUMER_LIMIT", [2])
    exporter = DogStatsdExporter(port=receiver.getsockname()[1])
    seen = []
    for name in ("c1", "c2", "c3", "c1"):
        exporter.record(_event(consumer=name, ttft_ms=None))
        seen.append(next(t for t in _receive(receiver, 7)["kong.bedrock.requests"][2] if t.startswith("consumer:")))
    exporter.close()
    assert seen == ["consumer:c1", "consumer:c2", "consumer:other", "consumer:c1"]
