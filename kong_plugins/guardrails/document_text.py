"""The text of the binary documents a client attaches (PDF, Word, Excel), for the guardrails to scan.

Bedrock reads the text of an attached PDF, .docx or .xlsx, so a card number in an invoice
reaches the model as surely as one typed into the prompt. Each format is read with its
well-kept library (pypdf, python-docx, openpyxl, xlrd for Excel 97's .xls, which old shop and
ERP systems still export), from every place a reader sees text: a PDF's pages and form fields;
a Word file's body, tables, headers, footers, notes and comments; every cell of every sheet.
What cannot be read to the end (a Word 97 .doc, which no well-kept library reads; an encrypted or
malformed file, more than the limits below) comes back with the reason, and the guardrails'
`unreadable_document` category decides what happens to it.

Parsing a large PDF takes seconds of CPU (up to 6 ms a page of dense text), which would stall
every stream the plugin server relays; `read` therefore runs it on a gevent thread pool of its own,
and the reader hands the loop's thread the GIL every 2 ms (YIELD_EVERY says why it must ask). At
most READERS documents are parsed at once: each more thread would take its turn at the GIL before
the loop's came round again.

Nothing here logs. pypdf's log records describe a file's structure, not its text, but they are
silenced anyway: no library writes a line about a customer's document. The libraries are
imported on the first document, so a plugin server that never sees one does not carry them.
"""

from __future__ import annotations

import io
import logging
import time
import warnings
import zipfile
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable

from gevent.threadpool import ThreadPool

MAX_CHARS = 4_000_000
"""Text read from one document before giving up (the body it came in is at most a few MB)."""
MAX_PAGES = 2_000
MAX_SECONDS = 30
"""Reading time before giving up: each PDF stream pypdf inflates is capped (75 MB), but not their number,
and a reader thread held for minutes would queue every other document."""
MAX_UNPACKED = 64 << 20
"""The most a .docx or .xlsx may unpack to: a zip of repeated XML compresses 1000:1, and both libraries
load what they read into memory."""
YIELD_EVERY, YIELD_FOR = 0.002, 0.0001
"""A reader thread that only gives up the GIL inside zlib (as pypdf's does) starves the event loop's thread:
CPython lets the waiter force a switch only when the GIL has not changed hands for 5 ms. A short sleep
between pages, paragraphs and rows hands it over (measured: a 1,500-page PDF stalled the loop 0.65 s)."""
READERS = 2

logging.getLogger("pypdf").setLevel(logging.CRITICAL + 1)
warnings.filterwarnings("ignore", module="openpyxl")


@dataclass(frozen=True)
class DocumentText:
    text: str
    problem: str | None = None
    """Why the document was not read to the end (its text then holds what was read)."""


class _Unreadable(Exception):
    """What is wrong with the file, as a predicate: "is encrypted", "has more than 2,000 pages"."""


_pool: ThreadPool | None = None
ON_SCANNER_THREAD: ContextVar[bool] = ContextVar("on_scanner_thread", default=False)
"""Set on guardrails.scan_pool's threads: a document is read right there. A gevent pool belongs to the hub of
the thread that made it, so READERS' pool, made from a scanner thread, would never serve the loop's."""


def read(format: str, raw: bytes) -> DocumentText:
    """The text of a binary document in Converse's `format`, read off the event loop (queued behind
    READERS others)."""
    global _pool
    if ON_SCANNER_THREAD.get():
        return read_here(format, raw)
    if _pool is None:
        _pool = ThreadPool(READERS)
    return _pool.apply(read_here, (format, raw))


def read_here(format: str, raw: bytes) -> DocumentText:
    """`read`, on the calling thread. Never raises: a file no library can parse is a problem, not an error."""
    reader = _READERS.get(format)
    if reader is None:
        return DocumentText("", f"the {format} file is in Word 97's format, which is not read")
    parts: list[str] = []
    try:
        reader(raw, _Collector(parts))
    except _Unreadable as stop:
        return DocumentText("\n".join(parts), f"the {format} file {stop}")
    except Exception:                                   # noqa: BLE001: whatever a malformed file makes a parser raise
        return DocumentText("\n".join(parts), f"the {format} file could not be parsed")
    return DocumentText("\n".join(parts))


class _Collector:
    """Gathers text up to MAX_CHARS and MAX_SECONDS, then stops the reader; lets the event loop's thread run
    every YIELD_EVERY."""

    def __init__(self, parts: list[str]) -> None:
        self.parts, self.size = parts, 0
        self.started = self.last_yield = time.monotonic()

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if now - self.last_yield > YIELD_EVERY:
            if now - self.started > MAX_SECONDS:
                raise _Unreadable(f"took more than {MAX_SECONDS} s to read")
            time.sleep(YIELD_FOR)
            self.last_yield = time.monotonic()
        if not text:
            return
        self.size += len(text)
        if self.size > MAX_CHARS:
            raise _Unreadable(f"has more than {MAX_CHARS:,} characters of text")
        self.parts.append(text)


def _pdf(raw: bytes, add: _Collector) -> None:
    import pypdf

    document = pypdf.PdfReader(io.BytesIO(raw))
    if document.is_encrypted and not _opens_without_password(document):
        raise _Unreadable("is encrypted")
    if len(document.pages) > MAX_PAGES:
        raise _Unreadable(f"has more than {MAX_PAGES:,} pages")
    for page in document.pages:
        add(page.extract_text())
    for value in (document.get_form_text_fields() or {}).values():
        add(value if isinstance(value, str) else "")


def _opens_without_password(document: Any) -> bool:
    try:
        return bool(document.decrypt(""))
    except Exception:                                   # noqa: BLE001: e.g. AES without a crypto library
        return False


def _docx(raw: bytes, add: _Collector) -> None:
    import docx
    from docx.oxml.ns import qn

    _check_unpacked(raw)
    paragraph, text = qn("w:p"), qn("w:t")
    for part in docx.Document(io.BytesIO(raw)).part.package.iter_parts():
        element = getattr(part, "element", None)     # XML parts: body, headers, footers, notes, comments
        if element is None:
            continue
        for p in element.iter(paragraph):
            add("".join(t.text or "" for t in p.iter(text)))


def _xlsx(raw: bytes, add: _Collector) -> None:
    import openpyxl

    _check_unpacked(raw)
    workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(values_only=True):
                add("\t".join(_cell(value) for value in row if value is not None))
    finally:
        workbook.close()


def _xls(raw: bytes, add: _Collector) -> None:
    import xlrd

    book = xlrd.open_workbook(file_contents=raw, logfile=_DISCARD, verbosity=0, on_demand=True)
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            for row in range(sheet.nrows):
                add("\t".join(_cell(value) for value in sheet.row_values(row) if value != ""))
            book.unload_sheet(index)
    finally:
        book.release_resources()


class _Discard:
    """xlrd's log file: it writes its warnings to stdout, which is the plugin server's log, by default."""

    def write(self, _: str) -> None:
        pass


_DISCARD = _Discard()


def _cell(value: object) -> str:
    """A cell as a reader sees it: 4111111111111111.0 is the number 4111111111111111."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_unpacked(raw: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        if sum(member.file_size for member in archive.infolist()) > MAX_UNPACKED:
            raise _Unreadable(f"unpacks to more than {MAX_UNPACKED >> 20} MiB")


_READERS: dict[str, Callable[[bytes, _Collector], None]] = {"pdf": _pdf, "docx": _docx, "xlsx": _xlsx, "xls": _xls}
