"""Helpers shared by the emulator tests (constants, boto3 client factory, body builders, Mantle calls)."""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ACCESS_KEY = "AKIDEMULATOR00000000"
SECRET_KEY = "emulator-secret-access-key"
SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN = "amazon.titan-text-express-v1"
NOVA = "amazon.nova-lite-v1:0"


def make_client(url: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
                session_token: str | None = None) -> Any:
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=url,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, aws_session_token=session_token,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=20, connect_timeout=5),
    )


def claude_body(text: str = "Say hello world please", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                            "messages": [{"role": "user", "content": text}]}
    body.update(extra)
    return body


def decode_stream(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Anthropic events from boto3's invoke_model_with_response_stream result."""
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


OPUS_47 = "anthropic.claude-opus-4-7"
MANTLE_MESSAGES = "/anthropic/v1/messages"
MANTLE_COUNT = "/anthropic/v1/messages/count_tokens"


def mantle_body(text: str = "Say hello world please", **extra: Any) -> dict[str, Any]:
    """A first-party Anthropic Messages body addressed to a Mantle model."""
    body: dict[str, Any] = {"model": OPUS_47, "max_tokens": 200, "messages": [{"role": "user", "content": text}]}
    body.update(extra)
    return body


def mantle_post(url: str, path: str, body: Any, *, service: str = "bedrock-mantle", secret: str = SECRET_KEY,
                access_key: str = ACCESS_KEY, headers: dict[str, str] | None = None, stream: bool = False,
                raw: bytes | None = None, method: str = "POST") -> Any:
    """Call the emulator's Mantle routes, SigV4-signed with botocore for ``service``."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = AWSRequest(method=method, url=url + path, data=data,
                         headers={"Content-Type": "application/json", "anthropic-version": "2023-06-01",
                                  **(headers or {})})
    SigV4Auth(Credentials(access_key, secret), service, "us-east-1").add_auth(request)
    return requests.request(method, url + path, data=data, headers=dict(request.headers), stream=stream,
                            timeout=10)


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data JSON) pairs of an Anthropic SSE body; checks each event's framing."""
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: "), block
        events.append((name_line[len("event: "):], json.loads(data_line[len("data: "):])))
    return events


def norm(values: list[float]) -> float:
    return math.sqrt(math.fsum(v * v for v in values))


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))


def client_error(call: Any, **kwargs: Any) -> dict[str, Any]:
    """The error response of a boto3 call expected to fail."""
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return exc.value.response


def assert_throttled_then_served(client: Any, model_id: str, body: str) -> None:
    """With one throttle fault set for the model: the first InvokeModel call is a 429, the next one served."""
    error = client_error(client.invoke_model, modelId=model_id, body=body)
    assert error["Error"]["Code"] == "ThrottlingException" and error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert client.invoke_model(modelId=model_id, body=body)["ResponseMetadata"]["HTTPStatusCode"] == 200


def malformed(detail: str) -> str:
    """Bedrock's schema-validator wording for an InvokeModel body."""
    return f"Malformed input request: {detail}, please reformat your input and try again."


def decode_png(encoded: str) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a base64 PNG, checking what a decoder checks."""
    data = base64.b64decode(encoded, validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind, payload = data[offset + 4:offset + 8], data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(kind + payload), kind
        chunks.append((kind, payload))
        offset += 12 + length
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    raw = zlib.decompress(b"".join(payload for kind, payload in chunks if kind == b"IDAT"))
    stride = 1 + 3 * width
    assert len(raw) == height * stride
    assert all(raw[row * stride] <= 4 for row in range(height))  # every scanline starts with a valid filter
    return width, height, raw
