"""prometheus (kong/plugins/prometheus/handler.lua + exporter.lua, PRIORITY 13).

Why: metrics of the gateway are scraped from the status listener's
``/metrics``.  Metric names/labels/buckets are exporter.lua's (prefix
``kong_``); like 3.6.1, per-request metrics are only recorded when the
matching config flag (status_code_metrics, latency_metrics,
bandwidth_metrics, per_consumer) is true.
"""
from __future__ import annotations

import threading

from ..pdk_log import build_serialize
from ..request_ctx import RequestContext

PRIORITY = 13
PHASES = {"log"}
KONG_LATENCY_BUCKETS = (1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000)
UPSTREAM_LATENCY_BUCKETS = (25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000)


class Registry:
    """The ``prometheus_metrics`` shm, node-wide."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters: dict[tuple, float] = {}
        self.histograms: dict[tuple, list] = {}

    def inc(self, name: str, labels: tuple, value: float = 1) -> None:
        with self.lock:
            self.counters[(name, labels)] = self.counters.get((name, labels), 0) + value

    def observe(self, name: str, labels: tuple, value: float, buckets: tuple) -> None:
        with self.lock:
            h = self.histograms.setdefault((name, labels), [[0] * len(buckets), 0, 0.0, buckets])
            for i, b in enumerate(buckets):
                if value <= b:
                    h[0][i] += 1
            h[1] += 1
            h[2] += value


REGISTRY = Registry()

_HELP = {
    "kong_http_requests_total": ("counter", "HTTP status codes per consumer/service/route in Kong"),
    "kong_bandwidth_bytes": ("counter", "Total bandwidth (ingress/egress) throughput in bytes"),
    "kong_kong_latency_ms": ("histogram", "Latency added by Kong and enabled plugins for each service/route in Kong"),
    "kong_upstream_latency_ms": ("histogram", "Latency added by upstream response for each service/route in Kong"),
    "kong_request_latency_ms": ("histogram", "Total latency incurred during requests for each service/route in Kong"),
}
_LABELS = {
    "kong_http_requests_total": ("service", "route", "code", "source", "consumer"),
    "kong_bandwidth_bytes": ("service", "route", "direction", "consumer"),
    "kong_kong_latency_ms": ("service", "route"),
    "kong_upstream_latency_ms": ("service", "route"),
    "kong_request_latency_ms": ("service", "route"),
}


def log(rq: RequestContext, conf: dict) -> None:
    message = build_serialize(rq)
    consumer = ""
    if conf.get("per_consumer") and message.get("consumer") is not None:
        consumer = message["consumer"].get("username") or ""
    service = message.get("service") or {}
    service_name = service.get("name") or service.get("host") or ""
    route = message.get("route")
    if not route:
        return
    route_name = route.get("name") or route.get("id")
    if conf.get("bandwidth_metrics"):
        for direction, size in (("ingress", message["request"].get("size")), ("egress", message["response"].get("size"))):
            if isinstance(size, int) and size > 0:
                REGISTRY.inc("kong_bandwidth_bytes", (service_name, route_name, direction, consumer), size)
    if conf.get("status_code_metrics"):
        source = "service" if message.get("source") == "service" else "kong"
        REGISTRY.inc("kong_http_requests_total",
                     (service_name, route_name, str(message["response"]["status"]), source, consumer))
    if conf.get("latency_metrics"):
        lat = message["latencies"]
        labels = (service_name, route_name)
        if lat.get("request") is not None and lat["request"] >= 0:
            REGISTRY.observe("kong_request_latency_ms", labels, lat["request"], UPSTREAM_LATENCY_BUCKETS)
        if lat.get("proxy") is not None and lat["proxy"] >= 0:
            REGISTRY.observe("kong_upstream_latency_ms", labels, lat["proxy"], UPSTREAM_LATENCY_BUCKETS)
        if lat.get("kong") is not None and lat["kong"] >= 0:
            REGISTRY.observe("kong_kong_latency_ms", labels, lat["kong"], KONG_LATENCY_BUCKETS)


def _fmt_labels(names: tuple, values: tuple, extra: str = "") -> str:
    parts = ['%s="%s"' % (n, str(v).replace("\\", "\\\\").replace('"', '\\"')) for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}"


def exposition(node_id: str, version: str, requests_total: int, connections: int) -> str:
    """Text exposition of ``/metrics`` (status API)."""
    out = [
        "# HELP kong_datastore_reachable Datastore reachable from Kong, 0 is unreachable",
        "# TYPE kong_datastore_reachable gauge",
        "kong_datastore_reachable 1",
        "# HELP kong_node_info Kong Node metadata information",
        "# TYPE kong_node_info gauge",
        'kong_node_info{node_id="%s",version="%s"} 1' % (node_id, version),
        "# HELP kong_nginx_requests_total Number of requests total",
        "# TYPE kong_nginx_requests_total gauge",
        'kong_nginx_requests_total{node_id="%s",subsystem="http"} %d' % (node_id, requests_total),
        "# HELP kong_nginx_connections_total Number of connections by subsystem",
        "# TYPE kong_nginx_connections_total gauge",
        'kong_nginx_connections_total{node_id="%s",subsystem="http",state="active"} %d' % (node_id, connections),
    ]
    with REGISTRY.lock:
        counters = dict(REGISTRY.counters)
        hists = {k: (list(v[0]), v[1], v[2], v[3]) for k, v in REGISTRY.histograms.items()}
    for name in _HELP:
        kind, help_text = _HELP[name]
        series_c = sorted((k, v) for k, v in counters.items() if k[0] == name)
        series_h = sorted((k, v) for k, v in hists.items() if k[0] == name)
        if not series_c and not series_h:
            continue
        out.append("# HELP %s %s" % (name, help_text))
        out.append("# TYPE %s %s" % (name, kind))
        for (n, labels), value in series_c:
            out.append("%s%s %s" % (n, _fmt_labels(_LABELS[n], labels), _num(value)))
        for (n, labels), (counts, count, total, buckets) in series_h:
            fmt = _bucket_format(buckets)
            for b, c in zip(buckets, counts):
                out.append('%s_bucket%s %d' % (n, _fmt_labels(_LABELS[n], labels, 'le="%s"' % (fmt % b)), c))
            out.append('%s_bucket%s %d' % (n, _fmt_labels(_LABELS[n], labels, 'le="+Inf"'), count))
            out.append("%s_count%s %d" % (n, _fmt_labels(_LABELS[n], labels), count))
            out.append("%s_sum%s %s" % (n, _fmt_labels(_LABELS[n], labels), _num(total)))
    return "\n".join(out) + "\n"


def _bucket_format(buckets: tuple) -> str:
    """prometheus.lua construct_bucket_format (zero-padded ``le`` labels)."""
    max_order, max_precision = 1, 1
    for b in buckets:
        as_string = ("%f" % b).rstrip("0")
        dot = as_string.index(".")
        max_order = max(max_order, dot)
        max_precision = max(max_precision, len(as_string) - dot - 1)
    return "%%0%d.%df" % (max_order + max_precision + 1, max_precision)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))
