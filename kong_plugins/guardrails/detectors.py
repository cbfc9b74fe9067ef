"""Detectors: what each category looks like, precisely enough to leave prose alone.

Patterns are RE2 (google-re2): matching is linear in the input whatever it
holds, so adversarial text (1 MB of near-matches) cannot trigger catastrophic
backtracking. A pattern finds candidates; a small Python validator then
decides (Luhn and issuer ranges for cards, "is this a value or a word" for
credentials, "is this a question about defending against it" for abuse).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Callable, Iterator
from urllib.parse import unquote_to_bytes

import re2

CATEGORIES = ("sql_injection", "payment_card", "cvv", "credentials", "abuse")


@dataclass(frozen=True)
class Finding:
    category: str
    start: int
    end: int


Validator = Callable[[bytes, "re2._Match"], bool]


_SOURCES: dict[int, tuple[bytes, bool]] = {}


def _compile(pattern: str, case_sensitive: bool = False) -> "re2._Regexp":
    """Patterns run on UTF-8 bytes: google-re2 converts a str on every call, bytes not at all."""
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.max_mem = 64 << 20
    compiled = re2.compile(pattern.encode(), options)
    _SOURCES[id(compiled)] = (pattern.encode(), case_sensitive)
    return compiled


# --- SQL injection --------------------------------------------------------------------------
_SQL_TAUTOLOGY = _compile(   # ' OR 1=1, ' or ''=', a' AND 'a'='a, AND 1=2  (operands checked below)
    r"""(?:['"`)]\s*|\b)(?:or|and|\|\|)\s+\(?\s*(['"]?)(\w*)['"]?\s*(?:=|like)\s*(['"]?)(\w*)""")
_SQL_SHAPES = [
    r"""(?:['"`)]|\b\d+)[ \t]*;[ \t]*(?:drop|delete|truncate|insert|update|alter|create|exec|execute|shutdown|"""
    r"""grant|revoke)\s+"""
    r"""(?:table|from|into|database|schema|user|procedure|\w+\s+set)\b""",
    r"""(?:['"`)\d]\s*|--\s*)union\s+(?:all\s+|distinct\s+)?select\b""",
    r"""\bunion\s+(?:all\s+)?select\s+(?:null\b|@@|\d+\s*,\s*\d+|[^;]{0,60}\binformation_schema\b)""",
    r"""\b(?:and|or)\s+\(\s*select\b""",
    r"""\bdrop\s+(?:table|database|schema)\s+(?:if\s+exists\s+)?[\w.`"\[\]]+[ \t]*;?[ \t]*(?:--|/\*)""",
    r"""(?:['"]|\b(?:and|or|select|union|if)\b|;)\s*\(?\s*sleep\s*\(\s*\d+(?:\.\d+)?\s*\)""",
    r"""\bpg_sleep\s*\(|\bwaitfor\s+delay\s+['"]|\bbenchmark\s*\(\s*\d{4,}\s*,""",
    r"""\bxp_cmdshell\b|\bsp_executesql\b""",
    r"""\bload_file\s*\(\s*(?:['"]|0x)|\binto\s+(?:out|dump)file\b|\bextractvalue\s*\(|\bupdatexml\s*\(""",
]
_SQL = _compile("|".join(_SQL_SHAPES))
_SQL_COMMENT_AFTER_QUOTE = _compile(   # admin'--  admin')/*  x' #; not a --long-option, not 'x'  # a note
    r"""(\w)(['"`])(?:[ \t]*\)?[ \t]*;?[ \t]*(?:--(?:[^A-Za-z]|$)|/\*)|\)?;?[ \t]?#)""")
_QUOTE_MARKS = re.compile(rb"""(?<!\w)[bBrRfFuU]{1,2}['"]|(?<!\w)['"`]|['"`](?!\w)""")
"""Quote marks (with a string prefix: b'x', r"y"), not apostrophes inside words (customer's)."""
_STRING_PREFIX_END = re.compile(rb"(?:^|[^\w])[bBrRfFuU]{1,2}$")


def _quote_left_open(text: bytes, m: "re2._Match") -> bool:
    """`admin'--` closes a value the query opened before it: an odd quote on its line. In pasted code
    and SQL (`x = 'a'  # note`, `WHERE s = 'open' -- only open`) the quote closes a literal opened on
    the same line, and the comment is the author's own."""
    quote = m.group(2)
    line = text[text.rfind(b"\n", 0, m.start()) + 1:m.end(2)]
    if _STRING_PREFIX_END.search(line, 0, len(line) - 1):
        return False                               # b"--", rb'#': the quote opens a prefixed literal
    return sum(1 for mark in _QUOTE_MARKS.findall(line) if mark.endswith(quote)) % 2 == 1


def _sql_valid(text: bytes, m: "re2._Match") -> bool:
    left, right = m.group(2), m.group(4)
    quoted = bool(m.group(1)) or bool(m.group(3))
    if quoted:                                                   # ' OR 'a'='a, ' or ''='
        return left.lower() == right.lower() or (bool(m.group(1)) and bool(m.group(3)))
    return left.isdigit() and right.isdigit()                    # OR 1=1, AND 1=2 (a boolean probe), not "x = y"


# --- payment cards ---------------------------------------------------------------------------
_PAN = _compile(r"(?:^|[^\d\w-])((?:\d[ -]?){12,18}\d)(?:$|[^\d\w-])")
_CARD_WORDS = _compile(r"(\w+\s+)?\b(?:card\s*(?:number|no\.?|#)|credit\s*card|debit\s*card|cc\s*(?:number|#))"
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
_CVV = _compile(
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


# --- credentials -----------------------------------------------------------------------------
_SECRET_SHAPES = _compile("|".join([
    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
    r"\baws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}",
    r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}",
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",
    r"\bsk-(?:ant-|proj-|live-)?[A-Za-z0-9_-]{20,}",
    r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    # more providers' formats, as gitleaks' default rules write them
    r"\bgl(?:pat|dt|rt|ptt)-[0-9A-Za-z_-]{20,}",                       # GitLab
    r"\bAIza[0-9A-Za-z_-]{35}\b",                                      # Google API key
    r"\bAccountKey=[A-Za-z0-9+/]{60,}={0,2}",                          # Azure storage connection string
    r"\bSK[0-9a-fA-F]{32}\b",                                          # Twilio API key
    r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",                         # Shopify
    r"\bnpm_[A-Za-z0-9]{36}\b|\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}|\bhf_[A-Za-z]{34}\b",
    r"\bhooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9+/]{20,}",
    r"\b(?:EAAA|sq0atp-|sq0csp-)[0-9A-Za-z_-]{22,60}\b",                # Square
    r"\bkey-[a-f0-9]{32}\b",                                           # Mailgun
    r"\baccess_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32}",          # Braintree
]), case_sensitive=True)
_BASIC_AUTH = _compile(r"\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})", case_sensitive=True)
_CONNECTION_STRING = _compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@'\"]*:([^\s@/'\"]{3,})@[\w.-]+",
                              case_sensitive=True)   # in the small case-sensitive set: far fewer DFA states
_PLACEHOLDERS = frozenset("password passwd pass pwd secret changeme pw xxx xxxx xxxxx *** **** ***** "
                          "your_password yourpassword mypassword".split())
_SECRET_WORD = (r"(?:password|passwd|pwd|passcode|passphrase|pin|api[\s_-]?key|secret(?:[\s_-]key)?|client[\s_-]?secret|"
                r"access[\s_-]?key|(?:auth|access|bearer|api|refresh)[\s_-]?token|token|credentials?|creds)")
_VALUE = r"([^\s'\"`,;]{4,})"
_STRONG_VALUE = r"([^\s'\"`,;]*[0-9!@#$%^&*+=/\\|~<>?][^\s'\"`,;]*)"   # a value, not a word: digits or symbols
_DISCLOSED = _compile(
    r"\b(\w*?" + _SECRET_WORD + r"\w*)[ \t]*(?:is|was|=|:|->)[ \t]*['\"`]?" + _STRONG_VALUE
    + r"|\b(?:my|our|his|her|their|the\s+admin|admin)\s+(?:[\w-]+\s+){0,2}?" + _SECRET_WORD
    + r"\s*(?:is|was|=|:)\s*['\"`]?" + _VALUE
    + r"|\b" + _SECRET_WORD + r"\b[^.!?\n]{1,40}?\b(?:is|was)\s+['\"`]?" + _STRONG_VALUE
    + r"|\b(?:password|passwd|pwd|pass)[ \t]+([A-Za-z][^\s'\"`,;]*\d[^\s'\"`,;]*|\d[^\s'\"`,;]*[A-Za-z][^\s'\"`,;]*)"
    + r"|\b[\w.+-]+@[\w-]+\.[\w.-]+\s*/\s*([^\s,;]{6,})")
_DISCLOSED_IN_OTHER_LANGUAGES = _compile(   # "das Passwort lautet ...", "mon mot de passe c'est ...", "la contraseña es ..."
    r"\b(?:passwort|kennwort|zugangscode|geheimzahl|mot\s+de\s+passe|code\s+pin|contrase[ñn]a|clave\s+de\s+acceso|"
    r"wachtwoord|senha|parola\s+d'ordine)[^.!?\n]{0,40}?(?:\s(?:lautet|ist|war|est|c'est|était|es|era|è|é|is|was)\s+"
    r"|\s*[:=]\s*)['\"`«]?\s*" + _STRONG_VALUE)
_REQUESTED = _compile(
    r"\b(?:what(?:'s|\s+is|\s+are)|give\s+me|send\s+me|tell\s+me|remind\s+me(?:\s+of)?|show\s+me|share|paste|"
    r"list|dump|leak|reveal|retrieve|pull|get\s+me|need|find\s+me)\b([^.?!\n]{0,40}?)\b"
    r"(passwords?|passcodes?|credentials|creds|api\s+keys?|secret\s+keys?|access\s+keys?|private\s+keys?|"
    r"tokens?|logins?)\b([^.?!\n]{0,20})")
_NOT_VALUES = frozenset(
    "required incorrect wrong expired invalid missing reset weak strong correct changed case-sensitive too not "
    "the a an empty blank same different stored hashed encrypted rotated optional mandatory needed set unset "
    "null none valid being still also now only sent shown displayed generated automatic automatically "
    "managed handled saved kept masked hidden protected shared unique long short secure insecure".split())
_NOT_A_REQUEST = ("format", "policy", "policies", "requirement", "rule", "length", "structure", "regex", "pattern",
                  "type", "best practice", "way", "process", "limit", "count", "refresh", "expir", "rotation",
                  "field", "reset", "page", "screen", "form", "url", "link", "flow", "endpoint", "button", "manager",
                  "strength", "hash", "library", "usage", "budget", "spend", "cost", "price", "storage", "scrubb")


_SECRET_NAMES = frozenset("password passwd pwd passcode passphrase pin apikey secret secretkey clientsecret "
                          "accesskey authtoken accesstoken bearertoken apitoken refreshtoken token credential "
                          "cred".split())
_GLUED_SECRET_NAMES = ("password", "passwd", "passphrase", "passcode", "secret", "token")
_NAME_PARTS = re.compile(rb"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_NOT_SECRET_PARTS = frozenset(
    "max min cost per count limit size ttl expiry expires expiration length len budget price usage num total rate "
    "input output prompt completion cache cached reasoning remaining used usd micro timeout url uri endpoint path "
    "file type name header field format prefix param env var".split())
"""Names about a secret rather than holding one: max_tokens, input_cost_per_token, AUTH_TOKEN_TTL, token_url."""
_REFERENCE = re.compile(rb"\$[({]|\$[A-Z_][A-Z0-9_]*(?:$|\W)|\$[a-z_]+(?:$|\W)|0x[0-9a-fA-F]+$|"
                        rb"[a-z_]+(?:\.[a-z_]+)+/[A-Z_]|\$\w+(?:->|\{|\[)|%\(|\{\{|\{\w*\}|<[\w\s-]*>")
_EXPRESSION = re.compile(rb"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*[(\[]|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+/")


def names_a_secret(key: bytes) -> bool:
    """DB_PASSWORD, x-api-key, clientSecret, PGPASSWORD, NGROK_AUTHTOKEN, tokens: yes. shipping, mapping,
    typing_is_inline, external_ping: no, they only contain "pin"."""
    parts = [part.lower().decode() for part in _NAME_PARTS.findall(key)]
    if _NOT_SECRET_PARTS.intersection(parts):
        return False
    for word in parts + [a + b for a, b in zip(parts, parts[1:])]:
        base = word.rstrip("0123456789")
        if base in _SECRET_NAMES or (base.endswith("s") and base[:-1] in _SECRET_NAMES):
            return True
        if base.endswith(_GLUED_SECRET_NAMES):
            return True
    return False


def _disclosed_valid(text: bytes, m: "re2._Match") -> bool:
    """`password: X` is a finding when X looks like a value, not a word ("password is required"),
    and, in `name = X`, when the name is a secret's and X is not code: a variable (`$DB_PASS`,
    `${X}`, `{{ x }}`, `<your-password>`) or, unquoted, an expression (`auth[2]`, `os.getenv(...)`,
    `os.environ/OPENAI_API_KEY`)."""
    index, raw = next((i, g) for i, g in ((i, m.group(i)) for i in range(2, 7)) if g is not None)
    value = raw.decode("utf-8", "replace").rstrip(".!?)")
    if value.lower() in _NOT_VALUES or len(value) < 4:
        return False
    if index == 2:                                    # name = value
        quoted = text[m.start(2) - 1:m.start(2)] in (b"'", b'"', b"`")
        return names_a_secret(m.group(1)) and not _REFERENCE.match(raw) and (quoted or not _EXPRESSION.match(raw))
    if index == 3:                                    # "my password is sunshine": a possessive names a value
        return True
    return any(c.isdigit() for c in value) or any(not c.isalnum() for c in value)


def _foreign_disclosed_valid(text: bytes, m: "re2._Match") -> bool:
    value = m.group(1).decode("utf-8", "replace").rstrip(".!?)»")
    return len(value) >= 4 and value.lower() not in _NOT_VALUES


def _real_connection_password(text: bytes, m: "re2._Match") -> bool:
    """postgresql://app:Xk9!pq2z@db is; postgresql://user:password@localhost, as docs write it, is not."""
    password = m.group(1)
    return password.lower().decode("utf-8", "replace") not in _PLACEHOLDERS and not _REFERENCE.match(password)


def _basic_credentials(text: bytes, m: "re2._Match") -> bool:
    """`Authorization: Basic d2FyZWhvdXNl...` carries user:password in base64; a placeholder does not count."""
    try:
        decoded = base64.b64decode(m.group(1), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    user, colon, password = decoded.partition(":")
    return bool(colon) and decoded.isprintable() and len(password) >= 4 and password.lower() not in _PLACEHOLDERS


def _requested_valid(text: bytes, m: "re2._Match") -> bool:
    """"What is the admin password" is; "what's the token limit" or "the password policy" is not."""
    around = (m.group(1) + b" " + m.group(3)).decode("utf-8", "replace").lower()
    if text[m.start():m.start() + 4].lower() == b"list" and m.group(1).startswith(b" of "):
        return False                                  # "a list of tokens": a noun
    return not any(word in around for word in _NOT_A_REQUEST)


def _always(text: bytes, m: "re2._Match") -> bool:
    return True


# --- abuse -----------------------------------------------------------------------------------
_OBJECT = (r"(?:orders?|checkout|payments?|(?:re)?pric(?:e|es|ing)|totals?|carts?|coupons?|promo\w*|discounts?|"
           r"vouchers?|gift\s*cards?|refunds?|returns?|fraud\s+\w+|referral\w*|loyalty|points|[\w-]*limits?|"
           r"quantit\w+|shipping\s+fees?|inventory|balance)")
_ABUSE_FAMILIES = tuple(_compile(family) for family in [
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


_STACKING = _compile(r"\bstack\w*\b[^.!?\n]{0,60}\b(?:codes?|coupons?|promos?|separate\s+requests|fast\s+enough|race)")
_NOUN_STACK_PRECEDED_BY = frozenset(
    b"the a call tech full software our my your this that network protocol tcp ip error exception".split())
_NOUN_STACK_FOLLOWED_BY = frozenset(
    b"trace traces overflow frame frames item items pointer size depth machine exchange buffer allocation for of is "
    b"was and in on that which when layout unwinding walk dump variable level".split())


_DEFENSIVE = _compile(
    r"\b(?:detect|detecting|detection|prevent|preventing|prevention|stop|stopping|block|blocking|flag|flagging|"
    r"report|reports|investigat\w*|monitor\w*|protect\w*|against|mitigat\w*|audit\w*|alert\w*|identify\w*|catch|"
    r"policy|policies|explain|what\s+is|what\s+are|why\s+do|how\s+does|how\s+do\s+(?:we|attackers|fraudsters)|"
    r"defen[cs]\w*|secure|harden\w*|training|awareness|attempts?|suspicious|analy[sz]\w*|trends?|threat\s+model\w*|"
    r"pentest\w*|penetration|post-?mortem|bug\s+bounty|dashboard|summar\w*|losses|indicators?|scope|kpis?)\b")


_PERSONAL = _compile(r"\b(?:so\s+(?:that\s+)?i|for\s+me|i\s+pay|i\s+get|i'?ll|my\s+(?:own\s+)?(?:card|account|"
                     r"cousin|friends?|wallet|family)|myself|write\s+(?:that|it|this)\s+for\s+me|just\s+do\s+it)\b")


def _abuse_valid(text: bytes, m: "re2._Match") -> bool:
    """Not when the sentence is about defending against it ("how do we detect coupon abuse"),
    unless it says who benefits ("...so I pay less", "for my cousin's orders")."""
    start = max(text.rfind(b".", 0, m.start()), text.rfind(b"?", 0, m.start()), text.rfind(b"\n", 0, m.start()),
                m.start() - 120)
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


DETECTORS: dict[str, tuple[tuple["re2._Regexp", Validator], ...]] = {
    "sql_injection": ((_SQL_TAUTOLOGY, _sql_valid), (_SQL, _always), (_SQL_COMMENT_AFTER_QUOTE, _quote_left_open)),
    "payment_card": ((_PAN, _pan_valid), (_CARD_WORDS, _card_words_valid)),
    "cvv": ((_CVV, _cvv_valid),),
    "credentials": ((_SECRET_SHAPES, _always), (_BASIC_AUTH, _basic_credentials),
                    (_CONNECTION_STRING, _real_connection_password),
                    (_DISCLOSED, _disclosed_valid), (_DISCLOSED_IN_OTHER_LANGUAGES, _foreign_disclosed_valid),
                    (_REQUESTED, _requested_valid)),
    "abuse": ((_STACKING, _stacking_valid), *((family, _abuse_valid) for family in _ABUSE_FAMILIES)),
}


def _span(pattern: "re2._Regexp", match: "re2._Match") -> tuple[int, int]:
    """What a redaction replaces: the number itself for cards and codes, else the whole match."""
    for group in _SPAN_GROUPS.get(id(pattern), ()):
        if match.group(group) is not None:
            return match.span(group)
    return match.span()


class Prefilter:
    """One RE2::Set pass over a text says which detector patterns match it at all.

    Benign text hits few patterns; only those are then scanned match by match
    (each match costs far more than the set pass).
    """

    def __init__(self) -> None:
        self._sets: list[tuple["re2.Set", list[int]]] = []
        for case_sensitive in (False, True):
            options = re2.Options()
            options.case_sensitive = case_sensitive
            options.max_mem = 128 << 20
            used = {id(pattern) for entries in DETECTORS.values() for pattern, _ in entries}
            members = [(pid, src) for pid, (src, cs) in _SOURCES.items() if cs == case_sensitive and pid in used]
            if not members:
                continue
            pattern_set = re2.Set.SearchSet(options)
            for _, source in members:
                pattern_set.Add(source)
            pattern_set.Compile()
            self._sets.append((pattern_set, [pid for pid, _ in members]))

    def active(self, data: bytes) -> set[int]:
        found: set[int] = set()
        for pattern_set, ids in self._sets:
            found.update(ids[i] for i in pattern_set.Match(data) or ())
        return found


_SPAN_GROUPS = {id(_PAN): (1,), id(_CARD_WORDS): (2,), id(_CVV): (1, 2)}


def find(category: str, data: bytes, limit: int, active: set[int] | None = None) -> Iterator[Finding]:
    """Findings of `category` in UTF-8 `data`, with byte offsets.

    More than `limit` candidates (e.g. thousands of card-like numbers or of
    "password: x1" lines in one prompt) count as one finding covering the whole
    text: adversarial padding can neither slow the scan down nor hide a payload.
    """
    examined = 0
    views = [data]
    if category == "sql_injection" and b"%" in data:
        decoded = unquote_to_bytes(data)                  # %27%20OR%201%3D1
        if decoded != data:                               # "50% off" decodes to itself: nothing new to scan
            views.append(decoded)
    for view in views:
        for pattern, valid in DETECTORS[category]:
            if active is not None and view is data and id(pattern) not in active:
                continue
            for match in pattern.finditer(view):
                examined += 1
                if examined > limit:
                    yield Finding(category, 0, len(data))
                    return
                if valid(view, match):
                    if view is not data:
                        yield Finding(category, 0, len(data))
                        return
                    yield Finding(category, *_span(pattern, match))
