"""Decoding client request bodies, shared by every format."""

from __future__ import annotations

import json
import math
from typing import Any

from kong_plugins.formats import wire_json


class RequestError(ValueError):
    """The client's body is not a valid request; the message names the field.

    Messages never quote the client's values: they may be prompts or secrets.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


_GZIP_MAGIC = b"\x1f\x8b"
_UTF8 = ("utf-8", "utf-8-sig")   # json.detect_encoding's names for UTF-8 text, with or without a byte order mark


def load_json_object(body: bytes | None) -> dict[str, Any]:
    if not body:
        raise RequestError("Request body is empty; expected a JSON object.")
    _check_encoding(body)
    try:
        data = wire_json.loads_text(body)
    except wire_json.LoneSurrogate:   # Bedrock would refuse it, after retries that cannot help
        raise RequestError("Request body holds invalid Unicode: a lone surrogate (a \\ud800-\\udfff escape "
                           "without its pair); send text as valid UTF-8.") from None
    except wire_json.TooDeep:
        raise RequestError(f"Request body nests arrays or objects more than {wire_json.MAX_DEPTH} levels deep."
                           ) from None
    except UnicodeDecodeError:
        raise RequestError("Request body is not valid UTF-8 text; send JSON encoded as UTF-8.") from None
    except (ValueError, RecursionError):
        raise RequestError("Request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise RequestError("Request body must be a JSON object.")
    if "model" in data and not isinstance(data["model"], str):
        raise RequestError("model: must be a string.", "model")
    return data


def _check_encoding(body: bytes) -> None:
    """Refuse what `json.loads` would read but Bedrock cannot: UTF-16 or UTF-32 text (a Bedrock-native body goes
    on as it came), and say why a gzip body is no JSON (Kong does not inflate a request's Content-Encoding)."""
    if body.startswith(_GZIP_MAGIC):
        raise RequestError("Request body is gzip-compressed; the gateway reads uncompressed JSON only (send it "
                           "without Content-Encoding: gzip).")
    if json.detect_encoding(body) not in _UTF8:
        raise RequestError("Request body is not UTF-8 text (it reads as UTF-16 or UTF-32); send JSON encoded "
                           "as UTF-8.")


def whole_number(value: Any, field: str, *, low: int = 1, high: int | None = None,
                 message: str | None = None) -> int:
    """`value` as an integer from `low` to `high`; JSON's true and 2.0 are not counts. RequestError names `field`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise RequestError(message or f"{field}: must be a positive integer.", field)
    return value


def query_limit(raw: str | None, default: int, most: int) -> int:
    """A list call's `limit` query parameter, 1 to `most` (`default` when absent). isdecimal, not isdigit: int()
    cannot read every digit isdigit accepts ('²'). RequestError names `limit`."""
    if raw is None:
        return default
    if not raw.isdecimal() or not 1 <= int(raw) <= most:
        raise RequestError(f"limit: must be an integer from 1 to {most}.", "limit")
    return int(raw)


def number(value: Any, field: str, message: str | None = None) -> float:
    """`value` as a float (an integer or a float, not a bool). RequestError names `field`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(message or f"{field}: must be a number.", field)
    return float(value)


def number_in(value: Any, field: str, low: float, high: float) -> float:
    """`value` as a float from `low` to `high`; NaN (which the JSON fallback reads) is in no range."""
    found = number(value, field)
    if not math.isfinite(found) or not low <= found <= high:
        raise RequestError(f"{field}: must be a number from {low:g} to {high:g}.", field)
    return found


def required_string(obj: dict[str, Any], key: str, where: str) -> str:
    """A member that must be a non-empty string (an id, a name): "`where`.`key`: required." otherwise."""
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise RequestError(f"{where}.{key}: required.", f"{where}.{key}")
    return value


def boolean(value: Any, field: str) -> bool | None:
    """`value` as JSON's true or false (None when absent): "yes" or 1 is no answer to a yes-or-no setting."""
    if value is not None and not isinstance(value, bool):
        raise RequestError(f"{field}: must be a boolean.", field)
    return value


def require_messages(data: dict[str, Any]) -> None:
    if not isinstance(data.get("messages"), list) or not data["messages"]:
        raise RequestError("messages: Field required (a non-empty list).", "messages")
