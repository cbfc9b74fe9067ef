"""bedrock-proxy's calls on a kept Response: OpenAI's `GET /v1/responses/{id}` (the SDKs'
`responses.retrieve`), `DELETE /v1/responses/{id}` (`responses.delete`) and
`GET /v1/responses/{id}/input_items` (`responses.input_items.list`, with `keep_inputs` only).

They read what relay.item_store keeps of the caller's own responses (`openai_response_store`):
a response made with `store: false`, by another key, expired or deleted is OpenAI's 404.
`POST /v1/responses/{id}/cancel` (`responses.cancel`) cancels a background response
(relay.background); a streamed retrieve (which replays a background response's events) is a 400
saying the gateway does not. Mixed into `bedrock_proxy.Plugin`.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, unquote

from kong_plugins.context import RequestContext
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats import responses_input_items
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.errors import ErrorKind, Reply, render_error
from kong_plugins.relay import background, item_store

RESPONSE_OBJECT_PATH = "/v1/responses/"
_NOT_KEPT = ("No response with this id is kept for your API key: it was made with store: false, by another key, "
             "or has expired or been deleted.")
_NO_INPUT = ("No input items are kept for this response id and your API key: the gateway keeps a call's input "
             "only when openai_response_store has keep_inputs on, only for calls with store: true, and only until "
             "they expire or are deleted.")
INPUT_ITEMS = "/input_items"
CANCEL = "/cancel"
_UNREACHABLE = "The gateway's response store is unreachable, so the response was not {}; retry."


def owner(ctx: RequestContext) -> str:
    """Whose kept Responses a request may use: its consumer's."""
    return ctx.consumer.id if ctx.consumer else ""


class ResponseObjects:
    """`_response_object`: retrieve or delete one of the caller's kept Responses."""

    item_store: Any

    def _response_object(self, ctx: RequestContext, path: str) -> Reply:
        response_id = unquote(path[len(RESPONSE_OBJECT_PATH):])
        if response_id.endswith(INPUT_ITEMS) and ctx.method == "GET":
            return self._input_items(ctx, response_id[:-len(INPUT_ITEMS)])
        if response_id.endswith(CANCEL) and ctx.method == "POST":
            return self._cancel(ctx, response_id[:-len(CANCEL)])
        if "/" in response_id or ctx.method not in ("GET", "DELETE"):
            return render_error(ApiFormat.OPENAI, ErrorKind.NOT_FOUND, "Only retrieving, deleting and cancelling "
                                "a kept response and listing its input items are served.")
        if ctx.method == "DELETE":
            return self._delete_response(ctx, response_id)
        if parse_qs(ctx.query or "").get("stream", [""])[-1].lower() == "true":
            return render_error(ApiFormat.OPENAI, ErrorKind.INVALID_REQUEST, "stream: a kept response is "
                                "retrieved whole; the gateway does not stream background responses back.",
                                param="stream")
        try:
            response = item_store.retrieve(self.item_store, owner(ctx), response_id)
        except item_store.ItemStoreError:
            return render_error(ApiFormat.OPENAI, ErrorKind.UNAVAILABLE, _UNREACHABLE.format("read"))
        if response is None:
            return render_error(ApiFormat.OPENAI, ErrorKind.NOT_FOUND, _NOT_KEPT)
        return Reply(200, background.as_seen(response, time.time()), {})

    def _cancel(self, ctx: RequestContext, response_id: str) -> Reply:
        """Cancel the caller's background response (relay.background.cancel: its Bedrock call runs out)."""
        try:
            outcome = background.cancel(self.item_store, owner(ctx), response_id) if "/" not in response_id else None
        except item_store.ItemStoreError:
            return render_error(ApiFormat.OPENAI, ErrorKind.UNAVAILABLE, _UNREACHABLE.format("cancelled"))
        if outcome is None:
            return render_error(ApiFormat.OPENAI, ErrorKind.NOT_FOUND, _NOT_KEPT)
        if isinstance(outcome, str):
            return render_error(ApiFormat.OPENAI, ErrorKind.INVALID_REQUEST, outcome)
        return Reply(200, outcome, {})

    def _input_items(self, ctx: RequestContext, response_id: str) -> Reply:
        """A page of the input items the caller's kept turn holds (`keep_inputs`), as OpenAI lists them."""
        try:
            page = responses_input_items.page_of(ctx.query)
            items = item_store.input_of(self.item_store, owner(ctx), response_id) if "/" not in response_id else None
            if items is None:
                return render_error(ApiFormat.OPENAI, ErrorKind.NOT_FOUND, _NO_INPUT)
            return Reply(200, responses_input_items.listed(response_id, items, page), {})
        except RequestError as exc:
            return render_error(ApiFormat.OPENAI, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)
        except item_store.ItemStoreError:
            return render_error(ApiFormat.OPENAI, ErrorKind.UNAVAILABLE, _UNREACHABLE.format("read"))

    def _delete_response(self, ctx: RequestContext, response_id: str) -> Reply:
        """Erase the caller's kept response (its output items, and its turn with keep_inputs)."""
        try:
            deleted = item_store.delete(self.item_store, owner(ctx), response_id)
        except item_store.ItemStoreError:
            return render_error(ApiFormat.OPENAI, ErrorKind.UNAVAILABLE, _UNREACHABLE.format("deleted"))
        if not deleted:
            return render_error(ApiFormat.OPENAI, ErrorKind.NOT_FOUND, _NOT_KEPT)
        return Reply(200, {"id": response_id, "object": "response.deleted", "deleted": True}, {})
