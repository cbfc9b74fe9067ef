"""Payment cards and their security codes: Luhn, issuer ranges and code wording, not order numbers or counts."""

from __future__ import annotations

import re
from typing import Any, Iterator
from urllib.parse import unquote

import re2

from kong_plugins.guardrails import card_context
from kong_plugins.guardrails.folding import latin_letters
from kong_plugins.guardrails.identifiers import gtin_valid, in_iban
from kong_plugins.guardrails.patterns import PerTextValidator, Validator, compile_pattern

# --- payment cards ---------------------------------------------------------------------------
_GAP = r"(?: ?- ?| {1,3})?"
"""What may sit between two digits of a card: nothing, up to three spaces (a card copied out of a PDF), or a
hyphen with a space either side (`4111 - 1111 - ...`); Unicode spaces and dashes arrive folded to these (see
guardrails.folding)."""
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


def _group_runs(number: str, shortest: int) -> Iterator[tuple[str, list[str]]]:
    """The digits of each run of whole groups in `number` with `shortest` to 19 digits, and its groups: a card
    may sit beside other groups in one run (`4111 1111 1111 1111 07/27`, the expiry's month; `ref 12 4111
    ...`), and the patterns take the longest run."""
    groups = _SEPARATORS.split(number)
    for first in range(len(groups)):
        digits = ""
        for last in range(first, len(groups)):
            digits += groups[last]
            if len(digits) > 19:
                break
            if len(digits) >= shortest:
                yield digits, groups[first:last + 1]


_ISSUED_LAYOUTS = frozenset({(4, 6, 5), (4, 6, 4)})   # Amex, Diners


def _printed_as_card(groups: list[str]) -> bool:
    """Cards are printed whole, in fours (the last group shorter on 13-, 15- and 19-digit cards), as Amex's
    4-6-5 or Diners' 4-6-4, or digit by digit or in pairs (read out). Other groupings are other numbers: an
    Amazon order id (3-7-7), a phone number (`+49 151 23456787`), a postcode ending one CSV row and an order id
    starting the next (`44135\n10023303`), a list of 8-digit order ids, one a line. Each is a Luhn-valid card of
    a known issuer about one time in ten. Just after a card's name (_NAMED_AS_A_CARD) any grouping counts."""
    sizes = tuple(len(group) for group in groups)
    return (len(sizes) == 1 or all(size == 4 for size in sizes[:-1]) and sizes[-1] <= 4
            or sizes in _ISSUED_LAYOUTS or all(size <= 2 for size in sizes[:-1]) and sizes[-1] <= 2)


def _is_card(number: str, any_grouping: bool = False) -> bool:
    """A run of `number` that is a known issuer's, passes Luhn, is grouped as a card (or `any_grouping`), and is
    not an unbroken 13- or 14-digit barcode."""
    return any(known_issuer(digits) and luhn_valid(digits)
               and (any_grouping or _printed_as_card(groups))
               and not (len(groups) == 1 and len(digits) in (13, 14) and gtin_valid(digits))
               for digits, groups in _group_runs(number, 13))


_NAMED_AS_A_CARD = re.compile(
    rb"(?<![^\W_])(?:" + card_context.CARD_NAMES + rb"|pan)" + card_context.WORD_ENDS +
    rb"(?:[ \t]*(?:no\.?|number|nr\.?|#))?(?:[ \t#=.-]{0,4}|[ \t]*:[ \t]*\n?[ \t]*)\Z", re.I)
"""A card's name just before the number (`Card: 41111111 11111111`, an OCR'd receipt's `VISA 4111 111 1 1111
1111`, `pan 411111 1111111111`): then a number grouped any way is a card. Only just before it: pay, paid or a
card's name further off sit beside order ids, barcodes and phone numbers in every order export (a reviewer
measured 5-40% of such samples blocked with a wider window). A line break only after a colon (`Visa:`): an
export's `card` column ends a row whose next row starts with an order id."""


def _named_as_a_card(text: bytes, start: int) -> bool:
    """Look-alike letters are read as Latin (`Сard:` with a Cyrillic С): see card_context.near_a_card_word."""
    if _NAMED_AS_A_CARD.search(text, max(0, start - 40), start):
        return True
    before = text[max(0, start - 40):start]
    return not before.isascii() and bool(_NAMED_AS_A_CARD.search(latin_letters(before)))


def _not_a_card_anyway(text: bytes, m: "re2._Match") -> bool:
    """Digits in a table of hex words or a valid IBAN, or after a `+` (an international phone number)."""
    start, end = m.span(1)
    return _in_hex_table(text, m) or in_iban(text, start, end) or text[start - 1:start] == b"+"


def _pan_valid(text: bytes, m: "re2._Match") -> bool:
    number = m.group(1).decode()
    if _not_a_card_anyway(text, m):
        return False
    return _is_card(number) or _is_card(number, any_grouping=True) and _named_as_a_card(text, m.start(1))


