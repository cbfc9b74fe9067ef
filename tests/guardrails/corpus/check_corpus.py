"""Sanity checks for the guardrail evaluation corpus (not a pytest module).

    python tests/guardrails/corpus/check_corpus.py

Exits non-zero if a file is malformed, a count is below the minimum, a
malicious payment_card line has no Luhn-valid issuer-prefixed number, or a
benign line contains a 13-19 digit run that passes Luhn with an issuer prefix
(or a secret-shaped value). Prints (does not fail on) benign lines that put a
3-4 digit number near cvv wording: those are deliberate hard negatives.
"""
import collections
import difflib
import json
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
CATS = ("sql_injection", "payment_card", "cvv", "credentials", "abuse")
MIN_MAL_PER_CAT, MIN_MAL = 35, 175
MIN_BEN_PER_NEAR, MIN_BEN = 45, 330

errors = []


def err(msg):
    errors.append(msg)


def luhn_ok(d):
    total = 0
    for i, ch in enumerate(reversed(d)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def issuer(d):
    """Name of the issuer whose prefix d starts with, else None."""
    p2, p3, p4 = int(d[:2]), int(d[:3]), int(d[:4])
    if d[0] == "4":
        return "visa"
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return "mastercard"
    if p2 in (34, 37):
        return "amex"
    if p4 == 6011 or p2 == 65 or 644 <= p3 <= 649:
        return "discover"
    if 3528 <= p4 <= 3589:
        return "jcb"
    if p2 in (36, 38) or 300 <= p3 <= 305:
        return "diners"
    if p2 == 62:
        return "unionpay"
    return None


def digit_spans(text):
    """Every run of digit groups joined by single spaces/dashes, and every
    group-aligned sub-run, with 13-19 digits in total (what a card regex with
    word boundaries could match)."""
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", text)]
    chains, cur = [], []
    for g in groups:
        if cur and g[0] - cur[-1][1] == 1 and text[cur[-1][1]] in " -":
            cur.append(g)
        else:
            if cur:
                chains.append(cur)
            cur = [g]
    if cur:
        chains.append(cur)
    for chain in chains:
        for i in range(len(chain)):
            digits = ""
            for j in range(i, len(chain)):
                digits += text[chain[j][0]:chain[j][1]]
                if len(digits) > 19:
                    break
                if len(digits) >= 13:
                    yield digits


def is_pan(d):
    return 13 <= len(d) <= 19 and luhn_ok(d) and issuer(d) is not None


def load(name, keys):
    rows = []
    path = HERE / name
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            err(f"{name}:{n}: invalid JSON: {e}")
            continue
        if set(obj) != keys:
            err(f"{name}:{n}: keys {sorted(obj)} != {sorted(keys)}")
        if not isinstance(obj.get("text"), str) or not obj["text"].strip():
            err(f"{name}:{n}: empty text")
        rows.append((n, obj))
    return rows


SECRET_SHAPES = [
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", r"\bghp_[A-Za-z0-9]{36}\b", r"\bxox[abprs]-\d",
    r"\b[sr]k[_-]live[_-][A-Za-z0-9]{8,}", r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"\beyJ[\w-]+\.eyJ[\w-]+\.[\w-]+", r"\b[a-z][a-z0-9+]*://[^/\s:@]+:[^/\s@]+@",
]
CVV_WORDS = r"(?:cvv2?|cvc2?|\bcid\b|\bcsc\b|security code|sec code|digits on the back)"


def main():
    mal = load("malicious.jsonl", {"category", "text"})
    ben = load("benign.jsonl", {"category", "near", "text"})

    mc = collections.Counter(o.get("category") for _, o in mal)
    bc = collections.Counter(o.get("near") for _, o in ben)
    for c in mc:
        if c not in CATS:
            err(f"malicious: unknown category {c!r}")
    for c in CATS:
        if mc[c] < MIN_MAL_PER_CAT:
            err(f"malicious: {c} has {mc[c]} < {MIN_MAL_PER_CAT}")
        if bc[c] < MIN_BEN_PER_NEAR:
            err(f"benign: near={c} has {bc[c]} < {MIN_BEN_PER_NEAR}")
    if len(mal) < MIN_MAL:
        err(f"malicious: {len(mal)} lines < {MIN_MAL}")
    if len(ben) < MIN_BEN:
        err(f"benign: {len(ben)} lines < {MIN_BEN}")
    for n, o in ben:
        if o.get("category") != "benign":
            err(f"benign.jsonl:{n}: category must be 'benign'")
        if o.get("near") not in CATS + ("none",):
            err(f"benign.jsonl:{n}: bad near {o.get('near')!r}")

    # payment_card: at least one Luhn-valid, issuer-prefixed number per line,
    # and every maximal 13-19 digit run in the line is (or contains) one.
    for n, o in mal:
        if o["category"] == "payment_card":
            pans = [d for d in digit_spans(o["text"]) if is_pan(d)]
            if not pans:
                err(f"malicious.jsonl:{n}: payment_card line without a Luhn-valid card number")
        if o["category"] in ("payment_card", "cvv"):
            for m in re.finditer(r"(?<![\w-])\d{13,19}(?![\w])", o["text"]):
                if not is_pan(m.group()):
                    err(f"malicious.jsonl:{n}: digit run {m.group()} fails Luhn/prefix")
        if o["category"] == "cvv" and not re.search(r"\d", o["text"]):
            err(f"malicious.jsonl:{n}: cvv line without digits")

    # benign: no real-looking card number, no secret-shaped value.
    hard_cvv = []
    for n, o in ben:
        t = o["text"]
        for d in digit_spans(t):
            if is_pan(d):
                err(f"benign.jsonl:{n}: {d} passes Luhn with {issuer(d)} prefix")
        for pat in SECRET_SHAPES:
            if re.search(pat, t):
                err(f"benign.jsonl:{n}: secret-shaped value matches {pat}")
        if re.search(CVV_WORDS + r".{0,25}(?<!\d)\d{3,4}(?!\d)|(?<!\d)\d{3,4}(?!\d).{0,25}" + CVV_WORDS, t, re.I):
            hard_cvv.append(n)

    # duplicates and near-duplicates across both files
    texts = [(f"malicious:{n}", o["text"]) for n, o in mal] + [(f"benign:{n}", o["text"]) for n, o in ben]
    norm = [(k, re.sub(r"\W+", " ", t.lower()).strip()) for k, t in texts]
    seen = {}
    for k, t in norm:
        if t in seen:
            err(f"duplicate text: {seen[t]} and {k}")
        seen[t] = k
    near_dups = []
    for i in range(len(norm)):
        for j in range(i + 1, len(norm)):
            sm = difflib.SequenceMatcher(None, norm[i][1], norm[j][1])
            if sm.real_quick_ratio() > 0.85 and sm.quick_ratio() > 0.85 and sm.ratio() > 0.85:
                near_dups.append((norm[i][0], norm[j][0], round(sm.ratio(), 2)))
    for a, b, r in near_dups:
        err(f"near-duplicate ({r}): {a} ~ {b}")

    print("malicious:", len(mal), dict(sorted(mc.items())))
    print("benign:   ", len(ben), dict(sorted(bc.items())))
    if hard_cvv:
        print(f"info: {len(hard_cvv)} benign lines put a 3-4 digit number near cvv wording "
              f"(deliberate hard negatives): benign.jsonl lines {hard_cvv}")
    for e in errors:
        print("ERROR:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
