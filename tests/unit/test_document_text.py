"""What the guardrails read out of attached PDF, Word and Excel files, and what they report as unreadable."""

import threading

import gevent
import pytest

from kong_plugins.guardrails import document_text
from kong_plugins.guardrails.document_text import read, read_here
from tests import document_files as files
from tests.event_loop import ticks_while

PAN = "4111 1111 1111 1111"


def test_pdf_pages_and_form_fields_are_read():
    assert read("pdf", files.pdf("Invoice 2026-0042", f"Paid with {PAN}")).text == f"Invoice 2026-0042\nPaid with {PAN}"
    found = read("pdf", files.pdf_with_form_field("Order form", PAN))
    assert found.problem is None and PAN in found.text


def test_an_encrypted_pdf_is_read_only_when_it_opens_without_a_password():
    locked = read("pdf", files.pdf(f"Paid with {PAN}", user_password="s3cret"))
    assert locked == document_text.DocumentText("", "the pdf file is encrypted")
    assert read("pdf", files.pdf(f"Paid with {PAN}", owner_password="s3cret")).text == f"Paid with {PAN}"


def test_word_text_is_read_from_every_part_a_reader_sees():
    found = read("docx", files.word("Card: ", runs=("4111 1111", " 1111 1111"), table_cell="cell text",
                                    header="header text", footer="footer text", comment="comment text"))
    assert found.problem is None
    assert f"Card: {PAN}" in found.text.splitlines()      # runs of one paragraph are joined
    for part in ("cell text", "header text", "footer text", "comment text"):
        assert part in found.text.splitlines()


def test_every_cell_of_every_sheet_of_an_excel_97_file_is_read(capfd):
    """Old shop and ERP systems still export .xls; xlrd would print its warnings to the plugin server's log."""
    found = read("xls", files.excel97([["order", "card"], [5521, PAN]], [["", 4111111111111111.0, 19.9]]))
    assert found.problem is None
    assert found.text.splitlines() == ["order\tcard", f"5521\t{PAN}", "4111111111111111\t19.9"]
    read("xls", files.excel97([["x"]])[:-700])         # truncated: xlrd warns before it gives up
    assert capfd.readouterr() == ("", "")


def test_every_cell_of_every_sheet_is_read():
    found = read("xlsx", files.workbook([["order", "card"], [5521, PAN]], [[None, 4111111111111111.0, 19.9]]))
    assert found.problem is None
    assert found.text.splitlines() == ["order\tcard", f"5521\t{PAN}", "4111111111111111\t19.9"]


@pytest.mark.parametrize("format, raw, problem", [
    ("doc", b"\xd0\xcf\x11\xe0 a Word 97 file", "the doc file is in Word 97's format, which is not read"),
    ("xls", b"\xd0\xcf\x11\xe0 not really Excel 97", "the xls file could not be parsed"),
    ("pdf", b"%PDF-1.4\n% not really\n", "the pdf file could not be parsed"),
    ("docx", b"PK\x03\x04 not a zip", "the docx file could not be parsed"),
    ("xlsx", files.word("a Word file named .xlsx"), "the xlsx file could not be parsed"),
])
def test_what_cannot_be_read_says_why(format, raw, problem):
    assert read(format, raw) == document_text.DocumentText("", problem)


def test_a_zip_that_unpacks_beyond_the_limit_is_not_opened():
    bomb = files.zip_bomb_word(document_text.MAX_UNPACKED + 1)
    assert len(bomb) < 200_000
    assert read("docx", bomb).problem == "the docx file unpacks to more than 64 MiB"
    assert read("docx", files.zip_bomb_word(1 << 20)).problem is None


def test_reading_stops_at_the_limits_and_keeps_what_it_read(monkeypatch):
    monkeypatch.setattr(document_text, "MAX_PAGES", 2)
    assert read_here("pdf", files.pdf("a", "b", "c")).problem == "the pdf file has more than 2 pages"
    monkeypatch.setattr(document_text, "MAX_PAGES", 10)
    monkeypatch.setattr(document_text, "MAX_CHARS", 10)
    found = read_here("pdf", files.pdf("123456", "7890", "abc"))
    assert found == document_text.DocumentText("123456\n7890", "the pdf file has more than 10 characters of text")
    monkeypatch.setattr(document_text, "MAX_SECONDS", 0)
    monkeypatch.setattr(document_text, "YIELD_EVERY", 0)
    found = read_here("xlsx", files.workbook([["a"], ["b"], ["c"]]))
    assert found.problem == "the xlsx file took more than 0 s to read" and found.text in ("", "a", "a\nb")


def test_at_most_two_documents_are_parsed_at_once(monkeypatch):
    """A request may attach several files and several requests may come at once: every reader thread more
    would take a turn at the GIL before the event loop's thread."""
    active, most, lock = [0], [0], threading.Lock()
    parse = document_text._READERS["pdf"]

    def counted(raw, add):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            parse(raw, add)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setitem(document_text._READERS, "pdf", counted)
    invoice = files.pdf(*[f"Page {n}: order line" for n in range(40)])
    readers = [gevent.spawn(read, "pdf", invoice) for _ in range(6)]
    gevent.joinall(readers, raise_error=True)
    assert [r.value.text.count("Page ") for r in readers] == [40] * 6
    assert most[0] == document_text.READERS == 2


def test_a_long_pdf_is_read_while_the_event_loop_keeps_running():
    """Parsing takes up to 4 ms a page: on the loop, or on a thread that never hands the GIL back, it would
    stall every stream the relay serves. The ticker wakes every millisecond it is let run."""
    long_pdf = files.pdf(*[f"Page {n}: " + "order line, 19.90 EUR, shipped " * 6 for n in range(300)])
    during, found = ticks_while(lambda: read("pdf", long_pdf))
    assert found.problem is None and found.text.count("Page ") == 300
    assert during >= 20, during
