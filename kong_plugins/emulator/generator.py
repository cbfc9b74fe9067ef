"""Deterministic reply generation: same prompt, same reply; one token per word.

The reply echoes the start of the last user turn (so tests can see what reached the model),
then filler words drawn from a fixed list with an RNG seeded by the prompt hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import string
from dataclasses import dataclass, field
from typing import Any

from .cache import InputUsage
from .prompt import LastUserTurn, Prompt, ToolSpec, first_words

FILLER_WORDS = (
    "the", "model", "answers", "with", "clear", "and", "useful", "words", "about", "your",
    "request", "while", "keeping", "things", "short", "simple", "precise", "today", "every",
    "detail", "matters", "here", "we", "note", "that", "results", "look", "good", "for", "this",
    "case", "so", "please", "review", "them", "carefully", "before", "moving", "on", "next",
    "step", "is", "to", "check", "data", "again", "then", "continue", "as", "planned",
)
THINKING_WORDS = ("Considering", "the", "request", "and", "planning", "a", "brief", "answer.")
_BASE62 = string.digits + string.ascii_letters


@dataclass
class ReplyBlock:
    """One output content block; ``pieces`` are its stream deltas in order."""

    kind: str  # "thinking" | "text" | "tool_use"
    pieces: list[str] = field(default_factory=list)
    tokens: int = 0
    signature: str = ""
    tool_suffix: str = ""
    tool_name: str = ""
    tool_input: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def input_json(self) -> str:
        return json.dumps(self.tool_input, separators=(",", ":"))


@dataclass
class Reply:
    blocks: list[ReplyBlock]
    stop_reason: str  # end_turn | max_tokens | stop_sequence | tool_use
    stop_sequence: str | None
    usage: InputUsage

    @property
    def output_tokens(self) -> int:
        return sum(b.tokens for b in self.blocks)

    def anthropic_tool_id(self, block: ReplyBlock) -> str:
        return f"toolu_bdrk_{block.tool_suffix}"

    def converse_tool_id(self, block: ReplyBlock) -> str:
        return f"tooluse_{block.tool_suffix[:22]}"


def base62(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_BASE62) for _ in range(length))


def placeholder(schema: Any, depth: int = 0, root: Any = None) -> Any:
    """A type-appropriate value for a JSON schema; objects get every required property.

    Local references (`#/$defs/Name`, what Pydantic writes for nested models) are followed.
    """
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 8:
        return "example"
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return placeholder(target, depth + 1, root)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for union in ("anyOf", "oneOf", "allOf"):
        options = schema.get(union)
        if isinstance(options, list) and options:
            return placeholder(options[0], depth + 1, root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        return {name: placeholder(props.get(name, {}), depth + 1, root) for name in required}
    return {"array": [], "string": "example", "integer": 1, "number": 1, "boolean": True,
            "null": None}.get(kind, "example")


def _pick_tools(prompt: Prompt) -> list[ToolSpec]:
    """The tools the reply calls: each one the last user turn names ("call get_time"), in the order named (Claude's
    parallel tool use; the first only when it is disabled), else the forced or first tool on "use tool"."""
    if not prompt.tools or prompt.tool_choice == "none" or prompt.last_user.tool_results:
        return []
    by_name = {t.name: t for t in prompt.tools}
    if prompt.tool_choice == "tool" and prompt.tool_choice_name in by_name:
        return [by_name[prompt.tool_choice_name]]
    text = prompt.last_user.text.lower()
    named = sorted((found.start(), tool.name) for tool in prompt.tools
                   if (found := re.search(rf"\bcall {re.escape(tool.name.lower())}\b", text)))
    if named:
        return [by_name[name] for _, name in named][:None if prompt.parallel_tools else 1]
    if prompt.tool_choice == "any" or "use tool" in text:
        return [prompt.tools[0]]
    return []


def _subject(turn: LastUserTurn) -> list[str]:
    if turn.tool_results:
        return ["tool", "result"] + first_words(" ".join(turn.tool_results))
    words = first_words(turn.text)
    media = " and ".join(kind for count, kind in ((turn.images, "an image"), (turn.documents, "a document"))
                         if count).split()
    if media:
        return media + (["and"] + words if words else [])
    return words or ["your", "message"]


def _emit_words(words: list[str], budget: int, stops: list[str]) -> tuple[list[str], str | None, str | None]:
    """Word pieces until the budget or a stop sequence ends them; returns (pieces, stop, seq)."""
    pieces: list[str] = []
    text = ""
    for index, word in enumerate(words):
        if len(pieces) >= budget:
            return pieces, "max_tokens", None
        piece = word if index == 0 else " " + word
        candidate = text + piece
        hits = [(candidate.find(s), s) for s in stops if s and s in candidate]
        if hits:
            at, sequence = min(hits)
            if candidate[len(text):at]:
                pieces.append(candidate[len(text):at])
            return pieces, "stop_sequence", sequence
        pieces.append(piece)
        text = candidate
    return pieces, None, None


def _split_pieces(text: str, parts: int = 3) -> list[str]:
    size = max(1, math.ceil(len(text) / parts))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _signature(seed: bytes, text: str) -> str:
    digest = hashlib.sha256(seed + text.encode("utf-8")).digest()
    return base64.b64encode(digest + hashlib.sha256(digest).digest()).decode("ascii")


def generate(prompt: Prompt, output_words: int, usage: InputUsage) -> Reply:
    """Build the full reply up front; formatters and streams only re-shape it."""
    seed = prompt.fingerprint()
    rng = random.Random(seed)
    budget = prompt.max_tokens
    blocks: list[ReplyBlock] = []

    def finish(stop: str, sequence: str | None = None) -> Reply:
        return Reply(blocks, stop, sequence, usage)

    if prompt.thinking:
        pieces, stop, _ = _emit_words(list(THINKING_WORDS), budget, [])
        text = "".join(pieces)
        blocks.append(ReplyBlock("thinking", pieces, len(pieces), signature=_signature(seed, text)))
        budget -= len(pieces)
        if stop:
            return finish(stop)

    tools = _pick_tools(prompt)
    if not tools and prompt.output_schema is not None:
        return _structured_text(prompt.output_schema, budget, blocks, usage)
    if tools and prompt.tool_choice in ("any", "tool"):
        words = []   # a forced tool call starts at once (Anthropic prefills the turn): no preamble
    elif tools:
        words = ["I'll", "use", "the", " and ".join(tool.name for tool in tools), "tool."]
    else:
        lead = ["Emulated", "reply", "to:"] + _subject(prompt.last_user)
        filler = [rng.choice(FILLER_WORDS) for _ in range(max(0, output_words - len(lead)))]
        words = (lead + filler)[:output_words]
    suffixes = [base62(rng, 24) for _ in tools or [None]]
    pieces, stop, sequence = _emit_words(words, budget, prompt.stop_sequences)
    if words:
        blocks.append(ReplyBlock("text", pieces, len(pieces)))
    budget -= len(pieces)
    if stop:
        return finish(stop, sequence)
    if not tools:
        return finish("end_turn")
    for tool, suffix in zip(tools, suffixes):
        block = _tool_block(tool, suffix)
        if block.tokens > budget:
            return finish("max_tokens")
        budget -= block.tokens
        blocks.append(block)
    return finish("tool_use")


def _tool_block(tool: ToolSpec, suffix: str) -> ReplyBlock:
    """A call to `tool` with placeholder input for its schema, streamed in three pieces."""
    block = ReplyBlock("tool_use", tool_suffix=suffix, tool_name=tool.name,
                       tool_input=placeholder(tool.input_schema) or {})
    if not isinstance(block.tool_input, dict):
        block.tool_input = {}
    block.tokens = max(1, math.ceil(len(block.input_json) / 4))
    block.pieces = _split_pieces(block.input_json)
    return block


def _structured_text(schema: dict[str, Any], budget: int, blocks: list[ReplyBlock], usage: InputUsage) -> Reply:
    """The reply text of a structured output: JSON built from the schema, cut short at max_tokens."""
    text = json.dumps(placeholder(schema), separators=(",", ":"))
    tokens = max(1, math.ceil(len(text) / 4))
    stop = "end_turn" if tokens <= budget else "max_tokens"
    if stop == "max_tokens":
        text, tokens = text[:budget * 4], budget
    blocks.append(ReplyBlock("text", _split_pieces(text), tokens))
    return Reply(blocks, stop, None, usage)
