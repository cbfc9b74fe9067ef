"""The words around a number that passes a card's checks: is it labelled as something else, or named as a card?

A 16-digit order, invoice or tracking number starting with 4 or 5 passes Luhn one time in ten. DLP tools (Google
Cloud DLP's hotword rules, Macie, Purview) lower a card match's likelihood when another identifier's label stands
right before it and raise it when card words are near. Here the label only clears a number when nothing near it
speaks of a card (a card's name, an expiry date, a security code, a payment): PCI scope matters more than an
analyst's convenience, so every doubt keeps the number a card.
"""

from __future__ import annotations

import re

from kong_plugins.guardrails.folding import latin_letters

LABEL_BEFORE = 40
"""How far before a number its label may start (bytes): `Purchase order number: #` fits."""
NEAR = 100
"""How far either side of a labelled number a card word or an expiry date keeps it a card (bytes)."""

_LABELS = (
    # English: what operations staff number besides cards (no `account`, `customer`, `member`, `transaction` or
    # `receipt`: those are the card's holder's or its payment's, and a receipt prints the card)
    r"orders?|purchase[ \t]+orders?|po|invoices?|inv|tracking|track|shipments?|parcels?|packages?|"
    r"consignments?|waybills?|awb|deliver(?:y|ies)|references?|ref|sku|items?|articles?|products?|ean|upc|gtin|"
    r"isbn|asin|tickets?|cases?|incidents?|rma|returns?|bookings?|reservations?|confirmations?|quotes?|"
    # the shop's other languages: order, invoice, shipment, reference
    r"bestell(?:ung|nummer)|rechnung(?:snummer)?|sendung(?:snummer)?|auftrag(?:snummer)?|lieferschein|"
    r"commande|facture|colis|r(?:e|é)f(?:e|é)rence|pedido|factura|env(?:i|í)o|ordine|fattura|spedizione|bestelling|"
    r"factuur|zending|encomenda|fatura|zam(?:o|ó)wienie|faktura|przesy(?:l|ł)ka"
)
_LABELLED = re.compile(
    rb"(?:\bgift[ \t_-]?card[ \t_-]?)?\b(?:" + _LABELS.encode() + rb")\.?"
    rb"(?:[ \t_-]?(?:id|no\.?|nr\.?|n(?:\xc2\xb0|\xc2\xba)|number|num|numero|n\xc3\xbamero|nummer|numer|#|code|ref))?"
    rb"[\"']?(?:[ \t]+(?:is|was))?[ \t]*[#:=]?[ \t]*[\"']?[ \t]*#?[ \t]*\Z", re.I)
"""`Order #`, `invoice no. `, `tracking number `, `"order_id": "`, `SKU: `, `ticket `, `gift card reference `,
`Bestellnummer `: the label ends where the number starts. A gift card's order or reference names what was bought,
not the card (a `gift card number` is no label: prepaid Visa and Mastercard gift cards are payment cards)."""

_STARTS = rb"(?=[a-z])(?:(?<![^\W_])|(?<=(?-i:[a-z]))(?=(?-i:[A-Z])))"
WORD_ENDS = rb"(?![^\W_]|[\xc3-\xdf])"
"""No letter or digit follows, of ASCII or of another alphabet (a UTF-8 lead byte of Latin-1's letters to Cyrillic's,
Greek's...): `expédiée` (shipped) holds no `exp`, where a bytes regexp's `\\b` saw one."""
_ENDS = rb"(?:" + WORD_ENDS + rb"|(?<=(?-i:[a-z]))(?=(?-i:[A-Z])))"
"""A word's edges in prose and in a field's name too: `_` and a camelCase hump end a word (`card_holder_name`,
`cardNumber`, `exp_month`, `creditCard`), where `\\b` saw one word; `DISCOVERY` and `EXPORT` hold no word. A word
starts with a letter: a run of `_` is not tried at each of its bytes."""
_LETTERS = rb"(?:[a-z]|[\xc3-\xdf][\x80-\xbf])*"
"""The rest of a compound, accented letters too (`Kartenprüfnummer`, `płatniczą`)."""
CARD_NAMES = (
    rb"cards?|credit|debit|visa|master[ \t]?card|amex|american[ \t]+express|discover|diners|jcb|union[ \t]?pay|maestro|"
    rb"cc|(?-i:CB)|"
    # the card's name in the shop's languages, plural and compounded (Girokarte, creditcardnummer, kartą); CB: carte
    # bancaire, as French receipts and order pages name a card
    rb"[a-z]*karten?" + _LETTERS + rb"|tarjetas?|cartes?|carta|cart(?:a|\xc3\xa3)o|cart(?:o|\xc3\xb5)es|"
    rb"[a-z]*kaart" + _LETTERS + rb"|creditcard" + _LETTERS + rb"|(?:bank|betaal|pin)pas(?:sen)?|"
    rb"kart(?:a|y|\xc4\x85|\xc4\x99|om|ami|ach)|karcie")
