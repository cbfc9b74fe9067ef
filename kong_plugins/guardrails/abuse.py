"""Abuse: help manipulating orders, prices, payments, coupons, refunds or fraud controls; not defending against it."""

from __future__ import annotations

import re2

from kong_plugins.guardrails.patterns import Validator, compile_pattern

_OBJECT = (r"(?:orders?|checkout|payments?|(?:re)?pric(?:e|es|ing)|totals?|carts?|coupons?|promo\w*|discounts?|"
           r"vouchers?|gift\s*cards?|refunds?|returns?|fraud\s+\w+|referral\w*|loyalty|points|[\w-]*limits?|"
           r"quantit\w+|shipping\s+fees?|inventory|balance)")
_ABUSE_FAMILIES = tuple(compile_pattern(family) for family in [
    # manipulation verbs on commerce objects: "hack an order", "manipulate the price", "bypass the fraud rules"
    r"\b(?:hack\w*|exploit\w*|manipulat\w*|tamper\w*(?:\s+with)?|rig|spoof\w*|forg(?:e|ing)|brute[\s-]?forc\w*|"
    r"abus\w*|cheat\w*|trick\w*|fool|circumvent\w*|get\s+around|bypass\w*|defeat\w*|gam(?:e|ing))\s+"
    r"(?:[\w'-]+\s+){0,4}?" + _OBJECT + r"\b",
    r"\b(?:override|force|fake|change|set|mark|flip)\w*\s+(?:the\s+)?payment\s+(?:status\s+)?(?:to\s+|as\s+)?"
    r"['\"]?(?:captured|paid|succeeded|successful|complete)",
    r"\b(?:order|checkout|cart|payment|coupon|promo|discount|voucher|refund)\s+(?:hack|manipulation|fraud|abuse|"
    r"stacking|glitch)\w*",
    # switching off controls: "disable the fraud scoring", "skip the 3-D Secure check"
    r"\b(?:disable|turn\s+off|switch\s+off|skip|override|ignore|remove)\s+(?:[\w'-]+\s+){0,3}?(?:fraud\s+\w+|"
    r"verification|3-?d\s*secure|[\w-]*coupon[\w-]*\s+limit|per-customer\s+limit|purchase\s+limit|"
    r"payment\s+(?:step|capture|check|authori[sz]ation))",
    # money to the wrong place
    r"\brefund\w*\b[^.!?\n]{0,60}\b(?:to|into|onto)\s+(?:my|a\s+different|another|his|her|their|someone\s+"
    r"else'?s?)\s+(?:own\s+)?(?:card|account|paypal|wallet|bank)",
    r"\bsend\s+(?:the\s+)?money\s+to\s+(?:a\s+different|another|my)",
    # double dipping and false claims
    r"\brefund\w*\b[^.!?\n]{0,60}\b(?:keep|keeping)\s+(?:the\s+)?(?:item|goods|product|order|it)\b",
    r"\brefund\s+(?:the\s+same\s+order\s+|it\s+)?twice\b|\bdon'?t\s+create\s+a\s+return\s+label",
    r"\b(?:claim|say|saying|pretend|tell\s+them)\b[^.!?\n]{0,50}\b(?:never\s+(?:arrived|got|received|came)|"
    r"didn'?t\s+(?:arrive|get|receive)|not\s+(?:received|delivered))[^.!?\n]{0,40}\b(?:even\s+though|but\s+i|"
    r"although|though|i\s+did|it\s+did)",
    r"\b(?:chargeback|dispute)\b[^.!?\n]{0,100}\b(?:made\s+myself|i\s+did\s+get|i\s+got\s+it|even\s+though|"
    r"i\s+did\s+receive)",
    # prices and quantities that make an order free
    r"\b(?:(?:re)?price|quantity|total|amount|fee|shipping)\w*\b[^.!?\n]{0,40}?\b(?:to|says|=|at|becomes?|goes)\s+"
    r"(?:-\s?\d+|a\s+negative|negative|zero|1\s+instead\s+of|(?:\$|€|£)?0(?:[.,]0*1)?(?:$|[^\d.,]))",
    r"\b(?:change|set|modify|edit|lower|override|alter)\s+(?:the\s+)?(?:item\s+|product\s+|cart\s+|order\s+)?"
    r"(?:price|total|amount)s?\s+(?:to|at)\s+(?:\$|€|£)?0(?:[.,]0*1)?(?:$|[^\d.,])",
    # coupons and codes used more than they may be
    r"\b(?:coupon|promo|discount|voucher|referral|first-order|welcome|code)\w*\b[^.!?\n]{0,60}\b(?:again\s+and\s+"
    r"again|over\s+and\s+over|multiple\s+(?:accounts|emails|times)|new\s+accounts|fake\s+accounts|different\s+"
    r"emails?|changing\s+my\s+email|in\s+a\s+loop|until\s+one\s+works|without\s+(?:it\s+)?getting\s+flagged)",
    r"\b(?:new|fake|multiple|bunch\s+of\s+new)\s+accounts\b[^.!?\n]{0,60}\b(?:coupon|promo|discount|code|referral)",
    r"\b(?:reset|reuse|re-use|redeem)\b[^.!?\n]{0,40}\b(?:used|single-use|one-time)\b",
    r"\b(?:unlimited|infinite|endless)\s+(?:[\w-]+\s+){0,2}(?:codes?|coupons?|vouchers?|gift\s+cards?)",
    r"\b(?:stack(?:ing)?|generate|brute[\s-]?force)\s+(?:\w+\s+){0,2}(?:coupon|promo|discount|voucher|gift\s+card)"
    r"\s*codes?",
    r"\bvalid\s+(?:promo|coupon|discount|gift\s+card)\s+codes?\b[^.!?\n]{0,60}\b(?:post|share|sell|leak|publish)",
    # not paying, privileges misused, fakes
    r"\bwithout\s+(?:being\s+)?(?:paid|paying|payment)\b|\b(?:free|unpaid)\s+(?:orders?|items?|stuff)\s+without",
    r"\bemployee\s+discount\b[^.!?\n]{0,60}\b(?:regular|friend|family|without)",
    r"\bfak(?:e|ing)\s+(?:a\s+)?(?:competitor\s+listing|referrals?|reviews?|accounts?|receipts?|invoices?|tracking)",
    r"\bmark\w*\b[^.!?\n]{0,40}\bas\s+(?:delivered|refunded|paid)\b[^.!?\n]{0,60}\b(?:can'?t|cannot|to\s+my)",
    r"\b(?:fake|false|fraudulent)[ \t]+(?:chargebacks?|refunds?|returns?|disputes?)"
    r"|\b(?:refund|chargeback)\s+(?:fraud|scam)",
])
"""One pattern per family of abuse phrasing: small automata stay in RE2's fast DFA."""


