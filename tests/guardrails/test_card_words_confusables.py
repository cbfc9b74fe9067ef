"""A card's name written in look-alike letters or a short form the card-context words did not know keeps a labelled
number a card (card_context.CARD_NAMES, shared with cards.py's card-name rule; folding.latin_letters).

Found as a builder (2026-11-25): `Commande n° 4539 1488 0343 6467 payée par CB` (CB: carte bancaire) and `Order #4539
1488 0343 6467 Сard` (a Cyrillic С) passed as an order number, as did `Сard: 45391488 03436467`, grouped as no card
is printed: the card words were read as written, Latin letters only, and French's paid-by and CB were not among them.
The card words are now read once more with NFKC's compatibility letters (`𝐂𝐚𝐫𝐝`, `ⓒⓐⓡⓓ`) and Cyrillic and Greek
look-alikes as Latin where the text around a labelled number is not ASCII. Each generated number below is a
Luhn-valid card of a known issuer, blocked unlabelled (test_labelled_numbers.py)."""

import random

import pytest

from kong_plugins.guardrails.card_context import NEAR
from kong_plugins.guardrails.scanner import Scanner
from test_labelled_numbers import card_like

SCANNER = Scanner({})


def carded(text: str) -> bool:
    return "payment_card" in SCANNER.findings_in(text)


def numbers(seed: str, count: int = 60) -> list[str]:
    rng = random.Random(seed)
    return [card_like(rng) for _ in range(count)]


NEAR_A_CARD = [
    # the short forms and paid-by wording of the shop's languages
    "Commande n° {n} payée par CB", "Commande {n} réglée en CB", "Order #{n}, CB declined",
    "Facture {n} - payé avec CB", "Pedido {n} pagado con PayPal", "Bestellung {n}, bezahlt mit Apple Pay",
    "Ordine {n} pagato con Satispay",
    "Bestelling {n} betaald met iDEAL", "Encomenda {n} paga com MB Way", "Bestellung {n}, gezahlt mit Klarna",
    "Bestellung {n}: Kreditkartenprüfung fehlgeschlagen",
    # a card's name in look-alike letters: Cyrillic, Greek, full-width, mathematical, circled
    "Order #{n} Сard", "Order #{n} on my Vіsa", "Invoice {n} - Αmex", "Order #{n}, СВ", "Order #{n} via СС",
    "Order #{n} Ｃａｒｄ", "Order #{n} 𝐂𝐚𝐫𝐝", "Order #{n} ⓒⓐⓡⓓ", "Commande {n} réglée par СB", "Bestellung {n} mit Кarte"]


@pytest.mark.parametrize("template", NEAR_A_CARD)
def test_a_labelled_number_near_a_card_word_however_written_is_a_card(template):
    assert [n for n in numbers(template) if not carded(template.format(n=n))] == []


NOT_NEAR_A_CARD = [
    # `expédiée` (shipped) and `expédition` held the `exp` of an expiry for a bytes regexp's `\\b`
    "Commande n° {n} expédiée à Besançon, livraison prévue lundi", "Commande n° {n} : expédition demain",
    "Order #{n} — доставлен в Москву",
    "Order #{n} στάλθηκε χθες", "Bestellung {n} ist unterwegs, Grüße aus Köln", "Order #{n}: CBD oil, 2 bottles",
    "Order #{n} shipped via CBX", "Order #{n} cb: see the ticket", "Pedido {n} enviado a Logroño"]


@pytest.mark.parametrize("template", NOT_NEAR_A_CARD)
def test_a_labelled_number_in_text_of_other_scripts_or_accents_is_still_an_order_number(template):
    assert [n for n in numbers(template) if carded(template.format(n=n))] == []


@pytest.mark.parametrize("name", ["Card", "Сard", "Ｃａｒｄ", "CB", "Vіsa", "Tarjetas", "Karty"])
def test_a_card_named_just_before_a_number_grouped_any_way_is_a_card(name):
    """Any grouping counts just after a card's name (cards._NAMED_AS_A_CARD), in look-alike letters too."""
    texts = [f"{name}: {n[:8]} {n[8:]}" for n in (n.replace(" ", "") for n in numbers(name, 40))]
    assert [text for text in texts if not carded(text)] == []


def test_the_same_numbers_grouped_so_without_a_name_are_not_cards():
    """The test above means something: 8 + 8 digits with no card's name before them are two order ids."""
    texts = [f"see {n[:8]} {n[8:]}" for n in (n.replace(" ", "") for n in numbers("unnamed", 40))]
    assert [text for text in texts if carded(text)] == []


@pytest.mark.parametrize("word", ["export", "EXPORTED", "expédiée"])
def test_a_word_cut_by_the_bytes_read_around_a_labelled_number_is_read_whole(word):
    """The card words near a labelled number are read NEAR bytes either side: a word that edge cut in two read as
    its first letters (`exp`, an expiry's)."""
    texts = [f"Order #{n}{' ' * (NEAR - cut)}{word} ok" for n in numbers(word, 10)
             for cut in range(1, len(word.encode()))]
    assert [text for text in texts if carded(text)] == []
