"""The internal (Anthropic-shaped) reply as an OpenAI Responses object, whole or as `response.*` events.

Output items follow the reply's content blocks: thinking becomes a `reasoning` item (its text
as the summary), text a `message` item with one `output_text` part, a tool call a
`function_call` item, or a `custom_tool_call` for a custom tool (custom_tools.py); JSON mode's
answer tool (response_format.py) is a message. The event
sequence is the one OpenAI streams (created, in_progress, then per item added / deltas / done,
then completed, or incomplete at max_output_tokens, or failed when Bedrock's stream broke), which
the OpenAI SDK's stream state checks.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Callable, Iterator, Mapping

from kong_plugins.context import Usage
from kong_plugins.formats import custom_tools, reasoning
from kong_plugins.formats.errors import ErrorKind
from kong_plugins.formats.tool_kinds import FUNCTIONS_ONLY, ToolKind, ToolKinds

_FAILURE_CODES = {ErrorKind.RATE_LIMITED: "rate_limit_exceeded", ErrorKind.BUDGET_EXCEEDED: "rate_limit_exceeded",
                  ErrorKind.INVALID_REQUEST: "invalid_prompt"}
"""ResponseError codes OpenAI clients act on (Codex retries rate_limit_exceeded); the rest are server_error."""


def response_usage(usage: Usage) -> dict[str, Any]:
    """Like Chat Completions, input_tokens includes the tokens read from and written to the cache (Bedrock's input
    does not), and the details say how many of each: a write is billed at 1.25x the input price."""
    return {"input_tokens": usage.prompt,
            "input_tokens_details": {"cached_tokens": usage.cache_read, "cache_write_tokens": usage.cache_write},
            "output_tokens": usage.output, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.total}


_INCOMPLETE = {"max_tokens": "max_output_tokens", "model_context_window_exceeded": "max_output_tokens",
               "refusal": "content_filter"}
"""Stop reasons that leave a Response incomplete, and OpenAI's reason (a Bedrock guardrail's block is a refusal)."""


def response_object(response_id: str, model: str, created: int, output: list[dict[str, Any]],
                    stop_reason: Any, usage: Usage | None, error: dict[str, str] | None = None,
                    echo: Mapping[str, Any] | None = None, service_tier: str | None = None) -> dict[str, Any]:
    """A Response; `usage` None while it is still in progress; `error` when it failed; `echo` the request's
    settings it repeats (openai_responses.ECHOED), over the defaults; `service_tier` the tier serving it."""
    done = usage is not None
    incomplete = _INCOMPLETE.get(stop_reason)
    status = "failed" if error else ("incomplete" if incomplete else "completed") if done else "in_progress"
    return {"id": response_id, "object": "response", "created_at": created, "status": status,
            "error": error, "incomplete_details": {"reason": incomplete} if done and incomplete else None,
            "instructions": None, "model": model, "output": output, "parallel_tool_calls": True,
            "tool_choice": "auto", "tools": [], "text": {"format": {"type": "text"}},
            "usage": response_usage(usage) if done else None, "metadata": {}, **(echo or {}),
            **({"service_tier": service_tier} if service_tier is not None else {})}


def response_from_message(message: dict[str, Any], usage: Usage, *, model: str, response_id: str,
                          tools: ToolKinds = FUNCTIONS_ONLY, echo: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A non-streamed Response for the internal model's whole message."""
    output = []
    for block in message.get("content") or []:
        item = _Item.open(block, tools)
        if item is not None:
            item.append(_block_text(block, item.kind))
            output.append(item.done())
    return response_object(response_id, model, int(time.time()), output, message.get("stop_reason"), usage,
                           echo=echo)


def _block_text(block: dict[str, Any], kind: str) -> str:
    if kind == "custom_tool_call":
        return custom_tools.call_input(block.get("input"))
    if block.get("type") == "tool_use":
        return json.dumps(block.get("input") or {}, ensure_ascii=False)
    return str(block.get("thinking" if kind == "reasoning" else "text", ""))


