"""Payment cards and their security codes: Luhn, issuer ranges and code wording, not order numbers or counts."""

from __future__ import annotations

import re
from typing import Iterator
from urllib.parse import unquote

import re2

from kong_plugins.guardrails.patterns import Validator, compile_pattern

# --- payment cards ---------------------------------------------------------------------------
_GAP = r"(?: ?- ?| {1,2})?"
"""What may sit between two digits of a card: nothing, a space or two, or a hyphen with a space either side
(`4111 - 1111 - ...`); Unicode spaces and dashes arrive folded to these (see guardrails.folding)."""
_PAN = compile_pattern(rf"(?:^|[^\d\w-])((?:\d{_GAP}){{12,18}}\d)(?:$|[^\d\w-])")
_PAN_WRAPPED = compile_pattern(rf"(?:^|[^\d\w-])((?:\d{_GAP}){{3,17}}\d[ \t]*-?[ \t]*\r?\n[ \t]*(?:\d{_GAP}){{3,17}}\d)"
                               r"(?:$|[^\d\w-])")
"""A card wrapped once by an e-mail client or a narrow text box (`4111 1111\n1111 1111`), at least a group of
four on each line; one line break only, so a column of four-digit amounts is not read as one number."""
_TAB = r" ?\t ?"
_PAN_TABBED = compile_pattern(rf"(?:^|[^\d\w\t.-])(\d{{4}}(?:{_TAB}\d{{4}}){{2,3}}{_TAB}\d{{1,7}}|"
                              rf"\d{{4}}{_TAB}\d{{6}}{_TAB}\d{{4,5}})(?:$|[^\d\w\t.-])")
"""4111<tab>1111<tab>1111<tab>1111: a card's own groups (four, or Amex's 4-6-5) with tabs between, as a form of
four fields pastes them. Not in `_GAP`: tab-separated numbers are a table's columns, any run of them a number."""
_NEAR = 512
"""How far around a tab-separated card to look for the tabs of a table (bytes)."""
_PAN_DOTTED = compile_pattern(r"(?:^|[^\d\w.])(\d{4}\.\d{4}\.\d{4}\.\d{1,7})(?:$|[^\d\w.])")
"""4111.1111.1111.1111 (groups of four only: any run of digits and dots would take in decimals)."""
_PAN_FORM_ENCODED = compile_pattern(r"(?:^|[^\d\w%+])(\d{4}(?:(?:\+|%20|%2[dD])\d{3,7}){2,4})(?:$|[^\d\w%+])")
"""card=4111+1111+1111+1111 or 5555%205555%20...: a form body or a logged query string."""
_CARD_WORDS = compile_pattern(r"(\w+\s+)?\b(?:card\s*(?:number|no\.?|#)|credit\s*card|debit\s*card|cc\s*(?:number|#))"
                              rf"\s*(?:is|was|:|=|#)?\s*((?:\d{_GAP}){{11,18}}\d)")
_NOT_PAYMENT = ("loyalty", "gift", "member", "membership", "library", "sim", "id", "insurance", "health", "rewards",
                "store", "discount", "access", "key")
_IIN: tuple[tuple[int, int, range | tuple[int, ...]], ...] = (
    # (first prefix, last prefix, card lengths): ISO/IEC 7812 issuer ranges as the networks publish them
    (4, 4, range(13, 20)), (34, 34, (15,)), (37, 37, (15,)), (51, 55, (16,)), (2221, 2720, (16,)),   # Visa, Amex, MC
    (6011, 6011, range(16, 20)), (65, 65, range(16, 20)), (644, 649, range(16, 20)),                 # Discover
    (3528, 3589, range(16, 20)), (36, 36, range(14, 20)), (38, 38, range(14, 20)), (300, 305, range(14, 20)),  # JCB, Diners
    (62, 62, range(16, 20)), (81, 81, range(16, 20)),                                                # UnionPay
    (5018, 5018, range(13, 20)), (5020, 5020, range(13, 20)), (5038, 5038, range(13, 20)),           # Maestro
    (5893, 5893, range(13, 20)), (6304, 6304, range(13, 20)), (6759, 6759, range(13, 20)),
    (6761, 6763, range(13, 20)),
    (2200, 2204, range(16, 20)), (9792, 9792, (16,)), (5019, 5019, (16,)),                           # Mir, Troy, Dankort
    (504175, 504175, (16,)), (506699, 506778, (16,)), (509000, 509999, (16,)), (627780, 627780, (16,)),  # Elo
    (636297, 636297, (16,)), (636368, 636368, (16,)),
    (506099, 506198, (16, 18, 19)), (507865, 507964, (16, 18, 19)), (650002, 650027, (16, 18, 19)),  # Verve
    (60, 60, (16,)), (82, 82, (16,)), (508, 508, (16,)),                                             # RuPay
)
"""A number counts as a card only if it starts with one of these, at a length that network issues, and
passes Luhn."""


