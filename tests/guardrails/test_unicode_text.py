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


def test_fold_keeps_every_visible_character_in_place_and_ascii_as_it_is():
    text = "a\u00a0b\u2013c４d٣e😊f\u200bg\u200e\U000e0041"
    folded = fold(text.encode())
    assert folded.data == "a b-c4d3e😊fg".encode()
    before_g = len("a b-c4d3e😊f".encode())
    assert folded.dropped == (before_g, before_g + 1, before_g + 1)       # where each would be in folded.data
    assert len(folded.data.decode()) + len(folded.dropped) == len(text)
    ascii_text = b"plain ascii 4111-1111"
    assert fold(ascii_text).data is ascii_text and fold(ascii_text).dropped == ()
    controls = fold(b"nul\x00 and bell\x07 go, tab\t and newline\n stay")
    assert controls.data == b"nul and bell go, tab\t and newline\n stay" and controls.dropped == (3, 12)


def test_the_fold_table_covers_every_unicode_digit_space_dash_and_invisible_character():
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
        elif category == "Cf" or code_point in DEFAULT_IGNORABLE:
            expected[char] = ""
    folded = {char.decode(): ascii_byte.decode() for char, ascii_byte in ASCII.items()}
    assert {c: folded.get(c) for c in expected} == expected
    assert folded["\uff21"] == "A" and folded["\u2212"] == "-" and folded["\u200b"] == "" and folded["\x00"] == ""


DEFAULT_IGNORABLE = {0x34F, 0x115F, 0x1160, 0x17B4, 0x17B5, *range(0x180B, 0x1810), 0x2065, 0x3164,
                     *range(0xFE00, 0xFE10), 0xFFA0, *range(0xFFF0, 0xFFF9), *range(0xE0000, 0xE1000)}
"""Unicode's Default_Ignorable_Code_Point beyond category Cf (DerivedCoreProperties.txt; unicodedata has no
such property)."""
INVISIBLE = ["\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\ufe00",
             "\ufe0f", "\u034f", "\u180e", "\U000e0000", "\U000e0041", "\U000e007f", "\x00", "\u00ad", "\u200b",
             "\u2060", "\ufeff"]


@pytest.mark.parametrize("invisible", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_characters_between_the_digits_hide_nothing(invisible):
    """Bidi marks, variation selectors, Unicode tags, NUL...: any number of them, between any two digits."""
    for written in (invisible.join("4111111111111111"), (invisible * 3).join(["4111", "1111", "1111", "1111"]),
                    f"4111 {invisible} 1111 {invisible} 1111 {invisible} 1111"):
        assert scan(f"charge {written} today").blocked == ["payment_card"]
        result = scan(f"charge {invisible}{written}{invisible} today", payment_card="redact")
        redacted = json.loads(result.body)["messages"][0]["content"]
        assert redacted == f"charge {invisible}[REDACTED:payment_card]{invisible} today"
    assert scan(invisible.join("4111111111111112")).found == {}                 # fails Luhn


def test_invisible_characters_inside_words_hide_nothing():
    assert scan("my pass\u00adword is Tr0ub4dor&3x").blocked == ["credentials"]
    assert scan("C\u200dV\u200dV: 913").blocked == ["cvv"]


def test_text_full_of_invisible_characters_is_no_finding():
    """Emoji sequences (joiners, variation selectors, tag flags), right-to-left text with its marks, a BOM."""
    for text in ["\ufeffgreat service 👍🏽❤\ufe0f 👨\u200d👩\u200d👧 🏴\U000e0067\U000e0062\U000e0065\U000e006e"
                 "\U000e0067\U000e007f order 5521",
                 "\u05d4\u05d6\u05de\u05e0\u05d4 \u200f5521\u200f \u202b\u05e0\u05e9\u05dc\u05d7\u05d4\u202c 2026",
                 "\u0627\u0644\u0637\u0644\u0628 \u061c4111 1111\u061c 2026"]:
        assert scan(text).found == {}, text
