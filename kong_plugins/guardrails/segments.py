"""The user-authored text of a request, per client format, with where it lives.

Only user turns are scanned by default: system prompts, tool definitions and
assistant turns are written by vendors (Claude Code's contain "token",
"secret", "password", "SQL") or by the model, and scanning them blocks normal
work. Tool results are optional (`scan_tool_results`). Inside user turns,
Claude Code injects `<system-reminder>` blocks of its own; those spans are
not user-authored and are skipped unless configured otherwise.

Every segment keeps its path in the decoded JSON body, so a redaction can
rewrite exactly that string and keep the body valid JSON.

Attached documents in a text format (CSV, plain text, Markdown, HTML: an order export
pasted as a file) are user-authored too: their base64 is decoded and scanned, and a
redaction is encoded back. Binary documents (PDF, Word, Excel) are scanned through their
text (`document_text`), which cannot be written back; one that cannot be read, or whose
content is not in the request at all (a Converse S3 location, an Anthropic URL or file id),
is a segment with a problem. Images are not read.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, Iterator

from kong_plugins.formats.documents import BINARY_FORMATS, TEXT_FORMATS, data_url_head, format_of
from kong_plugins.guardrails import document_text

Path = tuple[Any, ...]
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)


@dataclass(frozen=True)
class Segment:
    path: Path          # keys/indices into the decoded body
    text: str
    encoding: str | None = None
    """How the body stores the text: None as it is; else base64 after this prefix ("" or a data URL's)."""
    attached: bool = False
    """In a document: no `<system-reminder>` is ever Claude Code's there, so none is skipped."""
    extracted: bool = False
    """The text was read out of a binary document: it is scanned, but a redaction cannot be written back."""
    problem: str | None = None
    """Why a document was not read to the end (its text then holds what was read, maybe nothing)."""

    def stored(self, text: str) -> str:
        """`text` (a redaction of this segment) as the body stores it; undecodable bytes are kept as they were."""
        if self.encoding is None:
            return text
        return self.encoding + base64.b64encode(text.encode("utf-8", "surrogateescape")).decode("ascii")


def user_segments(body: Any, *, tool_results: bool = False) -> Iterator[Segment]:
    """User-authored strings of an OpenAI (Chat or Responses), Anthropic, Bedrock InvokeModel or Converse body."""
    if not isinstance(body, dict):
        return
    if isinstance(body.get("inputText"), str):                       # Titan InvokeModel
        yield Segment(("inputText",), body["inputText"])
    yield from _prompts(body)
    yield from _rerank(body)
    yield from _responses_input(body.get("input"), tool_results)
    yield from _responses_input(body.get("items"), tool_results, "items")   # items added to an OpenAI Conversation
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "user":
            yield from _content(("messages", i, "content"), message.get("content"), tool_results)
        elif role in ("tool", "function") and tool_results:          # OpenAI tool results
            yield from _content(("messages", i, "content"), message.get("content"), tool_results)


def _prompts(body: dict[str, Any]) -> Iterator[Segment]:
    """An image prompt and what it must not show: OpenAI Images' `prompt` and `negative_prompt` (and any
    InvokeModel body's `prompt`), Nova Canvas and Titan Image's `textToImageParams`."""
    for key in ("prompt", "negative_prompt", "mask_prompt"):
        if isinstance(body.get(key), str):
            yield Segment((key,), body[key])
    params = body.get("textToImageParams")
    if isinstance(params, dict):
        for key in ("text", "negativeText"):
            if isinstance(params.get(key), str):
                yield Segment(("textToImageParams", key), params[key])


def _rerank(body: dict[str, Any]) -> Iterator[Segment]:
    """A reranking query and its documents (Cohere's API and Bedrock's body): strings, or v1's objects, whose
    string fields may all be ranked (`rank_fields`)."""
    if isinstance(body.get("query"), str):
        yield Segment(("query",), body["query"])
    documents = body.get("documents")
    for i, document in enumerate(documents if isinstance(documents, list) else ()):
        if isinstance(document, str):
            yield Segment(("documents", i), document)
        elif isinstance(document, dict):
            yield from (Segment(("documents", i, key), value) for key, value in document.items()
                        if isinstance(value, str))


def _responses_input(items: Any, tool_results: bool, key: str = "input") -> Iterator[Segment]:
    """OpenAI Responses `input` (or a Conversation's `items`): a string, or items (user messages; function call
    outputs are tool results); OpenAI embeddings `input`: a string or a list of strings."""
    if isinstance(items, str):
        yield Segment((key,), items)
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        if isinstance(item, str):                                     # OpenAI embeddings: a list of texts
            yield Segment((key, i), item)
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message" and item.get("role") == "user":
            yield from _content((key, i, "content"), item.get("content"), tool_results)
        elif kind in ("function_call_output", "custom_tool_call_output") and tool_results:
            yield from _content((key, i, "output"), item.get("output"), tool_results)


def _content(path: Path, content: Any, tool_results: bool) -> Iterator[Segment]:
    if isinstance(content, str):
        yield Segment(path, content)
        return
    if not isinstance(content, list):
        return
    for j, block in enumerate(content):
        if not isinstance(block, dict):
            continue
        here = path + (j,)
        if isinstance(block.get("text"), str) and block.get("type", "text") in ("text", "input_text"):
            yield Segment(here + ("text",), block["text"])            # text parts of every API, Converse {text}
        elif tool_results and block.get("type") == "tool_result":      # Anthropic
            yield from _content(here + ("content",), block.get("content"), tool_results)
        elif tool_results and isinstance(block.get("toolResult"), dict):   # Converse
            yield from _content(here + ("toolResult", "content"), block["toolResult"].get("content"), tool_results)
        else:
            yield from _document(here, block)


def _document(path: Path, block: dict[str, Any]) -> Iterator[Segment]:
    """A document attached in any API: OpenAI Chat, OpenAI Responses, Anthropic, Converse."""
    kind = block.get("type")
    if kind == "file" and isinstance(block.get("file"), dict):
        yield from _data_url(path + ("file", "file_data"), block["file"].get("file_data"))
    elif kind == "input_file":
        yield from _data_url(path + ("file_data",), block.get("file_data"))
    elif kind == "document" and isinstance(block.get("source"), dict):
        source = block["source"]
        if source.get("type") == "text" and isinstance(source.get("data"), str):
            yield Segment(path + ("source", "data"), source["data"], attached=True)
        elif source.get("type") == "base64":
            yield from _base64(path + ("source", "data"), source.get("data"), "", format_of(source.get("media_type")))
        elif source.get("type") == "content":
            yield from _content(path + ("source", "content"), source.get("content"), False)
        elif source.get("type") in ("url", "file"):
            yield Segment(path + ("source",), "", attached=True,
                          problem=f"the document is not in the request (a {source['type']})")
    elif isinstance(block.get("document"), dict) and isinstance(block["document"].get("source"), dict):
        document, source = block["document"], block["document"]["source"]
        if isinstance(source.get("text"), str):
            yield Segment(path + ("document", "source", "text"), source["text"], attached=True)
        elif "bytes" in source:
            yield from _base64(path + ("document", "source", "bytes"), source.get("bytes"), "", document.get("format"))
        elif "s3Location" in source:
            yield Segment(path + ("document", "source"), "", attached=True,
                          problem="the document is not in the request (in S3)")


def _data_url(path: Path, url: Any) -> Iterator[Segment]:
    head = data_url_head(url)
    if head is not None:
        yield from _base64(path, url[head[1]:], url[:head[1]], format_of(head[0]))


def _base64(path: Path, data: Any, prefix: str, format: Any) -> Iterator[Segment]:
    """A document's base64: text formats decoded (bytes that are not UTF-8 kept as surrogates), binary ones
    read by `document_text`; nothing when it is not base64 (Bedrock refuses it) or of a format nobody reads."""
    if not isinstance(data, str) or not isinstance(format, str):
        return
    if format not in TEXT_FORMATS and format not in BINARY_FORMATS:
        return
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return
    if format in TEXT_FORMATS:
        yield Segment(path, raw.decode("utf-8", "surrogateescape"), prefix, attached=True)
    else:
        read = document_text.read(format, raw)
        yield Segment(path, read.text, attached=True, extracted=True, problem=read.problem)


def authored_spans(text: str, skip_reminders: bool = True) -> list[tuple[int, int]]:
    """(start, end) spans of `text` written by the user: everything but `<system-reminder>` blocks."""
    if not skip_reminders or "<system-reminder>" not in text:
        return [(0, len(text))]
    spans, position = [], 0
    for reminder in _REMINDER.finditer(text):
        if reminder.start() > position:
            spans.append((position, reminder.start()))
        position = reminder.end()
    if position < len(text):
        spans.append((position, len(text)))
    return spans


def replace_at(body: Any, path: Path, value: str) -> None:
    """Set the string at `path` in the decoded body (used by redaction)."""
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