def luhn_valid(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for index, char in enumerate(digits):
        d = ord(char) - 48
        if index % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _by_first_digit() -> dict[str, list[tuple[int, int, int, range | tuple[int, ...]]]]:
    """_IIN as (prefix width, first, last, lengths) by leading digit: a candidate checks a few ranges, not all."""
    table: dict[str, list[tuple[int, int, int, range | tuple[int, ...]]]] = {}
    for low, high, lengths in _IIN:
        table.setdefault(str(low)[0], []).append((len(str(low)), low, high, lengths))
    return table


_IIN_BY_FIRST_DIGIT = _by_first_digit()


def known_issuer(digits: str) -> bool:
    return any(len(digits) in lengths and low <= int(digits[:width]) <= high
               for width, low, high, lengths in _IIN_BY_FIRST_DIGIT.get(digits[:1], ()))


_HEX_WORD = re.compile(rb"(?<![\w-])(?=[0-9A-Fa-f]*[0-9])(?=[0-9A-Fa-f]*[A-Fa-f])[0-9A-Fa-f]{4,5}(?![\w-])")


def _in_hex_table(text: bytes, m: "re2._Match") -> bool:
    """Groups of four digits inside a table of hex words (`xxd` output, Unicode code points: 51E8 5211 ...)
    are the table's, not a card: three words of digits and letters A-F within 100 bytes tell the table."""
    window = text[max(0, m.start() - 100):m.end() + 100]
    return len(_HEX_WORD.findall(window)) >= 3


_SEPARATORS = re.compile(r"[\s.-]+")


def _group_runs(number: str, shortest: int) -> Iterator[str]:
    """The digits of each run of whole groups in `number` with `shortest` to 19 digits: a card may sit beside
    other groups in one run (`4111 1111 1111 1111 07/27`, the expiry's month; `ref 12 4111 ...`), and the
    patterns take the longest run."""
    groups = _SEPARATORS.split(number)
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= shortest:
                yield digits


def _is_card(number: str) -> bool:
    return any(known_issuer(digits) and luhn_valid(digits) for digits in _group_runs(number, 13))


def _pan_valid(text: bytes, m: "re2._Match") -> bool:
    return _is_card(m.group(1).decode()) and not _in_hex_table(text, m)


def _tabbed_pan_valid(text: bytes, m: "re2._Match") -> bool:
    """Only with no other tab on its line or the lines either side: in a table (an export's rows, a sheet's
    cells, which documents read with tabs between) the groups are the row's columns, and four columns of
    four-digit numbers are a Luhn-valid card of a known issuer one row in thirty."""
    start, end = m.span(1)
    low, high = max(0, start - _NEAR), min(len(text), end + _NEAR)
    first, last = start, end - 1
    for _ in range(2):                                         # back to the start of the line above
        first = max(text.rfind(b"\n", low, first), low - 1)
        if first < low:
            break
    for _ in range(2):                                         # on to the end of the line below
        last = text.find(b"\n", last + 1, high)
        if last < 0:
            last = high
            break
    return text.find(b"\t", first + 1, start) < 0 and text.find(b"\t", end, last) < 0 and _pan_valid(text, m)


def _form_encoded_pan_valid(text: bytes, m: "re2._Match") -> bool:
    return _is_card(unquote(m.group(1).decode().replace("+", " ")))


def _card_words_valid(text: bytes, m: "re2._Match") -> bool:
    """`card number 4000 ...`: any Luhn-valid number, unless it is a loyalty/gift/member card."""
    if (m.group(1) or b"").decode("utf-8", "replace").strip().lower() in _NOT_PAYMENT:
        return False
    return any(luhn_valid(digits) for digits in _group_runs(m.group(2).decode(), 12))


# --- CVV -------------------------------------------------------------------------------------
_CVV = compile_pattern(
    r"(?:\b(?:cvv2?|cvc2?|cid|csc|cvn|security\s+code|sec\s+code|verification\s+(?:code|value|number)|"
    r"card\s+verification\w*|(?:3|three|4|four)\s+digits?\s+on\s+(?:the\s+)?(?:back|front)|"
    r"(?:little|small|short)\s+(?:number|code)\s+on\s+(?:the\s+)?back|c[oó]digo\s+de\s+seguridad|"
    r"pr[uü]fnummer|cryptogramme)\b"
    # the same in German, French, Italian, Spanish, Portuguese and Dutch (no \b after them: RE2's \b is ASCII)
    r"|\b(?:sicherheitscode|kartenpr[uü]fnummer|pr[uü]fziffer|pr[uü]fcode|code\s+de\s+s[ée]curit[ée]|"
    r"code\s+de\s+v[ée]rification|codice\s+di\s+(?:sicurezza|verifica)|c[oó]digo\s+de\s+seguran[çc]a|"
    r"c[oó]digo\s+de\s+verificaci[oó]n|c[oó]digo\s+cvv|beveiligingscode|verificatiecode))"
    r"[^.!?\n\d]{0,40}?(\d{3,4}|\d-\d-\d(?:-\d)?)\b"
    r"|\b(\d{3,4})\s+(?:is|was)\s+(?:the|my|his|her|their)\s+(?:cvv2?|cvc2?|security\s+code)\b")
_UNITS = tuple(unit.encode() for unit in (
    "second", "ms", "minute", "hour", "day", "%", "percent", "digit", "character", "order", "time", "attempt",
    "error", "request", "transaction", "customer", "failure", "decline", "card", "charge", "chargeback", "user",
    "account", "ip", "x ", "/",
    # the same counts in German, French, Spanish, Italian, Portuguese, Dutch
    "bestellung", "kunde", "transaktion", "fehler", "versuch", "mal ", "sekunde", "stunde", "tag", "commande", "client",
    "erreur", "tentative", "fois", "heure", "jour", "pedido", "cliente", "transacci", "intento", "vez", "veces",
    "ordin", "tentativ", "volte", "encomenda", "bestelling", "klant", "keer", "pogingen"))


def _cvv_valid(text: bytes, m: "re2._Match") -> bool:
    """A code, not a count ("312 CVV failures", "cvv checks failed on 120 orders")."""
    following = text[m.end():m.end() + 14].lstrip().lower()
    before = text[max(0, m.start() - 1):m.start()]
    return not following.startswith(_UNITS) and before != b"$"


PAYMENT_CARD: tuple[tuple["re2._Regexp", Validator], ...] = ((_PAN, _pan_valid), (_PAN_WRAPPED, _pan_valid),
                                                             (_PAN_TABBED, _tabbed_pan_valid),
                                                             (_PAN_DOTTED, _pan_valid),
                                                             (_PAN_FORM_ENCODED, _form_encoded_pan_valid),
                                                             (_CARD_WORDS, _card_words_valid))
CVV: tuple[tuple["re2._Regexp", Validator], ...] = ((_CVV, _cvv_valid),)
TABLE_PRONE = frozenset({id(_PAN_WRAPPED), id(_PAN_TABBED)})
"""Patterns a table's rows match by the thousand (a number ending one row, another starting the next; a row of
four-digit columns): past the candidate limit they stop looking and find nothing, where other patterns'
candidates past it are a finding. A spreadsheet of 20,000 orders is not a hidden card."""
SPAN_GROUPS = {id(_PAN): (1,), id(_PAN_WRAPPED): (1,), id(_PAN_TABBED): (1,), id(_PAN_DOTTED): (1,),
               id(_PAN_FORM_ENCODED): (1,), id(_CARD_WORDS): (2,), id(_CVV): (1, 2)}
"""What a redaction replaces: the number itself, not the words around it."""
