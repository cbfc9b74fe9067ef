"""OpenAI's Conversations API (`/v1/conversations`, the SDKs' `conversations` and `conversations.items`):
its request bodies, checked as OpenAI checks them, and the objects it answers.

A conversation's items are Responses input items in their full shape (relay.conversation_store keeps them):
messages, function and custom tool calls and their outputs, reasoning. Items added without an id get a fresh
one, as OpenAI gives them. Up to 20 items are added at a time; `metadata` follows OpenAI's limits (16 pairs,
keys of at most 64 characters, values of at most 512). Messages from the client are what a Responses call
would send, so the guardrails check their user text before anything is kept.
"""

from __future__ import annotations

import secrets
from typing import Any

from kong_plugins.bedrock.request_metadata import openai_pairs
from kong_plugins.formats.body import RequestError, load_json_object
from kong_plugins.formats.openai_responses import ROLES
from kong_plugins.formats.responses_input_items import shaped

MAX_ADDED = 20
ITEM_TYPES = frozenset({"message", "function_call", "function_call_output", "custom_tool_call",
                        "custom_tool_call_output", "reasoning"})
_CALL_ID_TYPES = ("function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output")


def create_request(body: bytes | None) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`conversations.create`: its metadata and first items (both optional; the SDK sends `{}` for none)."""
    data = load_json_object(body or b"{}")
    items = new_items(data["items"], "items") if data.get("items") is not None else []
    return _metadata(data.get("metadata")), items


def update_request(body: bytes | None) -> dict[str, str]:
    """`conversations.update`: the metadata that replaces the conversation's."""
    data = load_json_object(body)
    if data.get("metadata") is None:
        raise RequestError("metadata: Field required.", "metadata")
    return _metadata(data["metadata"])


def items_request(body: bytes | None) -> list[dict[str, Any]]:
    """`conversations.items.create`: the items to add (1 to 20)."""
    data = load_json_object(body)
    if data.get("items") is None:
        raise RequestError("items: Field required.", "items")
    items = new_items(data["items"], "items")
    if not items:
        raise RequestError(f"items: add 1 to {MAX_ADDED} items.", "items")
    return items


def new_items(items: Any, field: str) -> list[dict[str, Any]]:
    """Checked items in OpenAI's full shape, each with an id (a fresh one where the client sent none)."""
    if not isinstance(items, list) or len(items) > MAX_ADDED:
        raise RequestError(f"{field}: must be a list of at most {MAX_ADDED} items.", field)
    for index, item in enumerate(items):
        _check(item, f"{field}.{index}")
    return stamped(items)


def stamped(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items in OpenAI's full shape; those without an id get a fresh one."""
    return [shaped(item, secrets.token_hex(20)) for item in items]


def conversation_object(record: dict[str, Any]) -> dict[str, Any]:
    return {"id": record["id"], "object": "conversation", "created_at": record.get("created_at", 0),
            "metadata": record.get("metadata") or {}}


def deleted(conversation_id: str) -> dict[str, Any]:
    return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}


def added(items: list[dict[str, Any]]) -> dict[str, Any]:
    """`conversations.items.create`'s answer: the items as kept."""
    return {"object": "list", "data": items, "first_id": items[0]["id"], "last_id": items[-1]["id"],
            "has_more": False}


def _metadata(value: Any) -> dict[str, str]:
    return dict(openai_pairs(value)) if value is not None else {}


def _check(item: Any, where: str) -> None:
    """What a later Responses call could not send is refused now, naming the item."""
    if not isinstance(item, dict):
        raise RequestError(f"{where}: must be an object.", where)
    kind = item.get("type") or ("message" if "role" in item else None)
    if not isinstance(kind, str) or kind not in ITEM_TYPES:   # a list or an object cannot be looked up
        raise RequestError(f"{where}.type: must be one of {', '.join(sorted(ITEM_TYPES))}.", f"{where}.type")
    if item.get("id") is not None and (not isinstance(item["id"], str) or not item["id"]):
        raise RequestError(f"{where}.id: must be a non-empty string.", f"{where}.id")
    if kind == "message":
        if item.get("role") not in ROLES:
            raise RequestError(f"{where}.role: must be one of {', '.join(ROLES)}.", f"{where}.role")
        content = item.get("content")
        if not isinstance(content, str) and not (isinstance(content, list) and
                                                 all(isinstance(part, dict) for part in content)):
            raise RequestError(f"{where}.content: must be a string or a list of content parts.", f"{where}.content")
    elif kind in _CALL_ID_TYPES and not isinstance(item.get("call_id"), str):
        raise RequestError(f"{where}.call_id: Field required.", f"{where}.call_id")
