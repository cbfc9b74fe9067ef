"""A large prompt is scanned off the event loop: the loop's other greenlets (the relay's streams) run meanwhile."""

import base64
import json
import random
import string

import pytest

from kong_plugins.guardrails import document_text, scan_pool
from kong_plugins.guardrails.scanner import Scanner
from tests import document_files as files
from tests.event_loop import ticks_while

PAN = "4111 1111 1111 1111"


def never_seen_noise(size: int, seed: int) -> str:
    """Random words and punctuation: RE2 builds automaton states for each new stretch (hundreds of ms a MB)."""
    rng = random.Random(seed)
    parts, length = [], 0
    while length < size:
        part = "".join(rng.choices(string.ascii_letters + string.digits + ".,!?()[]{}:/+*&%$@", k=rng.randint(1, 12)))
        parts.append(part)
        length += len(part) + 1
    return " ".join(parts)[:size]


def user_turn(text: str) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": text}]}).encode()


def test_a_large_prompt_is_scanned_while_the_loop_runs_and_finds_what_a_scan_on_the_loop_finds():
    scanner = Scanner({})
    body = user_turn(never_seen_noise(600_000, seed=1) + f" my card is {PAN}")
    during, result = ticks_while(lambda: scan_pool.scan(scanner, body))
    assert result.found["payment_card"] == "block" and during >= 10, during
    during_on_loop, on_loop = ticks_while(lambda: scanner.scan(body))
    assert on_loop.found == result.found and during_on_loop == 0      # on the loop nothing else runs


def test_a_small_prompt_is_scanned_where_it_is():
    scanner = Scanner({})
    during, result = ticks_while(lambda: scan_pool.scan(scanner, user_turn(f"refund to {PAN} please")))
    assert result.found == {"payment_card": "block"} and during == 0


def test_a_redaction_made_on_the_scanner_thread_is_the_body_sent_on():
    scanner = Scanner({"payment_card": "redact"})
    body = user_turn("order notes " * 4000 + f"card {PAN}")
    result = scan_pool.scan(scanner, body)
    assert result.body is not None and PAN.encode() not in result.body
    assert result.body == scanner.scan(body).body


def test_a_document_in_a_large_body_is_read_on_the_scanner_thread_and_documents_on_the_loop_still_off_it(
        monkeypatch):
    monkeypatch.setattr(document_text, "_pool", None)      # as in a plugin server whose first document is here
    invoice = files.pdf(*[f"Page {n}: order line, 19.90 EUR " * 40 for n in range(60)], f"Paid with {PAN}")
    data = base64.b64encode(invoice).decode()
    body = json.dumps({"messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": data}},
        {"type": "text", "text": "Summarise the attachment"}]}]}).encode()
    assert len(body) > scan_pool.OFF_LOOP_BYTES
    assert scan_pool.scan(Scanner({}), body).found == {"payment_card": "block"}
    long_pdf = files.pdf(*[f"Page {n}: " + "order line, 19.90 EUR, shipped " * 6 for n in range(300)])
    during, read = ticks_while(lambda: document_text.read("pdf", long_pdf))
    assert read.text.count("Page ") == 300 and during >= 20, during   # the readers' pool serves the loop's hub


def test_a_large_moderation_input_is_judged_off_the_loop_and_a_bad_one_raises_the_clients_error():
    from kong_plugins.formats.body import RequestError
    from kong_plugins.guardrails import moderation
    scanner = Scanner({})
    body = json.dumps({"input": never_seen_noise(600_000, seed=3) + f" card {PAN}"}).encode()
    during, answer = ticks_while(lambda: scan_pool.run(len(body), moderation.moderate, scanner, body))
    assert answer["results"][0]["categories"]["payment_card"] is True and during >= 10, during
    bad = json.dumps({"input": [{"type": "audio"}], "padding": "x" * 40_000}).encode()
    with pytest.raises(RequestError, match="input.0.type"):
        scan_pool.run(len(bad), moderation.moderate, scanner, bad)
