"""AWS event-stream frame encoder (botocore only ships a decoder).

Layout: prelude (total length, headers length, prelude CRC), headers, payload, message CRC.
All headers we emit are strings (type 7), which is all Bedrock uses.
"""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib
from typing import Any

_PAD_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_STRING_TYPE = 7


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING_TYPE, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes, *, corrupt_crc: bool = False) -> bytes:
    """One complete frame; ``corrupt_crc`` flips the message CRC (fault injection)."""
    raw_headers = encode_headers(headers)
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    body = prelude + struct.pack(">I", _crc(prelude)) + raw_headers + payload
    crc = _crc(body) ^ (0xFFFFFFFF if corrupt_crc else 0)
    return body + struct.pack(">I", crc)


def padding(rng: random.Random | None = None) -> str:
    """Random-length filler, like Bedrock's ``p`` field that masks payload sizes."""
    rng = rng or random
    return _PAD_ALPHABET[: rng.randint(1, len(_PAD_ALPHABET))]


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_frame(event_type: str, payload: dict[str, Any], *, corrupt_crc: bool = False) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, _json(payload), corrupt_crc=corrupt_crc)


def chunk_frame(model_event: dict[str, Any], *, corrupt_crc: bool = False) -> bytes:
    """InvokeModelWithResponseStream frame: ``{"bytes": base64(event JSON), "p": filler}``."""
    encoded = base64.b64encode(_json(model_event)).decode("ascii")
    return event_frame("chunk", {"bytes": encoded, "p": padding()}, corrupt_crc=corrupt_crc)


def exception_frame(exception_type: str, payload: dict[str, Any]) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, _json(payload))
