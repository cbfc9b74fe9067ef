"""A Responses request's errors named as the client sent it, not as the Chat Completions request it became.

openai_responses rewrites a Responses request as a Chat Completions one, and openai_chat's checks then name
Chat Completions fields: `max_completion_tokens`, `reasoning_effort`, `response_format`, `messages.4`. An
OpenAI SDK user who sent `max_output_tokens`, `reasoning.effort`, `text.format` and `input.3` should read
those in the 400's `param` and message. Messages map back to the item, `instructions` or
`previous_response_id` each came from (Translated.origins).
"""

from __future__ import annotations

import re
from typing import Sequence

from kong_plugins.formats.body import RequestError

_RENAMED = (("max_completion_tokens", "max_output_tokens"), ("reasoning_effort", "reasoning.effort"),
            ("response_format", "text.format"), ("tool_choice.function.name", "tool_choice.name"),
            ("tool_choice.custom.name", "tool_choice.name"))
_MESSAGE = re.compile(r"messages\.(\d+)(.*)")
_PART_FIELDS = ((".image_url.url", ".image_url"), (".tool_call_id", ".call_id"), (".tool_calls.0.id", ".call_id"),
                (".tool_calls.0.function.", "."), (".tool_calls.0.custom.", "."), (".tool_calls.0", ""))
"""Chat Completions field paths inside a message, as the Responses item has them (in this order: a
`function_call` or `custom_tool_call` item is a message with that one call, its fields the item's own)."""


def in_client_terms(exc: RequestError, origins: Sequence[str], tools_moved: bool = False) -> RequestError:
    """`exc` with its param, and the same path opening its message, in the Responses request's terms
    (`tools_moved`: a hosted tool left out or a namespace's tools spread out, so `tools.N` is not the client's)."""
    message = str(exc)
    head, colon, rest = message.partition(":")
    renamed_head = _client_path(head, origins, tools_moved) if colon and " " not in head else head
    param = _client_path(exc.param, origins, tools_moved) if exc.param else exc.param
    if renamed_head == head and param == exc.param:
        return exc
    return RequestError(renamed_head + colon + rest, param)


def _client_path(path: str, origins: Sequence[str], tools_moved: bool) -> str:
    for chat, responses in _RENAMED:
        if path == chat or path.startswith(chat + "."):
            return responses + path[len(chat):]
    match = _MESSAGE.fullmatch(path)
    if match is None or int(match.group(1)) >= len(origins):
        return "tools" if tools_moved and path.startswith("tools.") else path
    inner = match.group(2)
    for chat, responses in _PART_FIELDS:
        inner = inner.replace(chat, responses)
    origin = origins[int(match.group(1))]
    return origin if origin in ("instructions", "previous_response_id") else origin + inner