class _Item:
    """One output item being built from one content block."""

    def __init__(self, kind: str, thinking: dict[str, Any] | None = None, json_input: bool = False,
                 **fields: Any) -> None:
        self.kind = kind              # message | reasoning | function_call | custom_tool_call
        self.id = _ID_PREFIXES[kind] + secrets.token_hex(12)
        self.fields = fields
        self.json_input = json_input  # its text is a call's JSON input (a function's, JSON mode's answer)
        self.text = ""
        self.thinking = thinking      # reasoning: the block itself, returned in encrypted_content
        self.custom_input = custom_tools.InputStream() if kind == "custom_tool_call" else None

    @classmethod
    def open(cls, block: dict[str, Any], tools: ToolKinds) -> _Item | None:
        kind = block.get("type")
        call = tools.of(block)
        if kind == "text" or call is ToolKind.ANSWER:
            return cls("message", json_input=call is ToolKind.ANSWER)
        if kind in ("thinking", "redacted_thinking"):
            return cls("reasoning", thinking={**block, "thinking": ""} if kind == "thinking" else dict(block))
        if call is not None:
            namespace, name = tools.client_name(block.get("name"))
            where = {"namespace": namespace} if namespace is not None else {}
            return cls("custom_tool_call" if call is ToolKind.CUSTOM else "function_call", call_id=block.get("id"),
                       name=name, json_input=call is ToolKind.FUNCTION, **where)
        return None

    def append(self, delta: str) -> None:
        self.text += delta
        if self.thinking is not None and self.thinking["type"] == "thinking":
            self.thinking["thinking"] += delta

    @property
    def summarised(self) -> bool:
        """A reasoning item with a text summary (a redacted block has none)."""
        return self.thinking is not None and self.thinking["type"] == "thinking"

    def sign(self, signature: str) -> None:
        if self.thinking is not None:
            self.thinking["signature"] = self.thinking.get("signature", "") + signature

    def started(self) -> dict[str, Any]:
        return self._shape("in_progress", "")

    def done(self) -> dict[str, Any]:
        return self._shape("completed", self.text)

    def _shape(self, status: str, text: str) -> dict[str, Any]:
        if self.kind == "message":
            content = [_text_part(text)] if status == "completed" else []
            return {"id": self.id, "type": "message", "status": status, "role": "assistant", "content": content}
        if self.kind == "reasoning":
            if status != "completed":
                return {"id": self.id, "type": "reasoning", "summary": []}
            summary = [{"type": "summary_text", "text": text}] if text else []
            return {"id": self.id, "type": "reasoning", "summary": summary,
                    "encrypted_content": reasoning.encode_blocks([self.thinking or {}])}
        if self.kind == "custom_tool_call":
            return {"id": self.id, "type": "custom_tool_call", "status": status, "input": text, **self.fields}
        return {"id": self.id, "type": "function_call", "status": status, "arguments": text, **self.fields}


_ID_PREFIXES = {"message": "msg_", "reasoning": "rs_", "function_call": "fc_", "custom_tool_call": "ctc_"}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


