"""What bedrock-proxy decided, handed to the relay through the request context."""

from __future__ import annotations

from dataclasses import dataclass

from kong_plugins.formats.api import ApiFormat

RELAY_TOKEN_HEADER = "X-Bedrock-Gateway-Token"
"""Upstream header carrying the one-time context token (set by bedrock-proxy via Kong)."""


@dataclass(frozen=True)
class UpstreamCall:
    api: ApiFormat          # the client's format (responses and errors use it)
    operation: str          # "invoke" | "invoke-with-response-stream"
    model_name: str         # catalogue name
    model_id: str           # Bedrock model / inference-profile id
    region: str
    body: bytes             # the body to send to Bedrock (already translated)
    stream: bool
