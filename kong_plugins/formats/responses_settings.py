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
INCLUDABLE = ("file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
              "message.input_image.image_url", "computer_call_output.output.image_url",
              "code_interpreter_call.outputs", "reasoning.encrypted_content", "message.output_text.logprobs")
"""OpenAI's `include` values (the SDK's ResponseIncludable). Codex sends reasoning.encrypted_content, which the
gateway's reasoning items always carry."""


def check(data: dict[str, Any]) -> None:
    """RequestError naming the first of these settings OpenAI would refuse."""
    if data.get("truncation") is not None and data["truncation"] not in TRUNCATIONS:
        raise RequestError("truncation: must be auto or disabled.", "truncation")
    include = data.get("include")
    if include is None:
        return
    if not isinstance(include, list):
        raise RequestError("include: must be a list.", "include")
    for index, value in enumerate(include):
        if value not in INCLUDABLE:
            raise RequestError(f"include.{index}: must be one of {', '.join(INCLUDABLE)}.", f"include.{index}")
