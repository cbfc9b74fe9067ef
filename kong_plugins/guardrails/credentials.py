"""Credentials: secrets disclosed or asked for, and known key formats; not code that reads a secret from elsewhere."""

from __future__ import annotations

import base64
import re

import re2

from kong_plugins.guardrails.patterns import Validator, always, compile_pattern

_SECRET_SHAPES = compile_pattern("|".join([
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
_BASIC_AUTH = compile_pattern(r"\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})", case_sensitive=True)
# in the small case-sensitive set: far fewer DFA states than among the case-insensitive patterns
_CONNECTION_STRING = compile_pattern(
    r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@'\"]*:([^\s@/'\"]{3,})@[\w.-]+", case_sensitive=True)
_PLACEHOLDERS = frozenset("password passwd pass pwd secret changeme pw xxx xxxx xxxxx *** **** ***** "
                          "your_password yourpassword mypassword".split())
_SECRET_WORD = (r"(?:password|passwd|pwd|passcode|passphrase|pin|api[\s_-]?key|secret(?:[\s_-]key)?|client[\s_-]?secret|"
                r"access[\s_-]?key|(?:auth|access|bearer|api|refresh)[\s_-]?token|token|credentials?|creds)")
_VALUE = r"([^\s'\"`,;]{4,})"
_STRONG_VALUE = r"([^\s'\"`,;]*[0-9!@#$%^&*+=/\\|~<>?][^\s'\"`,;]*)"   # a value, not a word: digits or symbols
_DISCLOSED = compile_pattern(
    r"\b(\w*?" + _SECRET_WORD + r"\w*)['\"`]?[ \t]*(?:is|was|=|:|->)[ \t]*['\"`]?" + _STRONG_VALUE
    + r"|\b(?:my|our|his|her|their|the\s+admin|admin)\s+(?:[\w-]+\s+){0,2}?" + _SECRET_WORD
    + r"\s*(?:is|was|=|:)\s*['\"`]?" + _VALUE
    + r"|\b" + _SECRET_WORD + r"\b[^.!?\n]{1,40}?\b(?:is|was)\s+['\"`]?" + _STRONG_VALUE
    + r"|\b(?:password|passwd|pwd|pass)[ \t]+([A-Za-z][^\s'\"`,;]*\d[^\s'\"`,;]*|\d[^\s'\"`,;]*[A-Za-z][^\s'\"`,;]*)"
    + r"|\b[\w.+-]+@[\w-]+\.[\w.-]+\s*/\s*([^\s,;]{6,})")
# "das Passwort lautet ...", "mon mot de passe c'est ...", "la contraseña es ..."
_DISCLOSED_IN_OTHER_LANGUAGES = compile_pattern(
    r"\b(?:passwort|kennwort|zugangscode|geheimzahl|mot\s+de\s+passe|code\s+pin|contrase[ñn]a|clave\s+de\s+acceso|"
    r"wachtwoord|senha|parola\s+d'ordine)[^.!?\n]{0,40}?(?:\s(?:lautet|ist|war|est|c'est|était|es|era|è|é|is|was)\s+"
    r"|\s*[:=]\s*)['\"`«]?\s*" + _STRONG_VALUE)
_REQUESTED = compile_pattern(
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
_VERSION = re.compile(rb"[\^~<>=v]*\d+(?:\.\d+){1,3}(?:[-+][\w.]+)?")
"""A package's version range (`"jsonwebtoken": "^9.0.2"`, `"js-tokens": "~4.0.0"` in every package.json and
lockfile): a name with "token" in it, not a secret."""
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


def _value_or_none(raw: bytes, trailing: str = ".!?)") -> str | None:
    """The value after a secret's name, or None when it is too short or a word ("required", "masked")."""
    value = raw.decode("utf-8", "replace").rstrip(trailing)
    return None if value.lower() in _NOT_VALUES or len(value) < 4 else value


def _disclosed_valid(text: bytes, m: "re2._Match") -> bool:
    """`password: X` is a finding when X looks like a value, not a word ("password is required"),
    and, in `name = X`, when the name is a secret's and X is not code: a variable (`$DB_PASS`,
    `${X}`, `{{ x }}`, `<your-password>`) or, unquoted, an expression (`auth[2]`, `os.getenv(...)`,
    `os.environ/OPENAI_API_KEY`)."""
    index, raw = next((i, g) for i, g in ((i, m.group(i)) for i in range(2, 7)) if g is not None)
    value = _value_or_none(raw)
    if value is None:
        return False
    if index == 2:                                    # name = value
        quoted = text[m.start(2) - 1:m.start(2)] in (b"'", b'"', b"`")
        return (names_a_secret(m.group(1)) and not _REFERENCE.match(raw) and not _VERSION.fullmatch(raw)
                and (quoted or not _EXPRESSION.match(raw)))
    if index == 3:                                    # "my password is sunshine": a possessive names a value
        return True
    return any(c.isdigit() for c in value) or any(not c.isalnum() for c in value)


def _foreign_disclosed_valid(text: bytes, m: "re2._Match") -> bool:
    return _value_or_none(m.group(1), ".!?)»") is not None


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


DETECTORS: tuple[tuple["re2._Regexp", Validator], ...] = (
    (_SECRET_SHAPES, always), (_BASIC_AUTH, _basic_credentials), (_CONNECTION_STRING, _real_connection_password),
    (_DISCLOSED, _disclosed_valid), (_DISCLOSED_IN_OTHER_LANGUAGES, _foreign_disclosed_valid),
    (_REQUESTED, _requested_valid))