_FIELD_SEPARATORS = b",;|\t"


def _wrapped_pan_valid(text: bytes, m: "re2._Match") -> bool:
    """A card wrapped once, grouped as printed or not (`41111111\n11111111`, a narrow box's cut). Not grouped as
    a card and not named as one, it must stand alone on its two lines (_alone_on_its_lines)."""
    number = m.group(1).decode()
    if _not_a_card_anyway(text, m) or not _is_card(number, any_grouping=True):
        return False
    return _is_card(number) or _named_as_a_card(text, m.start(1)) or _alone_on_its_lines(text, m)


def _alone_on_its_lines(text: bytes, m: "re2._Match") -> bool:
    """Its two lines hold nothing else a table would: no field separator beside it, no number starting the line
    above or below. Otherwise it is the end of one row and the start of the next (an export's postcode and order
    id, a list of order ids)."""
    start, end = m.span(1)
    first_line = text.rfind(b"\n", 0, start) + 1
    last_line_end = text.find(b"\n", end)
    last_line_end = len(text) if last_line_end < 0 else last_line_end
    before, after = text[first_line:start].rstrip(), text[end:last_line_end].lstrip()
    if before[-1:] and before[-1:] in _FIELD_SEPARATORS or after[:1] and after[:1] in _FIELD_SEPARATORS:
        return False
    above = text[text.rfind(b"\n", 0, max(first_line - 1, 0)) + 1:max(first_line - 1, 0)] if first_line else b""
    below = text[last_line_end + 1:last_line_end + 40]
    return not above.lstrip()[:1].isdigit() and not below.lstrip()[:1].isdigit()


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
    return _is_card(unquote(m.group(1).decode().replace("+", " ")), any_grouping=True)


_PAN_SHAPES: tuple[tuple["re2._Regexp", Validator], ...] = ((_PAN, _pan_valid), (_PAN_WRAPPED, _wrapped_pan_valid),
                                                            (_PAN_TABBED, _tabbed_pan_valid), (_PAN_DOTTED, _pan_valid))
_COUNTED_AT_MOST = 2000
"""Candidates read to count a text's cards: more are as many cards as a list needs (a table of order numbers)."""
_DIGITS = re.compile(r"\D")
_NOT_DIGITS = bytes(c for c in range(256) if not 48 <= c <= 57)


def _cards_in(text: bytes, shared: dict[str, Any], digits: str) -> int:
    """How many different cards `text` holds, read as if no label stood before them, up to 2 (once per text); 1
    at once where its digits besides a card's `digits` could not make another."""
    if "digits_in_text" not in shared:
        shared["digits_in_text"] = len(text.translate(None, _NOT_DIGITS))
    if shared["digits_in_text"] - len(digits) < 13:
        return 1
    if "cards_in_text" not in shared:
        shared["cards_in_text"] = _count_cards(text)
    return shared["cards_in_text"]


def _count_cards(text: bytes) -> int:
    """Cards in `text` by every card shape's own validator, up to 2; past _COUNTED_AT_MOST candidates, 2."""
    numbers: set[str] = set()
    examined = 0
    for pattern, valid in _PAN_SHAPES:
        for m in pattern.finditer(text):
            examined += 1
            if examined > _COUNTED_AT_MOST:
                return 2
            if valid(text, m):
                numbers.add(_DIGITS.sub("", m.group(1).decode()))
                if len(numbers) >= 2:
                    return 2
    return len(numbers)


def _labelled_otherwise(text: bytes, m: "re2._Match", shared: dict[str, Any]) -> bool:
    """A card-like number labelled as another identifier right before it (`Order #`, `invoice`, `tracking number`,
    `SKU`), with no card in its digits past the label's (`order 12 4111 1111 1111 1111`), no published test card at
    its start, nothing near it that speaks of a card and no other card in the text (two are a list of cards)."""
    start, end = m.span(1)
    label = card_context.label_before(text, start)
    if label < 0:
        return False
    number = m.group(1).decode()
    if _is_card(" ".join(_SEPARATORS.split(number)[1:]), any_grouping=True):
        return False
    digits = _DIGITS.sub("", number)
    if any(digits[:length] in card_context.TEST_CARDS for length in range(13, 20)):
        return False
    return not card_context.near_a_card_word(text, label, start, end) and _cards_in(text, shared, digits) < 2


class _UnlessLabelledOtherwise(PerTextValidator):
    """A card shape's validator, then the label rule (_labelled_otherwise): read only for numbers that are cards."""

    def __init__(self, card: Validator) -> None:
        self.card = card

    def bind(self, text: bytes, shared: dict[str, Any]) -> Validator:
        return lambda text, m: self.card(text, m) and not _labelled_otherwise(text, m, shared)


