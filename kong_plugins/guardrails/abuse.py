"""Abuse: help manipulating orders, prices, payments, coupons, refunds or fraud controls; not defending against it.

Two readings, either of which finds it. Phrase families (_ABUSE_FAMILIES: "refund ... keep the item", "bypass ... fraud
rules"), tuned on tests/guardrails/corpus, in the prefilter's RE2::Sets. And families of cues (deceit, contrast with
what happened, a claim that something never arrived, evasion of a control, unearned gain, someone else's means,
pressure...) in English, German, French, Spanish, Italian, Dutch, Portuguese and Polish, from which abuse_intent.Reader
scores the sentence around each cue (who asks, who gains, who defends): on prompts written by people who never saw the
phrase families, those found 6-14%.
"""

from __future__ import annotations

import re
from typing import Any

import re2

from kong_plugins.guardrails import abuse_intent
from kong_plugins.guardrails.folding import latin_look_alikes
from kong_plugins.guardrails.patterns import PerTextValidator, Validator, compile_pattern

_OBJECT = (r"(?:orders?|checkout|payments?|(?:re)?pric(?:e|es|ing)|totals?|carts?|coupons?|promo\w*|discounts?|"
           r"vouchers?|gift\s*cards?|refunds?|returns?|fraud\s+\w+|referral\w*|loyalty|points|[\w-]*limits?|"
           r"quantit\w+|shipping\s+fees?|inventory|balance)")
_VALUE_TO_FREE = compile_pattern(
    r"\b(?:(?:re)?price|quantity|total|amount|fee|shipping)\w*\b[^.!?\n]{0,40}?\b(?:to|says|=|at|becomes?|goes)\s+"
    r"(?:-\s?\d+|a\s+negative|negative|zero|1\s+instead\s+of|(?:\$|€|£)?0(?:[.,]0*1)?(?:$|[^\d.,]))")
