"""OpenAI custom tools (free-form text input, `type: custom`) on Bedrock, whose tools all take a JSON object.

A custom tool becomes a Bedrock tool with one string property, `input`, and the model's call
is given back to the client as that string: a `custom` tool call in Chat Completions, a
`custom_tool_call` item in Responses. Bedrock cannot hold a model to a Lark or regex
grammar, so a tool's grammar goes into the description of its `input`, where the model reads
it; the client checks what comes back, as it must for any model's tool input.
"""

from __future__ import annotations

import json
from typing import Any

import jiter

from kong_plugins.formats.body import RequestError

INPUT = "input"
"""The one property of the Bedrock tool a custom tool becomes."""

_SYNTAXES = ("lark", "regex")


def tool_spec(tool: dict[str, Any], where: str) -> dict[str, Any]:
    """The internal (Anthropic) tool for Chat Completions' `{"type": "custom", "custom": {...}}`."""
    custom = tool.get("custom")
    if not isinstance(custom, dict) or not isinstance(custom.get("name"), str) or not custom["name"]:
        raise RequestError(f"{where}: a custom tool needs a name.", where)
    description = custom.get("description")
    if description is not None and not isinstance(description, str):
        raise RequestError(f"{where}: a custom tool's description must be a string.", where)
    hint = "Free-form text, not JSON: the whole input goes in this one string."
    grammar = _grammar(custom.get("format"), where)
    if grammar is not None:
        syntax, definition = grammar
        hint += f" It must follow this {syntax} grammar:\n{definition}"
    out: dict[str, Any] = {"name": custom["name"], "input_schema": {
        "type": "object", "properties": {INPUT: {"type": "string", "description": hint}}, "required": [INPUT]}}
    if description:
        out["description"] = description
    return out


def _grammar(fmt: Any, where: str) -> tuple[str, str] | None:
    """(syntax, definition) of Chat Completions' `format`; None for unconstrained text."""
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "grammar"):
        raise RequestError(f"{where}: a custom tool's format type must be text or grammar.", where)
    if fmt["type"] == "text":
        return None
    grammar = fmt.get("grammar")
    if not isinstance(grammar, dict) or grammar.get("syntax") not in _SYNTAXES \
            or not isinstance(grammar.get("definition"), str):
        raise RequestError(f"{where}: a grammar format needs a syntax (lark or regex) and a definition.", where)
    return grammar["syntax"], grammar["definition"]


def names(tools: Any) -> frozenset[str]:
    """The custom tools' names in a Chat Completions `tools` list."""
    if not isinstance(tools, list):
        return frozenset()
    return frozenset(tool["custom"]["name"] for tool in tools
                     if isinstance(tool, dict) and tool.get("type") == "custom" and isinstance(tool.get("custom"), dict)
                     and isinstance(tool["custom"].get("name"), str))


def tool_input(text: Any, where: str) -> dict[str, Any]:
    """The Bedrock tool input for a custom tool call the client sends back in its history."""
    if not isinstance(text, str):
        raise RequestError(f"{where}: must be a string.", where)
    return {INPUT: text}


def call_input(tool_input: Any) -> str:
    """A custom tool call's text from the Bedrock call's input (JSON as it came when the model did not comply)."""
    if isinstance(tool_input, dict) and isinstance(tool_input.get(INPUT), str):
        return tool_input[INPUT]
    return json.dumps(tool_input if tool_input is not None else {}, ensure_ascii=False)


class InputStream:
    """A custom tool call's text, piece by piece, as Bedrock streams the call's JSON input.

    Each piece of JSON is parsed with what came before (jiter reads an unfinished string), so
    the client gets the text as the model writes it rather than all at the end.
    """

    def __init__(self) -> None:
        self._json = ""
        self.text = ""

    def feed(self, partial_json: str) -> str:
        """The text this piece of JSON adds ("" while the string has not started or an escape is cut)."""
        self._json += partial_json
        try:
            value = jiter.from_json(self._json.encode(), partial_mode="trailing-strings")
        except ValueError:
            return ""
        return self._extend(value.get(INPUT) if isinstance(value, dict) else None)

    def finish(self) -> str:
        """The text the whole input adds to what was streamed (all of it, when the model's JSON did not comply)."""
        try:
            whole = call_input(json.loads(self._json or "{}"))
        except ValueError:
            whole = self._json
        if not whole.startswith(self.text):
            self.text = whole
            return ""
        return self._extend(whole)

    def _extend(self, text: Any) -> str:
        if not isinstance(text, str) or not text.startswith(self.text):
            return ""
        piece, self.text = text[len(self.text):], text
        return piece