class EventRenderer:
    """Internal stream events → Responses SSE events."""

    def __init__(self, *, model: str, response_id: str, tools: ToolKinds = FUNCTIONS_ONLY,
                 echo: Mapping[str, Any] | None = None, on_final: Callable[[dict[str, Any]], None] | None = None
                 ) -> None:
        self.model = model
        self.response_id = response_id
        self.tools = tools
        self.echo = echo
        self.on_final = on_final   # given the finished Response before its last event goes out
        self.created = int(time.time())
        self._sequence = 0   # the next event's sequence_number: OpenAI numbers a stream's events from 0
        self._tier: str | None = None   # the tier serving the call, as the relay knows it now
        self._open: dict[int, tuple[int, _Item]] = {}     # content block index -> (output index, item)
        self._output: list[dict[str, Any]] = []
        self._stop_reason: Any = None

    def render(self, event: dict[str, Any], usage: Usage, service_tier: str | None = None) -> Iterator[bytes]:
        self._tier = service_tier
        kind = event.get("type")
        block_index = event.get("index", 0)
        if kind == "message_start":
            shell = response_object(self.response_id, self.model, self.created, [], None, None, echo=self.echo,
                                    service_tier=self._tier)
            yield self._event("response.created", response=shell)
            yield self._event("response.in_progress", response=shell)
        elif kind == "content_block_start":
            item = _Item.open(event.get("content_block") or {}, self.tools)
            if item is not None:
                yield from self._start(block_index, item)
        elif kind == "content_block_delta" and block_index in self._open:
            yield from self._delta(*self._open[block_index], event.get("delta") or {})
        elif kind == "content_block_stop" and block_index in self._open:
            yield from self._finish(*self._open.pop(block_index))
        elif kind == "message_delta":
            self._stop_reason = (event.get("delta") or {}).get("stop_reason")
        elif kind == "message_stop":
            final = self._response(usage)
            if self.on_final is not None:
                self.on_final(final)
            yield self._event("response.incomplete" if final["status"] == "incomplete" else "response.completed",
                              response=final)

    def _response(self, usage: Usage) -> dict[str, Any]:
        """The Response as the stream's last event carries it."""
        return response_object(self.response_id, self.model, self.created, self._output, self._stop_reason, usage,
                               echo=self.echo, service_tier=self._tier)

    def failed(self, kind: ErrorKind, message: str, usage: Usage | None, service_tier: str | None = None) -> bytes:
        """`response.failed`, OpenAI's end of a stream that broke: what was finished, and why it stopped."""
        error = {"code": _FAILURE_CODES.get(kind, "server_error"), "message": message}
        final = response_object(self.response_id, self.model, self.created, self._output, None,
                                usage or Usage(), error, echo=self.echo, service_tier=service_tier or self._tier)
        return self._event("response.failed", response=final)

    def _start(self, block_index: int, item: _Item) -> Iterator[bytes]:
        at = len(self._output) + len(self._open)
        self._open[block_index] = (at, item)
        yield self._event("response.output_item.added", output_index=at, item=item.started())
        if item.kind == "message":
            yield self._event("response.content_part.added", item_id=item.id, output_index=at, content_index=0,
                              part=_text_part(""))
        elif item.kind == "reasoning" and item.summarised:
            yield self._event("response.reasoning_summary_part.added", item_id=item.id, output_index=at,
                              summary_index=0, part={"type": "summary_text", "text": ""})

    def _delta(self, at: int, item: _Item, delta: dict[str, Any]) -> Iterator[bytes]:
        if delta.get("type") == "signature_delta":
            item.sign(str(delta.get("signature", "")))
            return
        text = delta.get("text") if delta.get("type") == "text_delta" else \
            delta.get("thinking") if delta.get("type") == "thinking_delta" else \
            delta.get("partial_json") if delta.get("type") == "input_json_delta" else None
        if not isinstance(text, str):
            return                    # signature deltas and the like
        if item.custom_input is not None:
            yield from self._custom_piece(at, item, item.custom_input.feed(text))
            return
        item.append(text)
        where = {"item_id": item.id, "output_index": at}
        if item.kind == "message":
            yield self._event("response.output_text.delta", **where, content_index=0, delta=text, logprobs=[])
        elif item.kind == "reasoning":
            yield self._event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=text)
        else:
            yield self._event("response.function_call_arguments.delta", **where, delta=text)

    def _custom_piece(self, at: int, item: _Item, piece: str) -> Iterator[bytes]:
        """The input stream keeps the text so far; the item takes it when the call ends."""
        if piece:
            yield self._event("response.custom_tool_call_input.delta", item_id=item.id, output_index=at, delta=piece)

    def _finish(self, at: int, item: _Item) -> Iterator[bytes]:
        where = {"item_id": item.id, "output_index": at}
        if item.json_input and not item.text:   # a call without input streams none: it is {}, as unstreamed
            yield from self._delta(at, item, {"type": "input_json_delta", "partial_json": "{}"})
        if item.custom_input is not None:
            yield from self._custom_piece(at, item, item.custom_input.finish())
            item.text = item.custom_input.text
            yield self._event("response.custom_tool_call_input.done", **where, input=item.text)
        elif item.kind == "message":
            yield self._event("response.output_text.done", **where, content_index=0, text=item.text, logprobs=[])
            yield self._event("response.content_part.done", **where, content_index=0, part=_text_part(item.text))
        elif item.kind == "reasoning":
            if item.summarised:   # a redacted block has no summary, and no events for one
                part = {"type": "summary_text", "text": item.text}
                yield self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=item.text)
                yield self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=part)
        else:
            yield self._event("response.function_call_arguments.done", **where, arguments=item.text,
                              name=item.fields["name"])
        done = item.done()
        self._output.append(done)
        yield self._event("response.output_item.done", output_index=at, item=done)

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = json.dumps({"type": kind, "sequence_number": self._sequence, **fields}, separators=(",", ":"))
        self._sequence += 1
        return f"event: {kind}\ndata: {data}\n\n".encode()
