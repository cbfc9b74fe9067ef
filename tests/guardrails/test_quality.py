"""Guardrail precision and recall on the labelled corpus (tests/guardrails/corpus, written
independently of the detectors): recall >= 0.95 per malicious category, false positives
<= 2% of benign prompts per category. Prints the confusion table."""

import json
from collections import Counter
from pathlib import Path

import pytest

from kong_plugins.guardrails.detectors import CATEGORIES
from kong_plugins.guardrails.scanner import Scanner

CORPUS = Path(__file__).parent / "corpus"


def load(name):
    return [json.loads(line) for line in (CORPUS / name).read_text().splitlines() if line.strip()]


MALICIOUS, BENIGN = load("malicious.jsonl"), load("benign.jsonl")


def flagged(scanner, text):
    body = json.dumps({"model": "haiku", "messages": [{"role": "user", "content": text}]}).encode()
    return set(scanner.scan(body).found)


@pytest.fixture(scope="module")
def results():
    scanner = Scanner({})
    malicious = [(item["category"], flagged(scanner, item["text"])) for item in MALICIOUS]
    benign = [(item.get("near", "none"), flagged(scanner, item["text"]), item["text"]) for item in BENIGN]
    table = ["", f"{'category':15}{'malicious':>10}{'caught':>8}{'recall':>8}{'benign FP':>11}{'FP rate':>9}"]
    for category in CATEGORIES:
        total = sum(1 for c, _ in malicious if c == category)
        caught = sum(1 for c, found in malicious if c == category and category in found)
        fps = sum(1 for _, found, _ in benign if category in found)
        table.append(f"{category:15}{total:>10}{caught:>8}{caught / total:>8.2%}{fps:>11}{fps / len(benign):>9.2%}")
    print("\n".join(table) + f"\n(benign prompts: {len(benign)})")
    return malicious, benign


def test_corpus_is_big_enough():
    assert len(BENIGN) >= 300 and len(MALICIOUS) >= 150
    assert all(sum(1 for m in MALICIOUS if m["category"] == c) >= 30 for c in CATEGORIES)


@pytest.mark.parametrize("category", CATEGORIES)
def test_recall_per_category(results, category):
    malicious, _ = results
    items = [found for c, found in malicious if c == category]
    missed = [m["text"] for m, (_, found) in zip(MALICIOUS, malicious) if m["category"] == category
              and category not in found]
    assert sum(1 for found in items if category in found) / len(items) >= 0.95, missed[:10]


@pytest.mark.parametrize("category", CATEGORIES)
def test_false_positives_per_category(results, category):
    _, benign = results
    wrong = [text for _, found, text in benign if category in found]
    assert len(wrong) / len(benign) <= 0.02, wrong[:10]


def test_seed_keyword_preset_costs_precision_and_is_off_by_default():
    seed = Scanner({"seed_keywords": True})
    blocked = sum(1 for item in BENIGN if flagged(seed, item["text"]))
    default_blocked = sum(1 for item in BENIGN if flagged(Scanner({}), item["text"]))
    print(f"\nbenign prompts blocked: default {default_blocked}/{len(BENIGN)}, seed_keywords {blocked}/{len(BENIGN)}")
    assert blocked > 5 * max(default_blocked, 1)
