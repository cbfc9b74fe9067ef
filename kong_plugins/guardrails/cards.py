"""Payment cards and their security codes: Luhn, issuer ranges and code wording, not order numbers or counts."""

from __future__ import annotations

import re2

from kong_plugins.guardrails.patterns import Validator, compile_pattern

# --- payment cards ---------------------------------------------------------------------------
_PAN = compile_pattern(r"(?:^|[^\d\w-])((?:\d[ -]?){12,18}\d)(?:$|[^\d\w-])")
_CARD_WORDS = compile_pattern(r"(\w+\s+)?\b(?:card\s*(?:number|no\.?|#)|credit\s*card|debit\s*card|cc\s*(?:number|#))"
                              r"\s*(?:is|was|:|=|#)?\s*((?:\d[ -]?){11,18}\d)")
_NOT_PAYMENT = ("loyalty", "gift", "member", "membership", "library", "sim", "id", "insurance", "health", "rewards",
                "store", "discount", "access", "key")
_IIN = ((("4",), range(13, 20)), (("34", "37"), (15,)), (("51", "52", "53", "54", "55"), (16,)),
        (tuple(str(n) for n in range(2221, 2721)), (16,)), (("6011", "65") + tuple(str(n) for n in range(644, 650)),
                                                            range(16, 20)),
        (tuple(str(n) for n in range(3528, 3590)), range(16, 20)), (("36", "38", "300", "301", "302", "303", "304",
                                                                     "305"), range(14, 20)),
        (("62",), range(16, 20)))


def luhn_valid(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for index, char in enumerate(digits):
        d = ord(char) - 48
        if index % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def known_issuer(digits: str) -> bool:
    return any(digits.startswith(prefixes) and len(digits) in lengths for prefixes, lengths in _IIN)


def _pan_valid(text: bytes, m: "re2._Match") -> bool:
    digits = "".join(c for c in m.group(1).decode() if c.isdigit())
    return 13 <= len(digits) <= 19 and known_issuer(digits) and luhn_valid(digits)


def _card_words_valid(text: bytes, m: "re2._Match") -> bool:
    """`card number 4000 ...`: any Luhn-valid number, unless it is a loyalty/gift/member card."""
    if (m.group(1) or b"").decode("utf-8", "replace").strip().lower() in _NOT_PAYMENT:
        return False
    digits = "".join(c for c in m.group(2).decode() if c.isdigit())
    return 12 <= len(digits) <= 19 and luhn_valid(digits)


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


PAYMENT_CARD: tuple[tuple["re2._Regexp", Validator], ...] = ((_PAN, _pan_valid), (_CARD_WORDS, _card_words_valid))
CVV: tuple[tuple["re2._Regexp", Validator], ...] = ((_CVV, _cvv_valid),)
SPAN_GROUPS = {id(_PAN): (1,), id(_CARD_WORDS): (2,), id(_CVV): (1, 2)}
"""What a redaction replaces: the number itself, not the words around it."""
