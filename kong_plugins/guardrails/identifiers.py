"""Numbers that pass a payment card's checksum but are something else: bank accounts (IBAN) and barcodes (GTIN).

One in ten random numbers of a card's length passes Luhn, and many start like a card (4, 5, 6). An IBAN's
digits or an EAN barcode pasted by operations staff must not read as a card; each has its own check, which a
card number passes only by chance (IBAN: a registered country, its length and mod 97; GTIN: its check digit).
"""

from __future__ import annotations

import re

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}
"""ISO 13616's registry (SWIFT, 2025): each country's IBAN length. `DE88 4111 1111 1111 1111` is no IBAN."""

_IBAN = re.compile(rb"(?<![A-Za-z0-9])([A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)(?![A-Za-z0-9])")


def iban_valid(iban: bytes) -> bool:
    """A registered country, its length, and mod 97 of the number (country and check digits moved to the end,
    letters as 10-35) is 1."""
    compact = iban.replace(b" ", b"").decode()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    return int("".join(str(int(char, 36)) for char in compact[4:] + compact[:4])) % 97 == 1


def in_iban(text: bytes, start: int, end: int) -> bool:
    """`text[start:end]` lies inside a valid IBAN (`DE02 6005 0101 7400 0001 37`)."""
    window_start = max(0, start - 40)
    return any(found.start(1) + window_start <= start and end <= found.end(1) + window_start
               and iban_valid(found.group(1)) for found in _IBAN.finditer(text[window_start:end + 40]))


def gtin_valid(digits: str) -> bool:
    """A GTIN-13/14 (EAN barcode) check digit: weights 3 and 1 from the right. A 13-digit Visa was last issued
    decades ago, while an EAN-13 from a German GS1 prefix (400-440) is a Luhn-valid Visa number one time in ten."""
    total = sum((1 if index % 2 else 3) * (ord(char) - 48) for index, char in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == ord(digits[-1]) - 48
