"""Real PDF, Word and Excel files made by their own libraries, for the tests of what the guardrails read."""

from __future__ import annotations

import io
import zipfile

import docx
import openpyxl
import pypdf
import xlwt
from fpdf import FPDF
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject


def pdf(*pages: str, user_password: str | None = None, owner_password: str | None = None) -> bytes:
    """A PDF with one line of text per page (fpdf2), optionally encrypted (RC4)."""
    document = FPDF()
    document.set_font("helvetica", size=10)
    for text in pages:
        document.add_page()
        document.cell(0, 5, text)
    if owner_password or user_password:
        document.set_encryption(owner_password=owner_password or "owner", user_password=user_password)
    return bytes(document.output())


def pdf_with_form_field(page_text: str, field_value: str) -> bytes:
    """A PDF whose page says `page_text` and whose text form field holds `field_value` (pypdf)."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf(page_text))))
    field = DictionaryObject({
        NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject("card"),
        NameObject("/V"): TextStringObject(field_value), NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/Rect"): ArrayObject([NumberObject(50), NumberObject(50), NumberObject(300), NumberObject(70)]),
    })
    reference = writer._add_object(field)          # pypdf has no public name for adding an indirect object
    writer.pages[0][NameObject("/Annots")] = ArrayObject([reference])
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): ArrayObject([reference])})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def word(body: str = "", *, runs: tuple[str, ...] = (), table_cell: str = "", header: str = "", footer: str = "",
         comment: str = "") -> bytes:
    """A .docx (python-docx): a paragraph of `body` then `runs`, a table, a header, a footer, a comment."""
    document = docx.Document()
    paragraph = document.add_paragraph(body)
    for run in runs:
        paragraph.add_run(run)
    if table_cell:
        document.add_table(rows=1, cols=2).cell(0, 1).text = table_cell
    document.sections[0].header.paragraphs[0].text = header
    document.sections[0].footer.paragraphs[0].text = footer
    if comment:
        document.add_comment(paragraph.runs, text=comment, author="ops")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def workbook(*sheets: list[list[object]]) -> bytes:
    """An .xlsx (openpyxl) with one sheet of rows per argument."""
    book = openpyxl.Workbook()
    for index, rows in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet(f"Sheet{index + 1}")
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def excel97(*sheets: list[list[object]]) -> bytes:
    """An Excel 97 .xls (xlwt, test-only: unmaintained, but the format has not changed since) with one sheet
    of rows per argument."""
    book = xlwt.Workbook()
    for index, rows in enumerate(sheets):
        sheet = book.add_sheet(f"Sheet{index + 1}")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bomb_word(unpacked: int) -> bytes:
    """A valid .docx with one more member that unpacks to `unpacked` bytes of zeros."""
    out = io.BytesIO(word("hello"))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/padding.bin", bytes(unpacked))
    return out.getvalue()
