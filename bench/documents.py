"""Attached documents and large prompts: what scanning them costs, and how long it holds up the event loop.

    python -m bench.documents

The guardrails scan a body of 32 KB or more on a thread (kong_plugins/guardrails/scan_pool.py) and
read a binary document's text there (kong_plugins/guardrails/document_text.py). For each file and
text this prints the scan's time (the whole request body, as the plugin scans it) and the longest
the plugin server's event loop waited meanwhile: a ticker greenlet asks to run every millisecond,
as the relay's streams do. "on the loop" scans the same body on the loop's own thread.
"""

from __future__ import annotations

import base64
import io
import json
import random
import statistics
import time

import docx
import gevent
import openpyxl
import xlwt
from fpdf import FPDF

from bench.guardrails import random_words_and_punctuation
from bench.report import write_results
from kong_plugins.guardrails import document_text, scan_pool
from kong_plugins.guardrails.scanner import Scanner

LINE = "Order {n}: 2 x merino scarf, 39.80 EUR, shipped DHL 00340434161234567890, returned 2026-11-0{d}"
MEDIA = {"pdf": "application/pdf",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "xls": "application/vnd.ms-excel"}


def invoice_pdf(pages: int) -> bytes:
    document = FPDF()
    document.set_font("helvetica", size=8)
    for page in range(pages):
        document.add_page()
        for line in range(60):
            document.cell(0, 4, LINE.format(n=page * 60 + line, d=line % 9 + 1), new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())


def report_docx(paragraphs: int) -> bytes:
    document = docx.Document()
    for n in range(paragraphs):
        document.add_paragraph(LINE.format(n=n, d=n % 9 + 1))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def export_xlsx(rows: int) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for n in range(rows):
        sheet.append([n, "merino scarf", 2, 39.8, f"2026-11-0{n % 9 + 1}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_xls(rows: int) -> bytes:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Orders")
    for n in range(rows):
        for column, value in enumerate([n, "merino scarf", 2, 39.8, f"2026-11-0{n % 9 + 1}"]):
            sheet.write(n, column, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def body(fmt: str, data: bytes) -> bytes:
    url = f"data:{MEDIA[fmt]};base64,{base64.b64encode(data).decode()}"
    return json.dumps({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "Which orders were returned?"},
        {"type": "file", "file": {"file_data": url}}]}]}).encode()


def user_turn(text: str) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": text}]}).encode()


def scan_watching_the_loop(scanner: Scanner, payload: bytes, on_loop: bool = False,
                           clean: bool = True) -> tuple[float, float]:
    """(scan ms, the loop's longest wait in ms while it ran), the plugin's way or (`on_loop`) on the loop."""
    ticks: list[float] = []

    def ticker() -> None:
        while True:
            ticks.append(time.perf_counter())
            gevent.sleep(0.001)

    running = gevent.spawn(ticker)
    gevent.sleep(0.005)
    started = time.perf_counter()
    result = scanner.scan(payload) if on_loop else scan_pool.scan(scanner, payload)
    ended = time.perf_counter()
    running.kill()
    assert not (clean and result.found), result.found          # the benchmark's files are clean
    seen = [started] + [t for t in ticks if started < t < ended] + [ended]
    return (ended - started) * 1000, max(b - a for a, b in zip(seen, seen[1:])) * 1000


def main() -> int:
    scanner = Scanner({})
    cases = [("pdf", "10 pages", invoice_pdf(10), 5), ("pdf", "100 pages", invoice_pdf(100), 3),
             ("pdf", "500 pages", invoice_pdf(500), 2), ("docx", "2,000 paragraphs", report_docx(2000), 3),
             ("xlsx", "20,000 rows", export_xlsx(20_000), 3), ("xls", "20,000 rows", export_xls(20_000), 3)]
    results = {}
    print(f"{'attached file':24}{'KB':>8}{'scan p50 ms':>13}{'loop waited ms':>16}")
    for fmt, label, data, runs in cases:
        payload = body(fmt, data)
        samples = [scan_watching_the_loop(scanner, payload) for _ in range(runs)]
        scan, waited = statistics.median(s[0] for s in samples), max(s[1] for s in samples)
        results[f"{fmt} {label}"] = {"kb": len(data) // 1024, "scan_ms_p50": round(scan, 1),
                                     "loop_longest_wait_ms": round(waited, 1)}
        print(f"{fmt + ' ' + label:24}{len(data) // 1024:>8}{scan:>13.1f}{waited:>16.1f}")
    threaded = document_text.read
    document_text.read = document_text.read_here
    try:
        scan, waited = scan_watching_the_loop(scanner, body("pdf", cases[2][2]), on_loop=True)
    finally:
        document_text.read = threaded
    results["pdf 500 pages, on the loop"] = {"scan_ms_p50": round(scan, 1), "loop_longest_wait_ms": round(waited, 1)}
    print(f"{'pdf 500 pages, on loop':24}{'':>8}{scan:>13.1f}{waited:>16.1f}")
    rng = random.Random(11)
    for on_loop in (False, True):
        for label, text in (("prose", "\n".join(LINE.format(n=n, d=n % 9) for n in range(11_000))[:1_000_000]),
                            ("never seen", random_words_and_punctuation(1_000_000, rng))):
            name = f"text 1 MB {label}" + (", on loop" if on_loop else "")
            scan, waited = scan_watching_the_loop(scanner, user_turn(text), on_loop=on_loop, clean=False)
            results[name] = {"kb": 976, "scan_ms_p50": round(scan, 1), "loop_longest_wait_ms": round(waited, 1)}
            print(f"{name:24}{976:>8}{scan:>13.1f}{waited:>16.1f}")
    write_results("bench/results/documents.json", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
