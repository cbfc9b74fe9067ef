"""Bedrock's ApplyGuardrail through the gateway: `POST /guardrail/{id}/version/{version}/apply`.

A Bedrock-native client (boto3's `apply_guardrail`) asks Bedrock to judge text with a guardrail, no model
involved. bedrock-proxy checks that the caller's role may apply that guardrail (policy.guardrail_access) and
plans the call here; the relay signs it with the gateway's credentials, retries it as any call, and passes
Bedrock's answer on unchanged. Bedrock bills ApplyGuardrail per text unit (up to 1,000 characters) of each
policy the guardrail runs, and reports those units in the answer's `usage`, so token-meter prices them as it
prices a guardrail's units on a model call (`guardrail_text_unit_prices`).

Budgets reserve the worst case before the call, as they reserve max_tokens for a model: every policy over every
text unit of the content (each text block's characters, started thousands), and one image-filter unit per image.
A guardrail runs only the policies it has, so the reservation is usually larger than the charge it settles to.

A call holds at most MAX_BLOCKS content blocks: Bedrock bills every text block as at least one unit of each policy
(100,000 one-letter blocks, 2.5 MB, are 100,000 units a policy: $15 on one denied topic), and botocore's model sets
no bound of its own; the gateway's 10 MB body limit (Kong's 413) bounds the text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import botocore.session
from botocore.exceptions import UnknownRegionError

from kong_plugins.bedrock.guardrail_usage import POLICY_UNITS, units_of
from kong_plugins.context import RequestContext, Usage
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.body import RequestError, load_json_object
from kong_plugins.policy.guardrail_access import arn_place
from kong_plugins.relay.call import ApplyPlan, UpstreamCall

PREFIX = "/guardrail/"
OPERATION = "apply-guardrail"
METERED_AS = "apply-guardrail"
"""What the call's metrics, log line and X-Bedrock-Model name in place of a model; priced by its guardrail units
alone (no tokens)."""
SOURCES = ("INPUT", "OUTPUT")
INTERVENED = "GUARDRAIL_INTERVENED"
TEXT_UNIT_CHARS = 1000
MAX_BLOCKS = 1000
TOO_MANY = (f"content: at most {MAX_BLOCKS:,} content blocks in one ApplyGuardrail call through this gateway (Bedrock "
            "bills each text block as at least one text unit); send the rest in further calls.")
IMAGE_POLICY = POLICY_UNITS["contentPolicyImageUnits"]
TEXT_POLICIES = tuple(policy for policy in POLICY_UNITS.values() if policy != IMAGE_POLICY)
_IDENTIFIER = re.compile(r"[a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+")
_VERSION = re.compile(r"[1-9][0-9]{0,7}|DRAFT")
"""Bedrock's patterns for the two path members (botocore's GuardrailIdentifier and GuardrailVersion)."""


@dataclass(frozen=True)
class Target:
    """The guardrail a path names."""

    identifier: str   # its id or ARN, percent-decoded
    version: str


def target(path: str) -> Target | None:
    """The guardrail of `/guardrail/{id}/version/{version}/apply` (the id one percent-encoded segment, as boto3
    sends an ARN); None for any other path under PREFIX. RequestError: a member Bedrock would refuse."""
    parts = path.split("/")
    if len(parts) != 6 or parts[1:6:2] != ["guardrail", "version", "apply"]:
        return None
    found = Target(unquote(parts[2]), unquote(parts[4]))
    if _IDENTIFIER.fullmatch(found.identifier) is None:
        raise RequestError("guardrailIdentifier: must be a guardrail id (lowercase letters and digits) or a "
                           "guardrail ARN.", "guardrailIdentifier")
    if _VERSION.fullmatch(found.version) is None:
        raise RequestError("guardrailVersion: must be a version number or DRAFT.", "guardrailVersion")
    place = arn_place(found.identifier)
    if place is not None and place[1] not in bedrock_regions(place[0]):
        raise RequestError("guardrailIdentifier: the guardrail ARN names no Amazon Bedrock region of its partition.",
                           "guardrailIdentifier")
    return found


@lru_cache(maxsize=16)
def bedrock_regions(partition: str) -> frozenset[str]:
    """The regions botocore knows Amazon Bedrock (where guardrails live) in: an ARN naming another would send the
    client's text to a host that does not exist (a DNS failure, retried, then a 502 on the Bedrock-error alert)."""
    return frozenset(_botocore().get_available_regions("bedrock", partition_name=partition))


