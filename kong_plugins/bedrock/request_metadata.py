"""Who made a Bedrock call, told to Bedrock: Converse's `requestMetadata`.

Every call leaves the gateway signed by one IAM role, so Bedrock's model invocation logs
(CloudWatch Logs or S3) cannot tell one API key from another. Converse carries key-value
pairs those logs keep and filter on; the gateway adds the Kong request id (the key of its
own log line), the consumer's id (Kong's UUID: pseudonymous, not the username, which may be
a person's e-mail) and the role. InvokeModel has no such member: its calls are matched
through the Bedrock request id on the gateway's log line instead. Limits are Bedrock's
(botocore's service model): at most 16 pairs, keys and values of at most 256 characters from
`[a-zA-Z0-9\\s:_@$#=/+,-.]`.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from kong_plugins.formats.body import RequestError

MEMBER = "requestMetadata"
MAX_PAIRS = 16
MAX_LENGTH = 256
_OUTSIDE_CHARSET = re.compile(r"[^a-zA-Z0-9\s:_@$#=/+,\-.]")
END_USER_KEY = "client_end_user"


def gateway_pairs(request_id: str, consumer_id: str | None, role: str | None,
                  end_user: str | None = None) -> dict[str, str]:
    """The pairs the gateway adds to a call (values cleaned to Bedrock's character set).

    `end_user`: who the client says it is calling for (OpenAI `safety_identifier` or `user`, Anthropic
    `metadata.user_id`), for an application that serves many people with one API key. It goes to Bedrock's
    invocation log only, where the prompts are anyway, never to the gateway's own log line.
    """
    pairs = {"gateway_request_id": request_id, "gateway_consumer_id": consumer_id or "anonymous",
             "gateway_role": role or "none", END_USER_KEY: end_user or ""}
    return {key: _OUTSIDE_CHARSET.sub("_", value)[:MAX_LENGTH] for key, value in pairs.items() if value}


def merged(client: Any, ours: Mapping[str, str]) -> dict[str, str]:
    """A native Converse client's own pairs plus ours; ours win, so a caller cannot pass as someone else.

    Raises RequestError when the client's pairs are not an object of strings, or leave no room for ours.
    """
    if client is None:
        return dict(ours)
    if not isinstance(client, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in client.items()):
        raise RequestError(f"{MEMBER}: must be an object of string values.", MEMBER)
    combined = {**client, **ours}
    if len(combined) > MAX_PAIRS:
        raise RequestError(f"{MEMBER}: at most {MAX_PAIRS - len(ours)} pairs; the gateway adds "
                           f"{', '.join(ours)} (Bedrock takes {MAX_PAIRS}).", MEMBER)
    return combined
