"""Cards and codes written with Unicode spaces, dashes and digits, as text copied from a web page, an e-mail,
Word or a Japanese input method carries them: found, and redacted exactly where the client wrote them."""

import json
import sys
import unicodedata

import pytest

from kong_plugins.guardrails.folding import ASCII, fold
from kong_plugins.guardrails.scanner import Scanner


def scan(text, **config):
    request = {"model": "haiku", "messages": [{"role": "user", "content": text}]}
    return Scanner(config).scan(json.dumps(request, ensure_ascii=False).encode())


@pytest.mark.parametrize("separator", ["\u00a0", "\u202f", "\u2009", "\u2007", "\u3000", "\u2013", "\u2014",
                                       "\u2010", "\u2011", "\u2212", "\uff0d", " - ", " \u2013 ", "  ", "\u00ad",
                                       "\u200b", "\u2060"])
def test_a_card_with_unicode_separators_is_blocked(separator):
    groups = ["4111", "1111", "1111", "1111"]
    assert scan(f"charge card {separator.join(groups)} for order 60417").blocked == ["payment_card"]
    assert scan(f"order ref {separator.join(['4111', '1111', '1111', '1112'])}").found == {}   # fails Luhn


@pytest.mark.parametrize("digits", ["０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९",
                                    "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"])
def test_a_card_in_other_scripts_digits_is_blocked(digits):
    """Full-width (a Japanese or Chinese input method), Arabic-Indic, Persian, Devanagari, mathematical bold."""
    written = "5555555555554444".translate(str.maketrans("0123456789", digits))
    assert scan(f"カード番号：{written}").blocked == ["payment_card"]
    assert scan(f"ＣＶＶ：{'123'.translate(str.maketrans('0123456789', digits))}").blocked == ["cvv"]


def test_redaction_replaces_the_number_as_written_and_keeps_the_text_around_it():
    text = "Kundin zahlt mit 4111\u00a01111\u00a01111\u00a01111 – Prüfnummer ١٢٣ – danke 😊 ４２ Stück"
    result = scan(text, payment_card="redact", cvv="redact")
    redacted = json.loads(result.body)["messages"][0]["content"]
    assert redacted == "Kundin zahlt mit [REDACTED:payment_card] – Prüfnummer [REDACTED:cvv] – danke 😊 ４２ Stück"


def test_prose_with_dashes_no_break_spaces_and_wide_digits_is_not_a_finding():
    for text in ["Umsatz 2023\u00a0–\u00a02024: 4\u202f111\u202f111 €, Marge 11\u00a0%",
                 "注文番号：４１１１１１１１１１１１１１１２ を確認してください",
                 "Q1\u2009–\u2009Q4 — 1\u00a0111 — 1\u00a0111 — 1\u00a0111 orders",
                 "Telefon\u00a0+49\u00a030\u00a012345678, Fax\u00a0–\u00a0keins"]:
        assert scan(text).found == {}, text


def test_fold_keeps_one_character_per_character_and_ascii_as_it_is():
    text = "a\u00a0b\u2013c４d٣e😊f\u200bg"
    folded = fold(text.encode())
    assert folded == "a b-c4d3e😊f g".encode()
    assert len(folded.decode()) == len(text)
    ascii_text = b"plain ascii 4111-1111"
    assert fold(ascii_text) is ascii_text


def test_the_fold_table_covers_every_unicode_digit_space_and_dash():
    """The table is written out (computing it takes 0.16 s of startup); this checks it against unicodedata."""
    expected = {}
    for code_point in range(0x80, sys.maxunicode + 1):
        char = chr(code_point)
        category = unicodedata.category(char)
        if category == "Nd":
            expected[char] = str(unicodedata.decimal(char))
        elif category == "Zs":
            expected[char] = " "
        elif category == "Pd":
            expected[char] = "-"
    folded = {char.decode(): ascii_byte.decode() for char, ascii_byte in ASCII.items()}
    assert {c: folded.get(c) for c in expected} == expected
    assert folded["\uff21"] == "A" and folded["\u2212"] == "-" and folded["\u200b"] == " "
