"""Optional usage exporters (CloudWatch, DogStatsD), one per configuration per process."""

from __future__ import annotations

from typing import Any, Mapping

_CACHE: dict[tuple, list[Any]] = {}


def exporters_for(config: Mapping[str, Any]) -> list[Any]:
    """The exporters token-meter's config enables; created once, shared by its instances."""
    cloudwatch = dict(config.get("cloudwatch") or {})
    dogstatsd = dict(config.get("dogstatsd") or {})
    key = (tuple(sorted((k, str(v)) for k, v in cloudwatch.items())),
           tuple(sorted((k, str(v)) for k, v in dogstatsd.items())))
    if key not in _CACHE:
        exporters: list[Any] = []
        if cloudwatch.get("enabled"):
            from kong_plugins.metering.cloudwatch import CloudWatchExporter
            exporters.append(CloudWatchExporter(namespace=cloudwatch.get("namespace") or "KongBedrockGateway",
                                                region=cloudwatch.get("region") or "us-east-1",
                                                flush_interval_s=float(cloudwatch.get("flush_interval_s") or 60)))
        if dogstatsd.get("enabled"):
            from kong_plugins.metering.dogstatsd import DogStatsdExporter
            exporters.append(DogStatsdExporter(host=dogstatsd.get("host") or "127.0.0.1",
                                               port=int(dogstatsd.get("port") or 8125),
                                               prefix=dogstatsd.get("prefix") or "kong.bedrock",
                                               tags=list(dogstatsd.get("tags") or [])))
        _CACHE[key] = exporters
    return _CACHE[key]
