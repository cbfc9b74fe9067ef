"""OpenAI Chat Completions streams: Anthropic stream events (the gateway's internal model) rendered as
`chat.completion.chunk` SSE lines, as the unstreamed answer is rendered by openai_chat.completion_from_message.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

from kong_plugins.context import Usage
from kong_plugins.formats import custom_tools, reasoning
from kong_plugins.formats.openai_chat import finish_reason, openai_usage
from kong_plugins.formats.tool_kinds import FUNCTIONS_ONLY, ToolKind, ToolKinds


class ChunkRenderer:
    """Anthropic stream events → OpenAI `chat.completion.chunk` SSE lines."""

    def __init__(self, *, model: str, completion_id: str, include_usage: bool,
                 tools: ToolKinds = FUNCTIONS_ONLY, choice: int | None = None, created: int | None = None) -> None:
        """`choice`: this stream is that choice of a completion with several (OpenAI's `n`), whose chunks it
        carries under that index; the usage chunk and [DONE] are then the merged stream's (`stream_end`)."""
        self.model = model
        self.completion_id = completion_id
        self.include_usage = include_usage
        self.tools = tools
        self.choice = choice
        self.created = created or int(time.time())
        self._tool_index: dict[int, int] = {}
        self._answer_blocks: set[int] = set()
        self._unargued: set[int] = set()   # open function calls (and JSON mode's answer) no input has come for
        self._custom_inputs: dict[int, custom_tools.InputStream] = {}   # open custom tool calls, by block
        self._thinking: dict[int, dict[str, Any]] = {}   # open thinking blocks, sent whole when they stop
        self._thoughts = 0        # thinking blocks sent
        self._texted = False      # `content` went out: the message has text ("" at the least), as unstreamed
        self.service_tier: str | None = None

    def render(self, event: dict[str, Any], usage: Usage, service_tier: str | None = None) -> Iterator[bytes]:
        self.service_tier = service_tier   # the tier as the relay knows it now: the chunks made from `event` say it
        kind = event.get("type")
        if kind == "message_start":   # Bedrock's first frame that says something: the 200 goes with it
            yield self._chunk({"role": "assistant"})   # no content yet: text says "" as it opens (_text)
        elif kind == "content_block_start" and (event.get("content_block") or {}).get("type") in (
                "thinking", "redacted_thinking"):
            self._thinking[event.get("index", 0)] = dict(event["content_block"])
        elif kind == "content_block_stop" and event.get("index", 0) in self._thinking:
            yield self._chunk({"thinking_blocks": [self._numbered(self._thinking.pop(event.get("index", 0)))]})
        elif kind == "content_block_start" and (event.get("content_block") or {}).get("type") == "tool_use":
            yield from self._start_call(event.get("index", 0), event["content_block"])
        elif kind == "content_block_start" and (event.get("content_block") or {}).get("type") == "text":
            yield from self._text("")
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                yield from self._text(delta.get("text", ""))
            elif delta.get("type") == "thinking_delta":
                self._add_to_thinking(event.get("index", 0), "thinking", delta.get("thinking", ""))
                yield self._chunk({"reasoning_content": delta.get("thinking", "")})
            elif delta.get("type") == "signature_delta":
                self._add_to_thinking(event.get("index", 0), "signature", delta.get("signature", ""))
            elif delta.get("type") == "input_json_delta" and delta.get("partial_json"):
                self._unargued.discard(event.get("index", 0))
                if event.get("index", 0) in self._answer_blocks:
                    yield from self._text(delta["partial_json"])
                else:
                    yield from self._call_input(event.get("index", 0), delta["partial_json"])
        elif kind == "content_block_stop" and event.get("index", 0) in self._custom_inputs:
            block_index = event.get("index", 0)
            yield from self._custom_piece(block_index, self._custom_inputs.pop(block_index).finish())
        elif kind == "content_block_stop" and event.get("index", 0) in self._unargued:
            yield from self._empty_input(event.get("index", 0))
        elif kind == "message_delta":
            if not self._tool_index:   # no call, no text: "" (a thought, or nothing), as unstreamed
                yield from self._text("")
            reason = (event.get("delta") or {}).get("stop_reason")
            yield self._chunk({}, finish_reason=finish_reason(reason, bool(self._tool_index)))
        elif kind == "message_stop" and self.choice is None:
            yield from stream_end(self._head(), usage if self.include_usage else None)

    def _start_call(self, block_index: int, block: dict[str, Any]) -> Iterator[bytes]:
        kind = self.tools.of(block)
        if kind is not ToolKind.CUSTOM:
            self._unargued.add(block_index)
        if kind is ToolKind.ANSWER:
            self._answer_blocks.add(block_index)
            yield from self._text("")
            return
        index = self._tool_index.setdefault(block_index, len(self._tool_index))
        if kind is ToolKind.CUSTOM:
            self._custom_inputs[block_index] = custom_tools.InputStream()
            call = {"type": "custom", "custom": {"name": block.get("name"), "input": ""}}
        else:
            call = {"type": "function", "function": {"name": block.get("name"), "arguments": ""}}
        yield self._chunk({"tool_calls": [{"index": index, "id": block.get("id"), **call}]})

    def _empty_input(self, block_index: int) -> Iterator[bytes]:
        """A call without arguments streams no input (Bedrock sends no piece, or an empty one): its arguments are
        `{}`, as the same answer unstreamed says; "" breaks every client that parses them."""
        self._unargued.discard(block_index)
        if block_index in self._answer_blocks:
            yield from self._text("{}")
        else:
            yield from self._call_input(block_index, "{}")

    def _call_input(self, block_index: int, partial_json: str) -> Iterator[bytes]:
        custom = self._custom_inputs.get(block_index)
        if custom is not None:
            yield from self._custom_piece(block_index, custom.feed(partial_json))
            return
        index = self._tool_index.get(block_index, 0)
        yield self._chunk({"tool_calls": [{"index": index, "function": {"arguments": partial_json}}]})

    def _custom_piece(self, block_index: int, piece: str) -> Iterator[bytes]:
        """A custom call's input streams as `custom.input` pieces (the shape OpenAI streams; its spec has none)."""
        if piece:
            yield self._chunk({"tool_calls": [{"index": self._tool_index.get(block_index, 0), "type": "custom",
                                               "custom": {"input": piece}}]})

    def _text(self, piece: str) -> Iterator[bytes]:
        """A piece of `content`; the first, even "", says the message has text (OpenAI's text answers open with
        `content: ""`, its tool-only ones keep `content: null`, and so does the unstreamed answer). The opening
        chunk, sent at message_start (the relay's 200 and keep-alives go from it), says the role alone."""
        if piece or not self._texted:
            self._texted = True
            yield self._chunk({"content": piece})

    def _numbered(self, block: dict[str, Any]) -> dict[str, Any]:
        """A thinking block as `thinking_blocks` carries it. Those after the first say their place: the OpenAI SDK's
        accumulator merges a list delta into the list so far by its entries' `index`, and raises on one without."""
        [returned] = reasoning.returned_blocks([block])
        self._thoughts += 1
        return returned if self._thoughts == 1 else {"index": self._thoughts - 1, **returned}

    def _add_to_thinking(self, index: int, field: str, piece: str) -> None:
        block = self._thinking.get(index)
        if block is not None:
            block[field] = block.get(field, "") + piece

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk = {**self._head(), "choices": [{"index": self.choice or 0, "delta": delta, "logprobs": None,
                                              "finish_reason": finish_reason}]}
        if self.include_usage:
            chunk["usage"] = None
        return _sse(chunk)

    def _head(self) -> dict[str, Any]:
        return chunk_head(self.completion_id, self.created, self.model, self.service_tier)


def chunk_head(completion_id: str, created: int, model: str, service_tier: str | None) -> dict[str, Any]:
    """What every chunk of a completion says before its choices; OpenAI's chunks all name the tier serving it
    (the OpenAI SDK's stream accumulator keeps the first chunk's)."""
    head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
    return head if service_tier is None else {**head, "service_tier": service_tier}


def stream_end(head: dict[str, Any], usage: Usage | None) -> tuple[bytes, ...]:
    """A completion stream's last events: the usage chunk (`usage`: the client asked for it), then [DONE]."""
    done = b"data: [DONE]\n\n"
    return (done,) if usage is None else (_sse({**head, "choices": [], "usage": openai_usage(usage)}), done)


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
