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
is a segment with a problem, and so is base64 that cannot be decoded however leniently (document_bytes).
Images are not read.

What a user turn can carry besides typed text is read as well, since it all reaches the model: OpenAI
Responses' `output_text` and `refusal` parts, a document's title, context and name, Converse's
`guardContent` and documents made of `content` blocks, search results (Converse's `searchResult`,
Anthropic's `search_result`), and the user turns inside a Bedrock CountTokens body (`input.converse`; its
`input.invokeModel.body` is a whole InvokeModel body in base64, which the scanner decodes and scans as one:
`embedded_bodies`), and the text blocks of a Bedrock ApplyGuardrail call on a prompt (`source: INPUT`).
"""

from __future__ import annotations

import base64
import re
from typing import Any, Iterator, NamedTuple

from kong_plugins.formats.documents import BINARY_FORMATS, TEXT_FORMATS, data_url_head, format_of
from kong_plugins.guardrails import document_text
from kong_plugins.guardrails.document_bytes import UTF8, decode_base64, decode_text, encode_text

Path = tuple[Any, ...]
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)
_TEXT_PARTS = ("text", "input_text", "output_text")
"""Text parts of every API (Converse's `{text}` has no type); Responses takes an `output_text` part from the
user as readily as one from the assistant."""


class Segment(NamedTuple):
    """A user-authored string of the body (a NamedTuple: an embeddings request may hold 100,000s, and a frozen
    dataclass took a microsecond more to make each)."""

    path: Path          # keys/indices into the decoded body
    text: str
    encoding: str | None = None
    """How the body stores the text: None as it is; else base64 after this prefix ("" or a data URL's)."""
    charset: str = UTF8
    """The charset of a base64 document's text, which a redaction is written back in."""
    attached: bool = False
    """In a document: no `<system-reminder>` is ever Claude Code's there, so none is skipped."""
    extracted: bool = False
    """The text cannot be written back (read out of a binary document, or a text one cut mid-character): it is
    scanned, and a redaction blocks."""
    problem: str | None = None
    """Why a document was not read to the end (its text then holds what was read, maybe nothing)."""

    def stored(self, text: str) -> str:
        """`text` (a redaction of this segment) as the body stores it; undecodable bytes are kept as they were."""
        if self.encoding is None:
            return text
        return self.encoding + base64.b64encode(encode_text(text, self.charset)).decode("ascii")


def user_segments(body: Any, *, tool_results: bool = False) -> Iterator[Segment]:
    """User-authored strings of an OpenAI (Chat or Responses), Anthropic, Bedrock InvokeModel or Converse body."""
    if not isinstance(body, dict):
        return
    if isinstance(body.get("inputText"), str):                       # Titan InvokeModel
        yield Segment(("inputText",), body["inputText"])
    keys = body.keys()                  # each reader only where its keys are: a chat body needs one of them
    if not keys.isdisjoint(_PROMPT_KEYS):
        yield from _prompts(body)
    if not keys.isdisjoint(_CALLER_KEYS):
        yield from _caller_metadata(body)
    if not keys.isdisjoint(_RERANK_KEYS):
        yield from _rerank(body)
    if "input" in keys:
        yield from _responses_input(body["input"], tool_results)
    if "items" in keys:
        yield from _responses_input(body["items"], tool_results, "items")   # items added to an OpenAI Conversation
    if "messages" in keys:
        yield from _messages(("messages",), body["messages"], tool_results)
    counted = body.get("input")
    if isinstance(counted, dict) and isinstance(counted.get("converse"), dict):   # Bedrock CountTokens
        yield from _messages(("input", "converse", "messages"), counted["converse"].get("messages"), tool_results)
    if body.get("source") == "INPUT":
        yield from _guardrail_input(body.get("content"))


def _guardrail_input(content: Any) -> Iterator[Segment]:
    """The text blocks of a Bedrock ApplyGuardrail call on a prompt (`source: INPUT`): user text bound for AWS,
    so checked as a user turn is. `OUTPUT` text is the model's, which a client asks Bedrock to judge, as assistant
    turns go unscanned."""
    if not isinstance(content, list):
        return
    for index, block in enumerate(content):
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            yield Segment(("content", index, "text", "text"), text["text"])


_METADATA_MEMBERS = ("metadata", "requestMetadata")
"""OpenAI's `metadata` pairs, Anthropic's `metadata.user_id`, Converse's `requestMetadata`: the client's strings the
gateway sends on to Bedrock, whose model invocation logs keep them."""
_CALLER_FIELDS = ("user", "safety_identifier")
"""OpenAI's end-user identifiers, sent on as Bedrock request metadata (bedrock.request_metadata)."""


_CALLER_KEYS = frozenset(_METADATA_MEMBERS + _CALLER_FIELDS)


def _caller_metadata(body: dict[str, Any]) -> Iterator[Segment]:
    """What a client says about the call (who asks, its own tags): not prompt, but it reaches Bedrock's invocation
    logs, so a card number or a credential in it is blocked as one in a prompt. A key cannot be rewritten, nor a
    Converse requestMetadata value (Bedrock takes only [a-zA-Z0-9\\s:_@$#=/+,-.] there: no redaction marker): a
    redaction there blocks."""
    for member in _METADATA_MEMBERS:
        pairs = body.get(member)
        for key, value in pairs.items() if isinstance(pairs, dict) else ():
            if isinstance(key, str):
                yield Segment((member,), key, extracted=True)
            if isinstance(value, str):
                yield Segment((member, key), value, extracted=member == "requestMetadata")
    for name in _CALLER_FIELDS:
        if isinstance(body.get(name), str):
            yield Segment((name,), body[name])


def embedded_bodies(body: Any) -> Iterator[tuple[Path, bytes | None]]:
    """Request bodies carried inside this one, as base64 (Bedrock CountTokens' `input.invokeModel.body`, an
    InvokeModel body): where each is, and its bytes (None when it is not base64)."""
    counted = body.get("input") if isinstance(body, dict) else None
    invoke = counted.get("invokeModel") if isinstance(counted, dict) else None
    if isinstance(invoke, dict) and isinstance(invoke.get("body"), str):
        yield ("input", "invokeModel", "body"), decode_base64(invoke["body"])


def _messages(path: Path, messages: Any, tool_results: bool) -> Iterator[Segment]:
    """The user turns (and, with `tool_results`, OpenAI's tool turns) of a `messages` list."""
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "user" or (role in ("tool", "function") and tool_results):   # OpenAI tool results
            yield from _content(path + (i, "content"), message.get("content"), tool_results)


_PROMPTS = ("prompt", "negative_prompt", "mask_prompt")
_PROMPT_KEYS = frozenset((*_PROMPTS, "textToImageParams"))


def _prompts(body: dict[str, Any]) -> Iterator[Segment]:
    """An image prompt and what it must not show: OpenAI Images' `prompt` and `negative_prompt` (and any
    InvokeModel body's `prompt`), Nova Canvas and Titan Image's `textToImageParams`."""
    for key in _PROMPTS:
        if isinstance(body.get(key), str):
            yield Segment((key,), body[key])
    params = body.get("textToImageParams")
    if isinstance(params, dict):
        for key in ("text", "negativeText"):
            if isinstance(params.get(key), str):
                yield Segment(("textToImageParams", key), params[key])


_RERANK_KEYS = frozenset(("query", "documents"))


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


def _content(path: Path, content: Any, tool_results: bool, attached: bool = False) -> Iterator[Segment]:
    if isinstance(content, str):
        yield Segment(path, content, attached=attached)
        return
    if not isinstance(content, list):
        return
    for j, block in enumerate(content):
        if not isinstance(block, dict):
            continue
        here = path + (j,)
        kind = block.get("type", "text")
        if kind in _TEXT_PARTS and block.get("text") is not None:
            yield Segment(here + ("text",), _text(block["text"]), attached=attached)
        elif kind == "refusal" and isinstance(block.get("refusal"), str):   # Responses: sent on as text
            yield Segment(here + ("refusal",), block["refusal"], attached=attached)
        elif tool_results and block.get("type") == "tool_result":      # Anthropic
            yield from _content(here + ("content",), block.get("content"), tool_results)
        elif tool_results and isinstance(block.get("toolResult"), dict):   # Converse
            yield from _content(here + ("toolResult", "content"), block["toolResult"].get("content"), tool_results)
        elif "json" in block:                                          # Converse tool result content
            yield from _json_strings(here + ("json",), block["json"])
        elif isinstance(block.get("guardContent"), dict) and isinstance(block["guardContent"].get("text"), dict):
            yield from _strings(here + ("guardContent", "text"), block["guardContent"]["text"], ("text",), attached)
        elif kind == "search_result":                                  # Anthropic
            yield from _search_result(here, block)
        elif isinstance(block.get("searchResult"), dict):              # Converse
            yield from _search_result(here + ("searchResult",), block["searchResult"])
        else:
            yield from _document(here, block)


def _text(value: Any) -> str:
    """A text part's text; OpenAI Chat sends whatever else a client put there as Python's `str` of it."""
    return value if isinstance(value, str) else str(value)


def _strings(path: Path, node: dict[str, Any], keys: tuple[str, ...], attached: bool = True) -> Iterator[Segment]:
    """The string fields `keys` of `node` (a title, a context, a name)."""
    for key in keys:
        if isinstance(node.get(key), str):
            yield Segment(path + (key,), node[key], attached=attached)


def _search_result(path: Path, result: dict[str, Any]) -> Iterator[Segment]:
    """A search result a client hands the model (Anthropic's `search_result`, Converse's `searchResult`)."""
    yield from _strings(path, result, ("source", "title"))
    yield from _content(path + ("content",), result.get("content"), False, attached=True)


def _json_strings(path: Path, value: Any) -> Iterator[Segment]:
    """Every string in a JSON value (a tool's result as JSON), without recursion: the value may nest deeply."""
    stack = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            yield Segment(where, node)
        elif isinstance(node, dict):
            stack.extend((where + (key,), child) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((where + (index,), child) for index, child in enumerate(node))


def _document(path: Path, block: dict[str, Any]) -> Iterator[Segment]:
    """A document attached in any API: OpenAI Chat, OpenAI Responses, Anthropic, Converse."""
    kind = block.get("type")
    if kind == "file" and isinstance(block.get("file"), dict):
        yield from _data_url(path + ("file", "file_data"), block["file"].get("file_data"))
    elif kind == "input_file":
        yield from _data_url(path + ("file_data",), block.get("file_data"))
    elif kind == "document" and isinstance(block.get("source"), dict):
        source = block["source"]
        yield from _strings(path, block, ("title", "context"))
        if source.get("type") == "text" and isinstance(source.get("data"), str):
            yield Segment(path + ("source", "data"), source["data"], attached=True)
        elif source.get("type") == "base64":
            yield from _base64(path + ("source", "data"), source.get("data"), "", format_of(source.get("media_type")))
        elif source.get("type") == "content":
            yield from _content(path + ("source", "content"), source.get("content"), False, attached=True)
        elif source.get("type") in ("url", "file"):
            yield Segment(path + ("source",), "", attached=True,
                          problem=f"the document is not in the request (a {source['type']})")
    elif isinstance(block.get("document"), dict) and isinstance(block["document"].get("source"), dict):
        document, source, here = block["document"], block["document"]["source"], path + ("document",)
        yield from _strings(here, document, ("name", "context"))
        if isinstance(source.get("text"), str):
            yield Segment(here + ("source", "text"), source["text"], attached=True)
        elif "bytes" in source:
            yield from _base64(here + ("source", "bytes"), source.get("bytes"), "", document.get("format"))
        elif "content" in source:
            yield from _content(here + ("source", "content"), source.get("content"), False, attached=True)
        elif "s3Location" in source:
            yield Segment(here + ("source",), "", attached=True, problem="the document is not in the request (in S3)")


def _data_url(path: Path, url: Any) -> Iterator[Segment]:
    head = data_url_head(url)
    if head is not None:
        yield from _base64(path, url[head[1]:], url[:head[1]], format_of(head[0]))


def _base64(path: Path, data: Any, prefix: str, format: Any) -> Iterator[Segment]:
    """A document's base64: text formats decoded (in the charset a byte-order mark names), binary ones read by
    `document_text`; base64 that cannot be decoded however leniently is unreadable. Nothing for a format
    nobody reads, or data that is no string (Bedrock refuses both)."""
    if not isinstance(data, str) or not isinstance(format, str):
        return
    if format not in TEXT_FORMATS and format not in BINARY_FORMATS:
        return
    raw = decode_base64(data)
    if raw is None:
        yield Segment(path, "", attached=True, problem=f"the {format} file is not valid base64")
    elif format in TEXT_FORMATS:
        text, charset = decode_text(raw)
        if charset is None:                            # scanned, but a redaction could not be written back
            yield Segment(path, text, attached=True, extracted=True)
        else:
            yield Segment(path, text, prefix, charset=charset, attached=True)
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
