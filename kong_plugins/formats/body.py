"""Decoding client request bodies, shared by every format."""

from __future__ import annotations

from typing import Any

from kong_plugins.formats import wire_json


class RequestError(ValueError):
    """The client's body is not a valid request; the message names the field.

    Messages never quote the client's values: they may be prompts or secrets.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def load_json_object(body: bytes | None) -> dict[str, Any]:
    if not body:
        raise RequestError("Request body is empty; expected a JSON object.")
    try:
        data = wire_json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RequestError("Request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise RequestError("Request body must be a JSON object.")
    if "model" in data and not isinstance(data["model"], str):
        raise RequestError("model: must be a string.", "model")
    return data


def require_messages(data: dict[str, Any]) -> None:
    if not isinstance(data.get("messages"), list) or not data["messages"]:
        raise RequestError("messages: Field required (a non-empty list).", "messages")
