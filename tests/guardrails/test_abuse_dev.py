"""The abuse detector on its development set, tests/guardrails/abuse_dev.jsonl: prompts written for it (2026-11-24)
from the typology of e-commerce abuse (refund lies, wardrobing, chargeback and friendly fraud, coupon and referral
abuse, multi-accounting, price and cart tampering, gift-card draining, loyalty farming, return-label fraud, account
takeover, 3-D Secure / AVS / velocity evasion, reseller bots, triangulation, fake reviews, staff-discount misuse) in
several registers and the shop's languages, beside benign near misses from ops staff, analysts, developers and
customers; not paraphrased from tests/guardrails/corpus.

A stable hash of each text splits it: two thirds were tuned on, line by line; the held-back third was read only as
counts while tuning (never line by line), so its figures estimate the detector on phrasing it was not fitted to. The
floors are the held-back figures measured when abuse_intent.py was added (before it: recall 5/91, false positives
7/160). Prints both parts' tables; fails if a change does worse on the held-back third. The held-back benign lines
are hard near misses on purpose: its false-positive rate is not that of ordinary traffic."""

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from kong_plugins.guardrails.scanner import Scanner

DEV = Path(__file__).parent / "abuse_dev.jsonl"
RECALL_FLOOR = 0.71            # held back, 2026-11-24: 65/91 (5/91 before abuse_intent.py)
FALSE_POSITIVE_CEILING = 0.05  # held back, 2026-11-24: 8/160 (7/160 before)
TUNED_RECALL_FLOOR = 0.95      # tuned part, 2026-11-24: 181/189
TUNED_FALSE_POSITIVES = 0      # tuned part: 0/318. Its lines were read one by one, so its figures are no estimate,
# but they are what the readings were fitted to: switching off the reading of someone reporting a customer's doing
# (3 tuned false positives) or of staff speaking of the shop's work (1) moved no held-back figure past its bound.
ROWS = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


def held_back(text: str) -> bool:
    return hashlib.sha256(text.encode()).digest()[0] % 3 == 0


def test_the_dev_set_covers_the_typology_and_the_shops_languages():
    labels = Counter(row["label"] for row in ROWS)
    assert set(labels) == {"abuse", "benign"} and labels["abuse"] >= 150 and labels["benign"] >= 250
    assert len({row["kind"] for row in ROWS if row["label"] == "abuse"}) >= 15
    languages = Counter(row["lang"] for row in ROWS if row["label"] == "abuse")
    assert all(languages[lang] >= 3 for lang in ("de", "fr", "es", "it", "nl", "pt", "pl")), languages
    assert len({row["text"] for row in ROWS}) == len(ROWS)


@pytest.fixture(scope="module")
def measured():
    scanner = Scanner({})

    def found(text):
        return "abuse" in scanner.scan(json.dumps({"messages": [{"role": "user", "content": text}]}).encode()).found

    figures = {}
    print(f"\n{'abuse_dev':12}{'abuse':>7}{'caught':>8}{'recall':>8}{'benign':>8}{'FP':>4}{'FP rate':>9}")
    for part in ("tuned", "held back"):
        rows = [row for row in ROWS if held_back(row["text"]) == (part == "held back")]
        abuse = [found(row["text"]) for row in rows if row["label"] == "abuse"]
        benign = [found(row["text"]) for row in rows if row["label"] == "benign"]
        figures[part] = (sum(abuse) / len(abuse), sum(benign) / len(benign), sum(benign))
        print(f"{part:12}{len(abuse):>7}{sum(abuse):>8}{figures[part][0]:>8.1%}{len(benign):>8}{sum(benign):>4}"
              f"{figures[part][1]:>9.2%}")
    return figures


def test_held_back_recall_does_not_regress(measured):
    assert measured["held back"][0] >= RECALL_FLOOR


def test_held_back_false_positives_stay_under_the_ceiling(measured):
    assert measured["held back"][1] <= FALSE_POSITIVE_CEILING


def test_the_tuned_part_keeps_what_it_was_fitted_to(measured):
    assert measured["tuned"][0] >= TUNED_RECALL_FLOOR
    assert measured["tuned"][2] <= TUNED_FALSE_POSITIVES
