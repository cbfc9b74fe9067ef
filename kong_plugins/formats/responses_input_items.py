"""OpenAI's `GET /v1/responses/{id}/input_items` (the SDKs' `responses.input_items.list`): a kept turn's
input items, as OpenAI lists them, a page at a time.

The gateway keeps a call's input as the client sent it (a bare string already made a user message, item
references resolved). OpenAI lists each input item in its full shape, with an id: a message has `type`,
`status` and content parts (`input_text` for what a user, system or developer said, `output_text` for an
assistant's turn sent back). Items the client sent without an id get one derived from the response id and
their place, so the same item has the same id on every page and every pod, and `after` can name it.
Paging is OpenAI's: `order` `desc` (the default: the last item first) or `asc`, `limit` 1 to 100 (20),
`after` an item id of the list; the page says `first_id`, `last_id` and `has_more`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from kong_plugins.formats.body import RequestError, query_limit

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
_ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs",
                "custom_tool_call": "ctc", "custom_tool_call_output": "ctco"}


@dataclass(frozen=True)
class Page:
    """Which page of a list the client asked for."""

    order: str = "desc"
    limit: int = DEFAULT_LIMIT
    after: str | None = None


def page_of(query: str | None) -> Page:
    """The page a query string asks for; RequestError names the parameter at fault (`include` is ignored: the
    items are listed whole)."""
    params = {key: values[-1] for key, values in parse_qs(query or "").items()}
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise RequestError("order: must be asc or desc.", "order")
    return Page(order, query_limit(params.get("limit"), DEFAULT_LIMIT, MAX_LIMIT), params.get("after") or None)


def listed(response_id: str, items: list[dict[str, Any]], page: Page) -> dict[str, Any]:
    """OpenAI's list object for one page of a response's input items; RequestError when `after` is not one
    of them."""
    shown = [shaped(item, _derived(response_id, index)) for index, item in enumerate(items)]
    return paged(shown, page, "input item of this response")


def paged(shown: list[dict[str, Any]], page: Page, what: str) -> dict[str, Any]:
    """One page of items (oldest first, each with an id), as OpenAI lists them; RequestError when `after` is not
    the id of one of them, a `what`."""
    if page.order == "desc":
        shown = shown[::-1]
    start = 0
    if page.after is not None:
        position = next((i for i, item in enumerate(shown) if item["id"] == page.after), None)
        if position is None:
            raise RequestError(f"after: no {what} has this id.", "after")
        start = position + 1
    data = shown[start:start + page.limit]
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": start + page.limit < len(shown)}


def shaped(item: dict[str, Any], suffix: str) -> dict[str, Any]:
    """An input item in OpenAI's full shape; one sent without an id gets `<type's prefix>_<suffix>`."""
    kind = item.get("type") or ("message" if "role" in item else "item")
    out = {**item, "type": kind}
    if kind == "message":
        out["content"] = _parts(item.get("content"), item.get("role"))
        out.setdefault("status", "completed")
    if not isinstance(out.get("id"), str) or not out["id"]:
        out["id"] = f"{_ID_PREFIXES.get(kind, 'item')}_{suffix}"
    return out


def _derived(response_id: str, index: int) -> str:
    return hashlib.sha256(f"{response_id}:{index}".encode()).hexdigest()[:40]


def _parts(content: Any, role: Any) -> Any:
    """A message's content as parts: a bare string becomes the one text part OpenAI lists it as."""
    if isinstance(content, str):
        return [{"type": "output_text" if role == "assistant" else "input_text", "text": content,
                 **({"annotations": []} if role == "assistant" else {})}]
    return content
