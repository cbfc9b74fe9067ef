"""Checks of an InvokeModel body against a JSON schema, in the words of Bedrock's schema validator.

Each check raises ``malformed`` ("Malformed input request: #/...: ..., please reformat your input and try
again.") with the validator's finding: type, required and extraneous keys, min/max length and item count,
enum, "is not greater or equal to", "is not less or equal to". ``where`` is the JSON pointer of the value
checked ("#" for the body itself). Shared by the image and rerank bodies.
"""

from __future__ import annotations

from typing import Any

from .anthropic_body import json_type
from .embeddings import enum_value
from .errors import malformed


def number_text(value: float) -> str:
    """A number as the schema validator prints it: 10, 1.1, 0.5."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def expect_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise malformed(f"{where}: expected type: JSONObject, found: {json_type(value)}")
    return value


def only_keys(obj: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in obj:
        if key not in allowed:
            raise malformed(f"{where}: extraneous key [{key}] is not permitted")


def required_key(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise malformed(f"{where}: required key [{key}] not found")
    return obj[key]


def expect_string(value: Any, where: str, limit: int | None = None) -> str:
    """A non-empty string of at most ``limit`` characters (no limit when None)."""
    if not isinstance(value, str):
        raise malformed(f"{where}: expected type: String, found: {json_type(value)}")
    if not value:
        raise malformed(f"{where}: expected minLength: 1, actual: 0")
    if limit is not None and len(value) > limit:
        raise malformed(f"{where}: expected maxLength: {limit}, actual: {len(value)}")
    return value


def expect_strings(value: Any, where: str, max_items: int) -> list[str]:
    """An array of 1 to ``max_items`` strings (each may be empty)."""
    if not isinstance(value, list):
        raise malformed(f"{where}: expected type: JSONArray, found: {json_type(value)}")
    if not value:
        raise malformed(f"{where}: expected minimum item count: 1, found: 0")
    if len(value) > max_items:
        raise malformed(f"{where}: expected maximum item count: {max_items}, found: {len(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise malformed(f"{where}/{index}: expected type: String, found: {json_type(item)}")
    return value


def expect_enum(value: Any, where: str, values: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise malformed(f"{where}: expected type: String, found: {json_type(value)}")
    if value not in values:
        raise malformed(f"{where}: {enum_value(value)} is not a valid enum value")
    return value


def expect_number(value: Any, where: str, integer: bool) -> Any:
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise malformed(f"{where}: expected type: {'Integer' if integer else 'Number'}, found: {json_type(value)}")
    return value


def in_range(value: Any, where: str, low: float, high: float | None, integer: bool) -> Any:
    """A number (an integer when ``integer``) in ``low``..``high``, both inclusive (no ceiling when None)."""
    value = expect_number(value, where, integer)
    if value < low:
        raise malformed(f"{where}: {number_text(value)} is not greater or equal to {number_text(low)}")
    if high is not None and value > high:
        raise malformed(f"{where}: {number_text(value)} is not less or equal to {number_text(high)}")
    return value
