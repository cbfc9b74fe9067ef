"""bedrock-proxy's OpenAI Conversations API (`/v1/conversations`, the SDKs' `conversations` and
`conversations.items`), served from relay.conversation_store when `openai_response_store` keeps inputs.

create, retrieve, update and delete a conversation; list, add, retrieve and delete its items. Each answers
as OpenAI does, in OpenAI's error format: another key's conversation, or an expired or deleted one, is a 404;
without `keep_inputs` every call is a 404 saying why (the gateway keeps no prompts then). Mixed into
`bedrock_proxy.Plugin`.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import unquote

from kong_plugins.context import RequestContext
from kong_plugins.formats import openai_conversations, responses_input_items
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.errors import ErrorKind, Reply, render_error
from kong_plugins.relay import conversation_store
from kong_plugins.relay.item_store import ItemStoreError, TooLarge
from kong_plugins.response_objects import owner

CONVERSATIONS_PATH = "/v1/conversations"
_NOT_KEPT = "No conversation with this id is kept for your API key: it was never made, is another key's, or has " \
            "expired or been deleted."
_NO_ITEM = "The conversation has no item with this id."
_OFF = ("The gateway keeps conversations only when openai_response_store has keep_inputs on, since they hold "
        "prompts; send the whole conversation in each Responses call's input instead.")
_UNREACHABLE = "The gateway's response store is unreachable, so the conversation was not read or changed; retry."
_TOO_LARGE = ("The conversation would be larger than the gateway's whole memory store (openai_response_store "
              "memory_mb), so the items were not added; start a new conversation.")


def _openai_error(kind: ErrorKind, message: str, param: str | None = None) -> Reply:
    return render_error(ApiFormat.OPENAI, kind, message, param=param)


class ConversationObjects:
    """`_conversations`: one Conversations API call on the caller's own conversations."""

    turn_store: Any

    def _conversations(self, ctx: RequestContext, path: str) -> Reply:
        if self.turn_store is None:
            return _openai_error(ErrorKind.NOT_FOUND, _OFF)
        parts = [unquote(part) for part in path[len(CONVERSATIONS_PATH):].split("/") if part]
        handler = _ROUTES.get((ctx.method, len(parts), parts[1] if len(parts) > 1 else None))
        if handler is None:
            return _openai_error(ErrorKind.NOT_FOUND, "This Conversations API call is not served by the gateway.")
        try:
            return handler(self.turn_store, owner(ctx), ctx, *parts)
        except RequestError as exc:
            return _openai_error(ErrorKind.INVALID_REQUEST, str(exc), exc.param)
        except TooLarge:
            return _openai_error(ErrorKind.TOO_LARGE, _TOO_LARGE)
        except ItemStoreError:
            return _openai_error(ErrorKind.UNAVAILABLE, _UNREACHABLE)


def _create(store: Any, who: str, ctx: RequestContext) -> Reply:
    metadata, items = openai_conversations.create_request(ctx.body)
    record = conversation_store.create(store, who, metadata, items)
    return Reply(200, openai_conversations.conversation_object(record), {})


def _retrieve(store: Any, who: str, ctx: RequestContext, conversation_id: str) -> Reply:
    record = conversation_store.get(store, who, conversation_id)
    return _kept(record, lambda: openai_conversations.conversation_object(record))


def _update(store: Any, who: str, ctx: RequestContext, conversation_id: str) -> Reply:
    record = conversation_store.update(store, who, conversation_id, openai_conversations.update_request(ctx.body))
    return _kept(record, lambda: openai_conversations.conversation_object(record))


def _delete(store: Any, who: str, ctx: RequestContext, conversation_id: str) -> Reply:
    erased = conversation_store.delete(store, who, conversation_id)
    return _kept(erased or None, lambda: openai_conversations.deleted(conversation_id))


def _list_items(store: Any, who: str, ctx: RequestContext, conversation_id: str, _: str) -> Reply:
    page = responses_input_items.page_of(ctx.query)
    items = conversation_store.items(store, who, conversation_id)
    return _kept(items, lambda: responses_input_items.paged(items, page, "item of this conversation"))


def _add_items(store: Any, who: str, ctx: RequestContext, conversation_id: str, _: str) -> Reply:
    items = openai_conversations.items_request(ctx.body)
    appended = conversation_store.append(store, who, conversation_id, items)
    return _kept(appended or None, lambda: openai_conversations.added(items))


def _item(store: Any, who: str, ctx: RequestContext, conversation_id: str, _: str, item_id: str) -> Reply:
    items = conversation_store.items(store, who, conversation_id)
    if items is None:
        return _openai_error(ErrorKind.NOT_FOUND, _NOT_KEPT)
    found = next((item for item in items if item.get("id") == item_id), None)
    return Reply(200, found, {}) if found is not None else _openai_error(ErrorKind.NOT_FOUND, _NO_ITEM)


def _delete_item(store: Any, who: str, ctx: RequestContext, conversation_id: str, _: str, item_id: str) -> Reply:
    record, removed = conversation_store.remove_item(store, who, conversation_id, item_id)
    if record is None:
        return _openai_error(ErrorKind.NOT_FOUND, _NOT_KEPT)
    return _kept(record if removed else None, lambda: openai_conversations.conversation_object(record), _NO_ITEM)


def _kept(found: Any, answer: Callable[[], dict[str, Any]], missing: str = _NOT_KEPT) -> Reply:
    return Reply(200, answer(), {}) if found is not None else _openai_error(ErrorKind.NOT_FOUND, missing)


_ROUTES: dict[tuple[str, int, str | None], Callable[..., Reply]] = {
    ("POST", 0, None): _create,
    ("GET", 1, None): _retrieve,
    ("POST", 1, None): _update,
    ("DELETE", 1, None): _delete,
    ("GET", 2, "items"): _list_items,
    ("POST", 2, "items"): _add_items,
    ("GET", 3, "items"): _item,
    ("DELETE", 3, "items"): _delete_item,
}
"""(method, path segments after /v1/conversations, the second segment) -> the call it is."""
