"""Responses settings that change nothing on Bedrock, checked as OpenAI checks them.

`truncation` and `include` ask OpenAI for things the gateway does not do (drop the oldest input items, add
search results or log probabilities to the output), so they are only repeated in the Response. A value OpenAI
answers with a 400 is a 400 here too: a client with such a bug should hear about it before it reaches OpenAI
itself, rather than be told its setting was taken. Errors name the setting and never repeat its value.
"""

from __future__ import annotations

from typing import Any

from kong_plugins.formats.body import RequestError

TRUNCATIONS = ("auto", "disabled")


def check(data: dict[str, Any]) -> None:
    """RequestError naming the first of these settings OpenAI would refuse.

    `include` values are checked as strings, not against OpenAI's list (the SDK's ResponseIncludable):
    OpenAI adds to that list, and a client updated before the gateway would be refused a call OpenAI takes,
    for output the gateway does not add anyway (reasoning items always carry encrypted_content)."""
    if data.get("truncation") is not None and data["truncation"] not in TRUNCATIONS:
        raise RequestError("truncation: must be auto or disabled.", "truncation")
    include = data.get("include")
    if include is None:
        return
    if not isinstance(include, list):
        raise RequestError("include: must be a list.", "include")
    for index, value in enumerate(include):
        if not isinstance(value, str):
            raise RequestError(f"include.{index}: must be a string.", f"include.{index}")