_STACKING = compile_pattern(
    r"\bstack\w*\b[^.!?\n]{0,60}\b(?:codes?|coupons?|promos?|separate\s+requests|fast\s+enough|race)")
_NOUN_STACK_PRECEDED_BY = frozenset(
    b"the a call tech full software our my your this that network protocol tcp ip error exception".split())
_NOUN_STACK_FOLLOWED_BY = frozenset(
    b"trace traces overflow frame frames item items pointer size depth machine exchange buffer allocation for of is "
    b"was and in on that which when layout unwinding walk dump variable level".split())


_DEFENSIVE = compile_pattern(
    r"\b(?:detect|detecting|detection|prevent|preventing|prevention|stop|stopping|block|blocking|flag|flagging|"
    r"report|reports|investigat\w*|monitor\w*|protect\w*|against|mitigat\w*|audit\w*|alert\w*|identify\w*|catch|"
    r"policy|policies|explain|what\s+is|what\s+are|why\s+do|how\s+does|how\s+do\s+(?:we|attackers|fraudsters)|"
    r"defen[cs]\w*|secure|harden\w*|training|awareness|attempts?|suspicious|analy[sz]\w*|trends?|threat\s+model\w*|"
    r"pentest\w*|penetration|post-?mortem|bug\s+bounty|dashboard|summar\w*|losses|indicators?|scope|kpis?)\b")


_PERSONAL = compile_pattern(
    r"\b(?:so\s+(?:that\s+)?i|for\s+me|i\s+pay|i\s+get|i'?ll|my\s+(?:own\s+)?(?:card|account|cousin|friends?|wallet|"
    r"family)|myself|write\s+(?:that|it|this)\s+for\s+me|just\s+do\s+it)\b")


def _abuse_valid(text: bytes, m: "re2._Match") -> bool:
    """Not when the sentence is about defending against it ("how do we detect coupon abuse"),
    unless it says who benefits ("...so I pay less", "for my cousin's orders")."""
    floor = max(0, m.start() - 120)                  # the sentence is looked for in 120 bytes, not the whole text
    start = max(text.rfind(b".", floor, m.start()), text.rfind(b"?", floor, m.start()),
                text.rfind(b"\n", floor, m.start()), m.start() - 120)
    sentence = text[max(0, start):m.end() + 60]
    return _DEFENSIVE.search(sentence) is None or _PERSONAL.search(sentence) is not None


def _stacking_valid(text: bytes, m: "re2._Match") -> bool:
    """Stacking promo codes, not a call stack ("the stack trace points at our discount code")."""
    before = text[max(0, m.start() - 24):m.start()].lower().split()
    after = m.group(0).lower().split()
    if (before and before[-1].strip(b"(,;:'\"") in _NOUN_STACK_PRECEDED_BY) or (
            len(after) > 1 and after[1].strip(b"(),;:'\"") in _NOUN_STACK_FOLLOWED_BY):
        return False
    return _abuse_valid(text, m)


DETECTORS: tuple[tuple["re2._Regexp", Validator], ...] = (
    (_STACKING, _stacking_valid), *((family, _abuse_valid) for family in _ABUSE_FAMILIES))
