"""Bedrock's stream frames as the emulator writes them: events, InvokeModel chunks, exceptions
(the frame encoding itself is kong_plugins.bedrock.eventstream, shared with the relay)."""

from __future__ import annotations

import base64
import random
from typing import Any

from kong_plugins.bedrock.eventstream import encode_message, json_bytes

_PAD_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def padding(rng: random.Random | None = None) -> str:
    """Random-length filler, like Bedrock's ``p`` field that masks payload sizes."""
    rng = rng or random
    return _PAD_ALPHABET[: rng.randint(1, len(_PAD_ALPHABET))]


def event_frame(event_type: str, payload: dict[str, Any], *, corrupt_crc: bool = False) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json_bytes(payload), corrupt_crc=corrupt_crc)


def chunk_frame(model_event: dict[str, Any], *, corrupt_crc: bool = False) -> bytes:
    """InvokeModelWithResponseStream frame: ``{"bytes": base64(event JSON), "p": filler}``."""
    encoded = base64.b64encode(json_bytes(model_event)).decode("ascii")
    return event_frame("chunk", {"bytes": encoded, "p": padding()}, corrupt_crc=corrupt_crc)


def error_frame(code: str, message: str) -> bytes:
    """A generic error message (`:error-code`, `:error-message`, no payload): the other way an AWS event stream
    fails after its 200 (botocore raises it as EventStreamError with `code` as its Code, whatever the code)."""
    return encode_message({":message-type": "error", ":error-code": code, ":error-message": message}, b"")


EMPTY_EVENT = encode_message({":message-type": "event"}, b"")
"""An event that says nothing (no type, no payload): botocore hands it to its caller as an empty event."""