_ABUSE_FAMILIES = tuple(compile_pattern(family) if isinstance(family, str) else family for family in [
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
    _VALUE_TO_FREE,
    r"\b(?:change|set|modify|edit|lower|override|alter|send|put|pass|submit|enter|force)\s+(?:the\s+)?(?:item\s+|"
    r"product\s+|cart\s+|order\s+|unit\s+)?(?:price|total|amount)s?(?:\s+(?:to|at)\s+|\s*[=:]\s*)(?:\$|€|£)?0"
    r"(?:[.,]0*1)?(?:$|[^\d.,])",
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
    r"\b(?:free|unpaid)\s+(?:orders?|items?|stuff)\s+without",
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
    b"was and in on that which when layout unwinding walk dump variable level context contexts status refactor "
    b"refactors".split())


_DEFENSIVE = compile_pattern(
    r"\b(?:detect|detecting|detection|prevent|preventing|prevention|stop|stopping|block|blocking|flag|flagging|"
    r"report|reports|investigat\w*|monitor\w*|protect\w*|against|mitigat\w*|audit\w*|alert\w*|identify\w*|catch|"
    r"policy|policies|explain|what\s+is|what\s+are|why\s+do|how\s+does|how\s+do\s+(?:we|attackers|fraudsters)|"
    r"defen[cs]\w*|secure|harden\w*|training|awareness|attempts?|suspicious|analy[sz]\w*|trends?|threat\s+model\w*|"
    r"pentest\w*|penetration|post-?mortem|bug\s+bounty|dashboard|summar\w*|losses|indicators?|scope|kpis?)\b")


_PERSONAL = compile_pattern(
    r"\b(?:so\s+(?:that\s+)?i|for\s+me|i\s+pay|i\s+get|i'?ll|my\s+(?:own\s+)?(?:card|account|cousin|friends?|wallet|"
    r"family)|myself|write\s+(?:that|it|this)\s+for\s+me|just\s+do\s+it)\b")


_A_HACK = frozenset(b"a quick growth dirty simple little small css ugly clever life neat cheap nice".split())


def _abuse_valid(text: bytes, m: "re2._Match") -> bool:
    """Not when the sentence is about defending against it ("how do we detect coupon abuse"),
    unless it says who benefits ("...so I pay less", "for my cousin's orders"); not a hack that is
    a workaround ("quick hack to make the order confirmation email render in Outlook")."""
    words = m.group(0).lower().split()
    if words[0].startswith(b"hack") and (words[1:2] in ([b"to"], [b"for"]) or (
            text[max(0, m.start() - 16):m.start()].lower().split()[-1:] and
            text[max(0, m.start() - 16):m.start()].lower().split()[-1] in _A_HACK)):
        return False
    sentence = text[_sentence_start(text, m.start()):m.end() + 60]
    return _DEFENSIVE.search(sentence) is None or _PERSONAL.search(sentence) is not None


def _sentence_start(text: bytes, at: int) -> int:
    """Where the sentence around `at` starts, looked for in 120 bytes, not the whole text."""
    floor = max(0, at - 120)
    return max(0, text.rfind(b".", floor, at), text.rfind(b"?", floor, at), text.rfind(b"\n", floor, at), at - 120)


class _Family(PerTextValidator):
    """A phrase family's match is abuse when its validator says so and the intent reading finds no one defending
    against it or reporting a customer's doing, and a commerce word near unless the family's own words are one
    (`commerce`: stacking codes; abuse_intent.Reader.not_defended), read once per window of text."""

    def __init__(self, valid: Validator, commerce: bool = True) -> None:
        self.valid, self.commerce = valid, commerce

    def bind(self, text: bytes, shared: dict[str, Any]) -> Validator:
        memo: dict[bytes, bool] = shared.setdefault("abuse_defended", {})

        def valid(data: bytes, m: "re2._Match") -> bool:
            if not self.valid(data, m):
                return False
            key = data[max(0, m.start() - abuse_intent.WINDOW):m.start() + abuse_intent.WINDOW]
            if key not in memo:
                memo[key] = READER.not_defended(data, m.start(), self.commerce)
            return memo[key]
        return valid


_WITHOUT_PAYING = compile_pattern(r"\bwithout\s+(?:being\s+)?(?:paid|paying|payment)\b")
_A_COST = frozenset(b"shipping delivery postage fee fees extra more interest customs duty duties vat tax taxes full "
                    b"upfront deposit charges copyright royalties royalty licence license tribute anything".split())


_LAST_VERB = re.compile(rb"\b(?:goes\s+to|becomes?\s+to|goes|becomes?|to|says|at)\s+|=\s+", re.I)
_PURPOSE = re.compile(rb"\b(?:so|until|till|to\s+make|to\s+get|in\s+order)\b", re.I)


def _value_valid(text: bytes, m: "re2._Match") -> bool:
    """A value set to make an order free (`change the quantity to -5`, `set the total to $0`, `... so the total goes
    negative`); what a total does is a bug report (`with quantity=-1 in the cart the total goes negative`, `the price
    becomes zero`) unless it is someone's purpose (`so`, `until`, `to make`) or someone asks for it or gains by it."""
    if not _abuse_valid(text, m):
        return False
    verbs = [verb.group(0).lower() for verb in _LAST_VERB.finditer(m.group(0))]
    if not verbs or not verbs[-1].startswith((b"goes", b"become")):
        return True
    if _PURPOSE.search(text[_sentence_start(text, m.start()):m.start()] + b" " + m.group(0)):
        return True
    return READER.asks_or_gains(text, m.start())


def _without_paying_valid(text: bytes, m: "re2._Match") -> bool:
    """Not paying, not a cost one need not pay ("delivered without paying shipping", "copied without paying any
    fees or charges": marketing copy, a licence at the end of every Project Gutenberg book)."""
    after = [word.strip(b".,;:!?()\"'") for word in text[m.end():m.end() + 40].lower().split()[:2]]
    if after[:1] in ([b"any"], [b"a"], [b"the"], [b"an"], [b"for"]):
        after = after[1:]
    return not (after and after[0] in _A_COST) and _abuse_valid(text, m)


def _stacking_valid(text: bytes, m: "re2._Match") -> bool:
    """Stacking promo codes, not a call stack ("the stack trace points at our discount code")."""
    before = text[max(0, m.start() - 24):m.start()].lower().split()
    after = m.group(0).lower().split()
    if (before and before[-1].strip(b"(,;:'\"") in _NOUN_STACK_PRECEDED_BY) or (
            len(after) > 1 and after[1].strip(b"(),;:'\"") in _NOUN_STACK_FOLLOWED_BY):
        return False
    return _abuse_valid(text, m)


# --- intent cues (abuse_intent.Reader): each family in English, then in the shop's other languages as spelt -------
_DECEIT = ([
    r"fake|faked|fakes|faking|fraudulent\w*|forged|forger\w*|forging|counterfeit\w*|pretend\w*|lie|lies to|lying|lied",
    r"excuses?|believable|convincing (?:\w+ )?(?:story|excuse|reason|complaint|explanation|lie|claim|case|proof|"
    r"e ?mail|message|photos?)",
    r"convincingly|convincing enough|made up|make up an? (?:story|excuse|reason)|untraceabl\w*|leads? back to",
    r"under the radar|cover (?:my|our|his|her|their) tracks|photoshop\w*|empty box|a brick|reseal\w*|reattach\w*",
    r"(?:so|and) (?:that )?(?:the |my )?(?:\w+ )?(?:nobody|no one|they|it|he|she|"
    r"seller|shop|store|support|agent|bank|merchant|courier|driver|staff|system|team|company|warehouse|carrier|"
    r"cashier|employee|site|app|algorithm|checker|scanner|filter|model|anyone) (?:can'?t|cannot|won'?t|"
    r"doesn'?t|don'?t|isn'?t able to|can) (?:tell|notice|see|respond|check|prove|know|find out|link|flag|detect|"
    r"catch|contest|trace|connect|match|recogni[sz]e)",
    r"(?:can|could|will|would) (?:they|the \w+|anyone|he|she|it) (?:prove|tell|find out|trace|notice)",
    r"(?:they|it|the \w+) (?:won'?t|can'?t|cannot|wouldn'?t|couldn'?t) (?:link|connect|associate|match|trace|flag|"
    r"detect|catch|notice|recogni[sz]e)",
    r"without (?:\w+ ){0,3}(?:noticing|knowing|realising|realizing|finding out|showing|seeing)",
    r"before (?:\w+ ){1,2}notices?|before (?:they'?re|it'?s|they are|it is) (?:activated|loaded|noticed)",
    r"nobody (?:checks|notices|will)",
    r"(?:without|not|never|avoid|avoid getting|won'?t|don'?t|can'?t) (?:get |be |getting |being )?(?:caught|flagged|"
    r"banned|traced|detected|linked|noticed)",
    r"no one (?:checks|notices|will)|pass inspection",
    r"(?:look|looks|seem|seems|appear|appears|sound|sounds) (?:like )?(?:a |it was |they were )?(?:genuine|real|"
    r"legit\w*|new|unopened|unused|unworn|never (?:opened|used|worn)|an? (?:accident|mistake|genuine|real))",
    r"make (?:it|them|this|my \w+) (?:look|seem|sound|appear)|look like (?:they|it) (?:come|comes|came) from",
    r"make (?:the|it|them|their) (?:\w+ ){0,2}(?:think|believe)",
    r"so (?:the|it) (?:\w+ ){0,2}(?:counts|thinks|treats|sees|registers|shows|says|reads) (?:\w+ ){0,3}(?:as|it was|"
    r"that)",
    r"as '?unopened|hide (?:my|it'?s|that it'?s) (?:identity|ip|fingerprint|device|location|tracks|mine|me)",
    r"swap\w* (?:\w+ ){0,5}(?:old|used|broken|cheaper|fake|knock ?off|worn|damaged)",
    r"(?:cheaper|fake|knock ?off|used|broken|old) (?:\w+ ){0,2}(?:in place of|instead of)|in place of the",
    r"edit\w* (?:\w+ ){0,3}(?:barcode|receipt|invoice|tracking|screenshot|photo)",
    r"(?:do not|don'?t|doesn'?t|never|without) (?:take |taking )?(?:photos?|signatures?|proof|evidence)",
    r"(?:say|saying|claim\w*|pretend\w*|tell (?:them|the \w+)) (?:that )?i (?:never|didn'?t|did not)",
    r"(?:tag|mark|label|book|disguise|record|log)\w* (?:it|them|this|that) as (?:a )?(?:goodwill|customer|legit\w*|"
    r"genuine|normal)",
    r"(?:orders?|purchases?) (?:i|we) (?:never|didn'?t|did not) (?:placed|made|place|make)",
    r"get (?:the|a|my) (?:\w+ ){0,2}(?:driver|courier|agent|employee|staff|cashier|friend) to (?:mark|say|write|"
    r"confirm|scan|enter|approve|refund|give)",
    r"(?:positive|good|5 star|five star|glowing) reviews? (?:for|in exchange|in return)",
    r"(?:promis\w*|buy|pay for|paid) (?:\w+ ){0,2}(?:positive|good|5 star|five star)",
    r"(?:invent|come up with|think of|make up) (?:a|an|some) (?:reason|excuse|story|explanation)",
    r"so (?:that )?(?:it|they) (?:looks?|seems?|appears?) (?:like|as if)",
    r"by (?:saying|claiming|pretending|telling (?:them|the \w+)) (?:that )?(?:it|they|the|my|i)|stranger'?s",
    r"reprogram\w*",
    r"(?:report|mark|claim)\w* (?:a |the |my )?delivered (?:\w+ ){0,2}as (?:missing|lost|stolen|not delivered|"
    r"undelivered)",
    r"get away with|do (?:it|this|that) safely|without getting in trouble",
    r"so (?:that )?(?:the )?(?:\w+ )?(?:thinks?|believes?|assumes?)|refund method|ftid|fake tracking|lit refund",
    r"refund(?:ing)? service|boxing method|dna method",
    r"story for (?:the|support|customer service|my bank|the bank|the shop)"], [
    r"behaupt\w*|vortäusch\w*|so tun als|lüge\w*|lügen|gefälscht\w*|fälsch\w*|unbemerkt|erwischt|heimlich",
    r"ohne dass es \w+ ?merkt|damit es keiner merkt|fausses?|faux|mentir|mensonge\w*|prétend\w*|faire croire",
    r"sans que \w+|rende compte|sans me faire|en douce|falso|falsa|falsos|falsas|fingir|finjo|hacer creer|sin que \w+",
    r"pillen|a escondidas|falsi|finto|finta|finti|fingere|farmi beccare|beccare|di nascosto|nep|nepaccounts?|valse",
    r"doen alsof|liegen|zonder dat \w+|opvalt|betrapt|stiekem|sem que \w+|escond\w*|como se fosse|fałszyw\w*|udawa\w*",
    r"skłamać|kłamać|żeby nikt|bez wykrycia|nikt nie zauważ\w*|scatola vuota|caja vacía|boîte vide|colis vide",
    r"leeres? (?:paket|karton)|lege doos|caixa vazia|laten denken|glauben lassen|denken lassen|far credere",
    r"fazer acreditar|wmówić|door te zeggen|en disant que|dicendo che|indem ich (?:sage|behaupte)|mówiąc że",
    r"twierdząc że|sem ser descobert\w*|sin ser descubiert\w*|senza essere scopert\w*|sans être découvert\w*",
    r"ohne entdeckt zu werden|zonder ontdekt|puste pudełko|pustą paczkę|ziegelstein|brique|ladrillo|mattone|baksteen",
    r"tijolo|cegł\w*"])
_CLAIMED = (r"(?:that )?(?:it|they|the (?:\w+ )?(?:parcel|package|item|items|order|box|product|delivery|goods|"
            r"shipment)|he|she) ")
_CLAIM = ([
    r"(?:claim\w*|say|says|saying|said|report\w*|pretend\w*|lie|lying|fake\w*|tell\w* (?:them|the \w+|support)) "
    + _CLAIMED + r"(?:was |were |has |had |is |got )?(?:never|not|didn'?t|did not|wasn'?t|was not|weren'?t|hasn'?t|"
    r"has not) (?:been )?(?:arriv\w*|came|come|deliver\w*|receiv\w*|show\w* up|turn\w* up)",
    r"(?:claim\w*|say|says|saying|said|pretend\w*|lie|lying|fake\w*|tell\w* (?:them|the \w+|support)) " + _CLAIMED +
    r"(?:was|were|got|is|are) (?:lost|stolen|missing|empty)",
    r"report\w* (?:it|them|the \w+) (?:as )?(?:lost|stolen|missing)"], [])
"""A claim that something never arrived or was lost: a customer's right as often as a lie (`Can customers get a
refund if they claim it never arrived?` asks the shop's policy), so it weighs less than a lie; beside keeping the
item (_GAIN) it is one, and the sentence asks how to get away with it."""
_CONTRAST = ([
    r"even though|(?:although|though) (?:i|it|they|the (?:\w+ )?(?:parcel|package|item|order|box|product|"
    r"tracking|courier|driver|terms|rules|policy|photos?)|tracking|everything|all|both)(?: \w+){0,2} (?:did|do|"
    r"got|get|have|had|say|received|arrived|came|works?|worked|was|were|is|are|shows?|said|says|used|placed|made|"
    r"authori[sz]ed)",
    r"i (?:did|actually|really) (?:get|got|receive|received|have|had|authori[sz]e)",
    r"(?:it|they|all \w+|everything) (?:did|actually) (?:arrive|arrived|come|came)",
    r"actually (?:have|has|got|did|arrived|came|received|fine|works?|working)|nothing'?s wrong",
    r"(?:but|though|and|actually|already|still|really|when|while) i (?:have|got) it",
    r"i (?:have|got) it (?:already|right here|here|at home|with me|anyway|fine)",
    r"nothing is wrong|(?:it|they) (?:was|were|is|are) (?:fine|all there|perfect)|in perfect condition",
    r"i (?:placed|made|authori[sz]ed) (?:it|the \w+|them|the order|the purchase) myself|purchases? i made myself",
    r"(?:it|that) did apply",
    r"(?:all|both|everything)(?: \w+)? (?:were|was) (?:there|in (?:the|it)|inside|included|fine)",
    r"when (?:it|they|i) did|but it did|it did arrive|(?:a|the) \w+ i kept|i kept (?:it|them|the)|which i kept",
    r"that i kept"], [
    r"obwohl|alors que|bien que|aunque|si la hice yo|si lo hice yo|anche se|sebbene|terwijl ik|mesmo tendo",
    r"terwijl (?:hij|het|ze|die) \w+|embora|chociaż|mimo że|j'ai bien reçu|l'ho ricevut\w*|ik het wel|eu mesmo fiz",
    r"que eu mesmo"])
_EVASION_VERBS = (
    r"bypass\w*|circumvent\w*|get(?:ting)? (?:a)?round|got (?:a)?round|evad\w*|evasion|dodg\w*|beat|beating|get past|"
    r"getting past|trick\w*|fool|fooling|cheat\w*|exploit\w*|hack|hacks|hacking|hacked|game the|gaming the|"
    r"manipulat\w*|tamper\w*|spoof\w*|intercept\w*|abus\w*|games the|gamed the")
_CONTROL = (
    r"fraud\w*|checks?|checking|verification|verify|3 ?ds|3 ?d ?secure|avs|cvv|review|limits?|velocity|risk|score|"
    r"scoring|system|checkout|payment|price|prices|pricing|cart|coupon|promo|discount|voucher|refund|refunds|return|"
    r"returns|policy|queue|captcha|shop|store|site|seller|merchant|bank|warehouse|inspection|restriction\w*|rules?|"
    r"terms|detection|approval|one per|per customer|maximum|sms|kyc|program\w*|referral\w*|loyalty|points|"
    r"gift ?cards?|balance|threshold|shipping|fees?|minimum|trials?")
_SET_FIELD = (r"(?:change|edit|modify|alter|lower|set|tweak|rewrite|send|put|enter|submit|pass|force)\w* "
              r"(?:the |my |a |an )?(?:\w+ )?")
_TO_VALUE = r" ?(?:(?:field |param\w* |parameter |value )?(?:to |at |as |of )|[=:] ?)?"
"""A price or quantity field the author sets (`change the price to 0`, `send price=0`, `set qty=-2`) to a value that
makes an order free or pay out: a quantity of 0 only takes an item out of the cart."""
_EVASION = ([
    r"(?:" + _EVASION_VERBS + r") (?:\w+ ){0,5}?(?:" + _CONTROL + r")",
    _SET_FIELD + r"(?:price|total|amount|quantity|discount|currency)\w* (?:\w+ ){0,6}(?:html|source|inspect\w*|"
    r"dev ?tools|console|request|payload|api call|burp|postman|cookie|local ?storage|hidden)",
    _SET_FIELD + r"(?:price|prices|total|amount|subtotal|cost)\w*" + _TO_VALUE +
    r"(?:-\d|zero|nothing|a negative|negative|0(?: 0+)?(?: 0*1)?(?: [a-z]+|$))",
    _SET_FIELD + r"(?:quantity|quantities|qty)" + _TO_VALUE + r"(?:-\d|a negative|negative)",
    r"(?:code|coupon|voucher|promo|gift ?card) generators?|generate (?:\w+ )?(?:valid|working|new) (?:\w+ )?codes",
    r"(?:unlimited|endless|infinite|repeated|multiple) (?:free )?trials",
    r"(?:coupon|promo|discount|voucher|refund|checkout|cart|price|pricing|payment|gift ?card|loyalty|points|shipping|"
    r"return)\w* (?:exploit|hack|glitch|loophole|trick|cheat)s?",
    r"loophole\w*|glitch\w*|brute ?forc\w*|one by one|stay(?:ing)? under|under the (?:limit|threshold)",
    r"below the (?:limit|threshold)|split(?:ting)? (?:the |my |our |it |them )?(?:purchase|order|payment)s?",
    r"lower my (?:fraud|risk) score",
    r"(?:different|multiple|many|several|lots of|dozens of|a bunch of|\d+|new|fake|second|alt|extra) (?:accounts|"
    r"e ?mails|e ?mail addresses|identities|phone numbers|phones|devices|ips|sim cards)",
    r"temporary (?:e ?mails?|numbers?)|disposable|burner|throwaway|quantity ?(?:of |to |= ?)?-\d",
    r"negative (?:quantity|quantities|price|amount|total)|discount (?:percent|pct|rate|value) (?:of|to|=) 100",
    r"(?:automatic(?:ally)?|auto|bot|script|in bulk|mass) (?:\w+ ){0,3}reviews?|reviews? (?:automatically|in bulk)",
    r"(?:gmail|email|e mail|mail) aliases|dot trick|plus addressing|(?:more than|beyond|over) the (?:\w+ ){0,2}limit",
    r"(?:using|use|with|under) (?:different|multiple|fake|several|many) (?:addresses|names|e ?mails|accounts|cards|"
    r"identities)",
    r"avoid (?:the|a|their|any) (?:\w+ )?(?:check|checks|detection|flag|limit|verification|review|ban)",
    r"across (?:our |my |\d+ |two |three |multiple |several |many )?(?:\w+ )?accounts|not eligible|isn'?t eligible",
    r"aren'?t eligible|not entitled|don'?t qualify|(?:no|without|weak|lax|missing) (?:rate limit\w*|captcha)",
    r"not rate limited|test (?:\w+ )?codes",
    r"(?:employee|staff|student|military|nurse\w*|teacher|member)\w* (?:discount|code|price|rate)s? (?:\w+ )"
    r"{0,6}(?:for|to) (?:my )?(?:friends?|neighbou?rs?|family|others|people|everyone|strangers|customers)",
    r"(?:one|1|two|2) per (?:customer|person|household|account) (?:\w+ ){0,5}(?:\d+|many|more|multiple) (?:units|"
    r"items|pieces|copies|times|consoles|pairs)",
    r"(?:don'?t|doesn'?t|do not|does not|never|won'?t) (?:ask|check|require|verify|request) (?:for )?(?:the |a )"
    r"?(?:cvv|3 ?ds|3 ?d ?secure|verification|id|signature|photo|otp|sms|billing)",
    r"virtual (?:phone )?numbers|device fingerprint|sim swap\w*|credential stuffing|combo ?lists?|dev ?tools|burp",
    r"hidden (?:input|field)|intercept\w* (?:the |a |my )?(?:request|call|response|checkout|payment)|replay\w*",
    r"race condition",
    r"(?:use|redeem|apply|spend|check ?out|pay|submit|order)\w* (?:\w+ ){0,4}at the same (?:moment|time|second)",
    r"a bot (?:that|to|which) (?:\w+ )?(?:buy|buys|checks?|orders?|adds?|holds?|tests?|creates?|registers?|redeems?|"
    r"claims?|posts?|leaves?)",
    r"(?:sneaker|checkout|shopping) bots?",
    r"bots? to (?:buy|check|order|add|hold|test|create|register|redeem|claim|post|snipe)|scalp\w*|auto ?checkout",
    r"random (?:names|e ?mails|addresses|identities|details)",
    r"(?:one|a single) person (?:\w+ ){0,2}(?:get|use|claim|redeem|order|buy|have) (?:\d+|multiple|many|several)",
    r"(?:weak|lax|no|bad|poor) (?:fraud|security) (?:checks|controls|rules)",
    r"drain\w* (?:\w+ ){0,2}(?:gift ?cards?|balances?|accounts?|cards?)|(?:got|been|was|were|get|getting) banned",
    r"ban evasion",
    r"(?:plausible|valid ?looking|working|realistic|active|unused|leaked|guess\w*|predict\w*) (?:\w+ )"
    r"{0,2}(?:gift ?card|card|coupon|promo|discount|voucher) (?:numbers|codes|pins)"], [
    r"(?:umgeh\w*|austrick\w*|überlist\w*|aushebel\w*|ausnutz\w*|contourn\w*|tromper|truquer|saltar\w*|burlar|evadir|"
    r"eludir|aggir\w*|eludere|imbrogli\w*|sfrutt\w*|omzeil\w*|ontwijk\w*|misbruik\w*|contornar|driblar|enganar|"
    r"obejś\w*|obchodz\w*|oszuk\w*|ominąć|omiń|omijać) (?:\w+ ){0,4}?(?:abfrage|prüfung|kontrolle|limit\w*|regel\w*|"
    r"contrôle|vérification|verificación|verifica|controllo|fraudecontrole|verificação|weryfikacj\w*|kontrol\w*|"
    r"límite|regra|regole|reglas|3 ?d ?secure|3 ?ds|fraud\w*|betrug\w*)",
    r"schlupfloch\w*|faille|truco|trucco|truque|sztuczk\w*|mehrere\w* konten",
    r"verschiedene\w* (?:e ?mail\w*|konten|adressen)|plusieurs comptes|varias cuentas|cuentas falsas|più account",
    r"tanti account|meerdere accounts|różnych kont\w*|verschiedenen konten|différents comptes|distintas cuentas",
    r"diferentes cuentas|account diversi|diversi account|verschillende accounts|contas diferentes|diferentes contas",
    r"várias contas|wiele kont|kilka (?:fałszyw\w* )?kont|durchprobier\w*|account falsi|contas falsas"])
_LOOSE = ([
    r"(?:skip\w*|disable|disabling|switch off|turn off|override|overriding|ignore|remove) (?:\w+ ){0,3}?(?:fraud\w*|"
    r"checks?|verification|3 ?ds|3 ?d ?secure|avs|cvv|review|limits?|velocity|captcha|approval|kyc)",
    r"(?:edit|change|modify|set|send|tamper\w*|alter|tweak)\w* (?:\w+ ){0,4}(?:request|api call|payload|parameter|"
    r"param|hidden field|form field|json|curl)",
    r"quantity ?(?:of |to |= ?)?-\d|negative (?:quantity|quantities|price|amount|total)",
    r"(?:online|any|other|these|those) (?:shops|stores|retailers|merchants|websites)|proxies|vpns?",
    r"need (?:a |an |some )?(?:cc|ccs|cvv|fullz|bins?|drops?)|(?:ship|send)\w* (?:it |them )?to (?:a |my )?drop",
    r"(?:set|change|switch|flip|force|mark|override|update)\w* (?:\w+ ){0,4}?(?:status )?(?:to|as) '?(?:paid|"
    r"captured|succeeded|settled|delivered|refunded|approved)",
    r"(?:payment|card|charge|transaction) (?:\w+ )?(?:never (?:actually )?went through|failed|bounced|was declined|"
    r"didn'?t go through)"], [
    r"(?:überspring\w*|deaktivier\w*|ignorier\w*|désactiv\w*|ignorer|desactiv\w*|saltarse|disattiv\w*|ignora\w*|"
    r"uitschakel\w*|overslaan|desativ\w*|pular|pomiń|wyłącz\w*) (?:\w+ ){0,3}?(?:prüfung|kontrolle|contrôle|"
    r"verificación|verifica|controllo|controle|verificação|weryfikacj\w*|3 ?d ?secure|3 ?ds)"])
_PRESSURE = ([
    r"in a hurry|just do it|i'?ll take (?:the )?responsibility",
    r"(?:doesn'?t|don'?t|does not|do not|no one|nobody) (?:need|needs|has|have) to know|don'?t tell|do not tell",
    r"just this once|trust me|i'?ll pay (?:\w+ )?(?:next|later|tomorrow)|no questions asked",
    r"(?:it'?s|he'?s|she'?s|they'?re) (?:a )?(?:friend|family|my \w+) of mine|keep (?:it|this) between us",
    r"off the books|under the table"], [
    r"sag es niemandem|muss niemand wissen|personne ne (?:doit|saura)|nadie (?:tiene que|se va a) (?:saber|enterar)",
    r"nessuno (?:deve|lo) sap\w*|niemand hoeft het te weten|ninguém precisa saber|nikt nie musi wiedzieć"])
_GAIN = ([
    r"without (?:paying|payment|being charged|returning|sending|a return|returns|the return|review|verification)",
    r"never (?:pay|paying)",
    r"never (?:return|returning|send|sending) (?:it|them|anything|the (?:\w+ )?(?:item|items|goods|product|products|"
    r"parcel|package|stuff))",
    r"not (?:pay|paying) (?:for|the)|pay(?:ing)? (?:less|nothing)",
    r"keep(?:ing|s)? (?:both|the (?:item|items|goods|product|products|points|money|discount|cashback|gift ?card|"
    r"order|stuff|refund|\w+ and)|it all|everything|using)",
    r"still (?:get|keep|have|receive|collect)|get paid twice|double (?:spend|dip|refund)\w*|again and again",
    r"over and over|back and forth|for profit|resell|reselling|sell the extra|cash(?:ing)? out|all (?:the )?stock",
    r"buy (?:up |out )?(?:all|every)|block (?:the )?inventory",
    r"(?:to|with) (?:\d+|two|three|several|multiple|different) (?:\w+ )?(?:carriers|couriers|shops|stores|banks|"
    r"insurers)",
    r"without (?:3 ?d ?secure|3 ?ds|verification|the cvv|cvv|avs|the code|otp|sms code)",
    r"keep getting (?:free|refunds?|replacements?|credits?|discounts?)|still (?:refund\w*|accept\w*|approve\w*)",
    r"take a cut|for a cut|only pay for one|pay for (?:just |only )?one|get in first",
    r"avoid (?:vat|tax\w*|customs|postage|fees)|weaker currency|drain\w*|while i keep|and keep",
    r"free (?:stuff|items?|products?|things|goods|orders?|money|food|pizza|gift ?cards?|trial boxes)",
    r"(?:orders?|items?|stuff|things|products?|goods|everything|clothes|food|electronics|gift ?cards?) (?:\w+ )"
    r"{0,2}for free",
    r"100 ?% off|no returns? (?:needed|required)",
    r"(?:refund\w*|paid|payout|credit\w*|compensat\w*) (?:\w+ ){0,4}(?:twice|double|two times)",
    r"(?:twice|double) (?:refund|payout)|same (?:money|card|code|coupon|voucher|gift ?card|balance) twice",
    r"(?:stop|cancel|reverse|recall|revoke|block|freeze|claw back|charge ?back)\w* (?:\w+ ){0,3}(?:payment|transfer|"
    r"card|charge|direct debit) (?:\w+ ){0,3}(?:after|once|right after|as soon as|when)",
    r"(?:welcome|first ?order|first ?time|new ?customer|sign ?up|newsletter|birthday|one ?time|single ?use)"
    r"\w* (?:\w+ ){0,3}(?:again|twice|more than once|every time|each time|multiple times|several times|repeatedly|"
    r"on (?:another|a second|my other|my old|a new) account)",
    r"(?:lots of|many|multiple|\d+|a bunch of|several) (?:new ?customer|welcome|first ?order|sign ?up) (?:vouchers|"
    r"coupons|codes|discounts|bonus\w*|offers|credits?)",
    r"(?:code|coupon|voucher|promo|discount|offer|trial|bonus|credit)s? (?:\w+ ){0,3}(?:again|twice|more than once|"
    r"multiple times|several times|repeatedly|over and over|every time|on (?:another|a second|my other|a new)"
    r" account)",
    r"(?:free )?trials? (?:again|repeatedly|forever|every month|over and over)",
    r"(?:then|and then|afterwards|later|after that) (?:dispute|charge ?back|reverse|cancel|canceling|cancelling)"
    r" (?:the|my|it|them)"], [
    r"ohne (?:zu )?(?:bezahlen|zahlen|zurückzuschicken|rückgabe)|behalt\w*|behält|sans payer|payer moins",
    r"sans (?:le |la |les )?renvoyer|garder|revend\w*|sin pagar|sin devolver\w*|quedarme|pagar menos|senza pagare",
    r"senza restituir\w*|tenere|tenermi|pagare meno|rivend\w*|zonder (?:te )?betalen|toch houd\w*|doorverkop\w*",
    r"sem pagar|sem devolver|ficar com|bez płacenia|bez zwrotu|zatrzyma\w*|odsprzeda\w*",
    r"(?:code|gutschein|rabatt|cupón|cupon|codice|sconto|kortingscode|korting|cupom|desconto|kod|kupon)\w* (?:\w+ )"
    r"{0,3}(?:plusieurs fois|mehrmals|mehrfach|varias veces|più volte|meerdere keren|várias vezes|kilka razy|"
    r"wielokrotnie|à nouveau|de nuevo|di nuovo|opnieuw|de novo|ponownie|noch ?mal|immer wieder)",
    r"gratis (?:spullen|dingen|sachen|zeug|produkte|artikel|cosas|productos|roba|prodotti|coisas|produtos|rzeczy)",
    r"kostenlose? (?:sachen|ware|produkte|artikel)|choses gratuites|produits gratuits|darmowe (?:rzeczy|produkty)",
    r"(?:danach|dann|puis|ensuite|luego|después|poi|dopo|daarna|depois|potem) (?:\w+ ){0,2}(?:storni\w*|annul\w*|"
    r"cancel\w*|annull\w*|annuleer\w*|anul\w*)"])
_GAIN_WEAK = ([
    r"for free|twice|every (?:time|week|month)|each time|unlimited|infinite|endless|as many as|first in line",
    r"already used|used it once|(?:again|more than once|multiple times|several times) on|a second one|another one",
    r"replacement anyway|(?:a|my) second (?:parcel|package|one|replacement)|repeat (?:that|this|it)",
    r"do (?:that|this|it) again|(?:on|with) bigger orders",
    r"to earn (?:\w+ ){0,2}(?:points|credit|bonus|rewards|cashback)",
    r"(?:apply|use|applies|enter) (?:\w+ ){0,2}(?:referral|promo|coupon|discount|welcome) (?:\w+ )?(?:to|on|for|with)"
    r" (?:each|every|all)",
    r"(?:then|and then) return\w* (?:it|them)|working (?:\w+ )?codes"], [
    r"kostenlos|umsonst|gratis|mehrmals|mehrfach|immer wieder|zweimal|gratuit\w*|plusieurs fois|deux fois",
    r"varias veces|dos veces|più volte|due volte|comunque|meerdere keren|twee keer|várias vezes|duas vezes|de novo",
    r"za darmo|kilka razy|dwa razy|wielokrotn\w*"])
_NOT_MINE = ([
    r"someone else's|somebody else's|someone elses|other people's|another (?:person|customer)'?s|not mine|isn'?t mine",
    r"aren'?t mine|is not mine|are not mine|not my own|my ex'?s|(?:her|his|their) saved|flatmate's|roommate's",
    r"grandma's|grandpa's|grandmother's|neighbou?r's|from a leak|leaked",
    r"(?:buy|bought|use|using|with|spend) (?:a |the |some |these )?stolen",
    r"stolen (?:\w+ ){0,2}(?:cards?|card numbers|credit cards|gift ?cards?|accounts?|logins?|credentials|details|"
    r"data|identit\w*|cc|ccs|codes?)",
    r"(?:cards?|ccs?) (?:i|we) bought|non ?vbv|bins? (?:list|for|that)|fullz|drop (?:address|house)",
    r"without (?:her|him|them|the owners?) knowing",
    r"belongs to (?:my \w+|someone|somebody|another|her|him|them|a friend|a stranger)",
    r"that people (?:\w+ )?(?:posted|photographed|shared|lost|left)",
    r"before (?:they|he|she|the owners?|anyone) (?:do|does|can|get to)|the owners",
    r"(?:refund|credit|store credit|money|points|balance|voucher|discount|payout)\w* (?:\w+ ){0,3}(?:to|into|onto|on)"
    r" my (?:own |personal |private )?(?:account|card|wallet|bank|paypal)",
    r"cc to order"], [
    r"nicht meine?|fremde\w*|von jemand anderem|pas à moi|volée?s?|no es mía|no es mío|robad\w*|de otra persona",
    r"ajen\w*|non è mia|di un altro|altrui|rubat\w*|niet van mij|gestolen|van iemand anders|não é (?:minha|meu)",
    r"roubad\w*|de outra pessoa|nie moja|nie mój|non è mio|cudz\w*|skradzion\w*"])

MIXED_SCRIPT = compile_pattern(
    r"[A-Za-z][\x{0370}-\x{03FF}\x{0400}-\x{04FF}]|[\x{0370}-\x{03FF}\x{0400}-\x{04FF}][A-Za-z]")


def look_alikes_read(data: bytes, mixed: bool | None = None) -> bytes | None:
    """`data` with Cyrillic and Greek letters that look like Latin ones as those, when some word mixes the scripts
    ("rеfund" with a Cyrillic е: written to be read by a person as English and missed by every cue); None when no
    word does (Russian or Greek text is left to the scripts it is in). `mixed`: whether MIXED_SCRIPT matches
    `data`, when the caller knows (detectors.Prefilter read it)."""
    if not (MIXED_SCRIPT.search(data) is not None if mixed is None else mixed):
        return None
    return latin_look_alikes(data)


READER = abuse_intent.Reader(
    {"deceit": (_DECEIT, 2.0), "claim": (_CLAIM, 1.0), "contrast": (_CONTRAST, 2.0), "evasion": (_EVASION, 2.0),
     "loose": (_LOOSE, 1.0), "pressure": (_PRESSURE, 1.0), "gain": (_GAIN, 1.5), "gain_weak": (_GAIN_WEAK, 1.0),
     "not_mine": (_NOT_MINE, 2.0)},
    stronger={"gain_weak": "gain", "loose": "evasion"},
    groups=(("deceit", "claim"), ("contrast", "not_mine", "loose", "gain_weak", "pressure"), ("evasion", "gain")))
DETECTORS: tuple[tuple["re2._Regexp", Validator | PerTextValidator], ...] = (
    (_STACKING, _Family(_stacking_valid, commerce=False)),
    *((family, _Family(_value_valid if family is _VALUE_TO_FREE else _abuse_valid)) for family in _ABUSE_FAMILIES),
    (_WITHOUT_PAYING, _Family(_without_paying_valid)))
"""The phrase families; the intent reading's candidates are READER.findings' own (detectors.find)."""