@lru_cache(maxsize=16)
def partition_of(region: str) -> str | None:
    """The partition of the gateway's region (None: one botocore does not know)."""
    try:
        return _botocore().get_partition_for_region(region)
    except UnknownRegionError:
        return None


@lru_cache(maxsize=1)
def _botocore() -> botocore.session.Session:
    return botocore.session.get_session()


def call_region(identifier: str, gateway_region: str) -> str:
    """Where ApplyGuardrail goes: an ARN's region when it is in the gateway's partition (the gateway's credentials
    sign only there), else the gateway's own region, whose Bedrock refuses a guardrail it does not hold."""
    place = arn_place(identifier)
    if place is None or partition_of(gateway_region) != place[0]:
        return gateway_region
    return place[1]


def reserved_units(body: bytes | None) -> tuple[tuple[str, int], ...]:
    """What a budget reserves for the request's content (the module docstring's worst case). RequestError: the
    body is not an ApplyGuardrail request (messages name the member, never its value)."""
    request = load_json_object(body)
    if request.get("source") not in SOURCES:
        raise RequestError("source: must be INPUT or OUTPUT.", "source")
    content = request.get("content")
    if not isinstance(content, list):
        raise RequestError("content: must be a list of text and image blocks.", "content")
    if len(content) > MAX_BLOCKS:
        raise RequestError(TOO_MANY, "content")
    texts, images = 0, 0
    for block in content:
        kind = _block_kind(block)
        if kind == "text":
            texts += -(-len(block["text"]["text"]) // TEXT_UNIT_CHARS)
        else:
            images += 1
    units = {policy: texts for policy in TEXT_POLICIES if texts} | ({IMAGE_POLICY: images} if images else {})
    return tuple(units.items())


def _block_kind(block: Any) -> str:
    """`text` or `image`; RequestError for anything else (Bedrock's blocks hold exactly one of them)."""
    if isinstance(block, dict) and len(block) == 1:
        text = block.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            return "text"
        if isinstance(block.get("image"), dict):
            return "image"
    raise RequestError('content: each block must be {"text": {"text": <string>}} or {"image": {...}}.', "content")


def plan(found: Target, body: bytes, *, region: str, reserved: tuple[tuple[str, int], ...],
         gateway_guardrail: bool) -> UpstreamCall:
    """The call as the client sent it, to the guardrail's region (call_region).
    `gateway_guardrail`: it is the role's own guardrail, so Bedrock not finding it is the operators' to fix."""
    return UpstreamCall(api=ApiFormat.BEDROCK, operation=OPERATION, model_name=METERED_AS, client_model=METERED_AS,
                        model_id=found.identifier, region=call_region(found.identifier, region), body=body,
                        stream=False, gateway_guardrail=gateway_guardrail,
                        apply=ApplyPlan(found.identifier, found.version, reserved))


def noted(content: bytes, ctx: RequestContext) -> bytes:
    """Bedrock's answer, unchanged, once its billed units and verdict are on the context (token-meter settles
    and logs them). Raises ValueError or AttributeError on an answer that is no ApplyGuardrail response."""
    answer = json.loads(content)
    ctx.usage = Usage(guardrail_units=units_of(answer["usage"]))
    ctx.guardrail_intervened = answer.get("action") == INTERVENED
    return content
