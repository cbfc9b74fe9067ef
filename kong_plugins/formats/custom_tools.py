"""OpenAI custom tools (free-form text input, `type: custom`) on Bedrock, whose tools all take a JSON object.

A custom tool becomes a Bedrock tool with one string property, `input`, and the model's call
is given back to the client as that string: a `custom` tool call in Chat Completions, a
`custom_tool_call` item in Responses. Bedrock cannot hold a model to a Lark or regex
grammar, so a tool's grammar goes into the description of its `input`, where the model reads
it; the client checks what comes back, as it must for any model's tool input.
"""

from __future__ import annotations

import json
import re
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

    The client gets the text as the model writes it rather than all at the end. A model
    that complies writes `{"input": "...`: from the string's opening quote on, each piece
    is decoded on its own (an escape or surrogate pair cut at its end waits for the next),
    so a call's cost grows with its length, not with length times pieces (re-parsing all
    of it on each piece took 1.9 s of the event loop for 300 KB in 6,000 pieces). Any
    other JSON is re-parsed whole on each piece (jiter reads an unfinished string).
    """

    def __init__(self) -> None:
        self._raw: list[str] = []      # the JSON so far
        self._parts: list[str] = []    # the text so far
        self._pending = ""             # JSON not yet decoded: the opening, or a cut escape
        self._mode = _OPENING

    @property
    def text(self) -> str:
        """The text given out so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def feed(self, partial_json: str) -> str:
        """The text this piece of JSON adds ("" while the string has not started or an escape is cut)."""
        self._raw.append(partial_json)
        if self._mode is _IN_STRING:
            return self._decode(self._pending + partial_json)
        if self._mode is _OPENING:
            self._pending += partial_json
            opening = _OPENING_JSON.match(self._pending)
            if opening is not None:
                self._mode = _IN_STRING
                return self._decode(self._pending[opening.end():])
            if _OPENING_COMPACT.startswith(_WHITESPACE.sub("", self._pending)):
                return ""
            self._mode = _REPARSE
        return self._reparse() if self._mode is _REPARSE else ""

    def finish(self) -> str:
        """The text the whole input adds to what was streamed (all of it, when the model's JSON did not comply)."""
        raw = "".join(self._raw)
        try:
            whole = call_input(json.loads(raw or "{}"))
        except ValueError:
            whole = raw
        if not whole.startswith(self.text):
            self._parts = [whole]
            return ""
        return self._extend(whole[len(self.text):])

    def _decode(self, raw: str) -> str:
        """Decode what `raw` holds of the string; keep a cut escape for the next piece."""
        if "\\" not in raw and '"' not in raw:
            self._pending = ""
            return self._extend(raw)   # plain characters, most pieces of code
        run = _STRING_RUN.match(raw).group()
        rest = raw[len(run):]
        if rest and not _CUT_ESCAPE.fullmatch(rest):
            self._mode = _CLOSED   # the closing quote, or JSON that is not: finish() settles the rest
        else:
            cut = _CUT_SURROGATE.search(run)
            if cut is not None:
                run, rest = run[:cut.start(1)], run[cut.start(1):] + rest
            self._pending = rest
        return self._extend(json.loads(f'"{run}"', strict=False)) if run else ""

    def _reparse(self) -> str:
        try:
            value = jiter.from_json("".join(self._raw).encode(), partial_mode="trailing-strings")
        except ValueError:
            return ""
        text = value.get(INPUT) if isinstance(value, dict) else None
        if not isinstance(text, str) or not text.startswith(self.text):
            return ""
        return self._extend(text[len(self.text):])

    def _extend(self, piece: str) -> str:
        if piece:
            self._parts.append(piece)
        return piece


_OPENING, _IN_STRING, _REPARSE, _CLOSED = "opening", "in string", "reparse", "closed"
_OPENING_JSON = re.compile(r'\s*\{\s*"input"\s*:\s*"')
_OPENING_COMPACT = '{"input":"'
_WHITESPACE = re.compile(r"\s+")
_STRING_RUN = re.compile(r'(?:[^"\\]+|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
"""The longest run of whole characters and escapes of a JSON string."""
_CUT_ESCAPE = re.compile(r'\\(?:u[0-9a-fA-F]{0,3})?')
"""An escape cut short by the end of a piece."""
_CUT_SURROGATE = re.compile(r'(?:^|[^\\])(?:\\\\)*(\\u[dD][89abAB][0-9a-fA-F]{2})$')
"""A high surrogate's escape at the end of a piece: its low half may come next."""
