"""OpenAI Conversations the gateway keeps for a consumer (`openai_response_store` with `keep_inputs`).

A conversation is what the OpenAI Agents SDK's `OpenAIConversationsSession` and apps on OpenAI's
Conversations API keep their history in: a record (id, creation time, metadata) and its items, oldest
first, which a Responses call naming `conversation` continues and adds its input and output to. Both
live in the item store (memory per pod, or Redis for every pod) under the consumer's name, for
`ttl_seconds` from their last change: another key cannot read them. They hold prompts, as the
guardrails let them through, so the gateway keeps them only with `keep_inputs` on.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from kong_plugins.relay.item_store import ItemStore, counted

CONVERSATION, CONVERSATION_ITEMS = "conversation", "conversation_items"


def new_id() -> str:
    return "conv_" + secrets.token_hex(24)


@counted("save")
def create(store: ItemStore, owner: str, metadata: dict[str, str], items: list[dict[str, Any]]) -> dict[str, Any]:
    """A new conversation of `owner`'s with these first items; its record."""
    record = {"id": new_id(), "created_at": int(time.time()), "metadata": metadata}
    store.put(owner, CONVERSATION, record)
    if items:
        store.extend(owner, CONVERSATION_ITEMS, record["id"], items)
    return record


def _record(store: ItemStore, owner: str, conversation_id: str) -> dict[str, Any] | None:
    return store.load(owner, [conversation_id], CONVERSATION).get(conversation_id)


@counted("load")
def get(store: ItemStore, owner: str, conversation_id: str) -> dict[str, Any] | None:
    """`owner`'s conversation record (None: not kept, another key's, expired or deleted)."""
    return _record(store, owner, conversation_id)


@counted("save")
def update(store: ItemStore, owner: str, conversation_id: str, metadata: dict[str, str]) -> dict[str, Any] | None:
    """Replace a conversation's metadata; its record, or None when there is no such conversation."""
    record = _record(store, owner, conversation_id)
    if record is None:
        return None
    record = {**record, "metadata": metadata}
    _keep_alive(store, owner, record)
    return record


@counted("delete")
def delete(store: ItemStore, owner: str, conversation_id: str) -> bool:
    """Erase a conversation and its items (False: there was none)."""
    return store.erase(owner, [(CONVERSATION, conversation_id), (CONVERSATION_ITEMS, conversation_id)])


@counted("load")
def items(store: ItemStore, owner: str, conversation_id: str) -> list[dict[str, Any]] | None:
    """A conversation's items, oldest first (None: there is no such conversation)."""
    if _record(store, owner, conversation_id) is None:
        return None
    return store.entries(owner, CONVERSATION_ITEMS, conversation_id)


@counted("save")
def append(store: ItemStore, owner: str, conversation_id: str, added: list[dict[str, Any]]) -> bool:
    """Add items at the end, which starts the conversation's TTL again (False: there is no such conversation). The
    record first: see _rewrite."""
    record = _record(store, owner, conversation_id)
    if record is None:
        return False
    store.put(owner, CONVERSATION, record)
    if added:
        store.extend(owner, CONVERSATION_ITEMS, conversation_id, added)
    return True


@counted("delete")
def remove_item(store: ItemStore, owner: str, conversation_id: str,
                item_id: str) -> tuple[dict[str, Any] | None, bool]:
    """Take one item out: (the conversation's record, None when there is no such conversation; whether the item
    was there to take out)."""
    record = _record(store, owner, conversation_id)
    if record is None:
        return None, False
    _keep_alive(store, owner, record)
    return record, store.remove(owner, CONVERSATION_ITEMS, conversation_id, lambda item: item.get("id") == item_id)


def _keep_alive(store: ItemStore, owner: str, record: dict[str, Any]) -> None:
    """The record, then its items: both start their TTL again (or the items could expire first on Redis), and
    in a memory store the items are the newer entry, so memory pressure drops the record first (a 404) rather
    than the items (a conversation that forgot its history). The items are not rewritten: an item a finishing
    response adds meanwhile, on any pod, stays."""
    store.put(owner, CONVERSATION, record)
    store.touch(owner, CONVERSATION_ITEMS, record["id"])