def _card_words_valid(text: bytes, m: "re2._Match") -> bool:
    """`card number 4000 ...`: any Luhn-valid number, unless it is a loyalty/gift/member card."""
    if (m.group(1) or b"").decode("utf-8", "replace").strip().lower() in _NOT_PAYMENT:
        return False
    return any(luhn_valid(digits) for digits, _ in _group_runs(m.group(2).decode(), 12))


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


_OF_A_TOTAL = re.compile(rb"(?:out\s+)?of\s+\d")
_CODE_THEN_CARD = re.compile(rb"(?:card|charge|decline)(?!s\b|\s+[a-z]+s\b)")
"""`CVV 737 card exp 12/27`, `cvv 123 declined`: a code, then the card or what happened to it. Counted, these
words come plural or before a plural (`312 declines`, `312 card declines`, `120 charges`)."""
_CODE_WORD = re.compile(rb"(?:cvv2?|cvc2?|security\s+code)\s+")
_COUNTED = re.compile(rb"\b(?:declines?|errors?|failures?|mismatch(?:es)?|rates?|counts?|checks?|attempts?|"
                      rb"went|rose|fell|total)\b")
"""Words a statistic about codes has between the code's name and its number (`CVV declines: 312`, `cvv errors
went from 120 to 312`), which a disclosed code does not (`CVV: 123`, `her security code is 123`)."""
_STATISTICS = re.compile(rb"\bavs\b\W{0,3}\d{2,4}\b(?![.,]?\s*(?:cvv|cvc))|\bdeclines\b(?!\s+every)|"
                         rb"\bdecline\s+(?:reasons?|rates?|report|stat)")
"""A sentence about decline statistics (`Top decline reasons: CVV 312, AVS 120`): address checks (AVS) counted
and declines in the plural are a report's words, not a customer's card (`cvv2=335 avs=Y` is a payment's)."""
_SENTENCE_END = re.compile(rb"[.!?\n]")
_SENTENCE_AHEAD = 200
_DISCLOSED_AS = re.compile(rb"\b(?:is|was|are|were|says?|said|gave|reads?|typed|entered)\b")
"""A code named as a value (`the CVV that failed was 123`, `CVV attempts: customer says 123`): never a count."""


def _cvv_valid(text: bytes, m: "re2._Match") -> bool:
    """A code, not a count ("312 CVV failures", "cvv checks failed on 120 orders", "312 of 5000 orders")."""
    number_start, number_end = m.span(1) if m.start(1) >= 0 else (m.start(2), m.end())
    following = text[number_end:number_end + 40].lstrip().lower()
    code_word = _CODE_WORD.match(following)
    following = following[code_word.end():] if code_word else following
    counted = following.startswith(_UNITS) and not _CODE_THEN_CARD.match(following)
    if counted or _OF_A_TOTAL.match(following) or text[max(0, m.start() - 1):m.start()] == b"$":
        return False
    wording = text[m.start():number_start].lower()
    if _DISCLOSED_AS.search(wording):
        return True
    if _COUNTED.search(wording):
        return False
    sentence_start = max((end.end() for end in _SENTENCE_END.finditer(text, max(0, m.start() - 120), m.start())),
                         default=max(0, m.start() - 120))
    sentence_end = _SENTENCE_END.search(text, number_end, number_end + _SENTENCE_AHEAD)   # bounded: candidates x
    return not _STATISTICS.search(                                                        # text would be quadratic
        text[sentence_start:sentence_end.start() if sentence_end else number_end + _SENTENCE_AHEAD].lower())


PAYMENT_CARD: tuple[tuple["re2._Regexp", Validator | PerTextValidator], ...] = (
    *((pattern, _UnlessLabelledOtherwise(valid)) for pattern, valid in _PAN_SHAPES),
    (_PAN_FORM_ENCODED, _form_encoded_pan_valid), (_CARD_WORDS, _card_words_valid))
CVV: tuple[tuple["re2._Regexp", Validator], ...] = ((_CVV, _cvv_valid),)
TABLE_PRONE = frozenset({id(_PAN_WRAPPED), id(_PAN_TABBED)})
"""Patterns a table's rows match by the thousand (a number ending one row, another starting the next; a row of
four-digit columns): past the candidate limit they stop looking and find nothing, where other patterns'
candidates past it are a finding. A spreadsheet of 20,000 orders is not a hidden card."""
SPAN_GROUPS = {id(_PAN): (1,), id(_PAN_WRAPPED): (1,), id(_PAN_TABBED): (1,), id(_PAN_DOTTED): (1,),
               id(_PAN_FORM_ENCODED): (1,), id(_CARD_WORDS): (2,), id(_CVV): (1, 2)}
"""What a redaction replaces: the number itself, not the words around it."""
