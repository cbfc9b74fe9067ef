"""Files a client attaches (PDF, CSV, Word, Excel, HTML, text, Markdown) as Bedrock document blocks.

OpenAI clients attach a file as a base64 data URL (Chat Completions' `file` part,
Responses' `input_file`); the gateway stores no files, so a `file_id` or a URL is
refused. The internal (Anthropic) model carries it as a `document` block, which
Converse sends as `document` with a format and a name. Bedrock warns that a document's
name can steer the model (prompt injection), so the name is a neutral one made from the
block's place in the conversation, never the client's filename.
"""

from __future__ import annotations

import re
from typing import Any

from kong_plugins.formats.body import RequestError

FORMATS = {
    "application/pdf": "pdf", "text/csv": "csv", "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html", "text/plain": "txt", "text/markdown": "md",
}
"""Media types Converse takes as documents, and its format names."""
TEXT_FORMATS = frozenset({"txt", "csv", "md", "html"})
"""The formats whose bytes are text (the guardrails decode them)."""
BINARY_FORMATS = frozenset(FORMATS.values()) - TEXT_FORMATS
"""The others (PDF, Word, Excel): the guardrails read them with their libraries."""

_DATA_PREFIX = "data:"
_BASE64_MARK = ";base64,"
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9()\[\]-]+")


def format_of(media_type: Any) -> str | None:
    """Converse's format for a client's media type; None for any other value (a list included: no lookup raises)."""
    return FORMATS.get(media_type) if isinstance(media_type, str) else None


def data_url_head(url: Any) -> tuple[str, int] | None:
    """(media type, offset of the base64 data) of a `data:<type>;base64,<data>` URL, without copying the data
    (a file can be megabytes); None for anything else."""
    if not isinstance(url, str) or not url.startswith(_DATA_PREFIX):
        return None
    mark = url.find(_BASE64_MARK)
    return None if mark < 0 else (url[len(_DATA_PREFIX):mark].lower(), mark + len(_BASE64_MARK))


def split_data_url(url: Any) -> tuple[str, str] | None:
    """(media type, base64 data) of a data URL; None for anything else."""
    head = data_url_head(url)
    return None if head is None else (head[0], url[head[1]:])


def from_openai_file(file: Any, where: str) -> dict[str, Any]:
    """The internal document block for Chat Completions' `{"type": "file", "file": {...}}`."""
    if not isinstance(file, dict) or file.get("file_id") is not None:
        raise RequestError(f"{where}.file: send the file's content as file_data (a base64 data URL); the gateway "
                           "stores no files, so file_id cannot be used.", where)
    return from_data_url(file.get("file_data"), where)


def from_data_url(url: Any, where: str) -> dict[str, Any]:
    """The internal document block for a file's data URL; `where`: the client's part, for the 400."""
    media_type, start = document_head(url, where)
    return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": url[start:]}}


def document_head(url: Any, where: str) -> tuple[str, int]:
    """`data_url_head` of a document Bedrock reads; RequestError (param `where`) for anything else."""
    head = data_url_head(url)
    if head is None:
        raise RequestError(f"{where}: file_data must be a base64 data URL (data:application/pdf;base64,...).",
                           where)
    if head[0] not in FORMATS:   # the type is the client's text, so the message does not repeat it
        raise RequestError(f"{where}: this media type is not a document Bedrock reads "
                           f"({', '.join(sorted(set(FORMATS.values())))}).", where)
    return head


def to_converse(block: dict[str, Any], where: str) -> dict[str, Any]:
    """Converse's `document` for an internal document block (base64, or plain text)."""
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    kind = source.get("type")
    if kind == "text" and isinstance(source.get("data"), str):
        document: dict[str, Any] = {"format": "txt", "source": {"text": source["data"]}}
    elif kind == "base64" and isinstance(source.get("data"), str) and (format := format_of(source.get("media_type"))):
        document = {"format": format, "source": {"bytes": source["data"]}}
    else:
        raise RequestError(f"{where}.source: a document must be base64 data of a type Bedrock reads "
                           f"({', '.join(sorted(FORMATS))}) or plain text.", f"{where}.source")
    document["name"] = neutral_name(where)
    if isinstance(block.get("context"), str) and block["context"]:
        document["context"] = block["context"]
    return {"document": document}


def neutral_name(where: str) -> str:
    """A name from the block's place ("Document [messages 0 content 1]"): unique in the request, in Bedrock's
    charset (letters, digits, single spaces, hyphens, parentheses, brackets), and telling the model nothing."""
    return f"Document [{_NOT_IN_NAMES.sub(' ', where).strip()}]"
