"""Order, invoice, tracking and SKU numbers that pass a card's checks are not cards; card-like numbers near a card's
words, with an expiry, in a list, or a published test card still are (guardrails.card_context).

Found as operations staff (2026-11-25): every 16-digit order or tracking number starting with a card network's
prefix that passed Luhn (one in ten) was blocked, labelled `Order #` or not. The generated numbers below are all
Luhn-valid cards of a known issuer, so each of them was blocked before."""

import random

import pytest

from kong_plugins.guardrails.card_context import TEST_CARDS
from kong_plugins.guardrails.cards import luhn_valid
from kong_plugins.guardrails.scanner import Scanner

SCANNER = Scanner({})


def found(text: str) -> set[str]:
    return set(SCANNER.findings_in(text))


def card_like(rng: random.Random) -> str:
    """A 16-digit number of Visa's, Mastercard's or Discover's range that passes Luhn, grouped in fours or not."""
    while True:
        body = rng.choice(["4", "51", "53", "55", "2221", "6011"])
        body += "".join(rng.choice("0123456789") for _ in range(15 - len(body)))
        number = next(body + digit for digit in "0123456789" if luhn_valid(body + digit))
        if number not in TEST_CARDS:
            return " ".join(number[i:i + 4] for i in range(0, 16, 4)) if rng.random() < 0.5 else number


LABELLED = [
    "Order #{n} was shipped late, can you draft an apology?", "invoice {n} is overdue, remind the buyer politely",
    "tracking number {n} shows delivered but the parcel is missing", "SKU {n} is out of stock in the Essen warehouse",
    "ticket {n} was reopened, summarise the thread", "gift card reference {n}: the customer says the balance is wrong",
    '{{"order_id": "{n}", "status": "late", "carrier": "DHL"}}', "Bestellnummer {n} ist seit Montag verspätet",
    "Ref. {n} - please check the return", "PO number: #{n} needs a second approval", "Shipment ID {n} is stuck",
    "RMA {n}: the frying pan arrived dented", "commande n° {n} en retard", "pedido número {n} atrasado",
    "ORDER #{n} EXPORT FROM THE DISCOVERY STORE", "SKU {n}: the scorecard and discard pile game",
    '{{"order_id": "{n}", "expected_delivery": "Monday", "export_batch": 7}}']


@pytest.mark.parametrize("template", LABELLED)
def test_a_number_labelled_as_an_order_invoice_or_tracking_number_is_not_a_card(template):
    rng = random.Random(template)
    texts = [template.format(n=card_like(rng)) for _ in range(200)]
    assert [text for text in texts if "payment_card" in found(text)] == []


def test_the_same_numbers_unlabelled_are_cards():
    """The test above means something: without its label each generated number is blocked."""
    rng = random.Random(5)
    texts = [f"please look at {card_like(rng)} again" for _ in range(200)]
    assert all("payment_card" in found(text) for text in texts)


NEAR_A_CARD = [
    "Order #{n}, card declined twice", "Order #{n} paid with her Visa", "invoice {n} exp 12/27",
    "Order #{n} 09/28", "tracking number {n}; the Mastercard was charged twice", "Order #{n}: payment failed",
    "credit card for order {n}", "order {n} cvv 123", "SKU {n} cardholder Dana Whitfield", 'order_id: {n}, "pan": 1',
    "Kreditkarte für Bestellung {n}", "ticket {n} valid thru 11/29", "Order #{n} - PAN on the receipt",
    "Order #{n} was charged to the account",
    # a field's name speaks of a card as its words do (an export's row, a payload pasted to debug it)
    '{{"order_id": "{n}", "card_holder_name": "Dana Whitfield"}}', '{{"orderId": "{n}", "cardNumber": null}}',
    '{{"order_id": "{n}", "exp_month": 12, "exp_year": 2027}}', "invoice_no={n}&CREDIT_CARD=1",
    # the card's name in the labels' languages, plural or compounded
    "Bestelling {n} - dat is mijn creditcardnummer", "Bestelling {n}, betaald met mijn bankpas",
    "Zamówienie {n} to numer mojej karty", "Zamówienie {n}, zapłacone kartą",
    "Bestellung {n}, bezahlt mit Girokarte", "Bestellung {n} mit der Debitkarte bezahlt",
    "Pedido {n}: rechazaron mis tarjetas", "commande {n}, cartes refusées",
    "encomenda {n}, os cartões foram recusados"]


@pytest.mark.parametrize("template", NEAR_A_CARD)
def test_a_labelled_number_near_a_cards_words_or_expiry_is_still_a_card(template):
    rng = random.Random(template)
    texts = [template.format(n=card_like(rng)) for _ in range(100)]
    assert [text for text in texts if "payment_card" not in found(text)] == []


@pytest.mark.parametrize("template", [
    "account {n}", "customer {n} called", "transaction {n} failed", "member {n}", "gift card number {n}",
    "Receipt #{n}",
    "order 12 {n}", "Order #{n} and order #{m} were both late", "orders:\norder {n}\norder {m}",
    "invoice {n}\n\n" + "lorem ipsum " * 100 + "\ninvoice {m}"])
def test_other_labels_a_second_number_or_a_list_keep_it_a_card(template):
    """`account` and `customer` numbers are their holder's (a card's account number is its PAN), a receipt prints
    the card; `order 12` labels
    the 12; two card-like numbers in one text are a list of cards, however far apart."""
    rng = random.Random(template)
    texts = [template.format(n=card_like(rng), m=card_like(rng)) for _ in range(100)]
    assert [text for text in texts if "payment_card" not in found(text)] == []


def test_a_number_repeated_is_one_number():
    assert "payment_card" not in found("Order #4539 1488 0343 6467 was late. Order #4539 1488 0343 6467 is now here.")


@pytest.mark.parametrize("text", [
    "invoice 4111 1111 1111 1111 is overdue", "tracking number 4000 0000 0000 0002 shows delivered",
    "Order #4242424242424242 was shipped late", "SKU 5555 5555 5555 4444 is out of stock",
    "ticket 3782 822463 10005 reopened", "order 6011 1111 1111 1117"])
def test_a_published_test_card_is_a_card_whatever_its_label(text):
    """Kept blocked on purpose: no real order number equals one, and `invoice 4111...` is how anyone checks whether
    a label gets a card through."""
    assert "payment_card" in found(text)


def test_the_test_card_list_holds_only_cards_the_detector_knows():
    from kong_plugins.guardrails.cards import known_issuer
    assert all(luhn_valid(number) and known_issuer(number) for number in TEST_CARDS)


@pytest.mark.timeout(60)
def test_a_megabyte_of_labelled_order_numbers_gets_a_verdict():
    """Each labelled number reads the text's other cards once per text, not once per number."""
    rng = random.Random(9)
    text = " ".join(f"Order #{card_like(rng)} late." for _ in range(30_000))[:1_000_000]
    assert "payment_card" in found(text)
    one = "Order #4539 1488 0343 6467 late. " + "nothing to see here, " * 50_000
    assert "payment_card" not in found(one)
