"""Helpers shared by the emulator tests (constants, boto3 client factory, body builders)."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config

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