"""A payment card's names (a regexp's alternatives, case-insensitive but for CB): cards.py reads a number just
after one as a card however it is grouped; here one near a labelled number keeps it a card."""
_CARD_WORDS = (
    _STARTS + rb"(?:" + CARD_NAMES + rb"|card[ \t]?holders?|cvv2?|cvc2?|csc|security[ \t]+code|exp|expiry|"
    rb"expir(?:es|ed|ation)|valid[ \t]+(?:thru|through|until)|payments?|(?:pay|paid|paying|charged?|billed?)[ \t]+"
    rb"(?:it[ \t]+)?(?:with|using|via|by)|charged?[ \t]+(?:it[ \t]+)?(?:to|on)|"
    # paid with... in the shop's languages: payée par, réglé en, pagado con, bezahlt mit, betaald met, pago com
    rb"pay(?:\xc3\xa9|e)e?s?[ \t]+(?:par|avec|en)|r(?:\xc3\xa9|e)gl(?:\xc3\xa9|e)e?s?[ \t]+(?:par|avec|en)|"
    rb"pagad[oa]s?[ \t]+con|pagat[oa][ \t]+con|(?:be|ge)?zahlt[ \t]+mit|betaald[ \t]+met|pag[oa][ \t]+com|"
    rb"kredytow" + _LETTERS + rb"|p\xc5\x82atnicz" + _LETTERS + rb")" + _ENDS +
    rb"|(?-i:\bPAN\b)|\bpan\b[\"']?[ \t]*[:=]")
_EXPIRY = rb"(?<![\d/.])(?:0?[1-9]|1[0-2])[ \t]?/[ \t]?(?:\d{2}|20\d{2})(?![\d/.])"
"""`12/27`, `09 / 2028`: a card's expiry (a full date, `06/03/2024`, is not one)."""
_OF_A_CARD = re.compile(_CARD_WORDS + rb"|" + _EXPIRY, re.I)

TEST_CARDS = frozenset((
    # Stripe, Adyen, Braintree, PayPal, Worldpay, Checkout.com: the numbers their sandboxes publish
    "4111111111111111", "4242424242424242", "4000056655665556", "4012888888881881", "4222222222222",
    "4000000000000002", "4000000000009995", "4000000000000077", "4000000000003220", "4000002500003155",
    "4000000000000069", "4000000000000127", "4000000000000119", "4000000000000101", "4000000000000341",
    "4917610000000000", "4462030000000000", "4484070000000000", "4012000033330026", "4005519200000004",
    "4009348888881881", "4000000000000010", "4000000000000028", "4000000000000036", "4000000000000000006",
    "4917484589897107", "4035501000000008", "4166676667666746", "4646464646464644", "4988438843884305",
    "5555555555554444", "5105105105105100", "5200828282828210", "2223003122003222", "5454545454545454",
    "5425233430109903", "2222400070000005", "5555341244441115", "2221000000000009", "2223000048400011",
    "5100000000000008", "5500000000000004", "5555555555555557", "2223520043560014",
    "378282246310005", "371449635398431", "378734493671000", "340000000000009", "370000000000002",
    "6011111111111117", "6011000990139424", "6011981111111113", "6445644564456445", "6011000400000000",
    "30569309025904", "38520000023237", "36227206271667", "3056930009020004", "36700102000000",
    "3530111333300000", "3566002020360505", "3566111111111113", "3569990010095841",
    "6200000000000005", "6205500000000000004", "6250946000000016",
    "6759649826438453",
))
"""Published test cards. Always cards, labelled or not: a real order or invoice number equals one of them about
never, while `invoice 4111 1111 1111 1111` is how anyone would check whether a label gets a card through. They
carry no cardholder's data, but the gateway cannot tell a pasted test card's context from a real one's, and a
developer can write `the Visa test card` instead."""


def label_before(text: bytes, start: int) -> int:
    """Where the label of another identifier right before `start` begins, or -1 if there is none."""
    found = _LABELLED.search(text, max(0, start - LABEL_BEFORE), start)
    return found.start() if found else -1


_PART_OF_A_WORD = re.compile(rb"[A-Za-z0-9\x80-\xff]{0,40}")
_WORD_BEFORE = re.compile(rb"[A-Za-z0-9\x80-\xff]{0,40}\Z")


def near_a_card_word(text: bytes, label_start: int, start: int, end: int) -> bool:
    """A card word or an expiry date within NEAR bytes of the number, outside its own label (whose `gift card`
    names what was bought), read in whole words (`export` cut at NEAR is no `exp`). After it, from its last two
    digits: the number's pattern takes in an expiry's month (`4111 1111 1111 1111 12/27`). One search over both
    sides, most of the time; where the text around is not ASCII, its words are read once more with look-alike
    letters as Latin (`Сard` with a Cyrillic С, `𝐂𝐚𝐫𝐝`)."""
    low = max(0, label_start - NEAR)
    low = _WORD_BEFORE.search(text, max(0, low - 40), low).start()
    stop = _PART_OF_A_WORD.match(text, end + NEAR).end() if end + NEAR < len(text) else len(text)
    position = low
    while (found := _OF_A_CARD.search(text, position, stop)) is not None:
        if not label_start <= found.start() < end - 2:
            return True
        position = max(found.end(), end - 2)
    before, after = text[low:label_start], text[end - 2:stop]
    return not (before + after).isascii() and any(
        _OF_A_CARD.search(latin_letters(side)) is not None for side in (before, after))
