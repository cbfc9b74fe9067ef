"""Who made a Bedrock call, told to Bedrock: Converse's `requestMetadata`.

Every call leaves the gateway signed by one IAM role, so Bedrock's model invocation logs
(CloudWatch Logs or S3) cannot tell one API key from another. Converse carries key-value
pairs those logs keep and filter on; the gateway adds the Kong request id (the key of its
own log line), the consumer's id (Kong's UUID: pseudonymous, not the username, which may be
a person's e-mail) and the role. InvokeModel and its stream carry the same pairs as a JSON object
in the `X-Amzn-Bedrock-Request-Metadata` header (Bedrock's user guide, "Per-request metadata
tagging"; botocore's service model does not list it yet). Bedrock Mantle takes none. Limits are
Bedrock's: at most 16 pairs, keys and values of at most 256 characters from
`[a-zA-Z0-9\\s:_@$#=/+,-.]`.

An OpenAI client's own `metadata` (what OpenAI keeps with a stored completion) has no store to
go to here; it becomes pairs of the same log, so a team can tag its calls the way it already
does with OpenAI.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from kong_plugins.formats.body import RequestError

MEMBER = "requestMetadata"
INVOKE_HEADER = "X-Amzn-Bedrock-Request-Metadata"
MAX_PAIRS = 16
MAX_LENGTH = 256
_OUTSIDE_CHARSET = re.compile(r"[^a-zA-Z0-9\s:_@$#=/+,\-.]")
END_USER_KEY = "client_end_user"
OPENAI_MEMBER = "metadata"
OPENAI_MAX_KEY, OPENAI_MAX_VALUE = 64, 512


def gateway_pairs(request_id: str, consumer_id: str | None, role: str | None,
                  end_user: str | None = None, session: str | None = None, agent: str | None = None) -> dict[str, str]:
    """The pairs the gateway adds to a call (values cleaned to Bedrock's character set).

    `end_user`: who the client says it is calling for (OpenAI `safety_identifier` or `user`, Anthropic
    `metadata.user_id`), for an application that serves many people with one API key. It goes to Bedrock's
    invocation log only, where the prompts are anyway, never to the gateway's own log line.
    `session`, `agent`: Claude Code's session id and a subagent's id, which group a session's calls.
    """
    pairs = {"gateway_request_id": request_id, "gateway_consumer_id": consumer_id or "anonymous",
             "gateway_role": role or "none", END_USER_KEY: end_user or "", "client_session": session or "",
             "client_agent": agent or ""}
    return {key: _cleaned(value) for key, value in pairs.items() if value}


def _cleaned(text: str) -> str:
    return _OUTSIDE_CHARSET.sub("_", text)[:MAX_LENGTH]


def _require_string_pairs(pairs: Any, member: str) -> Mapping[str, str]:
    if not isinstance(pairs, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()):
        raise RequestError(f"{member}: must be an object of string values.", member)
    return pairs


def from_openai(metadata: Any) -> dict[str, str] | None:
    """An OpenAI client's `metadata`, checked against OpenAI's limits (16 pairs, keys of at most 64 characters,
    values of at most 512) and cleaned to Bedrock's: other characters become `_`, values are cut at 256.

    Raises RequestError (param `metadata`) for what OpenAI itself would refuse.
    """
    if metadata is None:
        return None
    return {_cleaned(key): _cleaned(value) for key, value in openai_pairs(metadata).items()}


def openai_pairs(metadata: Any) -> dict[str, str]:
    """OpenAI `metadata` as it came, once checked against OpenAI's limits (a Conversation keeps it so)."""
    pairs = _require_string_pairs(metadata, OPENAI_MEMBER)
    if len(pairs) > MAX_PAIRS:
        raise RequestError(f"{OPENAI_MEMBER}: at most {MAX_PAIRS} pairs.", OPENAI_MEMBER)
    for key, value in pairs.items():
        if not 0 < len(key) <= OPENAI_MAX_KEY:
            raise RequestError(f"{OPENAI_MEMBER}: keys must be 1 to {OPENAI_MAX_KEY} characters.", OPENAI_MEMBER)
        if len(value) > OPENAI_MAX_VALUE:
            raise RequestError(f"{OPENAI_MEMBER}: a value is longer than {OPENAI_MAX_VALUE} characters.",
                               OPENAI_MEMBER)   # the key is the client's: not repeated
    return pairs


def invoke_header(pairs: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """InvokeModel's header for the pairs (JSON escapes anything a header cannot hold)."""
    return ((INVOKE_HEADER, json.dumps(dict(pairs), separators=(",", ":"))),) if pairs else ()


def client_header_pairs(header: str | None) -> Any:
    """A native InvokeModel client's own pairs, from its header (None without one).

    Raises RequestError when the header is not JSON (nested past the parser's depth too, a RecursionError that
    used to fail bedrock-proxy's check: a 503 the SDKs retry); `merged` checks what it holds.
    """
    if header is None:
        return None
    try:
        return json.loads(header)
    except (ValueError, RecursionError):
        raise RequestError(f"{INVOKE_HEADER}: must be a JSON object of string values.", INVOKE_HEADER) from None


def merged(client: Any, ours: Mapping[str, str], member: str = MEMBER) -> dict[str, str]:
    """A client's own pairs plus ours; ours win, so a caller cannot pass as someone else.

    `member`: where the client put them (a native Converse body's `requestMetadata`, an OpenAI body's `metadata`).
    Raises RequestError when the client's pairs are not an object of strings, or leave no room for ours.
    """
    if client is None:
        return dict(ours)
    combined = {**_require_string_pairs(client, member), **ours}
    if len(combined) > MAX_PAIRS:
        raise RequestError(f"{member}: at most {MAX_PAIRS - len(ours)} pairs; the gateway adds "
                           f"{', '.join(ours)} (Bedrock takes {MAX_PAIRS}).", member)
    return combined
